"""The console form for API tokens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal.extensions import db
from portal.forms import Form, options
from portal.services.models import Department


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the template renders each option)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewApiTokenForm(Form):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("Which system uses the token, e.g. “Library system”."))
    # no DataRequired: its "required" flag would be copied onto every checkbox
    departments = CheckboxesField(
        _l("Departments"), coerce=int,
        description=_l("The token may record use only of these departments' services."))
    submit = SubmitField(_l("Create token"))

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
