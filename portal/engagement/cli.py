"""``portal scores …``"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from portal.timeutil import local_today


@click.group("scores")
def scores_group() -> None:
    """Engagement scores."""


@scores_group.command("recompute")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Score as of this local date (default: today).")
@click.option("--history", type=click.IntRange(0, 60), default=0, show_default=True,
              help="Also fill the first day of each of the last N months, oldest first.")
@with_appcontext
def recompute_command(at, history: int) -> None:
    """Recompute every engagement score (set-based; one transaction per day)."""
    from portal.engagement.scoring import history_days, recompute
    from portal.extensions import db

    day: date = at.date() if at else local_today()
    days = history_days(history, day) if history else [day]
    for each in days:
        run = recompute(each)
        db.session.commit()
        click.echo(f"{each.isoformat()}: {run.scores} scores in {run.duration_ms} ms"
                   + ("" if run.replaced_current else " (history only)"))
