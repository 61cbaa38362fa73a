"""The small WTForms around the answering form: the CSRF token, the submission
nonce, the survey and the section (resident form and preview), and the channel
of a staff entry. The questions themselves are read by ``answering.parse``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired, Length

from portal.forms import Form
from portal.surveys.labels import CHANNEL_LABELS, STAFF_CHANNELS


class AnswerForm(Form):
    survey = HiddenField(validators=[DataRequired()])
    section = HiddenField()
    submission_key = HiddenField(validators=[DataRequired(), Length(max=64)])


class EntryForm(Form):
    id_prefix = "entry"
    survey = HiddenField(validators=[DataRequired()])
    submission_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    channel = SelectField(_l("How the answers came in"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = [(c.value, CHANNEL_LABELS[c]) for c in STAFF_CHANNELS]
