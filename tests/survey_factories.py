"""Surveys for tests, built directly as rows (the JSON import is tested on its own)."""

from __future__ import annotations

import uuid
from typing import Any

from portal.extensions import db
from portal.surveys.models import Invitation, Question, Survey, SurveyStatus
from portal.surveys.tokens import new_token, token_hash


def survey(department, *questions: dict[str, Any], anonymous: bool = False,
           status: str = SurveyStatus.OPEN, **values) -> Survey:
    values.setdefault("title_ja", "窓口アンケート")
    values.setdefault("title_en", "Counter visit survey")
    values.setdefault("thanks_ja", "ご協力ありがとうございました。")
    values.setdefault("thanks_en", "Thank you for your help.")
    item = Survey(department_id=department.id, anonymous=anonymous, status=status, **values)
    for position, spec in enumerate(questions):
        spec = dict(spec)
        spec.setdefault("text_ja", f"質問 {spec['key']}")
        spec.setdefault("text_en", f"Question {spec['key']}")
        item.questions.append(Question(position=position, **spec))
    db.session.add(item)
    db.session.flush()
    return item


def options(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "label_ja": f"選択 {v}", "label_en": f"Choice {v}"} for v in values]


def invitation(survey: Survey, resident, **values) -> tuple[Invitation, str]:
    """An e-mailed invitation and its token (only the hash is stored)."""
    token = new_token()
    item = Invitation(survey_id=survey.id, resident_id=resident.id,
                      token_hash=token_hash(token), **values)
    db.session.add(item)
    db.session.flush()
    return item, token


def key() -> str:
    return uuid.uuid4().hex
