"""Jobs: the daily recompute (and the one started from the console)."""

from __future__ import annotations

import logging
from datetime import timedelta

from portal.auth.models import User
from portal.engagement.scoring import prune_history, recompute
from portal.extensions import db
from portal.timeutil import local_today

log = logging.getLogger(__name__)


def recompute_today(user_id: int | None = None) -> int:
    """Job entry point (the console button): today's scores, with what is known now."""
    actor = db.session.get(User, user_id) if user_id else None
    run = recompute(local_today(), actor=actor)
    db.session.commit()
    return run.scores


def recompute_yesterday() -> int:
    """Job entry point (daily, after local midnight): the day that just ended, complete,
    then the snapshots of filled-in days that the trends no longer need, then the
    playbook evaluation on the fresh scores (it commits its own work)."""
    from portal.playbooks.jobs import evaluate_job

    run = recompute(local_today() - timedelta(days=1))
    db.session.commit()
    prune_history(local_today())
    db.session.commit()
    try:
        evaluate_job()
    except Exception:  # the scores stay; the next day's run evaluates again
        db.session.rollback()
        log.exception("the playbook evaluation after the recompute failed")
    return run.scores
