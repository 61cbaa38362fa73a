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
- satisfaction: the mean of the resident's answers to CSAT, NPS and CES questions
  of identified surveys about the service submitted in the 365 days up to T
  (T − 365 d ≤ t < T), each normalised to 0–100
  (``portal.surveys.signals.satisfaction_answers``); missing when there are none;
- friction: 100 − 25 × (the resident's inquiries about the service received in
  the window W = max(90 days, i) — the one frequency counts uses in — and still
  pending at T: status new, open or waiting) − 25 × (those of them overdue at T:
  due before T), floored at 0; 100 when there are none. Merged duplicates are
  closed and do not count. For T in the past, "pending at T" is worked out from
  the stored times (``portal.inquiries.friction``);
- score: the weighted mean of the present measures (a missing measure's weight is
  shared out in proportion); an eligible resident who never used the service
  scores 0 with the reason "eligible_never_used";
- band: red below the model's red edge, green from its green edge, yellow between;
- previous score and trend: against the current scores before the run (the day
  before, normally); the score 30 days ago: the same model on the events known
  then, worked out in the same pass (so a change of weights does not read as a
  fall, and no daily copy of every score has to be kept for it) — with the
  satisfaction of then, the answers of the 365 days up to T − 30 d (a new answer
  is not a jump of the model), and the friction of then, the inquiries pending at
  T − 30 d (received in the window before it; overdue then) as the stored times
  tell it.

Residents without consent to profiling, and erased records, are not scored.
Everything is SQL over sets: one grouped pass over the survey answers of the
run (``score_satisfaction``: per resident and service, the satisfaction now and
30 days ago), one grouped pass over the inquiries per distinct window
(``score_friction``: the pending and overdue counts now and 30 days ago), one
grouped pass over each service's usage events, joined to each only for services
that have rows in it, into a fresh table that replaces the
current scores, then the aggregates, all in the caller's single transaction, so
readers see the old scores or the new ones, never a mix. The scores of a month's
first day (and of any older day a run fills in) are kept as snapshots: the
per-resident history.
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
    PrimaryKeyConstraint,
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
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.schema import DropTable

from portal.auth.models import User
from portal.db_types import UTCDateTime
from portal.engagement import kpis, weights
from portal.engagement.explain import SATISFACTION_DAYS
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
from portal.inquiries.friction import friction_counts
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.sql import CreateTableAs, days_between, round_float
from portal.surveys.signals import satisfaction_answers
from portal.timeutil import local_day_start, utcnow

NEVER_USED = "eligible_never_used"
TREND_STEP = 1.0  # points: a smaller change is "same"
AT_RISK_DROP = 15.0  # points within 30 days
HISTOGRAM_BINS = 10
DIGITS = 4  # stored precision: the same on SQLite and PostgreSQL
FRICTION_STEP = 25.0  # points of friction per pending inquiry, and per overdue one

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
    """Keep the first day of every month (the 12-month trends) and, for
    ``keep_days``, any other day a run filled in. One DELETE."""
    s = ScoreSnapshot.__table__
    result = db.session.execute(delete(s).where(
        s.c.as_of < today - timedelta(days=keep_days), extract("day", s.c.as_of) != 1))
    return result.rowcount or 0


def current_as_of() -> date | None:
    return db.session.scalar(select(func.max(EngagementScore.as_of)))


