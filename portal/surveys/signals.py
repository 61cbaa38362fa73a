"""What other features read from surveys (STYLE.md 5b): selectables of resident and
service ids with a time, which the engagement recompute and the playbook triggers
compose into their own statements (a GROUP BY, an INSERT … SELECT). Nothing here
runs a query by itself.

Only **identified** surveys feed these signals: an anonymous response has no
resident (``Response.resident_id`` is NULL) and the survey says so
(``Survey.anonymous``); both are checked, so an anonymous answer can never count
for a resident.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Select, and_, case, cast, literal, or_, select, true

from portal.residents.models import Resident
from portal.surveys.models import SCALES, Answer, Question, QuestionType, Response, Survey

# CSAT 1–5 → 0, 25, 50, 75, 100; NPS 0–10 → × 10; CES 1–7 → (v − 1) / 6 × 100
NORMALISED = {
    QuestionType.CSAT: lambda v: (v - 1) * 25.0,
    QuestionType.NPS: lambda v: v * 10.0,
    QuestionType.CES: lambda v: (v - 1) * 100.0 / 6.0,
}


def normalised(question_type: str, value: int) -> float:
    """A CSAT, NPS or CES answer on the 0–100 scale of the satisfaction measure (the
    Python twin of the SQL in ``satisfaction_answers``)."""
    return NORMALISED[QuestionType(question_type)](value)


def _normalised_sql(question_type, number):
    v = cast(number, Float)
    return case(
        (question_type == QuestionType.CSAT.value, (v - literal(1.0)) * literal(25.0)),
        (question_type == QuestionType.NPS.value, v * literal(10.0)),
        else_=(v - literal(1.0)) * literal(100.0 / 6.0))


def _on_a_scale(question_type, number):
    """A CSAT, NPS or CES question, and an answer within its scale (a number out of
    it — which the form refuses — never reaches a score)."""
    return or_(*(and_(question_type == t.value, number >= low, number <= high)
                 for t, (low, high) in SCALES.items()))


def satisfaction_answers(start: datetime, end: datetime, *, scored_only: bool = True) -> Select:
    """The answers behind the engagement score's *satisfaction* measure, one row per
    answer submitted in [``start``, ``end``): columns ``resident_id``,
    ``service_id``, ``value`` (0–100, see ``NORMALISED``) and ``submitted_at``, then
    ``survey_id``, ``response_id``, ``question_type`` and ``number`` (the answer
    on its own scale) for whoever wants to show them.

    Answers of identified surveys about a service (``Survey.service_id`` set,
    ``anonymous`` false) to CSAT, NPS and CES questions. Residents who have not
    consented to profiling, and erased records, are left out (they are not scored
    either) — unless ``scored_only`` is false: the recompute, which leaves them out
    of every score by itself, saves the look-up of each answer's resident."""
    a, q, resp, s = (Answer.__table__, Question.__table__, Response.__table__,
                     Survey.__table__)
    r = Resident.__table__
    joined = (resp.join(s, s.c.id == resp.c.survey_id)
              .join(a, a.c.response_id == resp.c.id)
              .join(q, q.c.id == a.c.question_id))
    conditions = [resp.c.submitted_at >= start, resp.c.submitted_at < end,
                  s.c.service_id.is_not(None), s.c.anonymous.is_not(true()),
                  resp.c.resident_id.is_not(None),
                  q.c.type.in_([t.value for t in SCALES]), _on_a_scale(q.c.type, a.c.number)]
    if scored_only:
        joined = joined.join(r, r.c.id == resp.c.resident_id)
        conditions += [r.c.consent_profiling.is_(true()), r.c.anonymised_at.is_(None)]
    return (select(resp.c.resident_id.label("resident_id"), s.c.service_id.label("service_id"),
                   _normalised_sql(q.c.type, a.c.number).label("value"),
                   resp.c.submitted_at.label("submitted_at"),
                   s.c.id.label("survey_id"), resp.c.id.label("response_id"),
                   q.c.type.label("question_type"), a.c.number.label("number"))
            .select_from(joined).where(*conditions))


def detractors(since: datetime, until: datetime) -> Select:
    """Detractors for the playbooks' "survey detractor" trigger: one row per
    identified response submitted in [``since``, ``until``) that is marked
    ``Response.detractor`` (an NPS 0–6, CSAT 1–2 or CES 1–2 answer). Columns
    ``resident_id``, ``service_id`` (NULL for a survey about no service),
    ``survey_id``, ``response_id``, ``submitted_at``.

    Anonymous surveys never appear (no resident to reach). Erased records are left
    out; consent to outreach is for the playbook's message step to check, as for
    every other trigger."""
    resp, s, r = Response.__table__, Survey.__table__, Resident.__table__
    return (select(resp.c.resident_id.label("resident_id"), s.c.service_id.label("service_id"),
                   s.c.id.label("survey_id"), resp.c.id.label("response_id"),
                   resp.c.submitted_at.label("submitted_at"))
            .select_from(resp.join(s, s.c.id == resp.c.survey_id)
                         .join(r, r.c.id == resp.c.resident_id))
            .where(resp.c.detractor.is_(true()), resp.c.submitted_at >= since,
                   resp.c.submitted_at < until, s.c.anonymous.is_not(true()),
                   resp.c.resident_id.is_not(None), r.c.anonymised_at.is_(None)))
