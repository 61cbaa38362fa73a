from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.auth import passwords
from portal.forms import Form, LocaleField, YearRange, options
from portal.residents import districts
from portal.residents.names import normalise_name
from portal.residents.operations import CONTACT_CHANNELS, CONTACT_LABELS, IDENTITY_CHECKS
from portal.residents.postal import (
    ADDRESS_MAX,
    PostalCodeError,
    normalise_address,
    normalise_postal_code,
)
from portal.services.forms import MultiCheckboxField
from portal.services.usage import CHANNEL_LABELS, KIND_LABELS
from portal.timeutil import local_today

IDENTITY_CHECK_LABELS = {
    "my_number_card": _l("My Number card, shown in person"),
    "driving_licence": _l("Driving licence, shown in person"),
    "passport": _l("Passport, shown in person"),
    "residence_card": _l("Residence card, shown in person"),
    "other": _l("Other (describe it in the note)"),
}


def district_choices(blank):
    return districts.choices(blank)


def _name(value):
    return normalise_name(value) if isinstance(value, str) else value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _reading(value):
    return normalise_name(value, kana=True) if isinstance(value, str) else value


class ProfileForm(Form):
    # names are checked in the form they are stored in (see portal/residents/names.py)
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=80)],
                              filters=[_name], render_kw={"autocomplete": "family-name"})
    given_name = StringField(_l("Given name"), validators=[DataRequired(), Length(max=80)],
                             filters=[_name], render_kw={"autocomplete": "given-name"})
    family_name_kana = StringField(_l("Family name (kana)"), filters=[_reading],
                                   validators=[Optional(), Length(max=120)])
    given_name_kana = StringField(_l("Given name (kana)"), filters=[_reading],
                                  validators=[Optional(), Length(max=120)])
    name_latin = StringField(_l("Name in Latin letters"), validators=[Optional(), Length(max=160)],
                             filters=[_name])
    email = EmailField(_l("Contact e-mail"), validators=[
        Optional(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "email"})
    phone = TelField(_l("Phone"), validators=[Optional(), Length(max=40)],
                     render_kw={"autocomplete": "tel"})
    postal_code = StringField(_l("Postal code"), validators=[Optional()],
                              filters=[_strip], description=_l("7 digits, e.g. 123-4567"),
                              render_kw={"autocomplete": "postal-code", "inputmode": "numeric"})
    address = StringField(_l("Address"), validators=[Optional(), Length(max=ADDRESS_MAX)],
                          filters=[normalise_address],
                          description=_l("Where letters from the city should go."),
                          render_kw={"autocomplete": "street-address"})
    district = SelectField(_l("District"), validators=[Optional()])
    birth_year = IntegerField(_l("Year of birth"), validators=[Optional()],
                              render_kw={"inputmode": "numeric"})
    preferred_locale = LocaleField(_l("Language for letters and e-mails from the city"))
    preferred_channels = MultiCheckboxField(_l("How the city may contact you"),
                                            validators=[Optional()])
    consent_outreach = BooleanField(
        _l("The city may contact me with offers and reminders about services"),
        description=_l("For example a reminder before a health check-up you are eligible "
                       "for. You can withdraw this at any time."))
    consent_profiling = BooleanField(
        _l("The city may use my service use to see how well services work for me"),
        description=_l("Staff then see an engagement score per service and can reach out "
                       "when something is not going well. Without this, no score is kept."))
    do_not_contact = BooleanField(
        _l("Do not contact me at all"),
        description=_l("Overrides everything above, except legally required notices."))
    submit = SubmitField(_l("Save profile"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(_l("— not set —"))
        self.preferred_channels.choices = options(
            (c, CONTACT_LABELS[c]) for c in CONTACT_CHANNELS)

    def validate_birth_year(self, field):
        if field.data is not None and not 1900 <= field.data <= local_today().year:
            raise ValidationError(_l("Enter a year between 1900 and this year."))

    def validate_postal_code(self, field):
        try:
            field.data = normalise_postal_code(field.data)
        except PostalCodeError as error:
            raise ValidationError(str(error)) from None

    def values(self) -> dict:
        return {name: self[name].data for name in (
            "family_name", "given_name", "family_name_kana", "given_name_kana", "name_latin",
            "email", "phone", "postal_code", "address", "district", "birth_year",
            "preferred_locale", "preferred_channels", "consent_outreach", "consent_profiling",
            "do_not_contact")}


class DeleteAccountForm(Form):
    password = PasswordField(_l("Your password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    understood = BooleanField(_l("I understand that this cannot be undone"),
                              validators=[InputRequired(message=_l(
                                  "Please confirm that you understand."))])
    submit = SubmitField(_l("Delete my account and personal data"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field):
        if not passwords.verify_password(self._user.password_hash, field.data or ""):
            raise ValidationError(_l("Your password is not correct."))


class ResidentSearchForm(Form):
    class Meta:
        csrf = False

    q = SearchField(_l("Name, kana, external id, e-mail or phone"),
                    validators=[Optional(), Length(max=100)])
    district = SelectField(_l("District"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(_l("All districts"))


class TimelineFilterForm(Form):
    id_prefix = "timeline"

    class Meta:
        csrf = False

    service = SelectField(_l("Service"), coerce=int, validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[Optional()])

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.service.choices = options([(0, _l("All services")),
                                        *((s.id, s.name) for s in services)])
        self.channel.choices = options([("", _l("All channels")), *CHANNEL_LABELS.items()])


class UsageEntryForm(Form):
    id_prefix = "entry"

    service_id = SelectField(_l("Service"), coerce=int, validators=[DataRequired()])
    channel = SelectField(_l("Channel"), validators=[DataRequired()], default="counter")
    kind = SelectField(_l("Kind of use"), default="use", validators=[DataRequired()])
    occurred_at = DateTimeLocalField(_l("When"), validators=[Optional(), YearRange()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     description=_l("Empty means now."))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record use"))

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.service_id.choices = options((s.id, s.name) for s in services)
        self.channel.choices = options(CHANNEL_LABELS.items())
        self.kind.choices = options(KIND_LABELS.items())


class LinkAccountForm(Form):
    id_prefix = "link"

    email = EmailField(_l("E-mail address of the resident's account"), validators=[
        DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    identity_method = SelectField(
        _l("Identity checked by"),
        validators=[DataRequired(message=_l("Say how you checked the resident's identity."))])
    identity_note = StringField(
        _l("Note on the check"), validators=[Optional(), Length(max=200)],
        description=_l("Where and how, for example: at the Chuo counter. Do not write "
                       "document numbers."))
    submit = SubmitField(_l("Link account"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity_method.choices = options([
            ("", _l("— choose —")), *((code, IDENTITY_CHECK_LABELS[code])
                                       for code in IDENTITY_CHECKS)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.identity_method.data == "other" and not (self.identity_note.data or "").strip():
            self.identity_note.errors = [*self.identity_note.errors,
                                         _l("Describe the check in the note.")]
            return False
        return valid


class UnlinkAccountForm(Form):
    id_prefix = "unlink"

    reason = StringField(_l("Reason"), validators=[
        DataRequired(message=_l("Give a reason.")), Length(max=200)],
        description=_l("For example: linked to the wrong person. The account keeps what "
                       "the resident entered, in a record of its own."))
    submit = SubmitField(_l("Unlink account"))


class MergeForm(Form):
    id_prefix = "merge"

    other = StringField(_l("Duplicate record (number or external id)"),
                        validators=[DataRequired(), Length(max=64)],
                        description=_l("Its usage history moves to this record; then it is "
                                       "deleted."))
    submit = SubmitField(_l("Merge into this record"))




class DistrictForm(Form):
    name_ja = StringField(_l("Name in Japanese"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=80)],
                          description=_l("Shown on English pages; empty shows the Japanese "
                                         "name."))
    position = IntegerField(_l("Position in lists"),
                            validators=[Optional(), NumberRange(0, 9999)],
                            description=_l("Empty puts a new district at the end."))
    submit = SubmitField(_l("Save district"))

    def __init__(self, *args, district=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._district = district

    def validate_name_ja(self, field):
        field.data = (field.data or "").strip()
        if districts.name_taken(field.data, keep=self._district):
            raise ValidationError(_l("Another district already has this name."))

    def values(self) -> dict:
        return {"name_ja": self.name_ja.data.strip(),
                "name_en": (self.name_en.data or "").strip(),
                "position": self.position.data}
