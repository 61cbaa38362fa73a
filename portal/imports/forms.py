from __future__ import annotations

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from portal.forms import Form, options
from portal.imports.models import ImportKind, ImportStatus

KIND_LABELS = {
    ImportKind.RESIDENTS: _l("Residents"),
    ImportKind.EVENTS: _l("Usage events"),
    ImportKind.LIFE_EVENTS: _l("Life events"),
}
STATUS_LABELS = {
    ImportStatus.CHECKED: _l("Checked, waiting for confirmation"),
    ImportStatus.APPLIED: _l("Imported"),
    ImportStatus.REJECTED: _l("Not importable"),
    ImportStatus.DISCARDED: _l("Discarded"),
}
EXTENSIONS = ("csv",)


def size_text(size: int) -> str:
    return _("%(size)s MB", size=format_decimal(size / (1024 * 1024), format="#,##0.#"))


class UploadForm(Form):
    kind = SelectField(_l("What the file contains"), validators=[DataRequired()],
                       choices=options(KIND_LABELS.items()))
    file = FileField(_l("CSV file"), render_kw={"accept": ".csv,text/csv"}, validators=[
        FileRequired(_l("Choose a CSV file to upload.")),
        FileAllowed(EXTENSIONS, _l("Only .csv files can be imported."))])
    skip_bad = BooleanField(_l("Import the good rows only, skip bad ones"),
                            description=_l("Without this, nothing is imported while any row "
                                           "has a problem."))
    submit = SubmitField(_l("Upload and check"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.content = b""
        self.file.description = _(
            "UTF-8 (with or without BOM) or Shift_JIS, up to %(size)s. The file is checked "
            "first; nothing is imported before you confirm.",
            size=size_text(current_app.config["MAX_CONTENT_LENGTH"]))

    def validate_file(self, field):
        self.content = field.data.read()
        if not self.content.strip():
            raise ValidationError(_("The file is empty."))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        from portal.imports.importing import detect_kind

        looks_like = detect_kind(self.content)
        if looks_like is not None and looks_like != self.kind.data:
            self.kind.errors.append(_(
                "This file has the columns of a “%(kind)s” file. Choose that kind, or "
                "check the file.", kind=KIND_LABELS[looks_like]))
            return False
        return True

    def too_large(self) -> None:
        """Mark the form as refused for size (the request body was not read)."""
        self.file.errors = [_("The file is larger than %(size)s. Split it into smaller "
                              "files, or import it with the command line.",
                              size=size_text(current_app.config["MAX_CONTENT_LENGTH"]))]
