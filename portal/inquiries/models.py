"""Inquiries from every channel, their threads, photos, reply templates and
service levels.

An inquiry belongs to a department's queue through its service (``department_id``
is copied from the service and changes when staff route it; NULL while nobody has
routed an "I don't know" inquiry). Every inquiry stores its due times when it is
received (``portal.inquiries.sla``); ``due_at`` is the next one still pending (the
first response until there is one, then the resolution), NULL once resolved or
closed, so the queue's SLA filters and the overdue signal read one indexed column.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.auth.models import User
    from portal.residents.models import Resident
    from portal.services.models import Department, Service


class InquiryStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # waiting for the resident
    RESOLVED = "resolved"
    CLOSED = "closed"

    @classmethod
    def pending(cls) -> tuple[InquiryStatus, ...]:
        """Still to be worked on: counts as open for friction and the backlog."""
        return (cls.NEW, cls.OPEN, cls.WAITING)


class InquiryCategory(StrEnum):
    QUESTION = "question"
    REQUEST = "request"
    COMPLAINT = "complaint"
    PROBLEM = "problem"  # "report a problem"


class InquiryChannel(StrEnum):
    WEB = "web"
    PHONE = "phone"
    COUNTER = "counter"
    LETTER = "letter"
    EMAIL = "email"
    OPEN311 = "open311"

    @classmethod
    def staff_recorded(cls) -> tuple[InquiryChannel, ...]:
        """The channels staff record an inquiry from (channel parity)."""
        return (cls.PHONE, cls.COUNTER, cls.LETTER, cls.EMAIL)


class MessageKind(StrEnum):
    RESIDENT = "resident"  # from the resident (or the caller, as staff took it down)
    REPLY = "reply"  # a staff reply the resident sees
    NOTE = "note"  # internal: never shown to the resident
    EVENT = "event"  # status change, assignment, routing, merge (``event`` says which)


#: the message kinds a resident sees on their inquiry page (events: only ``public``)
RESIDENT_VISIBLE = (MessageKind.RESIDENT, MessageKind.REPLY, MessageKind.EVENT)


class Inquiry(db.Model):
    __tablename__ = "inquiries"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)",
                        name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)",
                        name="longitude_range"),
        CheckConstraint("status IN ('new', 'open', 'waiting', 'resolved', 'closed')",
                        name="status_known"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_self_merged"),
        Index("ix_inquiries_department_status_created", "department_id", "status", "created_at"),
        Index("ix_inquiries_resident_created", "resident_id", "created_at"),
        # friction: open and overdue inquiries per (service, resident)
        Index("ix_inquiries_service_resident_status", "service_id", "resident_id", "status"),
        Index("ix_inquiries_due", "due_at"),
        Index("ix_inquiries_created", "created_at"),
        Index("ix_inquiries_updated", "updated_at"),
        # Open311 GET requests: one channel's inquiries in a date window
        Index("ix_inquiries_channel_created", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"))
    # an unidentified caller or an Open311 reporter: what they gave (personal data:
    # never in a public Open311 response)
    caller_name: Mapped[str | None] = mapped_column(String(160))
    caller_email: Mapped[str | None] = mapped_column(String(254))
    caller_phone: Mapped[str | None] = mapped_column(String(40))
    # the language replies and notifications are written in
    locale: Mapped[str] = mapped_column(String(10), default="ja")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=InquiryStatus.NEW, index=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address_id: Mapped[str | None] = mapped_column(String(100))
    # Open311 attribute values by code: {"code": "value" | ["v1", "v2"]}
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    open311_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("open311_keys.id", ondelete="SET NULL"))
    open311_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(100))
    media_url: Mapped[str | None] = mapped_column(String(500))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                    index=True)
    # staff who took it down (phone, counter, letter, e-mail); NULL for web and Open311
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("inquiries.id", ondelete="SET NULL"), index=True)
    # the closed loop: the follow-up survey invitation sent when it was resolved
    followup_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    resident: Mapped[Resident | None] = relationship()
    service: Mapped[Service | None] = relationship()
    department: Mapped[Department | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    merged_into: Mapped[Inquiry | None] = relationship(remote_side=[id])
    messages: Mapped[list[InquiryMessage]] = relationship(
        back_populates="inquiry", order_by="InquiryMessage.id", cascade="all, delete-orphan")
    photos: Mapped[list[InquiryPhoto]] = relationship(
        back_populates="inquiry", order_by="InquiryPhoto.id", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Inquiry {self.id} {self.status}>"

    @property
    def number(self) -> str:
        """The number residents and staff quote ("No. 123")."""
        return str(self.id)

    @property
    def pending(self) -> bool:
        return self.status in InquiryStatus.pending()


class InquiryMessage(db.Model):
    __tablename__ = "inquiry_messages"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(12))
    # for events: "status", "assigned", "routed", "merged", "reopened", "recorded"
    event: Mapped[str | None] = mapped_column(String(20))
    # for events: what changed ({"from": "new", "to": "open"}, {"into": 12} ...)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # an event the resident is shown (status changes, merges); notes never are
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("reply_templates.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()

    @property
    def visible_to_resident(self) -> bool:
        if self.kind == MessageKind.NOTE:
            return False
        return self.kind != MessageKind.EVENT or self.public


class InquiryPhoto(db.Model):
    """A photo, re-encoded on upload (EXIF and its location gone), served only to
    those who may see the inquiry."""

    __tablename__ = "inquiry_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"),
                                            index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inquiry_messages.id", ondelete="SET NULL"))
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="photos")


class ReplyTemplate(db.Model):
    """A reply staff start from, in each language; placeholders such as
    ``{name}`` and ``{number}`` are filled in the resident's language."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL: every department may use it
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    name_ja: Mapped[str] = mapped_column(String(120), default="")
    name_en: Mapped[str] = mapped_column(String(120), default="")
    body_ja: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship()

    @property
    def name(self) -> str:
        return localized(self, "name")


