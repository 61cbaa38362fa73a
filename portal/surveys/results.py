"""A survey's results from its stored answers: set-based, a fixed handful of
grouped queries whatever the number of questions and responses.

:func:`survey_counts` reads the counts (per question and value; per question,
value and break-down group; per question, value and month) — the only part that
reads all answers. The counts are kept per process, keyed by a fingerprint of
the survey's responses (their number, highest id and latest time, and the
questions), so a results page seen again costs one indexed count until a new
response arrives (the bench measures both). The figures are worked out from the
counts per request by :mod:`portal.surveys.numbers`, in the reader's language.

Also here: free-text answers and detractors limited to the residents a reader
may view, the export rows, and the console home's survey tiles.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, exists, func, literal, or_, select

from portal.auth.models import Role, User
from portal.engagement.dashboards import AGE_BANDS
from portal.extensions import db
from portal.i18n_fields import localized_pair
from portal.permissions import can_view_all_usage, can_view_residents
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.surveys import labels, numbers
from portal.surveys.models import (
    CHOICE,
    NUMERIC,
    TEXT,
    Answer,
    Invitation,
    Question,
    QuestionType,
    Response,
    ResponseChannel,
    Survey,
)
from portal.timeutil import local_day_start, local_today, local_zone

# -- label catalogues ---------------------------------------------------------------------

QUESTION_TYPE_LABELS = labels.TYPE_LABELS
RESPONSE_CHANNEL_LABELS = labels.CHANNEL_LABELS
AGE_BAND_LABELS = {
    "0-17": _l("17 or younger"),
    "18-39": _l("18–39"),
    "40-64": _l("40–64"),
    "65-74": _l("65–74"),
    "75+": _l("75 or older"),
}
DIMENSION_LABELS = {
    "district": _l("District"),
    "age_band": _l("Age"),
    "locale": _l("Language"),
    "channel": _l("Channel"),
}
DIMENSIONS = tuple(DIMENSION_LABELS)
HEADLINE_LABELS = {
    QuestionType.CSAT: _l("CSAT"),
    QuestionType.NPS: _l("NPS"),
    QuestionType.CES: _l("CES"),
    QuestionType.RATING: _l("Mean rating"),
    QuestionType.YES_NO: _l("Share of yes"),
}
NOT_KNOWN = _l("Not known")
# the number questions broken down by group (their headline figure)
BROKEN_DOWN = {QuestionType.CSAT, QuestionType.NPS, QuestionType.CES, QuestionType.RATING}
DETRACTOR_DAYS = 30
TILE_DAYS = 90


def min_n() -> int:
    return int(current_app.config.get("SURVEY_MIN_N", 5))


def option_label(question: Question, value: str) -> tuple[str, str | None]:
    """An option's label in the reader's language (with the language it is written in),
    the stored value itself for an option no longer offered."""
    for option in question.options or []:
        if option.get("value") == value:
            text, lang = localized_pair(SimpleNamespace(**{
                k: v for k, v in option.items() if k.startswith("label_")}), "label")
            return (text or value), lang
    return value, None


def group_label(dimension: str, code: str | None, district_names: dict[str, str],
                languages: dict[str, str]) -> str:
    if code is None or code == "":
        return str(NOT_KNOWN)
    if dimension == "district":
        return district_names.get(code, code)
    if dimension == "age_band":
        return str(AGE_BAND_LABELS.get(code, NOT_KNOWN))
    if dimension == "locale":
        return languages.get(code, str(NOT_KNOWN))
    return str(RESPONSE_CHANNEL_LABELS.get(code, NOT_KNOWN))


def group_order(dimension: str, district_codes: list[str], languages: list[str]):
    order = {"district": district_codes, "age_band": [b for b, _, _ in AGE_BANDS],
             "locale": languages, "channel": [c.value for c in ResponseChannel]}[dimension]
    position = {code: n for n, code in enumerate(order)}
    return lambda code: (code is None, position.get(code, len(position)), code or "")


# -- the counts ---------------------------------------------------------------------------

@dataclass
class Counts:
    """Everything the results page needs from the answers, as plain counts."""

    responses: int = 0
    first: datetime | None = None
    last: datetime | None = None
    # question id → {number: count}
    numbers: dict[int, dict[int, int]] = field(default_factory=dict)
    # question id → {choice: count}
    choices: dict[int, dict[str, int]] = field(default_factory=dict)
    # question id → responses that answered it (choices and texts)
    respondents: dict[int, int] = field(default_factory=dict)
    # dimension → question id → group code → {number: count}
    breakdown: dict[str, dict[int, dict[str | None, dict[int, int]]]] = field(
        default_factory=dict)
    # the months (first days, local), responses per month, question id → month → counts
    months: list[date] = field(default_factory=list)
    month_responses: list[int] = field(default_factory=list)
    month_numbers: dict[int, dict[int, dict[int, int]]] = field(default_factory=dict)
    # detractor responses since a window's start (filled on first use per start)
    detractors_since: dict[datetime, int] = field(default_factory=dict)


_CACHE: OrderedDict[tuple, tuple[tuple, Counts]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 64


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def _fingerprint(survey: Survey) -> tuple:
    """What changes whenever the counts change, in one statement of index look-ups:
    the number of responses (a new one adds one, a deleted one takes one away), the
    first and the latest response (time and id) and the questions. Separate
    subqueries, so that each end is one step down the (survey, time) index rather
    than a pass over every response."""
    of_survey = Response.survey_id == survey.id
    first = (select(Response.submitted_at).where(of_survey)
             .order_by(Response.submitted_at).limit(1).scalar_subquery())
    latest = select(Response.submitted_at, Response.id).where(of_survey).order_by(
        Response.submitted_at.desc(), Response.id.desc()).limit(1).subquery()
    count, start, last, highest = db.session.execute(select(
        select(func.count()).where(of_survey).scalar_subquery(), first,
        select(latest.c.submitted_at).scalar_subquery(),
        select(latest.c.id).scalar_subquery())).one()
    return (survey.created_at, count, highest, start, last,
            tuple((q.id, q.type, q.scale_max) for q in survey.questions))


def month_starts(first: datetime, last: datetime) -> list[date]:
    """The first day of each calendar month (in the municipality's time zone) from
    ``first`` to ``last``."""
    zone = local_zone()
    start, end = first.astimezone(zone).date(), last.astimezone(zone).date()
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def _month_case(months: list[date]):
    """The month index of a response's time, bounds at local midnights in UTC."""
    bounds = [local_day_start(m) for m in months[1:]]
    if not bounds:
        return literal(0)
    return case(*((Response.submitted_at < b, i) for i, b in enumerate(bounds)),
                else_=len(bounds))


def survey_counts(survey: Survey) -> Counts:
    """The survey's counts, from the per-process cache when no response arrived since."""
    key = (db.engine.url.render_as_string(hide_password=True), survey.id)
    fingerprint = _fingerprint(survey)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached and cached[0] == fingerprint:
            _CACHE.move_to_end(key)
            return cached[1]
    counts = _read_counts(survey, fingerprint)
    with _CACHE_LOCK:
        _CACHE[key] = (fingerprint, counts)
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return counts


def _read_counts(survey: Survey, fingerprint: tuple) -> Counts:
    """At most five grouped queries, whatever the numbers of questions and responses."""
    _, responses, _, first, last, _ = fingerprint
    counts = Counts(responses=responses, first=first, last=last)
    questions = survey.questions
    number_ids = [q.id for q in questions if q.type in NUMERIC]
    choice_ids = [q.id for q in questions if q.type in CHOICE]
    counted_ids = [q.id for q in questions if q.type in CHOICE | TEXT]
    broken_ids = [q.id for q in questions if q.type in BROKEN_DOWN]
    if not responses:
        return counts
    # 1. number answers by question, value and every break-down group at once: the
    #    overall distribution and each dimension are sums over this cube
    if number_ids:
        dims = [getattr(Response, d) for d in DIMENSIONS]
        rows = db.session.execute(
            select(Answer.question_id, Answer.number, *dims, func.count())
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.question_id.in_(number_ids), Answer.number.is_not(None))
            .group_by(Answer.question_id, Answer.number, *dims))
        broken = set(broken_ids)
        breakdown = {d: defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
                     for d in DIMENSIONS}
        overall = defaultdict(lambda: defaultdict(int))
        for qid, number, *groups, n in rows:
            *codes, = groups
            overall[qid][number] += n
            if qid in broken:
                for dimension, code in zip(DIMENSIONS, codes, strict=True):
                    breakdown[dimension][qid][code][number] += n
        counts.numbers = {q: dict(v) for q, v in overall.items()}
        counts.breakdown = {d: {q: {g: dict(c) for g, c in groups.items()}
                                for q, groups in per.items()}
                            for d, per in breakdown.items()}
    # 2. choices by question and option
    if choice_ids:
        per = defaultdict(dict)
        for qid, choice, n in db.session.execute(
                select(Answer.question_id, Answer.choice, func.count())
                .where(Answer.question_id.in_(choice_ids), Answer.choice.is_not(None))
                .group_by(Answer.question_id, Answer.choice)):
            per[qid][choice] = n
        counts.choices = dict(per)
    # 3. respondents of the choice and text questions (a multiple choice has a row per
    #    option chosen)
    if counted_ids:
        counts.respondents = dict(db.session.execute(
            select(Answer.question_id, func.count(Answer.response_id.distinct()))
            .where(Answer.question_id.in_(counted_ids),
                   or_(Answer.choice.is_not(None), Answer.text.is_not(None)))
            .group_by(Answer.question_id)).all())
    # 4–5. the monthly trend, when the responses span more than one month
    months = month_starts(first, last)
    if len(months) > 1:
        month = _month_case(months).label("month")
        per_month = dict(db.session.execute(
            select(month, func.count()).where(Response.survey_id == survey.id)
            .group_by(month)).all())
        counts.months = months
        counts.month_responses = [per_month.get(i, 0) for i in range(len(months))]
        if broken_ids:
            trend = defaultdict(lambda: defaultdict(dict))
            for qid, index, number, n in db.session.execute(
                    select(Answer.question_id, month, Answer.number, func.count())
                    .join(Response, Response.id == Answer.response_id)
                    .where(Answer.question_id.in_(broken_ids), Answer.number.is_not(None))
                    .group_by(Answer.question_id, month, Answer.number)):
                trend[qid][index][number] = n
            counts.month_numbers = {q: dict(v) for q, v in trend.items()}
    return counts


