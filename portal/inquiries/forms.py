"""The resident's inquiry forms: a new inquiry, and a reply on the thread."""

from __future__ import annotations

import math

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from portal.extensions import db
from portal.forms import Form, options
from portal.i18n_fields import localized
from portal.inquiries.labels import CATEGORY_LABELS
from portal.inquiries.operations import MESSAGE_MAX, SUBJECT_MAX
from portal.inquiries.photos import size_text
from portal.services.models import Department, Service

#: the service select's value for "I don’t know — staff will route it"
UNKNOWN_SERVICE = "unknown"
ADDRESS_MAX = 300


def active_services() -> list[Service]:
    return list(db.session.scalars(
        select(Service).join(Department, Department.id == Service.department_id)
        .where(Service.active.is_(True)).order_by(Department.code, Service.slug)))


def service_choices(services: list[Service]) -> dict:
    """Options grouped by department (``optgroup``), "I don’t know" first."""
    groups: dict = {None: options([("", _("Choose a service")),
                                   (UNKNOWN_SERVICE, _("I don’t know — staff will route it"))])}
    named: dict[str, list] = {}
    for service in services:
        named.setdefault(localized(service.department, "name"), []).append(
            (service.slug, localized(service, "name")))
    groups.update({name: options(pairs) for name, pairs in named.items()})
    return groups


def _coordinate(field, low: float, high: float, name: str) -> float | None:
    raw = (field.data or "").strip().replace("，", ",").replace("．", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(_("Enter the %(name)s as a decimal number, such as %(example)s.",
                                name=name, example="35.6812" if high == 90 else "139.7671")
                              ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(_("The %(name)s must be between %(low)s and %(high)s.",
                                name=name, low=low, high=high))
    return value


class InquiryForm(Form):
    service = SelectField(_l("Service"), validators=[DataRequired(_l("Choose a service, or "
                                                                     "“I don’t know”."))],
                          description=_l("What is your inquiry about? If you are not sure, "
                                         "choose “I don’t know” and staff will pass it on."))
    category = RadioField(_l("Kind of inquiry"), choices=options(CATEGORY_LABELS.items()),
                          validators=[DataRequired(_l("Choose what kind of inquiry this is."))])
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Give your inquiry a subject.")),
        Length(max=SUBJECT_MAX, message=_l("The subject can be at most %(max)d characters."))])
    description = TextAreaField(_l("Your inquiry"), validators=[
        DataRequired(_l("Describe your question, request or problem."))],
        render_kw={"rows": 8})
    address = StringField(_l("Address or place (optional)"), validators=[
        Length(max=ADDRESS_MAX, message=_l("The address can be at most %(max)d characters."))],
        description=_l("Where is it? For example, a street address or a landmark."))
    latitude = StringField(_l("Latitude (optional)"), render_kw={"inputmode": "decimal"},
                           description=_l("From a map app, in decimal degrees, e.g. 35.6812."))
    longitude = StringField(_l("Longitude (optional)"), render_kw={"inputmode": "decimal"},
                            description=_l("In decimal degrees, e.g. 139.7671."))
    photo = FileField(_l("Photo (optional)"),
                      render_kw={"accept": "image/jpeg,image/png"})
    # a photo already checked on the "Continue" step, carried so it is not lost
    kept_photo = HiddenField()
    remove_photo = BooleanField(_l("Remove the attached photo"))
    check = SubmitField(_l("Continue"))
    send = SubmitField(_l("Send inquiry"))

    def __init__(self, *args, services: list[Service] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {s.slug: s for s in (services if services is not None
                                             else active_services())}
        self.service.choices = service_choices(list(self.services.values()))
        limit = current_app.config["INQUIRY_PHOTO_MAX_BYTES"]
        self.photo.description = _("A JPEG or PNG image of at most %(size)s. Its location "
                                   "data is removed.", size=size_text(limit))
        self.coordinates: tuple[float | None, float | None] = (None, None)

    def chosen_service(self) -> Service | None:
        return self.services.get(self.service.data or "")

    def validate_description(self, field) -> None:
        limit = current_app.config["INQUIRY_DESCRIPTION_MAX"]
        if len((field.data or "").strip()) > limit:
            raise ValidationError(_("Your inquiry can be at most %(n)d characters (it has "
                                    "%(m)d). Please shorten it.", n=limit,
                                    m=len(field.data.strip())))

    def validate_latitude(self, field) -> None:
        _coordinate(field, -90, 90, _("latitude"))

    def validate_longitude(self, field) -> None:
        _coordinate(field, -180, 180, _("longitude"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.latitude.errors or self.longitude.errors:
            return False
        latitude = _coordinate(self.latitude, -90, 90, "")
        longitude = _coordinate(self.longitude, -180, 180, "")
        if (latitude is None) != (longitude is None):
            missing = self.longitude if latitude is not None else self.latitude
            missing.errors.append(_("Give both the latitude and the longitude, or neither."))
            return False
        self.coordinates = (latitude, longitude)
        return valid


class ReplyForm(Form):
    body = TextAreaField(_l("Your message"), validators=[
        DataRequired(_l("Write a message first.")),
        Length(max=MESSAGE_MAX, message=_l("A message can be at most %(max)d characters."))],
        render_kw={"rows": 5})
    submit = SubmitField(_l("Send message"))
