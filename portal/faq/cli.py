"""``portal faq review-tasks``: make the review tasks now (the daily job does the same)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext


@click.group("faq")
def faq_group() -> None:
    """The FAQ's upkeep."""


@faq_group.command("review-tasks")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Count the review dates as of this day (YYYY-MM-DD; default: today).")
@with_appcontext
def review_tasks_command(today) -> None:
    """Give each department a task for its entries whose review date has come."""
    from portal.extensions import db
    from portal.faq.review import create_review_tasks

    day: date | None = today.date() if today else None
    made = create_review_tasks(day)
    db.session.commit()
    click.echo(f"FAQ review tasks created: {made}")