@dataclass(frozen=True)
class InvitationCounts:
    invited: int
    started: int
    completed: int


def invitation_counts(survey_id: int) -> InvitationCounts:
    """Invited, started (a completed invitation counts as started) and completed
    (one query; not cached: invitations change without a response)."""
    invited, started, completed = db.session.execute(
        select(func.count(),
               func.count(case((or_(Invitation.started_at.is_not(None),
                                    Invitation.completed_at.is_not(None)), 1))),
               func.count(Invitation.completed_at))
        .where(Invitation.survey_id == survey_id)).one()
    return InvitationCounts(invited, started, completed)


# -- the figures --------------------------------------------------------------------------

def question_headline(question: Question, counts: dict[int, int], at_least: int):
    return numbers.headline(question.type, counts, at_least, question.scale_max)


def first_of_type(questions: list[Question], kind: str) -> Question | None:
    return next((q for q in questions if q.type == kind), None)


def header_figures(survey: Survey, counts: Counts, invitations: InvitationCounts,
                   at_least: int) -> dict[str, Any]:
    """The page's header: responses, rates and the survey's first CSAT, NPS and CES
    questions' figures."""
    figures: dict[str, Any] = {
        "responses": counts.responses,
        "response_rate": numbers.response_rate(invitations.completed, invitations.invited,
                                               at_least),
        "started_rate": numbers.started_rate(invitations.started, invitations.invited,
                                             at_least),
        "invitations": invitations,
    }
    for kind in ("csat", "nps", "ces"):
        question = first_of_type(survey.questions, kind)
        figures[kind] = (None if question is None else
                         question_headline(question, counts.numbers.get(question.id, {}),
                                           at_least))
    return figures


