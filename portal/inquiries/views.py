"""The resident's side of inquiries: send one (with answers suggested first), follow
their list, read the thread, reply, reopen, see their photos.

Someone else's inquiry (or its photo) is a 404, never a 403, so its existence is
not revealed. Residents' own actions are not audited (as elsewhere on the resident
portal); every change goes through ``portal.inquiries.operations``.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse_many
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.accounts import _add_resident_record
from portal.extensions import db, limiter
from portal.forms import EmptyForm
from portal.i18n_fields import current_locale
from portal.inquiries import bp, operations, photos, suggestions
from portal.inquiries.forms import UNKNOWN_SERVICE, InquiryForm, ReplyForm
from portal.inquiries.labels import CATEGORY_LABELS, RESIDENT_STATUS_LABELS
from portal.inquiries.models import (
    RESIDENT_VISIBLE,
    Inquiry,
    InquiryMessage,
    InquiryPhoto,
    InquiryStatus,
    MessageKind,
)
from portal.inquiries.operations import InquiryError
from portal.mail.outbox import dispatch
from portal.permissions import can_use_resident_portal, permission_required
from portal.residents import records
from portal.residents.models import Resident
from portal.services.models import Department, Service
from portal.timeutil import utcnow

PER_PAGE = 20
MY_PAGE_LATEST = 5
RATE_NAMESPACE = "inquiries-sent"
#: room for the text fields besides a carried photo in the form data
FORM_TEXT_ALLOWANCE = 256 * 1024
STATUS_BADGES = {
    InquiryStatus.NEW: "badge--warn",
    InquiryStatus.OPEN: "badge--warn",
    InquiryStatus.WAITING: "badge--bad",  # the resident's turn
    InquiryStatus.RESOLVED: "badge--ok",
    InquiryStatus.CLOSED: "badge--off",
}
TEMPLATE_CONTEXT = {"STATUS_WORDS": RESIDENT_STATUS_LABELS, "CATEGORY_WORDS": CATEGORY_LABELS,
                    "STATUS_BADGES": STATUS_BADGES}


def _own_record() -> Resident | None:
    return records.resident_for_user(current_user)


def _own_record_or_new() -> Resident:
    """The account's resident record; an account without one gets its own record,
    as registration gives every resident account (staff may link it to the register
    later)."""
    resident = _own_record()
    if resident is None:
        _add_resident_record(current_user._get_current_object())
        db.session.flush()
        resident = _own_record()
    return resident


def _own_inquiry_or_404(inquiry_id: int) -> tuple[Inquiry, Resident]:
    resident = _own_record()
    inquiry = db.session.get(Inquiry, inquiry_id)
    if resident is None or inquiry is None or inquiry.resident_id != resident.id:
        abort(404)
    return inquiry, resident


# -- rate limit -----------------------------------------------------------------------------

def _rate_limits():
    return parse_many(current_app.config["INQUIRY_RATE_LIMIT"])


def _rate_limited() -> bool:
    """Whether the account has sent as many inquiries as ``INQUIRY_RATE_LIMIT`` allows
    (counted per account, only for inquiries actually sent: the "Continue" step and
    refused forms do not count)."""
    return any(not limiter.limiter.test(item, RATE_NAMESPACE, str(current_user.id))
               for item in _rate_limits())


def _count_sent() -> None:
    for item in _rate_limits():
        limiter.limiter.hit(item, RATE_NAMESPACE, str(current_user.id))


# -- My page --------------------------------------------------------------------------------

@dataclass(frozen=True)
class InquiryRow:
    inquiry: Inquiry
    status: str
    badge: str


@bp.app_template_global()
def my_inquiries(resident: Resident | None, limit: int = MY_PAGE_LATEST) -> list[InquiryRow]:
    """My page: the resident's latest inquiries, with their status in words."""
    if resident is None:
        return []
    rows = db.session.scalars(
        select(Inquiry).where(Inquiry.resident_id == resident.id)
        .options(selectinload(Inquiry.service))
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc()).limit(limit))
    return [InquiryRow(row, RESIDENT_STATUS_LABELS[row.status], STATUS_BADGES[row.status])
            for row in rows]


# -- list -----------------------------------------------------------------------------------

@bp.get("/")
@permission_required(can_use_resident_portal)
def index():
    resident = _own_record()
    page = None
    if resident is not None:
        page = db.paginate(
            select(Inquiry).where(Inquiry.resident_id == resident.id)
            .options(selectinload(Inquiry.service))
            .order_by(Inquiry.created_at.desc(), Inquiry.id.desc()), per_page=PER_PAGE)
    return render_template("inquiries/index.html", page=page, **TEMPLATE_CONTEXT)


# -- a new inquiry --------------------------------------------------------------------------

