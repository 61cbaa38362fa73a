"""The KPIs around the score: retention, lapse, and uptake among the eligible.

They are worked out by the recompute from the fresh scores table and stored with
each day's aggregates (``ScoreAggregate``) as counts — a share is a count over
its n — so pages and 12-month trends read stored rows, never the events. The
definitions (also in ``docs/scoring.md``, "KPIs"), for a day D, T = the end of D
and i = the service's expected interval in days:

- **retention, 30 days**: of the residents who used the service in the 30 days
  before the last 30 (T − 60 d ≤ t < T − 30 d), the share who used it again in the
  last 30 (T − 30 d ≤ t < T). **90 days**: the same with 180 and 90 days.
- **lapse**: a resident *used a service regularly* when they used it at least twice
  in the three intervals before the last three (T − 6i ≤ t ≤ T − 3i), and *lapsed*
  when, after that, they have not used it for more than three intervals (the last
  use before T − 3i). The share is lapsed over regular users.
- **uptake among the eligible**: for a service with an eligibility rule, of the
  residents the rule covers, the share who used the service in the scoring window
  (90 days, or one interval if longer).

This module owns the words "regular user" and "lapsed" for the whole portal: a
*regular user as of* a time X has used the service at least ``MIN_REGULAR_USES``
times in the ``LAPSE_INTERVALS`` intervals up to X (``regular_window``), and a
resident has *lapsed as of* T when they have not used it for more than
``LAPSE_INTERVALS`` intervals before T (``lapsed_condition``; ``lapsed`` is the
same on the stored days since the last use). The lapse KPI takes the regular users
as of T − 3i; the calibration (``calibration.py``) the regular users as of its
snapshot day, and asks who of them has lapsed as of its current day.

Per department and for the municipality, retention and lapse count residents, each
once: *retained* = used any of the scope's services in the previous period and any
of them in this one; *lapsed* = lapsed from at least one of them, over the residents
who used at least one of them regularly. Uptake adds up (resident, service) pairs
over the services with a rule. Residents who are not scored (no consent to
profiling) are not in the KPIs, as they are not in the scores.

The inputs per (resident, service) come from the recompute's grouped pass over the
events: two more aggregates there (``usage_columns``), worked into three columns of
the scores (``pair_values``). The counts per department and for the
municipality are columns of the recompute's pass per resident (``resident_flags``,
``resident_sums``); per service they take one grouped query over the fresh table,
and uptake one over the residents a rule covers (``add_to_aggregates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, Table, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import contains_eager

from portal.engagement.models import EngagementScore, ScoreAggregate
from portal.extensions import db
from portal.residents.models import Resident

LAPSE_INTERVALS = 3  # no use for more than this many intervals: lapsed
MIN_REGULAR_USES = 2  # uses in that many intervals (before the gap): a regular user
PAIR_COLUMNS = ("used_prev_30", "used_prev_90", "uses_prev_3i")
FIGURES = ("prev_users_30", "retained_30", "prev_users_90", "retained_90",
           "regular_users", "lapsed", "eligible", "eligible_users")
KEYS = ("retention_30", "retention_90", "lapse", "uptake")
# per KPI: the count, its n, and how many days back the previous period's figure is
PARTS = {"retention_30": ("retained_30", "prev_users_30", 30),
         "retention_90": ("retained_90", "prev_users_90", 90),
         "lapse": ("lapsed", "regular_users", 30),
         "uptake": ("eligible_users", "eligible", 30)}


# -- the definitions (the KPI here, and the calibration) -------------------------------

def lapse_days(interval_days):
    """The silence, in days, after which a user has lapsed (also the length of the
    window of regular use): ``LAPSE_INTERVALS`` intervals (a number or a column)."""
    return LAPSE_INTERVALS * interval_days


def regular_window(at, as_of: datetime, interval_days: int):
    """SQL: the use at ``at`` counts towards regular use as of ``as_of`` — it lies in
    the ``LAPSE_INTERVALS`` intervals up to it (both ends in). A regular user has at
    least ``MIN_REGULAR_USES`` such uses."""
    gap = timedelta(days=lapse_days(interval_days))
    return and_(at >= as_of - gap, at <= as_of)


def lapsed_condition(last_use, end: datetime, interval_days: int):
    """SQL: no use for more than ``LAPSE_INTERVALS`` intervals as of ``end`` — the
    last use is before ``end`` − 3i (no use at all counts as no use)."""
    return or_(last_use.is_(None),
               last_use < end - timedelta(days=lapse_days(interval_days)))


# -- in the recompute -----------------------------------------------------------------

def usage_columns(at, end: datetime, interval_days: int, *, month_ago: datetime) -> list:
    """The extra aggregates of the recompute's grouped pass over one service's events
    (``at``: the event time column): the uses in the 90 days before the last 90, the
    uses in the three intervals before the last three and — unless it is the pass's
    own last use before ``month_ago`` (the end of D − 30: T − 30 d wherever no clock
    change came between) — the last use before T − 30 d: a maximum the pass already
    has costs nothing more. (On SQLite a filtered count costs about half a filtered
    maximum of a timestamp.)"""
    gap = timedelta(days=lapse_days(interval_days))
    columns = [func.count().filter(and_(at >= end - timedelta(days=180),
                                        at < end - timedelta(days=90))).label("kpi_uses_prev_90"),
               func.count().filter(regular_window(at, end - gap, interval_days))
               .label("kpi_uses_prev_3i")]
    if month_ago != end - timedelta(days=30):
        columns.append(func.max(at).filter(at < end - timedelta(days=30))
                       .label("kpi_last_before_30"))
    return columns


def pair_values(u, end: datetime, month_ago: datetime) -> list:
    """The KPI inputs of one (resident, service), from the grouped pass's columns
    ``u`` (see ``usage_columns``), in the order of ``PAIR_COLUMNS``: a use in the 30
    days before the last 30 (1 or 0), the same for 90 days, the uses in the three
    intervals before the last three."""
    before_30 = (u.last_use_then if month_ago == end - timedelta(days=30)
                 else u.kpi_last_before_30)
    return [case((before_30 >= end - timedelta(days=60), 1), else_=0).label("used_prev_30"),
            case((u.kpi_uses_prev_90 > 0, 1), else_=0).label("used_prev_90"),
            u.kpi_uses_prev_3i.label("uses_prev_3i")]


def regular(table: Table):
    """Used the service at least twice in the three intervals before the last three."""
    return table.c.uses_prev_3i >= MIN_REGULAR_USES


def lapsed(table: Table):
    """A regular user who has not used the service for more than three intervals
    (``lapsed_condition`` on the stored days since the last use, which are counted
    from T; a resident with no use is never a regular user)."""
    return and_(regular(table),
                table.c.days_since_last_use > lapse_days(table.c.interval_days))


def add_to_aggregates(connection, target: Table, rows: dict, end: datetime,
                      department_of: dict[int, int], eligibility: dict[int, list]) -> None:
    """Add the KPI counts to every aggregate row (``rows``: (scope, id) → values,
    with a row for every service and department that has scores in ``target``, the
    fresh scores table). ``eligibility`` maps each active service with a rule to its
    conditions over the residents table."""
    for values in rows.values():
        for name in FIGURES:  # departments and the municipality: from the pass per resident
            values.setdefault(name, 0)
    _per_service(connection, target, rows, end)
    _uptake(connection, target, rows, department_of, eligibility)


def _since(end: datetime, days: int) -> datetime:
    return end - timedelta(days=days)


def _per_service(connection, target: Table, rows: dict, end: datetime) -> None:
    """Per service, (resident, service) pairs are residents: one grouped pass."""
    t = target.c
    flags = {
        "prev_users_30": t.used_prev_30 > 0,
        "retained_30": and_(t.used_prev_30 > 0, t.last_use_at >= _since(end, 30)),
        "prev_users_90": t.used_prev_90 > 0,
        "retained_90": and_(t.used_prev_90 > 0, t.last_use_at >= _since(end, 90)),
        "regular_users": regular(target),
        "lapsed": lapsed(target),
    }
    query = (select(t.service_id, *(func.sum(case((c, 1), else_=0)) for c in flags.values()))
             .where(or_(t.used_prev_30 > 0, t.used_prev_90 > 0, regular(target)))
             .group_by(t.service_id))
    for service_id, *counts in connection.execute(query):
        rows[("service", service_id)].update(
            {name: int(n or 0) for name, n in zip(flags, counts, strict=True)})


def resident_flags(target: Table) -> list:
    """For the recompute's pass per resident (per department and for the
    municipality), columns of a query grouped by scope and resident: whether the
    resident used any of the scope's services in each previous period, the most
    uses of one of them in the three intervals before the last three, and whether
    they lapsed from one. Plain maxima where they do (cheaper than a CASE a row)."""
    t = target.c
    return [func.max(t.used_prev_30).label("kpi_before_30"),
            func.max(t.used_prev_90).label("kpi_before_90"),
            func.max(t.uses_prev_3i).label("kpi_regular_uses"),
            func.max(case((lapsed(target), 1), else_=0)).label("kpi_lapsed")]


def resident_sums(c, now_30, now_90) -> dict:
    """The KPI counts from the columns of ``resident_flags`` (``c``) and the pass's
    flags (0 or 1) of a use in the last 30 and 90 days, each resident once:
    retained = used any of the scope's services before and any of them now."""
    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    return {"prev_users_30": count(c.kpi_before_30 > 0),
            "retained_30": count(and_(c.kpi_before_30 > 0, now_30 == 1)),
            "prev_users_90": count(c.kpi_before_90 > 0),
            "retained_90": count(and_(c.kpi_before_90 > 0, now_90 == 1)),
            "regular_users": count(c.kpi_regular_uses >= MIN_REGULAR_USES),
            "lapsed": func.sum(c.kpi_lapsed)}


