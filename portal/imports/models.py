"""CSV import batches: the uploaded file, what checking it found, what applying it did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.timeutil import utcnow


class ImportKind(StrEnum):
    RESIDENTS = "residents"
    EVENTS = "events"
    LIFE_EVENTS = "life-events"


class ImportStatus(StrEnum):
    CHECKED = "checked"  # uploaded and checked; waiting for confirmation
    APPLIED = "applied"
    REJECTED = "rejected"  # bad rows and no permission to skip them
    DISCARDED = "discarded"


class ImportBatch(db.Model):
    """One uploaded file. The content is kept in the database (not on a web host's
    disk) so that preview and confirmation may reach different workers."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    encoding: Mapped[str | None] = mapped_column(String(20))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.CHECKED, index=True)
    skip_bad_rows: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    good_rows: Mapped[int] = mapped_column(Integer, default=0)
    bad_rows: Mapped[int] = mapped_column(Integer, default=0)
    # {"created": n, "updated": n, "duplicates": n, "skipped": n}
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # [{"row": 12, "column": "occurred_at", "reason": "..."}], every problem found
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    preview: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    uploaded_by: Mapped[User | None] = relationship()
