"""Open311 GeoReport v2 (``/open311/v2/…``), as the spec on the Open311 wiki says:
discovery, the service list, service definitions, POST a service request, GET
requests, GET one request and GET a request id from a token, each as ``.xml``
(the required format) and ``.json``.

- Language: the ``locale`` argument (``ja``, ``en``: the configured locales) when
  given, else the best match of ``Accept-Language``, else the portal's default
  language. Service names, descriptions, attribute texts, status notes, service
  notices and error descriptions are in that language; a POSTed request's replies
  and e-mails too.
- ``jurisdiction_id`` is optional (the portal serves one jurisdiction, as the spec
  allows); when sent it must be ``OPEN311_JURISDICTION`` or the answer is the spec's
  "404 - jurisdiction_id provided was not found".
- Errors are the spec's error document with the same HTTP status: 404 for what does
  not exist, 403 for a missing, unknown or revoked ``api_key`` (or one not issued
  for the service's department), 400 for anything else — never a 500: an unexpected
  failure is the spec's "400 - General service error", with nothing stored.
- Public answers never carry personal data: no names, e-mail, phone, device or
  account ids; the location, description and media of a request only when its
  service is a public-space one (street lights, potholes). Only requests that came
  in through Open311 are listed: an inquiry sent on the web or by phone is the
  resident's, not public.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased
from werkzeug.exceptions import RequestEntityTooLarge

from portal.extensions import db, limiter
from portal.i18n import municipality_name
from portal.inquiries import operations
from portal.inquiries.models import (
    Inquiry,
    InquiryCategory,
    InquiryChannel,
    InquiryStatus,
    ServiceAttribute,
)
from portal.open311 import attributes as attribute_values
from portal.open311 import bp, keys
from portal.open311.serialise import FORMATS, errors, respond
from portal.services.models import Department, Service
from portal.timeutil import local_zone, utcnow

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: when this implementation of the endpoint last changed (discovery's ``changeset``)
CHANGESET = "2026-12-04T00:00:00+09:00"
DESCRIPTION_MAX = 4000  # the spec: "free form text limited to 4,000 characters"
WINDOW = timedelta(days=90)  # the spec: "a span of 90 days or first 1000 requests"
RESULT_LIMIT = 1000
NAME_MAX = 75
OPEN = tuple(InquiryStatus.pending())
CLOSED = (InquiryStatus.RESOLVED, InquiryStatus.CLOSED)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. ]{3,40}$")


class Open311Error(Exception):
    """Answered as the spec's error document with ``status``."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = [str(d) for d in descriptions]


# -- language, format, jurisdiction ----------------------------------------------------

def _form_value(name: str) -> str:
    try:
        return (request.values.get(name) or "").strip()
    except RequestEntityTooLarge:
        return ""


def choose_locale() -> str:
    """``locale`` argument, then ``Accept-Language``, then the default language."""
    locales = current_app.config["LOCALES"]
    requested = _form_value("locale")
    if requested:
        if requested not in locales:
            raise Open311Error(400, _("The locale “%(locale)s” is not offered: use one of "
                                      "%(locales)s.", locale=requested[:20],
                                      locales=", ".join(locales)))
        return requested
    return request.accept_languages.best_match(locales) or current_app.config["DEFAULT_LOCALE"]


def _safe_locale() -> str:
    try:
        return choose_locale()
    except Open311Error:
        return current_app.config["DEFAULT_LOCALE"]


def _format_of_path() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "json" if request.path.endswith(".json") else "xml"


def _check_jurisdiction() -> None:
    given = _form_value("jurisdiction_id")
    served = current_app.config["OPEN311_JURISDICTION"]
    if given and given != served:
        raise Open311Error(404, _("The jurisdiction_id “%(given)s” was not found: this "
                                  "endpoint serves “%(served)s”.", given=given[:100],
                                  served=served))


