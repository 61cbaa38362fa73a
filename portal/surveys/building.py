"""Building surveys in the console: the survey's settings, its questions, its status
and the rules that keep answers meaningful once responses exist.

Every function takes plain arguments, flushes, writes its audit entry and returns;
the caller commits. A change that would break the survey's logic (``logic.check``)
or a lock rule raises ``BuildRefused`` with one translated message per reason, and
changes nothing.

Lock rules (a survey with at least one response):

- questions may be added, reworded (text, help, option labels), made required or not,
  moved to another section and closed (no longer asked; their answers stay);
- a question is never deleted or retyped, its key never changes, a rating's scale
  never changes, and its options are never removed nor their values changed
  (new options may be added);
- anonymous / identified never changes.

Status: draft → open → closed. A closed survey is final: it cannot be reopened nor
changed (its results stay as they were when it closed); copy it through the JSON
export and import to run it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import distinct, func, select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.surveys import labels, logic
from portal.surveys.models import (
    CHOICE,
    Answer,
    Question,
    QuestionType,
    Response,
    ShowIfOperator,
    Survey,
    SurveyStatus,
)
from portal.timeutil import utcnow

STATUS_LABELS = {
    SurveyStatus.DRAFT: _l("Draft"),
    SurveyStatus.OPEN: _l("Open"),
    SurveyStatus.CLOSED: _l("Closed"),
}
STATUS_BADGES = {SurveyStatus.DRAFT: "badge--off", SurveyStatus.OPEN: "badge--ok",
                 SurveyStatus.CLOSED: "badge--warn"}

TYPE_LABELS = labels.TYPE_LABELS

OPERATOR_LABELS = {
    ShowIfOperator.EQUALS: _l("is"),
    ShowIfOperator.ONE_OF: _l("is one of"),
    ShowIfOperator.AT_MOST: _l("is at most"),
    ShowIfOperator.AT_LEAST: _l("is at least"),
}

SURVEY_FIELDS = ("title_ja", "title_en", "intro_ja", "intro_en", "thanks_ja", "thanks_en",
                 "service_id", "department_id", "anonymous", "opens_on", "closes_on",
                 "reminder_after_days", "invitation_valid_days")
QUESTION_FIELDS = ("type", "key", "section", "text_ja", "text_en", "help_ja", "help_en",
                   "required", "scale_max", "options", "show_if")
# what a question of a survey with responses may still change
REWORDABLE = {"section", "text_ja", "text_en", "help_ja", "help_en", "required", "show_if",
              "options"}

KEY = re.compile(r"^[A-Za-z0-9_]{1,40}$")
OPTION_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


class BuildRefused(Exception):
    """A change refused: ``messages`` says why, in the reader's language."""

    def __init__(self, messages: Iterable[str]):
        self.messages = [str(m) for m in messages]
        super().__init__("; ".join(self.messages))


# -- reading ---------------------------------------------------------------------------

def status_label(code: str) -> str:
    label = STATUS_LABELS.get(code)
    return str(label) if label is not None else str(_l("Other"))


def type_label(code: str) -> str:
    label = TYPE_LABELS.get(code)
    return str(label) if label is not None else str(_l("Other"))


def response_counts(survey_ids: list[int]) -> dict[int, int]:
    """Responses per survey, in one grouped query."""
    if not survey_ids:
        return {}
    rows = db.session.execute(select(Response.survey_id, func.count())
                              .where(Response.survey_id.in_(survey_ids))
                              .group_by(Response.survey_id))
    return dict(rows.all())


def question_counts(survey_ids: list[int]) -> dict[int, int]:
    """Questions still asked per survey, in one grouped query."""
    if not survey_ids:
        return {}
    rows = db.session.execute(select(Question.survey_id, func.count())
                              .where(Question.survey_id.in_(survey_ids),
                                     Question.closed.is_(False))
                              .group_by(Question.survey_id))
    return dict(rows.all())


def answer_counts(survey: Survey) -> dict[int, int]:
    """Per question of the survey: how many responses answer it (one query)."""
    rows = db.session.execute(
        select(Answer.question_id, func.count(distinct(Answer.response_id)))
        .join(Question, Question.id == Answer.question_id)
        .where(Question.survey_id == survey.id).group_by(Answer.question_id))
    return dict(rows.all())


def has_responses(survey: Survey) -> bool:
    if survey.id is None:
        return False
    return db.session.scalar(select(Response.id).where(Response.survey_id == survey.id)
                             .limit(1)) is not None


