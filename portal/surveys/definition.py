"""A survey's definition as JSON (``portal-survey/1``, documented in docs/surveys.md,
schema in ``survey-definition.schema.json``): export of a survey, and import of a
definition as a new draft.

An import is checked completely before anything is written: the JSON Schema, the
locales, the dates, the service and department, the importer's right to build for
that department, and the survey's logic (``logic.check``). Every problem is
reported with its JSON path (``/questions/2/show_if/question``); when there is any,
``DefinitionError`` is raised and nothing is created.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from sqlalchemy import select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.permissions import can_build_surveys
from portal.services.models import Department, Service
from portal.surveys import building, logic
from portal.surveys.models import CHOICE, Question, QuestionType, Survey, SurveyStatus
from portal.timeutil import YEAR_MAX, YEAR_MIN

FORMAT = "portal-survey/1"
SCHEMA_PATH = Path(__file__).with_name("survey-definition.schema.json")
# the upload and paste limit of the console (the CLI reads any size)
MAX_BYTES = 256 * 1024
STORED_LOCALES = ("ja", "en")  # the columns that hold staff-written texts


class DefinitionError(Exception):
    """An import refused: ``errors`` is a list of ``(json_path, message)``."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path or '/'}: {message}" for path, message in errors))


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


# -- export -----------------------------------------------------------------------------

def _texts(obj: Any, field: str) -> dict[str, str]:
    return {loc: getattr(obj, f"{field}_{loc}") or "" for loc in STORED_LOCALES}


def to_definition(survey: Survey) -> dict:
    """The survey as a definition. Closed questions are no longer asked and are left
    out (nothing still asked may depend on them)."""
    questions = []
    for question in survey.questions:
        if question.closed:
            continue
        item: dict[str, Any] = {"key": question.key, "type": question.type,
                                "section": question.section, "required": question.required,
                                "text": _texts(question, "text"),
                                "help": _texts(question, "help")}
        if question.type == QuestionType.RATING:
            item["scale_max"] = question.scale_max or 5
        if question.type in CHOICE:
            item["options"] = [{"value": str(o.get("value")),
                                "label": {loc: o.get(f"label_{loc}", "") or ""
                                          for loc in STORED_LOCALES}}
                               for o in question.options or []]
        if question.show_if:
            item["show_if"] = dict(question.show_if)
        questions.append(item)
    return {
        "format": FORMAT,
        "title": _texts(survey, "title"),
        "intro": _texts(survey, "intro"),
        "thanks": _texts(survey, "thanks"),
        "service": survey.service.slug if survey.service is not None else None,
        "department": survey.department.code,
        "anonymous": survey.anonymous,
        "opens_on": survey.opens_on.isoformat() if survey.opens_on else None,
        "closes_on": survey.closes_on.isoformat() if survey.closes_on else None,
        "reminder_after_days": survey.reminder_after_days,
        "invitation_valid_days": survey.invitation_valid_days,
        "questions": questions,
    }


def to_json(survey: Survey) -> str:
    return json.dumps(to_definition(survey), ensure_ascii=False, indent=2) + "\n"


# -- parsing and checking --------------------------------------------------------------------

