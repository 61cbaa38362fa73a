"""The evaluation opens cases set-based and idempotently: cooldown, holdout,
auto-close, expiry, measuring, the dry run, the manual start and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import event, func, select

from portal.engagement.models import EngagementScore, ScoreSnapshot
from portal.extensions import db
from portal.playbooks import evaluation
from portal.playbooks.evaluation import CaseError, evaluate, measure, start_case
from portal.playbooks.holdout import held_out
from portal.playbooks.models import Case, CaseNote, Outcome, PlaybookStatus
from portal.timeutil import utcnow
from portal.work.models import Task, TaskStatus
from tests import factories
from tests import playbook_factories as pf

SLUG = "library-loans"


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


def red_residents(n: int, band: str = "red", **values):
    people = [factories.resident(**values) for _ in range(n)]
    for person in people:
        pf.score(person, SLUG, band)
    return people


def cases(book):
    return db.session.scalars(select(Case).where(Case.playbook_id == book.id)
                              .order_by(Case.resident_id)).all()


def run_of(runs, book):
    return next(run for run in runs if run.playbook_id == book.id)


def test_opens_one_case_per_candidate_with_the_numbers_at_opening(library):
    book = pf.playbook(library)
    people = red_residents(3)
    pf.score(factories.resident(), SLUG, "green")  # not in the band
    now = utcnow()
    run = run_of(evaluate(now), book)
    assert (run.opened, run.held_out) == (3, 0)
    opened = cases(book)
    assert [c.resident_id for c in opened] == [p.id for p in people]
    first = opened[0]
    assert first.score_at_open == 30 and first.band_at_open == "red"
    assert first.playbook_version == book.version and first.service_key == book.service_id
    assert first.opened_at == now and first.status == "open"
    # the task step (offset 0) ran at once
    assert first.next_step == 1 and first.next_step_at is None
    assert run.steps == 3
    assert book.evaluated_at == now


def test_twice_opens_nothing_new(library):
    book = pf.playbook(library)
    red_residents(4)
    now = utcnow()
    evaluate(now)
    again = run_of(evaluate(now + timedelta(minutes=5)), book)
    assert (again.opened, again.steps) == (0, 0)
    assert again.skipped == {"already_open": 4, "cooldown": 0}
    assert len(cases(book)) == 4
    assert db.session.scalar(select(func.count()).select_from(Task)) == 4


def test_a_few_statements_per_playbook_whatever_the_residents(library, app):
    def statements(n):
        book = pf.playbook(library, name_en=f"Test {n}")
        red_residents(n)
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            evaluate(utcnow(), playbooks=[book])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements(2) == statements(40)


def test_cooldown_skips_then_opens(library):
    book = pf.playbook(library, cooldown_days=30)
    red_residents(1)
    now = utcnow()
    evaluate(now)
    (first,) = cases(book)
    first.status, first.closed_at, first.outcome = "closed", now, Outcome.REACHED
    db.session.flush()
    inside = run_of(evaluate(now + timedelta(days=10), dry_run=False), book)
    assert inside.opened == 0 and inside.skipped["cooldown"] == 1
    after = run_of(evaluate(now + timedelta(days=31)), book)
    assert after.opened == 1
    assert len(cases(book)) == 2


def test_holdout_is_stable_and_near_the_share(library):
    book = pf.playbook(library, holdout_percent=20)
    people = red_residents(300)
    now = utcnow()
    run = run_of(evaluate(now), book)
    held = {c.resident_id for c in cases(book) if c.held_out}
    assert run.held_out == len(held)
    assert held == {p.id for p in people if held_out(book.id, p.id, 20)}
    assert 0.13 <= len(held) / 300 <= 0.27
    # held-out cases get no task and no step
    tasks = set(db.session.scalars(select(Task.resident_id)))
    assert not tasks & held and len(tasks) == 300 - len(held)
    assert all(c.next_step_at is None and c.next_step == 0 for c in cases(book) if c.held_out)
    # the same residents again, after everything closed and the cooldown passed
    for item in cases(book):
        item.status, item.closed_at, item.outcome = "closed", now, Outcome.EXPIRED
    db.session.flush()
    evaluate(now + timedelta(days=91))
    again = {c.resident_id for c in cases(book) if c.held_out and c.closed_at is None}
    assert again == held


def test_auto_close_recovered_cancels_tasks(library):
    book = pf.playbook(library)
    first, second = red_residents(2)
    held_case = pf.playbook(library, name_en="Held", holdout_percent=50)
    now = utcnow()
    evaluate(now)
    score = db.session.get(EngagementScore, (book.service_id, first.id))
    score.band, score.score = "green", 85
    db.session.flush()
    run = run_of(evaluate(now + timedelta(days=1)), book)
    assert run.closed == 1
    closed = next(c for c in cases(book) if c.resident_id == first.id)
    assert (closed.status, closed.outcome) == ("closed", Outcome.RECOVERED)
    task = db.session.scalar(select(Task).where(Task.case_id == closed.id))
    assert task.status == TaskStatus.CANCELLED
    still = next(c for c in cases(book) if c.resident_id == second.id)
    assert still.status == "open"
    # held-out cases close too
    assert all(c.closed_at is not None for c in cases(held_case) if c.resident_id == first.id)


def test_no_auto_close_when_the_playbook_says_not(library):
    book = pf.playbook(library, auto_close=False)
    (person,) = red_residents(1)
    now = utcnow()
    evaluate(now)
    db.session.get(EngagementScore, (book.service_id, person.id)).band = "green"
    db.session.flush()
    assert run_of(evaluate(now + timedelta(days=1)), book).closed == 0


def test_held_out_case_expires_after_the_measuring_window(library):
    book = pf.playbook(library, holdout_percent=50)
    people = red_residents(20)
    now = utcnow()
    evaluate(now)
    assert run_of(evaluate(now + timedelta(days=29)), book).expired == 0
    run = run_of(evaluate(now + timedelta(days=31)), book)
    held = [c for c in cases(book) if c.held_out]
    assert held and run.expired == len(held)
    assert all(c.outcome == Outcome.EXPIRED for c in held)
    # contacted cases keep their open task, so they stay open
    assert all(c.closed_at is None for c in cases(book) if not c.held_out)
    assert len(people) == 20


def test_measure_takes_the_snapshot_after_the_window_else_the_current_score(library):
    book = pf.playbook(library)
    first, second = red_residents(2)
    opened = utcnow() - timedelta(days=40)
    evaluate(opened)
    day = opened.astimezone(evaluation.local_zone()).date() + timedelta(days=30)
    db.session.add_all([
        ScoreSnapshot(as_of=day - timedelta(days=1), service_id=book.service_id,
                      resident_id=first.id, score=40, band="red", model_id=1),
        ScoreSnapshot(as_of=day + timedelta(days=2), service_id=book.service_id,
                      resident_id=first.id, score=55, band="yellow", model_id=1),
        ScoreSnapshot(as_of=day + timedelta(days=5), service_id=book.service_id,
                      resident_id=first.id, score=70, band="yellow", model_id=1)])
    db.session.get(EngagementScore, (book.service_id, second.id)).score = 44
    db.session.flush()
    now = utcnow()
    assert measure(now) == 2
    by = {c.resident_id: c for c in cases(book)}
    assert by[first.id].score_after == 55 and by[first.id].measured_at == now
    assert by[second.id].score_after == 44
    assert measure(now) == 0  # measured once


def test_measure_waits_for_the_window(library):
    book = pf.playbook(library)
    red_residents(1)
    evaluate(utcnow() - timedelta(days=10))
    assert measure() == 0
    assert cases(book)[0].score_after is None


def test_dry_run_counts_and_writes_nothing(library, users):
    book = pf.playbook(library, holdout_percent=50)
    red_residents(10)
    runs = evaluate(dry_run=True)
    run = run_of(runs, book)
    assert run.opened == 10 and 0 < run.held_out < 10
    assert cases(book) == []


def test_dry_run_sample_only_of_residents_the_viewer_may_see(library, catalogue, users):
    book = pf.playbook(library, steps=[
        {"kind": "message", "offset_days": 0, "template_id": pf.template(library).id}])
    people = red_residents(3, consent_outreach=True, email="a@example.org")
    # a resident with a health score only: the library's staff do not see them
    stranger = factories.resident()
    pf.score(stranger, SLUG, "red")
    db.session.execute(EngagementScore.__table__.delete().where(
        EngagementScore.resident_id == stranger.id))
    pf.score(stranger, "cancer-screening", "red")
    result = evaluation.dry_run(book, users["staff"])
    assert result.opens == 3
    assert {r.id for r in result.sample} == {p.id for p in people}
    assert result.messages == 3 and sum(result.suppressed.values()) == 0
    manager = evaluation.dry_run(book, users["manager"], sample_size=2)
    assert len(manager.sample) == 2


def test_dry_run_counts_suppressed_messages(library, users):
    book = pf.playbook(library, steps=[
        {"kind": "message", "offset_days": 0, "template_id": pf.template(library).id}])
    red_residents(2, consent_outreach=False)
    red_residents(1, consent_outreach=True, email="x@example.org")
    result = evaluation.dry_run(book, users["admin"])
    assert result.messages == 1  # would be sent: the one who consents and has an address
    assert result.suppressed["no_consent"] == 2


# -- the manual start ----------------------------------------------------------------------

def test_start_case_by_hand(library, users):
    book = pf.playbook(library, trigger="manual", service=None, params={})
    person = factories.resident()
    item = start_case(book, person, None, users["staff"], note="Asked at the counter")
    assert item.started_by_id == users["staff"].id and not item.held_out
    assert item.next_step == 1  # the day-0 task ran
    task = db.session.scalar(select(Task).where(Task.case_id == item.id))
    assert task.department_id == library.id
    note = db.session.scalar(select(CaseNote).where(CaseNote.case_id == item.id,
                                                    CaseNote.event == "started"))
    assert note.body == "Asked at the counter" and note.data["holdout"] is False
    from portal.audit.models import AuditEntry
    from portal.outreach.models import Touchpoint

    assert db.session.scalar(select(Touchpoint.action).where(
        Touchpoint.case_id == item.id)) == "case_started"
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "case.start")) == "case.start"


def test_manual_start_is_not_held_out_even_in_the_holdout(library, users):
    book = pf.playbook(library, holdout_percent=50)
    people = [factories.resident() for _ in range(10)]
    started = [start_case(book, p, None, users["staff"]) for p in people]
    assert not any(c.held_out for c in started)


def test_manual_cases_are_not_auto_closed(library, users):
    book = pf.playbook(library)
    person = factories.resident()  # no red score: the trigger does not hold
    item = start_case(book, person, None, users["staff"])
    evaluate(utcnow() + timedelta(days=1))
    assert item.closed_at is None


@pytest.mark.parametrize("problem", ["open", "cooldown", "archived", "erased"])
def test_start_case_refused_with_a_message(library, users, problem):
    book = pf.playbook(library, cooldown_days=30)
    person = factories.resident()
    if problem in ("open", "cooldown"):
        item = start_case(book, person, None, users["staff"])
        if problem == "cooldown":
            item.status, item.closed_at, item.outcome = "closed", utcnow(), Outcome.REACHED
            db.session.flush()
    elif problem == "archived":
        book.status = PlaybookStatus.ARCHIVED
    else:
        person.anonymised_at = utcnow()
    with force_locale("en"), pytest.raises(CaseError) as error:
        start_case(book, person, None, users["staff"])
    assert {"open": "already has an open case", "cooldown": "cooldown",
            "archived": "archived", "erased": "erased"}[problem] in error.value.message


# -- the CLI -------------------------------------------------------------------------------

def test_cli_prints_a_line_per_playbook(library, runner):
    book = pf.playbook(library, holdout_percent=50)
    red_residents(6)
    result = runner.invoke(args=["playbooks", "evaluate", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"#{book.id} Test: opened 6 (held out" in result.output
    assert "Dry run: nothing was written." in result.output
    assert cases(book) == []
    result = runner.invoke(args=["playbooks", "evaluate"])
    assert result.exit_code == 0, result.output
    assert "opened 6" in result.output and "already_open 0, cooldown 0" in result.output
    assert len(cases(book)) == 6
    again = runner.invoke(args=["playbooks", "evaluate"])
    assert "opened 0 (held out 0), skipped: already_open 6, cooldown 0" in again.output


def test_the_daily_recompute_ends_with_the_evaluation(library, monkeypatch):
    from portal.engagement import jobs

    calls = []
    monkeypatch.setattr(jobs, "recompute", lambda day, **_: type("R", (), {"scores": 0})())
    monkeypatch.setattr(jobs, "prune_history", lambda day: 0)
    monkeypatch.setattr("portal.playbooks.jobs.evaluate", lambda: calls.append("e") or [])
    jobs.recompute_yesterday()
    assert calls == ["e"]


# -- the manual start's page and route ---------------------------------------------------

def test_the_360_page_offers_the_department_playbooks(library, catalogue, staff_client):
    own = pf.playbook(library, trigger="manual", service=None, params={},
                      name_en="Call back", name_ja="Call back")
    pf.playbook(catalogue["health"], service="cancer-screening", name_en="Health only",
                name_ja="Health only")
    pf.playbook(library, name_en="Archived one", name_ja="Archived one",
                status=PlaybookStatus.ARCHIVED)
    person = factories.resident()
    db.session.commit()
    page = staff_client.get(f"/admin/residents/{person.id}").get_data(as_text=True)
    assert 'id="start-case"' in page and "Call back" in page
    assert "Health only" not in page and "Archived one" not in page
    assert f'value="{own.id}"' in page


def test_staff_start_a_case_from_the_360_page(library, users, staff_client, csrf_on):
    import re

    book = pf.playbook(library, trigger="manual", service=None, params={})
    person = factories.resident()
    db.session.commit()
    page = staff_client.get(f"/admin/residents/{person.id}").get_data(as_text=True)
    token = re.search(r'id="start-case".*?name="csrf_token"[^>]*value="([^"]+)"', page,
                      re.S).group(1)
    response = staff_client.post("/admin/work/start", data={
        "csrf_token": token, "resident_id": person.id, "playbook_id": book.id,
        "service_id": "", "note": "Came to the counter"}, follow_redirects=True)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "ケースを開始しました" in text
    (item,) = cases(book)
    assert item.started_by_id == users["staff"].id
    again = staff_client.post("/admin/work/start", data={
        "csrf_token": token, "resident_id": person.id, "playbook_id": book.id},
        follow_redirects=True).get_data(as_text=True)
    assert "対応中のケースがすでにあります" in again
    assert len(cases(book)) == 1


def test_start_route_404s(library, catalogue, staff_client):
    other = pf.playbook(catalogue["health"], service="cancer-screening")
    person = factories.resident()
    erased = factories.resident(anonymised_at=utcnow())
    db.session.commit()
    assert staff_client.post("/admin/work/start", data={
        "resident_id": erased.id, "playbook_id": other.id}).status_code == 404
    assert staff_client.post("/admin/work/start", data={
        "resident_id": 999999, "playbook_id": other.id}).status_code == 404
    # another department's playbook is not among the choices: refused, nothing opened
    response = staff_client.post("/admin/work/start", data={
        "resident_id": person.id, "playbook_id": other.id}, follow_redirects=True)
    assert "ケースは開始されませんでした" in response.get_data(as_text=True)
    assert cases(other) == []


def test_a_failing_playbook_is_rolled_back_and_the_others_go_on(library, monkeypatch):
    broken = pf.playbook(library, name_en="Broken")
    fine = pf.playbook(library, name_en="Fine", trigger="no_use", params={"days": 30})
    person = factories.resident()
    pf.score(person, SLUG, "red", last_use_at=utcnow() - timedelta(days=40),
             days_since_last_use=40)
    real = evaluation._open_cases

    def fail_for_broken(playbook, now):
        if playbook.id == broken.id:
            real(playbook, now)
            raise RuntimeError("boom")
        return real(playbook, now)

    monkeypatch.setattr(evaluation, "_open_cases", fail_for_broken)
    db.session.commit()  # (the test's transaction: the failure rolls back to here)
    runs = evaluate()
    assert "boom" in run_of(runs, broken).failed
    assert run_of(runs, fine).opened == 1 and run_of(runs, fine).failed is None
    assert cases(broken) == [] and len(cases(fine)) == 1
    assert "FAILED (RuntimeError: boom)" in evaluation.summary_line(run_of(runs, broken))


def test_a_database_error_is_reported_without_its_parameters():
    """An IntegrityError's text holds the statement's values (residents' data): the
    log and the CLI get its class and code only."""
    from sqlalchemy.exc import IntegrityError

    class Orig(Exception):
        sqlstate = "23505"

    error = IntegrityError("INSERT INTO residents ...", {"family_name": "佐藤"}, Orig("dup"))
    assert evaluation._described(error) == "IntegrityError (23505)"
    assert "佐藤" not in evaluation._described(error)
