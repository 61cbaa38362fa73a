"""A playbook's conditions on the resident (``definition.CONDITIONS``), applied to a
trigger's selectable as EXISTS / column filters on ``residents`` — set-based, like
the trigger itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, select

from portal.residents.models import Resident
from portal.timeutil import local_zone


def apply_conditions(query: Select, conditions: dict[str, Any], now: datetime) -> Select:
    """``query`` (with a ``resident_id`` column) limited to the residents who meet
    every condition in ``conditions``; ``{}`` leaves it as it is."""
    if not conditions:
        return query
    sub = query.subquery("trigger")
    r = Resident.__table__
    clauses = [r.c.id == sub.c.resident_id, *_resident_clauses(r, conditions, now)]
    return select(*sub.c).where(exists().where(and_(*clauses)))


def _resident_clauses(r, conditions: dict[str, Any], now: datetime) -> list:
    """The helper "triggers" completes this: age bands, child under N, used another
    service, band of another service."""
    year = now.astimezone(local_zone()).year
    del year
    clauses = []
    if conditions.get("districts"):
        clauses.append(r.c.district.in_(conditions["districts"]))
    if conditions.get("locales"):
        clauses.append(r.c.preferred_locale.in_(conditions["locales"]))
    for flag in ("consent_profiling", "consent_outreach"):
        if conditions.get(flag) is not None:
            clauses.append(r.c[flag].is_(bool(conditions[flag])))
    return clauses
