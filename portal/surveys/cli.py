"""``portal surveys export ID FILE`` and ``portal surveys import FILE``: survey
definitions as JSON (docs/surveys.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale


@click.group("surveys")
def surveys_group() -> None:
    """Export and import survey definitions (format: docs/surveys.md)."""


@surveys_group.command("export")
@click.argument("survey_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@with_appcontext
def export_command(survey_id: int, file: Path) -> None:
    """Write the definition of survey SURVEY_ID to FILE ("-": standard output)."""
    from portal.audit.recording import record
    from portal.extensions import db
    from portal.surveys import definition
    from portal.surveys.models import Survey

    survey = db.session.get(Survey, survey_id)
    if survey is None:
        click.echo(f"error: there is no survey {survey_id}", err=True)
        sys.exit(1)
    text = definition.to_json(survey)
    if str(file) == "-":
        click.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        click.echo(f"Survey {survey_id} written to {file} "
                   f"({len(definition.to_definition(survey)['questions'])} questions)")
    record("survey.export", actor=None, target=survey,
           summary=f"Exported the definition of survey {survey.id} (command line)")
    db.session.commit()


@surveys_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", "department_code", metavar="CODE",
              help="The owning department when the definition names no service "
                   "(overrides its \"department\").")
@with_appcontext
def import_command(file: Path, department_code: str | None) -> None:
    """Import the definition in FILE as a new draft survey."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.services.models import Department
    from portal.surveys import definition

    department_id = None
    if department_code:
        department_id = db.session.scalar(select(Department.id)
                                          .where(Department.code == department_code))
        if department_id is None:
            click.echo(f"error: there is no department {department_code}", err=True)
            sys.exit(1)
    with force_locale("en"):  # the command line speaks English, like its --help
        try:
            survey = definition.import_text(file.read_bytes(), actor=None,
                                            department_id=department_id)
        except definition.DefinitionError as error:
            db.session.rollback()
            click.echo(f"{file}: nothing imported, {len(error.errors)} problem(s):", err=True)
            for path, message in error.errors:
                click.echo(f"  {path or '/'}: {message}", err=True)
            sys.exit(1)
        questions = len(survey.questions)
        db.session.commit()
    click.echo(f"Imported survey {survey.id} as a draft ({questions} questions)")
