"""What a playbook may hold, and the one check every door uses (the console's form,
``portal seed``'s starter library, tests): ``problems(data)`` lists what is wrong
with a definition, each with the field it belongs to and a message in the reader's
language; an empty list means it can be saved.

A definition is a plain dict with the columns of ``Playbook`` (``trigger``,
``trigger_params``, ``conditions``, ``steps``, ``cooldown_days``, ``holdout_percent``,
``service_id``, ``department_id`` ...). The catalogues below are the contract
between the console, the evaluation (``portal.playbooks.evaluation``) and the
starter library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.engagement.dashboards import AGE_BANDS


@dataclass(frozen=True)
class Param:
    name: str
    low: int
    high: int
    label: Any  # lazy string


@dataclass(frozen=True)
class Trigger:
    code: str
    label: Any
    params: tuple[Param, ...] = ()
    needs_service: bool = False  # reads the service's scores or uses
    # evaluated by the daily run (False: only a manual start opens a case)
    evaluated: bool = True


DAYS = _l("Days")
TRIGGERS: dict[str, Trigger] = {t.code: t for t in (
    # {"band": "red"}: the service's current score is in the band
    Trigger("band", _l("Score enters a band"), needs_service=True),
    Trigger("score_fall", _l("Score falls by N points within D days"),
            (Param("points", 1, 100, _l("Points")), Param("days", 7, 365, DAYS)),
            needs_service=True),
    # one of {"days": D} (no use for D days) or {"intervals": K} (more than K times
    # the service's expected interval); only residents who used the service before
    Trigger("no_use", _l("No use of the service"),
            (Param("days", 1, 730, DAYS), Param("intervals", 1, 12, _l("Expected intervals"))),
            needs_service=True),
    Trigger("never_used", _l("Eligible and never used"), needs_service=True),
    # registered or imported within D days
    Trigger("new_resident", _l("New resident"), (Param("days", 1, 365, DAYS),)),
    # a detractor answer (NPS 0–6) within D days, about the service when one is set
    Trigger("detractor", _l("Survey detractor"), (Param("days", 1, 90, DAYS),)),
    # an inquiry (about the service when one is set) overdue by at least D days
    Trigger("inquiry_overdue", _l("Inquiry overdue"), (Param("days", 0, 60, DAYS),)),
    # {"event": "child_born", "days": D}: the event happened within D days
    Trigger("life_event", _l("Life event"), (Param("days", 1, 365, DAYS),)),
    Trigger("manual", _l("Manual start by staff"), evaluated=False),
)}

BANDS = ("red", "yellow", "green")
LIFE_EVENTS = ("moved_in", "child_born", "turned_65")
AGE_BAND_CODES = tuple(label for label, _, _ in AGE_BANDS)
LOCALES = ("ja", "en")

#: conditions on the resident; every one is optional and they all must hold
CONDITIONS = {
    "districts": _l("District"),  # [district code, ...]
    "age_bands": _l("Age band"),  # ["65-74", "75+"]
    "locales": _l("Language"),  # ["ja"]
    "child_under": _l("Household with a child under"),  # years, 1–18
    "used_service": _l("Has used another service"),  # service id
    "other_band": _l("Band of another service"),  # {"service_id": 3, "band": "red"}
    "consent_profiling": _l("Consents to profiling"),  # True / False
    "consent_outreach": _l("Consents to outreach"),  # True / False
}

STEP_KINDS = {
    # {"title_ja", "title_en", "assignee": "queue" | "user" | "role",
    #  "user_id" (assignee user), "role" (assignee role: "staff" | "manager"), "due_days"}
    "task": _l("Task"),
    # {"template_id"}: channel e-mail or letter by the resident's preferences
    "message": _l("Message"),
    # {"survey_id"}
    "survey": _l("Survey invitation"),
    # the steps after it run only if the trigger still holds at its offset
    "wait": _l("Wait until"),
}
ASSIGNEES = {"queue": _l("The department's queue"), "user": _l("A named member of staff"),
             "role": _l("A role in the department")}
ASSIGNEE_ROLES = ("staff", "manager")
OFFSET_MAX = 365
DUE_MAX = 90
COOLDOWN_MAX = 730
HOLDOUT_MAX = 50
#: after this many days a case's score is measured for the uplift
MEASURE_DAYS = 30


@dataclass(frozen=True)
class Problem:
    field: str  # "trigger_params.days", "steps.2.offset_days", "conditions.child_under" ...
    message: str


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _range(out: list[Problem], field: str, value: Any, low: int, high: int) -> None:
    number = _int(value)
    if number is None:
        out.append(Problem(field, str(_l("Enter a whole number."))))
    elif not low <= number <= high:
        out.append(Problem(field, str(_l("Enter a number from %(low)s to %(high)s.",
                                         low=low, high=high))))


def problems(data: dict[str, Any], *, lookup: Lookup | None = None) -> list[Problem]:
    """What is wrong with the definition ``data``; ``lookup`` checks the records it
    names (the database's by default)."""
    lookup = lookup or Lookup()
    out: list[Problem] = []
    for field in ("name_ja", "name_en"):
        if not (data.get(field) or "").strip():
            out.append(Problem(field, str(_l("Enter the name in both languages."))))
    if not lookup.department(data.get("department_id")):
        out.append(Problem("department_id", str(_l("Choose the owner department."))))
    service_id = data.get("service_id")
    if service_id is not None and not lookup.service(service_id):
        out.append(Problem("service_id", str(_l("Choose a service from the list."))))
    _trigger(out, data, service_id)
    _conditions(out, data.get("conditions") or {}, lookup)
    _steps(out, data.get("steps") or [], data.get("department_id"), lookup)
    _range(out, "cooldown_days", data.get("cooldown_days"), 0, COOLDOWN_MAX)
    _range(out, "holdout_percent", data.get("holdout_percent"), 0, HOLDOUT_MAX)
    return out


def _trigger(out: list[Problem], data: dict[str, Any], service_id: Any) -> None:
    trigger = TRIGGERS.get(data.get("trigger") or "")
    if trigger is None:
        out.append(Problem("trigger", str(_l("Choose a trigger from the list."))))
        return
    params = data.get("trigger_params") or {}
    if trigger.needs_service and service_id is None:
        out.append(Problem("service_id", str(_l("This trigger needs a service."))))
    if trigger.code == "band":
        if params.get("band") not in BANDS:
            out.append(Problem("trigger_params.band", str(_l("Choose a band."))))
        return
    if trigger.code == "no_use":
        given = [p for p in trigger.params if params.get(p.name) not in (None, "")]
        if len(given) != 1:
            out.append(Problem("trigger_params.days", str(
                _l("Give either the days without use or the number of expected intervals."))))
            return
        _range(out, f"trigger_params.{given[0].name}", params[given[0].name],
               given[0].low, given[0].high)
        return
    if trigger.code == "life_event" and params.get("event") not in LIFE_EVENTS:
        out.append(Problem("trigger_params.event", str(_l("Choose a life event."))))
    for param in trigger.params:
        _range(out, f"trigger_params.{param.name}", params.get(param.name), param.low, param.high)


def _conditions(out: list[Problem], conditions: dict[str, Any], lookup: Lookup) -> None:
    for key in conditions:
        if key not in CONDITIONS:
            out.append(Problem(f"conditions.{key}", str(_l("Unknown condition."))))
    districts = conditions.get("districts")
    if districts is not None and (not isinstance(districts, list)
                                  or not all(lookup.district(d) for d in districts)):
        out.append(Problem("conditions.districts", str(_l("Choose districts from the list."))))
    bands = conditions.get("age_bands")
    if bands is not None and (not isinstance(bands, list)
                              or not all(b in AGE_BAND_CODES for b in bands)):
        out.append(Problem("conditions.age_bands", str(_l("Choose age bands from the list."))))
    locales = conditions.get("locales")
    if locales is not None and (not isinstance(locales, list)
                                or not all(loc in LOCALES for loc in locales)):
        out.append(Problem("conditions.locales", str(_l("Choose languages from the list."))))
    if conditions.get("child_under") is not None:
        _range(out, "conditions.child_under", conditions["child_under"], 1, 18)
    if conditions.get("used_service") is not None and not lookup.service(
            conditions["used_service"]):
        out.append(Problem("conditions.used_service", str(_l("Choose a service from the list."))))
    other = conditions.get("other_band")
    if other is not None and (not isinstance(other, dict) or other.get("band") not in BANDS
                              or not lookup.service(other.get("service_id"))):
        out.append(Problem("conditions.other_band", str(_l("Choose a service and a band."))))
    for flag in ("consent_profiling", "consent_outreach"):
        if conditions.get(flag) is not None and not isinstance(conditions[flag], bool):
            out.append(Problem(f"conditions.{flag}", str(_l("Choose yes or no."))))


def _steps(out: list[Problem], steps: list[dict[str, Any]], department_id: Any,
           lookup: Lookup) -> None:
    if not any(step.get("kind") in ("task", "message", "survey") for step in steps):
        out.append(Problem("steps", str(_l("Add at least one task, message or survey step."))))
    previous = 0
    for n, step in enumerate(steps):
        field = f"steps.{n}"
        kind = step.get("kind")
        if kind not in STEP_KINDS:
            out.append(Problem(f"{field}.kind", str(_l("Choose a kind of step."))))
            continue
        offset = _int(step.get("offset_days"))
        if offset is None or not 0 <= offset <= OFFSET_MAX:
            _range(out, f"{field}.offset_days", step.get("offset_days"), 0, OFFSET_MAX)
        elif offset < previous:
            out.append(Problem(f"{field}.offset_days", str(_l(
                "A step cannot come before the step above it (day %(day)s).", day=previous))))
        else:
            previous = offset
        if kind == "task":
            for lang in ("ja", "en"):
                if not (step.get(f"title_{lang}") or "").strip():
                    out.append(Problem(f"{field}.title_{lang}",
                                       str(_l("Enter the task's title in both languages."))))
            _range(out, f"{field}.due_days", step.get("due_days"), 0, DUE_MAX)
            assignee = step.get("assignee")
            if assignee not in ASSIGNEES:
                out.append(Problem(f"{field}.assignee", str(_l("Choose who the task is for."))))
            elif assignee == "user" and not lookup.staff_in(step.get("user_id"), department_id):
                out.append(Problem(f"{field}.user_id", str(
                    _l("Choose an active member of the owner department."))))
            elif assignee == "role" and step.get("role") not in ASSIGNEE_ROLES:
                out.append(Problem(f"{field}.role", str(_l("Choose a role."))))
        elif kind == "message" and not lookup.template(step.get("template_id")):
            out.append(Problem(f"{field}.template_id", str(_l("Choose a message template."))))
        elif kind == "survey" and not lookup.survey(step.get("survey_id")):
            out.append(Problem(f"{field}.survey_id",
                               str(_l("Choose a survey that is not closed."))))


class Lookup:
    """Whether the records a definition names exist (and may be named)."""

    def _get(self, model, value):
        from portal.extensions import db

        number = _int(value)
        return db.session.get(model, number) if number is not None else None

    def department(self, value) -> bool:
        from portal.services.models import Department

        return self._get(Department, value) is not None

    def service(self, value) -> bool:
        from portal.services.models import Service

        return self._get(Service, value) is not None

    def district(self, code) -> bool:
        from sqlalchemy import select

        from portal.extensions import db
        from portal.residents.models import District

        return isinstance(code, str) and db.session.scalar(
            select(District.id).where(District.code == code)) is not None

    def template(self, value) -> bool:
        from portal.outreach.models import MessageTemplate

        return self._get(MessageTemplate, value) is not None

    def survey(self, value) -> bool:
        from portal.surveys.models import Survey

        survey = self._get(Survey, value)
        return survey is not None and survey.status in ("open", "draft")

    def staff_in(self, value, department_id) -> bool:
        from portal.auth.models import Role, User

        user = self._get(User, value)
        return (user is not None and user.is_active
                and user.role in (Role.STAFF, Role.MANAGER, Role.ADMIN)
                and (user.department_id == _int(department_id) or user.role != Role.STAFF))