def _uptake(connection, target: Table, rows: dict, department_of: dict[int, int],
            eligibility: dict[int, list]) -> None:
    """For each service with a rule: the residents it covers — those who never used
    it (scored 0 because the rule covers them: the main pass has counted them) and
    those of its users the rule covers, looked up here in one statement — and of
    them the users with a use in the scoring window. Departments and the
    municipality add up the pairs."""
    if not eligibility:
        return
    t, r = target.c, Resident.__table__
    branches = [select(literal(service_id).label("service_id"), func.count(),
                       func.sum(case((t.uses_in_window > 0, 1), else_=0)))
                .select_from(target.join(r, r.c.id == t.resident_id))
                .where(t.service_id == service_id, t.reason.is_(None), *conditions)
                for service_id, conditions in sorted(eligibility.items())]
    query = branches[0] if len(branches) == 1 else union_all(*branches)
    users = {service_id: (int(n or 0), int(in_use or 0))
             for service_id, n, in_use in connection.execute(query)}
    for service_id in eligibility:
        never = rows.get(("service", service_id), {}).get("never_used", 0)
        eligible_users, in_use = users.get(service_id, (0, 0))
        if not never + eligible_users:
            continue
        for key in (("service", service_id), ("department", department_of[service_id]),
                    ("all", 0)):
            values = rows[key]
            values["eligible"] += never + eligible_users
            values["eligible_users"] += in_use