def recompute(as_of: date, *, actor: User | None = None, friction: bool = True) -> ScoreRun:
    """Score every resident and service in scope for the local day ``as_of``.

    The new scores go into a fresh table (``engagement_scores_next``) that then
    replaces the current one, in the caller's transaction: writing into a table
    without indexes and building them afterwards is several times faster than
    deleting and re-inserting 10⁶ indexed rows. Snapshots and aggregates are
    written from the fresh table, and the swap comes last, so that on PostgreSQL
    readers are held up only for the swap and the commit (SQLite readers never
    wait). An older day (filling history) writes its snapshot and aggregates
    only; a month's first day also keeps its snapshot. A failure leaves the
    transaction to be rolled back, and with it everything the run created.

    ``friction=False`` is for ``bench/inquiries_bench.py`` only: it skips the pass
    over the inquiries and scores friction 100 for everyone (as before inquiries
    existed), so that the bench can time the measure's cost. Nothing else may pass
    it: the scores it writes ignore every inquiry."""
    started = time.perf_counter()
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        # one recompute at a time (the daily job and a manager's button may meet),
        # taken before anything is read; SQLite serialises writers by itself
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('portal.recompute'))"))
        # compiling the scoring statement for the JIT costs more than it saves
        connection.execute(text("SET LOCAL jit = off"))
    end = local_day_start(as_of + timedelta(days=1))
    services = db.session.scalars(select(Service).where(Service.active.is_(True))
                                  .order_by(Service.id)).all()
    models = weights.models_in_force(services)
    newest = current_as_of()
    replace_current = newest is None or as_of >= newest

    fresh = _fresh_table(postgresql)
    satisfaction = _satisfaction_table(postgresql)
    frictions = _friction_table(postgresql)
    temporary = [fresh, satisfaction, frictions] if postgresql \
        else [fresh, UNSCORED, satisfaction, frictions]
    for table in temporary:  # left over by a run that was not rolled back
        table.drop(connection, checkfirst=True)
    month_ago = local_day_start(as_of - timedelta(days=29))
    answered = _fill_satisfaction(connection, satisfaction, end, month_ago, postgresql)
    frictioned = _fill_friction(connection, frictions, services, end, month_ago, postgresql,
                                skip=not friction)
    year = as_of.year
    used, never = [], []
    for service in services:
        inputs = _Inputs(service, models[service.id], as_of, end)
        used.append(_used(inputs, _unscored(postgresql), previous=replace_current,
                          satisfaction=satisfaction if service.id in answered else None,
                          friction=frictions if service.id in frictioned else None))
        if inputs.has_rule:
            never.append(_never_used(inputs, year, previous=replace_current))
    _fill(connection, fresh, used, never, postgresql)
    count = connection.execute(select(func.count()).select_from(fresh)).scalar_one()
    if not replace_current or as_of.day == 1:
        _write_snapshots(connection, fresh, as_of)
    eligibility = {s.id: _rule_conditions(s.eligibility, Resident.__table__, year)
                   for s in services if s.eligibility}
    _write_aggregates(connection, fresh, as_of, end, [s.id for s in services], eligibility)
    if replace_current:
        _replace_current(connection, fresh, postgresql)
    for table in temporary:
        table.drop(connection, checkfirst=True)
    db.session.expire_all()
    run = ScoreRun(as_of=as_of, scores=count, replaced_current=replace_current,
                   triggered_by_id=actor.id if actor else None,
                   duration_ms=round((time.perf_counter() - started) * 1000),
                   details={"services": len(services)})
    db.session.add(run)
    db.session.flush()
    return run


def rewrite_aggregates(as_of: date) -> None:
    """The recompute's aggregate step alone: the aggregates of ``as_of`` worked out
    again from the current scores, in the caller's transaction. The bench times it
    (it is the part of a run that no way of getting the inputs can avoid)."""
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    services = db.session.scalars(select(Service).where(Service.active.is_(True))
                                  .order_by(Service.id)).all()
    if not postgresql:
        UNSCORED.drop(connection, checkfirst=True)
        UNSCORED.create(connection)
        connection.execute(insert(UNSCORED).from_select(
            ["id"], _unscored_residents(Resident.__table__)))
    eligibility = {s.id: _rule_conditions(s.eligibility, Resident.__table__, as_of.year)
                   for s in services if s.eligibility}
    _write_aggregates(connection, EngagementScore.__table__, as_of,
                      local_day_start(as_of + timedelta(days=1)), [s.id for s in services],
                      eligibility)
    if not postgresql:
        UNSCORED.drop(connection)


FRESH = "engagement_scores_next"
SATISFACTION = "score_satisfaction"
FRICTION = "score_friction"
# OFFSET 0, written out (a bound 0 is not a fence for PostgreSQL's planner)
FENCE = literal_column("0")
# residents who are not scored (no consent to profiling, or erased), for this run
UNSCORED = Table("score_unscored", MetaData(), Column("id", Integer, primary_key=True),
                 prefixes=["TEMPORARY"])


def _fresh_table(postgresql: bool) -> Table:
    """A table like ``engagement_scores``. On PostgreSQL it is made by CREATE TABLE
    … AS and keyed and indexed once the rows are in (one index build instead of
    10⁶ index insertions); on SQLite it is created with its primary key (SQLite
    cannot add one later) and filled in the key's order."""
    current = EngagementScore.__table__
    columns = [Column(c.name, c.type, nullable=c.nullable) for c in current.columns]
    if postgresql:
        return Table(FRESH, MetaData(), *columns)
    return Table(FRESH, MetaData(), *columns,
                 PrimaryKeyConstraint("service_id", "resident_id", name="pk_engagement_scores"),
                 sqlite_with_rowid=False)


