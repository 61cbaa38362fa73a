"""Answering a survey: the parser per question type, the section flow with show-if
on the server, tampered posts, single use of invitations (also two concurrent
submits), drafts, the pages for links that cannot be used, staff entry and the
preview."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.surveys import answering
from portal.surveys.models import (
    Answer,
    Invitation,
    Response,
    SurveyDraft,
    SurveyStatus,
)
from portal.timeutil import utcnow
from tests import factories
from tests import survey_factories as sf
from tests.conftest import sign_in

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


def all_types(department, **values):
    return sf.survey(
        department,
        {"key": "csat", "type": "csat", "required": True},
        {"key": "nps", "type": "nps"},
        {"key": "ces", "type": "ces"},
        {"key": "stars", "type": "rating", "scale_max": 4},
        {"key": "pick", "type": "single", "options": sf.options("a", "b")},
        {"key": "many", "type": "multiple", "options": sf.options("x", "y", "z")},
        {"key": "yes", "type": "yes_no"},
        {"key": "short", "type": "short_text"},
        {"key": "long", "type": "long_text"},
        **values)


def chained(department, **values):
    """Section 1: csat; why (shown when csat ≤ 2, same section). Section 2: how
    (single); detail (shown when how = online, same section). Section 3: only when
    csat ≤ 2 (a whole page revealed by an earlier page)."""
    return sf.survey(
        department,
        {"key": "csat", "type": "csat", "required": True, "section": 1},
        {"key": "why", "type": "long_text", "required": True, "section": 1,
         "show_if": {"question": "csat", "op": "at_most", "value": 2}},
        {"key": "how", "type": "single", "section": 2, "options": sf.options("counter",
                                                                               "online")},
        {"key": "detail", "type": "short_text", "section": 2,
         "show_if": {"question": "how", "op": "equals", "value": "online"}},
        {"key": "callback", "type": "yes_no", "section": 3,
         "show_if": {"question": "why", "op": "equals", "value": "never"}},
        {"key": "followup", "type": "yes_no", "section": 3,
         "show_if": {"question": "csat", "op": "at_most", "value": 2}},
        **values)


def q(survey, key):
    return next(question for question in survey.questions if question.key == key)


def field(survey, key):
    return f"q{q(survey, key).id}"


def form(survey, **answers):
    data = MultiDict()
    for key, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(field(survey, key), str(item))
    return data


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


@pytest.fixture(autouse=True)
def english(app):
    """Messages outside a request in English (the default locale is Japanese)."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


# -- the parser, per question type ---------------------------------------------------------

def test_every_type_reads_a_valid_answer(app, library):
    survey = all_types(library)
    answers, errors = answering.parse(survey, survey.questions, form(
        survey, csat=5, nps=0, ces=7, stars=4, pick="b", many=["z", "x"], yes=0,
        short="  fine  ", long="line one\r\nline two"))
    assert errors == {}
    assert answers == {"csat": 5, "nps": 0, "ces": 7, "stars": 4, "pick": "b",
                       "many": ["x", "z"], "yes": 0, "short": "fine",
                       "long": "line one\nline two"}


@pytest.mark.parametrize("key, value, message", [
    ("csat", "6", "from 1 to 5"), ("csat", "0", "from 1 to 5"), ("nps", "11", "from 0 to 10"),
    ("nps", "-1", "from 0 to 10"), ("ces", "8", "from 1 to 7"), ("stars", "5", "from 1 to 4"),
    ("yes", "2", "Choose Yes or No."), ("csat", "abc", "from 1 to 5"),
    ("pick", "c", "not one of the choices"), ("many", "w", "not one of the choices"),
    ("short", "あ" * 201, "at most 200 characters"),
    ("long", "a" * 5001, "at most 5,000 characters"),
])
def test_an_invalid_answer_gets_a_precise_message(app, library, key, value, message):
    survey = all_types(library)
    data = form(survey, csat=3)
    data.setlist(field(survey, key), [value])
    answers, errors = answering.parse(survey, survey.questions, data)
    assert message in errors[q(survey, key).id]
    assert key not in answers


