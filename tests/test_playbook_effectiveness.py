"""Effectiveness: cases, outcomes, tasks, messages and the uplift, hand-computed on
hand-built cases."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.outreach.models import OutreachMessage
from portal.playbooks import effectiveness
from portal.playbooks.effectiveness import Group, uplift
from portal.playbooks.models import Case
from portal.surveys.numbers import t_quantile
from portal.timeutil import local_day_start, local_today, utcnow
from portal.work.models import Task
from tests import factories
from tests.playbook_factories import playbook
from tests.test_labels import assert_no_codes

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}

CONTACTED = [5.0, 10.0, 12.0, 3.0, 8.0]  # score_after - score_at_open
HELD_OUT = [1.0, -2.0, 4.0, 0.0]


def group(values) -> Group:
    return Group(len(values), sum(values), sum(v * v for v in values))


def hand_welch(a, b):
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff = statistics.mean(a) - statistics.mean(b)
    half = t_quantile(math.floor(df)) * math.sqrt(va + vb)
    return diff, diff - half, diff + half


def test_the_uplift_is_welchs_difference_with_both_n():
    found = uplift(group(CONTACTED), group(HELD_OUT), min_n=4)
    _diff, low, high = hand_welch(CONTACTED, HELD_OUT)
    assert found.contacted.n == 5 and found.held_out.n == 4
    assert found.contacted.mean == pytest.approx(7.6)
    assert found.held_out.mean == pytest.approx(0.75)
    assert found.difference == pytest.approx(6.85)
    # by hand: variances 13.3 and 6.25; df = 6.96 → 6; t = 2.447; se = 2.0549
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    assert found.low == pytest.approx(6.85 - 2.447 * math.sqrt(13.3 / 5 + 6.25 / 4), abs=1e-3)
    assert not found.too_few and found.clear


def test_too_few_to_tell_when_either_group_is_below_the_minimum():
    found = uplift(group(CONTACTED), group(HELD_OUT), min_n=5)
    assert found.too_few and not found.shown and found.difference is None
    assert found.contacted.n == 5 and found.held_out.n == 4


def _case(book, resident, *, held_out=False, change=None, days_ago=40, outcome=None):
    opened = utcnow() - timedelta(days=days_ago)
    case = Case(playbook_id=book.id, playbook_version=1, resident_id=resident.id,
                service_id=book.service_id, service_key=book.service_id or 0,
                held_out=held_out, opened_at=opened,
                score_at_open=40.0 if change is not None else None,
                score_after=40.0 + change if change is not None else None)
    if outcome:
        case.status, case.outcome, case.closed_at = "closed", outcome, opened + timedelta(days=5)
    db.session.add(case)
    db.session.flush()
    return case


@pytest.fixture
def measured(app, catalogue):
    """A library playbook with the hand-made cases above, plus one outside the period."""
    book = playbook(catalogue["library"])
    cases = []
    for n, change in enumerate(CONTACTED):
        cases.append(_case(book, factories.resident(), change=change,
                           outcome=("reached", "reached", "declined", None, None)[n]))
    for change in HELD_OUT:
        cases.append(_case(book, factories.resident(), held_out=True, change=change,
                           outcome="expired"))
    _case(book, factories.resident(), change=50.0, days_ago=800)  # long ago: not counted
    _case(book, factories.resident())  # not measured yet
    today = local_today()
    done = local_day_start(today - timedelta(days=10)) + timedelta(hours=10)
    db.session.add_all([
        Task(case_id=cases[0].id, resident_id=cases[0].resident_id,
             department_id=catalogue["library"].id, title_ja="電話", title_en="Call",
             due_on=today - timedelta(days=10), status="done", completed_at=done),
        Task(case_id=cases[1].id, resident_id=cases[1].resident_id,
             department_id=catalogue["library"].id, title_ja="電話", title_en="Call",
             due_on=today - timedelta(days=11), status="done", completed_at=done),
        Task(case_id=cases[2].id, resident_id=cases[2].resident_id,
             department_id=catalogue["library"].id, title_ja="電話", title_en="Call",
             due_on=today - timedelta(days=1)),
        Task(case_id=cases[3].id, resident_id=cases[3].resident_id,
             department_id=catalogue["library"].id, title_ja="電話", title_en="Call",
             due_on=today + timedelta(days=3))])
    db.session.add_all([
        OutreachMessage(resident_id=cases[0].resident_id, case_id=cases[0].id, status="sent",
                        channel="email"),
        OutreachMessage(resident_id=cases[1].resident_id, case_id=cases[1].id,
                        status="queued", channel="letter"),
        OutreachMessage(resident_id=cases[2].resident_id, case_id=cases[2].id,
                        status="suppressed", reason="budget"),
        OutreachMessage(resident_id=cases[3].resident_id, case_id=cases[3].id,
                        status="suppressed", reason="no_consent")])
    db.session.commit()
    return book


def test_the_report_counts_cases_outcomes_tasks_and_messages(app, measured):
    app.config["PLAYBOOK_MIN_N"] = 4
    try:
        with app.test_request_context():
            found = effectiveness.report(measured.id, effectiveness.period("12m"))
    finally:
        app.config["PLAYBOOK_MIN_N"] = 20
    assert (found.opened, found.held_out, found.closed, found.still_open) == (10, 4, 7, 3)
    assert found.outcomes["reached"] == 2 and found.outcomes["declined"] == 1
    assert found.outcomes["expired"] == 4 and found.outcomes["resolved"] == 0
    assert (found.tasks_on_time, found.tasks_late, found.tasks_overdue, found.tasks_open) == (
        1, 1, 1, 2)
    assert found.messages == {"queued": 1, "sent": 1, "suppressed": 2}
    assert found.suppressed == {"budget": 1, "no_consent": 1}
    diff, low, high = hand_welch(CONTACTED, HELD_OUT)
    assert found.uplift.difference == pytest.approx(diff)
    assert (found.uplift.low, found.uplift.high) == (pytest.approx(low), pytest.approx(high))
    assert sum(n for _m, n, _h in found.per_month) == 10
    assert sum(h for _m, _n, h in found.per_month) == 4


def test_a_month_period_counts_only_that_month(app, measured):
    month = (local_today().replace(day=1) - timedelta(days=400)).replace(day=1)
    with app.test_request_context():
        chosen = effectiveness.period(month.strftime("%Y-%m"))
        assert chosen.value == "12m"  # older than the choices: the default
        this = effectiveness.period(local_today().strftime("%Y-%m"))
        found = effectiveness.report(measured.id, this)
    assert this.months == [local_today().replace(day=1)]
    assert found.opened <= 10


def test_the_page_shows_the_uplift_with_both_n_and_its_interval(app, manager_client,
                                                                 measured):
    app.config["PLAYBOOK_MIN_N"] = 4
    try:
        html = manager_client.get(f"/admin/playbooks/{measured.id}/effectiveness",
                                  headers=EN).get_data(as_text=True)
        ja = manager_client.get(f"/admin/playbooks/{measured.id}/effectiveness",
                                headers=JA).get_data(as_text=True)
        listed = manager_client.get("/admin/playbooks/", headers=EN).get_data(as_text=True)
    finally:
        app.config["PLAYBOOK_MIN_N"] = 20
    assert "Uplift: +6.8 points (95 % confidence interval +1.8 to +11.9)." in html.replace(
        "&nbsp;", " ")
    assert "The uplift is how many points more" in html
    assert "<svg" in html and "Cases opened per month" in html
    assert "Over the contact budget" in html and "Reached" in html
    assert "+6.8 points" in listed
    assert_no_codes(ja, "the effectiveness page")


def test_the_page_says_too_few_to_tell_below_the_minimum(manager_client, measured):
    html = manager_client.get(f"/admin/playbooks/{measured.id}/effectiveness?period=3m",
                              headers=EN).get_data(as_text=True)
    assert "Too few to tell." in html
    assert "at least 20 measured cases" in html


def test_staff_of_another_department_get_404(staff_client, catalogue):
    other = playbook(catalogue["health"], service="cancer-screening")
    db.session.commit()
    assert staff_client.get(f"/admin/playbooks/{other.id}/effectiveness").status_code == 404


def test_the_period_choices_are_months_and_the_default_is_a_year(app):
    with app.test_request_context(headers=EN):
        values = [value for value, _label in effectiveness.period_choices(date(2026, 3, 15))]
        chosen = effectiveness.period("bogus", date(2026, 3, 15))
    assert values[:4] == ["12m", "6m", "3m", "2026-03"] and values[-1] == "2025-04"
    assert chosen.value == "12m" and chosen.months[0] == date(2025, 4, 1)
    assert len(chosen.months) == 12


def test_cases_started_by_hand_are_not_in_the_uplift(app, measured, users):
    """Staff chose those residents: they were never drawn for the holdout, so they
    would bias the contacted group."""
    manual = _case(measured, factories.resident(), change=60.0)
    manual.started_by_id = users["staff"].id
    db.session.commit()
    app.config["PLAYBOOK_MIN_N"] = 4
    try:
        with app.test_request_context():
            found = effectiveness.report(measured.id, effectiveness.period("12m"))
            listed = effectiveness.list_figures([measured.id], utcnow())[measured.id]
    finally:
        app.config["PLAYBOOK_MIN_N"] = 20
    diff, _low, _high = hand_welch(CONTACTED, HELD_OUT)
    assert found.uplift.contacted.n == len(CONTACTED)
    assert found.uplift.difference == pytest.approx(diff)
    assert listed.uplift.contacted.n == len(CONTACTED)


def test_the_list_and_the_playbook_page_give_the_uplift_with_both_n(app, manager_client,
                                                                      measured):
    app.config["PLAYBOOK_MIN_N"] = 4
    try:
        listed = manager_client.get("/admin/playbooks/", headers=EN).get_data(as_text=True)
        view = manager_client.get(f"/admin/playbooks/{measured.id}",
                                  headers=EN).get_data(as_text=True)
    finally:
        app.config["PLAYBOOK_MIN_N"] = 20
    for html in (listed, view):
        assert "+6.8 points" in html
        assert "n = 5 contacted, 4 held out" in html


def test_a_playbook_without_a_service_says_its_uplift_is_not_measured(manager_client, catalogue):
    book = playbook(catalogue["citizens"], service=None, trigger="new_resident",
                         params={"days": 30})
    db.session.commit()
    for path in ("/admin/playbooks/", f"/admin/playbooks/{book.id}",
                 f"/admin/playbooks/{book.id}/effectiveness"):
        html = manager_client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "no service" in html, path