def lock_reason(survey: Survey, question: Question | None, counts: dict[int, int],
                responses: int) -> str | None:
    """Why a question can no longer be deleted or retyped, or None when it can."""
    if not responses:
        return None
    answered = counts.get(question.id, 0) if question is not None else 0
    if answered:
        return ngettext("%(num)s response already answers this question; deleting or "
                        "retyping it would change what it means.",
                        "%(num)s responses already answer this question; deleting or "
                        "retyping it would change what they mean.", answered)
    return ngettext("The survey already has %(num)s response; its questions can be added, "
                    "reworded or closed, but not deleted or retyped.",
                    "The survey already has %(num)s responses; its questions can be added, "
                    "reworded or closed, but not deleted or retyped.", responses)


def describe_condition(condition: dict | None, questions: list) -> str:
    """A show-if condition in words: "Shown when Q1 (csat) is at most 2"."""
    if not condition:
        return ""
    target_key = condition.get("question")
    number = next((i for i, q in enumerate(questions, 1) if q.key == target_key), None)
    target = next((q for q in questions if q.key == target_key), None)
    name = _("Q%(number)s (%(key)s)", number=number, key=target_key) if number \
        else str(target_key)
    op = condition.get("op")
    value = condition.get("value")
    values = value if isinstance(value, list) else [value]
    words = []
    for v in values:
        if target is not None and target.type in CHOICE:
            option = next((o for o in target.options or [] if str(o.get("value")) == str(v)),
                          None)
            words.append(option_label(option) if option else str(v))
        elif target is not None and target.type == QuestionType.YES_NO and v in (0, 1):
            words.append(_("yes") if v == 1 else _("no"))
        else:
            words.append(str(v))
    value = _(", ").join(words) if len(words) > 1 else (words[0] if words else "")
    if op == ShowIfOperator.EQUALS:
        return _("Shown when %(question)s is %(value)s", question=name, value=value)
    if op == ShowIfOperator.ONE_OF:
        return _("Shown when %(question)s is one of %(value)s", question=name, value=value)
    if op == ShowIfOperator.AT_MOST:
        return _("Shown when %(question)s is at most %(value)s", question=name, value=value)
    if op == ShowIfOperator.AT_LEAST:
        return _("Shown when %(question)s is at least %(value)s", question=name, value=value)
    return _("Shown when %(question)s meets a condition (%(operator)s %(value)s)",
             question=name, operator=str(op), value=value)


def option_label(option: dict) -> str:
    from portal.i18n_fields import localized

    return localized(SimpleNamespace(**{k: v for k, v in option.items()
                                        if k.startswith("label_")}), "label") \
        or str(option.get("value"))


# -- problems in words -------------------------------------------------------------------

def problem_message(problem: logic.Problem, numbers: dict[str, int] | None = None) -> str:
    """One ``logic.Problem`` in the reader's language, naming the question (its
    number when ``numbers`` maps keys to positions, and its key)."""
    values = problem.values
    number = (numbers or {}).get(problem.key)
    who = _("Question %(number)s (%(key)s)", number=number, key=problem.key) if number \
        else _("Question %(key)s", key=problem.key)
    target = str(values[0]) if values else ""
    code = problem.code
    if code == "duplicate_key":
        text = _("another question has the same key; each key must be unique.")
    elif code == "too_few_options":
        text = _("a choice question needs at least two options.")
    elif code == "duplicate_option":
        text = _("two options have the same value; each value must be unique.")
    elif code == "refers_to_itself":
        text = _("its condition refers to the question itself.")
    elif code == "refers_to_later":
        text = _("its condition refers to %(target)s, which comes later; a condition can "
                 "only use an earlier question.", target=target)
    elif code == "refers_to_missing":
        text = _("its condition refers to %(target)s, which does not exist.", target=target)
    elif code == "unknown_operator":
        text = _("its condition uses an unknown comparison (%(op)s).", op=target)
    elif code == "refers_to_text":
        text = _("its condition refers to %(target)s, a text question; conditions can only "
                 "use scales, ratings, yes/no and choices.", target=target)
    elif code == "needs_a_list":
        text = _("“is one of” needs at least one value to compare %(target)s with.",
                 target=target)
    elif code == "comparison_on_choice":
        text = _("%(target)s is a choice question: use “is” or “is one of”, not “at most” "
                 "or “at least”.", target=target)
    elif code == "no_such_option":
        text = _("%(target)s has no option %(values)s.", target=target,
                 values=str(values[1]) if len(values) > 1 else "")
    elif code == "needs_a_number":
        text = _("%(target)s is answered with a number: compare it with a number.",
                 target=target)
    elif code == "impossible":
        text = _("no answer of %(target)s (from %(low)s to %(high)s) can meet its condition, "
                 "so the question would never be shown.", target=target,
                 low=values[1] if len(values) > 1 else "",
                 high=values[2] if len(values) > 2 else "")
    else:
        text = _("its logic has a problem (%(code)s).", code=code)
    return _("%(question)s: %(problem)s", question=who, problem=text)


