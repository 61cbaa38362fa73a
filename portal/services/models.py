"""Municipal services: departments, the service catalogue and usage events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.residents.models import Resident


class Channel(StrEnum):
    """How a use of a service happened. Every channel counts the same."""

    COUNTER = "counter"
    PHONE = "phone"
    ONLINE = "online"
    MOBILE = "mobile"
    MAIL = "mail"
    OUTREACH = "outreach"


class EventSource(StrEnum):
    PORTAL = "portal"
    STAFF = "staff"
    IMPORT = "import"
    API = "api"
    DEMO = "demo"


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    services: Mapped[list[Service]] = relationship(
        back_populates="department", order_by="Service.slug"
    )

    @property
    def name(self) -> str:
        return localized(self, "name")


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("expected_interval_days > 0", name="interval_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    service_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160))
    summary_ja: Mapped[str] = mapped_column(String(300), default="")
    summary_en: Mapped[str] = mapped_column(String(300), default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    audience_ja: Mapped[str] = mapped_column(Text, default="")
    audience_en: Mapped[str] = mapped_column(Text, default="")
    how_to_use_ja: Mapped[str] = mapped_column(Text, default="")
    how_to_use_en: Mapped[str] = mapped_column(Text, default="")
    location_ja: Mapped[str] = mapped_column(String(300), default="")
    location_en: Mapped[str] = mapped_column(String(300), default="")
    opening_hours_ja: Mapped[str] = mapped_column(String(300), default="")
    opening_hours_en: Mapped[str] = mapped_column(String(300), default="")
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    expected_interval_days: Mapped[int] = mapped_column(Integer, default=30)
    # {"min_age": int, "max_age": int, "child_under": int, "districts": [str]}; None = everyone
    eligibility: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # a public-space service (street lights, potholes): Open311 may publish the
    # address of its requests; for any other service the address is personal data
    public_space: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(back_populates="services", lazy="joined")

    def __repr__(self) -> str:
        return f"<Service {self.slug}>"

    def text(self, field: str) -> str:
        return localized(self, field)

    @property
    def name(self) -> str:
        return localized(self, "name")


class UsageEvent(db.Model):
    """One use of one service by one resident, from any channel and any source.

    The biggest table: its indexes serve the scoring aggregates (per service and
    resident over time) and the resident timelines.
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        UniqueConstraint("source", "idempotency_key"),
        Index("ix_usage_events_service_resident_time", "service_id", "resident_id", "occurred_at"),
        Index("ix_usage_events_resident_time", "resident_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(40), default="use")
    channel: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    service: Mapped[Service] = relationship(lazy="joined")
    resident: Mapped[Resident] = relationship(back_populates="usage_events")
