"""Calibration: does the score predict who stops using a service?

For the regular users scored about 90 days ago, the share who lapsed since — by band
and by score decile — and the area under the ROC curve of "a lower score then
means a lapse since", per model version; and the preview a manager sees before
saving new weights or band edges. The formulas are in ``docs/scoring.md``
("Calibration").

Definitions (all per service, with its expected interval i):

- *now* (T): the day of the current scores; *then* (S): the snapshot day nearest
  to T − 90 days, among the days 75 to 105 days before T (the snapshots are kept
  for every month's first day, so one is always within ±15 days once the history
  is long enough); none: "no history yet";
- *in the calibration*: residents with a snapshot on S who were *regular users*
  of the service then — at least ``MIN_REGULAR_USES`` (2) uses in the 3 intervals
  up to the end of S, the KPIs' regular use, so not lapsed yet — and who are still
  scored now (consent withdrawn or record erased: left out). A resident with a
  single use is left out: the lapse KPI does not count them either, and the
  question here is how well the score foretold *that* figure;
- *lapsed*: no use for more than 3 intervals as of the end of T (the last use
  before the end of T − 3i). Together with the above: "no use for more than 3
  expected intervals after regular use", the lapse of the KPIs. Both come from
  ``kpis`` (``regular_window``, ``MIN_REGULAR_USES``, ``lapsed_condition``),
  which owns the definition.

A model version's figures use the score stored on S where that version made it,
and otherwise the score it gives the use known on S ("re-scored": recency and
frequency worked out again from the usage events of the window before S by the
recompute's own expressions, ``scoring._Inputs``; satisfaction from the survey
answers of the 365 days up to S, missing without any; friction from the
inquiries pending at the end of S as the stored times tell it,
``portal.inquiries.friction``, as the recompute has them). Everything is
set-based: one bounded grouped pass over each service's events of the window
before S and one over its inquiries received in the window before S, joined to the
snapshot and the current scores; the figures of every model version shown come
from one query over that (counts per band and decile, and the AUC from midranks
by window functions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, func, literal, select, union_all

from portal.db_types import UTCDateTime
from portal.engagement import weights
from portal.engagement.explain import SATISFACTION_DAYS
from portal.engagement.kpis import (
    MIN_REGULAR_USES,
    lapse_days,
    lapsed_condition,
    regular_window,
)
from portal.engagement.models import (
    MEASURES,
    Band,
    EngagementScore,
    ScoreSnapshot,
    ScoringModel,
)
from portal.engagement.scoring import (
    DIGITS,
    HISTOGRAM_BINS,
    NEVER_USED,
    _Inputs,
    current_as_of,
)
from portal.extensions import db
from portal.inquiries.friction import friction_counts
from portal.services.models import Service, UsageEvent
from portal.sql import days_between, round_float
from portal.surveys.models import Survey
from portal.surveys.signals import satisfaction_answers
from portal.timeutil import local_day_start

HORIZON_DAYS = 90
# a snapshot 75–105 days before the current scores will do: month starts are at
# most 31 days apart, so one is always this close once the history is long enough
HORIZON_SLACK = 15
MIN_PER_CLASS = 5  # fewer lapsed or fewer not lapsed: "not enough data"
BANDS = (Band.RED.value, Band.YELLOW.value, Band.GREEN.value)


def day_end(day: date) -> datetime:
    return local_day_start(day + timedelta(days=1))


@dataclass(frozen=True)
class Horizon:
    then: date  # the snapshot day S
    now: date  # the day of the current scores T

    @property
    def days(self) -> int:
        return (self.now - self.then).days


def horizon_window() -> tuple[int, int]:
    """How many days before the current scores a snapshot may be, at least and at most."""
    return HORIZON_DAYS - HORIZON_SLACK, HORIZON_DAYS + HORIZON_SLACK


def horizon(now: date | None = None) -> Horizon | None:
    """S and T, or None when there are no current scores or no snapshot 75–105 days
    before them (a handful of snapshot days in that range: read and picked here)."""
    now = now or current_as_of()
    if now is None:
        return None
    target = now - timedelta(days=HORIZON_DAYS)
    days = db.session.scalars(select(ScoreSnapshot.as_of).distinct().where(
        ScoreSnapshot.as_of >= target - timedelta(days=HORIZON_SLACK),
        ScoreSnapshot.as_of <= target + timedelta(days=HORIZON_SLACK))).all()
    if not days:
        return None
    return Horizon(min(days, key=lambda d: (abs((d - target).days), d)), now)


@dataclass(frozen=True)
class Unsaved:
    """Weights and band edges entered in the form, shaped like a ``ScoringModel``
    for the scoring expressions (no id: never matches a stored score)."""

    values: weights.ModelValues
    id: None = None
    version: None = None

    def weights(self) -> dict[str, int]:
        return dict(self.values.weights)

    @property
    def red_below(self) -> int:
        return self.values.red_below

    @property
    def green_from(self) -> int:
        return self.values.green_from


@dataclass(frozen=True)
class Row:
    key: str
    n: int
    lapsed: int

    @property
    def share(self) -> float | None:
        return self.lapsed / self.n if self.n else None


@dataclass(frozen=True)
class Calibration:
    model: ScoringModel | Unsaved
    bands: list[Row]
    deciles: list[Row]
    lapsed: int
    kept: int  # not lapsed
    auc: float | None  # None: not enough data
    rescored: bool  # some scores were worked out again (not the stored ones)

    @property
    def n(self) -> int:
        return self.lapsed + self.kept

    @property
    def enough(self) -> bool:
        return self.auc is not None


def decile_labels() -> list[str]:
    """The score's deciles, as the score distribution chart labels them."""
    return [f"{n * 10}–{n * 10 + 9}" if n < HISTOGRAM_BINS - 1 else "90–100"
            for n in range(HISTOGRAM_BINS)]