def _satisfaction_table(postgresql: bool) -> Table:
    """Per (service, resident) who answered: the satisfaction measure and the number
    of answers behind it, now (the 365 days up to T) and 30 days ago (the 365 days
    up to T − 30 d). A temporary table on SQLite; on PostgreSQL an ordinary one,
    made and dropped in the run's transaction like the fresh scores, because
    parallel workers cannot read a temporary table."""
    return Table(SATISFACTION, MetaData(),
                 Column("service_id", Integer, nullable=False),
                 Column("resident_id", Integer, nullable=False),
                 Column("satisfaction", Float), Column("answers", Integer, nullable=False),
                 Column("satisfaction_then", Float),
                 Column("answers_then", Integer, nullable=False),
                 PrimaryKeyConstraint("service_id", "resident_id",
                                      name=f"pk_{SATISFACTION}"),
                 prefixes=[] if postgresql else ["TEMPORARY"], sqlite_with_rowid=False)


def _fill_satisfaction(connection, table: Table, end, month_ago, postgresql: bool) -> set[int]:
    """One grouped pass over the survey answers of both windows into ``table``; the
    services that have any (only their statements join it: the others keep the
    score with a constant denominator and no look-up per row)."""
    year = timedelta(days=SATISFACTION_DAYS)
    table.create(connection)
    # residents who are not scored may be in it: no score looks them up
    answers = satisfaction_answers(month_ago - year, end, scored_only=False).subquery("answers")
    a = answers.c
    now, then = a.submitted_at >= end - year, a.submitted_at < month_ago
    grouped = (select(a.service_id, a.resident_id, func.avg(a.value).filter(now),
                      func.count().filter(now), func.avg(a.value).filter(then),
                      func.count().filter(then))
               .group_by(a.service_id, a.resident_id))
    if not postgresql:  # SQLite: in the key's order (PostgreSQL: a hash aggregate)
        grouped = grouped.order_by(a.service_id, a.resident_id)
    connection.execute(insert(table).from_select([c.name for c in table.columns], grouped))
    if postgresql:
        connection.execute(text(f"ANALYZE {SATISFACTION}"))
    return set(connection.execute(select(table.c.service_id).distinct()).scalars())


def _friction_table(postgresql: bool) -> Table:
    """Per (service, resident) with a pending inquiry now or 30 days ago: the
    inquiries pending and overdue at T and at T − 30 d (``portal.inquiries.friction``).
    Temporary on SQLite, an ordinary table made and dropped in the run's transaction
    on PostgreSQL, as ``score_satisfaction``."""
    return Table(FRICTION, MetaData(),
                 Column("service_id", Integer, nullable=False),
                 Column("resident_id", Integer, nullable=False),
                 Column("pending", Integer, nullable=False),
                 Column("overdue", Integer, nullable=False),
                 Column("pending_then", Integer, nullable=False),
                 Column("overdue_then", Integer, nullable=False),
                 PrimaryKeyConstraint("service_id", "resident_id", name=f"pk_{FRICTION}"),
                 prefixes=[] if postgresql else ["TEMPORARY"], sqlite_with_rowid=False)


def _fill_friction(connection, table: Table, services: list[Service], end, month_ago,
                   postgresql: bool, *, skip: bool = False) -> set[int]:
    """One grouped pass over the inquiries, each service with its scoring window, into
    ``table``; the services that have rows (only their statements join it).
    ``skip``: the bench's run without friction — the table stays empty."""
    table.create(connection)
    if skip or not services:
        return set()
    # one pass for every service, each with its own window (four passes, one per
    # distinct window, read the recent inquiries four times: 0.25 → 0.15 s at 200 000)
    windows = {service.id: max(90, service.expected_interval_days) for service in services}
    counts = friction_counts(windows, None, end, month_ago)
    if not postgresql:  # SQLite: in the key's order
        counts = counts.order_by(*counts.selected_columns[:2])
    connection.execute(insert(table).from_select([c.name for c in table.columns], counts))
    if postgresql:
        connection.execute(text(f"ANALYZE {FRICTION}"))
    return set(connection.execute(select(table.c.service_id).distinct()).scalars())


