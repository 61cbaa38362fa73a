"""The closed loop: when an inquiry is resolved, the resident is asked in their
language how it was handled (one CSAT question and an optional comment), unless
they may not be reached.

Which survey
    The starter survey "How did we handle your inquiry?" (``seed_key``
    ``inquiry-followup-csat``, ``portal seed``, owned by the Citizens Affairs
    Division, which answers for resident contact) is a **template**: it stays a
    draft and is never sent. The first time an inquiry about a service is resolved,
    the template is copied into an open survey **about that service**
    (``Survey.service_id``, owned by the service's department, ``seed_key``
    ``inquiry-followup-<service id>``; its title carries the service's name). So the
    answer is an ordinary identified response to a survey about the service: it
    counts in the service's survey results and in the satisfaction measure
    (``portal.surveys.signals.satisfaction_answers`` reads surveys with a service)
    without any special case. Editing the template changes the copies made after.

Who is asked
    An inquiry with a resident and a service; the resident has consented to
    outreach, is not marked do-not-contact, has e-mail among their contact channels
    (or names none), is not erased and has an e-mail address
    (the register's, else their account's). Each inquiry gets its own invitation
    (occasion ``inquiry:<id>``), but not within ``SPACING_DAYS`` of an earlier
    follow-up about the same service, so a resident with several inquiries in a
    week is asked once, not each time. Once per inquiry: a reopened and re-resolved
    inquiry keeps its first invitation (``followup_invitation_id``).

What is kept
    ``Inquiry.followup_invitation_id``, and an internal event on the thread
    (``event="followup"``, ``data={"sent": bool, "reason": …}``), so the staff page
    says why none was sent as it was at the time of resolution.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.inquiries import bp, operations
from portal.inquiries.models import Inquiry, InquiryMessage, MessageKind
from portal.mail.outbox import queue_email
from portal.residents.naming import addressed, resident_name
from portal.services.models import Service
from portal.surveys import invitations, starter
from portal.surveys.models import (
    Answer,
    Invitation,
    Question,
    QuestionType,
    Response,
    ResponseChannel,
    Survey,
    SurveyStatus,
)
from portal.surveys.tokens import token_hash
from portal.timeutil import local_zone, utcnow

TEMPLATE_KEY = "inquiry-followup-csat"
EVENT = "followup"
#: days after a follow-up about a service in which the resident is not asked again
SPACING_DAYS = 30

#: why no follow-up survey was sent (shown on the staff page)
REASONS = {
    "no_resident": _l("the inquiry has no resident on record"),
    "no_service": _l("the inquiry has no service"),
    "no_consent": _l("no outreach consent"),
    "do_not_contact": _l("the resident is marked do-not-contact"),
    "not_by_email": _l("the resident's contact preferences leave out e-mail"),
    "no_email": _l("no e-mail address"),
    "already_asked": _l("the resident was asked about this service in the last 30 days"),
}


def service_key(service_id: int) -> str:
    return f"inquiry-followup-{service_id}"


def _template_definition() -> dict[str, Any]:
    from portal.surveys.definition import to_definition

    template = db.session.scalar(select(Survey).where(Survey.seed_key == TEMPLATE_KEY))
    return to_definition(template) if template is not None else \
        starter.definition(TEMPLATE_KEY)


def survey_for(service: Service, now: datetime | None = None) -> Survey:
    """The open follow-up survey about ``service`` (made from the template the first
    time)."""
    from portal.surveys.definition import create_from_definition

    survey = db.session.scalar(select(Survey).where(Survey.seed_key == service_key(service.id)))
    if survey is not None:
        return survey
    data = _template_definition()
    data = {**data, "service": service.slug, "department": None, "opens_on": None,
            "closes_on": None}
    data["title"] = {loc: f"{text} ({localized(service, 'name', loc)})" if text else ""
                     for loc, text in (data.get("title") or {}).items()}
    survey = create_from_definition(data, actor=None, seed_key=service_key(service.id))
    survey.status = SurveyStatus.OPEN
    survey.opened_at = now or utcnow()
    db.session.flush()
    return survey


def _why_not(inquiry: Inquiry) -> str | None:
    resident = inquiry.resident
    if resident is None or resident.anonymised_at is not None:
        return "no_resident"
    if inquiry.service is None:
        return "no_service"
    if not resident.consent_outreach:
        return "no_consent"
    if resident.do_not_contact:
        return "do_not_contact"
    if resident.preferred_channels and "email" not in resident.preferred_channels:
        return "not_by_email"
    if not _address(inquiry):
        return "no_email"
    return None


def _address(inquiry: Inquiry) -> str | None:
    resident = inquiry.resident
    return resident.email or (resident.user.email if resident.user else None)


def _note(inquiry: Inquiry, data: dict[str, Any]) -> None:
    db.session.add(InquiryMessage(inquiry=inquiry, kind=MessageKind.EVENT, event=EVENT,
                                  data=data, public=False))


def send_followup(inquiry: Inquiry) -> Invitation | None:
    """The ``ON_RESOLVED`` hook: invite the resident once per inquiry (see the module
    docstring). Flushes; the caller commits (and dispatches the outbox)."""
    if inquiry.followup_invitation_id is not None or _already_decided(inquiry):
        return None
    reason = _why_not(inquiry)
    survey = None
    if reason is None:
        survey = survey_for(inquiry.service)
        if db.session.scalar(select(Invitation.id).where(
                Invitation.survey_id == survey.id,
                Invitation.resident_id == inquiry.resident_id,
                Invitation.created_at > utcnow() - timedelta(days=SPACING_DAYS))
                .limit(1)) is not None:
            reason = "already_asked"
    if reason is not None:
        _note(inquiry, {"sent": False, "reason": reason})
        db.session.flush()
        return None
    now = utcnow()
    resident = inquiry.resident
    salt = invitations.new_salt()
    token = invitations.invitation_token(survey.id, resident.id, salt)
    expires_at = now + timedelta(days=survey.invitation_valid_days or 30)
    invitation = Invitation(survey_id=survey.id, resident_id=resident.id,
                            occasion=f"inquiry:{inquiry.id}", token_hash=token_hash(token),
                            token_salt=salt,
                            channel=ResponseChannel.EMAIL, expires_at=expires_at,
                            created_at=now, sent_at=now)
    db.session.add(invitation)
    db.session.flush()
    inquiry.followup_invitation_id = invitation.id
    _note(inquiry, {"sent": True, "survey_id": survey.id})
    locale = invitations._locale_of(inquiry.locale or resident.preferred_locale)
    with force_locale(locale):
        name = resident_name(resident, locale)
        until = format_date(expires_at.astimezone(local_zone()).date(), "long")
        subject = _("How did we handle your inquiry No. %(n)s?", n=inquiry.number)
        parts = [addressed(name)] if name else []
        parts.append(_("Your inquiry “%(subject)s” to %(city)s has been resolved. Would you "
                       "tell us how we handled it? It is one question and takes about 30 "
                       "seconds.", subject=inquiry.subject, city=municipality_name(locale)))
        parts.append(_("Answer with this personal link until %(date)s:", date=until) + "\n"
                     + invitations.invitation_url(token))
        parts.append(_("The link is for you only; please do not forward it. You can stop "
                       "e-mails like this in your contact preferences on the resident "
                       "portal."))
        queue_email(to=_address(inquiry), subject=subject, body="\n\n".join(parts) + "\n",
                    locale=locale, purpose=invitations.PURPOSE, user=resident.user)
    db.session.flush()
    return invitation


def _already_decided(inquiry: Inquiry) -> bool:
    """A follow-up was considered at an earlier resolution (sent or not): never twice."""
    return db.session.scalar(select(InquiryMessage.id).where(
        InquiryMessage.inquiry_id == inquiry.id, InquiryMessage.event == EVENT).limit(1)) \
        is not None


operations.ON_RESOLVED.append(send_followup)


# -- what the inquiry pages show ---------------------------------------------------------

def _csat_answer(invitation: Invitation) -> int | None:
    return db.session.scalar(
        select(Answer.number).join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Response.survey_id == invitation.survey_id,
               Response.resident_id == invitation.resident_id,
               # an identified response is stored at the moment its invitation is
               # completed (``answering.submit``): this inquiry's, not another's
               Response.submitted_at == invitation.completed_at,
               Question.type == QuestionType.CSAT).order_by(Response.id.desc()).limit(1))


@bp.app_template_global()
def inquiry_followup(inquiry: Inquiry) -> dict[str, Any] | None:
    """What ``inquiries/_followup.html`` shows: None before a follow-up was
    considered; else ``staff`` (the console page or not), ``sent``, ``sent_at``,
    ``reason`` (words), ``answered``, ``csat`` (1–5), ``scale_max`` (5) and ``url``
    (the signed-in answer page, for the resident)."""
    staff = (request.blueprint or "").endswith("_admin")
    event = db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.inquiry_id == inquiry.id, InquiryMessage.event == EVENT)
        .order_by(InquiryMessage.id).limit(1))
    invitation = (db.session.get(Invitation, inquiry.followup_invitation_id)
                  if inquiry.followup_invitation_id else None)
    if event is None and invitation is None:
        return None
    if invitation is None:
        reason = (event.data or {}).get("reason") if event else None
        if not staff:
            return None
        return {"staff": True, "sent": False, "reason": REASONS.get(reason, "—")}
    answered = invitation.completed_at is not None
    url = None
    if not answered and invitation.survey.status == SurveyStatus.OPEN and not staff:
        # this inquiry's own invitation (a resident may have several about a service)
        url = url_for("surveys.by_invitation", token=invitations.invitation_token(
            invitation.survey_id, invitation.resident_id, invitation.token_salt)) \
            if invitation.token_salt else url_for("surveys.answer",
                                                  survey_id=invitation.survey_id)
    return {"staff": staff, "sent": True, "sent_at": invitation.sent_at or invitation.created_at,
            "answered": answered, "answered_at": invitation.completed_at,
            "csat": _csat_answer(invitation) if answered and staff else None, "scale_max": 5,
            "url": url, "survey": invitation.survey}