def _population(service: Service, models: list, span: Horizon):
    """One service's residents in the calibration (the regular users as of S who are
    still scored): whether they lapsed by T (1/0)
    and, for each of ``models`` (variant k), their score and band on S under it and
    whether that is the stored score (columns ``score_k``, ``band_k``, ``stored_k``).
    One bounded grouped pass over the service's events of the window before S."""
    end_then, end_now = day_end(span.then), day_end(span.now)
    inputs = [_Inputs(service, model, span.then, end_then) for model in models]
    p = inputs[0]  # the interval and window do not depend on the model
    e, s, c = UsageEvent.__table__, ScoreSnapshot.__table__, EngagementScore.__table__
    at = e.c.occurred_at
    reach = max(p.window, lapse_days(p.interval))
    then = (select(e.c.resident_id, func.count().filter(
                at >= end_then - timedelta(days=p.window)).label("uses"),
            days_between(literal(end_then, UTCDateTime), func.max(at)).label("days"))
            .where(e.c.service_id == service.id, at >= end_then - timedelta(days=reach),
                   at < end_then)
            .group_by(e.c.resident_id)
            .having(func.count().filter(regular_window(at, end_then, p.interval))
                    >= MIN_REGULAR_USES)).subquery("then")
    # the satisfaction as it was on S: the answers of the 365 days up to the end of S
    answers = satisfaction_answers(end_then - timedelta(days=SATISFACTION_DAYS),
                                   end_then).where(Survey.service_id == service.id).subquery()
    said = (select(answers.c.resident_id, func.avg(answers.c.value).label("satisfaction"))
            .group_by(answers.c.resident_id).subquery("said"))
    # the friction as it was on S: the inquiries pending at the end of S
    fr = friction_counts([service.id], p.window, end_then).subquery("friction")
    friction = p.friction(fr.c.pending, fr.c.overdue)
    columns = {f"rescored_{k}": round_float(q.score(q.recency(then.c.days),
                                                    q.frequency(then.c.uses),
                                                    said.c.satisfaction, friction), DIGITS)
               for k, q in enumerate(inputs)}
    joined = (select(s.c.score.label("stored_score"), s.c.band.label("stored_band"),
                     s.c.model_id,
                     case((lapsed_condition(c.c.last_use_at, end_now, p.interval), 1),
                          else_=0).label("lapsed"),
                     *(value.label(name) for name, value in columns.items()))
              .select_from(then.outerjoin(said, said.c.resident_id == then.c.resident_id)
                           .outerjoin(fr, fr.c.resident_id == then.c.resident_id)
                           .join(s, and_(s.c.as_of == span.then,
                                             s.c.service_id == service.id,
                                             s.c.resident_id == then.c.resident_id))
                           .join(c, and_(c.c.service_id == service.id,
                                         c.c.resident_id == then.c.resident_id)))
              .subquery("joined"))
    j = joined.c
    out = [j.lapsed.label("lapsed")]
    for k, (model, q) in enumerate(zip(models, inputs, strict=True)):
        rescored = j[f"rescored_{k}"]
        if model.id is None:
            score, band, stored = rescored, q.band(rescored), literal(0)
        else:
            mine = j.model_id == model.id
            score = case((mine, j.stored_score), else_=rescored)
            band = case((mine, j.stored_band), else_=q.band(rescored))
            stored = case((mine, 1), else_=0)
        out += [score.label(f"score_{k}"), band.label(f"band_{k}"), stored.label(f"stored_{k}")]
    return select(*out)


