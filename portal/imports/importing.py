"""Importing CSV files: check, apply, and the console's upload → preview → confirm.

These functions take plain arguments, flush and write the audit log; the caller
commits (or rolls back) once. Checking writes nothing: when the checks stop an
import, or on a dry run, the database is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.imports import events, life_events, residents
from portal.imports.csvfile import (
    Column,
    FileProblem,
    Records,
    Result,
    choose_codec,
    guess_kind,
    read_header,
)
from portal.imports.models import ImportBatch, ImportKind, ImportStatus
from portal.timeutil import utcnow

KINDS: dict[str, tuple[tuple[Column, ...], Callable[..., None]]] = {
    ImportKind.RESIDENTS: (residents.COLUMNS, residents.import_residents),
    ImportKind.EVENTS: (events.COLUMNS, events.import_events),
    ImportKind.LIFE_EVENTS: (life_events.COLUMNS, life_events.import_life_events),
}
#: Python codec → the name stored on a batch (and accepted by ``--encoding``).
CODEC_NAMES = {"utf-8-sig": "utf-8", "cp932": "cp932"}
FILENAME_MAX = 255


class ImportStateError(Exception):
    """The batch cannot be applied or discarded in its current state."""


def columns_of(kind: str) -> tuple[Column, ...]:
    return KINDS[kind][0]


def detect_kind(content: bytes) -> str | None:
    """Which kind of file the header looks like (None: neither)."""
    return guess_kind(content, {kind: columns for kind, (columns, _) in KINDS.items()})


def run_import(kind: str, content: bytes, *, filename: str, encoding: str = "auto",
               skip_bad: bool = False, dry_run: bool = False, actor: User | None = None,
               progress: Callable[[int], Any] | None = None) -> Result:
    """Check ``content``; unless ``dry_run`` or bad rows stop it, apply it too
    (``result.applied``). Writes no audit entry: the callers below do."""
    columns, importer = KINDS[kind]
    result = Result(kind=kind, filename=filename)
    try:
        if not content.strip():
            raise FileProblem("empty")
        codec = choose_codec(content, encoding)
        result.encoding = CODEC_NAMES[codec]
        records = Records(content, codec, result.problems)
        positions = read_header(records, columns)
        records.check()
        importer(records, positions, result, write=not dry_run, skip_bad=skip_bad,
                 actor_id=actor.id if actor is not None else None, progress=progress)
        if not result.total_rows:
            raise FileProblem("no_rows")
    except FileProblem as problem:
        if result.applied:  # cannot happen: every file problem is found before writing
            raise
        result.file_error = True
        result.good_rows = 0
        result.counts = dict.fromkeys(result.counts, 0)
        if problem.code == "header":
            params = {name: value for name, value in problem.params.items() if value}
        else:
            params = problem.params
        result.problems.append((problem.row, "", problem.code, params))
        result.bad_rows = len({p[0] for p in result.problems})
    return result


def _summary(result: Result) -> str:
    counts = result.counts
    return (f"Imported {result.kind} from {result.filename}: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['duplicates']} duplicates, "
            f"{counts['skipped']} bad rows skipped")


def _audit_data(result: Result, **extra: Any) -> dict[str, Any]:
    return {"kind": result.kind, "filename": result.filename, "rows": result.total_rows,
            "bad_rows": result.bad_rows, **result.counts, **extra}


def import_file(kind: str, content: bytes, *, filename: str, encoding: str = "auto",
                skip_bad: bool = False, dry_run: bool = False, actor: User | None = None,
                progress: Callable[[int], Any] | None = None) -> Result:
    """The command line's import: check, and apply unless stopped; audited when applied."""
    result = run_import(kind, content, filename=filename, encoding=encoding,
                        skip_bad=skip_bad, dry_run=dry_run, actor=actor, progress=progress)
    if result.applied:
        db.session.flush()
        record("import.apply", actor=actor, summary=_summary(result) + " (command line)",
               data=_audit_data(result, source="cli"))
    return result


def _store(batch: ImportBatch, result: Result) -> None:
    batch.encoding = result.encoding
    batch.total_rows = result.total_rows
    batch.good_rows = result.good_rows
    batch.bad_rows = result.bad_rows
    batch.counts = dict(result.counts)
    batch.errors = result.problem_dicts()
    batch.preview = result.preview


def check_upload(*, actor: User, kind: str, filename: str, content: bytes,
                 skip_bad: bool) -> ImportBatch:
    """Check an uploaded file (nothing is written) and keep it as a batch to confirm."""
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1][:FILENAME_MAX] or "upload.csv"
    result = run_import(kind, content, filename=filename, skip_bad=skip_bad, dry_run=True,
                        actor=actor)
    batch = ImportBatch(kind=kind, filename=filename, content=content, skip_bad_rows=skip_bad,
                        uploaded_by_id=actor.id,
                        status=ImportStatus.REJECTED if result.stops(skip_bad)
                        else ImportStatus.CHECKED)
    _store(batch, result)
    db.session.add(batch)
    db.session.flush()
    record("import.check", actor=actor, target=batch,
           summary=f"Checked {kind} file {filename}: {result.total_rows} rows, "
                   f"{result.bad_rows} bad",
           data=_audit_data(result, status=batch.status))
    return batch


def apply_batch(batch: ImportBatch, *, actor: User) -> Result:
    """Run a checked batch again from its stored content and apply it, once.

    When the data changed since the check so that bad rows now stop it, nothing is
    written and the batch is marked rejected with the new problems.
    """
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == ImportStatus.CHECKED)
        .values(status=ImportStatus.APPLIED)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed or batch.content is None:
        raise ImportStateError(batch.status)
    result = run_import(batch.kind, batch.content, filename=batch.filename,
                        encoding=batch.encoding or "auto", skip_bad=batch.skip_bad_rows,
                        actor=actor)
    _store(batch, result)
    if result.applied:
        batch.status = ImportStatus.APPLIED
        batch.applied_at = utcnow()
        batch.content = None  # applied once; the counts and problems stay
        db.session.flush()
        record("import.apply", actor=actor, target=batch, summary=_summary(result),
               data=_audit_data(result, source="console"))
    else:
        batch.status = ImportStatus.REJECTED
        db.session.flush()
        record("import.reject", actor=actor, target=batch,
               summary=f"Import {batch.id} ({batch.filename}) no longer passes its checks: "
                       f"{result.bad_rows} bad rows; nothing imported",
               data=_audit_data(result))
    return result


def discard_batch(batch: ImportBatch, *, actor: User) -> None:
    """Drop an upload that will not be applied (its content is deleted)."""
    if batch.status not in (ImportStatus.CHECKED, ImportStatus.REJECTED):
        raise ImportStateError(batch.status)
    batch.status = ImportStatus.DISCARDED
    batch.content = None
    db.session.flush()
    record("import.discard", actor=actor, target=batch,
           summary=f"Discarded import {batch.id} ({batch.filename})",
           data={"kind": batch.kind, "filename": batch.filename})