def test_text_at_the_limit_is_accepted(app, library):
    survey = all_types(library)
    answers, errors = answering.parse(survey, survey.questions, form(
        survey, csat=3, short="あ" * 200, long="a" * 5000))
    assert errors == {} and len(answers["short"]) == 200 and len(answers["long"]) == 5000


def test_two_answers_to_a_scale_are_refused(app, library):
    survey = all_types(library)
    _, errors = answering.parse(survey, survey.questions, form(survey, csat=[2, 3]))
    assert "one answer only" in errors[q(survey, "csat").id]


def test_a_required_answer_missing_is_a_field_error(app, library):
    survey = all_types(library)
    answers, errors = answering.parse(survey, survey.questions, form(survey, short="kept"))
    assert errors == {q(survey, "csat").id: "Please answer this question."}
    assert answers["short"] == "kept"


def test_answers_to_other_surveys_hidden_or_closed_questions_are_tampering(app, library):
    survey, other = chained(library), chained(library)
    with pytest.raises(answering.Tampered, match="not part of this survey"):
        answering.parse(survey, survey.questions, form(other, csat=3))
    visible = [q(survey, "csat")]
    with pytest.raises(answering.Tampered, match="not shown"):
        answering.parse(survey, visible, form(survey, csat=3, why="hidden"))
    q(survey, "how").closed = True
    with pytest.raises(answering.Tampered, match="no longer asked"):
        answering.parse(survey, survey.questions, form(survey, how="online"))


def test_the_detractor_signal(app, library):
    survey = all_types(library)
    questions = survey.questions
    assert answering.is_detractor(questions, {"nps": 6})
    assert not answering.is_detractor(questions, {"nps": 7, "csat": 3, "ces": 3})
    assert answering.is_detractor(questions, {"csat": 2})
    assert answering.is_detractor(questions, {"ces": 1})
    assert not answering.is_detractor(questions, {"stars": 1, "yes": 0})


# -- the resident form by invitation link --------------------------------------------------

@pytest.fixture
def resident(catalogue):
    return factories.resident(district="中央", birth_year=1950, preferred_locale="ja")


