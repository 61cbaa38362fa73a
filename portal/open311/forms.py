"""Console forms: Open311 keys and a service's Open311 attributes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Regexp,
    StopValidation,
    ValidationError,
)

from portal.api.forms import CheckboxesField
from portal.extensions import db
from portal.forms import Form, options
from portal.inquiries.models import AttributeDatatype, ServiceAttribute
from portal.open311 import attributes as attribute_values
from portal.services.models import Department, Service

DATATYPE_LABELS = {
    AttributeDatatype.STRING: _l("Text on one line (string)"),
    AttributeDatatype.TEXT: _l("Text with line breaks (text)"),
    AttributeDatatype.NUMBER: _l("Number (number)"),
    AttributeDatatype.DATETIME: _l("Date and time (datetime)"),
    AttributeDatatype.SINGLEVALUELIST: _l("One value from a list (singlevaluelist)"),
    AttributeDatatype.MULTIVALUELIST: _l("Several values from a list (multivaluelist)"),
}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class NewOpen311KeyForm(Form):
    name = StringField(_l("Key name"), validators=[DataRequired(), Length(max=120)],
                       filters=[_strip],
                       description=_l("Which application uses the key, e.g. “Sakura Fix app”."))
    # no DataRequired: its "required" flag would be copied onto every checkbox
    departments = CheckboxesField(
        _l("Departments"), coerce=int,
        description=_l("The key may post requests only for these departments' services."))
    submit = SubmitField(_l("Create key"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = db.session.scalars(select(Department).order_by(Department.code)).all()
        self.departments.choices = options((d.id, d.name) for d in departments)

    def validate_departments(self, field):
        if not field.data:
            raise StopValidation(_l("Choose at least one department."))

    def selected_departments(self) -> list[Department]:
        return list(db.session.scalars(select(Department).where(
            Department.id.in_(self.departments.data or [])).order_by(Department.code)))


class AttributeForm(Form):
    code = StringField(_l("Code"), filters=[_strip], validators=[
        DataRequired(), Length(max=60),
        Regexp(attribute_values.CODE_PATTERN, message=_l(
            "Use letters, digits, dots, hyphens and underscores."))],
        description=_l("Apps send the value as attribute[code], e.g. LIGHT_TYPE."))
    datatype = SelectField(_l("Kind of answer"), validators=[DataRequired()],
                           choices=options((k.value, v) for k, v in DATATYPE_LABELS.items()))
    variable = BooleanField(_l("Asks for a value"), default=True, description=_l(
        "Untick for a text that only informs the reporter."))
    required = BooleanField(_l("Required"))
    position = IntegerField(_l("Order"), validators=[
        InputRequired(message=_l("Enter a whole number from 1.")),
        NumberRange(min=1, max=999, message=_l("Between 1 and 999."))],
        description=_l("1 is shown first. Each attribute of the service has its own number."))
    description_ja = StringField(_l("Question or text (Japanese)"), filters=[_strip],
                                 validators=[Length(max=300)])
    description_en = StringField(_l("Question or text (English)"), filters=[_strip],
                                 validators=[Length(max=300)])
    datatype_description_ja = StringField(_l("Help with the answer (Japanese)"),
                                          filters=[_strip], validators=[Length(max=300)])
    datatype_description_en = StringField(_l("Help with the answer (English)"),
                                          filters=[_strip], validators=[Length(max=300)])
    values_text = TextAreaField(_l("List values"), validators=[Length(max=20000)],
                                description=_l("For lists only: one value a line, as "
                                               "key | 日本語の名前 | English name."))
    submit = SubmitField(_l("Save attribute"))

    def __init__(self, *args, service: Service, attribute: ServiceAttribute | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self._service = service
        self._attribute = attribute
        self.parsed_values: list[dict[str, str]] = []

    def _others(self):
        stmt = select(ServiceAttribute).where(ServiceAttribute.service_id == self._service.id)
        if self._attribute is not None:
            stmt = stmt.where(ServiceAttribute.id != self._attribute.id)
        return db.session.scalars(stmt).all()

    def validate_code(self, field):
        if any(a.code == field.data for a in self._others()):
            raise ValidationError(_l("Another attribute of this service has this code."))

    def validate_position(self, field):
        if field.data is not None and any(a.position == field.data for a in self._others()):
            raise ValidationError(_l("Another attribute of this service has this number."))

    def validate_required(self, field):
        if field.data and not self.variable.data:
            raise ValidationError(_l("A text that only informs cannot be required."))

    def validate_description_en(self, field):
        if not (field.data or self.description_ja.data):
            raise ValidationError(_l("Write the question or text in at least one language."))

    def validate_values_text(self, field):
        values, problems = attribute_values.parse_values(field.data or "")
        if problems:
            raise ValidationError(" ".join(problems))
        is_list = self.datatype.data in attribute_values.LIST_TYPES
        if is_list and not values:
            raise ValidationError(_l("A list needs at least one value."))
        if not is_list and values:
            raise ValidationError(_l("Only the list kinds of answer have values: clear them "
                                     "or choose a list."))
        self.parsed_values = values

    def values(self) -> dict:
        return {
            "code": self.code.data, "datatype": self.datatype.data,
            "variable": bool(self.variable.data), "required": bool(self.required.data),
            "position": self.position.data,
            "description_ja": self.description_ja.data or "",
            "description_en": self.description_en.data or "",
            "datatype_description_ja": self.datatype_description_ja.data or "",
            "datatype_description_en": self.datatype_description_en.data or "",
            "values": self.parsed_values or None,
        }
