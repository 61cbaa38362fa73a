"""Does a playbook work? Its cases, outcomes, tasks and messages over a period, and
the **uplift**: the mean change of the service's score from the case's opening to
30 days later (``score_after - score_at_open``) for contacted residents against the
held-out ones, with both n and a 95 % confidence interval of the difference
(Welch's t: unequal variances), or "too few to tell" when either group has fewer
than ``PLAYBOOK_MIN_N`` measured cases.

Everything is counted by the database over sets: one statement per figure group
(cases, outcomes, tasks, messages, uplift, months), whatever the number of cases;
the list page's figures for all its playbooks in three statements.

The period is about the cases *opened* in it: their outcomes, tasks and messages
belong to them, so the figures describe one cohort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Date, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.extensions import db
from portal.outreach.models import MessageStatus, OutreachMessage
from portal.playbooks.models import Case, CaseStatus, Outcome
from portal.surveys.numbers import t_quantile
from portal.timeutil import local_day_start, local_today, local_zone
from portal.work.models import Task, TaskStatus


class local_date(FunctionElement):  # lower case: reads like the SQL function it is
    """The municipality's calendar day of a UTC timestamp (fixed offset of today:
    the municipality's zone has no daylight saving)."""

    type = Date()
    inherit_cache = True
    name = "local_date"


def _offset_hours() -> float:
    offset = datetime.now(local_zone()).utcoffset() or timedelta(0)
    return offset.total_seconds() / 3600


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({value}, '{_offset_hours():+g} hours')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: Any, **kw: Any) -> str:
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(({value} + INTERVAL '{_offset_hours():g} hours') AS date)"


# -- the uplift ---------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """The score changes of one group: n, their sum and sum of squares."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (n − 1)."""
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))

    def interval(self) -> tuple[float, float] | None:
        """The 95 % t-interval of the mean."""
        if self.variance is None:
            return None
        half = t_quantile(self.n - 1) * math.sqrt(self.variance / self.n)
        return self.mean - half, self.mean + half


@dataclass(frozen=True)
class Uplift:
    contacted: Group
    held_out: Group
    min_n: int
    difference: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def too_few(self) -> bool:
        return self.contacted.n < self.min_n or self.held_out.n < self.min_n

    @property
    def shown(self) -> bool:
        return not self.too_few and self.difference is not None

    @property
    def clear(self) -> bool:
        """The interval leaves out zero: the difference is unlikely to be chance."""
        return self.shown and self.low is not None and (self.low > 0 or self.high < 0)


def uplift(contacted: Group, held_out: Group, min_n: int) -> Uplift:
    """Contacted minus held out, with Welch's 95 % interval (degrees of freedom by
    Welch–Satterthwaite, rounded down; the t quantile of ``surveys.numbers``)."""
    if contacted.n < max(min_n, 2) or held_out.n < max(min_n, 2):
        return Uplift(contacted, held_out, min_n)
    difference = contacted.mean - held_out.mean
    a, b = contacted.variance / contacted.n, held_out.variance / held_out.n
    se = math.sqrt(a + b)
    if se == 0:
        return Uplift(contacted, held_out, min_n, difference, difference, difference)
    df = (a + b) ** 2 / (a * a / (contacted.n - 1) + b * b / (held_out.n - 1))
    half = t_quantile(max(1, math.floor(df))) * se
    return Uplift(contacted, held_out, min_n, difference, difference - half, difference + half)


def _change():
    return Case.score_after - Case.score_at_open


def _measured():
    """Measured cases the evaluation opened: a case staff started by hand was never
    up for the holdout's draw, so it is no part of the comparison."""
    return and_(Case.score_after.is_not(None), Case.score_at_open.is_not(None),
                Case.started_by_id.is_(None))


def _uplift_rows(where) -> dict[tuple[int, bool], Group]:
    change = _change()
    rows = db.session.execute(
        select(Case.playbook_id, Case.held_out, func.count(), func.sum(change),
               func.sum(change * change))
        .where(where, _measured()).group_by(Case.playbook_id, Case.held_out)).all()
    return {(pid, bool(held)): Group(n, float(total or 0), float(squares or 0))
            for pid, held, n, total, squares in rows}


def min_n() -> int:
    return int(current_app.config["PLAYBOOK_MIN_N"])


# -- the period ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    value: str
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    months: list[date]  # the first day of each month in it
    label: str


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def period_choices(today: date | None = None) -> list[tuple[str, str]]:
    today = today or local_today()
    this = _month_start(today)
    return [("12m", _("The last 12 months")), ("6m", _("The last 6 months")),
            ("3m", _("The last 3 months")),
            *((_add_months(this, -n).strftime("%Y-%m"), month_label(_add_months(this, -n)))
              for n in range(12))]


def month_label(month: date, short: bool = False) -> str:
    """"March 2026" / "2026年3月"; short: "Mar" / "3月" (a chart's axis: at most 12
    months, so the month alone is unambiguous; the table under it has the year)."""
    from flask_babel import format_date

    if _english():
        return format_date(month, "MMM" if short else "MMMM yyyy")
    return f"{month.month}月" if short else f"{month.year}年{month.month}月"


