"""Tasks: the one queue of work staff are given by the portal.

A playbook's task step makes one for its case; other features make their own
(``subject_type``/``subject_id`` say what a task is about when it is not a case:
the FAQ's review date makes a task for the owner department). A task is assigned
to a named user, or to a department's queue (``assignee_id`` NULL), optionally
only for one role in it ("the manager": ``assignee_role``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.i18n_fields import localized
from portal.timeutil import utcnow

if TYPE_CHECKING:
    from portal.auth.models import User
    from portal.playbooks.models import Case
    from portal.residents.models import Resident
    from portal.services.models import Department


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"  # its case closed before it was done


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_on"),
        Index("ix_tasks_department_status_due", "department_id", "status", "due_on"),
        # the role queues ("the manager" of every department): My work
        Index("ix_tasks_role_status_due", "assignee_role", "status", "due_on"),
        Index("ix_tasks_case", "case_id"),
        Index("ix_tasks_subject", "subject_type", "subject_id"),
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("playbook_cases.id", ondelete="CASCADE"))
    # the index of the playbook step that made it (a case's task)
    step: Mapped[int | None] = mapped_column(Integer)
    subject_type: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # the department's queue, for one role only (e.g. "manager"); NULL: anyone in it
    assignee_role: Mapped[str | None] = mapped_column(String(20))
    title_ja: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    # hidden from My work until this day (a snooze)
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.OPEN)
    # ``Outcome.chosen_by_staff()`` when done
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    case: Mapped[Case | None] = relationship()
    resident: Mapped[Resident | None] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @property
    def title(self) -> str:
        return localized(self, "title")