# -- on the pages ---------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One KPI as of ``day``: ``count`` of ``n``, and the share of the previous
    period (the newest stored day at least one period earlier)."""

    key: str
    count: int
    n: int
    day: date
    previous_share: float | None = None
    previous_n: int = 0
    previous_day: date | None = None

    @property
    def share(self) -> float | None:
        return self.count / self.n if self.n else None

    @property
    def change(self) -> float | None:
        """In percentage points."""
        if self.share is None or self.previous_share is None:
            return None
        return round((self.share - self.previous_share) * 100, 1)

    @property
    def better(self) -> bool | None:
        """Whether the change is for the better (lapse: down is better)."""
        if not self.change:
            return None
        return self.change < 0 if self.key == "lapse" else self.change > 0


def share_of(row: ScoreAggregate | None, key: str) -> float | None:
    if row is None:
        return None
    count, n, _ = PARTS[key]
    total = getattr(row, n)
    return getattr(row, count) / total if total else None


def figures(history: list[ScoreAggregate]) -> list[Figure]:
    """The KPIs of the newest row of ``history`` (rows of one scope, oldest first),
    each against the newest row one of its periods earlier."""
    if not history:
        return []
    latest = history[-1]
    out = []
    for key in KEYS:
        count, n, days = PARTS[key]
        before = next((row for row in reversed(history)
                       if row.as_of <= latest.as_of - timedelta(days=days)), None)
        out.append(Figure(key, getattr(latest, count), getattr(latest, n), latest.as_of,
                          share_of(before, key), getattr(before, n) if before else 0,
                          before.as_of if before else None))
    return out


def summary(scope: str, scope_id: int, day: date | None) -> list[Figure]:
    """The KPIs of one scope on ``day`` (the newest day with aggregates) against the
    previous periods: one query."""
    if day is None:
        return []
    a = ScoreAggregate

    def newest_by(days: int):
        return (select(func.max(a.as_of))
                .where(a.scope == scope, a.scope_id == scope_id,
                       a.as_of <= day - timedelta(days=days)).scalar_subquery())

    rows = list(db.session.scalars(
        select(a).where(a.scope == scope, a.scope_id == scope_id,
                        or_(a.as_of == day, a.as_of == newest_by(30), a.as_of == newest_by(90)))
        .order_by(a.as_of)))
    if not rows or rows[-1].as_of != day:
        return []
    return figures(rows)


def lapsed_list(service_id: int) -> Select:
    """The residents who lapsed from one service, the most recent lapse first (one
    query; the scores' key starts with the service)."""
    return (select(EngagementScore)
            .join(EngagementScore.resident)
            .options(contains_eager(EngagementScore.resident))
            .where(EngagementScore.service_id == service_id,
                   lapsed(EngagementScore.__table__))
            .order_by(EngagementScore.last_use_at.desc(), EngagementScore.resident_id))


def lapse_window(interval_days: int) -> tuple[int, int]:
    """The days before the end of the day, from and to, of the uses that make a
    regular user (the three intervals before the last three)."""
    return 2 * lapse_days(interval_days), lapse_days(interval_days)
