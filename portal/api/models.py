"""API tokens for departmental systems."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.services.models import Department
from portal.timeutil import utcnow

api_token_departments = Table(
    "api_token_departments",
    db.metadata,
    Column("token_id", ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"),
           primary_key=True),
)


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 digest is stored; the token itself is shown
    once, when it is created. It may touch only its departments' services."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # the first characters, to recognise a token in lists and logs
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    departments: Mapped[list[Department]] = relationship(
        secondary=api_token_departments, lazy="selectin", order_by=Department.code)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