def endpoint(view: Callable) -> Callable:
    """The format, the language and the jurisdiction for every GeoReport method, and
    its failures as the spec's error documents (never a 500, nothing stored)."""

    @wraps(view)
    def wrapped(fmt: str, **kwargs: Any):
        answer_in = fmt if fmt in FORMATS else "xml"
        try:
            locale = choose_locale()
        except Open311Error as error:
            with force_locale(current_app.config["DEFAULT_LOCALE"]):
                return errors(answer_in, error.status, error.descriptions)
        with force_locale(locale):
            g.open311_locale = locale
            try:
                if fmt not in FORMATS:
                    raise Open311Error(404, _("The format “%(format)s” is not offered: use "
                                              ".xml or .json.", format=fmt[:20]))
                _check_jurisdiction()
                return view(fmt, **kwargs)
            except Open311Error as error:
                db.session.rollback()
                return errors(answer_in, error.status, error.descriptions)
            except RequestEntityTooLarge:
                db.session.rollback()
                return errors(answer_in, 413, [_("The request is too large.")])
            except Exception:
                db.session.rollback()
                current_app.logger.exception("Open311 %s %s failed", request.method,
                                             request.path)
                return errors(answer_in, 400, [_(
                    "General service error: the request could not be processed and nothing "
                    "was stored. Please tell the municipality if this happens again.")])

    return wrapped


@bp.errorhandler(429)
def too_many_requests(error):
    with force_locale(_safe_locale()):
        response = errors(_format_of_path(), 429, [_(
            "Too many requests with this api_key: wait a minute and try again.")])
    for name, value in (getattr(error, "response", None) or response).headers.items():
        if name.lower().startswith(("retry-after", "x-ratelimit")):
            response.headers[name] = value
    return response


@bp.errorhandler(413)
def too_large(error):
    with force_locale(_safe_locale()):
        return errors(_format_of_path(), 413, [_("The request is too large.")])


# -- rate limits (per api_key, like the JSON API's per token) ----------------------------

def post_rate_limit() -> str:
    return current_app.config["OPEN311_RATE_LIMIT"]


def auth_failure_limit() -> str:
    return current_app.config["API_AUTH_FAILURE_LIMIT"]


def post_rate_key() -> str:
    return keys.rate_limit_key(_form_value("api_key"), request.remote_addr)


def auth_failure_key() -> str:
    return "open311-auth-failure:" + (request.remote_addr or "unknown")


def failed_authentication(response) -> bool:
    return bool(g.get("open311_bad_key"))


# -- helpers ------------------------------------------------------------------------------

def _name(row_ja: str | None, row_en: str | None) -> str:
    by_locale = {"ja": row_ja, "en": row_en}
    order = [g.open311_locale, current_app.config["DEFAULT_LOCALE"], "ja", "en"]
    for loc in order:
        if by_locale.get(loc):
            return by_locale[loc] or ""
    return ""


def _w3(value: datetime | None, zone) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).replace(microsecond=0).isoformat()


def _base_url() -> str:
    return url_for("open311.discovery", fmt="xml", _external=True).rsplit("/", 1)[0] + "/"


# -- discovery ---------------------------------------------------------------------------

@bp.get("/")
def root():
    return redirect(url_for("open311.discovery", fmt="xml"))


@bp.get("/discovery.<fmt>")
@endpoint
def discovery(fmt: str):
    city = municipality_name(g.open311_locale)
    contact = current_app.config.get("OPEN311_CONTACT") or _(
        "%(city)s, through the contact page of the resident portal.", city=city)
    document = {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": _("api_keys for posting requests are issued by %(city)s's portal "
                         "administrators: ask them for one for your application.", city=city),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": _base_url(),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return respond(fmt, "discovery", document)


# -- services ----------------------------------------------------------------------------

