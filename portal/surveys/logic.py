"""Show-if logic: which questions a resident sees, given the answers so far, and
the checks a survey's logic must pass when it is saved.

A condition names an *earlier* question by its key and compares its answer:
``equals`` (a number or a choice), ``one_of`` (a list), ``at_most`` / ``at_least``
(numbers, on a numeric question). A question whose condition's question is hidden
is hidden too (chains), and so is one whose condition's question is unanswered.
Everything here works on plain values, so the answering form, the preview, the JSON
import and the tests share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.surveys.models import CHOICE, NUMERIC, SCALES, QuestionType, ShowIfOperator


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a survey's logic: the question it is about (key) and a
    message code with its values (translated by the caller: ``problem_message``)."""

    key: str
    code: str
    values: tuple = ()


def scale(question) -> tuple[int, int] | None:
    """The ends of a numeric question's scale (yes/no: 0 no, 1 yes)."""
    kind = QuestionType(question.type)
    if kind in SCALES:
        return SCALES[kind]
    if kind is QuestionType.RATING:
        return 1, int(question.scale_max or 5)
    if kind is QuestionType.YES_NO:
        return 0, 1
    return None


def option_values(question) -> list[str]:
    return [str(o.get("value")) for o in (question.options or [])]


def holds(condition: Mapping[str, Any], answer: Any) -> bool:
    """Whether an answer (a number, a choice, a list of choices, or None) meets a
    condition. Unanswered never does."""
    if answer is None or answer == [] or answer == "":
        return False
    op, value = condition.get("op"), condition.get("value")
    answers = answer if isinstance(answer, list) else [answer]
    if op == ShowIfOperator.EQUALS:
        return any(_same(a, value) for a in answers)
    if op == ShowIfOperator.ONE_OF:
        return any(_same(a, v) for a in answers for v in (value or []))
    numbers = [a for a in answers if isinstance(a, int | float) and not isinstance(a, bool)]
    if op == ShowIfOperator.AT_MOST:
        return any(a <= value for a in numbers)
    if op == ShowIfOperator.AT_LEAST:
        return any(a >= value for a in numbers)
    return False


def _same(answer: Any, value: Any) -> bool:
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        return isinstance(value, int | float) and answer == value
    return str(answer) == str(value)


def visible(questions: Iterable, answers: Mapping[str, Any]) -> list:
    """The questions shown, in order, given the answers so far (closed questions
    are never shown)."""
    shown: dict[str, Any] = {}
    for question in questions:
        if question.closed:
            continue
        condition = question.show_if
        if condition and (condition.get("question") not in shown
                          or not holds(condition, answers.get(condition.get("question")))):
            continue
        shown[question.key] = question
    return list(shown.values())


def check(questions: list) -> list[Problem]:
    """Every problem with the questions' logic and shape, in question order."""
    problems: list[Problem] = []
    earlier: dict[str, Any] = {}
    seen_keys: set[str] = set()
    all_keys = {q.key for q in questions}
    for question in questions:
        key = question.key
        if key in seen_keys:
            problems.append(Problem(key, "duplicate_key"))
        seen_keys.add(key)
        kind = question.type
        if kind in CHOICE:
            values = option_values(question)
            if len(values) < 2:
                problems.append(Problem(key, "too_few_options"))
            if len(set(values)) != len(values):
                problems.append(Problem(key, "duplicate_option"))
        condition = question.show_if
        if condition:
            problems += _check_condition(question, condition, earlier, all_keys)
        earlier[key] = question
    return problems


def _check_condition(question, condition, earlier, all_keys) -> list[Problem]:
    key, target_key = question.key, condition.get("question")
    if target_key == key:
        return [Problem(key, "refers_to_itself")]
    if target_key not in earlier:
        # a later question (a cycle, or an order that cannot be shown) or none at all
        code = "refers_to_later" if target_key in all_keys else "refers_to_missing"
        return [Problem(key, code, (str(target_key),))]
    target = earlier[target_key]
    op, value = condition.get("op"), condition.get("value")
    try:
        op = ShowIfOperator(op)
    except ValueError:
        return [Problem(key, "unknown_operator", (str(op),))]
    kind = target.type
    if kind in {QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT}:
        return [Problem(key, "refers_to_text", (target_key,))]
    values = value if op is ShowIfOperator.ONE_OF else [value]
    if op is ShowIfOperator.ONE_OF and (not isinstance(value, list) or not value):
        return [Problem(key, "needs_a_list", (target_key,))]
    if kind in CHOICE:
        if op in (ShowIfOperator.AT_MOST, ShowIfOperator.AT_LEAST):
            return [Problem(key, "comparison_on_choice", (target_key,))]
        known = option_values(target)
        missing = [str(v) for v in values if str(v) not in known]
        if missing:
            return [Problem(key, "no_such_option", (target_key, ", ".join(missing)))]
        return []
    if kind in NUMERIC:
        low, high = scale(target)
        if any(not isinstance(v, int | float) or isinstance(v, bool) for v in values):
            return [Problem(key, "needs_a_number", (target_key,))]
        if (op is ShowIfOperator.AT_MOST and value < low) or \
                (op is ShowIfOperator.AT_LEAST and value > high) or \
                (op in (ShowIfOperator.EQUALS, ShowIfOperator.ONE_OF) and \
                all(v < low or v > high for v in values)):
            # no answer on the scale can meet it: the question could never be shown
            return [Problem(key, "impossible", (target_key, low, high))]
    return []
