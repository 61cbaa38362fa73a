"""The municipality's districts: choices for forms, names in the reader's language,
matching what an import file writes, and saving them from the console.

Residents, households and eligibility rules store a district's ``code``; every
page shows its name for the page's language (falling back like other
staff-written content). The list is small and read once per request.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.forms import options
from portal.residents.models import District

DISTRICT_FIELDS = ("name_ja", "name_en", "position")


def all_districts() -> list[District]:
    """Every district in display order, loaded once per request."""
    if has_request_context() and "districts" in g:
        return g.districts
    found = list(db.session.scalars(select(District).order_by(District.position, District.id)))
    if has_request_context():
        g.districts = found
    return found


def forget_cached() -> None:
    if has_request_context():
        g.pop("districts", None)


def codes() -> list[str]:
    return [d.code for d in all_districts()]


def district_name(code: str | None) -> str:
    """The district's name for the page's language; an unknown code as stored."""
    if not code:
        return ""
    for district in all_districts():
        if district.code == code:
            return district.name
    return code


def choices(blank=None) -> list:
    """``(code, name)`` select options, optionally after a blank first option."""
    pairs = [(d.code, d.name) for d in all_districts()]
    return options([("", blank), *pairs] if blank is not None else pairs)


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def resolver() -> Callable[[str | None], str | None]:
    """A function from what a file writes to the district's code: a code, or a name
    in any language (full-/half-width and case do not matter); None when no district
    matches. The districts are read once, for a whole file."""
    keys: dict[str, str] = {}
    for district in reversed(all_districts()):  # the first in list order wins a clash
        for name in (district.name_en, district.name_ja, district.code):
            if name:
                keys[_key(name)] = district.code

    def resolve(value: str | None) -> str | None:
        return keys.get(_key(value)) if value else None

    return resolve


def resolve(value: str | None) -> str | None:
    return resolver()(value)


def name_taken(name: str, *, keep: District | None = None) -> bool:
    """Another district already has this code or Japanese name."""
    stmt = select(func.count()).select_from(District).where(
        (District.code == name) | (District.name_ja == name))
    if keep is not None:
        stmt = stmt.where(District.id != keep.id)
    return db.session.scalar(stmt) > 0


def save_district(*, actor: User, district: District | None,
                  values: dict[str, Any]) -> District:
    """Create a district (its code is its Japanese name as first written, and stays)
    or rename one. Audited; the caller commits."""
    creating = district is None
    values = dict(values)
    if values.get("position") is None:
        if creating:  # at the end of the list
            last = db.session.scalar(select(func.max(District.position)))
            values["position"] = (last or 0) + 1
        else:
            values.pop("position", None)
    if creating:
        district = District(code=values["name_ja"].strip())
        db.session.add(district)
    changed = []
    for field in DISTRICT_FIELDS:
        if field in values and getattr(district, field) != values[field]:
            setattr(district, field, values[field])
            changed.append(field)
    db.session.flush()
    forget_cached()
    if creating or changed:
        record("district.create" if creating else "district.update", actor=actor,
               target=district,
               summary=f"{'Created' if creating else 'Updated'} district {district.code}",
               data={"fields": changed})
    return district
