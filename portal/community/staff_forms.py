"""Staff forms of the community: the official answer (on the question page, so its
fields carry the ``official`` id prefix) and its edit page."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from portal.forms import Form, LocaleField


class OfficialAnswerForm(Form):
    id_prefix = "official"

    department_id = SelectField(_l("Signed with the department"), coerce=int,
                                validators=[Optional()])
    lang = LocaleField(_l("Language of the answer"))
    body = TextAreaField(_l("Official answer"), validators=[DataRequired()],
                         description=_l("Markdown: paragraphs, lists, links and emphasis. "
                                        "Public as soon as it is posted."),
                         render_kw={"rows": 8})
    submission_key = HiddenField()
    submit = SubmitField(_l("Post the official answer"))

    def for_departments(self, departments) -> OfficialAnswerForm:
        self.department_id.choices = [(d.id, d.name) for d in departments]
        if not self.submission_key.data:
            self.submission_key.data = secrets.token_urlsafe(24)
        return self


class EditOfficialAnswerForm(Form):
    id_prefix = "official-edit"

    body = TextAreaField(_l("Official answer"), validators=[DataRequired()],
                         description=_l("The previous text is kept in the answer's history. "
                                        "Saving also marks the answer reviewed today."),
                         render_kw={"rows": 12})
    submit = SubmitField(_l("Save the official answer"))