def _fill(connection, fresh: Table, used: list, never: list, postgresql: bool) -> None:
    """The new scores: every service's users, then the residents eligible for a
    service who never used it; on PostgreSQL then the key, the index (under
    names of their own until the swap) and the planner's statistics."""
    names = [c.name for c in fresh.columns]
    if postgresql and not used:  # no active service
        fresh.create(connection)
    elif postgresql:
        # one statement for all the users (CREATE TABLE … AS may also use parallel
        # workers where INSERT … SELECT may not)
        typed = []  # CREATE TABLE … AS takes the column types from the query
        for branch in used:
            rows = branch.subquery()
            typed.append(select(*(cast(rows.c[n], fresh.c[n].type).label(n) for n in names)))
        connection.execute(CreateTableAs(FRESH, union_all(*typed)))
        not_null = [n for n in names if not fresh.c[n].nullable]
        connection.execute(text(f"ALTER TABLE {FRESH} " + ", ".join(
            f"ALTER COLUMN {n} SET NOT NULL" for n in not_null)))
    else:
        fresh.create(connection)
        UNSCORED.create(connection)
        r = Resident.__table__
        connection.execute(insert(UNSCORED).from_select(["id"], _unscored_residents(r)))
        for branch in used:
            connection.execute(insert(fresh).from_select(names, branch))
    for branch in never:
        connection.execute(insert(fresh).from_select(names, branch))
    if postgresql:
        connection.execute(text(f"ALTER TABLE {FRESH} ADD CONSTRAINT pk_{FRESH} "
                                "PRIMARY KEY (service_id, resident_id)"))
        for index in EngagementScore.__table__.indexes:
            columns = ", ".join(c.name for c in index.columns)
            connection.execute(text(f"CREATE INDEX {index.name}_next ON {FRESH} ({columns})"))
        connection.execute(text(f"ANALYZE {FRESH}"))


def _replace_current(connection, fresh: Table, postgresql: bool) -> None:
    """The swap. On PostgreSQL it waits for readers of the old table (at most 30 s:
    better to fail and run again than to hold every reader up behind it), and it
    first drops any resident whose consent was withdrawn since the run read the
    residents — with the residents locked against changes until the commit, so
    that a withdrawal either came before (and is removed here) or comes after
    (and removes the new scores itself)."""
    current = EngagementScore.__table__
    if postgresql:
        connection.execute(text("SET LOCAL lock_timeout = '30s'"))
        connection.execute(text("LOCK TABLE residents IN SHARE MODE"))
        connection.execute(delete(fresh).where(
            fresh.c.resident_id.in_(_unscored_residents(Resident.__table__))))
    connection.execute(DropTable(current))
    connection.execute(text(f"ALTER TABLE {FRESH} RENAME TO {current.name}"))
    if postgresql:
        connection.execute(text(f"ALTER TABLE {current.name} RENAME CONSTRAINT pk_{FRESH} "
                                f"TO pk_{current.name}"))
        for index in current.indexes:
            connection.execute(text(f"ALTER INDEX {index.name}_next RENAME TO {index.name}"))
        connection.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
    else:
        for index in current.indexes:
            index.create(connection)


def _unscored_residents(r):
    """Residents who are not scored: no consent to profiling, or erased."""
    return select(r.c.id).where(or_(r.c.consent_profiling.is_not(true()),
                                    r.c.anonymised_at.is_not(None)))


def _unscored(postgresql: bool):
    # PostgreSQL's parallel workers cannot read temporary tables: there the residents
    # are read by each service's statement; SQLite reads a temporary copy
    if postgresql:
        return _unscored_residents(Resident.__table__)
    return select(UNSCORED.c.id)


