"""Jobs: the playbook evaluation — daily after the recompute
(``portal.engagement.jobs.recompute_yesterday`` ends with it) and on demand from the
console (``jobs.enqueue(evaluate_job, user.id)``)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from portal.extensions import db
from portal.playbooks.evaluation import PlaybookRun, evaluate, summary_line
from portal.playbooks.models import Playbook

log = logging.getLogger(__name__)


def evaluate_job(actor_id: int | None = None) -> list[PlaybookRun]:
    """Job entry point: evaluate every active playbook (it commits), then log one
    line per playbook. ``actor_id``: who asked (the console's button), for the log."""
    runs = evaluate()
    names = {p.id: p for p in db.session.scalars(
        select(Playbook).where(Playbook.id.in_([run.playbook_id for run in runs])))}
    for run in runs:
        log.info("playbook evaluation%s: %s", f" (asked by user {actor_id})" if actor_id else "",
                 summary_line(run, names.get(run.playbook_id)))
    log.info("playbook evaluation: %s playbooks, %s cases opened, %s steps run", len(runs),
             sum(run.opened for run in runs), sum(run.steps for run in runs))
    return runs
