"""Console: the inquiry queue and its CSV, an inquiry's page and what staff do
there (reply with a template, note, assign, change status, route, merge, reopen),
its photos, and recording an inquiry taken by phone, at the counter, by letter or
by e-mail. Every change goes through ``portal.inquiries.operations``."""

from __future__ import annotations

import io
from datetime import datetime

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import load_only, selectinload

from portal import csvsafe
from portal.audit.recording import record, record_many
from portal.auth.models import Role, User
from portal.extensions import db
from portal.forms import EmptyForm, filter_values
from portal.i18n import language_names
from portal.i18n_fields import current_locale, localized_pair
from portal.inquiries import admin_bp, operations, queue, replies
from portal.inquiries.admin_forms import (
    AssignForm,
    MergeForm,
    NoteForm,
    QueueFilterForm,
    RecordForm,
    ReplyForm,
    RouteForm,
    StatusForm,
    TakeForm,
)
from portal.inquiries.labels import CATEGORY_LABELS, CHANNEL_LABELS, SLA_LABELS, STATUS_LABELS
from portal.inquiries.models import (
    Inquiry,
    InquiryChannel,
    InquiryMessage,
    InquiryPhoto,
    InquiryStatus,
    ReplyTemplate,
    ServiceAttribute,
)
from portal.inquiries.operations import InquiryError
from portal.inquiries.sla import sla_state
from portal.mail.outbox import dispatch
from portal.open311.attributes import value_name
from portal.permissions import can_work_inquiries, permission_required
from portal.rendering import render_and_commit
from portal.residents.models import Resident
from portal.services.models import Department, Service
from portal.timeutil import local_today, local_zone, utcnow

EXPORT_LIMIT = 100_000
REPLY_STATUSES = (InquiryStatus.WAITING, InquiryStatus.RESOLVED, InquiryStatus.OPEN)
WORKER_ROLES = (Role.STAFF, Role.MANAGER, Role.ADMIN)
FILTER_KEYS = ("status", "channel", "service", "category", "assignee", "sla", "q", "sort",
               "department")


@admin_bp.context_processor
def labels() -> dict:
    return {"STATUS_LABELS": STATUS_LABELS, "CATEGORY_LABELS": CATEGORY_LABELS,
            "CHANNEL_LABELS": CHANNEL_LABELS, "SLA_LABELS": SLA_LABELS}


# -- the queue ----------------------------------------------------------------------------

def _sees_all() -> bool:
    return current_user.role in (Role.MANAGER, Role.ADMIN)


def _queue_services() -> list[Service]:
    stmt = select(Service).order_by(Service.slug)
    if not _sees_all():
        stmt = stmt.where(Service.department_id == current_user.department_id)
    return list(db.session.scalars(stmt))


def _workers(department_id: int | None) -> list[User]:
    """Active staff of ``department_id`` (None: any department), managers and admins."""
    staff = User.role == Role.STAFF
    if department_id is not None:
        staff = staff & (User.department_id == department_id)
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), or_(staff, User.role.in_(
            [Role.MANAGER, Role.ADMIN]))).order_by(User.display_name, User.id)))


def _queue_filters(*, announce: bool = True) -> tuple[QueueFilterForm, queue.QueueFilters]:
    """The filters from the query string; one not among its choices is ignored and,
    with ``announce``, said so in a message."""
    services = _queue_services()
    departments = (list(db.session.scalars(select(Department).order_by(Department.code)))
                   if _sees_all() else None)
    assignees = _workers(None if _sees_all() else current_user.department_id)
    form = QueueFilterForm(request.args, services=services, assignees=assignees,
                           departments=departments)
    wanted = filter_values(form)
    for field in form:
        if field.errors and announce:
            flash(_("The filter “%(filter)s” was ignored: %(reason)s", filter=field.label.text,
                    reason=field.errors[0]), "error")
    by_slug = {s.slug: s.id for s in services}
    assignee = wanted.get("assignee") or None
    if assignee and assignee.isdigit():
        assignee = int(assignee)
    department = wanted.get("department") or None
    if department and department != queue.UNROUTED:
        department = next(d.id for d in departments if d.code == department)
    filters = queue.QueueFilters(
        status=wanted.get("status") or queue.PENDING, channel=wanted.get("channel") or None,
        service_id=by_slug.get(wanted.get("service") or ""),
        category=wanted.get("category") or None, assignee=assignee,
        sla=wanted.get("sla") or None, q=(wanted.get("q") or "").strip() or None,
        sort=wanted.get("sort") or "due", department_id=department)
    return form, filters


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 1_000_000)
    except (TypeError, ValueError):
        return 1


