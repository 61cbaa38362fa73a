"""What happens to an inquiry: received, replied to, noted, assigned, routed,
merged, resolved, reopened, closed. Every view (resident, console, Open311) goes
through these functions, so the due times, the thread, the audit log and the
resident's e-mails stay right whichever door an inquiry came in by.

Each function flushes, never commits: the caller's transaction keeps the
inquiry and everything it caused together (nothing is half-stored). Errors are
``InquiryError`` with a message safe to show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.extensions import db
from portal.i18n import municipality_name
from portal.inquiries import sla
from portal.inquiries.models import (
    Inquiry,
    InquiryCategory,
    InquiryChannel,
    InquiryMessage,
    InquiryStatus,
    MessageKind,
    ReplyTemplate,
)
from portal.mail.outbox import queue_email
from portal.residents.models import Resident
from portal.residents.naming import addressed, resident_name
from portal.security import absolute_url
from portal.services.models import Service
from portal.timeutil import utcnow

SUBJECT_MAX = 200
MESSAGE_MAX = 5000

#: run after an inquiry is resolved (the closed loop's follow-up survey registers
#: here: ``portal.inquiries.loop``); each gets the inquiry, inside the transaction
ON_RESOLVED: list[Callable[[Inquiry], None]] = []


class InquiryError(ValueError):
    """An action that cannot be carried out; ``str(error)`` is safe to show."""


# -- receiving ----------------------------------------------------------------------------

def create_inquiry(*, category: str, channel: str, subject: str, description: str,
                   resident: Resident | None = None, service: Service | None = None,
                   locale: str | None = None, recorded_by: User | None = None,
                   caller_name: str | None = None, caller_email: str | None = None,
                   caller_phone: str | None = None, address: str | None = None,
                   latitude: float | None = None, longitude: float | None = None,
                   address_id: str | None = None, attributes: dict[str, Any] | None = None,
                   received_at: datetime | None = None, **open311: Any) -> Inquiry:
    """A new inquiry with its due times. ``open311`` takes ``open311_key_id``,
    ``open311_token``, ``device_id``, ``account_id``, ``media_url``."""
    if category not in set(InquiryCategory):
        raise InquiryError(_("Choose what kind of inquiry this is."))
    if channel not in set(InquiryChannel):
        raise InquiryError(_("Choose the channel the inquiry came in by."))
    subject = (subject or "").strip()
    description = (description or "").strip()
    if not subject:
        raise InquiryError(_("Give the inquiry a subject."))
    if len(subject) > SUBJECT_MAX:
        raise InquiryError(_("The subject can be at most %(n)d characters.", n=SUBJECT_MAX))
    limit = current_app.config["INQUIRY_DESCRIPTION_MAX"]
    if len(description) > limit:
        raise InquiryError(_("The description can be at most %(n)d characters.", n=limit))
    received_at = received_at or utcnow()
    first_due, resolution_due = sla.due_times(category, service.id if service else None,
                                              received_at)
    if locale is None:
        locale = resident.preferred_locale if resident else current_app.config["DEFAULT_LOCALE"]
    inquiry = Inquiry(
        resident=resident, service=service,
        department_id=service.department_id if service else None,
        category=category, channel=channel, status=InquiryStatus.NEW, subject=subject,
        description=description, locale=locale, recorded_by=recorded_by,
        caller_name=caller_name, caller_email=caller_email, caller_phone=caller_phone,
        address=address or None, latitude=latitude, longitude=longitude,
        address_id=address_id or None, attributes=attributes or None,
        created_at=received_at, updated_at=received_at,
        first_response_due_at=first_due, resolution_due_at=resolution_due, due_at=first_due,
        **open311)
    db.session.add(inquiry)
    db.session.flush()
    if recorded_by is not None:
        _event(inquiry, recorded_by, "recorded", {"channel": channel}, public=False)
        record("inquiry.record", actor=recorded_by, target=inquiry,
               summary=f"Recorded a {channel} inquiry",
               data={"resident_id": resident.id if resident else None, "channel": channel})
    return inquiry


# -- the thread ---------------------------------------------------------------------------

def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InquiryError(_("Write a message first."))
    if len(body) > MESSAGE_MAX:
        raise InquiryError(_("A message can be at most %(n)d characters.", n=MESSAGE_MAX))
    return body


def _touch(inquiry: Inquiry, when: datetime | None = None) -> None:
    inquiry.updated_at = when or utcnow()


def _event(inquiry: Inquiry, actor: User | None, event: str, data: dict[str, Any],
           *, public: bool) -> InquiryMessage:
    message = InquiryMessage(inquiry=inquiry, kind=MessageKind.EVENT, event=event, data=data,
                             public=public, author=actor)
    db.session.add(message)
    return message


def resident_reply(inquiry: Inquiry, user: User, body: str) -> InquiryMessage:
    """The resident writes on their inquiry. Waiting for them → open again."""
    if inquiry.status == InquiryStatus.CLOSED:
        raise InquiryError(_("This inquiry is closed. Please send a new inquiry."))
    if inquiry.status == InquiryStatus.RESOLVED:
        raise InquiryError(_("This inquiry is resolved. Reopen it to write again."))
    message = InquiryMessage(inquiry=inquiry, kind=MessageKind.RESIDENT, author=user,
                             body=_check_body(body))
    db.session.add(message)
    if inquiry.status == InquiryStatus.WAITING:
        _set_status(inquiry, user, InquiryStatus.OPEN)
    _touch(inquiry)
    db.session.flush()
    return message


def staff_reply(inquiry: Inquiry, user: User, body: str, *, template: ReplyTemplate | None = None,
                status: str | None = None) -> InquiryMessage:
    """A reply the resident sees (and is e-mailed). The first one is the first
    response; the status becomes ``status`` (default: waiting for the resident)."""
    if inquiry.status == InquiryStatus.CLOSED:
        raise InquiryError(_("This inquiry is closed: reopen it before replying."))
    message = InquiryMessage(inquiry=inquiry, kind=MessageKind.REPLY, author=user,
                             body=_check_body(body), template_id=template.id if template else None)
    db.session.add(message)
    now = utcnow()
    if inquiry.first_response_at is None:
        inquiry.first_response_at = now
    target = status or InquiryStatus.WAITING
    if target != inquiry.status:
        change_status(inquiry, user, target, tell_resident=False)
    _refresh_due(inquiry)
    _touch(inquiry, now)
    db.session.flush()
    record("inquiry.reply", actor=user, target=inquiry, summary="Replied to an inquiry",
           data={"template_id": template.id if template else None})
    notify(inquiry, "reply", body=message.body)
    return message


def add_note(inquiry: Inquiry, user: User, body: str) -> InquiryMessage:
    """An internal note: staff only, never shown or sent to the resident."""
    message = InquiryMessage(inquiry=inquiry, kind=MessageKind.NOTE, author=user,
                             body=_check_body(body))
    db.session.add(message)
    _touch(inquiry)
    db.session.flush()
    return message


# -- status -------------------------------------------------------------------------------

def _refresh_due(inquiry: Inquiry) -> None:
    if not inquiry.pending:
        inquiry.due_at = None
    elif inquiry.first_response_at is None:
        inquiry.due_at = inquiry.first_response_due_at
    else:
        inquiry.due_at = inquiry.resolution_due_at


def _set_status(inquiry: Inquiry, actor: User | None, status: str) -> None:
    before = inquiry.status
    inquiry.status = status
    now = utcnow()
    if status == InquiryStatus.RESOLVED:
        inquiry.resolved_at, inquiry.closed_at = now, None
    elif status == InquiryStatus.CLOSED:
        inquiry.closed_at = now
        inquiry.resolved_at = inquiry.resolved_at or now
    elif before in (InquiryStatus.RESOLVED, InquiryStatus.CLOSED):
        # back to work, whichever way (Reopen, a status change, a reply): a reopen,
        # with a new resolution due time from now and counted for the reopen rate
        inquiry.resolved_at = inquiry.closed_at = None
        inquiry.resolution_due_at = sla.due_times(inquiry.category, inquiry.service_id,
                                                  now)[1]
        inquiry.reopened_at = now
        inquiry.reopen_count += 1
    _refresh_due(inquiry)
    _event(inquiry, actor, "status", {"from": before, "to": status}, public=True)
    _touch(inquiry, now)


def change_status(inquiry: Inquiry, user: User, status: str, *,
                  tell_resident: bool = True) -> None:
    """Staff move the inquiry on. Resolving runs ``ON_RESOLVED`` (the follow-up
    survey); a staff move to open or waiting counts as the first response only
    through a reply, never by itself."""
    if status not in set(InquiryStatus):
        raise InquiryError(_("Choose a status."))
    if status == inquiry.status:
        return
    if inquiry.merged_into_id is not None:
        raise InquiryError(_("This inquiry was merged into another: work on that one."))
    _set_status(inquiry, user, status)
    db.session.flush()
    record("inquiry.status", actor=user, target=inquiry,
           summary=f"Set an inquiry's status to {status}", data={"status": status})
    if status == InquiryStatus.RESOLVED:
        for hook in ON_RESOLVED:
            hook(inquiry)
    if tell_resident:
        notify(inquiry, "status")


def reopen(inquiry: Inquiry, user: User) -> None:
    """The resident (within ``INQUIRY_REOPEN_DAYS`` of resolution) or staff reopen a
    resolved inquiry; it gets a new resolution due time from now."""
    if inquiry.status not in (InquiryStatus.RESOLVED, InquiryStatus.CLOSED):
        raise InquiryError(_("Only a resolved inquiry can be reopened."))
    if inquiry.merged_into_id is not None:
        raise InquiryError(_("This inquiry was merged into another: work on that one."))
    days = current_app.config["INQUIRY_REOPEN_DAYS"]
    if user.role == Role.RESIDENT and (
            inquiry.status == InquiryStatus.CLOSED or inquiry.resolved_at is None
            or utcnow() - inquiry.resolved_at > timedelta(days=days)):
        raise InquiryError(_("An inquiry can be reopened within %(n)d days of its "
                             "resolution. Please send a new inquiry.", n=days))
    _set_status(inquiry, user, InquiryStatus.OPEN)  # the reopen's bookkeeping is there
    db.session.flush()
    if user.role != Role.RESIDENT:
        record("inquiry.reopen", actor=user, target=inquiry, summary="Reopened an inquiry")
        notify(inquiry, "status")


# -- who works on it ----------------------------------------------------------------------

def assign(inquiry: Inquiry, user: User, assignee: User | None) -> None:
    """Assign to a colleague of the inquiry's department (or nobody)."""
    if assignee is not None:
        if assignee.role not in (Role.STAFF, Role.MANAGER, Role.ADMIN) or not assignee.active:
            raise InquiryError(_("Inquiries can be assigned to active staff only."))
        if assignee.role == Role.STAFF and inquiry.department_id is not None \
                and assignee.department_id != inquiry.department_id:
            raise InquiryError(_("Assign the inquiry to someone in its department, or route "
                                 "it to the other department first."))
    inquiry.assignee = assignee
    if inquiry.status == InquiryStatus.NEW and assignee is not None:
        _set_status(inquiry, user, InquiryStatus.OPEN)
    _event(inquiry, user, "assigned", {"to": assignee.id if assignee else None}, public=False)
    _touch(inquiry)
    db.session.flush()
    record("inquiry.assign", actor=user, target=inquiry, summary="Assigned an inquiry",
           data={"assignee_id": assignee.id if assignee else None})


