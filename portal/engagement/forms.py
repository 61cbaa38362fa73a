from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal.engagement.dashboards import AGE_BANDS
from portal.engagement.explain import (
    BAND_LABELS,
    MEASURE_LABELS,
    NEEDS_ATTENTION_LONG,
    TREND_LABELS,
)
from portal.forms import Form, options
from portal.i18n import language_names
from portal.residents import districts

ALL = _l("All")
PAGE_SIZES = (25, 50, 100)


class ScoreListForm(Form):
    class Meta:
        csrf = False

    q = SearchField(_l("Name, kana or register number"), validators=[Optional(), Length(max=100)])
    band = SelectField(_l("Band"), default="at_risk", validators=[Optional()])
    trend = SelectField(_l("Trend"), validators=[Optional()])
    district = SelectField(_l("District"), validators=[Optional()])
    age_band = SelectField(_l("Age"), validators=[Optional()])
    language = SelectField(_l("Language"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), default="score", validators=[Optional()])
    per_page = SelectField(_l("Rows per page"), coerce=int, default=PAGE_SIZES[0],
                           validators=[Optional()],
                           choices=options((n, str(n)) for n in PAGE_SIZES))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.band.choices = options([
            ("at_risk", NEEDS_ATTENTION_LONG), ("", ALL),
            *BAND_LABELS.items()])
        self.trend.choices = options([("", ALL), *TREND_LABELS.items()])
        self.district.choices = districts.choices(ALL)
        self.age_band.choices = options([("", ALL), *((b, b) for b, _, _ in AGE_BANDS)])
        self.language.choices = options([("", ALL), *language_names(current_app.config).items()])
        self.sort.choices = options([
            ("score", _l("Lowest score first")), ("-score", _l("Highest score first")),
            ("change", _l("Largest fall first")), ("last_use", _l("Longest since last use")),
            ("name", _l("Name"))])


class EquityForm(Form):
    class Meta:
        csrf = False

    dimension = SelectField(_l("Compare by"), default="district", validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), default="group", validators=[Optional()])

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.dimension.choices = options([("district", _l("District")), ("age", _l("Age")),
                                          ("language", _l("Language"))])
        self.sort.choices = options([
            ("group", _l("Group")), ("mean", _l("Lowest mean score first")),
            ("-mean", _l("Highest mean score first")),
            ("-at_risk", _l("Largest share needing attention first")),
            ("-residents", _l("Most residents first"))])
        self.service.choices = options([("", _l("All services you can see")),
                                        *((s.slug, s.name) for s in services)])


def _weight(measure: str) -> IntegerField:
    return IntegerField(MEASURE_LABELS[measure], validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=0, max=100, message=_l("Between 0 and 100."))])


class ScoringModelForm(Form):
    weight_recency = _weight("recency")
    weight_frequency = _weight("frequency")
    weight_satisfaction = _weight("satisfaction")
    weight_friction = _weight("friction")
    red_below = IntegerField(_l("Red below"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=1, max=99, message=_l("Between 1 and 99."))],
        description=_l("Scores under this value are in the red band."))
    green_from = IntegerField(_l("Green from"), validators=[
        InputRequired(message=_l("Enter a whole number.")),
        NumberRange(min=2, max=100, message=_l("Between 2 and 100."))],
        description=_l("Scores from this value up are healthy (green)."))
    note = StringField(_l("Why this change"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Save as a new version"))
    preview = SubmitField(_l("Preview"), description=_l(
        "Shows what these values would change, without saving them."))


class RecomputeForm(Form):
    next = HiddenField()