class _Inputs:
    """One service's parameters for one day, bound into its statements as constants."""

    def __init__(self, service: Service, model, as_of: date, end) -> None:
        self.service_id, self.model_id = service.id, model.id
        self.interval = service.expected_interval_days
        self.window = max(90, self.interval)
        self.as_of, self.end = as_of, end
        self.month_ago = local_day_start(as_of - timedelta(days=29))  # the end of D − 30
        self.weights = model.weights()
        self.red_below, self.green_from = model.red_below, model.green_from
        self.rule = service.eligibility or {}
        self.has_rule = bool(self.rule)
        self.computed_at = utcnow()

    def recency(self, days):
        """100 at or under one interval since the last use, 0 at three, linear between
        (NULL days: no use, NULL recency)."""
        interval = literal(float(self.interval))
        return case((days <= interval, 100.0), (days >= 3 * interval, 0.0),
                    else_=100.0 * (3 * interval - days) / (2 * interval))

    def frequency(self, uses):
        """Uses in the window against the expected count, at most 100."""
        raw = uses * (100.0 * self.interval / self.window)
        return case((raw > 100, 100.0), else_=raw)

    def score(self, recency, frequency, satisfaction=None, friction=None):
        """The weighted mean of a used service's measures: recency and frequency are
        always there, satisfaction (a column that is NULL where there are no answers;
        None: missing for every row) is there for residents who answered, and
        friction (an expression that is never NULL; None: 100 for every row, a
        service without pending inquiries) always."""
        return weighted_mean({"recency": recency, "frequency": frequency,
                              "satisfaction": None if satisfaction is None
                              else Sometimes(satisfaction),
                              "friction": 100.0 if friction is None else friction},
                             self.weights)

    @staticmethod
    def friction(pending, overdue):
        """100 − 25 per pending inquiry − 25 more per overdue one, at least 0; 100
        without any (NULL counts: the resident has no row in ``score_friction``)."""
        raw = literal(100.0) - FRICTION_STEP * (func.coalesce(pending, 0)
                                                + func.coalesce(overdue, 0))
        return case((raw < 0, 0.0), else_=raw)

    def band(self, score):
        return case((score < self.red_below, Band.RED.value),
                    (score < self.green_from, Band.YELLOW.value), else_=Band.GREEN.value)


def _used(p: _Inputs, unscored, *, previous: bool, satisfaction: Table | None = None,
          friction: Table | None = None):
    """Residents who used the service: one grouped pass over its events (the index's
    order) for the inputs now and 30 days ago, then the measures and the scores —
    with the satisfaction now and then looked up in ``satisfaction`` (the run's
    ``score_satisfaction``) for a service that has answers; without it, missing;
    and the inquiries behind friction now and then in ``friction`` (the run's
    ``score_friction``) for a service that has pending ones; without it, 100."""
    e = UsageEvent.__table__
    at = e.c.occurred_at
    window_start = p.end - timedelta(days=p.window)
    window_start_then = p.month_ago - timedelta(days=p.window)
    last_use = func.max(at)
    usage = (select(
        e.c.resident_id, last_use.label("last_use"),
        func.count().filter(at >= window_start).label("uses"),
        days_between(literal(p.end, UTCDateTime), last_use).label("days"),
        func.count().filter(and_(at >= window_start_then, at < p.month_ago)).label("uses_then"),
        func.max(at).filter(at < p.month_ago).label("last_use_then"),
        *kpis.usage_columns(at, p.end, p.interval, month_ago=p.month_ago))
        .where(e.c.service_id == p.service_id, at < p.end)
        .group_by(e.c.resident_id)
        .having(e.c.resident_id.not_in(unscored))).subquery("usage")
    u = usage.c
    recency, frequency = p.recency(u.days), p.frequency(u.uses)
    days_then = days_between(literal(p.month_ago, UTCDateTime), u.last_use_then)
    # not used yet 30 days ago: as for a resident who never used it, 0 when the
    # service has a rule and the resident was registered then, otherwise no score
    # (looked up only for those residents)
    r = Resident.__table__
    never_then = (select(case((r.c.created_at < p.month_ago, 0.0)))
                  .where(r.c.id == u.resident_id).scalar_subquery()
                  if p.has_rule else null())
    # OFFSET 0 keeps this a subquery worked out once per row: merged into the query
    # around it, the score would be worked out again for the band and the trend
    if satisfaction is None:
        source, sat_now, sat_then, answers = usage, None, None, literal(0)
    else:
        sat = satisfaction
        source = usage.outerjoin(sat, and_(sat.c.service_id == p.service_id,
                                           sat.c.resident_id == u.resident_id))
        sat_now, sat_then = sat.c.satisfaction, sat.c.satisfaction_then
        answers = func.coalesce(sat.c.answers, 0)
    if friction is None:
        fr_now = fr_then = None
        pending = overdue = literal(0)
    else:
        f = friction
        source = source.outerjoin(f, and_(f.c.service_id == p.service_id,
                                          f.c.resident_id == u.resident_id))
        fr_now = p.friction(f.c.pending, f.c.overdue)
        fr_then = p.friction(f.c.pending_then, f.c.overdue_then)
        pending, overdue = func.coalesce(f.c.pending, 0), func.coalesce(f.c.overdue, 0)
    scored = (select(
        u.resident_id, u.last_use, u.uses, round_float(u.days, DIGITS).label("days"),
        *kpis.pair_values(u, p.end, p.month_ago),
        round_float(recency, DIGITS).label("recency"),
        round_float(frequency, DIGITS).label("frequency"),
        (null() if sat_now is None else round_float(sat_now, DIGITS)).label("satisfaction"),
        answers.label("satisfaction_answers"),
        (literal(100.0) if fr_now is None else fr_now).label("friction"),
        pending.label("inquiries_pending"), overdue.label("inquiries_overdue"),
        round_float(p.score(recency, frequency, sat_now, fr_now), DIGITS).label("score"),
        case((u.last_use_then.is_(None), never_then),
             else_=round_float(p.score(p.recency(days_then), p.frequency(u.uses_then),
                                       sat_then, fr_then), DIGITS)).label("score_then"))
        .select_from(source).offset(FENCE).subquery("scored"))
    return _rows(p, scored, previous=previous, values={
        "reason": null(), "recency": scored.c.recency, "frequency": scored.c.frequency,
        "satisfaction": scored.c.satisfaction,
        "satisfaction_answers": scored.c.satisfaction_answers, "friction": scored.c.friction,
        "inquiries_pending": scored.c.inquiries_pending,
        "inquiries_overdue": scored.c.inquiries_overdue,
        "last_use_at": scored.c.last_use, "days_since_last_use": scored.c.days,
        "uses_in_window": scored.c.uses, "score_30d_ago": scored.c.score_then,
        **{name: scored.c[name] for name in kpis.PAIR_COLUMNS}})