@bp.get("/services.<fmt>")
@endpoint
def services(fmt: str):
    has_attributes = exists().where(ServiceAttribute.service_id == Service.id)
    rows = db.session.execute(
        select(Service.service_code, Service.name_ja, Service.name_en, Service.summary_ja,
               Service.summary_en, Department.name_ja, Department.name_en,
               has_attributes.label("metadata"))
        .join(Department, Service.department_id == Department.id)
        .where(Service.active.is_(True), Service.service_code.is_not(None))
        .order_by(Service.service_code)).all()
    items = [{
        "service_code": row[0],
        "service_name": _name(row[1], row[2]),
        "description": _name(row[3], row[4]) or None,
        "metadata": bool(row[7]),
        "type": "realtime",
        "keywords": "",
        "group": _name(row[5], row[6]),
    } for row in rows]
    return respond(fmt, "services", items)


def _active_service(code: str) -> Service:
    service = db.session.scalar(select(Service).where(
        Service.service_code == code, Service.active.is_(True)))
    if service is None:
        raise Open311Error(404, _("The service_code “%(code)s” was not found.", code=code[:40]))
    return service


def _definition(service: Service) -> list[ServiceAttribute]:
    return list(db.session.scalars(select(ServiceAttribute).where(
        ServiceAttribute.service_id == service.id).order_by(ServiceAttribute.position,
                                                            ServiceAttribute.code)))


@bp.get("/services/<service_code>.<fmt>")
@endpoint
def service_definition(fmt: str, service_code: str):
    service = _active_service(service_code)
    locale = g.open311_locale
    default = current_app.config["DEFAULT_LOCALE"]
    items = []
    for attribute in _definition(service):
        item: dict[str, Any] = {
            "variable": attribute.variable,
            "code": attribute.code,
            "datatype": attribute.datatype,
            "required": attribute.required,
            "datatype_description": _name(attribute.datatype_description_ja,
                                          attribute.datatype_description_en) or None,
            "order": attribute.position,
            "description": _name(attribute.description_ja, attribute.description_en) or None,
        }
        if attribute.datatype in attribute_values.LIST_TYPES:
            item["values"] = [{"key": str(v.get("key")),
                               "name": attribute_values.value_name(v, locale, default)}
                              for v in attribute.values or []]
        items.append(item)
    return respond(fmt, "service_definition",
                   {"service_code": service.service_code, "attributes": items})


# -- POST a service request -------------------------------------------------------------

def _text_field(name: str, limit: int, problems: list[str], *, label: str | None = None
                ) -> str | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        return None
    if _CONTROL.search(value):
        problems.append(_("%(field)s contains control characters.", field=label or name))
        return None
    if len(value) > limit:
        problems.append(_("%(field)s can be at most %(n)d characters.", field=label or name,
                          n=limit))
        return None
    return value


