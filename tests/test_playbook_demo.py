"""``portal demo``'s playbooks: the starter library active with a year of cases,
held out by the hash, tasks (some open, in the demo staff's lists), messages sent or
suppressed as the residents' consents say, touchpoints, and a measurable uplift."""

from __future__ import annotations

from datetime import timedelta
from statistics import mean

from sqlalchemy import func, select

from portal.auth.models import User
from portal.demo import generator
from portal.extensions import db
from portal.outreach.models import LetterBatch, OutreachMessage, Touchpoint
from portal.playbooks import demo, starter
from portal.playbooks.definition import MEASURE_DAYS
from portal.playbooks.holdout import held_out
from portal.playbooks.models import Case, Playbook, PlaybookStatus
from portal.residents.models import LifeEvent, Resident
from portal.timeutil import utcnow
from portal.work.models import Task, TaskStatus


def test_the_demo_fills_a_year_of_playbooks(app):
    """One municipality (building it is the slow part), every check on it."""
    generator.generate(residents=600, months=12, seed=5)
    municipality = demo.fill_demo(seed=5, months=12)
    check_every_starter_playbook_is_active_with_cases(municipality)
    check_held_out_by_the_hash_without_tasks_or_messages()
    check_scores_measured_after_30_days_with_an_uplift()
    check_open_tasks_for_the_demo_staff_and_touchpoints_for_done_ones()
    check_messages_follow_the_residents_consents()
    check_life_events_and_addresses(municipality)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def check_every_starter_playbook_is_active_with_cases(municipality):
    playbooks = db.session.scalars(select(Playbook)).all()
    assert {p.key for p in playbooks} == set(starter.PLAYBOOKS)
    assert all(p.status == PlaybookStatus.ACTIVE and p.version == 2 for p in playbooks)
    for playbook in playbooks:
        assert count(Case, Case.playbook_id == playbook.id) > 0, playbook.key
    assert municipality["cases"] == count(Case)


def check_held_out_by_the_hash_without_tasks_or_messages():
    cases = db.session.scalars(select(Case)).all()
    for case in cases:
        assert case.held_out == held_out(case.playbook_id, case.resident_id,
                                         case.playbook.holdout_percent)
    share = sum(c.held_out for c in cases) / len(cases)
    assert 0.05 < share < 0.16
    held = [c.id for c in cases if c.held_out]
    assert count(Task, Task.case_id.in_(held)) == 0
    assert count(OutreachMessage, OutreachMessage.case_id.in_(held)) == 0


def check_scores_measured_after_30_days_with_an_uplift():
    now = utcnow()
    cases = db.session.scalars(select(Case).where(Case.service_id.is_not(None))).all()
    for case in cases:
        old = case.opened_at <= now - timedelta(days=MEASURE_DAYS)
        assert (case.score_after is not None) == old
        assert case.score_at_open is not None and case.band_at_open
        if old:
            assert case.measured_at == case.opened_at + timedelta(days=MEASURE_DAYS)
    measured = [c for c in cases if c.score_after is not None]
    contacted = [c.score_after - c.score_at_open for c in measured if not c.held_out]
    held = [c.score_after - c.score_at_open for c in measured if c.held_out]
    assert len(held) >= 20 and len(contacted) >= 200
    assert mean(contacted) - mean(held) > 2


def check_open_tasks_for_the_demo_staff_and_touchpoints_for_done_ones():
    staff = db.session.scalars(select(User.id).where(User.email.like("staff.%"))).all()
    assert count(Task, Task.status == TaskStatus.OPEN, Task.assignee_id.in_(staff)) > 0
    library = db.session.scalar(select(User).where(User.email == "staff.library@demo.example"))
    assert count(Task, Task.status == TaskStatus.OPEN, Task.assignee_id == library.id) > 0
    done = count(Task, Task.status == TaskStatus.DONE)
    assert done > 0 and count(Touchpoint, Touchpoint.action == "task_done") == done
    assert count(Task, Task.status == TaskStatus.DONE, Task.outcome.is_(None)) == 0
    late = count(Task, Task.status == TaskStatus.DONE,
                 func.date(Task.completed_at) > Task.due_on)
    assert 0 < late < done
    # open cases are the recent ones or those with work left
    assert count(Case, Case.closed_at.is_(None)) > 0
    assert count(Case, Case.closed_at.is_not(None), Case.outcome.is_(None)) == 0


def check_messages_follow_the_residents_consents():
    rows = db.session.execute(select(
        OutreachMessage.status, OutreachMessage.reason, OutreachMessage.channel,
        Resident.consent_outreach, Resident.do_not_contact, Resident.email,
        Resident.address).join(Resident, Resident.id == OutreachMessage.resident_id)).all()
    assert {"no_consent", None} <= {r.reason for r in rows}
    for row in rows:
        if row.reason == "no_consent":
            assert not row.consent_outreach
        elif row.reason == "do_not_contact":
            assert row.do_not_contact
        elif row.reason is None:
            assert row.consent_outreach and not row.do_not_contact
            assert (row.email if row.channel == "email" else row.address)
    # a letter is sent when its day's batch was printed
    letters = db.session.execute(select(OutreachMessage.status, LetterBatch.printed_at).join(
        LetterBatch, LetterBatch.id == OutreachMessage.letter_batch_id)).all()
    assert letters and all((status == "sent") == (printed is not None)
                           for status, printed in letters)


def check_life_events_and_addresses(municipality):
    assert count(LifeEvent, LifeEvent.kind == "child_born") > 0
    births = db.session.execute(select(LifeEvent.kind, Case.resident_id, LifeEvent.resident_id)
                                .join(Playbook, Playbook.id == Case.playbook_id)
                                .join(LifeEvent, LifeEvent.id == Case.trigger_ref)
                                .where(Playbook.key == "new-parent")).all()
    assert births and all(kind == "child_born" and a == b for kind, a, b in births)
    assert count(LifeEvent, LifeEvent.source == "demo") == municipality["life_events"]
    with_address = count(Resident, Resident.postal_code.is_not(None))
    assert with_address > 0.8 * count(Resident)
    code, address = db.session.execute(select(Resident.postal_code, Resident.address).where(
        Resident.postal_code.is_not(None)).limit(1)).one()
    assert code.startswith("300-1") and len(code) == 8 and address.startswith("桜川市")
