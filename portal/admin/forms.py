from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.auth.models import Role
from portal.extensions import db
from portal.forms import Form, LocaleField, YearRange, options
from portal.services.models import Department

ROLE_LABELS = {
    Role.RESIDENT: _l("Resident"),
    Role.STAFF: _l("Staff"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
    Role.OFFICIAL: _l("Official"),
}


def console_role_choices() -> list[tuple[str, str]]:
    return [(role.value, ROLE_LABELS[role]) for role in Role.console_roles()]


def department_choices(blank_label) -> list[tuple[int, str]]:
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    return [(0, blank_label)] + [(d.id, d.name) for d in departments]


ALL = _l("All")


def coerce_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class AccountRoleForm(Form):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    department_id = SelectField(_l("Department"), coerce=coerce_int,
                                description=_l("Required for staff. Staff see the residents' "
                                               "use of their own department's services only."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = options(console_role_choices())
        self.department_id.choices = options(department_choices(_l("— none —")))

    def validate_department_id(self, field):
        if self.role.data == Role.STAFF and not field.data:
            raise ValidationError(_l("Staff accounts need a department."))

    def department(self) -> Department | None:
        return db.session.get(Department, self.department_id.data) if self.department_id.data \
            else None


class NewAccountForm(AccountRoleForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    locale = LocaleField(_l("Language of the invitation"))
    submit = SubmitField(_l("Create account and send invitation"))


class EditAccountForm(AccountRoleForm):
    active = BooleanField(_l("Account is active"))
    community_moderator = BooleanField(
        _l("Moderates the community"),
        description=_l("Staff with this can review, hide and delete community posts and "
                       "silence members. Managers and administrators always can."))
    submit = SubmitField(_l("Save changes"))


class AccountFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Name or e-mail"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[Optional()])
    department = SelectField(_l("Department"), coerce=coerce_int, validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=options([("", ALL), ("active", _l("Active")),
                                          ("inactive", _l("Inactive"))]))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = options([("", ALL), *console_role_choices()])
        self.department.choices = options(department_choices(ALL))


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    actor = StringField(_l("Actor (e-mail)"), validators=[Optional(), Length(max=254)])
    resident = IntegerField(_l("Resident (record number)"), validators=[
        Optional(), NumberRange(min=1, max=2**53, message=_l("Enter a record number."))],
        description=_l("Everything done to or seen of one resident's record, each entry "
                       "on its own row."))
    action = SelectField(_l("Action"), validators=[Optional()])
    list_views = SelectField(_l("List views"), validators=[Optional()], choices=options([
        ("", _l("Grouped by page view")), ("hide", _l("Hidden")),
        ("show", _l("One row per resident"))]))
    date_from = DateField(_l("From"), validators=[Optional(), YearRange()])
    date_to = DateField(_l("To"), validators=[Optional(), YearRange()])
    submit = SubmitField(_l("Filter"))

    FILTERS = ("actor", "resident", "action", "list_views", "date_from", "date_to")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