# the agreed endpoint name is ``inquiries_admin.queue``; the function is ``queue_view``
# so that it does not hide the ``queue`` module
@admin_bp.get("/", endpoint="queue")
@permission_required(can_work_inquiries)
def queue_view():
    form, filters = _queue_filters()
    now = utcnow()
    page = queue.queue_page(filters, current_user, now, _page_number())
    record_many("inquiry.list_view", actor=current_user, target_type="residents",
                target_ids=sorted({i.resident_id for i in page.items if i.resident_id}),
                summary="Saw the resident's inquiry in the queue", data={"page": page.page})
    sort_links = {}
    for column in ("due", "created", "updated"):
        target = f"-{column}" if filters.sort == column else column
        sort_links[column] = url_for("inquiries_admin.queue", **{
            **{k: v for k, v in request.args.items() if k not in ("sort", "page")},
            "sort": target})
    return render_and_commit(
        "inquiries/admin/queue.html", form=form, page=page, filters=filters, now=now,
        sort_links=sort_links,
        export_args={k: v for k, v in request.args.items() if k != "page"})



def _local(moment: datetime | None) -> str:
    return moment.astimezone(local_zone()).isoformat() if moment else ""


@admin_bp.get("/export.csv")
@permission_required(can_work_inquiries)
def export():
    """The filtered queue as CSV: codes as stored, with their words in the viewer's
    language beside them; never an internal note; cells safe from formulas."""
    _form, filters = _queue_filters(announce=False)
    now = utcnow()
    stmt = queue.with_related(queue.queue_statement(filters, current_user, now)
                              .limit(EXPORT_LIMIT))
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow([
        "number", "received_at", "status", "status_label", "category", "category_label",
        "channel", "channel_label", "service", "service_name", "department",
        "department_name", "subject", "description", "resident_id", "resident_name",
        "caller_name", "assignee", "first_response_due_at", "resolution_due_at", "due_at",
        "sla_state", "sla_label", "first_response_at", "resolved_at", "updated_at"])
    residents: list[int] = []
    count = 0
    for inquiry in db.session.scalars(stmt):
        state = sla_state(inquiry.due_at, now)
        if inquiry.resident_id:
            residents.append(inquiry.resident_id)
        writer.writerow([
            inquiry.id, _local(inquiry.created_at), inquiry.status,
            str(STATUS_LABELS[inquiry.status]), inquiry.category,
            str(CATEGORY_LABELS[inquiry.category]), inquiry.channel,
            str(CHANNEL_LABELS[inquiry.channel]),
            inquiry.service.slug if inquiry.service else "",
            inquiry.service.name if inquiry.service else "",
            inquiry.department.code if inquiry.department else "",
            inquiry.department.name if inquiry.department else "",
            inquiry.subject, inquiry.description, inquiry.resident_id or "",
            (inquiry.resident.full_name or "") if inquiry.resident else "",
            inquiry.caller_name or "",
            inquiry.assignee.display_name if inquiry.assignee else "",
            _local(inquiry.first_response_due_at), _local(inquiry.resolution_due_at),
            _local(inquiry.due_at), state, str(SLA_LABELS[state]),
            _local(inquiry.first_response_at), _local(inquiry.resolved_at),
            _local(inquiry.updated_at)])
        count += 1
    record("inquiry.export", actor=current_user, target=None,
           summary=f"Exported {count} inquiries",
           data={"rows": count, "filters": {k: v for k, v in request.args.items()
                                            if k in FILTER_KEYS}})
    record_many("inquiry.exported", actor=current_user, target_type="residents",
                target_ids=sorted(set(residents)),
                summary="The resident's inquiry exported to CSV", data={"rows": count})
    db.session.commit()
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=inquiries-{local_today().isoformat()}.csv",
        "Cache-Control": "no-store"})


