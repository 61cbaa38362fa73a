"""Sending one playbook step's message or survey invitation to one resident.

Both functions pass the guards first (``portal.outreach.guards.reason``: erased,
no outreach consent, do-not-contact, no address for the channel, over the
city-wide contact budget); a message that may not go is still stored, *suppressed*
with its reason, so the case shows it. Otherwise the channel is
``guards.channel_for`` (the resident's preferences, then what they have an address
for) and the text is in the resident's language (``Resident.preferred_locale``);
a template without that language uses the other and the message is marked
``fell_back`` (its ``locale`` is the language actually written).

E-mail
    Queued in the outbox (``portal.mail.outbox.queue_email`` inside
    ``force_locale``; purpose ``outreach``, a survey's ``survey_invitation`` so the
    outbox forgets the personal link once delivered); the message is ``queued``
    with its ``outbox_id`` and becomes ``sent`` when the outbox has delivered it:
    ``sync_delivered`` copies the outbox's state over in one statement after every
    outbox round that delivered mail (``outbox.AFTER_DELIVERY``). Queued and sent
    count alike in the contact budget.
Letter
    ``queued`` in the ``LetterBatch`` of the municipality's local day (made on first
    use; two workers at once meet the unique ``day`` and both use the one row), the
    body stored for printing; ``sent`` when staff mark the batch printed
    (``letters.mark_printed``). A letter written after that day's batch was printed
    goes into the next day's batch.
Survey invitations
    An ``Invitation`` with occasion ``case:<id>`` and a single-use token (the survey
    helpers of ``portal.surveys.invitations``), e-mailed with the survey's own
    invitation text or printed in a letter with the same link. Never twice to one
    survey (``already_invited``), never to a survey that is not open
    (``survey_closed``). Only a token's hash is stored; the message keeps its text
    with the link left out for e-mail (the letter keeps it until printed).

The functions flush; the caller commits and then calls ``portal.mail.outbox.dispatch``.

``step``: the step's index in the playbook, or the step itself (a mapping with
``index`` and optionally ``date``, an ISO date or ``datetime.date`` for ``{date}``,
or ``date_days``, days after ``now``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask_babel import force_locale
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.i18n_fields import localized_pair
from portal.mail.models import MessageStatus as OutboxStatus
from portal.mail.models import OutboundMessage
from portal.mail.outbox import AFTER_DELIVERY, queue_email
from portal.outreach import guards, placeholders
from portal.outreach.models import (
    LetterBatch,
    MessageChannel,
    MessageStatus,
    MessageTemplate,
    OutreachMessage,
    SuppressionReason,
)
from portal.residents.models import Resident
from portal.residents.naming import resident_name
from portal.surveys import invitations
from portal.surveys.models import Invitation, ResponseChannel, Survey
from portal.surveys.tokens import token_hash
from portal.timeutil import local_zone, utcnow

PURPOSE = "outreach"
#: what an e-mailed survey invitation's stored text shows instead of the personal link
LINK_LEFT_OUT = "[…]"


@dataclass(frozen=True)
class Composed:
    locale: str  # the language written
    fell_back: bool  # the resident's language was missing from the template
    subject: str
    body: str


def language_of(resident: Resident) -> str:
    """The resident's language among the configured ones (else the default)."""
    return invitations._locale_of(resident.preferred_locale)


def has_language(template: MessageTemplate, locale: str) -> bool:
    return bool((getattr(template, f"subject_{locale}", "") or "").strip()
                and (getattr(template, f"body_{locale}", "") or "").strip())


def missing_languages(template: MessageTemplate, locales) -> list[str]:
    """The configured languages the template has no subject and text in."""
    return [loc for loc in locales if hasattr(template, f"body_{loc}")
            and not has_language(template, loc)]


def compose(template: MessageTemplate, resident: Resident, *, locale: str | None = None,
            service=None, date: date | None = None, department=None,
            shared: dict | None = None) -> Composed:
    """Subject and body in ``locale`` (default: the resident's), or in the first
    language the template has when that one is missing. ``shared``: a cache of the
    placeholders other than ``{name}`` by language, for a batch of one step."""
    wanted = locale or language_of(resident)
    written = wanted
    if not has_language(template, wanted):
        _body, written = localized_pair(template, "body", wanted)
        if not has_language(template, written):  # a language with a body but no subject
            written = next((loc for loc in ("ja", "en") if has_language(template, loc)),
                           written)
    if shared is None:
        known = placeholders.values(resident, locale=written, service=service, date=date,
                                    department=department or template.department)
    else:
        key = (written, service.id if service is not None else None)
        if key not in shared:
            shared[key] = placeholders.shared_values(
                locale=written, service=service, date=date,
                department=department or template.department)
        known = shared[key] | {"name": placeholders.name_value(resident, written)}
    return Composed(locale=written, fell_back=written != wanted,
                    subject=placeholders.fill(getattr(template, f"subject_{written}", ""),
                                              known),
                    body=placeholders.fill(getattr(template, f"body_{written}", ""), known))


