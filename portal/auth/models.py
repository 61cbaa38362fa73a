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
    # moderates the community (managers and admins always do; staff when given it)
    community_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(10))
    # Part of the login id: changing it signs the account out everywhere.
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department | None] = relationship(lazy="joined")

    # The key of the sign-in (``UserSession``) this object was loaded for or signed in
    # with; set by ``portal.auth.sessions``, never stored on the user.
    session_key = None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        """The login id kept in the signed session cookie: the user, the account's
        nonce (changing it signs the account out everywhere) and the key of this one
        sign-in (deleting its row signs out this device only)."""
        if not self.session_key:
            raise RuntimeError("start a sign-in with portal.auth.sessions.start first")
        return f"{self.id}:{self.session_nonce}:{self.session_key}"

    @property
    def is_staff_member(self) -> bool:
        return self.role in Role.console_roles()

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class UserSession(db.Model):
    """One signed-in browser. The cookie holds the key; the table holds its hash, so
    the sign-in can be ended from the server (sign-out, "sign out other devices",
    an administrator's "sign out everywhere")."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # updated at most every few minutes (``sessions.TOUCH_INTERVAL``), not per request
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"
