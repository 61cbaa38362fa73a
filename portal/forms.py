"""Forms shared by every feature."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from portal.i18n import language_names


class EmptyForm(FlaskForm):
    """Carries only the CSRF token: for buttons that change state (POST)."""


class LanguageForm(FlaskForm):
    locale = HiddenField(validators=[DataRequired()])
    next = HiddenField()

    def validate_locale(self, field):
        if field.data not in current_app.config["LOCALES"]:
            raise ValidationError(_l("Choose one of the portal's languages."))


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
