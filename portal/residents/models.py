"""Residents (the municipality's "customers") and their households."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.auth.models import User
    from portal.services.models import UsageEvent


class District(db.Model):
    """A district of the municipality, named per locale like other staff-written
    content. Residents, households and eligibility rules store its ``code``, which
    never changes (the names may)."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name_ja: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<District {self.code}>"

    @property
    def name(self) -> str:
        return localized(self, "name") or self.code


class Household(db.Model):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    district: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Resident]] = relationship(back_populates="household")


class Resident(db.Model):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Id in the municipal resident register; None for self-registered records.
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_name: Mapped[str] = mapped_column(String(80), default="")
    given_name: Mapped[str] = mapped_column(String(80), default="")
    family_name_kana: Mapped[str] = mapped_column(String(120), default="")
    given_name_kana: Mapped[str] = mapped_column(String(120), default="")
    name_latin: Mapped[str] = mapped_column(String(160), default="")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    # the postal address letters go to: 〒 code as 123-4567, then the address
    postal_code: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(300))
    district: Mapped[str | None] = mapped_column(String(80), index=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    preferred_locale: Mapped[str] = mapped_column(String(10), default="ja")
    preferred_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_outreach: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_profiling: Mapped[bool] = mapped_column(Boolean, default=True)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    # Who attached the account to this register record, and when (after an identity
    # check recorded in the audit entry); None for the account's own record.
    linked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The profile fields whose value the resident gave (at registration, when linked, or
    # in their profile): what an account deletion or an unlink takes off a register record.
    self_supplied: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when the resident deleted their account and personal data was erased.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    household: Mapped[Household | None] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    linked_by: Mapped[User | None] = relationship(foreign_keys=[linked_by_id])
    usage_events: Mapped[list[UsageEvent]] = relationship(
        back_populates="resident", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        if self.family_name or self.given_name:
            return f"{self.family_name} {self.given_name}".strip()
        return self.name_latin


class LifeEventKind(StrEnum):
    MOVED_IN = "moved_in"
    CHILD_BORN = "child_born"
    TURNED_65 = "turned_65"


class LifeEvent(db.Model):
    """Something that happened in a resident's life, from the register (``portal
    import life-events FILE`` or the JSON API): what the life-event trigger of the
    playbooks reads. One per (resident, kind, day); a re-import changes nothing."""

    __tablename__ = "life_events"
    __table_args__ = (
        Index("uq_life_events", "resident_id", "kind", "occurred_on", unique=True),
        Index("ix_life_events_kind_occurred", "kind", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))  # EventSource: import, api, staff, demo
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resident: Mapped[Resident] = relationship()