def post(client, url, survey, action="next", section=1, key=None, shown=(), **answers):
    data = form(survey, **answers)
    data.add("survey", str(survey.id))
    data.add("section", str(section))
    data.add("submission_key", key or sf.key())
    data.add("action", action)
    for question_id in shown:
        data.add("shown", str(question_id))
    return client.post(url, data=data, headers=EN)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<fieldset[^>]*\bhidden\b[^>]*>.*?</fieldset>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_form_is_accessible_and_shows_the_scale_ends(client, library, resident):
    survey = all_types(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    page = client.get(f"/surveys/i/{token}", headers=EN).get_data(as_text=True)
    assert page.count("<fieldset") == 9 and page.count("<legend") == 9
    assert "Very dissatisfied" in page and "Very satisfied" in page
    assert "Not at all likely" in page and "Extremely likely" in page
    assert "Very difficult" in page and "Very easy" in page
    assert "Up to 5,000 characters." in page
    assert 'src="/static/js/survey-form.js"' in page and "<script>" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers: the CSP allows none
    # help text and errors are tied to their question
    assert 'aria-describedby="answer-q' in page
    ja = client.get(f"/surveys/i/{token}", headers=JA).get_data(as_text=True)
    main = ja.split('<main', 1)[1]
    assert "とても不満" in main and "質問 csat" in main and 'lang="en"' not in main


def test_the_show_if_chain_across_sections_without_javascript(client, library, resident):
    survey = chained(library)
    invitation, token = sf.invitation(survey, resident)
    db.session.commit()
    url = f"/surveys/i/{token}"
    first = client.get(url, headers=EN).get_data(as_text=True)
    assert "Question why" not in visible_text(first)  # hidden until csat ≤ 2
    assert "Update / show the next questions" in first
    assert db.session.get(Invitation, invitation.id).started_at is not None

    # the same page again, with the revealed question
    shown = [q(survey, "csat").id, q(survey, "why").id]
    again = post(client, url, survey, action="update", csat=2, shown=shown)
    assert "Question why" in visible_text(again.get_data(as_text=True))
    # Next without the now-required reason: a field error, the scale answer kept
    missing = post(client, url, survey, csat=2, shown=shown).get_data(as_text=True)
    assert "Please answer this question." in missing
    why = q(survey, "why").id
    assert f'href="#answer-q{why}-0"' in missing and f'id="answer-q{why}-0"' in missing
    assert f'aria-describedby="answer-q{why}-limit answer-q{why}-error"' in missing
    assert re.search(rf'name="{field(survey, "csat")}" value="2" id="[^"]+" checked', missing)
    # with it: page 2, carrying page 1's answers
    second = post(client, url, survey, csat=2, why="slow", shown=shown).get_data(as_text=True)
    assert "Page 2 of 3" in second and "Question how" in second
    assert f'name="{field(survey, "why")}" value="slow"' in second
    # page 2 → page 3, which exists only because csat ≤ 2
    third = post(client, url, survey, section=2, csat=2, why="slow", how="online",
                 detail="app").get_data(as_text=True)
    assert "Page 3 of 3" in visible_text(third) and "Question followup" in visible_text(third)
    assert "Question callback" not in visible_text(third)  # why ≠ never
    done = post(client, url, survey, section=3, csat=2, why="slow", how="online",
                detail="app", followup=1)
    assert done.status_code == 302 and done.location.endswith(f"/surveys/{survey.id}/thanks")
    response = db.session.scalar(select(Response).where(Response.survey_id == survey.id))
    stored = {(a.question.key, a.number, a.choice, a.text) for a in response.answers}
    assert stored == {("csat", 2, None, None), ("why", None, None, "slow"),
                      ("how", None, "online", None), ("detail", None, None, "app"),
                      ("followup", 1, None, None)}
    assert response.detractor and response.resident_id == resident.id
    assert response.channel == "email" and response.district == "中央"
    assert response.age_band == "75+" and response.locale == "en"


def test_a_satisfied_resident_skips_the_revealed_page(client, library, resident):
    survey = chained(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    url = f"/surveys/i/{token}"
    second = post(client, url, survey, csat=5).get_data(as_text=True)
    assert "Page 2 of 2" in second and "Send my answers" in second
    done = post(client, url, survey, section=2, csat=5, how="counter")
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Response)
                             .where(Response.survey_id == survey.id)) == 1


def test_a_changed_answer_drops_what_it_hides(client, library, resident):
    """csat 2 showed "why"; changed to 5, the typed reason is dropped, not stored."""
    survey = chained(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    url = f"/surveys/i/{token}"
    shown = [q(survey, "csat").id, q(survey, "why").id]
    post(client, url, survey, csat=5, why="typed before", shown=shown)
    done = post(client, url, survey, section=2, csat=5, how="counter",
                shown=[q(survey, "how").id, q(survey, "detail").id, *shown],
                why="typed before")
    assert done.status_code == 302
    texts = db.session.scalars(select(Answer.text).join(Response)
                               .where(Response.survey_id == survey.id)).all()
    assert "typed before" not in texts


def test_the_thank_you_page_in_the_page_language(client, library, resident):
    survey = chained(library, thanks_en="")
    page = client.get(f"/surveys/{survey.id}/thanks", headers=EN).get_data(as_text=True)
    assert 'lang="ja"' in page and "ご協力ありがとうございました。" in page
    assert "Thank you" in page


# -- tampered posts ------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["out_of_scale", "unknown_choice", "hidden", "other_survey",
                                  "other_token", "closed", "no_such_section"])
