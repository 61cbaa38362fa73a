"""Survey definitions as JSON: export, import through the console and the CLI, the
schema, and every error listed with its JSON path while nothing is created."""

from __future__ import annotations

import copy
import io
import json

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.surveys import definition
from portal.surveys.models import Survey, SurveyStatus
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}

EXAMPLE = {
    "format": "portal-survey/1",
    "title": {"ja": "窓口アンケート", "en": "Counter visit survey"},
    "intro": {"ja": "ご意見をお聞かせください。", "en": "Tell us how it went."},
    "thanks": {"ja": "ありがとうございました。", "en": "Thank you."},
    "service": "library-loans",
    "department": "library",
    "anonymous": False,
    "opens_on": "2026-12-01",
    "closes_on": None,
    "reminder_after_days": 7,
    "invitation_valid_days": 30,
    "questions": [
        {"key": "csat", "type": "csat", "section": 1, "required": True,
         "text": {"ja": "満足度は？", "en": "How satisfied are you?"},
         "help": {"ja": "", "en": ""}},
        {"key": "why", "type": "long_text", "section": 1, "required": False,
         "text": {"ja": "理由は？", "en": "Why?"}, "help": {"ja": "", "en": ""},
         "show_if": {"question": "csat", "op": "at_most", "value": 2}},
        {"key": "how", "type": "single", "section": 2, "required": False,
         "text": {"ja": "どこで？", "en": "Where?"}, "help": {"ja": "", "en": ""},
         "options": [{"value": "counter", "label": {"ja": "窓口", "en": "At the counter"}},
                     {"value": "online", "label": {"ja": "オンライン", "en": "Online"}}]},
        {"key": "stars", "type": "rating", "section": 2, "required": False, "scale_max": 4,
         "text": {"ja": "星の数", "en": "Stars"}, "help": {"ja": "", "en": ""}},
        {"key": "more", "type": "multiple", "section": 2, "required": False,
         "text": {"ja": "他に", "en": "Anything else"}, "help": {"ja": "ヒント", "en": "Hint"},
         "options": [{"value": "a", "label": {"ja": "あ", "en": "A"}},
                     {"value": "b", "label": {"ja": "い", "en": "B"}}],
         "show_if": {"question": "how", "op": "one_of", "value": ["online"]}},
    ],
}


def surveys() -> int:
    return db.session.scalar(select(func.count()).select_from(Survey))


def post_import(client, text: str, **data):
    return client.post("/admin/surveys/import", headers=EN, data={"text": text, **data})


def test_the_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(definition.schema())
    assert definition.schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_import_creates_a_draft_and_export_gives_the_same_definition(manager_client,
                                                                    catalogue):
    response = post_import(manager_client, json.dumps(EXAMPLE))
    assert response.status_code == 302
    survey = db.session.get(Survey, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert survey.status == SurveyStatus.DRAFT and survey.department.code == "library"
    assert [q.key for q in survey.questions] == ["csat", "why", "how", "stars", "more"]
    exported = manager_client.get(f"/admin/surveys/{survey.id}/definition.json")
    assert exported.mimetype == "application/json"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(exported.get_data(as_text=True)) == EXAMPLE
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"survey.import", "survey.export"} <= actions


