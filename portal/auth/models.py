"""Login accounts and roles."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.services.models import Department


class Role(StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"
    OFFICIAL = "official"

    @classmethod
    def console_roles(cls) -> tuple[Role, ...]:
        return (cls.STAFF, cls.MANAGER, cls.ADMIN, cls.OFFICIAL)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def new_session_nonce() -> str:
    return secrets.token_urlsafe(16)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (see ``normalise_email``), so the unique index is case-blind.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), default=Role.RESIDENT, index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    # Part of the login id: changing it signs the account out everywhere.
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_staff_member(self) -> bool:
        return self.role in Role.console_roles()

    def has_role(self, *roles: str) -> bool:
        return self.role in roles