def test_tampered_posts_store_nothing(client, library, resident, case):
    survey, other = chained(library), chained(library)
    invitation, token = sf.invitation(survey, resident)
    _, other_token = sf.invitation(other, factories.resident())
    db.session.commit()
    url = f"/surveys/i/{token}"
    if case == "out_of_scale":
        response = post(client, url, survey, csat=9)
        assert response.status_code == 200
        assert "Choose an answer from 1 to 5." in response.get_data(as_text=True)
    elif case == "unknown_choice":
        response = post(client, url, survey, section=2, csat=5, how="bus")
        assert "is not one of the choices" in response.get_data(as_text=True)
    elif case == "hidden":
        response = post(client, url, survey, csat=5, why="sneaked in")
        assert response.status_code == 400
        assert "not shown with the answers given" in response.get_data(as_text=True)
    elif case == "other_survey":
        data = form(other, csat=3)
        data.update({"survey": str(survey.id), "section": "1", "submission_key": sf.key()})
        response = client.post(url, data=data, headers=EN)
        assert response.status_code == 400
        assert "not part of this survey" in response.get_data(as_text=True)
    elif case == "other_token":
        response = post(client, f"/surveys/i/{other_token}", survey, csat=3)
        assert response.status_code == 400
        assert "belongs to another survey" in response.get_data(as_text=True)
    elif case == "closed":
        q(survey, "how").closed = True
        db.session.commit()
        response = post(client, url, survey, section=2, csat=5, how="online")
        assert response.status_code == 400
    else:
        response = post(client, url, survey, section=9, csat=5)
        assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.get(Invitation, invitation.id).completed_at is None


# -- one response per invitation -----------------------------------------------------------

def single_page(department, **values):
    return sf.survey(department, {"key": "csat", "type": "csat", "required": True}, **values)


def count(survey) -> int:
    return db.session.scalar(select(func.count()).select_from(Response)
                             .where(Response.survey_id == survey.id))


