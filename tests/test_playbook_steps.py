"""The step runner: tasks with their assignee and due day, "wait until", steps at
later offsets, the version that opened the case, notes; messages after the merge."""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.engagement.models import EngagementScore
from portal.extensions import db
from portal.playbooks.evaluation import evaluate, run_due_steps
from portal.playbooks.models import Case, CaseNote, Outcome, PlaybookVersion
from portal.timeutil import local_zone, utcnow
from portal.work.models import Task, TaskStatus
from tests import factories
from tests import playbook_factories as pf

SLUG = "library-loans"
HAS_SENDING = importlib.util.find_spec("portal.outreach.sending") is not None


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


def task(offset=0, **values):
    return {**pf.TASK_STEP, "offset_days": offset, **values}


def red(n=1):
    people = [factories.resident(consent_outreach=True, email=f"r{i}@example.org")
              for i in range(n)]
    for person in people:
        pf.score(person, SLUG, "red")
    return people


def tasks():
    return db.session.scalars(select(Task).order_by(Task.id)).all()


@pytest.mark.parametrize("assignee", ["queue", "user", "role"])
def test_task_assignee_kinds_and_due_date(library, users, assignee):
    extra = {"user": {"user_id": users["staff"].id}, "role": {"role": "manager"},
             "queue": {}}[assignee]
    book = pf.playbook(library, steps=[task(assignee=assignee, due_days=5,
                                            title_ja="電話", title_en="Phone", **extra)])
    (person,) = red()
    now = utcnow()
    evaluate(now)
    (made,) = tasks()
    assert made.department_id == library.id and made.resident_id == person.id
    assert made.step == 0 and made.status == TaskStatus.OPEN
    assert made.due_on == now.astimezone(local_zone()).date() + timedelta(days=5)
    assert (made.title_ja, made.title_en) == ("電話", "Phone")
    assert made.case_id == db.session.scalar(select(Case.id).where(Case.playbook_id == book.id))
    assert made.assignee_id == (users["staff"].id if assignee == "user" else None)
    assert made.assignee_role == ("manager" if assignee == "role" else None)


def test_a_user_who_left_gets_no_task_the_queue_does(library, make_user):
    leaver = make_user(Role.STAFF, department=library)
    pf.playbook(library, steps=[task(assignee="user", user_id=leaver.id)])
    leaver.active = False
    db.session.flush()
    red()
    evaluate()
    assert tasks()[0].assignee_id is None


def test_later_steps_run_when_due(library):
    book = pf.playbook(library, steps=[task(0), task(3, title_en="Second"),
                                       task(3, title_en="Third"), task(10, title_en="Last")])
    red(2)
    now = utcnow()
    run = evaluate(now)[0]
    assert run.steps == 2 and len(tasks()) == 2
    (first, _) = db.session.scalars(select(Case).where(Case.playbook_id == book.id)).all()
    assert first.next_step == 1 and first.next_step_at == now + timedelta(days=3)
    assert run_due_steps(now + timedelta(days=2)) == 0
    # two steps on the same day run in one pass
    assert run_due_steps(now + timedelta(days=3)) == 4
    assert [t.title_en for t in tasks()][2:] == ["Second", "Second", "Third", "Third"]
    db.session.refresh(first)
    assert first.next_step == 3 and first.next_step_at == now + timedelta(days=10)
    assert run_due_steps(now + timedelta(days=11)) == 2
    db.session.refresh(first)
    assert first.next_step == 4 and first.next_step_at is None
    assert run_due_steps(now + timedelta(days=20)) == 0
    notes = db.session.scalars(select(CaseNote.data).where(
        CaseNote.case_id == first.id, CaseNote.event == "step")).all()
    assert [n["step"] for n in notes] == [0, 1, 2, 3]
    assert {n["kind"] for n in notes} == {"task"}


