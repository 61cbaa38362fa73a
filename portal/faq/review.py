"""Keeping the FAQ current: an entry whose review date has come gets a task for its
department (My work), and after ``FAQ_REVIEW_GRACE_DAYS`` more without a review the
public page says the answer is being reviewed. Marking the entry reviewed
(``operations.mark_reviewed``) completes the task.

``create_review_tasks`` runs daily (``portal.periodic``: ``faq_review_tasks``) and
from the command line (``portal faq review-tasks``); it is idempotent: an entry with
an open review task gets no second one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry
from portal.playbooks.models import Outcome
from portal.timeutil import local_today, utcnow
from portal.work import subjects
from portal.work.models import Task, TaskStatus

SUBJECT = "faq_entry"
TITLE_MAX = 200

subjects.register(SUBJECT, _l("FAQ review"), "faq_admin.edit", "entry_id")


def grace_days() -> int:
    return int(current_app.config["FAQ_REVIEW_GRACE_DAYS"])


def review_state(entry: FaqEntry, today: date | None = None) -> str:
    """``current`` (review date to come), ``due`` (reached, within the grace period)
    or ``being_reviewed`` (the grace period has passed without a review)."""
    today = today or local_today()
    if entry.review_on > today:
        return "current"
    if entry.review_on + timedelta(days=grace_days()) < today:
        return "being_reviewed"
    return "due"


def _open_task():
    return and_(Task.subject_type == SUBJECT, Task.subject_id == FaqEntry.id,
                Task.status == TaskStatus.OPEN)


def open_review_task(entry: FaqEntry) -> Task | None:
    return db.session.scalar(select(Task).where(
        Task.subject_type == SUBJECT, Task.subject_id == entry.id,
        Task.status == TaskStatus.OPEN).order_by(Task.id).limit(1))


def _title(entry: FaqEntry, locale: str) -> str:
    other = "en" if locale == "ja" else "ja"
    question = getattr(entry, f"question_{locale}") or getattr(entry, f"question_{other}")
    with force_locale(locale):
        title = _("FAQ review: %(question)s", question=" ".join(question.split()))
    return title if len(title) <= TITLE_MAX else title[:TITLE_MAX - 1] + "…"


def create_review_tasks(today: date | None = None) -> int:
    """A task for every published entry whose review date has come and that has no
    open review task; returns how many were made. Flushes; the caller commits."""
    today = today or local_today()
    grace = timedelta(days=grace_days())
    entries = db.session.scalars(
        select(FaqEntry).where(FaqEntry.status == EntryStatus.PUBLISHED,
                               FaqEntry.review_on <= today, ~exists().where(_open_task()))
        .order_by(FaqEntry.review_on, FaqEntry.id)).all()
    for entry in entries:
        task = Task(subject_type=SUBJECT, subject_id=entry.id, department_id=entry.department_id,
                    title_ja=_title(entry, "ja"), title_en=_title(entry, "en"),
                    due_on=entry.review_on + grace, status=TaskStatus.OPEN)
        db.session.add(task)
        db.session.flush()
        record("faq.review_task", actor=None, target=entry,
               summary=f"Review task {task.id} for FAQ entry {entry.id} "
                       f"(review date {entry.review_on.isoformat()})",
               data={"task": task.id, "due_on": task.due_on.isoformat(),
                     "department_id": entry.department_id})
    db.session.flush()
    return len(entries)


def close_review_tasks(entry: FaqEntry, *, actor: User, now: datetime | None = None) -> list[int]:
    """The entry's open review tasks, done (it was reviewed, or archived)."""
    now = now or utcnow()
    tasks = db.session.scalars(select(Task).where(
        Task.subject_type == SUBJECT, Task.subject_id == entry.id,
        Task.status == TaskStatus.OPEN)).all()
    for task in tasks:
        task.status = TaskStatus.DONE
        task.outcome = Outcome.RESOLVED
        task.completed_at = now
        task.completed_by_id = actor.id
    return [task.id for task in tasks]
