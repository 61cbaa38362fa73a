"""Forms of the survey builder (console)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.auth.models import Role, User
from portal.extensions import db
from portal.forms import Form, YearRange, options
from portal.services.models import Department, Service
from portal.surveys import building
from portal.surveys.models import QuestionType, ShowIfOperator, Survey, SurveyStatus


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label, max_length, area=False):
    field = TextAreaField if area else StringField
    return field(label, validators=[Optional(), Length(max=max_length)], filters=[_strip])


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class SurveyFilterForm(Form):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = options([("", _l("Any status")), *(
            (s.value, building.STATUS_LABELS[s]) for s in SurveyStatus)])
        self.service.choices = options([("", _l("Any service")), *(
            (s.slug, s.name) for s in services)])


class SurveyForm(Form):
    title_ja = _text(_l("Title (Japanese)"), 200)
    title_en = _text(_l("Title (English)"), 200)
    intro_ja = _text(_l("Introduction (Japanese)"), 5000, area=True)
    intro_en = _text(_l("Introduction (English)"), 5000, area=True)
    thanks_ja = _text(_l("Thank-you text (Japanese)"), 5000, area=True)
    thanks_en = _text(_l("Thank-you text (English)"), 5000, area=True)
    service_id = SelectField(_l("Service the survey is about"), coerce=_int_or_none,
                             validators=[Optional()],
                             description=_l("Optional. The service's department owns the "
                                            "survey."))
    department_id = SelectField(_l("Department (when there is no service)"),
                                coerce=_int_or_none, validators=[Optional()])
    anonymous = RadioField(_l("Who answers"), choices=options([
        ("0", _l("Identified: answers are linked to the resident")),
        ("1", _l("Anonymous: nothing links an answer to a resident"))]), default="0",
        validators=[InputRequired(message=_l("Choose anonymous or identified."))])
    opens_on = DateField(_l("Opens on"), validators=[Optional(), YearRange()])
    closes_on = DateField(_l("Closes on"), validators=[Optional(), YearRange()])
    reminder_after_days = IntegerField(
        _l("Reminder after (days)"), validators=[Optional(), NumberRange(
            min=1, max=60, message=_l("Between 1 and 60 days."))],
        description=_l("Optional: one reminder to those who have not answered."))
    invitation_valid_days = IntegerField(
        _l("Invitation links stay valid for (days)"), default=30, validators=[
            InputRequired(message=_l("Enter a whole number of days.")),
            NumberRange(min=1, max=365, message=_l("Between 1 and 365 days."))])
    submit = SubmitField(_l("Save survey"))

    def __init__(self, *args, user: User, survey: Survey | None = None, locked: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user
        self._locked = locked
        staff = user.role == Role.STAFF
        services = select(Service).order_by(Service.slug)
        departments = select(Department).order_by(Department.code)
        if staff:
            services = services.where(Service.department_id == user.department_id)
            departments = departments.where(Department.id == user.department_id)
        self.service_id.choices = options([(None, _l("No service")), *(
            (s.id, s.name) for s in db.session.scalars(services))])
        department_choices = [(d.id, d.name) for d in db.session.scalars(departments)]
        self.department_id.choices = options(department_choices if staff else [
            (None, _l("Choose a department")), *department_choices])
        if locked:
            self.anonymous.validators = [Optional()]
            self.anonymous.render_kw = {"disabled": True}
            self.anonymous.description = _l("The survey has responses: this can no longer "
                                            "change.")
        if survey is not None and not self.is_submitted():
            self.anonymous.data = "1" if survey.anonymous else "0"

    def validate(self, extra_validators=None) -> bool:
        # checks across fields (an empty optional field skips its own validators)
        valid = super().validate(extra_validators)
        if not (self.title_ja.data or self.title_en.data):
            self.title_ja.errors = [*self.title_ja.errors,
                                    _l("Write the title in at least one language.")]
            valid = False
        if self.closes_on.data and self.opens_on.data \
                and self.closes_on.data < self.opens_on.data:
            self.closes_on.errors = [*self.closes_on.errors,
                                     _l("The closing date is before the opening date.")]
            valid = False
        if not self.service_id.data and not self.department_id.data:
            self.department_id.errors = [*self.department_id.errors,
                                         _l("Choose a service or a department.")]
            valid = False
        return valid

    def values(self) -> dict:
        values = {name: self[name].data for name in building.SURVEY_FIELDS
                  if name != "anonymous"}
        if self.anonymous.data in ("0", "1"):  # a disabled field (locked) sends nothing
            values["anonymous"] = self.anonymous.data == "1"
        if self.service_id.data:
            values["department_id"] = None  # the service's department
        return values


class QuestionForm(Form):
    type = SelectField(_l("Type"), validators=[InputRequired()])
    key = StringField(_l("Key"), filters=[_strip], validators=[
        InputRequired(message=_l("Enter a key.")), Length(max=40),
        Regexp(building.KEY, message=_l("Use letters, digits and “_” only."))],
        description=_l("A short stable name, e.g. q1 or visit_reason: conditions and the "
                       "JSON definition use it."))
    section = IntegerField(_l("Section (page)"), default=1, validators=[
        InputRequired(message=_l("Enter a section number.")),
        NumberRange(min=1, max=50, message=_l("Between 1 and 50."))])
    text_ja = _text(_l("Question (Japanese)"), 500, area=True)
    text_en = _text(_l("Question (English)"), 500, area=True)
    help_ja = _text(_l("Help (Japanese)"), 500)
    help_en = _text(_l("Help (English)"), 500)
    required = BooleanField(_l("An answer is required"))
    scale_max = IntegerField(_l("Highest rating (rating questions)"), validators=[
        Optional(), NumberRange(min=2, max=10, message=_l("Between 2 and 10."))],
        description=_l("Ratings go from 1 to this number (2–10; 5 when empty)."))
    options = TextAreaField(_l("Options (single and multiple choice)"), validators=[
        Optional(), Length(max=20000)],
        description=_l("One per line: value | Japanese | English, e.g. counter | 窓口 | At "
                       "the counter. The value is stored with each answer."))
    show_if_question = SelectField(_l("Show only when this earlier question…"),
                                   validators=[Optional()])
    show_if_op = SelectField(_l("…compares like this…"), validators=[Optional()])
    show_if_value = StringField(_l("…with this value"), filters=[_strip], validators=[
        Optional(), Length(max=500)],
        description=_l("A number for scales and yes/no (1 yes, 0 no), an option value for "
                       "choices; for “is one of”, values separated by commas."))
    submit = SubmitField(_l("Save question"))

    def __init__(self, *args, earlier: list, **kwargs):
        super().__init__(*args, **kwargs)
        self._earlier = {q.key: q for q in earlier}
        self.type.choices = options((t.value, building.TYPE_LABELS[t]) for t in QuestionType)
        self.show_if_question.choices = options([("", _l("Always show")), *(
            (q.key, f"Q{i} {q.key}: {q.text('text')[:60]}") for i, q in enumerate(earlier, 1))])
        self.show_if_op.choices = options((op.value, building.OPERATOR_LABELS[op])
                                          for op in ShowIfOperator)
        self.parsed_options: list | None = None

    def validate(self, extra_validators=None) -> bool:
        # checks across fields (an empty optional field skips its own validators)
        valid = super().validate(extra_validators)

        def fail(field, message) -> None:
            nonlocal valid
            field.errors = [*field.errors, message]
            valid = False

        if not (self.text_ja.data or self.text_en.data):
            fail(self.text_ja, _l("Write the question in at least one language."))
        self.parsed_options = None
        if self.type.data in ("single", "multiple"):
            try:
                self.parsed_options = building.parse_options(self.options.data or "")
            except ValueError as error:
                fail(self.options, str(error))
            else:
                if len(self.parsed_options) < 2:
                    fail(self.options, _l("A choice question needs at least two options."))
        if self.show_if_question.data and self.show_if_question.data not in self._earlier:
            fail(self.show_if_question, _l("Choose one of the earlier questions."))
        if self.show_if_question.data and not self.show_if_value.data:
            fail(self.show_if_value, _l("Enter the value to compare with."))
        return valid

    def fill(self, question) -> None:
        """Show a stored question's options and condition in the fields."""
        self.options.data = building.format_options(question.options)
        condition = question.show_if or {}
        self.show_if_question.data = condition.get("question", "")
        self.show_if_op.data = condition.get("op", ShowIfOperator.EQUALS.value)
        value = condition.get("value")
        self.show_if_value.data = ", ".join(str(v) for v in value) \
            if isinstance(value, list) else ("" if value is None else str(value))

    def values(self) -> dict:
        condition = None
        if self.show_if_question.data:
            target = self._earlier.get(self.show_if_question.data)
            op = self.show_if_op.data or ShowIfOperator.EQUALS.value
            condition = {"question": self.show_if_question.data, "op": op,
                         "value": building.parse_condition_value(target, op,
                                                                 self.show_if_value.data)}
        return {"type": self.type.data, "key": self.key.data, "section": self.section.data,
                "text_ja": self.text_ja.data or "", "text_en": self.text_en.data or "",
                "help_ja": self.help_ja.data or "", "help_en": self.help_en.data or "",
                "required": bool(self.required.data), "scale_max": self.scale_max.data,
                "options": self.parsed_options, "show_if": condition}


class ImportForm(Form):
    file = FileField(_l("Definition file (.json)"))
    text = TextAreaField(_l("…or paste the definition"))
    department_id = SelectField(_l("Department (when the definition names none)"),
                                coerce=_int_or_none, validators=[Optional()])
    submit = SubmitField(_l("Import as a new draft"))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        departments = select(Department).order_by(Department.code)
        if user.role == Role.STAFF:
            departments = departments.where(Department.id == user.department_id)
        self.department_id.choices = options([(None, _l("As in the definition")), *(
            (d.id, d.name) for d in db.session.scalars(departments))])

    def content(self) -> bytes:
        if self.file.data and getattr(self.file.data, "filename", ""):
            return self.file.data.read(MAX_READ)
        return (self.text.data or "").encode("utf-8")

    def validate_text(self, field):
        if not field.data and not (self.file.data and getattr(self.file.data, "filename", "")):
            raise ValidationError(_l("Choose a file or paste a definition."))


MAX_READ = 256 * 1024 + 1


class CloseSurveyForm(Form):
    id_prefix = "close"
    confirm = BooleanField(_l("Yes, close the survey: no more answers"), validators=[
        InputRequired(message=_l("Tick the box to confirm."))])