def _kept_photo(form: InquiryForm) -> tuple[bytes, str, int, int] | None:
    """The photo of this submission: a newly chosen file, or the one carried from
    the "Continue" step (checked again: it came back from the browser)."""
    upload = form.photo.data
    if upload is not None and getattr(upload, "filename", ""):
        return photos.accept(upload.stream)
    if form.kept_photo.data and not form.remove_photo.data:
        try:
            data = base64.b64decode(form.kept_photo.data, validate=True)
        except (binascii.Error, ValueError):
            form.kept_photo.data = ""
            raise InquiryError(_("The photo you attached could not be kept. Choose it "
                                 "again.")) from None
        return photos.accept(io.BytesIO(data))
    return None


@bp.route("/new", methods=["GET", "POST"])
@permission_required(can_use_resident_portal)
def new():
    # a photo carried from the "Continue" step comes back as a form field (base64)
    request.max_form_memory_size = (current_app.config["INQUIRY_PHOTO_MAX_BYTES"] * 4 // 3
                                    + FORM_TEXT_ALLOWANCE)
    form = InquiryForm()
    if request.method == "GET" and request.args.get("service"):
        wanted = request.args["service"]
        if wanted in form.services or wanted == UNKNOWN_SERVICE:
            form.service.data = wanted
    sending = request.method == "POST" and bool(form.send.data)
    shown_suggestions: list[suggestions.Suggestion] | None = None
    status, photo, valid = 200, None, False
    if request.method == "POST":
        valid = form.validate_on_submit()
        try:  # even when a text field is wrong, so the photo is kept meanwhile
            photo = _kept_photo(form)
        except InquiryError as error:
            form.photo.errors = [*form.photo.errors, str(error)]
            form.kept_photo.data = ""
            valid = False
        else:
            form.kept_photo.data = (base64.b64encode(photo[0]).decode("ascii")
                                    if photo is not None else "")
            form.remove_photo.data = False
        if not valid:
            status = 400
        if valid or sending:
            shown_suggestions = suggestions.suggest(
                _own_record(), form.chosen_service(),
                f"{form.subject.data or ''}\n{form.description.data or ''}", current_locale())
    if sending and valid:
        if _rate_limited():
            flash(_("You have sent many inquiries in a short time. Please wait a while "
                    "before sending another one; what you wrote is kept below."), "error")
            status = 429
        else:
            try:
                inquiry = _create(form, photo)
            except InquiryError as error:
                db.session.rollback()
                flash(str(error), "error")
                status = 400
            else:
                operations.notify(inquiry, "received")
                db.session.commit()
                dispatch()  # the receipt
                _count_sent()
                flash(_("Your inquiry No. %(n)s has been sent. We will reply to you here "
                        "and by e-mail.", n=inquiry.number), "success")
                return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id))
    return render_template("inquiries/new.html", form=form, suggestions=shown_suggestions,
                           confirm=shown_suggestions is not None, photo=photo,
                           kind_labels=suggestions.KIND_LABELS, **TEMPLATE_CONTEXT), status


def _create(form: InquiryForm, photo: tuple[bytes, str, int, int] | None) -> Inquiry:
    resident = _own_record_or_new()
    latitude, longitude = form.coordinates
    inquiry = operations.create_inquiry(
        category=form.category.data, channel="web", subject=form.subject.data,
        description=form.description.data, resident=resident, service=form.chosen_service(),
        address=(form.address.data or "").strip() or None, latitude=latitude,
        longitude=longitude)
    if photo is not None:
        data, content_type, width, height = photo
        db.session.add(InquiryPhoto(inquiry=inquiry, content_type=content_type, data=data,
                                    size=len(data), width=width, height=height,
                                    uploaded_by_id=current_user.id))
        db.session.flush()
    return inquiry


# -- one inquiry ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ThreadEntry:
    """One line of the thread as the resident sees it."""

    kind: str  # "resident", "reply", "event"
    at: object
    author: str = ""
    body: str = ""
    event: str = ""
    link: str = ""


def _thread(inquiry: Inquiry) -> list[ThreadEntry]:
    messages = db.session.scalars(
        select(InquiryMessage).where(InquiryMessage.inquiry_id == inquiry.id,
                                     InquiryMessage.kind.in_(RESIDENT_VISIBLE))
        .options(selectinload(InquiryMessage.author))
        .order_by(InquiryMessage.created_at, InquiryMessage.id)).all()
    service_ids = {m.data.get("to_service_id") for m in messages
                   if m.kind == MessageKind.EVENT and m.event == "routed" and m.data}
    services = {s.id: s for s in db.session.scalars(
        select(Service).where(Service.id.in_([i for i in service_ids if i])))} \
        if service_ids else {}
    departments = {d.id: d for d in db.session.scalars(select(Department))}
    entries = []
    for message in messages:
        if not message.visible_to_resident:  # internal notes and events: never here
            continue
        if message.kind == MessageKind.RESIDENT:
            entries.append(ThreadEntry("resident", message.created_at, _("You"), message.body))
        elif message.kind == MessageKind.REPLY:
            entries.append(ThreadEntry("reply", message.created_at,
                                       _staff_of(message, inquiry, departments), message.body))
        else:
            text, link = _event_words(message, services)
            if text:
                entries.append(ThreadEntry("event", message.created_at, event=text, link=link))
    return entries