def test_a_survey_built_in_the_console_round_trips(manager_client, catalogue):
    from tests.test_survey_building import add_question, new_survey

    survey = new_survey(manager_client, department_id=str(catalogue["health"].id))
    add_question(manager_client, survey, key="easy", type="ces")
    add_question(manager_client, survey, key="ok", type="yes_no", show_if_question="easy",
                 show_if_op="at_least", show_if_value="5")
    first = definition.to_definition(survey)
    response = post_import(manager_client, json.dumps(first))
    copy_ = db.session.get(Survey, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert copy_.id != survey.id and definition.to_definition(copy_) == first


def test_upload_a_file(manager_client, catalogue):
    response = manager_client.post("/admin/surveys/import", headers=EN, data={
        "file": (io.BytesIO(json.dumps(EXAMPLE).encode()), "survey.json")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and surveys() == 1


def test_malformed_json_names_line_and_column(manager_client, catalogue):
    response = post_import(manager_client, '{\n  "format": "portal-survey/1",\n  "title": }')
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This is not valid JSON" in html and "line 3, column 12" in html
    assert surveys() == 0


def broken(change) -> dict:
    data = copy.deepcopy(EXAMPLE)
    change(data)
    return data


@pytest.mark.parametrize("change, path, message", [
    (lambda d: d.pop("title"), "/", "Required field missing: title"),
    (lambda d: d.update(colour="red"), "/", "Unknown field: colour"),
    (lambda d: d["questions"][0].update(type="stars"), "/questions/0/type", "Expected one of"),
    (lambda d: d["questions"][3].pop("scale_max"), "/questions/3",
     "Required field missing: scale_max"),
    (lambda d: d["questions"][0].update(scale_max=3), "/questions/0/scale_max",
     "This field does not belong to a question of this type"),
    (lambda d: d["questions"][2]["options"].pop(), "/questions/2/options",
     "Needs at least 2 entries"),
    (lambda d: d.update(opens_on="2026-13-01"), "/opens_on", "Expected a date"),
    (lambda d: d.update(invitation_valid_days=0), "/invitation_valid_days", "Out of range"),
    (lambda d: d["questions"][1].update(key="bad key"), "/questions/1/key", "Not allowed"),
])
def test_schema_errors_are_listed_with_their_path(manager_client, catalogue, change, path,
                                                  message):
    response = post_import(manager_client, json.dumps(broken(change)))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"<code>{path}</code> {message}" in html, html[html.find("problem"):][:800]
    assert surveys() == 0


@pytest.mark.parametrize("change, path, message", [
    (lambda d: d["questions"][1]["show_if"].update(question="stars"),
     "/questions/1/show_if", "refers to stars, which comes later"),
    (lambda d: d["questions"][1]["show_if"].update(question="gone"),
     "/questions/1/show_if", "refers to gone, which does not exist"),
    (lambda d: d["questions"][1]["show_if"].update(value=0),
     "/questions/1/show_if", "can meet its condition"),
    (lambda d: d["questions"][4]["show_if"].update(value=["bus"]),
     "/questions/4/show_if", "how has no option bus"),
    (lambda d: d["questions"][2]["options"][1].update(value="counter"),
     "/questions/2/options", "two options have the same value"),
    (lambda d: d["questions"][3].update(key="csat"), "/questions/3/key",
     "another question has the same key"),
    (lambda d: d.update(service="no-such-service"), "/service", "There is no service"),
    (lambda d: d.update(department="health"), "/service",
     "The service belongs to another department"),
    (lambda d: d.update(closes_on="2026-11-01"), "/closes_on", "before the opening date"),
    (lambda d: d.update(opens_on="1800-01-01", closes_on=None), "/opens_on",
     "from 1900 to 2100"),
    (lambda d: d["title"].update(ja="", en=""), "/title", "at least one language"),
    (lambda d: d["title"].update(fr="Enquête"), "/title/fr", "The portal keeps texts in"),
])
def test_logic_and_reference_errors_are_listed_with_their_path(manager_client, catalogue,
                                                               change, path, message):
    response = post_import(manager_client, json.dumps(broken(change)))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"<code>{path}</code>" in html and message in html
    assert surveys() == 0


def test_all_errors_are_listed_at_once(manager_client, catalogue):
    data = broken(lambda d: (d.update(service="nope"),
                             d["questions"][1]["show_if"].update(question="gone")))
    with pytest.raises(definition.DefinitionError) as caught:
        definition.create_from_definition(data, actor=None)
    assert [path for path, _ in caught.value.errors] == ["/service", "/questions/1/show_if"]
    assert surveys() == 0


def test_staff_import_only_for_their_department(app, make_user, catalogue):
    staff = sign_in(app.test_client(), make_user(Role.STAFF, department=catalogue["health"]))
    response = post_import(staff, json.dumps(EXAMPLE))
    assert response.status_code == 400
    assert "only build surveys for your own department" in response.get_data(as_text=True)
    assert surveys() == 0
    response = post_import(staff, json.dumps(broken(lambda d: (d.pop("service"),
                                                               d.pop("department")))))
    assert response.status_code == 302
    assert db.session.scalar(select(Survey.department_id)) == catalogue["health"].id


def test_too_large_a_definition_is_refused(manager_client, catalogue):
    text = json.dumps(EXAMPLE) + " " * (definition.MAX_BYTES + 1)
    response = post_import(manager_client, text)
    assert response.status_code in (400, 413)
    assert surveys() == 0


def test_create_from_definition_keeps_a_seed_key(catalogue):
    survey = definition.create_from_definition(EXAMPLE, actor=None, seed_key="counter-csat")
    assert survey.seed_key == "counter-csat" and survey.created_by_id is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.import"))
    assert entry.actor_id is None


# -- command line --------------------------------------------------------------------------

def test_cli_export_and_import(runner, catalogue, tmp_path):
    survey = definition.create_from_definition(EXAMPLE, actor=None)
    db.session.commit()
    target = tmp_path / "survey.json"
    result = runner.invoke(args=["surveys", "export", str(survey.id), str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8")) == EXAMPLE
    data = broken(lambda d: (d.pop("service"), d.pop("department")))
    target.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["surveys", "import", str(target), "--department", "sports"])
    assert result.exit_code == 0, result.output
    assert "Imported survey" in result.output
    assert db.session.scalar(select(Survey).order_by(Survey.id.desc()).limit(1)) \
        .department.code == "sports"


def test_cli_import_errors_exit_1_with_paths(runner, catalogue, tmp_path):
    target = tmp_path / "bad.json"
    target.write_text(json.dumps(broken(lambda d: d["questions"][1]["show_if"].update(
        question="gone"))), encoding="utf-8")
    result = runner.invoke(args=["surveys", "import", str(target)])
    assert result.exit_code == 1
    assert "/questions/1/show_if: Question 2 (why): its condition refers to gone" in \
        result.output
    target.write_text("{not json", encoding="utf-8")
    result = runner.invoke(args=["surveys", "import", str(target)])
    assert result.exit_code == 1 and "line 1, column 2" in result.output
    result = runner.invoke(args=["surveys", "export", "999999", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert surveys() == 0


def test_the_example_in_the_documentation_imports(catalogue):
    from portal.config import PROJECT_ROOT

    text = (PROJECT_ROOT / "docs" / "surveys.md").read_text(encoding="utf-8")
    example = text.split("### Example", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    survey = definition.import_text(example, actor=None)
    assert survey.department.code == "citizens" and len(survey.questions) == 4
