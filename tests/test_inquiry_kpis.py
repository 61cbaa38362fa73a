"""Inquiry KPIs, computed by hand (``portal.inquiries.kpis``), the KPI page, the
console home's panel, and the overdue signal for the playbooks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import kpis, signals
from portal.inquiries.models import InquiryStatus
from portal.timeutil import utcnow
from tests import factories
from tests.inquiry_factories import inquiry

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
H = timedelta(hours=1)
D = timedelta(days=1)


def make(*, created, service="library-loans", channel="web", first=None, status="open",
         resolved=None, resolution_due=None, due=None, reopens=0, merged_into=None,
         resident=None):
    item = inquiry(service=service, channel=channel, received_at=created,
                   resident=resident if resident is not None else factories.resident())
    item.first_response_at = created + first if first is not None else None
    item.status = status
    item.resolved_at = resolved
    if resolution_due is not None:
        item.resolution_due_at = resolution_due
    item.due_at = due if status in InquiryStatus.pending() else None
    item.reopen_count = reopens
    item.merged_into = merged_into
    db.session.flush()
    return item


@pytest.fixture
def data(catalogue):
    """Eight inquiries; the figures below are worked out from them by hand."""
    one = make(created=NOW - 10 * D, first=2 * H, status="resolved", resolved=NOW - 5 * D,
               resolution_due=NOW - 4 * D)
    make(created=NOW - 9 * D, first=4 * H, status="closed", resolved=NOW - 3 * D,
         resolution_due=NOW - 6 * D)  # late
    make(created=NOW - 8 * D, channel="phone", first=10 * H, due=NOW - D)  # overdue
    make(created=NOW - 7 * D, service="cancer-screening", channel="phone", first=1 * H,
         status="resolved", resolved=NOW - D, resolution_due=NOW + D, reopens=1)
    make(created=NOW - 6 * D, service="cancer-screening", status="new", due=NOW + D)
    make(created=NOW - 40 * D, first=100 * H, status="resolved", resolved=NOW - 2 * D,
         resolution_due=NOW - D)  # received before the period, resolved in it
    make(created=NOW - 5 * D, first=50 * H, status="closed", resolved=NOW - 4 * D,
         resolution_due=NOW - 10 * D, merged_into=one)  # a merged duplicate
    make(created=NOW - 3 * D, channel="phone", first=6 * H, status="open", reopens=1,
         due=NOW + 2 * D)  # reopened, being worked on again
    return one


def test_percentile_is_percentile_cont():
    assert kpis.percentile([], 0.5) is None
    assert kpis.percentile([7.0], 0.9) == 7.0
    assert kpis.percentile([1, 2, 4, 6, 10], 0.5) == 4
    assert kpis.percentile([1, 2, 4, 6, 10], 0.9) == pytest.approx(8.4)
    assert kpis.percentile([2, 4, 6, 10], 0.5) == 5


def test_totals(data):
    report = kpis.report(kpis.Scope(), NOW - 30 * D, NOW, now=NOW)
    t = report.total
    assert t.received == 7  # the duplicate was received too; the 40-day-old one was not
    # first responses of the period (duplicate left out): 1, 2, 4, 6, 10 hours
    assert t.first_response_n == 5
    assert t.first_response_median == pytest.approx(4.0)
    assert t.first_response_p90 == pytest.approx(8.4)
    # resolved in the period (duplicate left out): 4, of which 3 by their due time
    assert (t.resolved, t.within_target) == (4, 3)
    assert t.resolution_rate == pytest.approx(75.0)
    # received in the period and resolved at least once: 4; reopened: 2
    assert (t.reopen_base, t.reopened) == (4, 2) and t.reopen_rate == pytest.approx(50.0)
    assert (t.pending, t.overdue) == (3, 1)


def test_by_channel(data):
    report = kpis.report(kpis.Scope(), NOW - 30 * D, NOW, now=NOW)
    web, phone = report.by_channel["web"], report.by_channel["phone"]
    assert web.received == 4 and phone.received == 3
    assert (web.first_response_n, web.first_response_median) == (2, pytest.approx(3.0))
    assert web.first_response_p90 == pytest.approx(3.8)
    assert (phone.first_response_median, phone.first_response_p90) == (
        pytest.approx(6.0), pytest.approx(9.2))
    assert (web.resolved, web.within_target, phone.resolved, phone.within_target) == (
        3, 2, 1, 1)
    assert (web.reopen_base, web.reopened, phone.reopen_base, phone.reopened) == (2, 0, 2, 2)
    assert (web.pending, web.overdue, phone.pending, phone.overdue) == (1, 0, 2, 1)


def test_by_service_and_a_service_scope(data):
    library = factories.service("library-loans").id
    screening = factories.service("cancer-screening").id
    report = kpis.report(kpis.Scope(), NOW - 30 * D, NOW, now=NOW)
    lib, scr = report.by_service[library], report.by_service[screening]
    assert (lib.received, lib.first_response_n) == (5, 4)
    assert (lib.first_response_median, lib.first_response_p90) == (
        pytest.approx(5.0), pytest.approx(8.8))
    assert (lib.resolved, lib.within_target, lib.reopen_base, lib.reopened) == (3, 2, 3, 1)
    assert (lib.pending, lib.overdue) == (2, 1)
    assert (scr.received, scr.first_response_median, scr.resolved, scr.within_target) == (
        2, pytest.approx(1.0), 1, 1)
    scoped = kpis.report(kpis.Scope(service_id=screening), NOW - 30 * D, NOW, now=NOW).total
    assert (scoped.received, scoped.pending, scoped.reopen_rate) == (2, 1, pytest.approx(100))
    department = factories.service("library-loans").department_id
    by_department = kpis.report(kpis.Scope(department_id=department), NOW - 30 * D, NOW,
                                now=NOW).total
    assert by_department.received == 5
    assert kpis.report_total(kpis.Scope(), NOW - 30 * D, NOW, now=NOW) == \
        kpis.report(kpis.Scope(), NOW - 30 * D, NOW, now=NOW).total


def test_nothing_gives_none_not_zero(catalogue):
    t = kpis.report(kpis.Scope(), NOW - 30 * D, NOW, now=NOW).total
    assert t.received == 0 and t.first_response_median is None
    assert t.resolution_rate is None and t.reopen_rate is None


def test_trend_by_local_calendar_month(data):
    months = kpis.trend(kpis.Scope(), now=NOW)
    assert [m.first_day for m in months][:2] == [date(2026, 1, 1), date(2026, 2, 1)]
    assert months[-1].first_day == date(2026, 12, 1) and len(months) == 12
    october, november, december = months[-3:]
    assert (october.received, november.received, december.received) == (1, 7, 0)
    assert (november.resolved, november.within_target) == (3, 2)
    assert (december.resolved, december.within_target) == (1, 1)  # resolved 12/1 12:00 JST
    assert november.first_response_median == pytest.approx(4.0)
    assert october.first_response_median == pytest.approx(100.0)


def test_trend_month_boundary_is_local(catalogue):
    # 2026-11-30 15:30 UTC is 12/1 00:30 in Tokyo: December
    make(created=datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    make(created=datetime(2026, 11, 30, 14, 30, tzinfo=UTC))  # 11/30 23:30 JST
    months = kpis.trend(kpis.Scope(), now=NOW)
    assert (months[-2].received, months[-1].received) == (1, 1)


def test_month_starts_across_the_year():
    starts = kpis.month_starts(datetime(2027, 2, 10, tzinfo=UTC))
    assert starts[0] == date(2026, 3, 1) and starts[-2] == date(2027, 2, 1)
    assert starts[-1] == date(2027, 3, 1)


# -- the overdue signal --------------------------------------------------------------------

def test_overdue_inquiries_signal(data):
    anonymous = inquiry(caller_name="Caller", received_at=NOW - 9 * D)
    anonymous.due_at = NOW - 2 * D  # overdue, but no resident to act on
    erased = make(created=NOW - 9 * D, due=NOW - 2 * D,
                  resident=factories.resident(anonymised_at=NOW))
    db.session.flush()
    rows = db.session.execute(signals.overdue_inquiries(NOW)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.due_at == row.overdue_since
    assert row.due_at == NOW - D
    assert row.service_id == factories.service("library-loans").id
    assert row.department_id == factories.service("library-loans").department_id
    assert row.resident_id is not None and row.inquiry_id not in (anonymous.id, erased.id)
    # later, the reopened one (due in 2 days) and the new one (due in 1) are overdue too
    later = db.session.execute(signals.overdue_inquiries(NOW + 3 * D)).all()
    assert len(later) == 3
    # composable: the playbooks count per department in one statement
    sub = signals.overdue_inquiries(NOW).subquery()
    assert db.session.scalar(select(func.count()).select_from(sub)) == 1


# -- the pages -----------------------------------------------------------------------------

@pytest.fixture
def recent(app, catalogue):
    """Inquiries around the real now (the pages use the clock)."""
    now = utcnow()
    make(created=now - 2 * D, first=3 * H, status="resolved", resolved=now - D,
         resolution_due=now + D)
    make(created=now - 2 * D, channel="phone", due=now - H)  # overdue
    make(created=now - D, service="cancer-screening", due=now + D)
    db.session.commit()


def test_kpi_page_for_managers(manager_client, users, recent):
    users["manager"].locale = "en"
    db.session.commit()
    page = manager_client.get("/admin/inquiries/kpis").get_data(as_text=True)
    assert "Inquiry KPIs" in page and "hours" in page
    assert "/admin/inquiries/?sla=overdue" in page
    assert "Show the data as a table" in page and "Target (80 %)" in page
    assert "Phone" in page and "By service" in page
    page = manager_client.get("/admin/inquiries/kpis?department=health").get_data(
        as_text=True)
    assert "Health Promotion Division" in page


def test_staff_see_their_department_only(staff_client, users, recent):
    users["staff"].locale = "en"
    db.session.commit()
    page = staff_client.get("/admin/inquiries/kpis")
    assert page.status_code == 200 and "Central Library" in page.get_data(as_text=True)
    assert staff_client.get("/admin/inquiries/kpis?department=library").status_code == 200
    assert staff_client.get("/admin/inquiries/kpis?department=health").status_code == 403
    assert staff_client.get("/admin/inquiries/kpis?department=nope").status_code == 404


def test_officials_see_all(official_client, recent):
    assert official_client.get("/admin/inquiries/kpis?department=health").status_code == 200


def test_console_home_panel(manager_client, users, recent):
    users["manager"].locale = "en"
    db.session.commit()
    page = manager_client.get("/admin/").get_data(as_text=True)
    assert 'id="inquiries-title"' in page
    assert "Resolved within target" in page and "target 80 %" in page
    assert "/admin/inquiries/?sla=overdue" in page
