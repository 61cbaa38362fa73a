"""The FAQ: entries written (or promoted from the community) by staff, in Japanese
and English, each owned by a department and kept current by a review date; every
change is a new version. The search's synonym list lives here too: staff keep it
beside the entries it serves ("子ども手当" finds "児童手当")."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.auth.models import User
    from portal.community.models import Post
    from portal.services.models import Department, Service

#: months from a change to the next review, unless staff choose a date
REVIEW_MONTHS = 12


class EntryStatus(StrEnum):
    PUBLISHED = "published"
    ARCHIVED = "archived"  # withdrawn from the public FAQ (its versions stay)


class FaqEntryService(db.Model):
    __tablename__ = "faq_entry_services"

    entry_id: Mapped[int] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"),
                                          primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class FaqEntry(db.Model):
    __tablename__ = "faq_entries"
    __table_args__ = (
        Index("ix_faq_entries_department", "department_id", "status"),
        Index("ix_faq_entries_review", "status", "review_on"),
        CheckConstraint("status IN ('published', 'archived')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # question and answer (Markdown) per locale; "" where not written yet
    question_ja: Mapped[str] = mapped_column(String(300), default="")
    question_en: Mapped[str] = mapped_column(String(300), default="")
    answer_ja: Mapped[str] = mapped_column(Text, default="")
    answer_en: Mapped[str] = mapped_column(Text, default="")
    # a language drafted (e.g. translated from the other) and marked for review
    draft_ja: Mapped[bool] = mapped_column(Boolean, default=False)
    draft_en: Mapped[bool] = mapped_column(Boolean, default=False)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id",
                                                          ondelete="RESTRICT"))
    review_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=EntryStatus.PUBLISHED)
    # the community answer it was promoted from (None: written by staff)
    source_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_posts.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()
    services: Mapped[list[Service]] = relationship(secondary="faq_entry_services",
                                                   order_by="Service.id", viewonly=True)
    source_post: Mapped[Post | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    @property
    def question(self) -> str:
        return localized(self, "question")

    @property
    def answer(self) -> str:
        return localized(self, "answer")


class FaqVersion(db.Model):
    """An entry as it was saved (version 1 is the first)."""

    __tablename__ = "faq_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_faq_versions"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # every field of the entry as saved: question_ja … review_on, service_ids, status
    snapshot: Mapped[dict] = mapped_column(JSON)
    # what changed, in the editor's words (optional)
    note: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by: Mapped[User | None] = relationship()


class SynonymGroup(db.Model):
    """Terms the search treats as one ("子ども手当", "児童手当"): a query with any of
    them also finds the others. ``terms`` is one term per line."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def term_list(self) -> list[str]:
        return [term.strip() for term in self.terms.splitlines() if term.strip()]