def distribution(question: Question, counts: Counts, at_least: int) -> list[tuple]:
    """``(value, label, count, share)`` rows for a number or choice question."""
    if question.type in NUMERIC:
        low, high = _scale(question)
        values = counts.numbers.get(question.id, {})
        n = sum(values.values())
        return [(v, _number_label(question, v), values.get(v, 0),
                 numbers.share(values.get(v, 0), n, at_least)) for v in range(low, high + 1)]
    values = counts.choices.get(question.id, {})
    offered = [o.get("value") for o in question.options or []]
    respondents = counts.respondents.get(question.id, 0)
    return [(value, option_label(question, value)[0], count, figure)
            for value, count, figure in numbers.choice_shares(values, offered, respondents,
                                                              at_least)]


def _scale(question: Question) -> tuple[int, int]:
    from portal.surveys.logic import scale

    return scale(question)


YES_NO_LABELS = {0: _l("No"), 1: _l("Yes")}


def _number_label(question: Question, value: int) -> str:
    if question.type == QuestionType.YES_NO:
        return str(YES_NO_LABELS[value])
    return str(value)


def answered(question: Question, counts: Counts) -> int:
    if question.type in NUMERIC:
        return sum(counts.numbers.get(question.id, {}).values())
    return counts.respondents.get(question.id, 0)


