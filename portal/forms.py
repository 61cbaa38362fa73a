"""Forms shared by every feature."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import Select

from portal.i18n import language_names
from portal.timeutil import YEAR_MAX, YEAR_MIN


class Form(FlaskForm):
    """The base of every form. Ids stay unique on a page that shows several forms:

    - hidden fields (the CSRF token, ``next``...) are rendered without an ``id``: no
      label points at them, and every form on a page has a CSRF token;
    - a form whose class sets ``id_prefix`` gives its fields the ids
      ``<prefix>-<name>`` (labels, hints and error links follow), so two forms with a
      field of the same name can sit on one page. Field *names* do not change: posted
      data and query strings stay as they are.
    """

    id_prefix = ""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if type(field.widget) is Select:
                field.widget = PlainOptionsSelect(multiple=field.widget.multiple)
            prefix = getattr(form, "id_prefix", "")
            if prefix and "id" not in unbound_field.kwargs:
                field.id = f"{prefix}-{field.id}"
                field.label.field_id = field.id
            return field

        def render_field(self, field, render_kw):
            if field.type in HIDDEN_TYPES:
                render_kw = {"id": False, **render_kw}
            return super().render_field(field, render_kw)


HIDDEN_TYPES = ("CSRFTokenField", "HiddenField")


class PlainOptionsSelect(Select):
    """WTForms' select, writing a plain ``<option>`` (no extra attributes) without
    its general attribute builder: the same markup, a fifth of the work. Filter bars
    with long lists (districts, services) render dozens per page."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        return _OPTION.format(_SELECTED if choice.selected else "", value,
                              choice.label or choice.value)


_OPTION = Markup('<option {}value="{}">{}</option>')
_SELECTED = Markup("selected ")


class EmptyForm(Form):
    """Carries only the CSRF token: for buttons that change state (POST)."""


class LanguageForm(Form):
    locale = HiddenField(validators=[DataRequired()])
    next = HiddenField()

    def validate_locale(self, field):
        if field.data not in current_app.config["LOCALES"]:
            raise ValidationError(_l("Choose one of the portal's languages."))


class YearRange:
    """A date (or date and time) in a year from ``YEAR_MIN`` to ``YEAR_MAX``: outside
    them it is a typing mistake, and years 1 and 9999 overflow in time-zone sums."""

    def __call__(self, form: FlaskForm, field) -> None:
        if field.data is not None and not YEAR_MIN <= field.data.year <= YEAR_MAX:
            raise ValidationError(_("Enter a date from %(min)s to %(max)s.", min=YEAR_MIN,
                                    max=YEAR_MAX))


def filter_values(form: FlaskForm) -> dict:
    """Validate a GET filter form and return the data of the fields that passed: one
    bad filter is reported on its field and the other filters still apply."""
    form.validate()
    return {field.name: field.data for field in form if not field.errors}


def options(pairs) -> list[SelectChoice]:
    """Select options from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def locale_choices() -> list[SelectChoice]:
    return options(language_names(current_app.config).items())


class LocaleField(SelectField):
    """A language picker over the configured locales."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label or _l("Language"), validators, **kwargs)

    def pre_validate(self, form):
        self.choices = locale_choices()
        super().pre_validate(form)

    def iter_choices(self):
        if not self.choices:
            self.choices = locale_choices()
        return super().iter_choices()
