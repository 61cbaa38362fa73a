"""Outreach: message templates, the messages sent (or suppressed) to residents,
the day's letters for printing, and the touchpoints staff log.

Every message a playbook sends — e-mail, letter, or a survey invitation — is an
``OutreachMessage`` row, sent or suppressed with its reason, so the case page shows
both and the *contact budget* (``portal.outreach.guards``) counts one thing across
every department and playbook. E-mails go through the outbox (``outbox_id``);
letters wait in the day's ``LetterBatch`` and count as sent when staff mark the
batch printed.

A *touchpoint* is staff reaching a resident (a call, a home visit ...). It shows on
the resident's 360° timeline under its channel, but it is not a use of the service
by the resident: it does not count in the engagement score (the uplift would
otherwise measure our own calls).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.auth.models import User
    from portal.residents.models import Resident
    from portal.services.models import Department


class MessageChannel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # an e-mail in the outbox, a letter in today's batch
    SENT = "sent"  # the e-mail delivered, the letter's batch printed
    SUPPRESSED = "suppressed"


class SuppressionReason(StrEnum):
    NO_CONSENT = "no_consent"
    DO_NOT_CONTACT = "do_not_contact"
    NO_ADDRESS = "no_address"  # no e-mail and no postal address for the channel
    BUDGET = "budget"  # over the contact budget
    HELD_OUT = "held_out"  # never stored on a message: the dry run counts it
    ANONYMISED = "anonymised"
    # survey steps (``portal.outreach.sending.send_survey``): never twice to one survey
    ALREADY_INVITED = "already_invited"
    SURVEY_CLOSED = "survey_closed"  # the survey does not take invitations now


class MessageTemplate(db.Model):
    """A message in each language, with placeholders (``portal.outreach.placeholders``);
    the letter uses the same text under the letterhead."""

    __tablename__ = "outreach_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(40), unique=True)  # starter library
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    name_ja: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    subject_ja: Mapped[str] = mapped_column(String(200), default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    body_ja: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    @property
    def name(self) -> str:
        return localized(self, "name")


class LetterBatch(db.Model):
    """The letters of one day, printed as one PDF."""

    __tablename__ = "outreach_letter_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    printed_by: Mapped[User | None] = relationship()


class OutreachMessage(db.Model):
    __tablename__ = "outreach_messages"
    __table_args__ = (
        # the contact budget: a resident's messages in the last N days
        Index("ix_outreach_messages_resident_created", "resident_id", "created_at"),
        Index("ix_outreach_messages_case", "case_id"),
        Index("ix_outreach_messages_batch", "letter_batch_id"),
        CheckConstraint("status IN ('queued', 'sent', 'suppressed')", name="status_known"),
        CheckConstraint("(status = 'suppressed') = (reason IS NOT NULL)",
                        name="reason_iff_suppressed"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("playbook_cases.id", ondelete="CASCADE"))
    step: Mapped[int | None] = mapped_column(Integer)
    # "message" (a template) or "survey" (a survey invitation step)
    kind: Mapped[str] = mapped_column(String(10), default="message")
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_templates.id", ondelete="SET NULL"))
    survey_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(10))  # None when suppressed before a channel
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="ja")
    # the template had no text in the resident's language: the other one was used
    fell_back: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # a letter's text until printed
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"))
    letter_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_letter_batches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    resident: Mapped[Resident] = relationship()
    template: Mapped[MessageTemplate | None] = relationship()
    letter_batch: Mapped[LetterBatch | None] = relationship()


class Touchpoint(db.Model):
    __tablename__ = "outreach_touchpoints"
    __table_args__ = (Index("ix_outreach_touchpoints_resident_at", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("playbook_cases.id", ondelete="SET NULL"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    # a usage channel (``Channel``): phone, outreach (a home visit), counter, mail ...
    channel: Mapped[str] = mapped_column(String(20))
    # what was done: "task_done", "case_closed", "reassigned", "snoozed", "due_changed",
    # "case_started"
    action: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    by: Mapped[User | None] = relationship()