@dataclass
class BreakdownRow:
    code: str | None
    label: str
    figure: numbers.Figure


def breakdown(question: Question, dimension: str, counts: Counts, at_least: int,
              district_names: dict[str, str], district_codes: list[str],
              languages: dict[str, str]) -> list[BreakdownRow]:
    """The question's headline figure per group of ``dimension``, each with its n and
    suppressed below the minimum n."""
    groups = counts.breakdown.get(dimension, {}).get(question.id, {})
    key = group_order(dimension, district_codes, list(languages))
    return [BreakdownRow(code, group_label(dimension, code, district_names, languages),
                         question_headline(question, groups[code], at_least))
            for code in sorted(groups, key=key)]


def trend(question: Question, counts: Counts, at_least: int) -> list[numbers.Figure]:
    per = counts.month_numbers.get(question.id, {})
    return [question_headline(question, per.get(i, {}), at_least)
            for i in range(len(counts.months))]


# -- who may be seen ----------------------------------------------------------------------

def viewable_residents(user: User) -> Select | None:
    """The residents whose answers ``user`` may read by name: None for every resident
    (managers, admins); staff: residents who used a service of their department;
    officials and others: nobody (an empty select)."""
    if not can_view_residents(user):
        return select(Resident.id).where(literal(False))
    if can_view_all_usage(user) or user.role in (Role.MANAGER, Role.ADMIN):
        return None
    return (select(UsageEvent.resident_id)
            .join(Service, Service.id == UsageEvent.service_id)
            .where(Service.department_id == user.department_id))


def _visible(stmt: Select, user: User) -> Select:
    """Restrict a statement over Response (identified) to residents ``user`` may view."""
    stmt = stmt.join(Resident, Resident.id == Response.resident_id).where(
        Resident.anonymised_at.is_(None))
    scope = viewable_residents(user)
    if scope is None:
        return stmt
    used = exists(scope.where(UsageEvent.resident_id == Response.resident_id))
    return stmt.where(used)


def free_text(survey: Survey, question: Question, viewer: User, q: str | None) -> Select:
    """The question's text answers, newest first, optionally containing ``q``; for an
    identified survey only of residents ``viewer`` may view (with the resident)."""
    stmt = (select(Answer.id, Answer.text, Response.submitted_at, Response.resident_id)
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.question_id == question.id, Answer.text.is_not(None),
                   Answer.text != ""))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Answer.text).like(f"%{escaped.lower()}%", escape="\\"))
    if survey.anonymous:  # by day, then by text: no order of arrival within a day
        return stmt.order_by(Response.submitted_at.desc(), Answer.text)
    stmt = _visible(stmt, viewer).add_columns(Resident.family_name, Resident.given_name)
    return stmt.order_by(Response.submitted_at.desc(), Answer.id.desc())


class RowPage:
    """One page of a multi-column select (``db.paginate`` gives scalars only), with
    the attributes the pagination macro reads (two queries)."""

    def __init__(self, stmt: Select, page: int, per_page: int) -> None:
        self.total = db.session.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(page, self.pages)
        self.items = db.session.execute(
            stmt.limit(per_page).offset((self.page - 1) * per_page)).all()
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1


