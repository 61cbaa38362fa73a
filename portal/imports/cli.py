"""``portal import residents FILE``, ``portal import events FILE`` and ``portal import
life-events FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy.exc import SQLAlchemyError

from portal.imports.csvfile import ENCODINGS, problems_csv
from portal.imports.models import ImportKind

SHOWN_PROBLEMS = 20


@click.group("import")
def import_group() -> None:
    """Import residents, usage events or life events from CSV files (formats:
    docs/imports.md)."""


def _run(kind: str, file: Path, dry_run: bool, skip_bad: bool, encoding: str,
         report: Path | None) -> None:
    from portal.extensions import db
    from portal.imports import importing

    content = file.read_bytes()
    with force_locale("en"):  # the command line speaks English, like its --help
        try:
            with click.progressbar(length=max(content.count(b"\n"), 1),
                                   label=f"Reading {file.name}", file=sys.stderr) as bar:
                result = importing.import_file(
                    kind, content, filename=file.name, encoding=encoding, skip_bad=skip_bad,
                    dry_run=dry_run, progress=bar.update)
            if result.applied:
                db.session.commit()
            else:
                db.session.rollback()
        except SQLAlchemyError as error:
            db.session.rollback()
            raise click.ClickException(
                f"the import failed and nothing was written: {error.__class__.__name__}: "
                f"{error.orig if hasattr(error, 'orig') else error}") from error
        problems = result.problem_dicts()

    counts = result.counts
    click.echo(f"rows: {result.total_rows}, created: {counts['created']}, "
               f"updated: {counts['updated']}, duplicates: {counts['duplicates']}, "
               f"bad: {result.bad_rows}" + ("" if result.applied else " (checked only)"))
    for problem in problems[:SHOWN_PROBLEMS]:
        where = f"row {problem['row']}"
        if problem["column"]:
            where += f", column {problem['column']}"
        click.echo(f"  {where}: {problem['reason']}")
    if len(problems) > SHOWN_PROBLEMS:
        hint = f"all in {report}" if report else "--report FILE writes them all"
        click.echo(f"  … and {len(problems) - SHOWN_PROBLEMS} more problems ({hint})")
    if report is not None:
        report.write_text(problems_csv(problems, translate=False), encoding="utf-8",
                          newline="")
        click.echo(f"Problems written to {report} ({len(problems)}).")

    stopped = result.stops(skip_bad)
    if result.file_error:
        click.echo("Nothing was imported: the file itself has a problem (see above).",
                   err=True)
    elif stopped and result.bad_rows:
        click.echo(f"Nothing was imported: {result.bad_rows} bad rows (fix them, or use "
                   "--skip-bad to import the good rows only).", err=True)
    elif dry_run:
        click.echo("Dry run: everything was checked and nothing was written.")
    elif result.applied:
        skipped = f" ({result.bad_rows} bad rows skipped)" if result.bad_rows else ""
        if not counts["created"] and not counts["updated"]:
            click.echo(f"Nothing changed: every row was imported before{skipped}.")
        else:
            click.echo(f"Imported{skipped}.")
    if stopped:
        sys.exit(1)


def _command(kind: str, help_text: str) -> click.Command:
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True,
                                            path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check everything and write nothing.")
    @click.option("--skip-bad", is_flag=True,
                  help="Import the good rows and skip the bad ones (which are reported).")
    @click.option("--encoding", type=click.Choice(list(ENCODINGS)), default="auto",
                  show_default=True,
                  help="auto tries UTF-8 (with or without BOM), then Shift_JIS (CP932).")
    @click.option("--report", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                  help="Write every problem to this CSV file (row,column,reason).")
    @with_appcontext
    def command(file: Path, dry_run: bool, skip_bad: bool, encoding: str,
                report: Path | None) -> None:
        _run(kind, file, dry_run, skip_bad, encoding, report)

    command.__doc__ = help_text
    return import_group.command(kind)(command)


import_residents = _command(ImportKind.RESIDENTS.value,
                            "Create or update residents (and households) by external id.")
import_events = _command(ImportKind.EVENTS.value,
                         "Add usage events; events imported before are skipped as duplicates.")
import_life_events = _command(
    ImportKind.LIFE_EVENTS.value,
    "Add life events (moved_in, child_born, turned_65) of residents by external id; "
    "events imported before are skipped as duplicates.")
