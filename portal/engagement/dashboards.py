"""Reading scores for the console: KPI tiles, a service's engagement, the at-risk
list, a resident's scores with their history, and the equity view. Every function
is a fixed number of queries, whatever the size of the municipality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import contains_eager

from portal.auth.models import User
from portal.engagement.explain import LATEST_ANSWERS, SATISFACTION_DAYS, AnswerLine
from portal.engagement.models import EngagementScore, ScoreAggregate, ScoreSnapshot
from portal.engagement.scoring import AT_RISK_DROP
from portal.extensions import db
from portal.i18n_fields import localized_pair
from portal.permissions import can_view_all_usage
from portal.residents import districts
from portal.residents.models import Resident
from portal.residents.records import name_conditions
from portal.services.models import Service
from portal.surveys.models import Response, Survey
from portal.surveys.signals import satisfaction_answers
from portal.timeutil import local_day_start

MIN_GROUP = 5  # groups smaller than this are suppressed in the equity view
AGE_BANDS = (("0-17", 0, 17), ("18-39", 18, 39), ("40-64", 40, 64), ("65-74", 65, 74),
             ("75+", 75, 200))


def at_risk_condition():
    return or_(EngagementScore.band == "red",
               EngagementScore.score_30d_ago - EngagementScore.score >= AT_RISK_DROP)


def latest_day() -> date | None:
    return db.session.scalar(select(func.max(ScoreAggregate.as_of)))


def scope_for(user: User) -> tuple[str, int]:
    """Whose figures the console home shows: everything, or the staff member's department."""
    if can_view_all_usage(user) or user.role == "official":
        return "all", 0
    return "department", user.department_id or -1


@dataclass(frozen=True)
class Kpi:
    key: str
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def kpis(scope: str, scope_id: int) -> tuple[date | None, list[Kpi]]:
    """Active residents (30, 90 days), residents needing attention and the mean score, each
    against the figure of a month earlier (two queries)."""
    day = latest_day()
    if day is None:
        return None, []
    month_ago = db.session.scalar(select(func.max(ScoreAggregate.as_of)).where(
        ScoreAggregate.as_of <= day - timedelta(days=30)))
    rows = {row.as_of: row for row in db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.scope == scope, ScoreAggregate.scope_id == scope_id,
        ScoreAggregate.as_of.in_([d for d in (day, month_ago) if d])))}
    now, before = rows.get(day), rows.get(month_ago) if month_ago else None

    def pair(attribute):
        return (getattr(now, attribute) if now else None,
                getattr(before, attribute) if before else None)

    return day, [Kpi("active_30", *pair("active_30")), Kpi("active_90", *pair("active_90")),
                 Kpi("at_risk", *pair("at_risk_residents")), Kpi("mean", *pair("mean"))]


def service_figures(day: date | None, service_ids: list[int]) -> dict[int, ScoreAggregate]:
    """Each service's figures on ``day``: residents scored, needing attention, red... (one
    query)."""
    if day is None or not service_ids:
        return {}
    return {row.scope_id: row for row in db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.as_of == day, ScoreAggregate.scope == "service",
        ScoreAggregate.scope_id.in_(service_ids)))}


def service_history(service_id: int, months: int = 12) -> list[ScoreAggregate]:
    day = latest_day()
    if day is None:
        return []
    since = day - timedelta(days=round(months * 30.44) + 1)
    return list(db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.scope == "service", ScoreAggregate.scope_id == service_id,
        ScoreAggregate.as_of >= since).order_by(ScoreAggregate.as_of)))


def age_expression(year: int):
    age = literal(year) - Resident.birth_year
    return case(*((and_(age >= low, age <= high), label) for label, low, high in AGE_BANDS),
                else_=None)


@dataclass
class ListFilters:
    band: str | None = None  # "at_risk" (default), red, yellow, green, or None for all
    trend: str | None = None
    district: str | None = None
    age_band: str | None = None
    language: str | None = None
    sort: str = "score"
    q: str | None = None  # name, kana or register number


SORTS = {
    "score": (EngagementScore.score.asc(), Resident.id),
    "-score": (EngagementScore.score.desc(), Resident.id),
    "change": ((EngagementScore.score - func.coalesce(EngagementScore.score_30d_ago,
                                                      EngagementScore.score)).asc(),
               Resident.id),
    "last_use": (EngagementScore.last_use_at.asc().nulls_first(), Resident.id),
    "name": (Resident.family_name_kana, Resident.given_name_kana, Resident.id),
}


def score_list(service_id: int, filters: ListFilters, year: int) -> Select:
    """Residents' scores for one service, filtered and sorted (one query)."""
    stmt = (select(EngagementScore)
            .join(EngagementScore.resident)
            .options(contains_eager(EngagementScore.resident))
            .where(EngagementScore.service_id == service_id))
    if filters.band == "at_risk":
        stmt = stmt.where(at_risk_condition())
    elif filters.band:
        stmt = stmt.where(EngagementScore.band == filters.band)
    if filters.trend:
        stmt = stmt.where(EngagementScore.trend == filters.trend)
    if filters.district:
        stmt = stmt.where(Resident.district == filters.district)
    if filters.language:
        stmt = stmt.where(Resident.preferred_locale == filters.language)
    if filters.age_band:
        stmt = stmt.where(age_expression(year) == filters.age_band)
    if filters.q:
        stmt = stmt.where(*name_conditions(filters.q, contact=False))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["score"]))


