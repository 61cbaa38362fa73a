"""What staff do with a task or a case: complete, reassign, snooze, change the due
date, close the case, add a note. The console's views, the tests (and any job)
call these.

Each function checks everything first and only then changes anything, so a
refusal leaves nothing half-applied; it logs a ``Touchpoint`` (the resident's
timeline), a ``CaseNote`` event (the case's own history) and an audit entry, then
flushes — the caller commits. Refusals are ``WorkError`` with a message safe to
show: another department's task, a task already done or cancelled (a replayed
POST), a closed case, a value out of range.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _

from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.extensions import db
from portal.outreach.labels import TOUCHPOINT_CHANNELS
from portal.outreach.models import Touchpoint
from portal.permissions import can_work_cases
from portal.playbooks.models import Case, CaseNote, CaseStatus, Outcome
from portal.timeutil import local_today, utcnow
from portal.work.models import Task, TaskStatus

NOTE_MAX = 2000
SNOOZE_MAX_DAYS = 90
DUE_MAX_DAYS = 365
#: a touchpoint that was no contact with the resident (a reassignment, a snooze ...)
NO_CONTACT = ""


class WorkError(ValueError):
    """An action that cannot be carried out; ``str(error)`` is safe to show."""


# -- the checks every action makes ------------------------------------------------------

def _may_work(actor: User, item: Case | Task) -> None:
    if not can_work_cases(actor, item):
        raise WorkError(_("This belongs to another department: you cannot work on it."))


def _open_case(case: Case | None) -> None:
    if case is not None and case.status != CaseStatus.OPEN:
        raise WorkError(_("This case was closed on %(date)s: nothing more can be done on it.",
                          date=format_date(case.closed_at) if case.closed_at else "—"))


def _open_task(task: Task) -> None:
    if task.status == TaskStatus.DONE:
        who = task.completed_by.display_name if task.completed_by else _(
            "a former member of staff")
        raise WorkError(_("This task was already completed by %(name)s on %(date)s: "
                          "nothing was changed.", name=who,
                          date=format_date(task.completed_at) if task.completed_at else "—"))
    if task.status == TaskStatus.CANCELLED:
        raise WorkError(_("This task was cancelled when its case closed: nothing was changed."))
    _open_case(task.case)


def _workable(actor: User, task: Task) -> None:
    _may_work(actor, task)
    _open_task(task)


def _note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise WorkError(_("A note can be at most %(n)d characters.", n=NOTE_MAX))
    return text


def _outcome(outcome: str | None) -> str:
    if outcome not in {str(o) for o in Outcome.chosen_by_staff()}:
        raise WorkError(_("Choose an outcome from the list."))
    return outcome


def _channel(channel: str | None, *, required: bool) -> str:
    if not channel and not required:
        return NO_CONTACT
    if channel not in TOUCHPOINT_CHANNELS:
        raise WorkError(_("Choose how the resident was reached."))
    return channel


def _touch(*, actor: User, action: str, channel: str = NO_CONTACT, case: Case | None = None,
           task: Task | None = None, outcome: str | None = None, note: str = "",
           data: dict[str, Any] | None = None, now=None) -> Touchpoint | None:
    resident_id = case.resident_id if case is not None else task.resident_id if task else None
    if resident_id is None:  # a task about no resident (a FAQ review ...): no timeline
        return None
    department_id = (task.department_id if task is not None
                     else case.playbook.department_id)
    point = Touchpoint(resident_id=resident_id, department_id=department_id,
                       service_id=case.service_id if case is not None else None,
                       case_id=case.id if case is not None else None,
                       task_id=task.id if task is not None else None, channel=channel,
                       action=action, outcome=outcome, note=note, data=data, by_id=actor.id,
                       at=now or utcnow())
    db.session.add(point)
    return point


def _event(case: Case | None, actor: User, event: str, body: str = "",
           data: dict[str, Any] | None = None, now=None) -> None:
    if case is not None:
        db.session.add(CaseNote(case_id=case.id, event=event, body=body, data=data,
                                author_id=actor.id, created_at=now or utcnow()))


def _resident(resident_id: int | None) -> tuple[str, int] | None:
    """The audit target: the resident (their own access log lists the work done)."""
    return ("residents", resident_id) if resident_id else None


def _others(task: Task) -> list[Task]:
    """The other open tasks of the task's case."""
    if task.case_id is None:
        return []
    return list(db.session.scalars(db.select(Task).where(
        Task.case_id == task.case_id, Task.id != task.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.id)))