def _step(step: Any, now: datetime) -> tuple[int | None, date | None]:
    if isinstance(step, Mapping):
        when = step.get("date")
        if isinstance(when, str):
            try:
                when = date.fromisoformat(when)
            except ValueError:
                when = None
        if when is None and isinstance(step.get("date_days"), int):
            when = (now + timedelta(days=step["date_days"])).astimezone(local_zone()).date()
        index = step.get("index")
        return (index if isinstance(index, int) else None), when
    return (step if isinstance(step, int) else None), None


def _new(case, index: int | None, kind: str, department_id: int | None, now: datetime,
         **values) -> OutreachMessage:
    message = OutreachMessage(resident_id=case.resident_id, case_id=case.id, step=index,
                              kind=kind, department_id=department_id, created_at=now,
                              **values)
    db.session.add(message)
    return message


def _suppress(case, index, kind, department_id, now, reason: str, locale: str,
              **values) -> OutreachMessage:
    message = _new(case, index, kind, department_id, now, status=MessageStatus.SUPPRESSED,
                   reason=reason, locale=locale, **values)
    db.session.flush()
    return message


def letter_batch(now: datetime | None = None) -> LetterBatch:
    """The batch that a letter written at ``now`` goes into: the local day's, or the
    first later day's whose batch is not printed yet; made if need be, once even
    when two workers ask at the same moment (the unique ``day``)."""
    day = (now or utcnow()).astimezone(local_zone()).date()
    for _attempt in range(366):
        batch = db.session.scalar(select(LetterBatch).where(LetterBatch.day == day))
        if batch is None:
            try:
                with db.session.begin_nested():
                    batch = LetterBatch(day=day)
                    db.session.add(batch)
            except IntegrityError:  # another worker made it first: use theirs
                batch = db.session.scalar(select(LetterBatch).where(LetterBatch.day == day))
        if batch is not None and batch.printed_at is None:
            return batch
        day += timedelta(days=1)
    raise RuntimeError("no unprinted letter batch within a year")  # pragma: no cover


def _deliver(message: OutreachMessage, resident: Resident, composed: Composed, now: datetime,
             *, purpose: str = PURPOSE, stored_body: str | None = None) -> None:
    """E-mail through the outbox, or the letter into the day's batch."""
    message.status = MessageStatus.QUEUED
    if message.channel == MessageChannel.EMAIL:
        with force_locale(composed.locale):
            outbox = queue_email(to=resident.email.strip(), subject=composed.subject[:300],
                                 body=composed.body, locale=composed.locale, purpose=purpose,
                                 user=resident.user)
        message.outbox_id = outbox.id
        message.body = stored_body if stored_body is not None else composed.body
    else:
        message.letter_batch_id = letter_batch(now).id
        message.body = composed.body
    db.session.flush()


def send_message(case, step, template: MessageTemplate,
                 now: datetime | None = None) -> OutreachMessage:
    """The message step ``step`` of ``case`` with ``template`` (see the module)."""
    now = now or utcnow()
    resident = case.resident
    index, when = _step(step, now)
    department_id = template.department_id or case.playbook.department_id
    locale = language_of(resident)
    guards.lock([resident.id])
    why = guards.reason(resident, now)
    if why is not None:
        return _suppress(case, index, "message", department_id, now, why, locale,
                         template_id=template.id)
    channel = guards.channel_for(resident)
    composed = compose(template, resident, locale=locale, service=case.service, date=when)
    message = _new(case, index, "message", department_id, now, template_id=template.id,
                   channel=channel, status=MessageStatus.QUEUED, locale=composed.locale,
                   fell_back=composed.fell_back, subject=composed.subject[:200])
    _deliver(message, resident, composed, now)
    return message


