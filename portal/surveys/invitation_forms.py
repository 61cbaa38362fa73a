"""Forms of the invitations page: the segment (count step), sending, reminding."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SubmitField
from wtforms.validators import NumberRange, Optional

from portal.engagement.dashboards import AGE_BANDS
from portal.engagement.explain import BAND_LABELS, TREND_LABELS
from portal.forms import Form, options
from portal.i18n import language_names
from portal.residents import districts
from portal.surveys.invitations import MAX_DAYS, Criteria

ANY = _l("Any")


class SegmentForm(Form):
    """Every criterion filled in must hold."""

    id_prefix = "segment"

    everyone = BooleanField(_l("All residents"),
                            description=_l("For surveys of the whole city, such as the "
                                           "annual resident survey."))
    service = SelectField(_l("Users of the service"), validators=[Optional()])
    used_within_days = IntegerField(
        _l("Used it in the last … days"), validators=[Optional(), NumberRange(1, MAX_DAYS)],
        description=_l("With a service; 365 when left empty."))
    band = SelectField(_l("Engagement band for the service"), validators=[Optional()])
    trend = SelectField(_l("Engagement trend for the service"), validators=[Optional()])
    district = SelectField(_l("District"), validators=[Optional()])
    age_band = SelectField(_l("Age band"), validators=[Optional()])
    locale = SelectField(_l("Language"), validators=[Optional()])
    child_under = IntegerField(
        _l("Household with a child younger than … years"),
        validators=[Optional(), NumberRange(1, 18)])
    file = FileField(
        _l("Or only the residents in a CSV file"),
        render_kw={"accept": ".csv,text/csv"},
        validators=[FileAllowed(("csv",), _l("Only .csv files can be used."))],
        description=_l("One column with the header external_id: the resident register "
                       "number, one a row."))
    submit = SubmitField(_l("Count"))

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.service.choices = options([("", ANY), *((str(s.id), s.name) for s in services)])
        self.band.choices = options([("", ANY), *BAND_LABELS.items()])
        self.trend.choices = options([("", ANY), *TREND_LABELS.items()])
        self.district.choices = districts.choices(ANY)
        self.age_band.choices = options([("", ANY), *((b, b) for b, _lo, _hi in AGE_BANDS)])
        self.locale.choices = options([("", ANY),
                                       *language_names(current_app.config).items()])

    def criteria(self, external_ids: list[str] | None) -> Criteria:
        return Criteria(
            everyone=bool(self.everyone.data),
            service_id=int(self.service.data) if self.service.data else None,
            used_within_days=self.used_within_days.data,
            band=self.band.data or None, trend=self.trend.data or None,
            district=self.district.data or None, age_band=self.age_band.data or None,
            locale=self.locale.data or None, child_under=self.child_under.data,
            external_ids=external_ids)


class SendForm(Form):
    """The counted segment, handed on to the job (checked again there)."""

    id_prefix = "send"

    criteria = HiddenField()
    expected = HiddenField()


class RemindForm(Form):
    id_prefix = "remind"

    submit = SubmitField(_l("Send reminders now"))