# -- tasks --------------------------------------------------------------------------------

def complete_task(task: Task, *, actor: User, outcome: str, channel: str, note: str = "",
                  now=None) -> Task:
    """Done, with how it ended and how the resident was reached."""
    _workable(actor, task)
    outcome = _outcome(outcome)
    channel = _channel(channel, required=True)
    note = _note(note)
    now = now or utcnow()
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.note = note
    task.completed_at = now
    task.completed_by_id = actor.id
    task.completed_by = actor
    data = {"task": task.id, "outcome": outcome, "channel": channel}
    _touch(actor=actor, action="task_done", channel=channel, case=task.case, task=task,
           outcome=outcome, note=note, data={"task": task.id}, now=now)
    _event(task.case, actor, "task_done", note, data, now)
    record("task.complete", actor=actor, target=_resident(task.resident_id),
           summary=f"Completed task {task.id}: {outcome} ({channel})",
           data={**data, "case": task.case_id})
    db.session.flush()
    return task


def reassign_task(task: Task, *, actor: User, to: User | None, with_others: bool = False,
                  now=None) -> list[Task]:
    """Give the task (and, with ``with_others``, the case's other open tasks) to
    ``to``, or back to the department's queue (``to`` None). Returns the tasks moved."""
    _workable(actor, task)
    if to is not None:
        fits = to.is_active and (
            (to.role == Role.STAFF and to.department_id == task.department_id)
            or (to.role in (Role.MANAGER, Role.ADMIN) and actor.role in (Role.MANAGER,
                                                                         Role.ADMIN)))
        if not fits:
            raise WorkError(_("Choose an active colleague of the task's department."))
    moved = [task, *(_others(task) if with_others else [])]
    if to is not None and all(t.assignee_id == to.id for t in moved):
        raise WorkError(_("The task is already assigned to %(name)s: nothing was changed.",
                          name=to.display_name))
    if to is None and all(t.assignee_id is None for t in moved):
        raise WorkError(_("The task is already in the department's queue: nothing was "
                          "changed."))
    now = now or utcnow()
    before = {t.id: t.assignee_id for t in moved}
    for item in moved:
        item.assignee_id = to.id if to else None
        item.assignee = to
    data = {"tasks": [t.id for t in moved], "from": before.get(task.id),
            "to": to.id if to else None}
    _touch(actor=actor, action="reassigned", case=task.case, task=task, data=data, now=now)
    _event(task.case, actor, "reassigned", "", data, now)
    record("task.reassign", actor=actor, target=_resident(task.resident_id),
           summary=f"Reassigned task {task.id} to {to.email if to else 'the queue'}"
                   + (f" with {len(moved) - 1} other tasks" if len(moved) > 1 else ""),
           data={**data, "case": task.case_id})
    db.session.flush()
    return moved


def snooze_task(task: Task, *, actor: User, until: date | None, today: date | None = None,
                now=None) -> Task:
    """Hidden from My work until ``until`` (after today, within 90 days)."""
    _workable(actor, task)
    today = today or local_today()
    if until is None:
        raise WorkError(_("Enter the day the task should come back."))
    if until <= today:
        raise WorkError(_("Choose a day after today."))
    if until > today + timedelta(days=SNOOZE_MAX_DAYS):
        raise WorkError(_("A task can be snoozed for at most %(n)d days.", n=SNOOZE_MAX_DAYS))
    if task.snoozed_until == until:
        raise WorkError(_("The task is already snoozed until %(date)s: nothing was changed.",
                          date=format_date(until)))
    now = now or utcnow()
    task.snoozed_until = until
    data = {"task": task.id, "until": until.isoformat()}
    _touch(actor=actor, action="snoozed", case=task.case, task=task, data=data, now=now)
    _event(task.case, actor, "snoozed", "", data, now)
    record("task.snooze", actor=actor, target=_resident(task.resident_id),
           summary=f"Snoozed task {task.id} until {until.isoformat()}",
           data={**data, "case": task.case_id})
    db.session.flush()
    return task


