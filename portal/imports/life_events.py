"""Life events from the resident register (moved in, child born, turned 65), matched
by the resident's external id: what the playbooks' life-event trigger reads.

The same rules as the other imports: every row is checked (row numbers in the
problem report), a bad row stops the whole file unless bad rows are skipped, and a
re-import changes nothing — an event is one per (resident, kind, day), so a row
stored before counts as a duplicate. Residents and stored events are looked up in
batches of ``IN`` queries; new events go in by batched multi-row inserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import insert, select

from portal.extensions import db
from portal.imports.csvfile import (
    Column,
    Records,
    Result,
    chunks,
    mark_preview,
    nul_problems,
    numbered,
)
from portal.imports.residents import existing_residents
from portal.residents.models import LifeEvent, LifeEventKind
from portal.services.models import EventSource
from portal.timeutil import YEAR_MIN, local_today, utcnow

COLUMNS = (
    Column("external_id", required=True),
    Column("event", required=True),
    Column("date", required=True),
    Column("note"),
)
KINDS = tuple(kind.value for kind in LifeEventKind)
NOTE_MAX = 300  # life_events.note
EXTERNAL_ID_MAX = 64
PREVIEW_ROWS = 20
PROGRESS_EVERY = 1_000


def parse_day(value: str, today: date) -> tuple[date | None, str | None]:
    """The day of ``YYYY-MM-DD``, or the problem code (``bad_date``, ``date_range``,
    ``future_date``)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None, "bad_date"
    if len(value) != 10:  # fromisoformat also reads 20260401 and week dates
        return None, "bad_date"
    if day.year < YEAR_MIN:
        return None, "date_range"
    if day > today:
        return None, "future_date"
    return day, None


def import_life_events(records: Records, positions: dict[str, int], result: Result,
                       *, write: bool, skip_bad: bool, actor_id: int | None,
                       progress: Callable[[int], Any] | None = None) -> None:
    rows = list(_checked_rows(records, positions, result, progress, nul=records.has_nul))
    records.check()
    records.check_count(result)
    residents = existing_residents(sorted({row["external_id"] for _, row in rows}))
    add = result.problems.append
    good: list[tuple[int, dict[str, Any]]] = []
    for row_no, row in rows:
        found = residents.get(row["external_id"])
        if found is None:
            add((row_no, "external_id", "unknown_resident", {"value": row["external_id"]}))
        elif found[1]:
            add((row_no, "external_id", "resident_deleted", {}))
        else:
            row["resident_id"] = found[0]
            good.append((row_no, row))
    result.good_rows = len(good)
    result.bad_rows = len({p[0] for p in result.problems})
    mark_preview(result)
    stored = _stored([(row["resident_id"], row["kind"], row["day"]) for _, row in good])
    new = [row for _, row in good
           if (row["resident_id"], row["kind"], row["day"]) not in stored]
    result.counts.update(created=len(new), updated=0, duplicates=len(good) - len(new),
                         skipped=result.bad_rows)
    if result.stops(skip_bad) or not write:
        return
    now = utcnow()
    values = [{"resident_id": row["resident_id"], "kind": row["kind"],
               "occurred_on": row["day"], "note": row["note"],
               "source": EventSource.IMPORT.value, "created_at": now} for row in new]
    for chunk in chunks(values):
        db.session.execute(insert(LifeEvent), list(chunk))
    result.applied = True


def _checked_rows(records: Iterable[list[str] | None], positions: dict[str, int],
                  result: Result, progress: Callable[[int], Any] | None, *, nul: bool = False
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row without a problem found in the file itself, as ``(row, values)``."""
    add = result.problems.append
    preview = result.preview
    today = local_today()
    width = max(positions.values()) + 1
    i_note = positions.get("note")
    choices = ", ".join(KINDS)
    seen: dict[tuple[str, str, date], int] = {}
    total = blank = 0
    for row_no, row in numbered(records, progress, PROGRESS_EVERY):
        if row is None:  # not readable as a row; the problem is reported already
            total += 1
            if len(preview) < PREVIEW_ROWS:
                preview.append({"row": row_no, "ok": False, "values": {}})
            continue
        if not any(value.strip() for value in row):
            blank += 1
            continue
        total += 1
        if len(row) < width:
            row = row + [""] * (width - len(row))
        elif len(row) > width and any(value.strip() for value in row[width:]):
            add((row_no, "", "extra_values", {"found": len(row), "expected": width}))
            continue
        before = len(result.problems)
        if nul:
            result.problems.extend(nul_problems(row_no, row, positions))
        external_id = row[positions["external_id"]].strip()
        if not external_id:
            add((row_no, "external_id", "required", {}))
        elif len(external_id) > EXTERNAL_ID_MAX:
            add((row_no, "external_id", "too_long", {"max": EXTERNAL_ID_MAX}))
        raw_kind = row[positions["event"]].strip()
        kind = raw_kind.lower()
        if not raw_kind:
            add((row_no, "event", "required", {}))
        elif kind not in KINDS:
            add((row_no, "event", "unknown_event", {"value": raw_kind, "choices": choices}))
        raw_day = row[positions["date"]].strip()
        day = None
        if not raw_day:
            add((row_no, "date", "required", {}))
        else:
            day, problem = parse_day(raw_day, today)
            if problem == "date_range":
                add((row_no, "date", problem, {"value": raw_day, "min": YEAR_MIN,
                                               "max": today.year}))
            elif problem:
                add((row_no, "date", problem, {"value": raw_day}))
        note = row[i_note].strip() or None if i_note is not None else None
        if note is not None and len(note) > NOTE_MAX:
            add((row_no, "note", "too_long", {"max": NOTE_MAX}))
        if len(result.problems) == before:
            key = (external_id, kind, day)
            if key in seen:
                add((row_no, "", "duplicate_key",
                     {"value": f"{external_id} {kind} {raw_day}", "first": seen[key]}))
            else:
                seen[key] = row_no
        if len(preview) < PREVIEW_ROWS:
            preview.append({"row": row_no, "ok": True, "values": {
                "external_id": external_id, "event": kind if kind in KINDS else raw_kind,
                "date": day.isoformat() if day else raw_day, "note": note or ""}})
        if len(result.problems) == before:
            yield row_no, {"external_id": external_id, "kind": kind, "day": day, "note": note}
    result.total_rows = total
    result.blank_rows = blank


def _stored(keys: list[tuple[int, str, date]]) -> set[tuple[int, str, date]]:
    """Which (resident, kind, day) are stored already."""
    found: set[tuple[int, str, date]] = set()
    residents = sorted({key[0] for key in keys})
    wanted = set(keys)
    for chunk in chunks(residents):
        for row in db.session.execute(
                select(LifeEvent.resident_id, LifeEvent.kind, LifeEvent.occurred_on)
                .where(LifeEvent.resident_id.in_(list(chunk)))):
            key = (row[0], row[1], row[2])
            if key in wanted:
                found.add(key)
    return found