def parse(text: str | bytes) -> Any:
    """JSON text → data; malformed JSON raises ``DefinitionError`` naming the line
    and column."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DefinitionError([("", _("The file is not UTF-8 text."))]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DefinitionError([("", _("This is not valid JSON: %(reason)s at line %(line)s, "
                                      "column %(column)s.", reason=error.msg,
                                      line=error.lineno, column=error.colno))]) from None


def _path(parts) -> str:
    return "".join(f"/{p}" for p in parts)


def _schema_message(error) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "required":
        missing = [name for name in value if isinstance(error.instance, dict)
                   and name not in error.instance]
        return _("Required field missing: %(names)s.", names=", ".join(missing))
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return _("Unknown field: %(names)s.", names=", ".join(extra))
    if kind == "type":
        names = value if isinstance(value, list) else [value]
        return _("Expected %(types)s.", types=" / ".join(names))
    if kind == "enum":
        return _("Expected one of: %(values)s.", values=", ".join(str(v) for v in value))
    if kind == "const":
        return _("Expected %(value)s.", value=json.dumps(value))
    if kind in ("minimum", "maximum"):
        return _("Out of range (%(kind)s %(value)s).", kind=kind, value=value)
    if kind == "maxLength":
        return _("Too long (at most %(num)s characters).", num=value)
    if kind == "pattern":
        return _("Not allowed here: use letters, digits and the characters of the format "
                 "(%(pattern)s).", pattern=value)
    if kind == "format":
        return _("Expected a date like 2026-12-01.")
    if kind == "minItems":
        return _("Needs at least %(num)s entries.", num=value)
    if kind == "maxItems":
        return _("At most %(num)s entries.", num=value)
    if kind == "not" and isinstance(error.instance, dict):
        return _("This field does not belong to a question of this type.")
    if kind == "propertyNames":
        return _("Not a language code.")
    return error.message


def schema_errors(data: Any) -> list[tuple[str, str]]:
    errors = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "not" and isinstance(error.instance, dict):
            # the field that is out of place ("scale_max" of a non-rating question)
            for name in error.validator_value.get("required", []):
                path = [*path, name]
        errors.append((_path(path), _schema_message(error)))
    return errors


def _locale_errors(data: dict) -> list[tuple[str, str]]:
    errors = []
    configured = set(current_app.config["LOCALES"])

    def check(texts: Any, path: str, required: bool) -> None:
        if not isinstance(texts, dict):
            return
        for loc in texts:
            if loc not in configured or loc not in STORED_LOCALES:
                errors.append((f"{path}/{loc}", _("The portal keeps texts in %(locales)s.",
                                                  locales=", ".join(STORED_LOCALES))))
        if required and not any(str(v).strip() for v in texts.values()):
            errors.append((path, _("Write it in at least one language.")))

    check(data.get("title"), "/title", True)
    check(data.get("intro"), "/intro", False)
    check(data.get("thanks"), "/thanks", False)
    for i, question in enumerate(data.get("questions") or []):
        check(question.get("text"), f"/questions/{i}/text", True)
        check(question.get("help"), f"/questions/{i}/help", False)
        for j, option in enumerate(question.get("options") or []):
            check(option.get("label"), f"/questions/{i}/options/{j}/label", False)
    return errors


def _date(data: dict, name: str, errors: list) -> date | None:
    raw = data.get(name)
    if not raw:
        return None
    value = date.fromisoformat(raw)
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        errors.append((f"/{name}", _("Enter a date from %(min)s to %(max)s.", min=YEAR_MIN,
                                     max=YEAR_MAX)))
    return value


_PROBLEM_FIELDS = {"duplicate_key": "key", "too_few_options": "options",
                   "duplicate_option": "options"}


def _logic_errors(questions: list) -> list[tuple[str, str]]:
    positions = {}
    for i, q in enumerate(questions):
        positions.setdefault(q.key, i)
    numbers = {q.key: i for i, q in enumerate(questions, 1)}
    errors = []
    problems = logic.check(questions)
    for problem in problems:
        index = positions[problem.key]
        if problem.code == "duplicate_key":
            index = [i for i, q in enumerate(questions) if q.key == problem.key][-1]
        part = _PROBLEM_FIELDS.get(problem.code, "show_if")
        errors.append((f"/questions/{index}/{part}",
                       building.problem_message(problem, numbers)))
    return errors


def check(data: Any, *, actor: User | None = None,
          department_id: int | None = None) -> tuple[list[tuple[str, str]], dict]:
    """Every error of a definition, and what it resolves to (service, department,
    dates) when there is none."""
    errors = schema_errors(data)
    if errors:
        return errors, {}
    errors += _locale_errors(data)
    resolved: dict[str, Any] = {}
    opens, closes = _date(data, "opens_on", errors), _date(data, "closes_on", errors)
    if opens and closes and opens > closes:
        errors.append(("/closes_on", _("The closing date is before the opening date.")))
    resolved.update(opens_on=opens, closes_on=closes)

    service = None
    if data.get("service"):
        service = db.session.scalar(select(Service).where(Service.slug == data["service"]))
        if service is None:
            errors.append(("/service", _("There is no service %(slug)s.",
                                         slug=data["service"])))
    department = None
    if data.get("department"):
        department = db.session.scalar(select(Department)
                                       .where(Department.code == data["department"]))
        if department is None:
            errors.append(("/department", _("There is no department %(code)s.",
                                            code=data["department"])))
    if department_id is not None:
        department = db.session.get(Department, department_id)
    owner = service.department_id if service is not None else \
        department.id if department is not None else None
    if service is not None and department is not None \
            and department.id != service.department_id:
        errors.append(("/service", _("The service belongs to another department.")))
    if owner is None and actor is not None and actor.department_id is not None \
            and not errors:
        owner = actor.department_id
    if owner is None and not errors:
        errors.append(("/department", _("Name the service or the department that owns the "
                                        "survey.")))
    if owner is not None and actor is not None and not can_build_surveys(actor, owner):
        errors.append(("/service" if service is not None else "/department",
                       _("You may only build surveys for your own department.")))
    resolved.update(service_id=service.id if service is not None else None,
                    department_id=owner)

    shadows = [building.QuestionShape(
        key=q["key"], type=q["type"], scale_max=q.get("scale_max"),
        show_if=q.get("show_if"), options=[{"value": o["value"]} for o in q.get("options", [])]
        if "options" in q else None) for q in data["questions"]]
    errors += _logic_errors(shadows)
    return errors, resolved


# -- import -------------------------------------------------------------------------------

def _stored(texts: dict | None, field: str) -> dict[str, str]:
    texts = texts or {}
    return {f"{field}_{loc}": (texts.get(loc) or "").strip() for loc in STORED_LOCALES}


def create_from_definition(data: dict, *, actor: User | None, department_id: int | None = None,
                           seed_key: str | None = None) -> Survey:
    """A new draft from a definition. ``department_id`` owns it when the definition
    names no service (it overrides the definition's department). Raises
    ``DefinitionError`` and creates nothing when anything is wrong."""
    errors, resolved = check(data, actor=actor, department_id=department_id)
    if errors:
        raise DefinitionError(errors)
    survey = Survey(status=SurveyStatus.DRAFT, created_by_id=actor.id if actor else None,
                    seed_key=seed_key, department_id=resolved["department_id"],
                    service_id=resolved["service_id"], anonymous=bool(data.get("anonymous")),
                    opens_on=resolved["opens_on"], closes_on=resolved["closes_on"],
                    reminder_after_days=data.get("reminder_after_days"),
                    invitation_valid_days=data.get("invitation_valid_days", 30),
                    **_stored(data.get("title"), "title"),
                    **_stored(data.get("intro"), "intro"),
                    **_stored(data.get("thanks"), "thanks"))
    db.session.add(survey)
    for position, item in enumerate(data["questions"], 1):
        options = None
        if item["type"] in CHOICE:
            options = []
            for o in item["options"]:
                labels = _stored(o.get("label"), "label")
                if not any(labels.values()):
                    labels = dict.fromkeys(labels, o["value"])
                options.append({"value": o["value"], **labels})
        survey.questions.append(Question(
            key=item["key"], position=position, type=item["type"],
            section=item.get("section", 1), required=bool(item.get("required", False)),
            scale_max=item.get("scale_max") if item["type"] == QuestionType.RATING else None,
            options=options, show_if=item.get("show_if"),
            **_stored(item.get("text"), "text"), **_stored(item.get("help"), "help")))
    db.session.flush()
    record("survey.import", actor=actor, target=survey,
           summary=f"Imported survey {survey.id} from a definition",
           data={"questions": len(data["questions"]), "seed_key": seed_key,
                 "department_id": survey.department_id, "service_id": survey.service_id})
    return survey


def import_text(text: str | bytes, *, actor: User | None,
                department_id: int | None = None) -> Survey:
    """Parse then create (the console and the CLI)."""
    data = parse(text)
    if not isinstance(data, dict):
        raise DefinitionError([("", _("Expected a JSON object."))])
    return create_from_definition(data, actor=actor, department_id=department_id)