def _never_used(p: _Inputs, year: int, *, previous: bool):
    """Residents the service's eligibility rule covers who never used it: score 0."""
    r, e = Resident.__table__, UsageEvent.__table__
    used = exists().where(e.c.service_id == p.service_id, e.c.resident_id == r.c.id,
                          e.c.occurred_at < p.end)
    never = (select(r.c.id.label("resident_id"), literal(0.0).label("score"),
                    case((r.c.created_at < p.month_ago, 0.0)).label("score_then"))
             .where(r.c.consent_profiling.is_(true()), r.c.anonymised_at.is_(None),
                    r.c.created_at < p.end, *_rule_conditions(p.rule, r, year), ~used)
             .subquery("never"))
    return _rows(p, never, previous=previous, values={
        "reason": literal(NEVER_USED), "recency": null(), "frequency": null(),
        "satisfaction": null(), "satisfaction_answers": literal(0), "friction": null(),
        "inquiries_pending": literal(0), "inquiries_overdue": literal(0), "last_use_at": null(),
        "days_since_last_use": null(), "uses_in_window": literal(0),
        "score_30d_ago": never.c.score_then, **dict.fromkeys(kpis.PAIR_COLUMNS, literal(0))})


def _rows(p: _Inputs, rows, *, previous: bool, values: dict):
    """One service's rows in the table's column order, with the band, and the
    previous score and trend from the current scores (a re-run on the same day
    keeps comparing with the day before)."""
    score = rows.c.score
    columns = {"service_id": literal(p.service_id), "resident_id": rows.c.resident_id,
               "as_of": literal(p.as_of, Date), "model_id": literal(p.model_id),
               "score": score, "band": p.band(score), "window_days": literal(p.window),
               "interval_days": literal(p.interval),
               "computed_at": literal(p.computed_at, UTCDateTime), **values}
    query = select(rows)
    if previous:
        old = EngagementScore.__table__.alias("old")
        before = case((old.c.as_of < p.as_of, old.c.score), else_=old.c.previous_score)
        query = query.outerjoin(old, and_(old.c.service_id == p.service_id,
                                          old.c.resident_id == rows.c.resident_id))
        columns |= {"previous_score": before, "trend": _trend(score, before)}
    else:
        columns |= {"previous_score": null(), "trend": literal(Trend.NEW.value)}
    names = [c.name for c in EngagementScore.__table__.columns]
    return query.with_only_columns(*(columns[n].label(n) for n in names))


class Sometimes:
    """A measure present for some rows only (satisfaction: residents who answered):
    a SQL expression that is NULL where the measure is missing."""

    def __init__(self, value) -> None:
        self.value = value