def change_due(task: Task, *, actor: User, due_on: date | None, shift_others: bool = False,
               today: date | None = None, now=None) -> list[Task]:
    """A new due date (today at the earliest, within a year); with ``shift_others``
    the case's other open tasks move by the same number of days. Returns the tasks
    changed."""
    _workable(actor, task)
    today = today or local_today()
    if due_on is None:
        raise WorkError(_("Enter the new due date."))
    if due_on < today:
        raise WorkError(_("The due date cannot be in the past."))
    if due_on > today + timedelta(days=DUE_MAX_DAYS):
        raise WorkError(_("The due date can be at most %(n)d days ahead.", n=DUE_MAX_DAYS))
    days = (due_on - task.due_on).days
    if days == 0:
        raise WorkError(_("The task is already due on %(date)s: nothing was changed.",
                          date=format_date(due_on)))
    others = _others(task) if shift_others else []
    now = now or utcnow()
    before = task.due_on
    task.due_on = due_on
    for other in others:
        other.due_on = other.due_on + timedelta(days=days)
    data = {"task": task.id, "from": before.isoformat(), "to": due_on.isoformat(),
            "days": days, "shifted": [t.id for t in others]}
    _touch(actor=actor, action="due_changed", case=task.case, task=task, data=data, now=now)
    _event(task.case, actor, "due_changed", "", data, now)
    record("task.due_change", actor=actor, target=_resident(task.resident_id),
           summary=f"Moved task {task.id} from {before.isoformat()} to {due_on.isoformat()}"
                   + (f", {len(others)} other tasks by {days} days" if others else ""),
           data={**data, "case": task.case_id})
    db.session.flush()
    return [task, *others]


# -- cases --------------------------------------------------------------------------------

def close_case(case: Case, *, actor: User, outcome: str, note: str = "", channel: str = "",
               now=None) -> Case:
    """Closed with an outcome chosen by staff; its open tasks are cancelled and no
    step runs any more."""
    _may_work(actor, case)
    _open_case(case)
    outcome = _outcome(outcome)
    channel = _channel(channel, required=False)
    note = _note(note)
    now = now or utcnow()
    cancelled = list(db.session.scalars(db.select(Task).where(
        Task.case_id == case.id, Task.status == TaskStatus.OPEN)))
    for task in cancelled:
        task.status = TaskStatus.CANCELLED
    case.status = CaseStatus.CLOSED
    case.outcome = outcome
    case.outcome_note = note
    case.closed_at = now
    case.closed_by_id = actor.id
    case.next_step_at = None
    data = {"outcome": outcome, "cancelled": [t.id for t in cancelled]}
    _touch(actor=actor, action="case_closed", channel=channel, case=case, outcome=outcome,
           note=note, now=now)
    _event(case, actor, "closed", note, data, now)
    record("case.close", actor=actor, target=_resident(case.resident_id),
           summary=f"Closed case {case.id}: {outcome}", data={**data, "case": case.id})
    db.session.flush()
    return case


def add_case_note(case: Case, *, actor: User, body: str, now=None) -> CaseNote:
    _may_work(actor, case)
    _open_case(case)
    body = _note(body)
    if not body:
        raise WorkError(_("Write the note first."))
    now = now or utcnow()
    note = CaseNote(case_id=case.id, event=None, body=body, author_id=actor.id,
                    created_at=now)
    db.session.add(note)
    _touch(actor=actor, action="case_note", case=case, note=body, now=now)
    record("case.note", actor=actor, target=_resident(case.resident_id),
           summary=f"Added a note to case {case.id}", data={"case": case.id})
    db.session.flush()
    return note
