"""Survey rows made directly (surveys, questions, responses, answers), for the
tests of the satisfaction measure and the survey signals — without the survey
pages, which are tested on their own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

from sqlalchemy import select

from portal.extensions import db
from portal.services.models import Department
from portal.surveys.models import Answer, Question, Response, Survey
from portal.timeutil import local_zone
from tests import factories

DETRACTING = {"nps": range(0, 7), "csat": range(1, 3), "ces": range(1, 3)}


def survey(slug: str | None, types=("csat", "nps", "ces"), *, anonymous: bool = False,
           title_ja: str = "窓口アンケート", title_en: str = "Counter survey") -> Survey:
    """A survey about the service ``slug`` (None: about no service) with one
    question of each of ``types`` (keys q1, q2...)."""
    if slug is None:
        service_id = None
        department_id = db.session.scalars(select(Department.id).order_by(Department.id)).first()
    else:
        service = factories.service(slug)
        service_id, department_id = service.id, service.department_id
    made = Survey(department_id=department_id, service_id=service_id, anonymous=anonymous,
                  status="open", title_ja=title_ja, title_en=title_en)
    made.questions = [Question(key=f"q{n}", position=n, type=kind, text_ja=f"質問{n}",
                               text_en=f"Question {n}", scale_max=5 if kind == "rating" else None)
                      for n, kind in enumerate(types, start=1)]
    db.session.add(made)
    db.session.flush()
    return made


def respond(survey: Survey, who, numbers: dict[str, int], *, at: datetime,
            channel: str = "web") -> Response:
    """A completed response: ``numbers`` maps a question key to its answer. An
    anonymous survey's response has no resident (``who`` is ignored), its time a date."""
    questions = {q.key: q for q in survey.questions}
    if survey.anonymous:  # the time of an anonymous response is kept as a date only
        at = datetime.combine(at.astimezone(local_zone()).date(), time.min, tzinfo=UTC)
    detractor = any(numbers[key] in DETRACTING.get(questions[key].type, ())
                    for key in numbers)
    response = Response(
        survey_id=survey.id, resident_id=None if survey.anonymous else who.id,
        channel=channel, submission_key=uuid.uuid4().hex, submitted_at=at,
        detractor=detractor,
        answers=[Answer(question_id=questions[key].id, number=value)
                 for key, value in numbers.items()])
    db.session.add(response)
    db.session.flush()
    return response