def problem_messages(problems: list[logic.Problem], questions: list) -> list[str]:
    numbers = {q.key: i for i, q in enumerate(questions, 1)}
    return [problem_message(p, numbers) for p in problems]


# -- parsing what staff type ------------------------------------------------------------

def parse_options(text: str) -> list[dict[str, str]]:
    """Options typed one per line as ``value | 日本語 | English`` (the labels may be
    left out: the value is shown). Raises ``ValueError`` naming the line."""
    options = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 3:
            raise ValueError(_("Line %(line)s: write value | Japanese | English, with at "
                               "most two “|”.", line=number))
        value = parts[0]
        if not OPTION_VALUE.match(value):
            raise ValueError(_("Line %(line)s: the value “%(value)s” may only use letters, "
                               "digits, “_”, “-” and “.” (at most 80).", line=number,
                               value=value[:80]))
        label_ja = parts[1] if len(parts) > 1 else ""
        label_en = parts[2] if len(parts) > 2 else ""
        if len(label_ja) > 200 or len(label_en) > 200:
            raise ValueError(_("Line %(line)s: a label may have at most 200 characters.",
                               line=number))
        if not (label_ja or label_en):
            label_ja = label_en = value
        options.append({"value": value, "label_ja": label_ja, "label_en": label_en})
    return options


def format_options(options: list[dict] | None) -> str:
    return "\n".join(f"{o.get('value')} | {o.get('label_ja', '')} | {o.get('label_en', '')}"
                     for o in options or [])


def parse_condition_value(target, op: str, raw: str) -> Any:
    """The value of a show-if condition as typed, made a number for a numeric
    question (``logic.check`` reports what still does not fit)."""
    raw = (raw or "").strip()
    parts = [p.strip() for p in re.split(r"[,、，]", raw) if p.strip()] \
        if op == ShowIfOperator.ONE_OF else [raw]
    numeric = target is not None and logic.scale(target) is not None

    def convert(part: str) -> Any:
        if numeric:
            try:
                return int(part)
            except ValueError:
                return part
        return part

    values = [convert(p) for p in parts]
    return values if op == ShowIfOperator.ONE_OF else values[0]


def suggest_key(survey: Survey) -> str:
    keys = {q.key for q in survey.questions}
    n = len(survey.questions) + 1
    while f"q{n}" in keys:
        n += 1
    return f"q{n}"


# -- the survey ----------------------------------------------------------------------------

def _refuse_if_closed(survey: Survey) -> None:
    if survey.status == SurveyStatus.CLOSED:
        raise BuildRefused([_("This survey is closed: it can no longer be changed.")])


def _apply(obj: Any, values: dict[str, Any], fields: Iterable[str]) -> list[str]:
    changed = []
    for name in fields:
        if name in values and getattr(obj, name) != values[name]:
            setattr(obj, name, values[name])
            changed.append(name)
    return changed


def _check_dates(values: dict[str, Any]) -> None:
    opens, closes = values.get("opens_on"), values.get("closes_on")
    if opens and closes and opens > closes:
        raise BuildRefused([_("The closing date is before the opening date.")])


def _owner(values: dict[str, Any]) -> dict[str, Any]:
    """The service's department owns a survey about the service."""
    values = dict(values)
    if values.get("service_id"):
        from portal.services.models import Service

        service = db.session.get(Service, values["service_id"])
        if service is None:
            raise BuildRefused([_("Choose one of the services.")])
        values["department_id"] = service.department_id
    if not values.get("department_id"):
        raise BuildRefused([_("Choose the department that owns the survey.")])
    return values


def create_survey(*, actor: User | None, values: dict[str, Any]) -> Survey:
    values = _owner(values)
    _check_dates(values)
    survey = Survey(status=SurveyStatus.DRAFT, created_by_id=actor.id if actor else None)
    _apply(survey, values, SURVEY_FIELDS)
    db.session.add(survey)
    db.session.flush()
    record("survey.create", actor=actor, target=survey,
           summary=f"Created survey {survey.id}",
           data={"department_id": survey.department_id, "service_id": survey.service_id,
                 "anonymous": survey.anonymous})
    return survey


