"""Forms of the playbooks console.

The definition form keeps everything as typed (numbers are text fields): the one
check of a definition is ``definition.problems`` (through ``editing.check``), whose
messages the form shows on the fields they name (``steps.2.offset_days`` is the
third step's offset). The steps are a list of fieldsets that works without
JavaScript: "Add a step" posts the form and gets it back with one more empty step;
each step has a "Remove" box that drops it when the form is saved.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import Length, Optional

from portal.auth.models import Role, User
from portal.engagement.explain import BAND_LABELS
from portal.extensions import db
from portal.forms import Form, options
from portal.i18n import language_names
from portal.i18n_fields import localized
from portal.outreach.models import MessageTemplate
from portal.playbooks import definition as d
from portal.playbooks.labels import LIFE_EVENT_LABELS, STATUS_LABELS, TRIGGER_LABELS
from portal.playbooks.models import PlaybookStatus
from portal.residents.models import District
from portal.services.forms import MultiCheckboxField
from portal.services.models import Department, Service
from portal.surveys.models import Survey, SurveyStatus

#: the definition's field paths that are not the form field's own name
PARAM_FIELDS = {"band", "points", "days", "intervals", "event"}
YES_NO_ANY = (("", _l("Either")), ("yes", _l("Yes")), ("no", _l("No")))
NUMBER = {"inputmode": "numeric", "class": "input--short"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _number_field(label, **kwargs):
    return StringField(label, filters=[_strip], render_kw=NUMBER, **kwargs)


def number(value: Any) -> Any:
    """A typed whole number as an int; blank as None; anything else as typed (the
    definition check says "Enter a whole number")."""
    if value is None:
        return None
    text = str(value).strip()
    if text == "":
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    return text


class StepForm(SubForm):
    """One step (a sub-form: the page's CSRF token covers it)."""

    kind = SelectField(_l("Kind of step"), validate_choice=False)
    offset_days = _number_field(_l("Day (from the case's opening)"))
    title_ja = StringField(_l("Task title (Japanese)"), filters=[_strip],
                           validators=[Optional(), Length(max=200)])
    title_en = StringField(_l("Task title (English)"), filters=[_strip],
                           validators=[Optional(), Length(max=200)])
    assignee = SelectField(_l("Who the task is for"), validate_choice=False)
    user_id = SelectField(_l("Member of staff"), validate_choice=False)
    role = SelectField(_l("Role"), validate_choice=False)
    due_days = _number_field(_l("Due after (days)"))
    template_id = SelectField(_l("Message template"), validate_choice=False)
    survey_id = SelectField(_l("Survey"), validate_choice=False)
    remove = BooleanField(_l("Remove this step"))

    def blank(self) -> bool:
        return not any((self.kind.data, self.offset_days.data, self.title_ja.data,
                        self.title_en.data))


class PlaybookForm(Form):
    name_ja = StringField(_l("Name (Japanese)"), filters=[_strip],
                          validators=[Optional(), Length(max=160)])
    name_en = StringField(_l("Name (English)"), filters=[_strip],
                          validators=[Optional(), Length(max=160)])
    description_ja = TextAreaField(_l("Description (Japanese)"), filters=[_strip],
                                   validators=[Optional(), Length(max=5000)])
    description_en = TextAreaField(_l("Description (English)"), filters=[_strip],
                                   validators=[Optional(), Length(max=5000)])
    department_id = SelectField(_l("Owner department"), validate_choice=False)
    service_id = SelectField(_l("Service"), validate_choice=False,
                             description=_l("Optional for some triggers; the trigger reads "
                                            "this service's scores or uses."))
    trigger = SelectField(_l("Trigger"), validate_choice=False)
    band = SelectField(_l("Band"), validate_choice=False,
                       description=_l("For “Score enters a band”."))
    points = _number_field(_l("Points fallen"),
                           description=_l("For “Score falls by N points within D days”."))
    days = _number_field(_l("Days"), description=_l(
        "The trigger's days: D of “falls within D days”, days without use, days since "
        "registration, since the answer, overdue, since the life event."))
    intervals = _number_field(_l("Expected intervals"), description=_l(
        "For “No use of the service”: instead of days, more than this many times the "
        "service's expected interval."))
    event = SelectField(_l("Life event"), validate_choice=False,
                        description=_l("For “Life event”."))
    districts = MultiCheckboxField(_l("Districts"), validate_choice=False)
    age_bands = MultiCheckboxField(_l("Age bands"), validate_choice=False)
    locales = MultiCheckboxField(_l("Languages"), validate_choice=False)
    child_under = _number_field(_l("Household with a child under (years)"))
    used_service = SelectField(_l("Has used another service"), validate_choice=False)
    other_band_service = SelectField(_l("Band of another service: the service"),
                                     validate_choice=False)
    other_band = SelectField(_l("Band of another service: the band"), validate_choice=False)
    consent_profiling = SelectField(_l("Consents to profiling"), validate_choice=False,
                                    choices=options(YES_NO_ANY))
    consent_outreach = SelectField(_l("Consents to outreach"), validate_choice=False,
                                   choices=options(YES_NO_ANY), description=_l(
                                       "Messages always honour outreach consent and "
                                       "do-not-contact, whatever you choose here."))
    steps = FieldList(FormField(StepForm), min_entries=1)
    cooldown_days = _number_field(_l("Cooldown (days)"), default="90", description=_l(
        "Days before the same resident can enter the playbook again (0–730)."))
    auto_close = BooleanField(_l("Close a case by itself when its trigger has cleared"),
                              default=True)
    holdout_percent = _number_field(_l("Holdout (%)"), default="10", description=_l(
        "The share of residents who get no outreach, to compare with (0–50)."))
    version = HiddenField()
    add_step = SubmitField(_l("Add a step"))
    submit = SubmitField(_l("Save playbook"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summary: list[tuple[str, str, str]] = []  # (field id, label, message)
        self.steps_problems: list[str] = []
        departments = db.session.scalars(select(Department).order_by(Department.code)).all()
        services = db.session.scalars(select(Service).order_by(Service.slug)).all()
        self.department_id.choices = options(
            [("", _l("Choose a department")), *((str(x.id), x.name) for x in departments)])
        service_choices = [(str(s.id), s.name) for s in services]
        self.service_id.choices = options([("", _l("No service")), *service_choices])
        self.used_service.choices = options([("", _l("Any")), *service_choices])
        self.other_band_service.choices = options([("", _l("Any")), *service_choices])
        self.trigger.choices = options([("", _l("Choose a trigger")),
                                        *TRIGGER_LABELS.items()])
        bands = [(b, BAND_LABELS[b]) for b in d.BANDS]
        self.band.choices = options([("", _l("Choose a band")), *bands])
        self.other_band.choices = options([("", _l("Any")), *bands])
        self.event.choices = options([("", _l("Choose a life event")),
                                      *LIFE_EVENT_LABELS.items()])
        self.districts.choices = options(
            (x.code, localized(x, "name")) for x in db.session.scalars(
                select(District).order_by(District.position, District.code)))
        self.age_bands.choices = options((code, code) for code in d.AGE_BAND_CODES)
        names = language_names(_config())
        self.locales.choices = options((code, names.get(code, code)) for code in d.LOCALES)
        self._step_choices()

    def department(self) -> int | None:
        value = number(self.department_id.data)
        return value if isinstance(value, int) else None

    def _step_choices(self) -> None:
        department = self.department()
        staff = templates = []
        if department is not None:
            staff = db.session.scalars(select(User).where(
                User.department_id == department, User.active.is_(True),
                User.role.in_([Role.STAFF, Role.MANAGER])).order_by(User.display_name)).all()
            templates = db.session.scalars(select(MessageTemplate).where(
                MessageTemplate.department_id == department).order_by(MessageTemplate.id)).all()
        surveys = db.session.scalars(select(Survey).where(
            Survey.status != SurveyStatus.CLOSED).order_by(Survey.id.desc())).all()
        choose_department = _l("Choose the owner department first")
        kinds = options([("", _l("Choose a kind")), *d.STEP_KINDS.items()])
        assignees = options(d.ASSIGNEES.items())
        roles = options([("staff", _l("Staff")), ("manager", _l("Manager"))])
        users = options([("", _l("Choose a member of staff") if department else
                          choose_department), *((str(u.id), u.display_name) for u in staff)])
        template_choices = options([("", _l("Choose a template") if department else
                                     choose_department),
                                    *((str(t.id), t.name) for t in templates)])
        survey_choices = options([("", _l("Choose a survey")),
                                  *((str(s.id), s.title or s.title_ja) for s in surveys)])
        for entry in self.steps.entries:
            step = entry.form
            step.kind.choices, step.assignee.choices, step.role.choices = kinds, assignees, roles
            step.user_id.choices, step.template_id.choices = users, template_choices
            step.survey_id.choices = survey_choices

    def add_empty_step(self) -> None:
        self.steps.append_entry()
        self._step_choices()

    # -- between the form and a definition ------------------------------------------

    def definition(self) -> tuple[dict[str, Any], list]:
        """The definition typed into the form, and the step entries it holds (by
        index: what ``steps.N`` of a problem points at)."""
        trigger = self.trigger.data or ""
        spec = d.TRIGGERS.get(trigger)
        params: dict[str, Any] = {}
        if trigger == "band":
            params["band"] = self.band.data or None
        elif trigger == "no_use":
            params = {name: number(self[name].data) for name in ("days", "intervals")
                      if number(self[name].data) is not None}
        elif spec is not None:
            params = {p.name: number(self[p.name].data) for p in spec.params}
            if trigger == "life_event":
                params["event"] = self.event.data or None
        conditions: dict[str, Any] = {}
        for name in ("districts", "age_bands", "locales"):
            if self[name].data:
                conditions[name] = list(self[name].data)
        if number(self.child_under.data) is not None:
            conditions["child_under"] = number(self.child_under.data)
        if self.used_service.data:
            conditions["used_service"] = number(self.used_service.data)
        if self.other_band_service.data or self.other_band.data:
            conditions["other_band"] = {"service_id": number(self.other_band_service.data),
                                        "band": self.other_band.data or None}
        for flag in ("consent_profiling", "consent_outreach"):
            if self[flag].data in ("yes", "no"):
                conditions[flag] = self[flag].data == "yes"
        kept = [entry for entry in self.steps.entries
                if not entry.form.remove.data and not entry.form.blank()]
        data = {
            "name_ja": self.name_ja.data or "", "name_en": self.name_en.data or "",
            "description_ja": self.description_ja.data or "",
            "description_en": self.description_en.data or "",
            "department_id": self.department(), "service_id": number(self.service_id.data),
            "trigger": trigger, "trigger_params": params, "conditions": conditions,
            "steps": [step_definition(entry.form) for entry in kept],
            "cooldown_days": number(self.cooldown_days.data),
            "auto_close": bool(self.auto_close.data),
            "holdout_percent": number(self.holdout_percent.data),
        }
        return data, kept

    def show(self, problems, kept) -> None:
        """Put each problem on the field it names (and into the summary)."""
        for problem in problems:
            field = self._field_for(problem.field, kept)
            if field is None:
                self.steps_problems.append(problem.message)
                self.summary.append(("steps", str(_l("Steps")), problem.message))
                continue
            field.errors = [*field.errors, problem.message]
            self.summary.append((field.id, str(field.label.text), problem.message))

    def collect_errors(self) -> None:
        """The form's own errors (lengths, the CSRF token) into the summary."""
        for field in self:
            if field.name == "steps":
                for entry in field.entries:
                    for sub in entry.form:
                        for message in sub.errors:
                            self.summary.append((sub.id, str(sub.label.text), message))
            elif field.errors and field.type != "CSRFTokenField":
                for message in field.errors:
                    self.summary.append((field.id, str(field.label.text), message))

    def _field_for(self, path: str, kept):
        parts = path.split(".")
        if parts[0] == "steps":
            if len(parts) < 3:
                return None
            index = int(parts[1])
            if index >= len(kept):
                return None
            return kept[index].form._fields.get(parts[2])
        if parts[0] == "trigger_params":
            return self[parts[1]] if parts[1] in PARAM_FIELDS else self.trigger
        if parts[0] == "conditions":
            name = parts[1] if len(parts) > 1 else ""
            return self[name] if name in self and name != "steps" else self.districts
        return self._fields.get(parts[0])


def step_definition(step: StepForm) -> dict[str, Any]:
    kind = step.kind.data or ""
    out: dict[str, Any] = {"kind": kind, "offset_days": number(step.offset_days.data)}
    if kind == "task":
        out.update(title_ja=step.title_ja.data or "", title_en=step.title_en.data or "",
                   assignee=step.assignee.data or "", due_days=number(step.due_days.data))
        if step.assignee.data == "user":
            out["user_id"] = number(step.user_id.data)
        elif step.assignee.data == "role":
            out["role"] = step.role.data or None
    elif kind == "message":
        out["template_id"] = number(step.template_id.data)
    elif kind == "survey":
        out["survey_id"] = number(step.survey_id.data)
    return out


def form_data(playbook) -> dict[str, Any]:
    """A playbook as the form's initial data (all text, as a browser would post it)."""
    params = playbook.trigger_params or {}
    conditions = playbook.conditions or {}
    other = conditions.get("other_band") or {}

    def text(value):
        return "" if value is None else str(value)

    def flag(value):
        return "" if value is None else ("yes" if value else "no")

    steps = []
    for step in playbook.steps or []:
        steps.append({"kind": step.get("kind", ""), "offset_days": text(step.get("offset_days")),
                      "title_ja": step.get("title_ja", ""), "title_en": step.get("title_en", ""),
                      "assignee": step.get("assignee", "queue"),
                      "user_id": text(step.get("user_id")), "role": step.get("role") or "staff",
                      "due_days": text(step.get("due_days")),
                      "template_id": text(step.get("template_id")),
                      "survey_id": text(step.get("survey_id"))})
    return {
        "name_ja": playbook.name_ja, "name_en": playbook.name_en,
        "description_ja": playbook.description_ja, "description_en": playbook.description_en,
        "department_id": text(playbook.department_id), "service_id": text(playbook.service_id),
        "trigger": playbook.trigger, "band": params.get("band") or "",
        "points": text(params.get("points")), "days": text(params.get("days")),
        "intervals": text(params.get("intervals")), "event": params.get("event") or "",
        "districts": conditions.get("districts") or [],
        "age_bands": conditions.get("age_bands") or [],
        "locales": conditions.get("locales") or [],
        "child_under": text(conditions.get("child_under")),
        "used_service": text(conditions.get("used_service")),
        "other_band_service": text(other.get("service_id")), "other_band": other.get("band") or "",
        "consent_profiling": flag(conditions.get("consent_profiling")),
        "consent_outreach": flag(conditions.get("consent_outreach")),
        "steps": steps or [{}], "cooldown_days": text(playbook.cooldown_days),
        "auto_close": bool(playbook.auto_close), "holdout_percent": text(playbook.holdout_percent),
        "version": text(playbook.version),
    }


class PlaybookFilterForm(Form):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False)
    department = SelectField(_l("Department"), validate_choice=False)

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = options([("", _l("Any status")), *(
            (s.value, STATUS_LABELS[s]) for s in PlaybookStatus)])
        self.department.choices = options([("", _l("All departments")), *(
            (x.code, x.name) for x in departments)])


class StatusForm(Form):
    """Pause, activate or archive (the button says which)."""

    status = HiddenField()


class PeriodForm(Form):
    class Meta:
        csrf = False

    period = SelectField(_l("Period"), validate_choice=False)


def _config():
    from flask import current_app

    return current_app.config