def resident_scores(resident_id: int, service_ids: Select | None,
                    months: int = 12) -> tuple[list[EngagementScore], dict[int, list]]:
    """A resident's current scores and, per service, the history: the monthly
    snapshots, then the current score (two queries)."""
    stmt = select(EngagementScore).where(EngagementScore.resident_id == resident_id)
    history = select(ScoreSnapshot).where(ScoreSnapshot.resident_id == resident_id)
    if service_ids is not None:
        stmt = stmt.where(EngagementScore.service_id.in_(service_ids))
        history = history.where(ScoreSnapshot.service_id.in_(service_ids))
    scores = list(db.session.scalars(stmt.order_by(EngagementScore.score)))
    since = (latest_day() or date.today()) - timedelta(days=round(months * 30.44) + 1)
    by_service: dict[int, list] = {}
    for snap in db.session.scalars(history.where(ScoreSnapshot.as_of >= since)
                                   .order_by(ScoreSnapshot.as_of)):
        by_service.setdefault(snap.service_id, []).append(snap)
    for score in scores:  # the history ends with today's score (snapshots are monthly)
        points = by_service.setdefault(score.service_id, [])
        if not points or points[-1].as_of < score.as_of:
            points.append(score)
    return scores, by_service


def satisfaction_behind(scores: list[EngagementScore]) -> dict[int, list[AnswerLine]]:
    """Per service, the latest ``LATEST_ANSWERS`` survey answers behind each score's
    satisfaction measure, newest first: the answers the recompute counted (the 365
    days up to the end of the score's day, and before the run). One query for all
    of one resident's ``scores`` (they share the day), whatever their number."""
    with_answers = [s for s in scores if s.satisfaction_answers]
    if not with_answers:
        return {}
    resident_id, as_of = with_answers[0].resident_id, with_answers[0].as_of
    end = local_day_start(as_of + timedelta(days=1))
    computed = {s.service_id: s.computed_at for s in with_answers}
    answers = satisfaction_answers(end - timedelta(days=SATISFACTION_DAYS), end).where(
        Response.resident_id == resident_id, Survey.service_id.in_(list(computed))).subquery()
    ranked = select(answers, func.row_number().over(
        partition_by=answers.c.service_id,
        order_by=(answers.c.submitted_at.desc(), answers.c.response_id.desc(),
                  answers.c.question_type)).label("n")).subquery()
    behind: dict[int, list[AnswerLine]] = {}
    for row in db.session.execute(
            select(ranked, Survey).join(Survey, Survey.id == ranked.c.survey_id)
            .where(ranked.c.n <= LATEST_ANSWERS + 2)  # a few answered during the run
            .order_by(ranked.c.service_id, ranked.c.n)):
        survey = row.Survey
        if row.submitted_at >= computed[row.service_id]:
            continue  # after the run: counts from the next recompute
        lines = behind.setdefault(row.service_id, [])
        if len(lines) < LATEST_ANSWERS:
            title, lang = localized_pair(survey, "title")
            lines.append(AnswerLine(title, lang, row.question_type, row.number, row.value,
                                    row.submitted_at))
    return behind


@dataclass(frozen=True)
class EquityRow:
    group: str
    residents: int
    scores: int
    mean: float | None
    at_risk_share: float | None
    suppressed: bool


# Sorting the (few) groups after the query; suppressed groups always come last so
# that no order reveals their figures.
EQUITY_SORTS = {
    "group": None,  # districts in their list order, age bands youngest first
    "mean": lambda r: (r.suppressed, r.mean or 0.0),
    "-mean": lambda r: (r.suppressed, -(r.mean or 0.0)),
    "-at_risk": lambda r: (r.suppressed, -(r.at_risk_share or 0.0)),
    "-residents": lambda r: (r.suppressed, -r.residents),
}


def _equity_select(key, service_ids: Select | None):
    stmt = (select(key.label("group"), func.count(EngagementScore.resident_id.distinct()),
                   func.count(), func.avg(EngagementScore.score),
                   func.avg(case((at_risk_condition(), 1.0), else_=0.0)))
            .join(Resident, Resident.id == EngagementScore.resident_id))
    if service_ids is not None:
        stmt = stmt.where(EngagementScore.service_id.in_(service_ids))
    return stmt


def _equity_row(group, residents, scores, mean, share) -> EquityRow:
    small = residents < MIN_GROUP
    return EquityRow(group or "—", residents, scores, None if small else mean,
                     None if small else share, small)


def equity(dimension: str, year: int, service_ids: Select | None,
           sort: str = "group") -> list[EquityRow]:
    """Mean score and needs-attention share by district, age band or language. Groups
    with fewer than ``MIN_GROUP`` residents are suppressed (one query)."""
    key = {"district": Resident.district, "age": age_expression(year),
           "language": Resident.preferred_locale}[dimension]
    rows = [_equity_row(*row) for row in db.session.execute(
        _equity_select(key, service_ids).group_by(key))]
    # age bands youngest first, districts in the district list's order
    order = ({code: n for n, code in enumerate(districts.codes())} if dimension == "district"
             else {label: n for n, (label, _, _) in enumerate(AGE_BANDS)})
    rows.sort(key=lambda r: (order.get(r.group, len(order)), r.group))
    if EQUITY_SORTS.get(sort):
        rows.sort(key=EQUITY_SORTS[sort])  # stable: ties keep the group order
    return rows


def equity_total(service_ids: Select | None) -> EquityRow:
    """The same figures for the whole municipality: the row every group is compared
    with (one query; suppressed too when fewer than ``MIN_GROUP`` residents)."""
    row = db.session.execute(_equity_select(literal("all"), service_ids)).one()
    return _equity_row("all", *row[1:])


def visible_services(user: User) -> list[Service]:
    stmt = select(Service).order_by(Service.slug)
    if not (can_view_all_usage(user) or user.role == "official"):
        stmt = stmt.where(Service.department_id == user.department_id)
    return list(db.session.scalars(stmt))