def send_messages(cases, step, template: MessageTemplate,
                  now: datetime | None = None) -> list[SimpleNamespace]:
    """``send_message`` for many cases at once (the step runner's batches): the same
    guards and the same text, with the budget counted for all of them in one
    statement (and kept up to date within the batch, so a resident in two of the
    cases is counted twice), the placeholders other than ``{name}`` worked out once
    per language, and the outbox rows and the messages written with two multi-row
    INSERTs instead of two statements per message. Returns what was stored, one
    record per case (its columns as attributes). Load the cases with their
    residents and services."""
    now = now or utcnow()
    index, when = _step(step, now)
    guards.lock(case.resident_id for case in cases)
    recent = guards.recent_counts({case.resident_id for case in cases}, now)
    shared: dict = {}
    rows: list[dict] = []
    emails: list[tuple[dict, dict]] = []
    batch_id = None
    for case in cases:
        resident = case.resident
        row = dict.fromkeys(_MESSAGE_COLUMNS) | {
            "resident_id": resident.id, "case_id": case.id, "step": index, "kind": "message",
            "template_id": template.id, "created_at": now, "fell_back": False,
            "subject": "", "body": "",
            "department_id": template.department_id or case.playbook.department_id,
            "locale": language_of(resident)}
        rows.append(row)
        why = guards.reason(resident, now, recent=recent.get(resident.id, 0))
        if why is not None:
            row.update(status=MessageStatus.SUPPRESSED.value, reason=str(why))
            continue
        channel = guards.channel_for(resident)
        composed = compose(template, resident, locale=row["locale"], service=case.service,
                           date=when, shared=shared)
        row.update(channel=str(channel), status=MessageStatus.QUEUED.value,
                   locale=composed.locale, fell_back=composed.fell_back,
                   subject=composed.subject[:200], body=composed.body)
        if channel == MessageChannel.EMAIL:
            emails.append((row, {
                "channel": "email", "to_address": resident.email.strip(),
                "subject": composed.subject[:300], "body_text": composed.body,
                "locale": composed.locale, "purpose": PURPOSE, "user_id": resident.user_id,
                "status": OutboxStatus.QUEUED.value, "attempts": 0, "next_attempt_at": now,
                "created_at": now}))
        else:
            batch_id = batch_id or letter_batch(now).id
            row["letter_batch_id"] = batch_id
        recent[resident.id] = recent.get(resident.id, 0) + 1
    if emails:
        ids = db.session.scalars(
            insert(OutboundMessage).returning(OutboundMessage.id, sort_by_parameter_order=True),
            [outbox for _row, outbox in emails]).all()
        for (row, _outbox), outbox_id in zip(emails, ids, strict=True):
            row["outbox_id"] = outbox_id
    if rows:
        db.session.execute(insert(OutreachMessage), rows)
    return [SimpleNamespace(**row) for row in rows]


_MESSAGE_COLUMNS = ("resident_id", "case_id", "step", "kind", "template_id",
                    "survey_invitation_id", "department_id", "channel", "status", "reason",
                    "locale", "fell_back", "subject", "body", "outbox_id", "letter_batch_id",
                    "created_at", "sent_at")


def send_survey(case, step, survey: Survey, now: datetime | None = None) -> OutreachMessage:
    """The survey step ``step`` of ``case``: an invitation to ``survey`` (see the module)."""
    now = now or utcnow()
    resident = case.resident
    index, _when = _step(step, now)
    department_id = survey.department_id or case.playbook.department_id
    locale = language_of(resident)
    guards.lock([resident.id])
    why = guards.reason(resident, now)
    if why is None and invitations.closed_reason(
            survey, now.astimezone(local_zone()).date()) is not None:
        why = SuppressionReason.SURVEY_CLOSED
    if why is None and db.session.scalar(select(Invitation.id).where(
            Invitation.survey_id == survey.id, Invitation.resident_id == resident.id)
            .limit(1)) is not None:
        why = SuppressionReason.ALREADY_INVITED
    if why is not None:
        return _suppress(case, index, "survey", department_id, now, why, locale)
    channel = guards.channel_for(resident)
    salt = invitations.new_salt()
    token = invitations.invitation_token(survey.id, resident.id, salt)
    expires_at = now + timedelta(days=survey.invitation_valid_days or 30)
    invitation = Invitation(
        survey_id=survey.id, resident_id=resident.id, occasion=f"case:{case.id}",
        token_hash=token_hash(token), token_salt=salt,
        channel=ResponseChannel.EMAIL if channel == MessageChannel.EMAIL
        else ResponseChannel.PAPER,
        expires_at=expires_at, created_at=now,
        # a letter is sent when its batch is printed
        sent_at=now if channel == MessageChannel.EMAIL else None)
    db.session.add(invitation)
    db.session.flush()
    subject, body, greeting = invitations._templates(survey, locale, expires_at, reminder=False)
    name = resident_name(resident, locale)
    greeting = greeting.replace(invitations.NAME, name) if name else ""

    def filled(link: str) -> str:
        return body.replace(invitations.NAME, greeting).replace(invitations.LINK, link) \
            .lstrip("\n")

    composed = Composed(locale=locale, fell_back=False, subject=subject,
                        body=filled(invitations.invitation_url(token)))
    message = _new(case, index, "survey", department_id, now, channel=channel,
                   status=MessageStatus.QUEUED, locale=locale, subject=subject[:200],
                   survey_invitation_id=invitation.id)
    _deliver(message, resident, composed, now, purpose=invitations.PURPOSE,
             stored_body=filled(LINK_LEFT_OUT))
    return message


def sync_delivered() -> int:
    """E-mails the outbox has delivered count as sent (one UPDATE); returns how many."""
    delivered = (select(OutboundMessage.sent_at)
                 .where(OutboundMessage.id == OutreachMessage.outbox_id,
                        OutboundMessage.status == OutboxStatus.SENT)
                 .scalar_subquery())
    result = db.session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.status == MessageStatus.QUEUED,
               OutreachMessage.channel == MessageChannel.EMAIL,
               OutreachMessage.outbox_id.in_(
                   select(OutboundMessage.id).where(
                       OutboundMessage.status == OutboxStatus.SENT)))
        .values(status=MessageStatus.SENT, sent_at=delivered)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


# an outreach e-mail counts as sent once the outbox has delivered it
AFTER_DELIVERY.append(sync_delivered)