# -- one inquiry --------------------------------------------------------------------------

def _load(inquiry_id: int) -> Inquiry:
    """The inquiry, or 404 when it does not exist or is not the user's to work on
    (another department's: its existence is not revealed)."""
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None or not can_work_inquiries(current_user, inquiry):
        abort(404)
    return inquiry


def _templates(inquiry: Inquiry) -> list[ReplyTemplate]:
    department = ReplyTemplate.department_id.is_(None)
    if inquiry.department_id is not None:
        department = department | (ReplyTemplate.department_id == inquiry.department_id)
    return list(db.session.scalars(select(ReplyTemplate).where(
        ReplyTemplate.active.is_(True), department).order_by(ReplyTemplate.name_ja,
                                                             ReplyTemplate.id)))


def _route_services() -> list[Service]:
    return list(db.session.scalars(select(Service).where(Service.active.is_(True))
                                   .options(selectinload(Service.department))
                                   .order_by(Service.department_id, Service.slug)))


def _colleagues(inquiry: Inquiry) -> list[User]:
    department = inquiry.department_id
    if department is None and current_user.role == Role.STAFF:
        department = current_user.department_id
    return _workers(department)


class EventWords:
    """Events of the thread in words (names looked up once for the whole thread)."""

    def __init__(self, messages: list[InquiryMessage]) -> None:
        user_ids, service_ids = set(), set()
        for m in messages:
            data = m.data or {}
            if m.event == "assigned" and data.get("to"):
                user_ids.add(data["to"])
            if m.event == "routed":
                service_ids.update(i for i in (data.get("service_id"), data.get("to_service_id"))
                                   if i)
        self.users = ({u.id: u.display_name for u in db.session.scalars(
            select(User).where(User.id.in_(user_ids)))} if user_ids else {})
        self.services = ({s.id: s.name for s in db.session.scalars(
            select(Service).where(Service.id.in_(service_ids)))} if service_ids else {})

    def __call__(self, message: InquiryMessage) -> str:
        data = message.data or {}
        if message.event == "status":
            return _("Status: %(before)s → %(after)s",
                     before=STATUS_LABELS.get(data.get("from"), _("unknown")),
                     after=STATUS_LABELS.get(data.get("to"), _("unknown")))
        if message.event == "assigned":
            if not data.get("to"):
                return _("No longer assigned to anyone")
            return _("Assigned to %(name)s",
                     name=self.users.get(data["to"], _("a former member of staff")))
        if message.event == "routed":
            return _("Routed from %(before)s to %(after)s",
                     before=self.services.get(data.get("service_id"), _("no service")),
                     after=self.services.get(data.get("to_service_id"), _("no service")))
        if message.event == "merged":
            return _("Merged as a duplicate into inquiry No. %(n)s", n=data.get("into"))
        if message.event == "merged_from":
            return _("Inquiry No. %(n)s was merged into this one as a duplicate",
                     n=data.get("from"))
        if message.event == "recorded":
            return _("Recorded by staff (received by %(channel)s)",
                     channel=CHANNEL_LABELS.get(data.get("channel"), _("unknown")))
        return _("Changed")


def _due(due_at: datetime, done_at: datetime | None, now: datetime) -> dict:
    """A due time with its state: met (when), or on time / due today / overdue."""
    if done_at is not None:
        return {"at": due_at, "done": done_at, "late": done_at > due_at, "state": None}
    return {"at": due_at, "done": None, "late": False, "state": sla_state(due_at, now)}


