"""Usage events from CSV, set-based.

Each row is parsed and checked in Python (the csv module and
``datetime.fromisoformat``: fast C paths; services come from one query), good rows
are staged in a temporary table (one ``executemany`` on SQLite, ``COPY`` on
PostgreSQL), unknown residents and keys repeated in the file are found by SQL over
the staging table, and one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` writes the
events. All of it runs in the caller's transaction: a failure leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.imports.csvfile import (
    Column,
    FileProblem,
    Records,
    Result,
    nul_problems,
    numbered,
)
from portal.services.models import EventSource, Service
from portal.services.usage import (
    CHANNELS,
    KIND_MAX,
    NOTE_MAX,
    UsageError,
    check_channel,
    check_kind,
    check_occurred_at,
)
from portal.timeutil import YEAR_MAX, YEAR_MIN, local_zone, utcnow

COLUMNS = (
    Column("event_id", required=True),
    Column("resident_external_id", required=True),
    Column("service", required=True),
    Column("occurred_at", required=True),
    Column("channel", required=True),
    Column("kind"),
    Column("note"),
)
EVENT_ID_MAX = 120  # usage_events.idempotency_key
PREVIEW_ROWS = 20
PROGRESS_EVERY = 10_000
# The temporary staging table "import_staging" (named literally in the SQL below).
STAGED_COLUMNS = ("row_no", "event_id", "resident_ext", "service_id", "kind", "channel",
                  "occurred_at", "note")


def import_events(records: Records, positions: dict[str, int], result: Result, *,
                  write: bool, skip_bad: bool, actor_id: int | None,
                  progress: Callable[[int], Any] | None = None) -> None:
    """Check every row; when ``write`` and the checks allow it, insert the good rows.

    On a database error the staging table is left to the caller's rollback (a
    PostgreSQL transaction accepts no further statement after an error).
    """
    connection = db.session.connection()
    staging = Staging(connection)
    staging.create()
    # every lookup happens before staging starts: no query may run during a COPY
    rows = _checked_rows(records, positions, result, progress, _service_ids(),
                         as_text=staging.dialect == "sqlite", nul=records.has_nul)
    staging.load(rows)
    try:
        records.check()
        records.check_count(result)
    except FileProblem:
        staging.drop()
        raise
    sql_bad = _set_based_checks(connection, result)
    if sql_bad:
        staging.delete(sql_bad)
    result.good_rows -= len(sql_bad)
    result.bad_rows = len({p[0] for p in result.problems})
    _mark_preview(result)
    if result.stops(skip_bad) or not write:
        duplicates = staging.count_stored() if result.good_rows else 0
        result.counts.update(created=result.good_rows - duplicates, duplicates=duplicates,
                             skipped=result.bad_rows)
    else:
        created = staging.insert_events(actor_id)
        result.counts.update(created=created, duplicates=result.good_rows - created,
                             skipped=result.bad_rows)
        result.applied = True
    staging.drop()


def _service_ids() -> tuple[dict[str, int], dict[int, str]]:
    """Slugs and Open311 codes (as written, lower and upper case) → service id."""
    by_name: dict[str, int] = {}
    slugs: dict[int, str] = {}
    for service_id, slug, code in db.session.execute(
            select(Service.id, Service.slug, Service.service_code)):
        slugs[service_id] = slug
        for name in (slug, slug.lower(), code, code and code.upper(), code and code.lower()):
            if name:
                by_name.setdefault(name, service_id)
    return by_name, slugs


def _checked_rows(records: Iterable[list[str]], positions: dict[str, int], result: Result,
                  progress: Callable[[int], Any] | None,
                  service_ids: tuple[dict[str, int], dict[int, str]], *, as_text: bool,
                  nul: bool = False) -> Iterator[tuple[Any, ...]]:
    """Parse and check each row; yield the good ones as staging tuples.

    One tight loop with local names: this is where a million rows spend their time.
    It runs while the rows are being staged, so it must not query the database.
    """
    services, slugs = service_ids
    zone = local_zone()
    now = utcnow()
    fromisoformat = datetime.fromisoformat
    problems = result.problems
    add = problems.append
    preview = result.preview
    i_id = positions["event_id"]
    i_res = positions["resident_external_id"]
    i_svc = positions["service"]
    i_at = positions["occurred_at"]
    i_ch = positions["channel"]
    i_kind = positions.get("kind")
    i_note = positions.get("note")
    width = max(positions.values()) + 1
    channels: dict[str, str] = {}
    kinds: dict[str, str] = {}
    choices = ", ".join(CHANNELS)
    total = staged = blank = 0
    for row_no, row in numbered(records, progress, PROGRESS_EVERY):
        if row is None:  # not readable as a row; the problem is reported already
            total += 1
            if len(preview) < PREVIEW_ROWS:
                preview.append({"row": row_no, "ok": False, "values": {}})
            continue
        if len(row) != width:
            if len(row) < width:
                row = row + [""] * (width - len(row))
            elif any(value.strip() for value in row[width:]):
                total += 1
                add((row_no, "", "extra_values", {"found": len(row), "expected": width}))
                continue
        before = len(problems)

        key = row[i_id].strip()
        if not key:
            if not any(value.strip() for value in row):
                blank += 1
                continue  # a blank line
            add((row_no, "event_id", "required", {}))
        elif len(key) > EVENT_ID_MAX:
            add((row_no, "event_id", "too_long", {"max": EVENT_ID_MAX}))
        total += 1
        if nul:
            problems.extend(nul_problems(row_no, row, positions))

        resident = row[i_res].strip()
        if not resident:
            add((row_no, "resident_external_id", "required", {}))

        name = row[i_svc].strip()
        service_id = services.get(name)
        if service_id is None:
            service_id = services.get(name.lower()) or services.get(name.upper())
            if service_id is None:
                add((row_no, "service", "unknown_service" if name else "required",
                     {"value": name} if name else {}))

        stamp: Any = None
        moment = None
        raw = row[i_at].strip()
        if not raw:
            add((row_no, "occurred_at", "required", {}))
        else:
            try:
                moment = fromisoformat(raw)
            except ValueError:
                add((row_no, "occurred_at", "bad_datetime", {"value": raw}))
            else:
                if moment.year < YEAR_MIN:  # year 1 overflows; a late one is "future"
                    add((row_no, "occurred_at", "date_range",
                         {"value": raw, "min": YEAR_MIN, "max": YEAR_MAX}))
                    moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=zone)
                try:
                    check_occurred_at(moment, now)
                except UsageError:
                    add((row_no, "occurred_at", "future", {"value": raw}))
                else:
                    moment = moment.astimezone(UTC)
                    stamp = (moment.replace(tzinfo=None).isoformat(" ", "microseconds")
                             if as_text else moment)

        raw = row[i_ch]
        channel = channels.get(raw)
        if channel is None:
            try:
                channel = channels[raw] = check_channel(raw)
            except UsageError:
                value = raw.strip()
                add((row_no, "channel", "unknown_channel" if value else "required",
                     {"value": value, "choices": choices} if value else {}))

        kind = "use"
        if i_kind is not None:
            raw = row[i_kind]
            kind = kinds.get(raw)
            if kind is None:
                try:
                    kind = kinds[raw] = check_kind(raw)
                except UsageError:
                    add((row_no, "kind", "too_long", {"max": KIND_MAX}))

        note = None
        if i_note is not None:
            note = row[i_note].strip() or None
            if note is not None and len(note) > NOTE_MAX:
                add((row_no, "note", "too_long", {"max": NOTE_MAX}))

        if len(preview) < PREVIEW_ROWS:
            preview.append({"row": row_no, "ok": True, "values": {
                "event_id": key, "resident_external_id": resident,
                "service": slugs.get(service_id, name) if service_id else name,
                "occurred_at": moment.astimezone(zone).isoformat(" ", "minutes")
                if stamp is not None else row[i_at].strip(),
                "channel": channel or row[i_ch].strip(), "kind": kind or "",
                "note": note or ""}})
        if len(problems) != before:
            continue
        staged += 1
        yield (row_no, key, resident, service_id, kind, channel, stamp, note)
    result.total_rows = total
    result.blank_rows = blank
    result.good_rows = staged
    result.bad_rows = len({p[0] for p in problems})


def _set_based_checks(connection: Connection, result: Result) -> set[int]:
    """Unknown (or erased) residents and keys repeated in the file, over the staging
    table; returns the row numbers found bad."""
    add = result.problems.append
    bad: set[int] = set()
    for row_no, external_id, erased in connection.execute(text(
            "SELECT s.row_no, s.resident_ext, r.id IS NOT NULL FROM import_staging s "
            "LEFT JOIN residents r ON r.external_id = s.resident_ext "
            "WHERE r.id IS NULL OR r.anonymised_at IS NOT NULL")):
        bad.add(row_no)
        if erased:
            add((row_no, "resident_external_id", "resident_deleted", {}))
        else:
            add((row_no, "resident_external_id", "unknown_resident", {"value": external_id}))
    for row_no, key, first in connection.execute(text(
            "SELECT s.row_no, s.event_id, d.first_row FROM import_staging s "
            "JOIN (SELECT event_id, MIN(row_no) AS first_row FROM import_staging "
            "GROUP BY event_id HAVING COUNT(*) > 1) d ON d.event_id = s.event_id "
            "WHERE s.row_no > d.first_row")):
        bad.add(row_no)
        add((row_no, "event_id", "duplicate_key", {"value": key, "first": first}))
    return bad


def _mark_preview(result: Result) -> None:
    if not result.preview:
        return
    last = result.preview[-1]["row"]
    bad = {p[0] for p in result.problems if p[0] <= last}
    for entry in result.preview:
        entry["ok"] = entry["row"] not in bad


class Staging:
    """The temporary staging table, on the import's own connection and transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    @property
    def driver(self):
        return self.connection.connection.driver_connection

    def create(self) -> None:
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS import_staging")
        if self.dialect == "postgresql":
            self.connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE import_staging (row_no integer NOT NULL, "
                "event_id text NOT NULL, resident_ext text NOT NULL, "
                "service_id integer NOT NULL, kind text NOT NULL, channel text NOT NULL, "
                "occurred_at timestamptz NOT NULL, note text) ON COMMIT DROP")
        else:
            self.connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE import_staging (row_no INTEGER PRIMARY KEY, "
                "event_id TEXT NOT NULL, resident_ext TEXT NOT NULL, "
                "service_id INTEGER NOT NULL, kind TEXT NOT NULL, channel TEXT NOT NULL, "
                "occurred_at TEXT NOT NULL, note TEXT)")

    def load(self, rows: Iterator[tuple[Any, ...]]) -> None:
        if self.dialect == "postgresql":
            with self.driver.cursor() as cursor, cursor.copy(
                    f"COPY import_staging ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
            self.connection.exec_driver_sql("ANALYZE import_staging")
        else:
            cursor = self.driver.cursor()
            try:
                cursor.executemany("INSERT INTO import_staging VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                   rows)
            finally:
                cursor.close()

    def delete(self, row_numbers: set[int]) -> None:
        if self.dialect == "postgresql":
            self.connection.exec_driver_sql(
                "DELETE FROM import_staging WHERE row_no = ANY(%(rows)s)",
                {"rows": sorted(row_numbers)})
        else:
            self.connection.exec_driver_sql("DELETE FROM import_staging WHERE row_no = ?",
                                            [(n,) for n in sorted(row_numbers)])

    def count_stored(self) -> int:
        """Staged events stored already by an earlier import (same source and key)."""
        return self.connection.execute(text(
            "SELECT COUNT(*) FROM import_staging s JOIN usage_events u "
            "ON u.source = :source AND u.idempotency_key = s.event_id"),
            {"source": EventSource.IMPORT.value}).scalar_one()

    def insert_events(self, actor_id: int | None) -> int:
        """One INSERT … SELECT of every staged row; returns how many were new."""
        statement = text(
            "INSERT INTO usage_events (resident_id, service_id, kind, channel, occurred_at, "
            "source, idempotency_key, note, recorded_by_id, created_at) "
            "SELECT r.id, s.service_id, s.kind, s.channel, s.occurred_at, :source, "
            "s.event_id, s.note, :actor, :now FROM import_staging s "
            "JOIN residents r ON r.external_id = s.resident_ext "
            "WHERE r.anonymised_at IS NULL "
            "ON CONFLICT (source, idempotency_key) DO NOTHING"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        return self.connection.execute(statement, {
            "source": EventSource.IMPORT.value, "actor": actor_id, "now": utcnow()}).rowcount

    def drop(self) -> None:
        self.connection.exec_driver_sql("DROP TABLE IF EXISTS import_staging")