def weighted_mean(measures: dict, weights: dict[str, int]):
    """SQL twin of ``explain.weighted_mean``. A measure is a number (always present),
    None (always missing: its weight is shared out in proportion), a SQL expression
    that is never NULL, or ``Sometimes(expression)``: present for some rows only.
    The denominator is worked out here, so that each row pays only for the weighted
    sum: a ``Sometimes`` measure becomes ``CASE WHEN it IS NULL THEN <the mean
    without it> ELSE <the mean with it> END`` — two constant denominators instead
    of one summed per row, and rows without the measure take exactly the statement
    they would without it (2ᵏ branches for k such measures; k is 1). NULL when no
    present measure has weight."""
    for name, value in measures.items():
        if isinstance(value, Sometimes):
            without = weighted_mean({**measures, name: None}, weights)
            if weights[name] == 0:
                return without
            return case((value.value.is_(None), without),
                        else_=weighted_mean({**measures, name: value.value}, weights))
    terms, total_weight = [], 0
    for name, value in measures.items():
        weight = weights[name]
        if value is None or weight == 0:
            continue
        is_number = isinstance(value, int | float)
        terms.append(literal(float(weight * value)) if is_number
                     else literal(float(weight)) * value)
        total_weight += weight
    if not terms:
        return null()
    return sum(terms[1:], start=terms[0]) / literal(float(total_weight))


def _trend(score, previous):
    return case((previous.is_(None), Trend.NEW.value),
                (score - previous >= TREND_STEP, Trend.UP.value),
                (previous - score >= TREND_STEP, Trend.DOWN.value), else_=Trend.SAME.value)


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
            and_(r.c.household_id.is_not(None),  # no household: no look-up
                 exists().where(child.c.household_id == r.c.household_id, young))))
    return conditions


def _write_snapshots(connection, source: Table, as_of: date) -> None:
    s = ScoreSnapshot.__table__
    connection.execute(delete(s).where(s.c.as_of == as_of))
    connection.execute(insert(s).from_select(
        ["resident_id", "service_id", "as_of", "score", "band", "model_id"],
        select(source.c.resident_id, source.c.service_id, literal(as_of, Date),
               source.c.score, source.c.band, source.c.model_id)))