def _render_detail(inquiry: Inquiry, code: int = 200, **forms):
    now = utcnow()
    messages = list(db.session.scalars(
        select(InquiryMessage).where(InquiryMessage.inquiry_id == inquiry.id)
        .options(selectinload(InquiryMessage.author)).order_by(InquiryMessage.id)))
    photos = list(db.session.scalars(
        select(InquiryPhoto).where(InquiryPhoto.inquiry_id == inquiry.id)
        .options(load_only(InquiryPhoto.id, InquiryPhoto.message_id, InquiryPhoto.width,
                           InquiryPhoto.height, InquiryPhoto.content_type))
        .order_by(InquiryPhoto.id)))
    photos_by_message: dict[int | None, list[InquiryPhoto]] = {}
    for photo in photos:
        photos_by_message.setdefault(photo.message_id, []).append(photo)
    merged_from = list(db.session.scalars(select(Inquiry.id).where(
        Inquiry.merged_into_id == inquiry.id).order_by(Inquiry.id)))
    templates = _templates(inquiry)
    attributes = attribute_rows(inquiry)
    context = {
        "reply_form": ReplyForm(formdata=None, templates=templates),
        "note_form": NoteForm(formdata=None),
        "assign_form": AssignForm(formdata=None, colleagues=_colleagues(inquiry),
                                  assignee=str(inquiry.assignee_id or "")),
        "take_form": TakeForm(formdata=None),
        "status_form": StatusForm(formdata=None, status=inquiry.status),
        "route_form": RouteForm(formdata=None, services=_route_services(),
                                service=str(inquiry.service_id or "")),
        "merge_form": MergeForm(formdata=None),
        **forms,
    }
    if inquiry.resident_id:
        record("inquiry.view", actor=current_user, target=inquiry.resident,
               summary="Viewed the resident's inquiry", data={"inquiry": inquiry.id})
    page = render_template(
        "inquiries/admin/detail.html", inquiry=inquiry, messages=messages,
        describe=EventWords(messages), photos=photos_by_message, merged_from=merged_from,
        first_response=_due(inquiry.first_response_due_at, inquiry.first_response_at, now),
        resolution=_due(inquiry.resolution_due_at, inquiry.resolved_at, now),
        state=sla_state(inquiry.due_at, now), now=now, attributes=attributes,
        reply_language=localized_language(inquiry.locale), **context)
    db.session.commit()
    return page, code


def attribute_rows(inquiry: Inquiry) -> list[tuple[str, str, str]]:
    """The inquiry's Open311 attribute values as (question, answer, lang of the
    question): list values by their names in the reader's language; a code the
    service no longer defines as it was sent."""
    if not inquiry.attributes:
        return []
    locale, default = current_locale(), current_app.config["DEFAULT_LOCALE"]
    definitions = {a.code: a for a in db.session.scalars(select(ServiceAttribute).where(
        ServiceAttribute.service_id == inquiry.service_id).order_by(ServiceAttribute.position))}
    order = {code: n for n, code in enumerate(definitions)}
    rows = []
    for code, value in inquiry.attributes.items():
        definition = definitions.get(code)
        values = value if isinstance(value, list) else [value]
        if definition is None:
            rows.append((len(order), code, ", ".join(map(str, values)), ""))
            continue
        names = {v.get("key"): value_name(v, locale, default) for v in definition.values or []}
        question, lang = localized_pair(definition, "description")
        rows.append((order[code], question or code,
                     ", ".join(names.get(str(v), str(v)) for v in values), lang))
    return [row[1:] for row in sorted(rows, key=lambda row: row[0])]


def localized_language(locale: str) -> str:
    return str(language_names(current_app.config).get(locale, locale))


@admin_bp.get("/<int:inquiry_id>")
@permission_required(can_work_inquiries)
def detail(inquiry_id: int):
    return _render_detail(_load(inquiry_id))


def _refused(inquiry_id: int, message: str, **forms):
    """The inquiry page again after a refused action: nothing it tried is kept, what
    was typed stays in its form, the reason is flashed."""
    db.session.rollback()
    flash(message, "error")
    return _render_detail(_load(inquiry_id), 400, **forms)