def _staff_of(message: InquiryMessage, inquiry: Inquiry, departments: dict) -> str:
    """Replies are signed by the department, not the staff member (as the portal's
    e-mails to residents are signed by the city)."""
    author = message.author
    department = departments.get(author.department_id) if author and author.department_id \
        else None
    department = department or departments.get(inquiry.department_id)
    if department is None:
        return _("City staff")
    return _("Staff of %(department)s", department=department.name)


def _event_words(message: InquiryMessage, services: dict) -> tuple[str, str]:
    data = message.data or {}
    if message.event == "status":
        target = data.get("to")
        if target not in RESIDENT_STATUS_LABELS:
            return "", ""
        if data.get("from") in (InquiryStatus.RESOLVED, InquiryStatus.CLOSED) \
                and target == InquiryStatus.OPEN:
            return _("The inquiry was reopened."), ""
        return _("Status changed to “%(status)s”.", status=RESIDENT_STATUS_LABELS[target]), ""
    if message.event == "merged" and data.get("into"):
        return (_("This inquiry is about the same matter as inquiry No. %(n)s and continues "
                  "there.", n=data["into"]),
                url_for("inquiries.detail", inquiry_id=data["into"]))
    if message.event == "routed":
        service = services.get(data.get("to_service_id"))
        if service is not None:
            return _("Passed on to the staff of “%(service)s”.", service=service.name), ""
        return _("Passed on to other staff."), ""
    return "", ""


def _reopen_until(inquiry: Inquiry):
    """Until when the resident may reopen the inquiry (None: not now)."""
    from datetime import timedelta

    if inquiry.status != InquiryStatus.RESOLVED or inquiry.resolved_at is None \
            or inquiry.merged_into_id is not None:
        return None
    until = inquiry.resolved_at + timedelta(days=current_app.config["INQUIRY_REOPEN_DAYS"])
    return until if until >= utcnow() else None


def _detail_page(inquiry: Inquiry, reply_form: ReplyForm | None = None, status: int = 200):
    merged_into = (db.session.get(Inquiry, inquiry.merged_into_id)
                   if inquiry.merged_into_id else None)
    return render_template(
        "inquiries/detail.html", inquiry=inquiry, thread=_thread(inquiry),
        merged_into=merged_into, reply_form=reply_form or ReplyForm(),
        reopen_until=_reopen_until(inquiry),
        reopen_days=current_app.config["INQUIRY_REOPEN_DAYS"],
        can_reply=inquiry.status not in (InquiryStatus.RESOLVED, InquiryStatus.CLOSED),
        **TEMPLATE_CONTEXT), status


@bp.get("/<int:inquiry_id>")
@permission_required(can_use_resident_portal)
def detail(inquiry_id: int):
    inquiry, _resident = _own_inquiry_or_404(inquiry_id)
    return _detail_page(inquiry)


@bp.post("/<int:inquiry_id>/reply")
@permission_required(can_use_resident_portal)
def reply(inquiry_id: int):
    inquiry, _resident = _own_inquiry_or_404(inquiry_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _detail_page(inquiry, form, 400)
    if inquiry.merged_into_id is not None:
        form.body.errors = [*form.body.errors, _(
            "This inquiry continues as inquiry No. %(n)s: please write there.",
            n=inquiry.merged_into_id)]
        return _detail_page(inquiry, form, 400)
    try:
        operations.resident_reply(inquiry, current_user._get_current_object(), form.body.data)
    except InquiryError as error:
        db.session.rollback()
        form.body.errors = [*form.body.errors, str(error)]
        return _detail_page(inquiry, form, 400)
    db.session.commit()
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id) + "#thread")


@bp.post("/<int:inquiry_id>/reopen")
@permission_required(can_use_resident_portal)
def reopen(inquiry_id: int):
    inquiry, _resident = _own_inquiry_or_404(inquiry_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        operations.reopen(inquiry, current_user._get_current_object())
    except InquiryError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id))
    db.session.commit()
    flash(_("Your inquiry has been reopened. Write below what is still open."), "success")
    return redirect(url_for("inquiries.detail", inquiry_id=inquiry.id) + "#reply")


@bp.get("/<int:inquiry_id>/photos/<int:photo_id>")
@permission_required(can_use_resident_portal)
def photo(inquiry_id: int, photo_id: int):
    inquiry, _resident = _own_inquiry_or_404(inquiry_id)
    item = db.session.get(InquiryPhoto, photo_id)
    if item is None or item.inquiry_id != inquiry.id:
        abort(404)
    extension = "png" if item.content_type == "image/png" else "jpg"
    response = send_file(io.BytesIO(item.data), mimetype=item.content_type,
                         download_name=f"inquiry-{inquiry.id}-photo-{item.id}.{extension}",
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