def _coordinate(name: str, bound: float, problems: list[str]) -> float | None:
    raw = (request.form.get(name) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        problems.append(_("%(field)s must be a number in decimal degrees (WGS84), e.g. "
                          "35.6895.", field=name))
        return None
    if not math.isfinite(value) or not -bound <= value <= bound:
        problems.append(_("%(field)s must be between -%(bound)d and %(bound)d.", field=name,
                          bound=int(bound)))
        return None
    return value


def _caller_name(first: str | None, last: str | None) -> str | None:
    parts = [last, first] if g.open311_locale == "ja" else [first, last]
    return " ".join(p for p in parts if p) or None


def _service_notice(department_name: str, due: datetime | None, pending: bool) -> str | None:
    if not pending or due is None:
        return None
    return _("%(agency)s aims to deal with this request by %(date)s.", agency=department_name,
             date=format_date(due, "medium"))


@bp.post("/requests.<fmt>")
# Guessing keys: failed authentications count per client address, and once over the
# limit every request from it is refused, whatever key it carries.
@limiter.limit(auth_failure_limit, key_func=auth_failure_key, deduct_when=failed_authentication)
@limiter.limit(post_rate_limit, key_func=post_rate_key)
@endpoint
def post_request(fmt: str):
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, _("Send the request form-encoded "
                                  "(Content-Type: application/x-www-form-urlencoded)."))
    form = request.form
    given_key = (form.get("api_key") or "").strip()
    if not given_key:
        g.open311_bad_key = True
        raise Open311Error(403, _("An api_key is required to post a service request."))
    key = keys.find_active_key(given_key)
    if key is None:
        g.open311_bad_key = True
        raise Open311Error(403, _("Invalid api_key received: it is unknown or has been "
                                  "revoked. The request was not created."))
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, _("A service_code is required: see services.xml for them."))
    service = _active_service(code)
    if not keys.may_post_for(key, service.department_id):
        raise Open311Error(403, _("This api_key may not post requests for the service "
                                  "“%(code)s”: it was issued for other departments.",
                                  code=code))

    problems: list[str] = []
    latitude = longitude = None
    has_lat, has_long = bool((form.get("lat") or "").strip()), bool(
        (form.get("long") or "").strip())
    if has_lat != has_long:
        problems.append(_("Send both lat and long, or neither."))
    elif has_lat:
        latitude = _coordinate("lat", 90, problems)
        longitude = _coordinate("long", 180, problems)
    address = _text_field("address_string", 300, problems)
    address_id = _text_field("address_id", 100, problems)
    location_given = has_lat or has_long or any(
        (form.get(name) or "").strip() for name in ("address_string", "address_id"))
    if not location_given:
        problems.append(_("A location is required: send lat and long, or address_string, "
                          "or address_id."))
    description = (form.get("description") or "").strip()
    if _CONTROL.search(description):
        problems.append(_("%(field)s contains control characters.", field="description"))
    elif len(description) > DESCRIPTION_MAX:
        problems.append(_("The description can be at most %(n)d characters (it has %(len)d).",
                          n=DESCRIPTION_MAX, len=len(description)))
    email = _text_field("email", 254, problems)
    if email and not _EMAIL.match(email):
        problems.append(_("The email “%(email)s” is not a valid e-mail address.",
                          email=email[:60]))
    first_name = _text_field("first_name", NAME_MAX, problems)
    last_name = _text_field("last_name", NAME_MAX, problems)
    phone = _text_field("phone", 40, problems)
    if phone and not _PHONE.match(phone):
        problems.append(_("The phone number may contain digits, spaces and + - ( ) . only."))
    device_id = _text_field("device_id", 100, problems)
    account_id = _text_field("account_id", 100, problems)
    media_url = _text_field("media_url", 500, problems)
    if media_url:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in media_url:
            problems.append(_("The media_url must be an http or https URL."))
    values, attribute_problems = attribute_values.validate(
        _definition(service), attribute_values.raw_values(form))
    problems.extend(attribute_problems)
    if problems:
        raise Open311Error(400, *problems)

    first_line = description.splitlines()[0] if description else ""
    subject = (first_line[:97] + "…" if len(first_line) > 100 else first_line) or service.name
    try:
        inquiry = operations.create_inquiry(
            category=InquiryCategory.PROBLEM, channel=InquiryChannel.OPEN311, subject=subject,
            description=description, service=service, locale=g.open311_locale,
            # what the reporter gave, kept on the inquiry only: never linked to a
            # resident by e-mail (that would tell the app whose address it is) and
            # never in a public answer
            caller_name=_caller_name(first_name, last_name), caller_email=email,
            caller_phone=phone, address=address, latitude=latitude, longitude=longitude,
            address_id=address_id, attributes=values or None, open311_key_id=key.id,
            open311_token=secrets.token_urlsafe(24), device_id=device_id,
            account_id=account_id, media_url=media_url)
    except operations.InquiryError as error:
        raise Open311Error(400, str(error)) from None
    keys.note_use(key)
    department = service.department
    notice = _service_notice(department.name, inquiry.resolution_due_at, True)
    db.session.commit()
    # realtime: the id now, so no token (the spec: "should not be returned if
    # service_request_id is returned")
    return respond(fmt, "service_requests", [{
        "service_request_id": str(inquiry.id),
        "service_notice": notice,
        "account_id": None,
    }], status=201)


# -- GET requests ------------------------------------------------------------------------

