"""Service levels in business days (``portal.inquiries.sla``): weekends, public
holidays, the year-end closure, N = 0, closed days of receipt, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.inquiries import sla
from portal.inquiries.models import ClosureDay, SlaPolicy
from tests import factories

JST = ZoneInfo("Asia/Tokyo")


def at(y, m, d, hour=20, minute=0) -> datetime:
    """A local (JST) moment as the UTC instant the database keeps."""
    return datetime(y, m, d, hour, minute, tzinfo=JST).astimezone(UTC)


def end_of(y, m, d) -> datetime:
    """Midnight after the local day, in UTC."""
    return (datetime(y, m, d, tzinfo=JST) + timedelta(days=1)).astimezone(UTC)


def due(received: datetime, days: int, calendar=None) -> datetime:
    return sla.due_after(received, days, calendar or sla.load_calendar())


def test_the_municipality_is_in_tokyo(app):
    assert app.config["TIME_ZONE"] == "Asia/Tokyo"


def test_friday_evening_with_one_day_is_due_end_of_monday(app):
    # 2026-12-04 is a Friday
    assert due(at(2026, 12, 4), 1) == end_of(2026, 12, 7)
    assert due(at(2026, 12, 4), 2) == end_of(2026, 12, 8)


def test_local_day_not_utc_day(app):
    # 08:30 JST on Monday is still Sunday in UTC: the local day counts
    received = at(2026, 12, 7, 8, 30)
    assert received.date() == date(2026, 12, 6)
    assert due(received, 1) == end_of(2026, 12, 8)


def test_a_public_holiday_is_skipped(app):
    # Friday 2026-11-20 → Saturday, Sunday, Monday 11/23 勤労感謝の日 → Tuesday 11/24
    assert due(at(2026, 11, 20), 1) == end_of(2026, 11, 24)


def test_silver_week_2026(app):
    # 9/19–9/23: Saturday, Sunday, 敬老の日, 国民の休日, 秋分の日
    assert due(at(2026, 9, 18), 1) == end_of(2026, 9, 24)
    assert due(at(2026, 9, 18), 2) == end_of(2026, 9, 25)
    calendar = sla.load_calendar()
    assert [calendar.is_business_day(date(2026, 9, d)) for d in range(18, 25)] == [
        True, False, False, False, False, False, True]


def test_year_end_closure(app):
    """12/29–1/3 closed (seeded every year). Monday 12/28 evening with a 1-day target:
    the next business day is Monday 2027-01-04 (the day of receipt never counts)."""
    assert due(at(2026, 12, 28), 1) == end_of(2027, 1, 4)
    assert due(at(2026, 12, 28), 2) == end_of(2027, 1, 5)
    assert due(at(2026, 12, 28), 0) == end_of(2026, 12, 28)


def test_n_zero_is_the_end_of_the_day_of_receipt(app):
    assert due(at(2026, 12, 2, 9), 0) == end_of(2026, 12, 2)


@pytest.mark.parametrize("received, days, expected", [
    (at(2026, 12, 5, 10), 0, end_of(2026, 12, 7)),  # Saturday, N = 0 → Monday
    (at(2026, 12, 5, 10), 1, end_of(2026, 12, 7)),  # Saturday, N = 1 → Monday too
    (at(2026, 11, 23, 10), 0, end_of(2026, 11, 24)),  # a holiday, N = 0 → next day
    (at(2026, 12, 31, 10), 1, end_of(2027, 1, 4)),  # in the closure → first day after
    (at(2027, 1, 1, 10), 0, end_of(2027, 1, 4)),
])
def test_received_on_a_closed_day(app, received, days, expected):
    assert due(received, days) == expected


def test_a_one_date_closure(app):
    db.session.add(ClosureDay(year=2026, month=12, day=8, label_en="System move"))
    db.session.flush()
    assert due(at(2026, 12, 7), 1) == end_of(2026, 12, 9)
    # the same day a year later is an ordinary Wednesday
    assert sla.load_calendar().is_business_day(date(2027, 12, 8))


def test_a_one_date_closure_that_does_not_exist_is_ignored():
    calendar = sla.calendar_from([ClosureDay(year=2027, month=2, day=30)])
    assert calendar.dates == frozenset()


def test_business_days_between(app):
    calendar = sla.load_calendar()
    # 12/28, 1/4 and 1/5
    assert calendar.business_days_between(date(2026, 12, 25), date(2027, 1, 5)) == 3
    assert calendar.business_days_between(date(2026, 12, 25), date(2026, 12, 25)) == 0


def test_defaults_category_policy_and_service_override(catalogue):
    library = factories.service("library-loans")
    other = factories.service("cancer-screening")
    assert sla.targets("request", library.id) == sla.DEFAULT_TARGETS["request"]
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "request",
                                                       SlaPolicy.service_id.is_(None)))
    if policy is None:  # the migration seeds one row per category
        policy = SlaPolicy(category="request", service_id=None)
        db.session.add(policy)
    policy.first_response_days, policy.resolution_days = 3, 8
    db.session.add(SlaPolicy(category="request", service_id=library.id, first_response_days=0,
                             resolution_days=1))
    db.session.flush()
    assert sla.targets("request", library.id) == (0, 1)  # the override beats the category
    assert sla.targets("request", other.id) == (3, 8)
    assert sla.targets("request", None) == (3, 8)
    assert sla.targets("question", library.id) == sla.DEFAULT_TARGETS["question"]
    first, resolution = sla.due_times("request", library.id, at(2026, 12, 4))
    assert (first, resolution) == (end_of(2026, 12, 4), end_of(2026, 12, 7))


def test_an_inquiry_stores_its_due_times(app, catalogue):
    from tests.inquiry_factories import inquiry

    with app.test_request_context(method="POST"):
        item = inquiry(received_at=at(2026, 11, 20), category="request")
    assert item.first_response_due_at == end_of(2026, 11, 25)  # 2 days, past 11/23
    assert item.resolution_due_at == end_of(2026, 12, 7)  # 10 business days
    assert item.due_at == item.first_response_due_at


def test_sla_state(app):
    now = at(2026, 12, 2, 10)
    assert sla.sla_state(None, now) == sla.SlaState.NONE
    assert sla.sla_state(at(2026, 12, 2, 9), now) == sla.SlaState.OVERDUE
    assert sla.sla_state(now, now) == sla.SlaState.OVERDUE
    assert sla.sla_state(end_of(2026, 12, 2), now) == sla.SlaState.DUE_TODAY
    assert sla.sla_state(end_of(2026, 12, 3), now) == sla.SlaState.ON_TIME