def test_the_same_form_sent_twice_is_one_response(client, library, resident):
    survey = single_page(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    key = sf.key()
    first = post(client, f"/surveys/i/{token}", survey, key=key, csat=4)
    second = post(client, f"/surveys/i/{token}", survey, key=key, csat=4)
    assert first.status_code == second.status_code == 302
    assert second.location == first.location
    assert count(survey) == 1


def test_two_forms_on_one_invitation_are_one_response(client, library, resident):
    survey = single_page(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    assert post(client, f"/surveys/i/{token}", survey, csat=4).status_code == 302
    second = post(client, f"/surveys/i/{token}", survey, csat=1)
    assert second.status_code == 410
    assert "already been answered" in second.get_data(as_text=True)
    assert count(survey) == 1


def test_submit_twice_in_one_transaction_with_new_keys(app, library, resident):
    survey = single_page(library)
    invitation, _ = sf.invitation(survey, resident)
    answering.submit(survey, {"csat": 3}, channel="email", invitation=invitation,
                     submission_key=sf.key())
    with pytest.raises(answering.AlreadyAnswered):
        answering.submit(survey, {"csat": 3}, channel="email", invitation=invitation,
                         submission_key=sf.key())
    assert count(survey) == 1


@pytest.fixture
def own_app(tmp_path):
    """A portal on a database of its own (SQLite file, or PostgreSQL beside the
    suite's): the two submits need committed data and connections of their own."""
    from flask_migrate import upgrade

    from portal.app import create_app
    from tests.test_concurrency import _own_database_url

    urls = _own_database_url(tmp_path)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": next(urls),
                                 "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    for _ in urls:  # drops the PostgreSQL database
        pass


@pytest.mark.live
@pytest.mark.parametrize("same_key", [False, True], ids=["two tabs", "double click"])
def test_two_concurrent_submits_store_one_response(own_app, same_key):
    """Two submits at once on one invitation, each in its own app context, session
    and connection: exactly one response; the other is "already answered" (two
    tabs) or gets the same response (the same form sent twice)."""
    from portal.services.catalogue import load_catalogue
    from portal.services.models import Department
    from portal.surveys.models import Survey

    with own_app.app_context():
        load_catalogue()
        department = db.session.scalar(select(Department).where(Department.code == "library"))
        survey = single_page(department)
        invitation, _ = sf.invitation(survey, factories.resident())
        db.session.commit()
        survey_id, invitation_id = survey.id, invitation.id
    barrier = threading.Barrier(2)
    outcomes: list = []

    def answer(n: int) -> None:
        with own_app.app_context():
            try:
                target = db.session.get(Survey, survey_id)
                found = db.session.get(Invitation, invitation_id)
                db.session.commit()  # both have read; the race starts here
                barrier.wait(timeout=10)
                response = answering.submit(
                    target, {"csat": 4}, channel="email", invitation=found,
                    submission_key="same" if same_key else f"tab-{n}")
                db.session.commit()
                outcomes.append(response.id)
            except answering.AlreadyAnswered:
                db.session.rollback()
                outcomes.append("already")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with own_app.app_context():
        stored = db.session.scalars(select(Response.id).where(
            Response.survey_id == survey_id)).all()
    assert len(stored) == 1
    if same_key:
        assert outcomes == [stored[0], stored[0]]
    else:
        assert sorted(outcomes, key=str) == sorted([stored[0], "already"], key=str)


# -- links that cannot be used -------------------------------------------------------------

@pytest.mark.parametrize("case, status, text", [
    ("unknown", 404, "This survey link is not valid"),
    ("used", 410, "already been answered"),
    ("expired", 410, "This survey link has expired"),
    ("not_open", 404, "This survey is not open yet"),
    ("closed", 410, "This survey is closed"),
    ("closed_by_date", 410, "This survey is closed"),
])
def test_links_that_cannot_be_used_get_a_clear_page(client, library, resident, case, status,
                                                    text):
    survey = single_page(library)
    invitation, token = sf.invitation(survey, resident)
    if case == "unknown":
        token = "x" * 43
    elif case == "used":
        invitation.completed_at = utcnow()
    elif case == "expired":
        invitation.expires_at = utcnow() - timedelta(minutes=1)
    elif case == "not_open":
        survey.status = SurveyStatus.DRAFT
    elif case == "closed":
        survey.status = SurveyStatus.CLOSED
    else:
        survey.opens_on = (utcnow() - timedelta(days=30)).date()
        survey.closes_on = (utcnow() - timedelta(days=2)).date()
    db.session.commit()
    for method in ("get", "post"):
        response = getattr(client, method)(f"/surveys/i/{token}", headers=EN)
        assert response.status_code == status
        assert text in response.get_data(as_text=True)
    ja = client.get(f"/surveys/i/{token}", headers=JA).get_data(as_text=True)
    assert "アンケート" in ja


def test_an_overlong_token_is_not_found(client, catalogue):
    assert client.get("/surveys/i/" + "a" * 5000).status_code == 404


# -- drafts --------------------------------------------------------------------------------

def test_save_and_resume_from_the_same_link(client, library, resident):
    survey = chained(library)
    invitation, token = sf.invitation(survey, resident)
    db.session.commit()
    url = f"/surveys/i/{token}"
    saved = post(client, url, survey, action="save", section=2, csat=4, how="online",
                 detail="half typed")
    assert saved.status_code == 302 and saved.location.endswith(url)
    draft = db.session.scalar(select(SurveyDraft).where(SurveyDraft.invitation_id
                                                        == invitation.id))
    assert draft.answers == {"csat": 4, "how": "online", "detail": "half typed"}
    assert draft.section == 2
    resumed = client.get(url, headers=EN).get_data(as_text=True)
    assert "Page 2 of 2" in resumed and 'value="half typed"' in resumed
    assert f'name="{field(survey, "csat")}" value="4"' in resumed  # page 1, carried
    done = post(client, url, survey, section=2, csat=4, how="online", detail="done")
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


# -- signed in: My page and /surveys/ ------------------------------------------------------

def test_signed_in_resident_answers_from_my_page(app, users, library):
    survey = single_page(library, title_en="Library visit")
    user = users["resident"]
    who = factories.resident(user_id=user.id)
    other = single_page(library, title_en="Not invited")
    invitation, _ = sf.invitation(survey, who)
    db.session.commit()
    client = sign_in(app.test_client(), user)
    my_page = client.get("/my/", headers=EN).get_data(as_text=True)
    assert "1 survey is waiting for your answers." in my_page
    listing = client.get("/surveys/", headers=EN).get_data(as_text=True)
    assert "Library visit" in listing and "Not invited" not in listing
    assert client.get(f"/surveys/{other.id}").status_code == 404
    done = post(client, f"/surveys/{survey.id}", survey, csat=5)
    assert done.status_code == 302
    response = db.session.scalar(select(Response).where(Response.survey_id == survey.id))
    assert response.channel == "web" and response.resident_id == who.id
    assert db.session.get(Invitation, invitation.id).completed_at is not None
    listing = client.get("/surveys/", headers=EN).get_data(as_text=True)
    assert "No survey is waiting for you" in listing and "answered on" in listing
    assert client.get(f"/surveys/{survey.id}").status_code == 410


def test_signed_in_submit_creates_the_web_invitation(app, library, resident, make_user):
    survey = single_page(library)
    user = make_user(Role.RESIDENT)
    answering.submit(survey, {"csat": 4}, channel="web", resident=resident, user=user,
                     submission_key=sf.key())
    invitation = db.session.scalar(select(Invitation).where(Invitation.survey_id == survey.id))
    assert invitation.channel == "web" and invitation.completed_at is not None


# -- staff entry ---------------------------------------------------------------------------

def test_staff_enter_a_phone_response_for_a_resident(staff_client, users, library, resident):
    survey = chained(library)
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/responses/new?resident={resident.id}"
    page = staff_client.get(url, headers=EN).get_data(as_text=True)
    assert "By phone" in page and "Paper form" in page and "Kiosk" in page
    assert "Question followup" in page  # every question on one page
    data = form(survey, csat=5, why="not asked")
    data.update({"survey": str(survey.id), "submission_key": sf.key(), "channel": "phone"})
    refused = staff_client.post(url, data=data, headers=EN)
    assert refused.status_code == 400
    assert "not asked with the answers given" in refused.get_data(as_text=True)
    data.setlist(field(survey, "why"), [""])
    done = staff_client.post(url, data=data, headers=EN)
    assert done.status_code == 302
    response = db.session.scalar(select(Response).where(Response.survey_id == survey.id))
    assert response.channel == "phone" and response.resident_id == resident.id
    assert response.entered_by_id == users["staff"].id
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "survey_response.enter"))
    assert entry.target_type == "residents" and entry.target_id == str(resident.id)
    panel = staff_client.get(f"/admin/residents/{resident.id}", headers=EN).get_data(
        as_text=True)
    assert "Survey responses" in panel and "By phone" in panel
    assert "Enter a paper or phone response" in panel