def _request_query():
    # the request a duplicate was merged into, only when it is public (an Open311
    # request too): a web or phone inquiry's number is never published
    target = aliased(Inquiry)
    public_target = (select(target.id).where(target.id == Inquiry.merged_into_id,
                                             target.channel == InquiryChannel.OPEN311)
                     .scalar_subquery())
    return (select(Inquiry.id, Inquiry.status, public_target, Inquiry.description,
                   Inquiry.address, Inquiry.address_id, Inquiry.latitude, Inquiry.longitude,
                   Inquiry.media_url, Inquiry.created_at, Inquiry.updated_at,
                   Inquiry.resolved_at, Inquiry.closed_at, Inquiry.resolution_due_at,
                   Service.service_code, Service.name_ja, Service.name_en, Service.public_space,
                   Department.name_ja, Department.name_en)
            .join(Service, Inquiry.service_id == Service.id)
            .outerjoin(Department, Inquiry.department_id == Department.id)
            .where(Inquiry.channel == InquiryChannel.OPEN311,
                   Service.service_code.is_not(None)))


def _status_notes() -> dict[str, str]:
    return {
        InquiryStatus.NEW: _("Received; not yet reviewed."),
        InquiryStatus.OPEN: _("Being dealt with."),
        InquiryStatus.WAITING: _("Waiting for more information from the reporter."),
        InquiryStatus.RESOLVED: _("Resolved."),
        InquiryStatus.CLOSED: _("Closed."),
    }


def _serialise_rows(rows) -> list[dict[str, Any]]:
    """The requests as the spec's fields; everything looked up once per request (a
    name per pair of translations, a formatted date per day), never per row."""
    zone = local_zone()
    notes = _status_notes()
    names: dict[tuple[str | None, str | None], str] = {}
    days: dict[str, str] = {}
    notices: dict[tuple[str | None, str], str] = {}

    def name(ja: str | None, en: str | None) -> str:
        key = (ja, en)
        if key not in names:
            names[key] = _name(ja, en)
        return names[key]

    items = []
    for row in rows:
        (inquiry_id, status, merged_into, description, address, address_id, lat, long_,
         media_url, created, updated, resolved, closed, due, code, service_ja, service_en,
         public_space, agency_ja, agency_en) = row
        pending = status in OPEN
        agency = name(agency_ja, agency_en) or None
        if merged_into is not None:
            note = _("Closed as a duplicate of request %(id)s.", id=merged_into)
        else:
            note = notes.get(status)
        expected = _w3(due, zone)
        notice = None
        if pending and expected is not None:
            day = expected[:10]
            if day not in days:
                days[day] = format_date(due, "medium")
            if (agency, day) not in notices:
                notices[agency, day] = _("%(agency)s aims to deal with this request by "
                                         "%(date)s.", agency=agency or "", date=days[day])
            notice = notices[agency, day]
        item: dict[str, Any] = {
            "service_request_id": str(inquiry_id),
            "status": "open" if pending else "closed",
            "status_notes": note,
            "service_name": name(service_ja, service_en),
            "service_code": code,
        }
        if public_space:
            item["description"] = description or None
        item.update({
            "agency_responsible": agency,
            "service_notice": notice,
            "requested_datetime": _w3(created, zone),
            # closed: the date it was closed (the spec)
            "updated_datetime": _w3(updated if pending else (closed or resolved or updated),
                                    zone),
            "expected_datetime": expected,
        })
        if public_space:
            item.update({"address": address, "address_id": address_id, "lat": lat,
                         "long": long_, "media_url": media_url})
        items.append(item)
    return items


def _w3_argument(name: str) -> datetime | None:
    raw = _form_value(name)
    if not raw:
        return None
    parsed = attribute_values.parse_w3_datetime(raw)
    if parsed is None:
        raise Open311Error(400, _("%(field)s must be a w3 date and time with its time zone, "
                                  "e.g. 2026-12-01T00:00:00+09:00 or 2026-11-30T15:00:00Z.",
                                  field=name))
    return parsed.astimezone(UTC)


