"""Inquiry KPIs for a scope (the municipality, a department or a service) and a
period, set-based (a handful of grouped statements, never a query per inquiry).

Definitions (``[start, end)`` is the period, default the last 30 days; merged
duplicates — ``merged_into_id`` set — are left out of every figure except
*received*, because the inquiry they were merged into carries the work):

received
    inquiries created in the period (every channel, duplicates included: each is
    a contact the municipality received).
first-response time
    for the inquiries created in the period that have had a first response
    (``first_response_at``), the time from ``created_at`` to ``first_response_at``
    in **calendar hours** (not business hours: what the resident waited). The
    median and the 90th percentile are ``percentile_cont`` (linear interpolation
    between the two nearest ranks, as PostgreSQL's ``percentile_cont`` and
    ``numpy.percentile`` compute them): on PostgreSQL in the database, on SQLite
    from the period's sorted durations in Python (``percentile``). ``n`` is the
    number of first responses.
resolution rate within target
    of the inquiries **resolved in the period** (``resolved_at`` in the period;
    closing without resolving counts as resolving), the share with
    ``resolved_at ≤ resolution_due_at``. ``n`` is the number resolved. The target
    line is ``INQUIRY_RESOLUTION_TARGET`` (80 %).
backlog
    pending inquiries (new, open, waiting for the resident) **now**, whatever the
    period, and how many of them are overdue (``due_at`` before now).
reopen rate
    of the inquiries created in the period that were resolved at least once
    (resolved now, or reopened since), the share reopened at least once
    (``reopen_count > 0``). ``n`` is that number resolved at least once.

Every figure comes with its ``n``; a rate or a percentile of nothing is None
(shown as "—").

The 12-month trend groups by calendar month in the municipality's time zone: the
month boundaries are computed in local time and compared as UTC instants, so the
grouping is the same on both databases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, literal, or_, select

from portal.extensions import db
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.sql import days_between
from portal.timeutil import local_zone, utcnow

DEFAULT_DAYS = 30
TREND_MONTHS = 12


@dataclass(frozen=True)
class Scope:
    """Everything (both None), a department or a service."""

    department_id: int | None = None
    service_id: int | None = None

    def conditions(self, table) -> list:
        out = []
        if self.department_id is not None:
            out.append(table.c.department_id == self.department_id)
        if self.service_id is not None:
            out.append(table.c.service_id == self.service_id)
        return out


@dataclass
class Figures:
    received: int = 0
    first_response_n: int = 0
    first_response_median: float | None = None  # hours
    first_response_p90: float | None = None  # hours
    resolved: int = 0
    within_target: int = 0
    reopen_base: int = 0
    reopened: int = 0
    pending: int = 0
    overdue: int = 0

    @property
    def resolution_rate(self) -> float | None:
        """Percent of the resolved within their resolution target."""
        return 100.0 * self.within_target / self.resolved if self.resolved else None

    @property
    def reopen_rate(self) -> float | None:
        return 100.0 * self.reopened / self.reopen_base if self.reopen_base else None


@dataclass
class Report:
    start: datetime
    end: datetime
    total: Figures
    by_channel: dict[str, Figures] = field(default_factory=dict)
    by_service: dict[int | None, Figures] = field(default_factory=dict)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """``percentile_cont``: linear interpolation between the nearest ranks of the
    sorted values (None for none)."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    weight = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * weight


def default_period(now: datetime | None = None, days: int = DEFAULT_DAYS) -> tuple[datetime,
                                                                                   datetime]:
    now = now or utcnow()
    return now - timedelta(days=days), now


def _table():
    return Inquiry.__table__


def _not_merged(i):
    return i.c.merged_into_id.is_(None)


def _hours(i):
    return days_between(i.c.first_response_at, i.c.created_at) * literal(24.0)


def _counts(scope: Scope, start: datetime, end: datetime, now: datetime,
            group) -> dict[Any, Figures]:
    """Everything but the percentiles, grouped by ``group`` (None: one row)."""
    i = _table()
    created = and_(i.c.created_at >= start, i.c.created_at < end)
    resolved = and_(i.c.resolved_at >= start, i.c.resolved_at < end, _not_merged(i))
    pending = i.c.status.in_([s.value for s in InquiryStatus.pending()])
    ever_resolved = and_(created, _not_merged(i),
                         or_(i.c.resolved_at.is_not(None), i.c.reopen_count > 0))

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    key = group if group is not None else literal(None)
    columns = [
        total(created), total(resolved),
        total(and_(resolved, i.c.resolved_at <= i.c.resolution_due_at)),
        total(ever_resolved), total(and_(ever_resolved, i.c.reopen_count > 0)),
        total(pending), total(and_(pending, i.c.due_at.is_not(None), i.c.due_at < now))]
    stmt = (select(key.label("key"), *columns).select_from(i)
            .where(*scope.conditions(i), or_(created, resolved, pending)))
    if group is not None:
        stmt = stmt.group_by(group)
    out: dict[Any, Figures] = {}
    for row in db.session.execute(stmt):
        values = [int(v or 0) for v in row[1:]]
        out[row[0]] = Figures(received=values[0], resolved=values[1], within_target=values[2],
                              reopen_base=values[3], reopened=values[4], pending=values[5],
                              overdue=values[6])
    return out


def _first_response_rows(scope: Scope, start: datetime, end: datetime):
    i = _table()
    return (i, [*scope.conditions(i), i.c.created_at >= start, i.c.created_at < end,
                i.c.first_response_at.is_not(None), _not_merged(i)])


