"""The work operations: complete, reassign, snooze, change the due date, close, note —
each with its touchpoint, case event and audit entry, and each refusal leaving
nothing changed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.outreach.models import Touchpoint
from portal.playbooks.models import Case, CaseNote, CaseStatus
from portal.work import operations
from portal.work.models import Task, TaskStatus
from portal.work.operations import WorkError
from tests import factories
from tests.playbook_factories import playbook

TODAY = date.today()
EN = {"Accept-Language": "en"}


def make_case(department, *, slug="library-loans", tasks=1, **values):
    book = playbook(department, service=slug)
    resident = values.pop("resident", None) or factories.resident()
    case = Case(playbook_id=book.id, playbook_version=1, resident_id=resident.id,
                service_id=book.service_id, service_key=book.service_id, **values)
    db.session.add(case)
    db.session.flush()
    made = []
    for n in range(tasks):
        task = Task(case_id=case.id, step=n, resident_id=resident.id,
                    department_id=department.id, title_ja=f"電話 {n}", title_en=f"Call {n}",
                    due_on=TODAY + timedelta(days=n))
        db.session.add(task)
        made.append(task)
    db.session.flush()
    return case, made


@pytest.fixture
def library_case(catalogue):
    return make_case(catalogue["library"], tasks=2)


def touchpoints(case):
    return list(db.session.scalars(select(Touchpoint).where(Touchpoint.case_id == case.id)
                                   .order_by(Touchpoint.id)))


def audits(action):
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_complete_logs_touchpoint_event_and_audit(app, users, library_case):
    case, (task, _other) = library_case
    with app.test_request_context(method="POST", headers=EN):
        operations.complete_task(task, actor=users["staff"], outcome="reached",
                                 channel="outreach", note="Visited at home")
    assert task.status == TaskStatus.DONE and task.outcome == "reached"
    assert task.completed_by_id == users["staff"].id
    (point,) = touchpoints(case)
    assert (point.action, point.channel, point.outcome, point.note) == (
        "task_done", "outreach", "reached", "Visited at home")
    assert point.department_id == task.department_id and point.resident_id == case.resident_id
    assert db.session.scalar(select(CaseNote.event).where(CaseNote.case_id == case.id)) \
        == "task_done"
    (entry,) = audits("task.complete")
    assert entry.target_type == "residents" and entry.target_id == str(case.resident_id)


def test_complete_replayed_is_refused_and_keeps_the_first(app, users, library_case):
    case, (task, _other) = library_case
    with app.test_request_context(method="POST", headers=EN):
        operations.complete_task(task, actor=users["staff"], outcome="reached",
                                 channel="phone")
        with pytest.raises(WorkError, match="already completed"):
            operations.complete_task(task, actor=users["manager"], outcome="declined",
                                     channel="counter")
    assert task.outcome == "reached" and len(touchpoints(case)) == 1


@pytest.mark.parametrize("outcome, channel, message", [
    ("recovered", "phone", "outcome"),  # not one staff may choose
    ("reached", "email", "reached"),  # not a touchpoint channel
    ("reached", "", "reached"),
])
def test_complete_refuses_bad_values(app, users, library_case, outcome, channel, message):
    case, (task, _other) = library_case
    with app.test_request_context(method="POST", headers=EN), \
            pytest.raises(WorkError, match=message):
        operations.complete_task(task, actor=users["staff"], outcome=outcome, channel=channel)
    assert task.status == TaskStatus.OPEN and not touchpoints(case)


def test_other_department_is_refused(app, users, catalogue):
    case, (task,) = make_case(catalogue["health"], slug="cancer-screening")
    with app.test_request_context(method="POST", headers=EN):
        with pytest.raises(WorkError, match="another department"):
            operations.complete_task(task, actor=users["staff"], outcome="reached",
                                     channel="phone")
        with pytest.raises(WorkError, match="another department"):
            operations.close_case(case, actor=users["staff"], outcome="reached")
    assert task.status == TaskStatus.OPEN and case.status == CaseStatus.OPEN


def test_reassign_with_the_other_tasks(app, users, make_user, catalogue, library_case):
    case, (task, other) = library_case
    colleague = make_user(Role.STAFF, department=catalogue["library"])
    with app.test_request_context(method="POST", headers=EN):
        moved = operations.reassign_task(task, actor=users["staff"], to=colleague,
                                         with_others=True)
    assert {t.id for t in moved} == {task.id, other.id}
    assert task.assignee_id == other.assignee_id == colleague.id
    assert touchpoints(case)[0].action == "reassigned"
    assert len(audits("task.reassign")) == 1


def test_reassign_alone_leaves_the_others(app, users, make_user, catalogue, library_case):
    _case, (task, other) = library_case
    colleague = make_user(Role.STAFF, department=catalogue["library"])
    with app.test_request_context(method="POST", headers=EN):
        operations.reassign_task(task, actor=users["staff"], to=colleague)
    assert task.assignee_id == colleague.id and other.assignee_id is None


def test_reassign_refuses_outsiders(app, users, make_user, catalogue, library_case):
    _case, (task, _other) = library_case
    stranger = make_user(Role.STAFF, department=catalogue["health"])
    gone = make_user(Role.STAFF, department=catalogue["library"], active=False)
    with app.test_request_context(method="POST", headers=EN):
        for to in (stranger, gone, users["manager"]):  # staff may not give it to a manager
            with pytest.raises(WorkError, match="colleague"):
                operations.reassign_task(task, actor=users["staff"], to=to)
        # managers may
        operations.reassign_task(task, actor=users["manager"], to=users["manager"])
    assert task.assignee_id == users["manager"].id


def test_reassign_back_to_the_queue_twice(app, users, library_case):
    _case, (task, _other) = library_case
    with app.test_request_context(method="POST", headers=EN), \
            pytest.raises(WorkError, match="already in the"):
        operations.reassign_task(task, actor=users["staff"], to=None)


def test_snooze_range(app, users, library_case):
    case, (task, _other) = library_case
    with app.test_request_context(method="POST", headers=EN):
        for day, message in ((TODAY, "after today"), (TODAY - timedelta(days=1), "after today"),
                             (TODAY + timedelta(days=91), "90")):
            with pytest.raises(WorkError, match=message):
                operations.snooze_task(task, actor=users["staff"], until=day, today=TODAY)
        assert task.snoozed_until is None and not touchpoints(case)
        operations.snooze_task(task, actor=users["staff"], until=TODAY + timedelta(days=90),
                               today=TODAY)
    assert task.snoozed_until == TODAY + timedelta(days=90)
    assert touchpoints(case)[0].action == "snoozed" and len(audits("task.snooze")) == 1


def test_change_due_shifts_the_other_open_tasks(app, users, catalogue):
    _case, (first, second, third) = make_case(catalogue["library"], tasks=3)
    third.status = TaskStatus.DONE  # a done task does not move
    db.session.flush()
    with app.test_request_context(method="POST", headers=EN):
        changed = operations.change_due(first, actor=users["staff"],
                                        due_on=TODAY + timedelta(days=5), shift_others=True,
                                        today=TODAY)
    assert first.due_on == TODAY + timedelta(days=5)
    assert second.due_on == TODAY + timedelta(days=1 + 5)
    assert third.due_on == TODAY + timedelta(days=2)
    assert {t.id for t in changed} == {first.id, second.id}
    (entry,) = audits("task.due_change")
    assert entry.data["days"] == 5 and entry.data["shifted"] == [second.id]


def test_change_due_without_shift_and_refusals(app, users, library_case):
    _case, (task, other) = library_case
    with app.test_request_context(method="POST", headers=EN):
        with pytest.raises(WorkError, match="past"):
            operations.change_due(task, actor=users["staff"], due_on=TODAY - timedelta(days=1),
                                  today=TODAY)
        with pytest.raises(WorkError, match="already due"):
            operations.change_due(task, actor=users["staff"], due_on=task.due_on, today=TODAY)
        operations.change_due(task, actor=users["staff"], due_on=TODAY + timedelta(days=9),
                              today=TODAY)
    assert other.due_on == TODAY + timedelta(days=1)


def test_close_cancels_open_tasks_and_refuses_after(app, users, library_case):
    case, (task, other) = library_case
    with app.test_request_context(method="POST", headers=EN):
        operations.complete_task(task, actor=users["staff"], outcome="reached",
                                 channel="phone")
        operations.close_case(case, actor=users["staff"], outcome="resolved", note="Done",
                              channel="phone")
        assert case.status == CaseStatus.CLOSED and case.closed_at is not None
        assert case.outcome == "resolved" and case.closed_by_id == users["staff"].id
        assert task.status == TaskStatus.DONE and other.status == TaskStatus.CANCELLED
        for act in (
            lambda: operations.close_case(case, actor=users["staff"], outcome="reached"),
            lambda: operations.add_case_note(case, actor=users["staff"], body="late"),
            lambda: operations.snooze_task(other, actor=users["staff"],
                                           until=TODAY + timedelta(days=2)),
        ):
            with pytest.raises(WorkError):
                act()
    assert [p.action for p in touchpoints(case)] == ["task_done", "case_closed"]
    assert len(audits("case.close")) == 1


def test_close_without_contact_and_bad_outcome(app, users, library_case):
    case, _tasks = library_case
    with app.test_request_context(method="POST", headers=EN):
        with pytest.raises(WorkError, match="outcome"):
            operations.close_case(case, actor=users["staff"], outcome="expired")
        assert case.status == CaseStatus.OPEN
        operations.close_case(case, actor=users["staff"], outcome="unreachable")
    assert touchpoints(case)[0].channel == operations.NO_CONTACT


def test_note(app, users, library_case):
    case, _tasks = library_case
    with app.test_request_context(method="POST", headers=EN):
        with pytest.raises(WorkError, match="Write"):
            operations.add_case_note(case, actor=users["staff"], body="   ")
        with pytest.raises(WorkError, match="at most"):
            operations.add_case_note(case, actor=users["staff"], body="x" * 2001)
        operations.add_case_note(case, actor=users["staff"], body="Called, no answer")
    assert db.session.scalar(select(func.count()).select_from(CaseNote).where(
        CaseNote.case_id == case.id, CaseNote.event.is_(None))) == 1
    assert touchpoints(case)[0].action == "case_note"
    assert len(audits("case.note")) == 1