def detractor_window_start() -> datetime:
    return local_day_start(local_today() - timedelta(days=DETRACTOR_DAYS))


def detractor_count(survey: Survey, counts: Counts | None = None) -> int:
    """Detractor responses of the last 30 days; kept with the survey's counts (which
    are read again when a response arrives) until the window moves on a day."""
    start = detractor_window_start()
    if counts is not None and start in counts.detractors_since:
        return counts.detractors_since[start]
    found = db.session.scalar(select(func.count()).select_from(Response).where(
        Response.survey_id == survey.id, Response.detractor.is_(True),
        Response.submitted_at >= start)) or 0
    if counts is not None:
        counts.detractors_since = {start: found}
    return found


def detractors(survey: Survey, viewer: User, limit: int = 50) -> list:
    """Detractor responses of the last 30 days of an identified survey, newest first,
    of residents ``viewer`` may view: the response, the resident and the detractor
    answers (two queries)."""
    stmt = (select(Response.id, Response.submitted_at, Response.resident_id,
                   Resident.family_name, Resident.given_name)
            .where(Response.survey_id == survey.id, Response.detractor.is_(True),
                   Response.submitted_at >= detractor_window_start()))
    rows = db.session.execute(_visible(stmt, viewer).order_by(
        Response.submitted_at.desc(), Response.id.desc()).limit(limit)).all()
    if not rows:
        return []
    scales = {q.id: q.text() for q in survey.questions if q.type in ("csat", "nps", "ces")}
    answers = defaultdict(list)
    for response_id, question_id, number in db.session.execute(
            select(Answer.response_id, Answer.question_id, Answer.number)
            .where(Answer.response_id.in_([r.id for r in rows]),
                   Answer.question_id.in_(list(scales)), Answer.number.is_not(None))
            .order_by(Answer.response_id, Answer.id)):
        answers[response_id].append(f"{scales[question_id]}: {number}")
    return [SimpleNamespace(id=r.id, submitted_at=r.submitted_at, resident_id=r.resident_id,
                            name=f"{r.family_name} {r.given_name}".strip(),
                            answers="; ".join(answers.get(r.id, []))) for r in rows]


