"""What staff do with FAQ entries: write one, promote a community answer to one,
change it, mark it reviewed, archive and restore it. The console's views, the
tests (and any job) call these.

Each function checks everything first and only then changes anything, so a
refusal leaves nothing half-applied. Every save increments the entry's version,
writes a ``FaqVersion`` with the whole entry as saved (its ``snapshot``), an audit
entry (``faq.create``/``promote``/``update``/``review``/``archive``/``restore``),
and tells the features that follow entries (``events.faq_changed``: the search
index); then it flushes — the caller commits. Refusals are ``FaqError`` with a
message safe to show.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from portal.audit.recording import record
from portal.auth.models import User
from portal.community import events
from portal.community.models import Post, PostKind, PostStatus
from portal.extensions import db
from portal.faq.models import REVIEW_MONTHS, EntryStatus, FaqEntry, FaqEntryService, FaqVersion
from portal.permissions import can_edit_faq
from portal.services.models import Department, Service
from portal.timeutil import local_today, utcnow

LANGUAGES = ("ja", "en")
QUESTION_MAX = 300
ANSWER_MAX = 20_000
NOTE_MAX = 2000
#: a review date further away than this is a typing mistake
REVIEW_MAX_DAYS = 5 * 366
#: the fields a version's snapshot holds, besides ``service_ids``
FIELDS = ("question_ja", "answer_ja", "draft_ja", "question_en", "answer_en", "draft_en",
          "department_id", "review_on", "status", "source_post_id")


class FaqError(ValueError):
    """An action that cannot be carried out; ``str(error)`` is safe to show."""


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_review_on(today: date | None = None) -> date:
    return add_months(today or local_today(), REVIEW_MONTHS)


@dataclass
class EntryValues:
    """What a form (or a caller) gives for an entry."""

    question_ja: str = ""
    answer_ja: str = ""
    draft_ja: bool = False
    question_en: str = ""
    answer_en: str = ""
    draft_en: bool = False
    department_id: int | None = None
    service_ids: list[int] = field(default_factory=list)
    review_on: date | None = None


# -- checks -----------------------------------------------------------------------------

def _may_edit(actor: User, department_id: int | None) -> None:
    if not can_edit_faq(actor, department_id):
        raise FaqError(_("This entry belongs to another department: you cannot change it."))


def _clean(values: EntryValues) -> EntryValues:
    """Trimmed values, or FaqError with the first thing wrong."""
    cleaned = EntryValues(department_id=values.department_id, review_on=values.review_on,
                          service_ids=sorted({int(i) for i in values.service_ids or []}))
    complete = 0
    for lang, name in (("ja", _("Japanese")), ("en", _("English"))):
        question = (getattr(values, f"question_{lang}") or "").strip()
        answer = (getattr(values, f"answer_{lang}") or "").strip().replace("\r\n", "\n")
        draft = bool(getattr(values, f"draft_{lang}"))
        if len(question) > QUESTION_MAX:
            raise FaqError(_("A question can be at most %(n)d characters.", n=QUESTION_MAX))
        if len(answer) > ANSWER_MAX:
            raise FaqError(_("An answer can be at most %(n)d characters.", n=ANSWER_MAX))
        if bool(question) != bool(answer):
            raise FaqError(_("Write both the question and the answer in %(language)s, or "
                             "leave both empty.", language=name))
        draft = draft and bool(question)  # nothing written: nothing to review
        complete += bool(question) and not draft
        setattr(cleaned, f"question_{lang}", question)
        setattr(cleaned, f"answer_{lang}", answer)
        setattr(cleaned, f"draft_{lang}", draft)
    if not complete:
        raise FaqError(_("Write the question and the answer in at least one language that "
                         "is not a draft."))
    if cleaned.department_id is None or db.session.get(Department,
                                                       cleaned.department_id) is None:
        raise FaqError(_("Choose the department that owns the entry."))
    if cleaned.service_ids:
        found = set(db.session.scalars(select(Service.id).where(
            Service.id.in_(cleaned.service_ids))))
        if found != set(cleaned.service_ids):
            raise FaqError(_("Choose services from the list."))
    return cleaned


def _review_date(review_on: date | None, today: date) -> date:
    if review_on is None:
        return default_review_on(today)
    if review_on <= today:
        raise FaqError(_("Choose a review date after today."))
    if review_on > today + timedelta(days=REVIEW_MAX_DAYS):
        raise FaqError(_("Choose a review date within five years."))
    return review_on


def _note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise FaqError(_("A change note can be at most %(n)d characters.", n=NOTE_MAX))
    return text


# -- the save every action ends with -----------------------------------------------------

def service_ids(entry: FaqEntry) -> list[int]:
    return sorted(db.session.scalars(select(FaqEntryService.service_id).where(
        FaqEntryService.entry_id == entry.id)))


def snapshot(entry: FaqEntry, services: list[int]) -> dict:
    """Every field of the entry as saved (JSON: dates as ISO strings)."""
    data = {name: getattr(entry, name) for name in FIELDS}
    data["review_on"] = entry.review_on.isoformat()
    data["service_ids"] = list(services)
    return data


def _set_services(entry: FaqEntry, wanted: list[int]) -> None:
    db.session.execute(delete(FaqEntryService).where(FaqEntryService.entry_id == entry.id))
    db.session.add_all(FaqEntryService(entry_id=entry.id, service_id=i) for i in wanted)


def _save(entry: FaqEntry, *, actor: User | None, action: str, note: str, summary: str,
          services: list[int], data: dict | None = None) -> FaqVersion:
    entry.updated_by_id = actor.id if actor else None
    entry.updated_at = utcnow()
    db.session.flush()
    state = snapshot(entry, services)
    version = FaqVersion(entry_id=entry.id, version=entry.version,
                         snapshot={**state, "action": action}, note=note,
                         changed_by_id=actor.id if actor else None)
    db.session.add(version)
    record(action, actor=actor, target=entry, summary=summary,
           data={"version": entry.version, **(data or {})})
    db.session.flush()
    db.session.expire(entry, ["services"])
    events.faq_changed(entry)
    return version


#: the fields a form sets (status and the source post have actions of their own)
APPLIED = ("question_ja", "answer_ja", "draft_ja", "question_en", "answer_en", "draft_en",
           "department_id")


def _apply(entry: FaqEntry, values: EntryValues) -> None:
    for name in (*APPLIED, "review_on"):
        setattr(entry, name, getattr(values, name))


# -- writing and promoting ---------------------------------------------------------------

def create_entry(values: EntryValues, *, actor: User, note: str = "",
                 source_post: Post | None = None, today: date | None = None) -> FaqEntry:
    """A new published entry (version 1)."""
    today = today or local_today()
    cleaned = _clean(values)
    _may_edit(actor, cleaned.department_id)
    cleaned.review_on = _review_date(cleaned.review_on, today)
    note = _note(note)
    if source_post is not None:
        check_promotable(source_post)
    entry = FaqEntry(version=1, status=EntryStatus.PUBLISHED, created_by_id=actor.id,
                     source_post_id=source_post.id if source_post else None)
    _apply(entry, cleaned)
    db.session.add(entry)
    db.session.flush()
    _set_services(entry, cleaned.service_ids)
    action = "faq.promote" if source_post is not None else "faq.create"
    _save(entry, actor=actor, action=action, note=note, services=cleaned.service_ids,
          summary=(f"Promoted community answer {source_post.id} to FAQ entry {entry.id}"
                   if source_post is not None else f"Wrote FAQ entry {entry.id}"),
          data={"department_id": entry.department_id,
                **({"post": source_post.id} if source_post is not None else {})})
    return entry


def check_promotable(post: Post | None) -> Post:
    """``post`` if it is a public answer, accepted by the asker or official."""
    if post is None or post.kind != PostKind.ANSWER:
        raise FaqError(_("Only an answer to a community question can be promoted to the FAQ."))
    question = post.question
    if post.status != PostStatus.PUBLISHED or question is None \
            or question.status != PostStatus.PUBLISHED:
        raise FaqError(_("This answer is not public: it cannot be promoted to the FAQ."))
    if not (post.official or question.accepted_answer_id == post.id):
        raise FaqError(_("Only an accepted or official answer can be promoted to the FAQ."))
    return post


def promotion_values(post: Post, actor: User) -> EntryValues:
    """The form's first values for promoting ``post``: the question's title (and its
    body, when it adds something) and the answer's body in the post's language; the
    other language left empty. The owner: the official answer's department, else the
    actor's, else the first tagged service's."""
    check_promotable(post)
    question = post.question
    asked = question.title.strip()
    body = (question.body or "").strip()
    if body and len(asked) + len(body) + 1 <= QUESTION_MAX and len(body) <= 120:
        asked = f"{asked}\n{body}" if body not in asked else asked
    asked = " ".join(asked.split())[:QUESTION_MAX]
    lang = post.lang if post.lang in LANGUAGES else "ja"
    services = [s.id for s in question.services]
    department = post.official_department_id or actor.department_id or (
        question.services[0].department_id if question.services else None)
    values = EntryValues(department_id=department, service_ids=services)
    setattr(values, f"question_{lang}", asked)
    setattr(values, f"answer_{lang}", (post.body or "").strip())
    return values


# -- changing ----------------------------------------------------------------------------

def update_entry(entry: FaqEntry, values: EntryValues, *, actor: User, note: str = "",
                 today: date | None = None) -> FaqEntry:
    """Any field changed (a new version); FaqError when nothing changed."""
    today = today or local_today()
    _may_edit(actor, entry.department_id)
    cleaned = _clean(values)
    _may_edit(actor, cleaned.department_id)
    if cleaned.review_on is None:
        cleaned.review_on = entry.review_on
    elif cleaned.review_on != entry.review_on:
        cleaned.review_on = _review_date(cleaned.review_on, today)
    note = _note(note)
    before = snapshot(entry, service_ids(entry))
    after = {**before, **{name: getattr(cleaned, name) for name in APPLIED},
             "review_on": cleaned.review_on.isoformat(), "service_ids": cleaned.service_ids}
    changed = sorted(k for k in after if after[k] != before.get(k))
    if not changed:
        raise FaqError(_("Nothing changed."))
    _apply(entry, cleaned)
    entry.version += 1
    if "service_ids" in changed:
        _set_services(entry, cleaned.service_ids)
    tasks = _follow_review_tasks(entry, actor=actor, today=today)
    _save(entry, actor=actor, action="faq.update", note=note, services=cleaned.service_ids,
          summary=f"Changed FAQ entry {entry.id}", data={"fields": changed, "tasks": tasks})
    return entry


def _follow_review_tasks(entry: FaqEntry, *, actor: User, today: date) -> list[int]:
    """An open review task follows its entry: to the new owner department, and done once
    an edit sets a review date after today (the entry is not due any more)."""
    from portal.faq.review import SUBJECT, close_review_tasks
    from portal.work.models import Task, TaskStatus

    if entry.review_on > today:
        return close_review_tasks(entry, actor=actor)
    tasks = db.session.scalars(select(Task).where(
        Task.subject_type == SUBJECT, Task.subject_id == entry.id,
        Task.status == TaskStatus.OPEN, Task.department_id != entry.department_id)).all()
    for task in tasks:
        task.department_id = entry.department_id
        task.assignee_id = None  # the old department's member no longer owns it
    return [task.id for task in tasks]


def mark_reviewed(entry: FaqEntry, *, actor: User, review_on: date | None = None,
                  note: str = "", today: date | None = None) -> FaqEntry:
    """The department checked the entry is still right: the next review date (default
    ``REVIEW_MONTHS`` from today), ``last_reviewed_at``, and its open review task done."""
    from portal.faq.review import close_review_tasks

    today = today or local_today()
    _may_edit(actor, entry.department_id)
    if entry.status != EntryStatus.PUBLISHED:
        raise FaqError(_("An archived entry cannot be reviewed: restore it first."))
    review_on = _review_date(review_on, today)
    note = _note(note)
    now = utcnow()
    entry.review_on = review_on
    entry.last_reviewed_at = now
    entry.version += 1
    closed = close_review_tasks(entry, actor=actor, now=now)
    _save(entry, actor=actor, action="faq.review", note=note, services=service_ids(entry),
          summary=f"Reviewed FAQ entry {entry.id}; next review {review_on.isoformat()}",
          data={"review_on": review_on.isoformat(), "tasks": closed})
    return entry


def archive_entry(entry: FaqEntry, *, actor: User, note: str = "") -> FaqEntry:
    _may_edit(actor, entry.department_id)
    if entry.status == EntryStatus.ARCHIVED:
        raise FaqError(_("This entry is already archived: nothing was changed."))
    from portal.faq.review import close_review_tasks

    note = _note(note)
    entry.status = EntryStatus.ARCHIVED
    entry.version += 1
    closed = close_review_tasks(entry, actor=actor, now=utcnow())
    _save(entry, actor=actor, action="faq.archive", note=note, services=service_ids(entry),
          summary=f"Archived FAQ entry {entry.id}", data={"tasks": closed})
    return entry


def restore_entry(entry: FaqEntry, *, actor: User, note: str = "") -> FaqEntry:
    _may_edit(actor, entry.department_id)
    if entry.status == EntryStatus.PUBLISHED:
        raise FaqError(_("This entry is already published: nothing was changed."))
    note = _note(note)
    entry.status = EntryStatus.PUBLISHED
    entry.version += 1
    _save(entry, actor=actor, action="faq.restore", note=note, services=service_ids(entry),
          summary=f"Restored FAQ entry {entry.id}")
    return entry
