"""Residents (and their households) from CSV, matched by the register's external id.

Rows are checked in Python; existing residents and households are looked up in
batches of ``IN`` queries; new records go in by batched multi-row inserts and
existing ones are changed by batched updates by primary key. A login account
linked to a resident (``user_id``) is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import insert, select, update

from portal.auth.models import normalise_email
from portal.engagement.scoring import forget_residents
from portal.extensions import db
from portal.imports.csvfile import (
    Column,
    Records,
    Result,
    chunks,
    mark_preview,
    nul_problems,
    numbered,
    parse_bool,
)
from portal.residents import districts
from portal.residents.models import Household, Resident
from portal.residents.names import normalise_field
from portal.residents.operations import CONSENT_FIELDS
from portal.residents.postal import (
    ADDRESS_MAX,
    PostalCodeError,
    normalise_address,
    normalise_postal_code,
)
from portal.timeutil import local_today, utcnow

COLUMNS = (
    Column("external_id", required=True),
    Column("family_name", required=True),
    Column("given_name", required=True),
    Column("family_name_kana"),
    Column("given_name_kana"),
    Column("name_latin"),
    Column("birth_year"),
    Column("district"),
    Column("household_id"),
    Column("email"),
    Column("phone"),
    Column("postal_code"),
    Column("address"),
    Column("preferred_locale"),
    Column("consent_outreach"),
    Column("consent_profiling"),
    Column("do_not_contact"),
)
TEXT_LIMITS = {
    "external_id": 64, "family_name": 80, "given_name": 80, "family_name_kana": 120,
    "given_name_kana": 120, "name_latin": 160, "household_id": 64, "email": 254, "phone": 40,
    "address": ADDRESS_MAX,
}
BOOLEANS = ("consent_outreach", "consent_profiling", "do_not_contact")
#: Values for a new resident when the file leaves them empty; an existing resident
#: keeps what it has (the resident may have changed them in the portal).
#: (The language defaults to the configured default locale.)
DEFAULTS = {"consent_outreach": False, "consent_profiling": True, "do_not_contact": False}
PREVIEW_ROWS = 20
PROGRESS_EVERY = 1_000
YEAR = re.compile(r"\d{4}")
NAMES = ("family_name", "given_name", "family_name_kana", "given_name_kana", "name_latin")


def import_residents(records: Records, positions: dict[str, int], result: Result,
                     *, write: bool, skip_bad: bool, actor_id: int | None,
                     progress: Callable[[int], Any] | None = None) -> None:
    rows = dict(_checked_rows(records, positions, result, progress, nul=records.has_nul))
    records.check()
    records.check_count(result)
    existing = existing_residents(list(rows))
    add = result.problems.append
    for external_id, (row_no, _values) in list(rows.items()):
        found = existing.get(external_id)
        if found is not None and found[1]:
            add((row_no, "external_id", "resident_deleted", {}))
            del rows[external_id]
    result.good_rows = len(rows)
    result.bad_rows = len({p[0] for p in result.problems})
    mark_preview(result)
    new = [values for external_id, (_, values) in rows.items() if external_id not in existing]
    changed = [(existing[external_id][0], values)
               for external_id, (_, values) in rows.items() if external_id in existing]
    result.counts.update(created=len(new), updated=len(changed), duplicates=0,
                         skipped=result.bad_rows)
    if result.stops(skip_bad) or not write:
        return
    households = _save_households([values for _, values in rows.values()])
    _insert_new(new, households)
    _update_existing(changed, households)
    result.applied = True


def _checked_rows(records: Iterable[list[str]], positions: dict[str, int], result: Result,
                  progress: Callable[[int], Any] | None, *, nul: bool = False
                  ) -> Iterator[tuple[str, tuple[int, dict[str, Any]]]]:
    """Yield ``external_id → (row, values)`` for each row without a problem; ``values``
    holds the columns the row gives (an empty optional value is left out)."""
    add = result.problems.append
    district_choices = ", ".join(d.name for d in districts.all_districts())
    district_code = districts.resolver()
    locales = {code.lower(): code for code in current_app.config["LOCALES"]}  # ja, en, zh_Hant
    this_year = local_today().year
    width = max(positions.values()) + 1
    seen: dict[str, int] = {}
    total = blank = 0
    for row_no, row in numbered(records, progress, PROGRESS_EVERY):
        if row is None:  # not readable as a row; the problem is reported already
            total += 1
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append({"row": row_no, "ok": False, "values": {}})
            continue
        if not any(value.strip() for value in row):
            blank += 1
            continue  # a blank line
        total += 1
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif len(row) > width and any(value.strip() for value in row[width:]):
            add((row_no, "", "extra_values", {"found": len(row), "expected": width}))
            continue
        before = len(result.problems)
        if nul:
            result.problems.extend(nul_problems(row_no, row, positions))
        raw = {name: row[index].strip() for name, index in positions.items()}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if not value:
                continue
            if name in NAMES:
                value = normalise_field(name, value)  # as the search folds its words
            elif name == "address":
                value = normalise_address(value)
            limit = TEXT_LIMITS.get(name)
            if limit and len(value) > limit:
                add((row_no, name, "too_long", {"max": limit}))
            else:
                values[name] = value
        for name in ("external_id", "family_name", "given_name"):
            if not raw[name]:
                add((row_no, name, "required", {}))

        external_id = values.get("external_id")
        if external_id is not None:
            if external_id in seen:
                add((row_no, "external_id", "duplicate_key",
                     {"value": external_id, "first": seen[external_id]}))
            else:
                seen[external_id] = row_no
        if "birth_year" in values:
            year = values["birth_year"]
            if not (YEAR.fullmatch(year) and 1900 <= int(year) <= this_year):
                add((row_no, "birth_year", "bad_birth_year", {"value": year, "max": this_year}))
            else:
                values["birth_year"] = int(year)
        if "district" in values:
            code = district_code(values["district"])  # a code or a name in any language
            if code is None:
                add((row_no, "district", "unknown_district",
                     {"value": values["district"], "choices": district_choices}))
            else:
                values["district"] = code
        if "postal_code" in values:
            try:
                values["postal_code"] = normalise_postal_code(values["postal_code"])
            except PostalCodeError:
                add((row_no, "postal_code", "bad_postal_code", {"value": values["postal_code"]}))
        if "email" in values:
            try:
                validate_email(values["email"], check_deliverability=False)
            except EmailNotValidError:
                add((row_no, "email", "bad_email", {"value": values["email"]}))
            else:
                values["email"] = normalise_email(values["email"])
        if "preferred_locale" in values:
            wanted = values["preferred_locale"].replace("-", "_").lower()
            locale = locales.get(wanted, wanted)
            if locale not in locales.values():
                add((row_no, "preferred_locale", "bad_locale", {"value": raw["preferred_locale"]}))
            values["preferred_locale"] = locale
        for name in BOOLEANS:
            if name in values:
                flag = parse_bool(values[name])
                if flag is None:
                    add((row_no, name, "bad_boolean", {"value": values[name]}))
                values[name] = flag

        if len(result.preview) < PREVIEW_ROWS:
            shown = {name: raw.get(name, "") for name in (c.name for c in COLUMNS)}
            for name in BOOLEANS:
                if isinstance(values.get(name), bool):
                    shown[name] = "true" if values[name] else "false"
            result.preview.append({"row": row_no, "ok": True, "values": shown})
        if len(result.problems) == before:
            yield external_id, (row_no, values)
    result.total_rows = total
    result.blank_rows = blank


def existing_residents(external_ids: list[str]) -> dict[str, tuple[int, bool]]:
    """external id → (resident id, erased?) for those stored already."""
    found: dict[str, tuple[int, bool]] = {}
    for chunk in chunks(external_ids):
        for resident_id, external_id, anonymised_at in db.session.execute(
                select(Resident.id, Resident.external_id, Resident.anonymised_at)
                .where(Resident.external_id.in_(chunk))):
            found[external_id] = (resident_id, anonymised_at is not None)
    return found


def _save_households(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Create or update the households the rows name (district from the last resident
    row that gives one); returns external id → household id."""
    districts: dict[str, str | None] = {}
    for values in rows:
        key = values.get("household_id")
        if key is not None:
            district = values.get("district")
            if district is not None or key not in districts:
                districts[key] = district
    if not districts:
        return {}
    ids: dict[str, int] = {}
    for chunk in chunks(list(districts)):
        ids.update((external_id, household_id) for household_id, external_id in db.session.execute(
            select(Household.id, Household.external_id).where(Household.external_id.in_(chunk))))
    changes = [{"id": ids[key], "district": district}
               for key, district in districts.items() if key in ids and district is not None]
    if changes:
        db.session.execute(update(Household), changes)
    now = utcnow()
    new = [{"external_id": key, "district": district, "created_at": now}
           for key, district in districts.items() if key not in ids]
    for chunk in chunks(new):
        ids.update((external_id, household_id) for household_id, external_id in db.session.execute(
            insert(Household).returning(Household.id, Household.external_id), list(chunk)))
    return ids