def _percentiles(scope: Scope, start: datetime, end: datetime,
                 group_of) -> dict[Any, tuple[int, float | None, float | None]]:
    """(n, median, p90) of the first-response hours, per group (``group_of(i)``
    gives the grouping expression, or None for one group)."""
    i, where = _first_response_rows(scope, start, end)
    group = group_of(i)
    key = group if group is not None else literal(None)
    hours = _hours(i)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = (select(key.label("key"), func.count(),
                       func.percentile_cont(0.5).within_group(hours),
                       func.percentile_cont(0.9).within_group(hours))
                .select_from(i).where(*where))
        if group is not None:
            stmt = stmt.group_by(group)
        return {row[0]: (int(row[1]), _float(row[2]), _float(row[3]))
                for row in db.session.execute(stmt)}
    stmt = select(key.label("key"), hours.label("hours")).select_from(i).where(*where)
    stmt = stmt.order_by(key, hours)
    grouped: dict[Any, list[float]] = {}
    for row in db.session.execute(stmt):
        grouped.setdefault(row[0], []).append(float(row[1]))
    return {k: (len(v), percentile(v, 0.5), percentile(v, 0.9)) for k, v in grouped.items()}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _merge(counts: dict[Any, Figures], pct: dict[Any, tuple]) -> dict[Any, Figures]:
    for k, (n, median, p90) in pct.items():
        figures = counts.setdefault(k, Figures())
        figures.first_response_n, figures.first_response_median = n, median
        figures.first_response_p90 = p90
    return counts


def report(scope: Scope | None = None, start: datetime | None = None,
           end: datetime | None = None, *, now: datetime | None = None) -> Report:
    """The figures of the period in ``scope``, in total, by channel and by service
    (six statements)."""
    now = now or utcnow()
    scope = scope or Scope()
    if start is None or end is None:
        start, end = default_period(now)
    total = _merge(_counts(scope, start, end, now, None),
                   _percentiles(scope, start, end, lambda i: None)).get(None, Figures())
    i = _table()
    by_channel = _merge(_counts(scope, start, end, now, i.c.channel),
                        _percentiles(scope, start, end, lambda t: t.c.channel))
    by_service = _merge(_counts(scope, start, end, now, i.c.service_id),
                        _percentiles(scope, start, end, lambda t: t.c.service_id))
    return Report(start=start, end=end, total=total, by_channel=by_channel,
                  by_service=by_service)


def report_total(scope: Scope | None = None, start: datetime | None = None,
                 end: datetime | None = None, *, now: datetime | None = None) -> Figures:
    """The period's figures in total only (two statements: the console home)."""
    now = now or utcnow()
    scope = scope or Scope()
    if start is None or end is None:
        start, end = default_period(now)
    return _merge(_counts(scope, start, end, now, None),
                  _percentiles(scope, start, end, lambda i: None)).get(None, Figures())


# -- the 12-month trend -------------------------------------------------------------------

@dataclass
class Month:
    first_day: date  # local
    received: int = 0
    resolved: int = 0
    within_target: int = 0
    first_response_n: int = 0
    first_response_median: float | None = None

    @property
    def resolution_rate(self) -> float | None:
        return 100.0 * self.within_target / self.resolved if self.resolved else None


def month_starts(now: datetime, months: int = TREND_MONTHS) -> list[date]:
    """The first days (local) of the last ``months`` calendar months, the current
    one last, plus the first day of the next month (the end boundary)."""
    today = now.astimezone(local_zone()).date()
    year, month = today.year, today.month
    firsts = []
    for back in range(months - 1, -2, -1):
        y, m = divmod((year * 12 + month - 1) - back, 12)
        firsts.append(date(y, m + 1, 1))
    return firsts


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def _bucket(column, bounds: list[datetime]):
    """The month index (0…) of ``column`` for ``bounds`` (ascending; NULL outside)."""
    return case(*((column < bounds[k + 1], k) for k in range(len(bounds) - 1)), else_=None)


def trend(scope: Scope | None = None, *, now: datetime | None = None,
          months: int = TREND_MONTHS) -> list[Month]:
    """Received, resolved within target and median first response per calendar
    month (local), the current month last (three statements)."""
    now = now or utcnow()
    scope = scope or Scope()
    firsts = month_starts(now, months)
    bounds = [_instant(d) for d in firsts]
    result = [Month(first_day=d) for d in firsts[:-1]]
    i = _table()
    start, end = bounds[0], bounds[-1]
    by_created = _bucket(i.c.created_at, bounds)
    for k, n in db.session.execute(
            select(by_created, func.count()).select_from(i)
            .where(*scope.conditions(i), i.c.created_at >= start, i.c.created_at < end)
            .group_by(by_created)):
        result[k].received = int(n)
    by_resolved = _bucket(i.c.resolved_at, bounds)
    for k, n, within in db.session.execute(
            select(by_resolved, func.count(),
                   func.coalesce(func.sum(case((i.c.resolved_at <= i.c.resolution_due_at, 1),
                                               else_=0)), 0))
            .select_from(i)
            .where(*scope.conditions(i), i.c.resolved_at >= start, i.c.resolved_at < end,
                   _not_merged(i))
            .group_by(by_resolved)):
        result[k].resolved, result[k].within_target = int(n), int(within)
    for k, (n, median, _p90) in _percentiles(
            scope, start, end, lambda t: _bucket(t.c.created_at, bounds)).items():
        result[k].first_response_n, result[k].first_response_median = n, median
    return result


def target() -> float:
    """The resolution-rate target in percent (``INQUIRY_RESOLUTION_TARGET``)."""
    return float(current_app.config["INQUIRY_RESOLUTION_TARGET"])


def services_named(ids: Iterable[int | None]) -> dict[int, Any]:
    from portal.services.models import Service

    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {s.id: s for s in db.session.scalars(select(Service).where(Service.id.in_(wanted)))}
