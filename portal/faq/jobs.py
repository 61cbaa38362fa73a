"""The FAQ's periodic job (``portal.periodic``)."""

from __future__ import annotations

from datetime import date

from portal.extensions import db
from portal.faq import review


def create_review_tasks(today: date | None = None) -> int:
    """Job entry point (daily): review tasks for the entries whose date has come,
    committed."""
    made = review.create_review_tasks(today)
    db.session.commit()
    return made