def _write_aggregates(connection, target: Table, as_of: date, end,
                      active_services: list[int], eligibility: dict[int, list]) -> None:
    """Per service, per department and for everything: counts by band, mean, median
    (per service), at-risk residents, measure means, a histogram, active residents,
    and the KPIs (``portal.engagement.kpis``; ``eligibility``: the conditions of the
    active services' rules).

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
    since_90, since_30 = end - timedelta(days=90), end - timedelta(days=30)
    query = (select(target.c.service_id, bin_, func.count(),
                    *(flag(target.c.band == b.value) for b in Band), flag(at_risk),
                    flag(target.c.reason == NEVER_USED), func.sum(target.c.score),
                    flag(target.c.last_use_at >= since_30), flag(target.c.last_use_at >= since_90),
                    *sums, *counts)
             .group_by(target.c.service_id, bin_))
    totals: dict[tuple[str, int], dict] = {}
    for row in connection.execute(query):
        service_id, bin_value, n = row[0], int(row[1]), row[2]
        red, yellow, green, risky, never, score_sum, active_30, active_90 = row[3:11]
        measure_sums, measure_counts = row[11:11 + len(MEASURES)], row[11 + len(MEASURES):]
        for key in (("service", service_id), ("department", department_of[service_id]),
                    ("all", 0)):
            t = totals.setdefault(key, {"histogram": [0] * HISTOGRAM_BINS, "scores": 0,
                                        "red": 0, "yellow": 0, "green": 0, "at_risk": 0,
                                        "never_used": 0, "score_sum": 0.0,
                                        "active_30": 0, "active_90": 0,
                                        "sums": [0.0] * len(MEASURES),
                                        "counts": [0] * len(MEASURES)})
            t["histogram"][bin_value] += n
            t["scores"] += n
            for name, value in (("red", red), ("yellow", yellow), ("green", green),
                                ("at_risk", risky), ("never_used", never),
                                ("active_30", active_30), ("active_90", active_90)):
                t[name] += value or 0
            t["score_sum"] += score_sum or 0.0
            for i in range(len(MEASURES)):
                t["sums"][i] += measure_sums[i] or 0.0
                t["counts"][i] += measure_counts[i] or 0
    rows = {key: _aggregate_row(t) for key, t in totals.items()}
    for (scope, _), row in rows.items():
        at_risk_scores = row.pop("at_risk")
        if scope == "service":  # one score per resident and service
            row["residents"], row["at_risk_residents"] = row["scores"], at_risk_scores
    _add_distinct_residents(connection, target, rows, at_risk, end)
    _add_medians(connection, target, rows)
    _add_unscored_activity(connection, rows, end, department_of, active_services)
    rows.setdefault(("all", 0), _empty_aggregate())  # every day has its point in the history
    kpis.add_to_aggregates(connection, target, rows, end, department_of, eligibility)

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
            "median": None, "histogram": t["histogram"], "active_30": t["active_30"],
            "active_90": t["active_90"],
            **{f"{m}_mean": (t["sums"][i] / t["counts"][i] if t["counts"][i] else None)
               for i, m in enumerate(MEASURES)},
            "satisfaction_scores": t["counts"][MEASURES.index("satisfaction")]}


def _add_distinct_residents(connection, target: Table, rows: dict, at_risk, end) -> None:
    """Residents scored, at risk, and active in the last 30 and 90 days, each counted
    once per department and once for everything, and the KPI counts that count
    residents (``kpis.resident_flags``): one grouped pass per scope (per resident,
    then summed). Per service a score is a resident: the main pass counts them."""
    services = Service.__table__
    since_90, since_30 = end - timedelta(days=90), end - timedelta(days=30)
    last_use = target.c.last_use_at
    flags = {"at_risk_residents": at_risk, "active_30": last_use >= since_30,
             "active_90": last_use >= since_90}
    for scope, key in (("department", services.c.department_id), ("all", literal(0))):
        per_resident = (select(key.label("key"), *(
            func.max(case((condition, 1), else_=0)).label(name)
            for name, condition in flags.items()), *kpis.resident_flags(target))
            .select_from(target.join(services, services.c.id == target.c.service_id))
            .group_by(key, target.c.resident_id)).subquery()
        c = per_resident.c
        sums = {name: func.sum(c[name]) for name in flags} | kpis.resident_sums(
            c, now_30=c.active_30, now_90=c.active_90)
        for key_value, residents, *counts in connection.execute(
                select(per_resident.c.key, func.count(), *sums.values())
                .group_by(per_resident.c.key)):
            rows[(scope, int(key_value))].update(
                residents=residents, **{name: int(n or 0) for name, n in zip(sums, counts,
                                                                              strict=True)})


def _add_medians(connection, target: Table, rows: dict) -> None:
    """Each service's median: the middle one or two of its scores (a top-N sort per
    service, which stops at the middle)."""
    for (scope, service_id), values in rows.items():
        total = values["scores"]
        if scope != "service" or not total:
            continue
        middle = list(connection.execute(
            select(target.c.score).where(target.c.service_id == service_id)
            .order_by(target.c.score).offset((total - 1) // 2).limit(2 - total % 2)).scalars())
        values["median"] = sum(middle) / len(middle)


def _add_unscored_activity(connection, rows: dict, end, department_of: dict,
                           active_services: list[int]) -> None:
    """Active residents count everyone who used an active service, scored or not:
    add the residents who are not scored, from their own (few) events."""
    e = UsageEvent.__table__
    since_90, since_30 = end - timedelta(days=90), end - timedelta(days=30)
    postgresql = connection.dialect.name == "postgresql"
    recent = (select(e.c.service_id, e.c.resident_id, func.max(e.c.occurred_at))
              .where(e.c.resident_id.in_(_unscored(postgresql)), e.c.occurred_at >= since_90,
                     e.c.occurred_at < end, e.c.service_id.in_(list(active_services)))
              .group_by(e.c.service_id, e.c.resident_id))
    seen: dict[tuple[str, int], tuple[set, set]] = {}
    for service_id, resident_id, last_use in connection.execute(recent):
        for key in (("service", service_id), ("department", department_of[service_id]),
                    ("all", 0)):
            in_30, in_90 = seen.setdefault(key, (set(), set()))
            in_90.add(resident_id)
            if last_use >= since_30:
                in_30.add(resident_id)
    for key, (in_30, in_90) in seen.items():
        values = rows.setdefault(key, _empty_aggregate())
        values["active_30"] += len(in_30)
        values["active_90"] += len(in_90)


def _empty_aggregate() -> dict:
    return {"scores": 0, "residents": 0, "red": 0, "yellow": 0, "green": 0,
            "at_risk_residents": 0, "never_used": 0, "mean": None, "median": None,
            **{f"{m}_mean": None for m in MEASURES}, "satisfaction_scores": 0,
            "histogram": [0] * HISTOGRAM_BINS,
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
