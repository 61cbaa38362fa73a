"""A playbook's conditions on the resident (``definition.CONDITIONS``), applied to a
trigger's selectable in the same statement — set-based, like the trigger itself.
All of them must hold; ``{}`` is everyone, and so is a condition left empty
(None, ``[]``).

- ``districts`` [code, ...]: the resident's district is one of them;
- ``age_bands`` ["65-74", ...]: the resident's age this local year (year −
  ``birth_year``, as ``portal.engagement.dashboards.age_expression``) is in one of
  the ``AGE_BANDS`` — written as ranges of ``birth_year``; no birth year: no band;
- ``locales`` ["ja", ...]: the resident's ``preferred_locale``;
- ``child_under`` N: another member of the resident's household (not erased) is
  younger than N: ``year − N < birth_year ≤ year``; no household: no;
- ``used_service`` id: the resident has a use of that service, ever (an EXISTS on
  ``ix_usage_events_service_resident_time``);
- ``other_band`` {service_id, band}: the resident's current score for that service
  is in the band (an EXISTS on the key of ``engagement_scores``);
- ``consent_profiling`` / ``consent_outreach`` True / False: the flag as given.

The resident's own columns are checked in one EXISTS on ``residents`` by its key;
the look-ups of other tables are correlated EXISTS on their own indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, false, or_, select, true

from portal.engagement.dashboards import AGE_BANDS
from portal.engagement.models import EngagementScore
from portal.residents.models import Resident
from portal.services.models import UsageEvent
from portal.timeutil import local_zone


def apply_conditions(query: Select, conditions: dict[str, Any], now: datetime) -> Select:
    """``query`` (with a ``resident_id`` column) limited to the residents who meet
    every condition in ``conditions``; ``{}`` leaves it as it is."""
    conditions = {key: value for key, value in (conditions or {}).items()
                  if not _unset(value)}
    if not conditions:
        return query
    sub = query.subquery("trigger")
    year = now.astimezone(local_zone()).year
    r = Resident.__table__
    on_resident = _resident_clauses(r, conditions, year)
    clauses = _lookups(sub.c.resident_id, conditions)
    if on_resident:
        clauses.insert(0, exists().where(r.c.id == sub.c.resident_id, *on_resident))
    return select(*sub.c).where(*clauses)


def _unset(value: Any) -> bool:
    """No condition: missing, None, or nothing chosen (an empty list or text)."""
    return value is None or (isinstance(value, (list, str, dict)) and not value)


def _resident_clauses(r, conditions: dict[str, Any], year: int) -> list:
    """Conditions on the resident's own row (and the household's other members)."""
    clauses = []
    if conditions.get("districts") is not None:
        clauses.append(r.c.district.in_(list(conditions["districts"])))
    if conditions.get("age_bands") is not None:
        clauses.append(_age_bands(r, conditions["age_bands"], year))
    if conditions.get("locales") is not None:
        clauses.append(r.c.preferred_locale.in_(list(conditions["locales"])))
    if conditions.get("child_under") is not None:
        limit = int(conditions["child_under"])
        member = Resident.__table__.alias("member")
        clauses.append(and_(r.c.household_id.is_not(None), exists().where(
            member.c.household_id == r.c.household_id, member.c.id != r.c.id,
            member.c.birth_year > year - limit, member.c.birth_year <= year,
            member.c.anonymised_at.is_(None))))
    for flag in ("consent_profiling", "consent_outreach"):
        if conditions.get(flag) is not None:
            clauses.append(r.c[flag] == (true() if conditions[flag] else false()))
    return clauses


def _age_bands(r, codes: list[str], year: int):
    """Age ``year − birth_year`` within a band = ``birth_year`` within a range (the
    form an index on it could use)."""
    ranges = [r.c.birth_year.between(year - high, year - low)
              for code, low, high in AGE_BANDS if code in codes]
    return or_(*ranges) if ranges else false()


def _lookups(resident_id, conditions: dict[str, Any]) -> list:
    """Conditions on other tables, each an EXISTS by an index led by the service."""
    clauses = []
    if conditions.get("used_service") is not None:
        e = UsageEvent.__table__
        clauses.append(exists().where(e.c.service_id == int(conditions["used_service"]),
                                      e.c.resident_id == resident_id))
    other = conditions.get("other_band")
    if other is not None:
        s = EngagementScore.__table__.alias("other_score")
        clauses.append(exists().where(s.c.service_id == int(other["service_id"]),
                                      s.c.resident_id == resident_id,
                                      s.c.band == other["band"]))
    return clauses
