"""Who would enter a playbook now: its trigger's candidates minus those with an open
case and those in the cooldown, each marked held out or not — the one selectable
that the evaluation inserts from and the dry run counts (so the two cannot differ).

The cooldown: no new case for a (resident, service) while an earlier case of the
playbook closed less than ``cooldown_days`` ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, exists, func, literal, select

from portal.extensions import db
from portal.playbooks.holdout import bucket_sql
from portal.playbooks.models import Case, Playbook
from portal.playbooks.triggers import candidates


def _service_key(column):
    return func.coalesce(column, 0)


def _cases_for(playbook: Playbook, sub):
    c = Case.__table__
    return c, and_(c.c.playbook_id == playbook.id, c.c.resident_id == sub.c.resident_id,
                   c.c.service_key == _service_key(sub.c.service_id))


def _open(playbook: Playbook, sub):
    c, same = _cases_for(playbook, sub)
    return exists().where(same, c.c.closed_at.is_(None))


def _cooling(playbook: Playbook, sub, now: datetime):
    c, same = _cases_for(playbook, sub)
    return exists().where(same, c.c.closed_at > now - timedelta(days=playbook.cooldown_days))


def entering(playbook: Playbook, now: datetime) -> Select:
    """The candidates that would open a case now: ``CANDIDATE_COLUMNS`` plus
    ``service_key`` and ``held_out``."""
    sub = candidates(playbook, now).subquery("candidate")
    held = bucket_sql(playbook.id, sub.c.resident_id) < playbook.holdout_percent
    return (select(*sub.c, _service_key(sub.c.service_id).label("service_key"),
                   case((held, literal(True)), else_=literal(False)).label("held_out"))
            .where(~_open(playbook, sub), ~_cooling(playbook, sub, now)))


def skipped(playbook: Playbook, now: datetime) -> dict[str, int]:
    """Candidates that will not open a case, by reason (``already_open``,
    ``cooldown``): one statement."""
    sub = candidates(playbook, now).subquery("candidate")
    is_open, cooling = _open(playbook, sub), _cooling(playbook, sub, now)
    row = db.session.execute(select(
        func.count().filter(is_open), func.count().filter(and_(~is_open, cooling)))
        .select_from(sub)).one()
    return {"already_open": row[0] or 0, "cooldown": row[1] or 0}