def test_the_resident_page_select_opens_the_chosen_survey(staff_client, library, resident):
    first, second = single_page(library), single_page(library)
    db.session.commit()
    response = staff_client.get(f"/admin/surveys/{first.id}/responses/new"
                                f"?survey={second.id}&resident={resident.id}")
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/surveys/{second.id}/responses/new"
                                      f"?resident={resident.id}")


def test_staff_entry_for_a_resident_who_answered(staff_client, library, resident):
    survey = single_page(library)
    sf.invitation(survey, resident, completed_at=utcnow())
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/responses/new?resident={resident.id}"
    assert "already answered" in staff_client.get(url, headers=EN).get_data(as_text=True)
    data = form(survey, csat=3)
    data.update({"survey": str(survey.id), "submission_key": sf.key(), "channel": "paper"})
    response = staff_client.post(url, data=data, headers=EN)
    assert response.status_code == 400 and count(survey) == 0


def test_staff_of_another_department_cannot_enter(staff_client, catalogue, resident):
    survey = single_page(catalogue["citizen-affairs"]
                         if "citizen-affairs" in catalogue else
                         next(d for code, d in catalogue.items() if code != "library"))
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/responses/new?resident={resident.id}"
    assert staff_client.get(url).status_code == 403


def test_identified_entry_needs_the_resident(staff_client, library):
    survey = single_page(library)
    db.session.commit()
    page = staff_client.get(f"/admin/surveys/{survey.id}/responses/new", headers=EN)
    assert "open the resident's page" in page.get_data(as_text=True)
    data = form(survey, csat=3)
    data.update({"survey": str(survey.id), "submission_key": sf.key(), "channel": "paper"})
    assert staff_client.post(f"/admin/surveys/{survey.id}/responses/new",
                             data=data).status_code == 400
    assert count(survey) == 0