def route(inquiry: Inquiry, user: User, service: Service) -> None:
    """Move the inquiry to ``service`` (and its department's queue). Due times are
    worked out again from when it was received, with the new service's targets; the
    assignee is cleared when they are not in the new department."""
    if inquiry.service_id == service.id:
        return
    before = {"service_id": inquiry.service_id, "department_id": inquiry.department_id}
    inquiry.service = service
    inquiry.department_id = service.department_id
    inquiry.first_response_due_at, inquiry.resolution_due_at = sla.due_times(
        inquiry.category, service.id, inquiry.created_at)
    _refresh_due(inquiry)
    if inquiry.assignee is not None and inquiry.assignee.role == Role.STAFF \
            and inquiry.assignee.department_id != service.department_id:
        inquiry.assignee = None
    _event(inquiry, user, "routed", {**before, "to_service_id": service.id}, public=True)
    _touch(inquiry)
    db.session.flush()
    record("inquiry.route", actor=user, target=inquiry, summary="Routed an inquiry",
           data={**before, "to_service_id": service.id})


def merge(inquiry: Inquiry, user: User, into: Inquiry) -> None:
    """Close ``inquiry`` as a duplicate of ``into``: both threads say so, the
    resident is told, and replies go on ``into``."""
    if into.id == inquiry.id:
        raise InquiryError(_("An inquiry cannot be merged into itself."))
    if inquiry.merged_into_id is not None:
        raise InquiryError(_("This inquiry was merged into another: work on that one."))
    if into.merged_into_id is not None:
        raise InquiryError(_("Inquiry %(n)s was itself merged: merge into %(m)s instead.",
                             n=into.number, m=into.merged_into_id))
    if into.status == InquiryStatus.CLOSED:
        raise InquiryError(_("Inquiry %(n)s is closed: merge into an inquiry that is still "
                             "being worked on.", n=into.number))
    if into.resident_id != inquiry.resident_id:
        # the resident is sent to the other inquiry: it must be theirs too
        raise InquiryError(_("Only inquiries of the same resident can be merged. Reply to "
                             "each resident on their own inquiry."))
    inquiry.merged_into = into
    _set_status(inquiry, user, InquiryStatus.CLOSED)
    _event(inquiry, user, "merged", {"into": into.id}, public=True)
    _event(into, user, "merged_from", {"from": inquiry.id}, public=False)
    _touch(into)
    db.session.flush()
    record("inquiry.merge", actor=user, target=inquiry, summary="Merged a duplicate inquiry",
           data={"into": into.id})
    notify(inquiry, "merged")