def update_survey(*, actor: User | None, survey: Survey, values: dict[str, Any]) -> list[str]:
    _refuse_if_closed(survey)
    values = _owner(values)
    _check_dates(values)
    if "anonymous" in values and bool(values["anonymous"]) != survey.anonymous \
            and has_responses(survey):
        raise BuildRefused([_("The survey already has responses: it cannot change between "
                              "anonymous and identified.")])
    changed = _apply(survey, values, SURVEY_FIELDS)
    db.session.flush()
    if changed:
        record("survey.update", actor=actor, target=survey,
               summary=f"Updated survey {survey.id}", data={"fields": changed})
    return changed


def open_survey(*, actor: User | None, survey: Survey) -> None:
    if survey.status != SurveyStatus.DRAFT:
        raise BuildRefused([_("Only a draft survey can be opened.")])
    messages = opening_problems(survey)
    if messages:
        raise BuildRefused(messages)
    survey.status = SurveyStatus.OPEN
    survey.opened_at = utcnow()
    db.session.flush()
    record("survey.open", actor=actor, target=survey, summary=f"Opened survey {survey.id}")


def opening_problems(survey: Survey) -> list[str]:
    """What keeps a draft from opening, in words (empty: it may open)."""
    messages = []
    asked = [q for q in survey.questions if not q.closed]
    if not (survey.title_ja or survey.title_en):
        messages.append(_("The survey needs a title."))
    if not asked:
        messages.append(_("The survey has no questions yet."))
    for number, question in enumerate(survey.questions, 1):
        if not question.closed and not (question.text_ja or question.text_en):
            messages.append(_("Question %(number)s (%(key)s) has no text.", number=number,
                              key=question.key))
    messages += problem_messages(logic.check(list(survey.questions)), survey.questions)
    return messages


def close_survey(*, actor: User | None, survey: Survey) -> None:
    if survey.status != SurveyStatus.OPEN:
        raise BuildRefused([_("Only an open survey can be closed.")])
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = utcnow()
    db.session.flush()
    record("survey.close", actor=actor, target=survey, summary=f"Closed survey {survey.id}")


# -- questions ----------------------------------------------------------------------------

@dataclass
class QuestionShape:
    """A question as it would be after an edit (or as a definition describes it),
    for ``logic.check``."""

    key: str
    type: str
    options: list | None = None
    show_if: dict | None = None
    scale_max: int | None = None
    closed: bool = False
    id: int | None = None


def _shadow(question: Question, values: dict[str, Any] | None = None) -> QuestionShape:
    values = values or {}
    return QuestionShape(key=values.get("key", question.key),
                         type=values.get("type", question.type),
                         options=values.get("options", question.options),
                         show_if=values.get("show_if", question.show_if),
                         scale_max=values.get("scale_max", question.scale_max),
                         closed=question.closed, id=question.id)


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    kind = values.get("type")
    if kind is not None:
        if kind not in set(QuestionType):
            raise BuildRefused([_("Choose one of the question types.")])
        if kind != QuestionType.RATING:
            values["scale_max"] = None
        elif not values.get("scale_max"):
            values["scale_max"] = 5
        if kind not in CHOICE:
            values["options"] = None
    if "key" in values and not KEY.match(str(values["key"] or "")):
        raise BuildRefused([_("The key may only use letters, digits and “_” (at most 40).")])
    return values


def _check_logic(survey: Survey, shadows: list) -> None:
    problems = logic.check(shadows)
    if problems:
        raise BuildRefused(problem_messages(problems, shadows))


def _check_lock(survey: Survey, question: Question, values: dict[str, Any]) -> None:
    """Refuse what would change the meaning of stored answers."""
    if not has_responses(survey):
        return
    messages = []
    if values.get("key", question.key) != question.key:
        messages.append(_("The key cannot change: the survey already has responses."))
    if values.get("type", question.type) != question.type:
        messages.append(_("The type cannot change: the survey already has responses, and "
                          "their answers would change meaning."))
    if question.type == QuestionType.RATING and \
            values.get("scale_max", question.scale_max) != question.scale_max:
        messages.append(_("The scale cannot change: the survey already has responses."))
    if question.type in CHOICE and "options" in values:
        new_values = [str(o.get("value")) for o in values["options"] or []]
        removed = [str(o.get("value")) for o in question.options or []
                   if str(o.get("value")) not in new_values]
        if removed:
            messages.append(_("Options cannot be removed nor their values changed once there "
                              "are responses (missing: %(values)s); labels may be reworded "
                              "and options added.", values=", ".join(removed)))
    if messages:
        raise BuildRefused(messages)


