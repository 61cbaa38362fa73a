from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from portal.extensions import db
from portal.forms import Form, options
from portal.residents import districts as district_list
from portal.services.models import Department, Service

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CatalogueSearchForm(Form):
    class Meta:
        csrf = False

    q = SearchField(_l("Search services"), validators=[Optional(), Length(max=100)])
    department = SelectField(_l("Department"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = db.session.scalars(select(Department).order_by(Department.code)).all()
        self.department.choices = options([("", _l("All departments")),
                                           *((d.code, d.name) for d in departments)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DepartmentForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40), Regexp(
        SLUG, message=_l("Use lower-case letters, digits and hyphens."))],
        description=_l("A short identifier, e.g. library. It cannot be changed later."))
    name_ja = StringField(_l("Name (Japanese)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("E-mail address"), validators=[
        Optional(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    submit = SubmitField(_l("Save department"))

    def __init__(self, *args, department: Department | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._department = department
        if department is not None:
            self.code.render_kw = {"readonly": True}

    def validate_code(self, field):
        if self._department is not None:
            field.data = self._department.code
            return
        if db.session.scalar(select(Department.id).where(Department.code == field.data)):
            raise ValidationError(_l("A department with this code exists already."))


def _text(label, max_length=None, required=False, area=False):
    validators = [DataRequired()] if required else [Optional()]
    if max_length:
        validators.append(Length(max=max_length))
    field = TextAreaField if area else StringField
    return field(label, validators=validators, filters=[lambda v: v.strip() if v else ""])


class ServiceForm(Form):
    slug = StringField(_l("Address name (slug)"), validators=[DataRequired(), Length(max=64),
                       Regexp(SLUG, message=_l("Use lower-case letters, digits and hyphens."))],
                       description=_l("Part of the web address, e.g. library-loans."))
    department_id = SelectField(_l("Department"), coerce=int, validators=[DataRequired()])
    service_code = StringField(_l("Open311 service code"), validators=[
        Optional(), Length(max=40), Regexp(r"^[A-Za-z0-9._-]+$", message=_l(
            "Use letters, digits, dots, hyphens and underscores."))])
    name_ja = _text(_l("Name (Japanese)"), 160, required=True)
    name_en = _text(_l("Name (English)"), 160, required=True)
    summary_ja = _text(_l("Summary (Japanese)"), 300)
    summary_en = _text(_l("Summary (English)"), 300)
    description_ja = _text(_l("What it is (Japanese)"), 5000, area=True)
    description_en = _text(_l("What it is (English)"), 5000, area=True)
    audience_ja = _text(_l("Who it is for (Japanese)"), 3000, area=True)
    audience_en = _text(_l("Who it is for (English)"), 3000, area=True)
    how_to_use_ja = _text(_l("How to use it (Japanese)"), 3000, area=True)
    how_to_use_en = _text(_l("How to use it (English)"), 3000, area=True)
    location_ja = _text(_l("Where (Japanese)"), 300)
    location_en = _text(_l("Where (English)"), 300)
    opening_hours_ja = _text(_l("Opening hours (Japanese)"), 300)
    opening_hours_en = _text(_l("Opening hours (English)"), 300)
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[
        Optional(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    expected_interval_days = IntegerField(
        _l("Expected days between two uses"), validators=[
            InputRequired(message=_l("Enter a whole number of days.")),
            NumberRange(min=1, max=3650, message=_l("Between 1 and 3650 days."))],
        description=_l("How often an engaged resident typically uses the service."))
    min_age = IntegerField(_l("Minimum age"), validators=[Optional(), NumberRange(0, 120)])
    max_age = IntegerField(_l("Maximum age"), validators=[Optional(), NumberRange(0, 120)])
    child_under = IntegerField(_l("Household has a child younger than (years)"),
                               validators=[Optional(), NumberRange(1, 25)])
    districts = MultiCheckboxField(_l("Only in these districts"), validators=[Optional()],
                                   description=_l("Leave all unticked for every district."))
    active = BooleanField(_l("Active (shown in the catalogue)"), default=True)
    public_space = BooleanField(
        _l("Public space (street lights, roads, parks)"),
        description=_l("Open311 publishes the location, description and photo link of "
                       "requests about a public-space service; for any other service they "
                       "stay private."))
    submit = SubmitField(_l("Save service"))

    def __init__(self, *args, service: Service | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._service = service
        departments = db.session.scalars(select(Department).order_by(Department.code)).all()
        self.department_id.choices = options((d.id, d.name) for d in departments)
        self.districts.choices = district_list.choices()

    def validate_slug(self, field):
        clash = db.session.scalar(select(Service.id).where(Service.slug == field.data))
        if clash and (self._service is None or clash != self._service.id):
            raise ValidationError(_l("Another service uses this address name."))

    def validate_service_code(self, field):
        if not field.data:
            field.data = None
            return
        clash = db.session.scalar(select(Service.id).where(Service.service_code == field.data))
        if clash and (self._service is None or clash != self._service.id):
            raise ValidationError(_l("Another service uses this service code."))

    def validate_max_age(self, field):
        if field.data is not None and self.min_age.data is not None \
                and field.data < self.min_age.data:
            raise ValidationError(_l("The maximum age is below the minimum age."))

    def eligibility(self) -> dict | None:
        rule = {key: getattr(self, key).data for key in ("min_age", "max_age", "child_under")
                if getattr(self, key).data is not None}
        if self.districts.data:
            rule["districts"] = list(self.districts.data)
        return rule or None

    def fill_eligibility(self, rule: dict | None) -> None:
        rule = rule or {}
        for key in ("min_age", "max_age", "child_under"):
            getattr(self, key).data = rule.get(key)
        self.districts.data = rule.get("districts", [])