def _insert_new(rows: list[dict[str, Any]], households: dict[str, int]) -> None:
    if not rows:
        return
    now = utcnow()
    records = []
    for values in rows:
        record = {name: values.get(name, "") for name in NAMES}
        record.update(
            external_id=values["external_id"], email=values.get("email"),
            phone=values.get("phone"), district=values.get("district"),
            postal_code=values.get("postal_code"), address=values.get("address"),
            birth_year=values.get("birth_year"),
            household_id=households.get(values["household_id"])
            if "household_id" in values else None,
            preferred_channels=[], created_at=now, updated_at=now)
        for name, default in DEFAULTS.items():
            record[name] = values.get(name, default)
        record["preferred_locale"] = values.get("preferred_locale",
                                                current_app.config["DEFAULT_LOCALE"])
        records.append(record)
    for chunk in chunks(records):
        db.session.execute(insert(Resident), list(chunk))


def _update_existing(rows: list[tuple[int, dict[str, Any]]],
                     households: dict[str, int]) -> None:
    if not rows:
        return
    now = utcnow()
    # A resident with an account decides their consents in the portal: the register
    # file does not override them (in either direction).
    self_managed = _with_accounts([resident_id for resident_id, _ in rows])
    withdrawn = []
    changes = []
    for resident_id, values in rows:
        change = {name: value for name, value in values.items()
                  if name not in ("external_id", "household_id")
                  and not (resident_id in self_managed and name in CONSENT_FIELDS)}
        if change.get("consent_profiling") is False:
            withdrawn.append(resident_id)
        if "household_id" in values:
            change["household_id"] = households[values["household_id"]]
        change.update(id=resident_id, updated_at=now)
        changes.append(change)
    for chunk in chunks(changes):
        db.session.execute(update(Resident), list(chunk))
    forget_residents(withdrawn)  # no scores without consent to profiling


def _with_accounts(resident_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(resident_ids):
        found.update(db.session.scalars(select(Resident.id).where(
            Resident.id.in_(list(chunk)), Resident.user_id.is_not(None))))
    return found