def add_question(*, actor: User | None, survey: Survey, values: dict[str, Any]) -> Question:
    _refuse_if_closed(survey)
    values = _normalise(values)
    shadows = [_shadow(q) for q in survey.questions]
    shadows.append(QuestionShape(key=values["key"], type=values["type"],
                                 options=values.get("options"), show_if=values.get("show_if"),
                                 scale_max=values.get("scale_max")))
    _check_logic(survey, shadows)
    position = max((q.position for q in survey.questions), default=0) + 1
    question = Question(survey=survey, position=position)
    _apply(question, {"section": 1, **values}, QUESTION_FIELDS)
    db.session.add(question)
    db.session.flush()
    record("survey.question_add", actor=actor, target=survey,
           summary=f"Added question {question.key} to survey {survey.id}",
           data={"question_id": question.id, "key": question.key, "type": question.type})
    return question


def edit_question(*, actor: User | None, question: Question,
                  values: dict[str, Any]) -> list[str]:
    survey = question.survey
    _refuse_if_closed(survey)
    values = _normalise({"type": question.type, **values})
    _check_lock(survey, question, values)
    old_key = question.key
    shadows = [_shadow(q, values if q.id == question.id else None) for q in survey.questions]
    if values.get("key", old_key) != old_key:
        for shadow in shadows:
            if shadow.show_if and shadow.show_if.get("question") == old_key \
                    and shadow.id != question.id:
                shadow.show_if = {**shadow.show_if, "question": values["key"]}
    _check_logic(survey, shadows)
    changed = _apply(question, values, QUESTION_FIELDS)
    if "key" in changed:
        # conditions follow the renamed question
        for other in survey.questions:
            if other.show_if and other.show_if.get("question") == old_key:
                other.show_if = {**other.show_if, "question": question.key}
    db.session.flush()
    if changed:
        record("survey.question_edit", actor=actor, target=survey,
               summary=f"Changed question {question.key} of survey {survey.id}",
               data={"question_id": question.id, "fields": changed})
    return changed


def move_question(*, actor: User | None, question: Question, direction: str) -> None:
    survey = question.survey
    _refuse_if_closed(survey)
    order = list(survey.questions)
    index = order.index(question)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(order):
        raise BuildRefused([_("The question cannot move further.")])
    order[index], order[other] = order[other], order[index]
    _check_logic(survey, [_shadow(q) for q in order])
    for position, item in enumerate(order, 1):
        item.position = position
    db.session.flush()
    survey.questions.sort(key=lambda q: q.position)
    record("survey.question_move", actor=actor, target=survey,
           summary=f"Moved question {question.key} of survey {survey.id} {direction}",
           data={"question_id": question.id, "direction": direction})


def _dependents(question: Question) -> list[Question]:
    return [q for q in question.survey.questions
            if q.id != question.id and not q.closed and q.show_if
            and q.show_if.get("question") == question.key]


def close_question(*, actor: User | None, question: Question) -> None:
    survey = question.survey
    _refuse_if_closed(survey)
    if question.closed:
        return
    dependents = _dependents(question)
    if dependents:
        raise BuildRefused([_("Question %(key)s is shown depending on this question: change "
                              "its condition or close it first.", key=q.key)
                            for q in dependents])
    question.closed = True
    db.session.flush()
    record("survey.question_close", actor=actor, target=survey,
           summary=f"Closed question {question.key} of survey {survey.id}",
           data={"question_id": question.id})


def delete_question(*, actor: User | None, question: Question) -> None:
    survey = question.survey
    _refuse_if_closed(survey)
    if has_responses(survey):
        raise BuildRefused([lock_reason(survey, question, answer_counts(survey),
                                        response_counts([survey.id]).get(survey.id, 0))])
    rest = [q for q in survey.questions if q.id != question.id]
    _check_logic(survey, [_shadow(q) for q in rest])
    key, question_id = question.key, question.id
    survey.questions.remove(question)
    db.session.delete(question)
    for position, item in enumerate(rest, 1):
        item.position = position
    db.session.flush()
    record("survey.question_delete", actor=actor, target=survey,
           summary=f"Deleted question {key} of survey {survey.id}",
           data={"question_id": question_id, "key": key})
