"""Anonymous means anonymous: no column or foreign key of the responses leads to a
resident, an invitation, its token or an account (other than the staff member who
entered a paper form), and the stored rows of an anonymous response carry no
resident, no exact time, and leave no draft or audit entry naming the resident."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, inspect, or_, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.surveys import answering
from portal.surveys.models import Answer, Invitation, Response, SurveyDraft
from portal.timeutil import local_today, utcnow
from tests import factories
from tests import survey_factories as sf
from tests.conftest import sign_in


def test_the_responses_schema_has_no_link_to_residents_or_invitations(app):
    inspector = inspect(db.session.connection())
    columns = {c["name"] for c in inspector.get_columns("survey_responses")}
    assert columns == {"id", "survey_id", "resident_id", "channel", "submission_key",
                       "submitted_at", "district", "age_band", "locale", "detractor",
                       "entered_by_id"}
    keys = {(tuple(fk["constrained_columns"]), fk["referred_table"])
            for fk in inspector.get_foreign_keys("survey_responses")}
    assert keys == {(("survey_id",), "surveys"), (("resident_id",), "residents"),
                    (("entered_by_id",), "users")}
    assert not any("token" in c or "invitation" in c for c in columns)
    # answers lead only to their response and their question
    answer_keys = {fk["referred_table"] for fk in inspector.get_foreign_keys("survey_answers")}
    assert answer_keys == {"survey_responses", "survey_questions"}
    # and nothing else points at a response (no join table through an invitation)
    for table in inspector.get_table_names():
        if table in ("survey_answers",):
            continue
        for fk in inspector.get_foreign_keys(table):
            assert fk["referred_table"] != "survey_responses", table


@pytest.fixture
def anonymous(catalogue):
    return sf.survey(catalogue["library"],
                     {"key": "nps", "type": "nps", "required": True},
                     {"key": "why", "type": "long_text", "section": 2},
                     anonymous=True)


def _answer(client, url, survey, section, key, **answers):
    data = {f"q{q.id}": str(answers[q.key]) for q in survey.questions if q.key in answers}
    data.update({"survey": str(survey.id), "section": str(section), "submission_key": key,
                 "action": "next"})
    return client.post(url, data=data)


def test_an_anonymous_answer_by_link_keeps_nothing_that_leads_back(client, anonymous, caplog):
    who = factories.resident(district="北町", birth_year=1990)
    invitation, token = sf.invitation(anonymous, who)
    db.session.commit()
    url = f"/surveys/i/{token}"
    caplog.set_level(logging.DEBUG)
    key = sf.key()
    # save a draft half-way (it is keyed by the invitation until the response is sent)
    saved = client.post(url, data={f"q{anonymous.questions[0].id}": "3", "survey":
                                   str(anonymous.id), "section": "1", "submission_key": key,
                                   "action": "save"})
    assert saved.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 1
    _answer(client, url, anonymous, 1, key, nps=3)
    done = _answer(client, url, anonymous, 2, key, nps=3, why="私の名前は佐藤です")
    assert done.status_code == 302

    response = db.session.scalar(select(Response).where(Response.survey_id == anonymous.id))
    assert response.resident_id is None and response.entered_by_id is None
    assert response.submitted_at == datetime.combine(local_today(), time.min, tzinfo=UTC)
    assert (response.district, response.age_band, response.locale) == ("北町", "18-39", "ja")
    assert response.detractor
    assert response.submission_key == key and token not in response.submission_key
    # the invitation only learns that it was completed
    assert db.session.get(Invitation, invitation.id).completed_at is not None
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
    # no audit entry names the resident, none mentions the response
    entries = db.session.scalars(select(AuditEntry)).all()
    assert not [e for e in entries if e.target_type == "residents"
                and e.target_id == str(who.id)]
    assert not [e for e in entries if str(response.id) in str(e.data or {})
                and e.action.startswith("survey")]
    # no log line carries the resident, the token or its hash
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and invitation.token_hash not in logged
    assert f"resident {who.id}" not in logged and f"resident_id={who.id}" not in logged


def test_a_signed_in_anonymous_answer_has_no_resident(app, anonymous, make_user):
    user = make_user(Role.RESIDENT)
    who = factories.resident(user_id=user.id)
    sf.invitation(anonymous, who)
    db.session.commit()
    client = sign_in(app.test_client(), user)
    key = sf.key()
    _answer(client, f"/surveys/{anonymous.id}", anonymous, 1, key, nps=9)
    assert _answer(client, f"/surveys/{anonymous.id}", anonymous, 2, key,
                   nps=9).status_code == 302
    response = db.session.scalar(select(Response).where(Response.survey_id == anonymous.id))
    assert response.resident_id is None and response.channel == "web"
    assert response.submitted_at.time() == time.min
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft).where(
        SurveyDraft.user_id == user.id)) == 0


def test_staff_entry_of_an_anonymous_paper_form_names_no_resident(staff_client, users,
                                                                  anonymous):
    who = factories.resident()
    db.session.commit()
    # a resident in the address is ignored for an anonymous survey
    url = f"/admin/surveys/{anonymous.id}/responses/new?resident={who.id}"
    page = staff_client.get(url).get_data(as_text=True)
    assert who.family_name not in page.split("<main", 1)[1]
    data = {f"q{anonymous.questions[0].id}": "10", "survey": str(anonymous.id),
            "submission_key": sf.key(), "channel": "paper"}
    assert staff_client.post(url, data=data).status_code == 302
    response = db.session.scalar(select(Response).where(Response.survey_id == anonymous.id))
    assert response.resident_id is None and response.channel == "paper"
    assert response.district is None and response.submitted_at.time() == time.min
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "survey_response.enter"))
    assert entry.target_type == "surveys" and entry.target_id == str(anonymous.id)
    assert set(entry.data) == {"channel"}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.target_type == "residents", AuditEntry.target_id == str(who.id))) == 0


def test_identified_answers_keep_the_resident(app, catalogue):
    survey = sf.survey(catalogue["library"], {"key": "csat", "type": "csat"})
    who = factories.resident()
    invitation, _ = sf.invitation(survey, who)
    response = answering.submit(survey, {"csat": 5}, channel="email", invitation=invitation,
                                submission_key=sf.key())
    assert response.resident_id == who.id
    assert abs((response.submitted_at - utcnow()).total_seconds()) < 60  # the exact time
    assert db.session.scalar(select(func.count()).select_from(Answer).where(
        Answer.response_id == response.id)) == 1


def test_no_row_of_an_anonymous_survey_names_a_resident(app, catalogue):
    """Many answers through submit: every response of the survey has no resident."""
    survey = sf.survey(catalogue["library"], {"key": "csat", "type": "csat"}, anonymous=True)
    for n in range(3):
        who = factories.resident()
        invitation, _ = sf.invitation(survey, who)
        answering.submit(survey, {"csat": n + 1}, channel="email", invitation=invitation,
                         resident=who, submission_key=sf.key())
    rows = db.session.scalars(select(Response).where(Response.survey_id == survey.id)).all()
    assert len(rows) == 3
    assert all(r.resident_id is None for r in rows)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        or_(AuditEntry.action.like("survey%")))) == 0
