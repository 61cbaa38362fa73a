from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.engagement.dashboards import AGE_BANDS
from portal.engagement.explain import BAND_LABELS, MEASURE_LABELS, TREND_LABELS
from portal.forms import options
from portal.i18n import language_names
from portal.residents import districts

ALL = _l("All")


class ScoreListForm(FlaskForm):
    class Meta:
        csrf = False

    band = SelectField(_l("Band"), default="at_risk", validators=[Optional()])
    trend = SelectField(_l("Trend"), validators=[Optional()])
    district = SelectField(_l("District"), validators=[Optional()])
    age_band = SelectField(_l("Age"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), default="score", validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.band.choices = options([
            ("at_risk", _l("At risk (red, or down 15+ points in 30 days)")), ("", ALL),
            *BAND_LABELS.items()])
        self.trend.choices = options([("", ALL), *TREND_LABELS.items()])
        self.district.choices = districts.choices(ALL)
        self.age_band.choices = options([("", ALL), *((b, b) for b, _, _ in AGE_BANDS)])
        self.language.choices = options([("", ALL), *language_names(current_app.config).items()])
        self.sort.choices = options([
            ("score", _l("Lowest score first")), ("-score", _l("Highest score first")),
            ("change", _l("Largest fall first")), ("last_use", _l("Longest since last use")),
            ("name", _l("Name"))])


class EquityForm(FlaskForm):
    class Meta:
        csrf = False

    dimension = SelectField(_l("Compare by"), default="district", validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.dimension.choices = options([("district", _l("District")), ("age", _l("Age")),
                                          ("language", _l("Language"))])
        self.service.choices = options([("", _l("All services you can see")),
                                        *((s.slug, s.name) for s in services)])


def _weight(measure: str) -> IntegerField:
    return IntegerField(MEASURE_LABELS[measure], validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=0, max=100, message=_l("Between 0 and 100."))])


class ScoringModelForm(FlaskForm):
    weight_recency = _weight("recency")
    weight_frequency = _weight("frequency")
    weight_satisfaction = _weight("satisfaction")
    weight_friction = _weight("friction")
    red_below = IntegerField(_l("Red below"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=1, max=99, message=_l("Between 1 and 99."))],
        description=_l("Scores under this value are at risk (red)."))
    green_from = IntegerField(_l("Green from"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=2, max=100, message=_l("Between 2 and 100."))],
        description=_l("Scores from this value up are healthy (green)."))
    note = StringField(_l("Why this change"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save as a new version"))


class RecomputeForm(FlaskForm):
    next = HiddenField()
