"""Forms of the inquiry settings: service levels, closure days, reply templates."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal.forms import Form, options
from portal.inquiries.labels import CATEGORY_LABELS
from portal.inquiries.models import InquiryCategory

MAX_DAYS = 60


class WholeDays(IntegerField):
    """Business days: a whole number from 0 to ``MAX_DAYS`` (a precise message for
    "1.5" or "abc", which IntegerField would refuse in English)."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].strip()
        if not text.isdigit():
            self.data = None
            raise ValueError(str(_l("Enter a whole number of business days from 0 to %(max)s.",
                                    max=MAX_DAYS)))
        self.data = int(text)

    def pre_validate(self, form):
        if self.data is not None and not 0 <= self.data <= MAX_DAYS:
            raise ValidationError(_l("Enter a whole number of business days from 0 to "
                                     "%(max)s.", max=MAX_DAYS))


def days_field(label):
    return WholeDays(label, validators=[InputRequired(_l("Enter a number of business days."))],
                     render_kw={"inputmode": "numeric"})


def check_order(first, resolution) -> None:
    if first.data is not None and resolution.data is not None \
            and resolution.data < first.data:
        resolution.errors.append(_l("The resolution target cannot be shorter than the "
                                    "first-response target."))


class TargetsForm(Form):
    """The four categories' targets in one form: fields ``<category>_first`` and
    ``<category>_resolution``."""

    id_prefix = "targets"

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for category in InquiryCategory:
            first, resolution = self.pair(category)
            before = len(resolution.errors)
            check_order(first, resolution)
            ok = ok and len(resolution.errors) == before
        return ok

    def pair(self, category: str):
        return self[f"{category}_first"], self[f"{category}_resolution"]


for _category in InquiryCategory:
    setattr(TargetsForm, f"{_category}_first", days_field(_l("First response")))
    setattr(TargetsForm, f"{_category}_resolution", days_field(_l("Resolution")))


class OverrideForm(Form):
    id_prefix = "override"

    service_id = SelectField(_l("Service"), coerce=int,
                             validators=[DataRequired(_l("Choose a service."))])
    category = SelectField(_l("Category"), validators=[DataRequired(_l("Choose a category."))],
                           choices=options((c.value, CATEGORY_LABELS[c]) for c in InquiryCategory))
    first_response_days = days_field(_l("First response (business days)"))
    resolution_days = days_field(_l("Resolution (business days)"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        before = len(self.resolution_days.errors)
        check_order(self.first_response_days, self.resolution_days)
        return ok and len(self.resolution_days.errors) == before


class ClosureForm(Form):
    id_prefix = "closure"

    year = IntegerField(_l("Year"), validators=[Optional()],
                        description=_l("Leave empty for a day closed every year."),
                        render_kw={"inputmode": "numeric"})
    month = IntegerField(_l("Month"), validators=[InputRequired(_l("Enter the month."))],
                         render_kw={"inputmode": "numeric"})
    day = IntegerField(_l("Day"), validators=[InputRequired(_l("Enter the day."))],
                       render_kw={"inputmode": "numeric"})
    label_ja = StringField(_l("Name in Japanese"), validators=[Length(max=120)])
    label_en = StringField(_l("Name in English"), validators=[Length(max=120)])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not ok:
            return False
        year = self.year.data
        if year is not None and not 2000 <= year <= 2100:
            self.year.errors.append(_l("Enter a year from 2000 to 2100, or leave it empty."))
            return False
        try:
            # a leap year, so that 2/29 may be closed every year
            date(year or 2024, self.month.data, self.day.data)
        except ValueError:
            self.day.errors.append(_l("There is no day %(month)s/%(day)s%(year)s.",
                                      month=self.month.data, day=self.day.data,
                                      year=f" {year}" if year else ""))
            return False
        if not (self.label_ja.data or "").strip() and not (self.label_en.data or "").strip():
            self.label_ja.errors.append(_l("Give the closure day a name in at least one "
                                           "language."))
            return False
        return True


class TemplateForm(Form):
    id_prefix = "template"

    name_ja = StringField(_l("Name in Japanese"), validators=[Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=120)])
    body_ja = TextAreaField(_l("Text in Japanese"), validators=[Length(max=5000)],
                            render_kw={"rows": 8})
    body_en = TextAreaField(_l("Text in English"), validators=[Length(max=5000)],
                            render_kw={"rows": 8})
    department_id = SelectField(_l("Department"), coerce=int,
                                description=_l("Who may use the template."))
    active = BooleanField(_l("Active (offered when replying)"), default=True)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.name_ja.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_ja.errors.append(_l("Give the template a name in at least one language."))
            ok = False
        if not (self.body_ja.data or "").strip() and not (self.body_en.data or "").strip():
            self.body_ja.errors.append(_l("Write the template's text in at least one "
                                          "language."))
            ok = False
        return ok