def _comma_list(name: str) -> list[str]:
    raw = ",".join(request.args.getlist(name))
    return [part.strip() for part in raw.split(",") if part.strip()]


@bp.get("/requests.<fmt>")
@endpoint
def get_requests(fmt: str):
    stmt = _request_query()
    ids = _comma_list("service_request_id")
    if ids:
        # the spec: this "overrides all other arguments"
        if len(ids) > RESULT_LIMIT:
            raise Open311Error(400, _("Ask for at most %(n)d service_request_id at once.",
                                      n=RESULT_LIMIT))
        bad = [i for i in ids if not i.isdigit() or len(i) > 18]
        if bad:
            raise Open311Error(400, _("“%(id)s” is not a service_request_id.", id=bad[0][:30]))
        stmt = stmt.where(Inquiry.id.in_({int(i) for i in ids}))
    else:
        codes = _comma_list("service_code")
        if codes:
            known = set(db.session.scalars(select(Service.service_code).where(
                Service.service_code.in_(codes))))
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise Open311Error(404, _("The service_code “%(code)s” was not found.",
                                          code=unknown[0][:40]))
            stmt = stmt.where(Service.service_code.in_(codes))
        start, end = _w3_argument("start_date"), _w3_argument("end_date")
        if start and end and start > end:
            raise Open311Error(400, _("The start_date is after the end_date."))
        if start and end and end - start > WINDOW:
            raise Open311Error(400, _("start_date and end_date may not span more than %(n)d "
                                      "days.", n=WINDOW.days))
        if start is None and end is None:
            end = utcnow()
        if start is None:
            start = end - WINDOW
        if end is None:
            end = start + WINDOW
        stmt = stmt.where(Inquiry.created_at >= start, Inquiry.created_at <= end)
        statuses = _comma_list("status")
        wanted: set[str] = set()
        for status in statuses:
            if status == "open":
                wanted.update(OPEN)
            elif status == "closed":
                wanted.update(CLOSED)
            else:
                raise Open311Error(400, _("The status “%(status)s” is not known: use open or "
                                          "closed.", status=status[:20]))
        if wanted and len(wanted) < len(OPEN) + len(CLOSED):
            stmt = stmt.where(Inquiry.status.in_(sorted(wanted)))
    # Core, not the ORM: plain rows of columns, no identity map to fill
    rows = db.session.connection().execute(
        stmt.order_by(Inquiry.created_at.desc(), Inquiry.id.desc()).limit(RESULT_LIMIT)).all()
    return respond(fmt, "service_requests", _serialise_rows(rows))


@bp.get("/requests/<service_request_id>.<fmt>")
@endpoint
def get_request(fmt: str, service_request_id: str):
    row = None
    if service_request_id.isdigit() and len(service_request_id) <= 18:
        row = db.session.execute(_request_query().where(
            Inquiry.id == int(service_request_id))).first()
    if row is None:
        raise Open311Error(404, _("There is no service request “%(id)s”.",
                                  id=service_request_id[:30]))
    return respond(fmt, "service_requests", _serialise_rows([row]))


@bp.get("/tokens/<token>.<fmt>")
@endpoint
def get_token(fmt: str, token: str):
    inquiry_id = None
    if len(token) <= 64:
        inquiry_id = db.session.scalar(select(Inquiry.id).where(
            Inquiry.open311_token == token, Inquiry.channel == InquiryChannel.OPEN311))
    if inquiry_id is None:
        raise Open311Error(404, _("The token “%(token)s” was not found.", token=token[:64]))
    return respond(fmt, "service_requests",
                   [{"service_request_id": str(inquiry_id), "token": token}])


@bp.route("/<path:anything>", methods=["GET", "POST"])
def not_found(anything: str):
    with force_locale(_safe_locale()):
        return errors(_format_of_path(), 404, [_(
            "There is no such GeoReport v2 resource: see discovery.xml for the methods.")])
