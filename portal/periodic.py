"""Periodic work of ``portal worker``: the outbox sweep, the daily recompute, the
daily survey reminders, the FAQ's daily review tasks and the community's daily digests.

Each task has slots (a minute, a local day). A slot is claimed once: in Redis with
``SET NX`` when the queue is in use — so any number of workers on any number of
hosts start each daily recompute once — or in the worker's memory when embedded
(where a recompute that already ran today, before a restart, is not repeated)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.timeutil import local_today, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    slot: Callable[[datetime], str]
    path: str  # "module:function" of the job
    already_done: Callable[[str], bool] = lambda slot: False


def _minute(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M")


def _local_day(_now: datetime) -> str:
    return local_today().isoformat()


def _scored_yesterday(slot: str) -> bool:
    """The day before the slot's day has been scored (e.g. before a restart)."""
    from portal.engagement.models import ScoreRun

    day = datetime.fromisoformat(slot).date() - timedelta(days=1)
    return db.session.scalar(select(ScoreRun.id).where(ScoreRun.as_of == day)
                             .limit(1)) is not None


TASKS = (
    Task("outbox", _minute, "portal.mail.outbox:send_due_messages"),
    Task("scores", _local_day, "portal.engagement.jobs:recompute_yesterday", _scored_yesterday),
    # at most one reminder per invitation (reminded_at), so a repeat run sends nothing
    Task("survey_reminders", _local_day, "portal.surveys.jobs:send_due_reminders"),
    # an entry with an open review task gets no second one, so a repeat run makes none
    Task("faq_review_tasks", _local_day, "portal.faq.jobs:create_review_tasks"),
    # at most one digest per person a day (Member.last_digest_at): a repeat run sends nothing
    Task("community_digests", _local_day, "portal.community.digest:send_digests"),
)


class MemoryClaims:
    def __init__(self) -> None:
        self.last: dict[str, str] = {}

    def claim(self, name: str, slot: str) -> bool:
        if self.last.get(name) == slot:
            return False
        self.last[name] = slot
        return True

    def release(self, name: str, slot: str) -> None:
        self.last.pop(name, None)


class RedisClaims:
    def __init__(self, connection) -> None:
        self.connection = connection

    def claim(self, name: str, slot: str) -> bool:
        return bool(self.connection.set(self._key(name, slot), "1", nx=True, ex=3 * 86400))

    def release(self, name: str, slot: str) -> None:
        self.connection.delete(self._key(name, slot))

    @staticmethod
    def _key(name: str, slot: str) -> str:
        return f"portal:periodic:{name}:{slot}"


def run_due(app: Flask, claims, start: Callable[[str], object]) -> list[str]:
    """Start every task whose current slot is unclaimed; returns their names."""
    started = []
    with app.app_context():
        now = utcnow()
        for task in TASKS:
            slot = task.slot(now)
            if task.already_done(slot) or not claims.claim(task.name, slot):
                continue
            try:
                start(task.path)
            except Exception:
                db.session.rollback()
                claims.release(task.name, slot)  # try again at the next look
                log.exception("periodic task %s failed", task.name)
            else:
                started.append(task.name)
            finally:
                db.session.remove()
    return started