def may_see_detractors(user: User, survey: Survey) -> bool:
    """Staff of the department of the survey's service (its own when it has none),
    managers and admins."""
    if not can_view_residents(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    department = survey.service.department_id if survey.service else survey.department_id
    return user.department_id == department


# -- export -------------------------------------------------------------------------------

EXPORT_BATCH = 2000


def export_columns(survey: Survey, identified: bool) -> list[str]:
    """Anonymous surveys have no response id either: ids follow the order of
    submission, which could be matched against the invitations' completion times."""
    columns = ["submitted_on", "channel"] if survey.anonymous else [
        "response_id", "submitted_on", "channel"]
    if identified and not survey.anonymous:
        columns += ["resident_id", "resident_external_id"]
    return columns + [q.key for q in survey.questions]


def export(survey: Survey, identified: bool) -> list[dict[str, Any]]:
    """The export's rows: identified surveys in response order; anonymous surveys
    without the response id, sorted by date and then by the answers themselves, so
    that nothing tells in which order they arrived within a day."""
    rows = list(export_rows(survey, identified))
    if survey.anonymous:
        for row in rows:
            row.pop("response_id", None)
        rows.sort(key=lambda row: tuple("" if v is None else str(v) for v in row.values()))
    return rows


def export_rows(survey: Survey, identified: bool):
    """One dict per response (in id order, read in batches): the columns of
    :func:`export_columns`; a multiple choice joined by ``;``. Anonymous surveys never
    carry resident or invitation columns, whatever ``identified`` says."""
    identified = identified and not survey.anonymous
    keys = {q.id: q.key for q in survey.questions}
    multiple = {q.id for q in survey.questions if q.type == QuestionType.MULTIPLE}
    after = 0
    while True:
        stmt = (select(Response.id, Response.submitted_at, Response.channel,
                       Response.resident_id, Resident.external_id)
                .outerjoin(Resident, Resident.id == Response.resident_id)
                .where(Response.survey_id == survey.id, Response.id > after)
                .order_by(Response.id).limit(EXPORT_BATCH))
        batch = db.session.execute(stmt).all()
        if not batch:
            return
        values: dict[int, dict[str, Any]] = defaultdict(dict)
        for response_id, question_id, number, choice, text in db.session.execute(
                select(Answer.response_id, Answer.question_id, Answer.number, Answer.choice,
                       Answer.text)
                .where(Answer.response_id.in_([r.id for r in batch]))
                .order_by(Answer.response_id, Answer.id)):
            key = keys.get(question_id)
            if key is None:
                continue
            value = number if number is not None else choice if choice is not None else text
            if question_id in multiple:
                values[response_id].setdefault(key, []).append(value)
            else:
                values[response_id][key] = value
        for r in batch:
            day = r.submitted_at.astimezone(local_zone()).date()
            if survey.anonymous:
                day = r.submitted_at.astimezone(UTC).date()  # stored as a date only
            row = {"response_id": r.id, "submitted_on": day.isoformat(),
                   "channel": r.channel}
            if identified:
                row |= {"resident_id": r.resident_id, "resident_external_id": r.external_id}
            for key in keys.values():
                value = values[r.id].get(key)
                row[key] = ";".join(str(v) for v in value) if isinstance(value, list) else value
            yield row
        after = batch[-1].id


# -- console home -------------------------------------------------------------------------

def visible_surveys(user: User) -> Select:
    """Ids of the surveys whose results ``user`` may see."""
    stmt = select(Survey.id)
    if user.role == Role.STAFF:
        stmt = stmt.where(Survey.department_id == user.department_id)
    elif user.role not in (Role.MANAGER, Role.ADMIN, Role.OFFICIAL):
        stmt = stmt.where(literal(False))
    return stmt


@dataclass
class Tile:
    key: str
    now: numbers.Figure
    before: numbers.Figure
    count: bool = False  # a plain count (responses), not a figure

    @property
    def change(self) -> float | None:
        return numbers.change(self.now, self.before)


def home_tiles(user: User, today: date | None = None) -> list[Tile]:
    """Responses, response rate, CSAT and NPS of the last 90 days against the 90 days
    before, over the surveys the user may see (three queries)."""
    today = today or local_today()
    at_least = min_n()
    start = local_day_start(today - timedelta(days=TILE_DAYS - 1))
    earlier = local_day_start(today - timedelta(days=2 * TILE_DAYS - 1))
    end = local_day_start(today + timedelta(days=1))
    surveys = visible_surveys(user)

    def period(column):
        return case((column >= start, 0), else_=1).label("period")

    response_period, invitation_period = period(Response.submitted_at), period(
        Invitation.created_at)

    in_range = and_(Response.submitted_at >= earlier, Response.submitted_at < end)
    responses = dict(db.session.execute(
        select(response_period, func.count())
        .where(Response.survey_id.in_(surveys), in_range)
        .group_by(response_period)).all())
    invitations = {p: (invited, completed) for p, invited, completed in db.session.execute(
        select(invitation_period, func.count(), func.count(Invitation.completed_at))
        .where(Invitation.survey_id.in_(surveys), Invitation.created_at >= earlier,
               Invitation.created_at < end)
        .group_by(invitation_period))}
    scales: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for p, kind, number, n in db.session.execute(
            select(response_period, Question.type, Answer.number, func.count())
            .join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Response.survey_id.in_(surveys), in_range,
                   Question.type.in_(["csat", "nps"]), Answer.number.is_not(None))
            .group_by(response_period, Question.type, Answer.number)):
        scales[(p, kind)][number] = n

    def count_figure(p):
        return numbers.Figure(n=responses.get(p, 0), value=float(responses.get(p, 0)))

    def rate(p):
        invited, completed = invitations.get(p, (0, 0))
        return numbers.response_rate(completed, invited, at_least)

    return [Tile("responses", count_figure(0), count_figure(1), count=True),
            Tile("response_rate", rate(0), rate(1)),
            Tile("csat", numbers.csat(scales[(0, "csat")], at_least),
                 numbers.csat(scales[(1, "csat")], at_least)),
            Tile("nps", numbers.nps(scales[(0, "nps")], at_least),
                 numbers.nps(scales[(1, "nps")], at_least))]