def test_wait_stops_cases_whose_trigger_cleared(library):
    book = pf.playbook(library, auto_close=False,
                       steps=[task(0), {"kind": "wait", "offset_days": 7},
                              task(7, title_en="After the wait")])
    recovered, still = red(2)
    now = utcnow()
    evaluate(now)
    db.session.get(EngagementScore, (book.service_id, recovered.id)).band = "green"
    db.session.flush()
    assert run_due_steps(now + timedelta(days=7)) == 3  # two waits, one task
    by = {c.resident_id: c for c in db.session.scalars(
        select(Case).where(Case.playbook_id == book.id))}
    for item in by.values():
        db.session.refresh(item)
    stopped = by[recovered.id]
    assert stopped.stopped_at_step == 1 and stopped.next_step_at is None
    assert stopped.closed_at is None  # no auto-close: staff close it
    assert by[still.id].stopped_at_step is None and by[still.id].next_step == 3
    after = [t.resident_id for t in tasks() if t.title_en == "After the wait"]
    assert after == [still.id]
    assert db.session.scalar(select(func.count()).select_from(CaseNote).where(
        CaseNote.event == "wait_stopped", CaseNote.case_id == stopped.id)) == 1


def test_wait_with_auto_close_closes_recovered(library):
    book = pf.playbook(library, steps=[task(0), {"kind": "wait", "offset_days": 7},
                                       task(7)])
    (person,) = red()
    now = utcnow()
    evaluate(now)
    db.session.get(EngagementScore, (book.service_id, person.id)).band = "green"
    db.session.flush()
    run_due_steps(now + timedelta(days=7))
    item = db.session.scalar(select(Case).where(Case.playbook_id == book.id))
    db.session.refresh(item)
    assert (item.outcome, item.stopped_at_step) == (Outcome.RECOVERED, 1)
    assert [t.status for t in tasks()] == [TaskStatus.CANCELLED]


def test_cases_run_the_steps_of_the_version_that_opened_them(library):
    book = pf.playbook(library, steps=[task(0, title_en="Old first"),
                                       task(5, title_en="Old second")])
    (early,) = red()
    now = utcnow()
    evaluate(now)
    # version 2 changes the steps; a new resident enters under it
    book.steps = [task(0, title_en="New first"), task(5, title_en="New second")]
    book.version = 2
    db.session.add(PlaybookVersion(playbook_id=book.id, version=2, snapshot=book.snapshot(),
                                   summary="steps"))
    db.session.flush()
    (late,) = red()
    evaluate(now + timedelta(hours=1))
    run_due_steps(now + timedelta(days=6))
    titles = {(t.resident_id, t.title_en) for t in tasks()}
    assert titles == {(early.id, "Old first"), (early.id, "Old second"),
                      (late.id, "New first"), (late.id, "New second")}


def test_held_out_cases_run_no_steps(library):
    pf.playbook(library, holdout_percent=50, steps=[task(0), task(2)])
    people = red(30)
    now = utcnow()
    evaluate(now)
    run_due_steps(now + timedelta(days=3))
    held = set(db.session.scalars(select(Case.resident_id).where(Case.held_out.is_(True))))
    assert held and not held & {t.resident_id for t in tasks()}
    assert len(tasks()) == 2 * (len(people) - len(held))


def test_paused_playbooks_cases_go_on(library):
    book = pf.playbook(library, steps=[task(0), task(2, title_en="Later")])
    red()
    now = utcnow()
    evaluate(now)
    book.status = "paused"
    db.session.flush()
    evaluate(now + timedelta(days=3))
    assert [t.title_en for t in tasks()] == ["Call the resident", "Later"]


@pytest.mark.skipif(not HAS_SENDING, reason="after merge (portal.outreach.sending)")
def test_message_step_sends_through_the_guards(library):
    from portal.outreach.models import OutreachMessage

    template = pf.template(library)
    pf.playbook(library, steps=[{"kind": "message", "offset_days": 0,
                                 "template_id": template.id}, task(1)])
    people = red(3)
    people[0].consent_outreach = False
    db.session.flush()
    run = evaluate()[0]
    assert run.steps == 3
    messages = db.session.scalars(select(OutreachMessage)).all()
    assert len(messages) == 3
    assert {m.resident_id for m in messages if m.status == "suppressed"} == {people[0].id}