# -- telling the resident -----------------------------------------------------------------

def recipient(inquiry: Inquiry) -> tuple[str, str, User | None] | None:
    """(address, name, account) to e-mail about the inquiry, or None.

    A resident is e-mailed at their account's address (else the register's) unless
    they are marked do-not-contact or their contact preferences name channels and
    e-mail is not one of them; an unidentified caller only when they gave an address.
    """
    resident = inquiry.resident
    if resident is not None:
        if resident.do_not_contact or (resident.preferred_channels
                                       and "email" not in resident.preferred_channels):
            return None
        user = resident.user
        address = (user.email if user else None) or resident.email
        if not address:
            return None
        return address, resident_name(resident, inquiry.locale), user
    if inquiry.caller_email:
        return inquiry.caller_email, inquiry.caller_name or "", None
    return None


def notify(inquiry: Inquiry, purpose: str, *, body: str = "") -> None:
    """E-mail the resident in their language through the outbox: ``received`` (the
    receipt, with when an answer is due), ``reply`` (the reply's text), ``status``,
    ``merged``."""
    to = recipient(inquiry)
    if to is None:
        return
    address, name, user = to
    from portal.inquiries.labels import RESIDENT_STATUS_LABELS as STATUS_LABELS

    locale = inquiry.locale
    with force_locale(locale):
        city = municipality_name(locale)
        link = (absolute_url("inquiries.detail", inquiry_id=inquiry.id)
                if inquiry.resident_id else "")
        greeting = addressed(name) if name else _("Hello,")
        if purpose == "received":
            subject = _("We received your inquiry No. %(n)s", n=inquiry.number)
            text = _("Thank you for contacting %(city)s. We received your inquiry "
                     "“%(subject)s” and will answer by %(date)s.", city=city,
                     subject=inquiry.subject,
                     date=format_date(sla.due_day(inquiry.first_response_due_at), "long"))
        elif purpose == "reply":
            subject = _("Reply to your inquiry No. %(n)s", n=inquiry.number)
            text = _("%(city)s has replied to your inquiry “%(subject)s”:",
                     city=city, subject=inquiry.subject) + "\n\n" + body
        elif purpose == "merged":
            subject = _("Your inquiry No. %(n)s continues as No. %(m)s", n=inquiry.number,
                        m=inquiry.merged_into_id)
            text = _("Your inquiry “%(subject)s” is about the same matter as inquiry "
                     "No. %(m)s, so we will answer you there.", subject=inquiry.subject,
                     m=inquiry.merged_into_id)
            if inquiry.resident_id:
                link = absolute_url("inquiries.detail", inquiry_id=inquiry.merged_into_id)
        else:
            subject = _("Your inquiry No. %(n)s: %(status)s", n=inquiry.number,
                        status=STATUS_LABELS[inquiry.status])
            text = _("The status of your inquiry “%(subject)s” is now: %(status)s.",
                     subject=inquiry.subject, status=STATUS_LABELS[inquiry.status])
        parts = [greeting, text]
        if link:
            parts.append(_("See the whole conversation and reply here:") + "\n" + link)
        parts.append(_("You can choose how we contact you in your contact preferences on "
                       "the resident portal."))
        queue_email(to=address, subject=subject, body="\n\n".join(parts) + "\n", locale=locale,
                    purpose=f"inquiry_{purpose}", user=user)
