"""The starter surveys (``portal seed``) and the responses ``portal demo`` gives them."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.residents.models import Resident
from portal.surveys import definition, starter
from portal.surveys.models import Answer, Invitation, Response, Survey, SurveyStatus


def test_seed_adds_the_starters_as_drafts_once(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert f"starter surveys added as drafts: {len(starter.STARTERS)}" in first.output
    surveys = db.session.scalars(select(Survey).order_by(Survey.id)).all()
    assert sorted(s.seed_key for s in surveys) == sorted(starter.STARTERS)
    assert {s.status for s in surveys} == {SurveyStatus.DRAFT}
    again = runner.invoke(args=["seed"])
    assert "starter surveys added as drafts: 0" in again.output
    assert db.session.scalar(select(func.count()).select_from(Survey)) == len(starter.STARTERS)
    by_key = {s.seed_key: s for s in surveys}
    assert by_key["resident-nps"].anonymous and by_key["resident-nps"].service_id is None
    assert by_key["counter-visit-csat"].service.slug == "resident-certificate"
    assert by_key["online-application-ces"].questions[0].type == "ces"
    for survey in surveys:  # both languages everywhere, and the definition round-trips
        assert survey.title_ja and survey.title_en and survey.thanks_ja and survey.thanks_en
        assert all(q.text_ja and q.text_en for q in survey.questions)
        exported = definition.to_definition(survey)["questions"]
        source = starter.definition(survey.seed_key)["questions"]
        assert [(q["key"], q["type"], q.get("show_if")) for q in exported] == \
            [(q["key"], q["type"], q.get("show_if")) for q in source]
        errors, _ = definition.check(starter.definition(survey.seed_key))
        assert errors == []


def test_demo_answers_the_starters_consistently(runner):
    result = runner.invoke(args=["demo", "--residents", "300", "--months", "6", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "survey responses" in result.output
    surveys = {s.seed_key: s for s in db.session.scalars(
        select(Survey).where(Survey.seed_key.in_(starter.DEMO_FILLED)))}
    assert {s.status for s in surveys.values()} == {SurveyStatus.OPEN}
    # the inquiry follow-up is a template the closed loop copies per service
    template = db.session.scalar(select(Survey).where(
        Survey.seed_key == "inquiry-followup-csat"))
    assert template.status == SurveyStatus.DRAFT and template.service_id is None
    for key, survey in surveys.items():
        responses = db.session.scalars(select(Response).where(
            Response.survey_id == survey.id)).all()
        completed = db.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.survey_id == survey.id, Invitation.completed_at.is_not(None)))
        invited = db.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.survey_id == survey.id))
        assert responses, key
        assert completed == len(responses) < invited
        waiting = db.session.scalar(select(func.count()).select_from(Invitation).join(
            Resident, Resident.id == Invitation.resident_id).join(
            User, User.id == Resident.user_id).where(
            Invitation.survey_id == survey.id, User.email == "resident@demo.example",
            Invitation.completed_at.is_(None)))
        assert waiting == 1  # the demo resident has each survey waiting on My page
        for response in responses:
            if survey.anonymous:  # nothing that leads back to a resident
                assert response.resident_id is None
                stamp = response.submitted_at.astimezone(UTC)
                assert (stamp.hour, stamp.minute, stamp.second) == (0, 0, 0)
            else:
                assert response.resident_id is not None
            scales = {a.question.type: a.number for a in response.answers
                      if a.question.type in ("csat", "nps", "ces")}
            assert scales, key  # the scale question is required
            low = {"nps": 6, "csat": 2, "ces": 2}
            assert response.detractor == any(v <= low[t] for t, v in scales.items())
    # the show-if logic is followed: a comment on the counter survey only after a low CSAT
    counter = surveys["counter-visit-csat"]
    improve = next(q for q in counter.questions if q.key == "improve")
    csat = next(q for q in counter.questions if q.key == "csat")
    commented = db.session.scalars(select(Answer.response_id).where(
        Answer.question_id == improve.id)).all()
    for response_id in commented:
        value = db.session.scalar(select(Answer.number).where(
            Answer.response_id == response_id, Answer.question_id == csat.id))
        assert value <= 3
    # a second demo (another seed) adds residents but does not answer the surveys twice
    before = db.session.scalar(select(func.count()).select_from(Response))
    again = runner.invoke(args=["demo", "--residents", "5", "--seed", "5"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == before