def _done(inquiry: Inquiry, message: str):
    db.session.commit()
    dispatch()  # the reply, status or merge e-mail and the follow-up survey go out now
    flash(message, "success")
    return redirect(url_for("inquiries_admin.detail", inquiry_id=inquiry.id))


def _checked(form) -> bool:
    """The form's CSRF token (and field lengths) passed."""
    return form.validate_on_submit()


def _form_refused(inquiry_id: int, form, **forms):
    reason = next((errors[0] for errors in form.errors.values()), None) or _(
        "The form had expired. Please try again.")
    return _refused(inquiry_id, str(reason), **forms)


@admin_bp.post("/<int:inquiry_id>/reply")
@permission_required(can_work_inquiries)
def reply(inquiry_id: int):
    inquiry = _load(inquiry_id)
    templates = _templates(inquiry)
    form = ReplyForm(templates=templates)
    if not _checked(form):
        return _form_refused(inquiry_id, form, reply_form=form)
    template = None
    if form.template.data:
        template = next((t for t in templates if str(t.id) == form.template.data), None)
        if template is None:
            return _refused(inquiry_id, _("Choose one of the reply templates listed."),
                            reply_form=form)
    if form.use_template.data:
        if template is None:
            return _refused(inquiry_id, _("Choose a reply template first."), reply_form=form)
        text = replies.render(template, inquiry)
        typed = (form.body.data or "").rstrip()
        form.body.data = f"{typed}\n\n{text}" if typed else text
        return _render_detail(inquiry, reply_form=form)
    if form.status.data not in REPLY_STATUSES:
        return _refused(inquiry_id, _("Choose the status the inquiry has after the reply."),
                        reply_form=form)
    try:
        operations.staff_reply(inquiry, current_user, form.body.data or "", template=template,
                               status=form.status.data)
    except InquiryError as error:
        return _refused(inquiry_id, str(error), reply_form=form)
    return _done(inquiry, _("Your reply has been sent to the resident. Status: %(status)s.",
                            status=STATUS_LABELS[inquiry.status]))


@admin_bp.post("/<int:inquiry_id>/note")
@permission_required(can_work_inquiries)
def note(inquiry_id: int):
    inquiry = _load(inquiry_id)
    form = NoteForm()
    if not _checked(form):
        return _form_refused(inquiry_id, form, note_form=form)
    try:
        operations.add_note(inquiry, current_user, form.body.data or "")
    except InquiryError as error:
        return _refused(inquiry_id, str(error), note_form=form)
    return _done(inquiry, _("The internal note has been added."))


@admin_bp.post("/<int:inquiry_id>/assign")
@permission_required(can_work_inquiries)
def assign(inquiry_id: int):
    inquiry = _load(inquiry_id)
    take = request.form.get("take") == "1"
    form = TakeForm() if take else AssignForm(colleagues=_colleagues(inquiry))
    if not _checked(form):
        return _form_refused(inquiry_id, form)
    if take:
        assignee = db.session.get(User, current_user.id)
    else:
        value = (form.assignee.data or "").strip()
        assignee = None
        if value:
            assignee = db.session.get(User, int(value)) if value.isdigit() and len(value) < 12 \
                else None
            if assignee is None or assignee.role not in WORKER_ROLES:
                return _refused(inquiry_id, _("Choose a colleague from the list."),
                                assign_form=form)
    try:
        operations.assign(inquiry, current_user, assignee)
    except InquiryError as error:
        return _refused(inquiry_id, str(error), assign_form=form)
    if assignee is None:
        return _done(inquiry, _("The inquiry is no longer assigned to anyone."))
    return _done(inquiry, _("The inquiry is assigned to %(name)s.", name=assignee.display_name))