def _english() -> bool:
    from portal.i18n_fields import current_locale

    return current_locale() == "en"


def period(value: str | None, today: date | None = None) -> Period:
    """The period a choice names; anything unknown is the last 12 months."""
    today = today or local_today()
    this = _month_start(today)
    choices = dict(period_choices(today))
    if value not in choices:
        value = "12m"
    if value.endswith("m"):
        count = int(value[:-1])
        first = _add_months(this, -(count - 1))
        months = [_add_months(first, n) for n in range(count)]
        end = local_day_start(today + timedelta(days=1))
    else:
        first = date(int(value[:4]), int(value[5:7]), 1)
        months = [first]
        end = local_day_start(_add_months(first, 1))
    return Period(value, local_day_start(first), end, months, choices[value])


# -- one playbook's report ----------------------------------------------------------


@dataclass
class Report:
    period: Period
    opened: int = 0
    closed: int = 0
    still_open: int = 0
    held_out: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    tasks_on_time: int = 0
    tasks_late: int = 0
    tasks_overdue: int = 0
    tasks_open: int = 0
    messages: dict[str, int] = field(default_factory=dict)  # queued, sent, suppressed
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason
    per_month: list[tuple[date, int, int]] = field(default_factory=list)  # opened, held out
    uplift: Uplift | None = None


def report(playbook_id: int, chosen: Period, today: date | None = None) -> Report:
    today = today or local_today()
    in_period = and_(Case.playbook_id == playbook_id, Case.opened_at >= chosen.start,
                     Case.opened_at < chosen.end)
    out = Report(period=chosen)
    row = db.session.execute(select(
        func.count(), func.count().filter(Case.status == CaseStatus.CLOSED),
        func.count().filter(Case.held_out.is_(True))).where(in_period)).one()
    out.opened, out.closed, out.held_out = row[0] or 0, row[1] or 0, row[2] or 0
    out.still_open = out.opened - out.closed
    found = {row[0]: row[1] for row in db.session.execute(
        select(Case.outcome, func.count()).where(in_period, Case.outcome.is_not(None))
        .group_by(Case.outcome))}
    out.outcomes = {o.value: found.get(o.value, 0) for o in Outcome}
    cases = select(Case.id).where(in_period)
    done_on = local_date(Task.completed_at)
    row = db.session.execute(select(
        func.count().filter(Task.status == TaskStatus.DONE, done_on <= Task.due_on),
        func.count().filter(Task.status == TaskStatus.DONE, done_on > Task.due_on),
        func.count().filter(Task.status == TaskStatus.OPEN, Task.due_on < today),
        func.count().filter(Task.status == TaskStatus.OPEN))
        .where(Task.case_id.in_(cases))).one()
    out.tasks_on_time, out.tasks_late, out.tasks_overdue, out.tasks_open = (v or 0 for v in row)
    out.messages = {s.value: 0 for s in MessageStatus}
    for status, reason, n in db.session.execute(
            select(OutreachMessage.status, OutreachMessage.reason, func.count())
            .where(OutreachMessage.case_id.in_(cases))
            .group_by(OutreachMessage.status, OutreachMessage.reason)).all():
        out.messages[status] = out.messages.get(status, 0) + n
        if reason:
            out.suppressed[reason] = out.suppressed.get(reason, 0) + n
    bounds = [(local_day_start(m), local_day_start(_add_months(m, 1))) for m in chosen.months]
    columns = []
    for low, high in bounds:
        inside = and_(Case.opened_at >= low, Case.opened_at < high)
        columns += [func.count().filter(inside),
                    func.count().filter(inside, Case.held_out.is_(True))]
    counts = db.session.execute(select(*columns).where(in_period)).one()
    out.per_month = [(m, counts[2 * n] or 0, counts[2 * n + 1] or 0)
                     for n, m in enumerate(chosen.months)]
    groups = _uplift_rows(in_period)
    out.uplift = uplift(groups.get((playbook_id, False), Group()),
                        groups.get((playbook_id, True), Group()), min_n())
    return out


# -- the list's figures -------------------------------------------------------------


@dataclass(frozen=True)
class ListFigures:
    open: int = 0
    last_12_months: int = 0
    uplift: Uplift | None = None


def list_figures(playbook_ids: list[int], now: datetime,
                 today: date | None = None) -> dict[int, ListFigures]:
    """Open cases, cases opened in the last 12 months and the uplift over them, for
    every playbook listed: three statements."""
    if not playbook_ids:
        return {}
    today = today or local_today()
    start = local_day_start(_add_months(_month_start(today), -11))
    mine = Case.playbook_id.in_(playbook_ids)
    rows = db.session.execute(
        select(Case.playbook_id, func.count().filter(Case.closed_at.is_(None)),
               func.count().filter(Case.opened_at >= start))
        .where(mine).group_by(Case.playbook_id)).all()
    counts = {pid: (n_open or 0, n_year or 0) for pid, n_open, n_year in rows}
    groups = _uplift_rows(and_(mine, Case.opened_at >= start))
    needed = min_n()
    return {pid: ListFigures(*counts.get(pid, (0, 0)),
                             uplift(groups.get((pid, False), Group()),
                                    groups.get((pid, True), Group()), needed))
            for pid in playbook_ids}


