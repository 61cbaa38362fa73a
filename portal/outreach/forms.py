"""Forms of the outreach console: message templates and the preview's resident."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from portal.forms import Form
from portal.outreach.placeholders import unknown

LANGUAGES = ("ja", "en")


class TemplateForm(Form):
    id_prefix = "template"

    department_id = SelectField(_l("Department"), coerce=int,
                                description=_l("The department the message comes from: its "
                                               "name and telephone number head the letter."))
    name_ja = StringField(_l("Name in Japanese"), validators=[Length(max=160)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=160)])
    subject_ja = StringField(_l("Subject in Japanese"), validators=[Length(max=200)])
    body_ja = TextAreaField(_l("Text in Japanese"), validators=[Length(max=10000)],
                            render_kw={"rows": 10})
    subject_en = StringField(_l("Subject in English"), validators=[Length(max=200)])
    body_en = TextAreaField(_l("Text in English"), validators=[Length(max=10000)],
                            render_kw={"rows": 10})

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.department_id.data in (None, 0):
            self.department_id.errors = [*self.department_id.errors,
                                         _l("Choose the department.")]
            ok = False
        if not (self.name_ja.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_ja.errors = [*self.name_ja.errors,
                                   _l("Give the template a name in at least one language.")]
            ok = False
        for field in (self.subject_ja, self.body_ja, self.subject_en, self.body_en):
            bad = unknown(field.data)
            if bad:
                field.errors = [*field.errors, _l(
                    "Unknown placeholders or unmatched braces: %(items)s. Use only the "
                    "placeholders in the list on this page.", items="  ".join(bad))]
                ok = False
        complete = 0
        for subject, body, message in (
                (self.subject_ja, self.body_ja,
                 _l("Write both the subject and the text in Japanese, or leave both empty.")),
                (self.subject_en, self.body_en,
                 _l("Write both the subject and the text in English, or leave both empty."))):
            has_subject, has_body = bool((subject.data or "").strip()), bool(
                (body.data or "").strip())
            if has_subject != has_body:
                (body if has_subject else subject).errors.append(message)
                ok = False
            complete += has_subject and has_body
        if not complete and not self.body_ja.errors and not self.subject_ja.errors:
            self.body_ja.errors.append(_l("Write the subject and the text in at least one "
                                          "language."))
            ok = False
        return ok


class PreviewForm(Form):
    """GET: find a resident by external id or name, or the one chosen."""

    id_prefix = "preview"

    class Meta:
        csrf = False

    q = StringField(_l("Resident (external id or name)"), validators=[Optional(),
                                                                    Length(max=80)])
    resident_id = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**31)])
