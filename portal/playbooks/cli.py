"""``portal playbooks …``"""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("playbooks")
def playbooks_group() -> None:
    """Playbooks: evaluate them (open cases, run steps, close, measure)."""


@playbooks_group.command("evaluate")
@click.option("--dry-run", is_flag=True,
              help="Count what would open and close; write nothing.")
@with_appcontext
def evaluate_command(dry_run: bool) -> None:
    """Evaluate every active playbook: one line each with the cases opened (and held
    out), skipped by reason, closed and the steps run."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.playbooks.evaluation import evaluate, summary_line
    from portal.playbooks.models import Playbook

    runs = evaluate(dry_run=dry_run)
    names = {p.id: p for p in db.session.scalars(
        select(Playbook).where(Playbook.id.in_([run.playbook_id for run in runs])))}
    for run in runs:
        click.echo(summary_line(run, names.get(run.playbook_id)))
    if not runs:
        click.echo("No active playbook.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