def calibrate(pairs: list[tuple[Service, ScoringModel | Unsaved]], span: Horizon,
              *, minimum: int = MIN_PER_CLASS) -> Calibration:
    """Lapse by band and decile and the AUC, pooled over ``pairs`` (a service with
    the model to score it by). One query."""
    return calibrate_variants([(service, [model]) for service, model in pairs], span,
                              minimum=minimum)[0]


def calibrate_variants(services: list[tuple[Service, list]], span: Horizon,
                       *, minimum: int = MIN_PER_CLASS) -> list[Calibration]:
    """The same for several models at once (variant k: each service's k-th model),
    pooled over the services, in one query: the residents are read once (a CTE,
    materialised where it is used more than once), then per variant and distinct
    (score, band) the count n and lapsed l; the midrank of a score by window
    functions (the residents with a lower score + (those with this score + 1) / 2);
    then per variant, band and decile n, l and the not-lapsed residents' rank sum.
    At most 30 rows per variant come back."""
    count = len(services[0][1])
    base = union_all(*(_population(service, models, span) for service, models in services)
                     ).cte("population")
    rows = union_all(*(select(literal(k).label("k"), base.c[f"score_{k}"].label("score"),
                              base.c[f"band_{k}"].label("band"), base.c.lapsed,
                              base.c[f"stored_{k}"].label("stored"))
                       for k in range(count))).subquery("variants")
    v = rows.c
    bin_ = case((v.score >= 100, HISTOGRAM_BINS - 1),
                else_=cast(func.floor(v.score / 10), Integer))
    grouped = (select(v.k, v.score, v.band, bin_.label("bin"), func.count().label("n"),
                      func.sum(v.lapsed).label("l"), func.sum(v.stored).label("stored"))
               .group_by(v.k, v.score, v.band, bin_).subquery("grouped"))
    g = grouped.c
    tied = func.sum(g.n).over(partition_by=(g.k, g.score))
    up_to = func.sum(g.n).over(partition_by=g.k, order_by=g.score)  # with the tied ones
    ranked = select(g.k, g.band, g.bin, g.n, g.l, g.stored,
                    (up_to - tied + (tied + 1) / 2.0).label("midrank")).subquery("ranked")
    r = ranked.c
    figures = [{"bands": dict.fromkeys(BANDS, (0, 0)), "deciles": [(0, 0)] * HISTOGRAM_BINS,
                "lapsed": 0, "kept": 0, "rank_sum": 0.0, "rescored": False}
               for _ in range(count)]
    for k, band, bin_value, n, lapsed, stored, rank_sum in db.session.execute(
            select(r.k, r.band, r.bin, func.sum(r.n), func.sum(r.l), func.sum(r.stored),
                   func.sum((r.n - r.l) * r.midrank)).group_by(r.k, r.band, r.bin)):
        f = figures[int(k)]
        n, lapsed, stored = int(n), int(lapsed or 0), int(stored or 0)
        before = f["bands"].get(band, (0, 0))
        f["bands"][band] = (before[0] + n, before[1] + lapsed)
        index = min(max(int(bin_value), 0), HISTOGRAM_BINS - 1)
        f["deciles"][index] = (f["deciles"][index][0] + n, f["deciles"][index][1] + lapsed)
        f["lapsed"] += lapsed
        f["kept"] += n - lapsed
        f["rank_sum"] += float(rank_sum or 0.0)
        f["rescored"] = f["rescored"] or stored < n
    labels = decile_labels()
    result = []
    for k, f in enumerate(figures):
        lapsed, kept, auc = f["lapsed"], f["kept"], None
        if lapsed >= minimum and kept >= minimum:
            # Mann–Whitney: U of the not lapsed = their rank sum − n0(n0 + 1)/2
            auc = (f["rank_sum"] - kept * (kept + 1) / 2) / (kept * lapsed)
        result.append(Calibration(
            model=services[0][1][k], bands=[Row(b, *f["bands"][b]) for b in BANDS],
            deciles=[Row(label, *f["deciles"][i]) for i, label in enumerate(labels)],
            lapsed=lapsed, kept=kept, auc=auc, rescored=f["rescored"]))
    return result


