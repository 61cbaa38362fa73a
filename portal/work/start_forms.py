"""The manual start of a case from the resident's 360° page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form, options


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class StartCaseForm(Form):
    id_prefix = "start-case"

    resident_id = HiddenField()
    playbook_id = SelectField(_l("Playbook"), coerce=_int_or_none, validators=[
        DataRequired(message=_l("Choose a playbook from the list."))])
    service_id = SelectField(_l("Service"), coerce=_int_or_none, validators=[Optional()],
                             description=_l("Only for a playbook without a service of its "
                                            "own."))
    note = TextAreaField(_l("Why you start it"), validators=[Optional(), Length(max=1000)],
                         description=_l("Shown on the case; for example what the resident "
                                        "told you."))
    submit = SubmitField(_l("Start the case"))

    def __init__(self, *args, playbooks=(), services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.playbook_id.choices = options(
            [("", _l("Choose…"))] + [(p.id, p.name) for p in playbooks])
        self.service_id.choices = options(
            [("", _l("None"))] + [(s.id, s.name) for s in services])
        # a playbook has a service of its own: the service field is only for those without
        self.needs_service = any(p.service_id is None for p in playbooks)
