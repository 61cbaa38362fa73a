"""Service levels in business days, in the municipality's calendar.

A business day is a weekday that is neither a Japanese public holiday
(``jpholiday``, which follows the Cabinet Office's list including substitute and
citizens' holidays) nor a closure day (``ClosureDay``: every year, such as the
year-end closure 12/29–1/3, or one date).

Due times: an inquiry received at local time ``t`` with a target of N business
days is due at the **end** of the N-th business day after the day of ``t`` (the
day of receipt never counts, so a Friday-evening inquiry with a 1-day target is
due at the end of Monday). N = 0 means the end of the day of receipt, or of the
next business day when it arrived on a day the offices are closed. The end of a
day is midnight local time, stored as UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import jpholiday
from sqlalchemy import select

from portal.extensions import db
from portal.inquiries.models import ClosureDay, InquiryCategory, SlaPolicy
from portal.timeutil import local_zone

#: targets in business days (first response, resolution) when no policy row exists
DEFAULT_TARGETS = {
    InquiryCategory.QUESTION: (1, 3),
    InquiryCategory.REQUEST: (2, 10),
    InquiryCategory.COMPLAINT: (1, 5),
    InquiryCategory.PROBLEM: (1, 5),
}

#: the year-end closure the migration seeds (every year)
YEAR_END_CLOSURE = ((12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3))


@dataclass(frozen=True)
class Calendar:
    """Closure days as (month, day) every year plus single dates."""

    yearly: frozenset[tuple[int, int]] = frozenset()
    dates: frozenset[date] = frozenset()

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5 or jpholiday.is_holiday(day):
            return False
        return (day.month, day.day) not in self.yearly and day not in self.dates

    def add_business_days(self, start: date, days: int) -> date:
        """The N-th business day after ``start`` (N = 0: ``start`` itself when it is
        a business day, else the next one)."""
        day = start
        if days == 0:
            while not self.is_business_day(day):
                day += timedelta(days=1)
            return day
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days after ``start`` up to and including ``end`` (0 if end ≤ start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_business_day(day)
        return count


def calendar_from(rows: Iterable[ClosureDay]) -> Calendar:
    yearly, dates = set(), set()
    for row in rows:
        if row.year is None:
            yearly.add((row.month, row.day))
        else:
            try:
                dates.add(date(row.year, row.month, row.day))
            except ValueError:  # 2/30 typed for one year: never a day
                continue
    return Calendar(frozenset(yearly), frozenset(dates))


def load_calendar() -> Calendar:
    return calendar_from(db.session.scalars(select(ClosureDay)))


def end_of_local_day(day: date) -> datetime:
    """Midnight after ``day`` in the municipality's time zone, in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min,
                            tzinfo=local_zone()).astimezone(UTC)


def due_day(due_at: datetime) -> date:
    """The local day a due time closes (due times are the midnight after it): what
    pages and e-mails show ("by 12/9", not "12/10 0:00")."""
    return (due_at - timedelta(microseconds=1)).astimezone(local_zone()).date()


def due_after(received_at: datetime, days: int, calendar: Calendar) -> datetime:
    local_day = received_at.astimezone(local_zone()).date()
    return end_of_local_day(calendar.add_business_days(local_day, days))


def targets(category: str, service_id: int | None) -> tuple[int, int]:
    """(first response, resolution) business days: the service's override, else the
    category's policy, else ``DEFAULT_TARGETS``."""
    rows = db.session.scalars(
        select(SlaPolicy).where(SlaPolicy.category == category,
                                (SlaPolicy.service_id == service_id)
                                | SlaPolicy.service_id.is_(None))
        .order_by(SlaPolicy.id)).all()
    chosen = next((r for r in rows if r.service_id is not None and r.service_id == service_id),
                  next((r for r in rows if r.service_id is None), None))
    if chosen is not None:
        return chosen.first_response_days, chosen.resolution_days
    return DEFAULT_TARGETS.get(InquiryCategory(category), (1, 5))


def due_times(category: str, service_id: int | None, received_at: datetime,
              calendar: Calendar | None = None) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for an inquiry received at ``received_at``."""
    calendar = calendar or load_calendar()
    first, resolution = targets(category, service_id)
    return (due_after(received_at, first, calendar), due_after(received_at, resolution, calendar))


class SlaState:
    """The queue's SLA states (of ``Inquiry.due_at`` against now)."""

    ON_TIME = "on_time"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    NONE = "none"  # resolved or closed: nothing is due


def sla_state(due_at: datetime | None, now: datetime) -> str:
    if due_at is None:
        return SlaState.NONE
    if due_at <= now:
        return SlaState.OVERDUE
    today_end = end_of_local_day(now.astimezone(local_zone()).date())
    return SlaState.DUE_TODAY if due_at <= today_end else SlaState.ON_TIME
