"""Staff build surveys through the console forms: settings, questions with show-if
logic checked on save, the lock rules once responses exist, and the status."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.surveys import building, logic
from portal.surveys.models import Answer, Question, Response, Survey, SurveyStatus
from tests import factories
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def page(response) -> str:
    return response.get_data(as_text=True)


def new_survey(client, **values) -> Survey:
    data = {"title_ja": "窓口アンケート", "title_en": "Counter survey", "anonymous": "0",
            "invitation_valid_days": "30", "service_id": "None", "department_id": "None"}
    data.update(values)
    response = client.post("/admin/surveys/new", data=data, headers=EN)
    assert response.status_code == 302, page(response)
    return db.session.get(Survey, int(response.headers["Location"].rsplit("/", 1)[1]))


def add_question(client, survey, expect=302, **values):
    data = {"type": "csat", "key": f"q{len(survey.questions) + 1}", "section": "1",
            "text_en": "How satisfied are you?", "text_ja": "満足度は？",
            "show_if_question": "", "show_if_op": "equals"}
    data.update(values)
    response = client.post(f"/admin/surveys/{survey.id}/questions/new", data=data, headers=EN)
    assert response.status_code == expect, page(response)
    db.session.expire_all()
    return response


def respond(survey, question, number=1):
    response = Response(survey_id=survey.id, channel="paper", submission_key=uuid.uuid4().hex,
                        resident_id=None if survey.anonymous else factories.resident().id)
    response.answers.append(Answer(question_id=question.id, number=number))
    db.session.add(response)
    db.session.commit()
    return response


@pytest.fixture
def survey(manager_client, catalogue):
    item = new_survey(manager_client, service_id=str(factories.service("library-loans").id))
    add_question(manager_client, item, key="csat")
    add_question(manager_client, item, key="why", type="long_text", text_en="Why?",
                 show_if_question="csat", show_if_op="at_most", show_if_value="2")
    return item


def test_staff_create_a_survey_for_their_own_department(staff_client, users, catalogue):
    survey = new_survey(staff_client, department_id=str(catalogue["library"].id))
    assert survey.department_id == catalogue["library"].id
    assert survey.status == SurveyStatus.DRAFT and survey.created_by_id == users["staff"].id


def test_staff_may_not_pick_another_departments_service(staff_client, catalogue):
    other = factories.service("cancer-screening")
    response = staff_client.post("/admin/surveys/new", headers=EN, data={
        "title_en": "X", "anonymous": "0", "invitation_valid_days": "30",
        "service_id": str(other.id)})
    assert response.status_code == 200 and "Not a valid choice" in page(response)
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0


def test_a_survey_about_a_service_belongs_to_its_department(manager_client, catalogue):
    survey = new_survey(manager_client, service_id=str(factories.service("cancer-screening").id),
                        department_id=str(catalogue["library"].id))
    assert survey.department_id == catalogue["health"].id


def test_survey_form_checks_dates_and_numbers(manager_client, catalogue):
    response = manager_client.post("/admin/surveys/new", headers=EN, data={
        "title_en": "", "anonymous": "0", "invitation_valid_days": "400",
        "reminder_after_days": "0", "opens_on": "2026-12-10", "closes_on": "2026-12-01",
        "department_id": str(catalogue["library"].id)})
    html = page(response)
    assert "Write the title in at least one language." in html
    assert "The closing date is before the opening date." in html
    assert "Between 1 and 365 days." in html and "Between 1 and 60 days." in html
    response = manager_client.post("/admin/surveys/new", headers=EN, data={
        "title_en": "X", "anonymous": "0", "invitation_valid_days": "30",
        "opens_on": "1850-01-01", "department_id": str(catalogue["library"].id)})
    assert "Enter a date from 1900 to 2100." in page(response)


def test_staff_of_another_department_get_403(survey, app, make_user, catalogue):
    other = sign_in(app.test_client(), make_user(Role.STAFF, department=catalogue["health"]))
    for path in (f"/admin/surveys/{survey.id}", f"/admin/surveys/{survey.id}/edit",
                 f"/admin/surveys/{survey.id}/questions/new"):
        assert other.get(path).status_code == 403
    assert other.post(f"/admin/surveys/{survey.id}/open").status_code == 403
    assert "Counter survey" not in page(other.get("/admin/surveys/", headers=EN))


def test_the_list_shows_counts_with_a_flat_number_of_queries(manager_client, survey,
                                                            count_queries, catalogue):
    respond(survey, survey.questions[0])
    html = page(manager_client.get("/admin/surveys/", headers=EN))
    assert "Counter survey" in html and "Draft" in html and "Identified" in html
    with count_queries() as one:
        manager_client.get("/admin/surveys/", headers=EN)
    for n in range(5):
        new_survey(manager_client, title_en=f"Survey {n}",
                   department_id=str(catalogue["health"].id))
    with count_queries() as six:
        html = page(manager_client.get("/admin/surveys/", headers=EN))
    assert "Survey 4" in html
    assert six.count == one.count
    filtered = page(manager_client.get("/admin/surveys/?status=open", headers=EN))
    assert "0 surveys" in filtered


def test_the_list_marks_a_title_in_the_other_language(manager_client, catalogue):
    new_survey(manager_client, title_ja="", title_en="Only English",
               department_id=str(catalogue["library"].id))
    html = page(manager_client.get("/admin/surveys/", headers=JA))
    assert 'lang="en">Only English</a>' in html


def test_the_detail_page_describes_questions_and_conditions(manager_client, survey):
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "Satisfaction (CSAT, 1–5)" in html and "Long text" in html
    assert "Shown when Q1 (csat) is at most 2" in html
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=JA))
    assert "下書き" in html and "Q1（csat）が2以下のときに表示" in html


def test_the_question_form_suggests_the_next_key(manager_client, survey):
    html = page(manager_client.get(f"/admin/surveys/{survey.id}/questions/new", headers=EN))
    assert 'value="q3"' in html


def test_options_are_parsed_and_bad_lines_named(manager_client, survey):
    response = add_question(manager_client, survey, expect=200, key="how", type="single",
                            options="counter | 窓口 | At the counter\nbad value | x | y")
    assert "Line 2: the value “bad value”" in page(response)
    add_question(manager_client, survey, key="how", type="single",
                 options="counter | 窓口 | At the counter\n\nonline | オンライン | Online")
    question = survey.questions[-1]
    assert question.options == [
        {"value": "counter", "label_ja": "窓口", "label_en": "At the counter"},
        {"value": "online", "label_ja": "オンライン", "label_en": "Online"}]


def test_keys_are_unique_and_plain(manager_client, survey):
    response = add_question(manager_client, survey, expect=400, key="csat")
    assert "another question has the same key" in page(response)
    response = add_question(manager_client, survey, expect=200, key="q 1!")
    assert "Use letters, digits and “_” only." in page(response)


@pytest.mark.parametrize("values, message", [
    ({"show_if_question": "csat", "show_if_op": "at_most", "show_if_value": "0"},
     "no answer of csat (from 1 to 5) can meet its condition"),
    ({"show_if_question": "csat", "show_if_op": "equals", "show_if_value": "good"},
     "csat is answered with a number"),
    ({"show_if_question": "why", "show_if_op": "equals", "show_if_value": "x"},
     "why, a text question"),
])
def test_logic_problems_are_named_and_nothing_is_saved(manager_client, survey, values, message):
    response = add_question(manager_client, survey, expect=400, key="q3", **values)
    html = page(response)
    assert message in html and "Question 3 (q3)" in html
    assert len(survey.questions) == 2


def test_a_condition_on_a_missing_option(manager_client, survey):
    add_question(manager_client, survey, key="how", type="single",
                 options="counter | 窓口 | Counter\nonline | オンライン | Online")
    response = add_question(manager_client, survey, expect=400, key="more",
                            show_if_question="how", show_if_op="one_of",
                            show_if_value="online, bus")
    assert "how has no option bus." in page(response)
    response = add_question(manager_client, survey, expect=400, key="more",
                            show_if_question="how", show_if_op="at_least", show_if_value="1")
    assert "how is a choice question" in page(response)
    add_question(manager_client, survey, key="more", show_if_question="how",
                 show_if_op="one_of", show_if_value="online, counter")
    assert survey.questions[-1].show_if == {"question": "how", "op": "one_of",
                                            "value": ["online", "counter"]}


def test_a_condition_may_only_name_an_earlier_question(manager_client, survey):
    first = survey.questions[0]
    response = manager_client.post(
        f"/admin/surveys/{survey.id}/questions/{first.id}/edit", headers=EN,
        data={"type": "csat", "key": "csat", "section": "1", "text_en": "X",
              "show_if_question": "why", "show_if_op": "equals", "show_if_value": "1"})
    assert "Not a valid choice" in page(response)
    db.session.refresh(first)
    assert first.show_if is None


def test_a_reorder_that_puts_a_condition_before_its_question_is_refused(manager_client,
                                                                        survey):
    why = survey.questions[1]
    response = manager_client.post(f"/admin/surveys/{survey.id}/questions/{why.id}/move",
                                   data={"direction": "up"}, headers=EN)
    assert response.status_code == 302
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "Question 1 (why): its condition refers to csat, which comes later" in html
    db.session.expire_all()
    assert [q.key for q in survey.questions] == ["csat", "why"]


def test_moving_questions(manager_client, survey):
    add_question(manager_client, survey, key="q3", type="yes_no")
    third = survey.questions[2]
    manager_client.post(f"/admin/surveys/{survey.id}/questions/{third.id}/move",
                        data={"direction": "up"})
    db.session.expire_all()
    assert [q.key for q in survey.questions] == ["csat", "q3", "why"]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "survey.question_move")) == 1


def test_deleting_a_question_others_depend_on_is_refused(manager_client, survey):
    first = survey.questions[0]
    manager_client.post(f"/admin/surveys/{survey.id}/questions/{first.id}/delete", headers=EN)
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "its condition refers to csat, which does not exist" in html
    db.session.expire_all()
    assert len(survey.questions) == 2
    why = survey.questions[1]
    manager_client.post(f"/admin/surveys/{survey.id}/questions/{why.id}/delete", headers=EN)
    db.session.expire_all()
    assert [q.key for q in survey.questions] == ["csat"]


def test_renaming_a_key_keeps_conditions_pointing_at_it(manager_client, survey):
    first = survey.questions[0]
    response = manager_client.post(
        f"/admin/surveys/{survey.id}/questions/{first.id}/edit", headers=EN,
        data={"type": "csat", "key": "satisfaction", "section": "1", "text_en": "Happy?",
              "show_if_question": "", "show_if_op": "equals"})
    assert response.status_code == 302
    db.session.expire_all()
    assert survey.questions[1].show_if["question"] == "satisfaction"


def test_open_is_refused_without_questions(manager_client, catalogue):
    survey = new_survey(manager_client, department_id=str(catalogue["library"].id))
    manager_client.post(f"/admin/surveys/{survey.id}/open", headers=EN)
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "The survey has no questions yet." in html
    db.session.expire_all()
    assert survey.status == SurveyStatus.DRAFT


def test_open_is_refused_when_the_logic_has_problems(manager_client, survey):
    # stored problems (e.g. from before a fix): opening checks again
    survey.questions[1].show_if = {"question": "csat", "op": "at_least", "value": 9}
    db.session.commit()
    manager_client.post(f"/admin/surveys/{survey.id}/open", headers=EN)
    db.session.expire_all()
    assert survey.status == SurveyStatus.DRAFT
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "can meet its condition" in html


def test_open_then_close_with_confirmation_and_no_reopening(manager_client, survey):
    manager_client.post(f"/admin/surveys/{survey.id}/open", headers=EN)
    db.session.expire_all()
    assert survey.status == SurveyStatus.OPEN and survey.opened_at is not None
    manager_client.post(f"/admin/surveys/{survey.id}/close", headers=EN)  # not confirmed
    db.session.expire_all()
    assert survey.status == SurveyStatus.OPEN
    manager_client.post(f"/admin/surveys/{survey.id}/close", data={"confirm": "y"}, headers=EN)
    db.session.expire_all()
    assert survey.status == SurveyStatus.CLOSED
    manager_client.post(f"/admin/surveys/{survey.id}/open", headers=EN)
    html = page(manager_client.get(f"/admin/surveys/{survey.id}", headers=EN))
    assert "Only a draft survey can be opened." in html
    db.session.expire_all()
    assert survey.status == SurveyStatus.CLOSED
    response = add_question(manager_client, survey, expect=400, key="late")
    assert "This survey is closed" in page(response)
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "surveys", AuditEntry.target_id == str(survey.id))))
    assert {"survey.create", "survey.question_add", "survey.open", "survey.close"} <= actions


# -- lock rules --------------------------------------------------------------------------

@pytest.fixture
def answered(manager_client, survey):
    add_question(manager_client, survey, key="how", type="single",
                 options="counter | 窓口 | Counter\nonline | オンライン | Online")
    manager_client.post(f"/admin/surveys/{survey.id}/open", headers=EN)
    respond(survey, survey.questions[0], number=2)
    db.session.expire_all()
    return survey


def edit(client, question, **values):
    data = {"type": question.type, "key": question.key, "section": str(question.section),
            "text_en": question.text_en or "Text", "text_ja": question.text_ja,
            "options": building.format_options(question.options),
            "show_if_question": (question.show_if or {}).get("question", ""),
            "show_if_op": (question.show_if or {}).get("op", "equals"),
            "show_if_value": str((question.show_if or {}).get("value", ""))}
    data.update(values)
    return client.post(f"/admin/surveys/{question.survey_id}/questions/{question.id}/edit",
                       data=data, headers=EN)


def test_a_question_with_answers_says_why_it_cannot_be_deleted(manager_client, answered):
    html = page(manager_client.get(f"/admin/surveys/{answered.id}", headers=EN))
    assert "1 response already answers this question; deleting or retyping it" in html
    assert "Delete question" not in html and "Close question" in html
    first = answered.questions[0]
    html = page(manager_client.get(
        f"/admin/surveys/{answered.id}/questions/{first.id}/edit", headers=EN))
    assert "1 response already answers this question" in html


def test_a_tampered_delete_is_refused(manager_client, answered):
    first = answered.questions[0]
    manager_client.post(f"/admin/surveys/{answered.id}/questions/{first.id}/delete", headers=EN)
    db.session.expire_all()
    assert len(answered.questions) == 3
    html = page(manager_client.get(f"/admin/surveys/{answered.id}", headers=EN))
    assert "deleting or retyping it would change what it means" in html


def test_retyping_or_renaming_is_refused_rewording_allowed(manager_client, answered):
    first = answered.questions[0]
    response = edit(manager_client, first, type="nps")
    assert response.status_code == 400 and "The type cannot change" in page(response)
    response = edit(manager_client, first, key="renamed")
    assert response.status_code == 400 and "The key cannot change" in page(response)
    db.session.expire_all()
    assert (first.type, first.key) == ("csat", "csat")
    response = edit(manager_client, first, text_en="How happy were you?", required="y")
    assert response.status_code == 302
    db.session.expire_all()
    assert first.text_en == "How happy were you?" and first.required


def test_options_keep_their_values_labels_may_change(manager_client, answered):
    how = answered.questions[2]
    response = edit(manager_client, how, options="counter | 窓口 | Counter\nweb | ウェブ | Web")
    assert response.status_code == 400 and "missing: online" in page(response)
    response = edit(manager_client, how, options="counter | 窓口で | At the counter\n"
                                                 "online | オンライン | Online\n"
                                                 "phone | 電話 | Phone")
    assert response.status_code == 302
    db.session.expire_all()
    assert [o["value"] for o in how.options] == ["counter", "online", "phone"]
    assert how.options[0]["label_en"] == "At the counter"


def test_closing_a_question_keeps_its_answers(manager_client, answered):
    why, first = answered.questions[1], answered.questions[0]
    manager_client.post(f"/admin/surveys/{answered.id}/questions/{first.id}/close", headers=EN)
    db.session.expire_all()
    assert not first.closed  # "why" depends on it
    manager_client.post(f"/admin/surveys/{answered.id}/questions/{why.id}/close", headers=EN)
    manager_client.post(f"/admin/surveys/{answered.id}/questions/{first.id}/close", headers=EN)
    db.session.expire_all()
    assert why.closed and first.closed
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 1
    assert [q.key for q in logic.visible(answered.questions, {})] == ["how"]


def test_questions_may_be_added_to_an_answered_survey(manager_client, answered):
    add_question(manager_client, answered, key="extra", type="yes_no")
    assert answered.questions[-1].key == "extra"


def test_anonymity_cannot_change_once_answered(manager_client, answered):
    response = manager_client.post(f"/admin/surveys/{answered.id}/edit", headers=EN, data={
        "title_en": "Counter survey", "anonymous": "1", "invitation_valid_days": "30",
        "service_id": str(answered.service_id)})
    assert response.status_code == 400 and "cannot change between anonymous" in page(response)
    db.session.expire_all()
    assert not answered.anonymous
    # the disabled field sends nothing: the rest is saved
    response = manager_client.post(f"/admin/surveys/{answered.id}/edit", headers=EN, data={
        "title_en": "Counter visit survey", "invitation_valid_days": "30",
        "service_id": str(answered.service_id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert answered.title_en == "Counter visit survey" and not answered.anonymous


def test_every_problem_code_has_a_message(app):
    codes = ["duplicate_key", "too_few_options", "duplicate_option", "refers_to_itself",
             "refers_to_later", "refers_to_missing", "unknown_operator", "refers_to_text",
             "needs_a_list", "comparison_on_choice", "no_such_option", "needs_a_number",
             "impossible"]
    with app.test_request_context(headers=JA):
        messages = {building.problem_message(logic.Problem("q2", code, ("q1", 1, 5)),
                                             {"q2": 2}) for code in codes}
    assert len(messages) == len(codes)
    assert all("q2" in m and "problem (" not in m for m in messages)


def test_the_console_navigation_links_to_surveys(staff_client, official_client,
                                                 resident_client):
    assert 'href="/admin/surveys/"' in page(staff_client.get("/admin/", headers=EN))
    assert 'href="/admin/surveys/"' in page(official_client.get("/admin/", headers=EN))
    html = page(official_client.get("/admin/surveys/", headers=EN))
    assert "New survey" not in html


def test_question_form_in_japanese_is_translated(manager_client, survey):
    html = page(manager_client.get(f"/admin/surveys/{survey.id}/questions/new", headers=JA))
    assert "設問" in html and "Show only when" not in html
    assert Question  # imported for the models' mapping


def test_builder_pages_have_unique_ids(manager_client, answered, csrf_on):
    from tests.test_unique_ids import duplicate_ids

    question = answered.questions[2]
    for path in (f"/admin/surveys/{answered.id}", f"/admin/surveys/{answered.id}/edit",
                 f"/admin/surveys/{answered.id}/questions/new",
                 f"/admin/surveys/{answered.id}/questions/{question.id}/edit",
                 "/admin/surveys/", "/admin/surveys/new", "/admin/surveys/import"):
        html = page(manager_client.get(path))
        assert duplicate_ids(html) == [], path


def test_csrf_is_checked_on_the_builder_buttons(manager_client, survey, csrf_on):
    assert manager_client.post(f"/admin/surveys/{survey.id}/open").status_code == 400
    db.session.expire_all()
    assert survey.status == SurveyStatus.DRAFT
