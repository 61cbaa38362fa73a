"""The set-based recompute of engagement scores.

For a day D (the municipality's local date), every (resident, service) in scope
gets a score at T = the end of D:

- in scope: the resident used the service before T, or the service has an
  eligibility rule the resident meets (services without a rule are for everyone,
  so only their users are scored);
- recency: days since the last use d against the expected interval i: 100 when
  d ≤ i, 0 when d ≥ 3i, linear in between;
- frequency: uses in the window (max(90 days, i)) against the expected count
  window / i, capped at 100;
- satisfaction: missing until surveys exist; friction: 100 until inquiries exist;
- score: the weighted mean of the present measures (a missing measure's weight is
  shared out in proportion); an eligible resident who never used the service
  scores 0 with the reason "eligible_never_used";
- band: red below the model's red edge, green from its green edge, yellow between.

Residents without consent to profiling, and erased records, are not scored.
Everything is SQL over sets: one grouped pass over the usage events, INSERT …
SELECT into the scores, snapshots and aggregates, all in the caller's single
transaction, so readers see the old scores or the new ones, never a mix.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from sqlalchemy import (
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
)

from portal.auth.models import User
from portal.db_types import UTCDateTime
from portal.engagement import weights
from portal.engagement.models import (
    MEASURES,
    Band,
    EngagementScore,
    ScoreAggregate,
    ScoreRun,
    ScoreSnapshot,
    Trend,
)
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.sql import days_between, round_float
from portal.timeutil import local_day_start, utcnow

NEVER_USED = "eligible_never_used"
TREND_STEP = 1.0  # points: a smaller change is "same"
AT_RISK_DROP = 15.0  # points within 30 days
HISTOGRAM_BINS = 10
DIGITS = 4  # stored precision: the same on SQLite and PostgreSQL

_temp = MetaData()
PARAMS = Table(
    "score_params", _temp,
    Column("service_id", Integer, primary_key=True),
    Column("model_id", Integer), Column("interval_days", Integer),
    Column("window_days", Integer), Column("window_start", UTCDateTime),
    Column("w_recency", Integer), Column("w_frequency", Integer),
    Column("w_satisfaction", Integer), Column("w_friction", Integer),
    Column("red_below", Integer), Column("green_from", Integer),
    prefixes=["TEMPORARY"],
)
STAGE = Table(
    "score_stage", _temp,
    *(Column(c.name, c.type, primary_key=c.primary_key)
      for c in EngagementScore.__table__.columns),
    prefixes=["TEMPORARY"],
)


def forget_resident(resident_id: int) -> None:
    """Remove every score of a resident who withdrew consent (or was erased)."""
    forget_residents([resident_id])


def forget_residents(resident_ids: list[int]) -> None:
    """The same for many residents, 900 at a time."""
    for start in range(0, len(resident_ids), 900):
        chunk = resident_ids[start:start + 900]
        db.session.execute(delete(EngagementScore).where(EngagementScore.resident_id.in_(chunk)))
        db.session.execute(delete(ScoreSnapshot).where(ScoreSnapshot.resident_id.in_(chunk)))


KEEP_DAILY_DAYS = 35


def prune_history(today: date, keep_days: int = KEEP_DAILY_DAYS) -> int:
    """Keep daily snapshots for ``keep_days`` (enough for the 30-day comparisons) and
    the first day of every month before that (the 12-month trends). One DELETE."""
    s = ScoreSnapshot.__table__
    result = db.session.execute(delete(s).where(
        s.c.as_of < today - timedelta(days=keep_days), extract("day", s.c.as_of) != 1))
    return result.rowcount or 0


def current_as_of() -> date | None:
    return db.session.scalar(select(func.max(EngagementScore.as_of)))


def recompute(as_of: date, *, actor: User | None = None) -> ScoreRun:
    """Score every resident and service in scope for the local day ``as_of``.

    The current scores are replaced when ``as_of`` is not older than them; an older
    day (filling history) writes its snapshot and aggregates only."""
    started = time.perf_counter()
    end = local_day_start(as_of + timedelta(days=1))
    services = db.session.scalars(select(Service).where(Service.active.is_(True))
                                  .order_by(Service.id)).all()
    models = weights.models_in_force(services)
    newest = current_as_of()
    replace_current = newest is None or as_of >= newest

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # one recompute at a time (the daily job and a manager's button may meet);
        # SQLite serialises writers by itself
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('portal.recompute'))"))
    for table in (PARAMS, STAGE):
        table.drop(connection, checkfirst=True)
        table.create(connection)
    try:
        if services:
            connection.execute(insert(PARAMS), [_params(s, models[s.id], end) for s in services])
        target = EngagementScore.__table__ if replace_current else STAGE
        if replace_current:
            db.session.execute(delete(EngagementScore))
        _insert_scores(connection, target, as_of, end)
        count = connection.execute(select(func.count()).select_from(target)).scalar_one()
        _write_snapshots(connection, target, as_of)
        _write_aggregates(connection, target, as_of, end)
    finally:
        for table in (PARAMS, STAGE):
            table.drop(connection, checkfirst=True)
    db.session.expire_all()
    run = ScoreRun(as_of=as_of, scores=count, replaced_current=replace_current,
                   triggered_by_id=actor.id if actor else None,
                   duration_ms=round((time.perf_counter() - started) * 1000),
                   details={"services": len(services)})
    db.session.add(run)
    db.session.flush()
    return run


def _params(service: Service, model, end) -> dict:
    window = max(90, service.expected_interval_days)
    return {
        "service_id": service.id, "model_id": model.id,
        "interval_days": service.expected_interval_days, "window_days": window,
        "window_start": end - timedelta(days=window),
        "w_recency": model.weight_recency, "w_frequency": model.weight_frequency,
        "w_satisfaction": model.weight_satisfaction, "w_friction": model.weight_friction,
        "red_below": model.red_below, "green_from": model.green_from,
    }


def _snapshot_day(on_or_before: date, before: bool) -> date | None:
    """The latest snapshot day before (or on or before) a day."""
    column = ScoreSnapshot.as_of
    return db.session.scalar(select(func.max(column)).where(
        column < on_or_before if before else column <= on_or_before))


def weighted_mean(measures: dict, weight):
    """SQL twin of ``explain.weighted_mean``: present measures only, their weights
    shared out in proportion; NULL when no present measure has weight. ``weight``
    maps "w_<measure>" to a column (the parameters' columns)."""
    numerator = sum((weight[f"w_{m}"] * func.coalesce(value, 0.0) for m, value in
                     measures.items()), start=literal(0.0))
    denominator = sum((case((value.is_(None), 0), else_=weight[f"w_{m}"]) for m, value in
                       measures.items()), start=literal(0))
    return round_float(numerator * 1.0 / func.nullif(denominator, 0), DIGITS)


def _band(score, p):
    return case((score < p.c.red_below, Band.RED.value), (score < p.c.green_from,
                Band.YELLOW.value), else_=Band.GREEN.value)


def _trend(score, previous):
    if previous is None or isinstance(previous, type(null())):
        return literal(Trend.NEW.value)
    return case((previous.is_(None), Trend.NEW.value),
                (score - previous >= TREND_STEP, Trend.UP.value),
                (previous - score >= TREND_STEP, Trend.DOWN.value), else_=Trend.SAME.value)


def _insert_scores(connection, target: Table, as_of: date, end) -> None:
    e, r, p = UsageEvent.__table__, Resident.__table__, PARAMS
    previous_day = _snapshot_day(as_of, before=True)
    month_ago_day = _snapshot_day(as_of - timedelta(days=30), before=False)
    scored = and_(r.c.consent_profiling.is_(true()), r.c.anonymised_at.is_(None))

    # One grouped pass over the events (service first: the index's order), which
    # also works out the days since the last use once per group.
    last_use = func.max(e.c.occurred_at)
    usage = (select(e.c.service_id, e.c.resident_id, last_use.label("last_use"),
                    func.sum(case((e.c.occurred_at >= p.c.window_start, 1), else_=0))
                    .label("n_window"),
                    days_between(literal(end, UTCDateTime), last_use).label("days"))
             .join(p, p.c.service_id == e.c.service_id)
             .where(e.c.occurred_at < end)
             .group_by(e.c.service_id, e.c.resident_id)).subquery("usage")

    # The measures and the score, materialised once: folded into the final query,
    # every use of the score (band, trend, …) would work it out again.
    interval = cast(p.c.interval_days, Float)
    days = usage.c.days
    recency = case((days <= interval, 100.0), (days >= 3 * interval, 0.0),
                   else_=100.0 * (3 * interval - days) / (2 * interval))
    frequency = case((100.0 * usage.c.n_window * interval / p.c.window_days > 100, 100.0),
                     else_=100.0 * usage.c.n_window * interval / p.c.window_days)
    present = {
        "recency": recency,
        "frequency": frequency,
        "satisfaction": null(),  # no survey answers yet: the measure is missing
        "friction": literal(100.0),  # no inquiries yet: nothing open, nothing overdue
    }
    measures = (
        select(usage.c.service_id, usage.c.resident_id, usage.c.last_use, usage.c.n_window,
               round_float(days, DIGITS).label("days"),
               round_float(recency, DIGITS).label("recency"),
               round_float(frequency, DIGITS).label("frequency"),
               weighted_mean(present, p.c).label("score"))
        .join(p, p.c.service_id == usage.c.service_id)
        .join(r, r.c.id == usage.c.resident_id).where(scored)
    ).cte("measures").prefix_with("MATERIALIZED")

    score = measures.c.score
    columns = _score_columns(as_of, p, measures, score, previous_day, month_ago_day)
    rows = (select(
        measures.c.resident_id, measures.c.service_id, *columns,
        literal(None, String).label("reason"), measures.c.recency, measures.c.frequency,
        present["satisfaction"].label("satisfaction"),
        present["friction"].label("friction"), measures.c.last_use.label("last_use_at"),
        measures.c.days.label("days_since_last_use"),
        measures.c.n_window.label("uses_in_window"))
        .join(p, p.c.service_id == measures.c.service_id)
        .where(score.is_not(None))
        .order_by(measures.c.service_id, measures.c.resident_id))  # the key's order
    connection.execute(insert(target).from_select(_INSERT_ORDER, rows))

    # eligible residents who never used a service with an eligibility rule
    year = as_of.year
    branches = []
    for service_id, rule in db.session.execute(
            select(Service.id, Service.eligibility).join(p, p.c.service_id == Service.id)
            .where(Service.eligibility.is_not(None))):
        if not rule:
            continue
        conditions = [scored, r.c.created_at < end, *_rule_conditions(rule, r, year)]
        used = exists().where(target.c.resident_id == r.c.id,
                              target.c.service_id == service_id)
        branches.append(select(r.c.id.label("resident_id"),
                               literal(service_id).label("service_id"))
                        .where(*conditions, ~used))
    for branch in branches:
        never = branch.subquery("never")
        zero = literal(0.0)
        rows = (select(never.c.resident_id, never.c.service_id,
                       *_score_columns(as_of, p, never, zero, previous_day, month_ago_day),
                       literal(NEVER_USED).label("reason"), null(), null(), null(), null(),
                       null(), null(), literal(0).label("uses_in_window"))
                .join(p, p.c.service_id == never.c.service_id))
        connection.execute(insert(target).from_select(_INSERT_ORDER, rows))


_INSERT_ORDER = [
    "resident_id", "service_id", "as_of", "model_id", "score", "band", "window_days",
    "interval_days", "previous_score", "score_30d_ago", "trend", "computed_at", "reason",
    "recency", "frequency", "satisfaction", "friction", "last_use_at", "days_since_last_use",
    "uses_in_window",
]


def _score_columns(as_of, p, source, score, previous_day, month_ago_day):
    previous = _snapshot_score(source, previous_day)
    return [literal(as_of, Date).label("as_of"), p.c.model_id, score.label("score"),
            _band(score, p).label("band"), p.c.window_days, p.c.interval_days,
            previous.label("previous_score"),
            _snapshot_score(source, month_ago_day).label("score_30d_ago"),
            _trend(score, previous).label("trend"),
            literal(utcnow(), UTCDateTime).label("computed_at")]


def _snapshot_score(source, day: date | None):
    """The pair's score in the snapshot of ``day``: one primary-key lookup per row
    (NULL when there is no such day yet)."""
    if day is None:
        return null()
    s = ScoreSnapshot.__table__
    return (select(s.c.score).where(s.c.resident_id == source.c.resident_id,
                                    s.c.service_id == source.c.service_id, s.c.as_of == day)
            .scalar_subquery())


def _rule_conditions(rule: dict, r, year: int) -> list:
    """The SQL twin of ``portal.services.eligibility.is_eligible``."""
    conditions = []
    if "min_age" in rule:
        conditions.append(r.c.birth_year <= year - int(rule["min_age"]))
    if "max_age" in rule:
        conditions.append(r.c.birth_year >= year - int(rule["max_age"]))
    if "districts" in rule:
        conditions.append(r.c.district.in_(list(rule["districts"])))
    if "child_under" in rule:
        limit = int(rule["child_under"])
        child = Resident.__table__.alias("child")
        young = and_(child.c.birth_year > year - limit, child.c.birth_year <= year)
        conditions.append(or_(
            and_(r.c.birth_year > year - limit, r.c.birth_year <= year),
            exists().where(child.c.household_id == r.c.household_id, young)))
    return conditions


def _write_snapshots(connection, target: Table, as_of: date) -> None:
    s = ScoreSnapshot.__table__
    connection.execute(delete(s).where(s.c.as_of == as_of))
    connection.execute(insert(s).from_select(
        ["resident_id", "service_id", "as_of", "score", "band", "model_id"],
        select(target.c.resident_id, target.c.service_id, literal(as_of, Date),
               target.c.score, target.c.band, target.c.model_id)))


def _write_aggregates(connection, target: Table, as_of: date, end) -> None:
    """Per service, per department and for everything: counts by band, mean, median
    (per service), at-risk residents, measure means, a histogram, active residents.

    One grouped pass gives everything that adds up (per service and histogram bin);
    departments and the municipality are summed from it. Only what does not add up
    — distinct residents, the median — takes a query of its own."""
    services = Service.__table__
    department_of = dict(connection.execute(select(services.c.id, services.c.department_id)).all())
    at_risk = or_(target.c.band == Band.RED.value,
                  target.c.score_30d_ago - target.c.score >= AT_RISK_DROP)
    bin_ = case((target.c.score >= 100, HISTOGRAM_BINS - 1),
                else_=cast(func.floor(target.c.score / 10), Integer))
    flag = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    sums = [func.sum(target.c[m]) for m in MEASURES]
    counts = [func.count(target.c[m]) for m in MEASURES]
    query = (select(target.c.service_id, bin_, func.count(),
                    *(flag(target.c.band == b.value) for b in Band), flag(at_risk),
                    flag(target.c.reason == NEVER_USED), func.sum(target.c.score),
                    *sums, *counts)
             .group_by(target.c.service_id, bin_))
    totals: dict[tuple[str, int], dict] = {}
    for row in connection.execute(query):
        service_id, bin_value, n = row[0], int(row[1]), row[2]
        red, yellow, green, risky, never, score_sum = row[3:9]
        measure_sums, measure_counts = row[9:9 + len(MEASURES)], row[9 + len(MEASURES):]
        for key in (("service", service_id), ("department", department_of[service_id]),
                    ("all", 0)):
            t = totals.setdefault(key, {"histogram": [0] * HISTOGRAM_BINS, "scores": 0,
                                        "red": 0, "yellow": 0, "green": 0, "at_risk": 0,
                                        "never_used": 0, "score_sum": 0.0,
                                        "sums": [0.0] * len(MEASURES),
                                        "counts": [0] * len(MEASURES)})
            t["histogram"][bin_value] += n
            t["scores"] += n
            for name, value in (("red", red), ("yellow", yellow), ("green", green),
                                ("at_risk", risky), ("never_used", never)):
                t[name] += value or 0
            t["score_sum"] += score_sum or 0.0
            for i in range(len(MEASURES)):
                t["sums"][i] += measure_sums[i] or 0.0
                t["counts"][i] += measure_counts[i] or 0
    rows = {key: _aggregate_row(t) for key, t in totals.items()}
    for (scope, _), row in rows.items():
        if scope == "service":  # one score per resident and service
            row["residents"], row["at_risk_residents"] = row["scores"], row.pop("at_risk")
        else:
            row.pop("at_risk")
    # distinct residents across services: departments, then everything
    department = services.c.department_id
    for scope, key in (("department", department), ("all", literal(0))):
        for key_value, residents, risky in connection.execute(
                select(key, func.count(target.c.resident_id.distinct()),
                       func.count(case((at_risk, target.c.resident_id)).distinct()))
                .select_from(target.join(services, services.c.id == target.c.service_id))
                .group_by(key)):
            rows[(scope, int(key_value))].update(residents=residents, at_risk_residents=risky)
    # the median of each service: the middle one or two scores
    ordered = (select(target.c.service_id, target.c.score,
                      func.row_number().over(partition_by=target.c.service_id,
                                             order_by=target.c.score).label("n"),
                      func.count().over(partition_by=target.c.service_id).label("total"))
               .subquery())
    middle = or_(ordered.c.n == (ordered.c.total + 1) // 2,
                 ordered.c.n == (ordered.c.total + 2) // 2)
    for service_id, median in connection.execute(
            select(ordered.c.service_id, func.avg(ordered.c.score)).where(middle)
            .group_by(ordered.c.service_id)):
        rows[("service", service_id)]["median"] = median
    _add_active_residents(connection, rows, end)
    rows.setdefault(("all", 0), _empty_aggregate())  # every day has its point in the history

    a = ScoreAggregate.__table__
    connection.execute(delete(a).where(a.c.as_of == as_of))
    now = utcnow()
    connection.execute(insert(a), [
        {"as_of": as_of, "scope": scope, "scope_id": scope_id, "computed_at": now, **values}
        for (scope, scope_id), values in rows.items()])


def _aggregate_row(t: dict) -> dict:
    scores = t["scores"]
    return {"scores": scores, "residents": 0, "red": t["red"], "yellow": t["yellow"],
            "green": t["green"], "at_risk": t["at_risk"], "at_risk_residents": 0,
            "never_used": t["never_used"], "mean": t["score_sum"] / scores if scores else None,
            "median": None, "histogram": t["histogram"], "active_30": 0, "active_90": 0,
            **{f"{m}_mean": (t["sums"][i] / t["counts"][i] if t["counts"][i] else None)
               for i, m in enumerate(MEASURES)}}


def _add_active_residents(connection, rows: dict, end) -> None:
    """Residents with any use in the last 30 and 90 days, whether scored or not."""
    e, services = UsageEvent.__table__, Service.__table__
    since_90, since_30 = end - timedelta(days=90), end - timedelta(days=30)
    recent = and_(e.c.occurred_at >= since_90, e.c.occurred_at < end)
    last_30 = e.c.occurred_at >= since_30
    keys = {"service": e.c.service_id, "department": services.c.department_id,
            "all": literal(0)}
    for scope, key in keys.items():
        query = (select(key.label("key"), func.count(e.c.resident_id.distinct()),
                        func.count(case((last_30, e.c.resident_id)).distinct()))
                 .select_from(e.join(services, services.c.id == e.c.service_id))
                 .where(recent).group_by(key))
        for key_value, active_90, active_30 in connection.execute(query):
            values = rows.setdefault((scope, int(key_value)), _empty_aggregate())
            values.update(active_90=active_90, active_30=active_30)


def _empty_aggregate() -> dict:
    return {"scores": 0, "residents": 0, "red": 0, "yellow": 0, "green": 0,
            "at_risk_residents": 0, "never_used": 0, "mean": None, "median": None,
            **{f"{m}_mean": None for m in MEASURES}, "histogram": [0] * HISTOGRAM_BINS,
            "active_30": 0, "active_90": 0}


def history_days(months: int, today: date) -> list[date]:
    """The first day of each of the last ``months`` months, then ``today``."""
    days = []
    year, month = today.year, today.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        days.append(date(year, month, 1))
    return [*sorted(days), today]