@admin_bp.post("/<int:inquiry_id>/status")
@permission_required(can_work_inquiries)
def status(inquiry_id: int):
    inquiry = _load(inquiry_id)
    form = StatusForm()
    if not _checked(form):
        return _form_refused(inquiry_id, form, status_form=form)
    if form.status.data == inquiry.status:
        flash(_("The status already is %(status)s.", status=STATUS_LABELS[inquiry.status]),
              "warning")
        return redirect(url_for("inquiries_admin.detail", inquiry_id=inquiry.id))
    try:
        operations.change_status(inquiry, current_user, form.status.data or "")
    except InquiryError as error:
        return _refused(inquiry_id, str(error), status_form=form)
    return _done(inquiry, _("Status changed to %(status)s.", status=STATUS_LABELS[inquiry.status]))


@admin_bp.post("/<int:inquiry_id>/route")
@permission_required(can_work_inquiries)
def route(inquiry_id: int):
    inquiry = _load(inquiry_id)
    services = _route_services()
    form = RouteForm(services=services)
    if not _checked(form):
        return _form_refused(inquiry_id, form, route_form=form)
    service = next((s for s in services if str(s.id) == form.service.data), None)
    if service is None:
        return _refused(inquiry_id, _("Choose the service to route the inquiry to."),
                        route_form=form)
    if service.id == inquiry.service_id:
        return _refused(inquiry_id, _("The inquiry already belongs to %(service)s.",
                                      service=service.name), route_form=form)
    try:
        operations.route(inquiry, current_user, service)
    except InquiryError as error:
        return _refused(inquiry_id, str(error), route_form=form)
    db.session.commit()
    flash(_("The inquiry has been routed to %(service)s (%(department)s).",
            service=service.name, department=service.department.name), "success")
    if not can_work_inquiries(current_user, inquiry):  # now another department's
        return redirect(url_for("inquiries_admin.queue"))
    return redirect(url_for("inquiries_admin.detail", inquiry_id=inquiry.id))


@admin_bp.post("/<int:inquiry_id>/merge")
@permission_required(can_work_inquiries)
def merge(inquiry_id: int):
    inquiry = _load(inquiry_id)
    form = MergeForm()
    if not _checked(form):
        return _form_refused(inquiry_id, form, merge_form=form)
    typed = (form.other.data or "").strip()
    number = queue.number_in(typed)
    if number is None:
        return _refused(inquiry_id, _("Enter the number of the other inquiry, such as 123."),
                        merge_form=form)
    other = db.session.get(Inquiry, number)
    if other is None or not can_work_inquiries(current_user, other):
        return _refused(inquiry_id, _("There is no inquiry No. %(n)s that you can work on.",
                                      n=number), merge_form=form)
    try:
        operations.merge(inquiry, current_user, other)
    except InquiryError as error:
        return _refused(inquiry_id, str(error), merge_form=form)
    return _done(inquiry, _("Merged into inquiry No. %(n)s; the resident has been told.",
                            n=other.number))


@admin_bp.post("/<int:inquiry_id>/reopen")
@permission_required(can_work_inquiries)
def reopen(inquiry_id: int):
    inquiry = _load(inquiry_id)
    form = EmptyForm()
    if not _checked(form):
        return _form_refused(inquiry_id, form)
    try:
        operations.reopen(inquiry, current_user)
    except InquiryError as error:
        return _refused(inquiry_id, str(error))
    return _done(inquiry, _("The inquiry has been reopened."))