# -- preview -------------------------------------------------------------------------------

def test_preview_in_both_languages_stores_nothing(manager_client, library):
    survey = chained(library, status=SurveyStatus.DRAFT)
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/preview"
    ja = manager_client.get(url + "?lang=ja", headers=EN).get_data(as_text=True)
    assert '<html lang="ja">' in ja and "次へ" in ja and "プレビュー" in ja
    en = manager_client.get(url + "?lang=en", headers=JA).get_data(as_text=True)
    assert '<html lang="en">' in en and "Next" in en and "Question csat" in en
    shown = [q(survey, "csat").id, q(survey, "why").id]
    for action, section, answers in [("next", 1, {"csat": 1, "why": "x"}),
                                     ("save", 2, {"csat": 1, "why": "x"}),
                                     ("next", 2, {"csat": 1, "why": "x", "how": "online"}),
                                     ("next", 3, {"csat": 1, "why": "x", "how": "online",
                                                  "followup": 0})]:
        response = post(manager_client, url + "?lang=en", survey, action=action,
                        section=section, shown=shown, **answers)
        assert response.status_code == 200
    assert "Residents see this page" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


# -- who may open what, on a real survey ---------------------------------------------------

ROLES = [None, "resident", "staff", "manager", "admin", "official"]


@pytest.mark.parametrize("path, expected", [
    ("/admin/surveys/{id}/preview?lang=ja",
     {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
      "official": 403}),
    ("/admin/surveys/{other}/preview?lang=en",  # another department's: not for library staff
     {None: 302, "resident": 403, "staff": 403, "manager": 200, "admin": 200,
      "official": 403}),
    ("/admin/surveys/{id}/responses/new",
     {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
      "official": 403}),
    ("/admin/surveys/{other}/responses/new",
     {None: 302, "resident": 403, "staff": 403, "manager": 200, "admin": 200,
      "official": 403}),
    ("/surveys/{id}",  # no invitation for the signed-in resident
     {None: 302, "resident": 404, "staff": 403, "manager": 403, "admin": 403,
      "official": 403}),
    ("/surveys/{id}/thanks", dict.fromkeys(ROLES, 200)),
])
@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_access_to_a_real_survey(role_client, catalogue, path, expected, role):
    survey = single_page(catalogue["library"])
    other = single_page(next(d for code, d in catalogue.items() if code != "library"))
    db.session.commit()
    client = role_client(role)
    response = client.get(path.format(id=survey.id, other=other.id))
    assert response.status_code == expected[role]


def test_the_form_carries_its_csrf_token_and_nonce(client, csrf_on, library, resident):
    survey = single_page(library)
    _, token = sf.invitation(survey, resident)
    db.session.commit()
    url = f"/surveys/i/{token}"
    page = client.get(url).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {field(survey, "csat"): "4", "survey": str(survey.id), "section": "1",
            "submission_key": key, "action": "next"}
    assert client.post(url, data=data).status_code == 400  # no CSRF token
    assert count(survey) == 0
    assert client.post(url, data={**data, "csrf_token": csrf}).status_code == 302
    assert count(survey) == 1