class SlaPolicy(db.Model):
    """Service levels in business days: one row per category (``service_id`` NULL),
    and optional overrides for one service."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("category", "service_id"),
        CheckConstraint("first_response_days >= 0 AND resolution_days >= first_response_days",
                        name="days_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                                   index=True)
    first_response_days: Mapped[int] = mapped_column(Integer)
    resolution_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    service: Mapped[Service | None] = relationship()


class ClosureDay(db.Model):
    """A day the municipality's offices are closed besides weekends and public
    holidays: every year (``year`` NULL, e.g. 12/29–1/3) or one date."""

    __tablename__ = "closure_days"
    __table_args__ = (
        UniqueConstraint("year", "month", "day"),
        CheckConstraint("month BETWEEN 1 AND 12 AND day BETWEEN 1 AND 31", name="date_parts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)
    label_ja: Mapped[str] = mapped_column(String(120), default="")
    label_en: Mapped[str] = mapped_column(String(120), default="")

    @property
    def label(self) -> str:
        return localized(self, "label")


# -- Open311 ----------------------------------------------------------------------------

open311_key_departments = Table(
    "open311_key_departments",
    db.metadata,
    Column("key_id", ForeignKey("open311_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"),
           primary_key=True),
)


class Open311Key(db.Model):
    """An Open311 ``api_key`` for one client app, scoped to departments (it may
    post requests for their services). Only the SHA-256 digest is stored."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    departments: Mapped[list[Department]] = relationship(
        secondary=open311_key_departments, lazy="selectin", order_by="Department.code")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AttributeDatatype(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"


class ServiceAttribute(db.Model):
    """One attribute of a service's Open311 definition (and of its web form)."""

    __tablename__ = "service_attributes"
    __table_args__ = (
        UniqueConstraint("service_id", "code"),
        CheckConstraint("datatype IN ('string', 'number', 'datetime', 'text', "
                        "'singlevaluelist', 'multivaluelist')", name="datatype_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            index=True)
    code: Mapped[str] = mapped_column(String(60))
    datatype: Mapped[str] = mapped_column(String(20))
    # False: an informational text, not asking for a value (the spec's ``variable``)
    variable: Mapped[bool] = mapped_column(Boolean, default=True)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=1)
    description_ja: Mapped[str] = mapped_column(String(300), default="")
    description_en: Mapped[str] = mapped_column(String(300), default="")
    datatype_description_ja: Mapped[str] = mapped_column(String(300), default="")
    datatype_description_en: Mapped[str] = mapped_column(String(300), default="")
    # list datatypes: [{"key": "k", "name_ja": "…", "name_en": "…"}]
    values: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)

    service: Mapped[Service] = relationship()

    @property
    def description(self) -> str:
        return localized(self, "description")