@admin_bp.get("/<int:inquiry_id>/photos/<int:photo_id>")
@permission_required(can_work_inquiries)
def photo(inquiry_id: int, photo_id: int):
    inquiry = _load(inquiry_id)
    image = db.session.get(InquiryPhoto, photo_id)
    if image is None or image.inquiry_id != inquiry.id:
        abort(404)
    if inquiry.resident_id:
        record("inquiry.photo_view", actor=current_user, target=inquiry.resident,
               summary="Viewed a photo of the resident's inquiry",
               data={"inquiry": inquiry.id, "photo": image.id})
    return Response(image.data, mimetype=image.content_type, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename=inquiry-{inquiry.id}-{image.id}"})


# -- channel parity: an inquiry taken down by staff ---------------------------------------

def _record_services() -> list[Service]:
    stmt = select(Service).where(Service.active.is_(True)).order_by(Service.slug)
    if not _sees_all():
        stmt = stmt.where(Service.department_id == current_user.department_id)
    return list(db.session.scalars(stmt))


def _record_resident(value: str | None) -> Resident | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        abort(404)
    resident = db.session.get(Resident, int(value))
    if resident is None or resident.anonymised_at is not None:
        abort(404)
    return resident


@admin_bp.route("/record", methods=["GET", "POST"], endpoint="record")
@permission_required(can_work_inquiries)
def record_inquiry():
    services = _record_services()
    form = RecordForm(services=services)
    if request.method == "GET":
        form.resident.data = request.args.get("resident", "")
    resident = _record_resident((form.resident.data or "").strip())
    if resident is not None and request.method == "GET":  # the form shows who it is for
        record("resident.view", actor=current_user, target=resident,
               summary="Opened the form to record an inquiry for the resident")
    if form.validate_on_submit():
        service = None
        if form.service.data:
            service = next((s for s in services if str(s.id) == form.service.data), None)
        if form.channel.data not in InquiryChannel.staff_recorded():
            form.channel.errors.append(_("Choose how the inquiry came in: by phone, at the "
                                         "counter, by letter or by e-mail."))
        elif not resident and form.locale.data and \
                form.locale.data not in current_app.config["LOCALES"]:
            form.locale.errors.append(_("Choose one of the portal's languages."))
        elif form.service.data and service is None:
            form.service.errors.append(_("Choose one of your department's services, or "
                                         "“I don't know” to leave it for routing."))
        else:
            caller = {} if resident else {
                "caller_name": (form.caller_name.data or "").strip() or None,
                "caller_phone": (form.caller_phone.data or "").strip() or None,
                "caller_email": (form.caller_email.data or "").strip() or None,
                "locale": form.locale.data or None}
            try:
                inquiry = operations.create_inquiry(
                    category=form.category.data or "", channel=form.channel.data,
                    subject=form.subject.data or "", description=form.description.data or "",
                    resident=resident, service=service, recorded_by=current_user,
                    address=(form.address.data or "").strip() or None, **caller)
            except InquiryError as error:
                db.session.rollback()
                flash(str(error), "error")
            else:
                operations.notify(inquiry, "received")  # when there is an address
                db.session.commit()
                dispatch()
                flash(_("Inquiry No. %(n)s has been recorded.", n=inquiry.number), "success")
                return redirect(url_for("inquiries_admin.detail", inquiry_id=inquiry.id))
    elif request.method == "POST":
        flash(_("The inquiry was not recorded. Please correct the form below."), "error")
    return render_template("inquiries/admin/record.html", form=form, resident=resident)


# -- the resident's 360° page -------------------------------------------------------------

@admin_bp.app_template_global()
def inquiry_panel(resident: Resident) -> dict:
    """The resident's inquiries the viewer may work on, newest first (two queries),
    for their 360° page; with the number received by each channel."""
    if not can_work_inquiries(current_user):
        return {"allowed": False, "inquiries": [], "channels": {}, "total": 0}
    base = queue.scoped(select(Inquiry), current_user).where(Inquiry.resident_id == resident.id)
    inquiries = list(db.session.scalars(
        base.options(selectinload(Inquiry.service))
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc()).limit(20)))
    counts = dict(db.session.execute(
        base.with_only_columns(Inquiry.channel, func.count()).group_by(Inquiry.channel)).all())
    return {"allowed": True, "inquiries": inquiries, "total": sum(counts.values()),
            "channels": {c: counts[c] for c in CHANNEL_LABELS if c in counts},
            "now": utcnow(), "labels": {"channel": CHANNEL_LABELS, "status": STATUS_LABELS,
                                        "sla": SLA_LABELS}}


@admin_bp.app_template_global()
def inquiry_sla_state(due_at: datetime | None, now: datetime | None = None) -> str:
    return sla_state(due_at, now or utcnow())