def previous_model(current: ScoringModel) -> ScoringModel | None:
    """The model in force before ``current``: the version before it in its scope, or,
    for a service's own first version, the default of the time."""
    scope = (ScoringModel.service_id.is_(None) if current.service_id is None
             else ScoringModel.service_id == current.service_id)
    before = db.session.scalar(select(ScoringModel).where(
        scope, ScoringModel.version < current.version)
        .order_by(ScoringModel.version.desc()).limit(1))
    if before is not None or current.service_id is None:
        return before
    return db.session.scalar(select(ScoringModel).where(
        ScoringModel.service_id.is_(None), ScoringModel.created_at <= current.created_at)
        .order_by(ScoringModel.version.desc()).limit(1))


def stored_models(service: Service, day: date) -> list[ScoringModel]:
    """The models that made a service's snapshot of ``day`` (normally one)."""
    made = (select(ScoreSnapshot.model_id).distinct()
            .where(ScoreSnapshot.as_of == day, ScoreSnapshot.service_id == service.id))
    return list(db.session.scalars(select(ScoringModel).where(ScoringModel.id.in_(made))
                                   .order_by(ScoringModel.id)))


@dataclass(frozen=True)
class ServiceCalibration:
    span: Horizon | None
    stored_models: list[ScoringModel]
    current: Calibration | None
    previous: Calibration | None


def for_service(service: Service) -> ServiceCalibration:
    """The calibration page: the model in force and the one before it."""
    span = horizon()
    if span is None:
        return ServiceCalibration(None, [], None, None)
    current = weights.models_in_force([service])[service.id]
    before = previous_model(current)
    figures = calibrate_variants(
        [(service, [current] if before is None else [current, before])], span)
    return ServiceCalibration(span, stored_models(service, span.then), figures[0],
                              figures[1] if before is not None else None)


@dataclass(frozen=True)
class BandChange:
    before: str
    after: str
    n: int


@dataclass
class Preview:
    services: list[Service]
    total: int = 0  # current scores the preview covers
    changes: list[BandChange] = field(default_factory=list)  # only the ones that move
    span: Horizon | None = None
    now: Calibration | None = None
    new: Calibration | None = None

    @property
    def changed(self) -> int:
        return sum(change.n for change in self.changes)


def rescored_band(values: weights.ModelValues):
    """SQL: a current score's band under ``values``, from the measures it stores —
    the weighted mean of the present ones, the missing ones' weight shared out per
    row (set-based; no per-resident pass); 0 for "eligible, never used"."""
    c = EngagementScore.__table__.c
    w = values.weights
    total = sum((literal(float(w[m])) * func.coalesce(c[m], 0.0) for m in MEASURES),
                start=literal(0.0))
    present = sum((case((c[m].is_(None), 0.0), else_=float(w[m])) for m in MEASURES),
                  start=literal(0.0))
    score = case((c.reason == NEVER_USED, 0.0),
                 else_=func.coalesce(round_float(total / func.nullif(present, 0.0), DIGITS),
                                     0.0))
    return case((score < values.red_below, Band.RED.value),
                (score < values.green_from, Band.YELLOW.value), else_=Band.GREEN.value)


def band_changes(service_ids: list[int], values: weights.ModelValues
                 ) -> tuple[int, list[BandChange]]:
    """How many current scores there are and how many would change band, from → to
    (one grouped query over the current scores)."""
    c = EngagementScore.__table__.c
    after = rescored_band(values)
    order = {band: n for n, band in enumerate(BANDS)}
    total, changes = 0, []
    for before, new, n in db.session.execute(
            select(c.band, after, func.count()).where(c.service_id.in_(service_ids))
            .group_by(c.band, after)):
        total += n
        if before != new:
            changes.append(BandChange(before, new, n))
    changes.sort(key=lambda ch: (order.get(ch.before, 9), order.get(ch.after, 9)))
    return total, changes


def preview(service: Service | None, values: weights.ModelValues) -> Preview:
    """What saving ``values`` for ``service`` (None: the default, for every active
    service that uses it) would change: band moves of the current scores, and the
    calibration now and with the values over the stored history. Reads only."""
    values.check()
    if service is not None:
        services = [service]
    else:
        active = list(db.session.scalars(select(Service).where(Service.active.is_(True))
                                          .order_by(Service.id)))
        models = weights.models_in_force(active)
        services = [s for s in active if models[s.id].service_id is None]
    result = Preview(services)
    if not services:
        return result
    result.total, result.changes = band_changes([s.id for s in services], values)
    result.span = horizon()
    if result.span is not None:
        models = weights.models_in_force(services)
        result.now, result.new = calibrate_variants(
            [(s, [models[s.id], Unsaved(values)]) for s in services], result.span)
    return result
