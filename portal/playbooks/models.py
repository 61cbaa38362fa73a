"""Playbooks and the cases they open.

A *playbook* is a trigger, conditions on the resident, steps, a cooldown and a
holdout share (``portal.playbooks.definition`` says what each may hold). Its
definition is edited in place and every saved change is a new ``version`` whose
full snapshot is kept in ``playbook_versions``; a case records the version that
opened it.

A *case* is one resident entering one playbook (for one service, or none:
``service_key`` is the service id or 0, so the partial unique index can say "at
most one open case per (playbook, resident, service)" on every database). A
*held-out* case gets no tasks and no messages: it is the comparison group of the
uplift. The numbers the trigger saw when the case opened are copied onto it
(``score_at_open`` and the measures behind it, ``trigger_value``, ``trigger_ref``)
so the case page can explain itself after the scores have moved on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
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


class PlaybookStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    """How a case (or a task) ended. Staff choose the first five; ``recovered`` is
    the auto-close when the trigger cleared; ``expired`` closes a case whose steps
    are all done (or a held-out case) once its measuring window has passed."""

    REACHED = "reached"
    RESOLVED = "resolved"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"
    REFERRED = "referred"
    RECOVERED = "recovered"
    EXPIRED = "expired"

    @classmethod
    def chosen_by_staff(cls) -> tuple[Outcome, ...]:
        return (cls.REACHED, cls.RESOLVED, cls.UNREACHABLE, cls.DECLINED, cls.REFERRED)


class Playbook(db.Model):
    __tablename__ = "playbooks"
    __table_args__ = (
        CheckConstraint("holdout_percent >= 0 AND holdout_percent <= 50", name="holdout_range"),
        CheckConstraint("cooldown_days >= 0", name="cooldown_positive"),
        CheckConstraint("status IN ('active', 'paused', 'archived')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the starter library's key ("welcome", "library-lapsed" ...): what ``portal seed``
    # finds its own playbooks by; NULL for playbooks staff made
    key: Mapped[str | None] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160))
    description_ja: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"),
                                               index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    # ``definition.TRIGGERS``: the code and its parameters, e.g. {"days": 90}
    trigger: Mapped[str] = mapped_column(String(30))
    trigger_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # ``definition.CONDITIONS``: {"districts": [...], "age_bands": [...], ...}; {} = everyone
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # ``definition.STEPS``: a list of {"kind": "task" | "message" | "survey" | "wait",
    # "offset_days": N, ...}, offsets never decreasing
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cooldown_days: Mapped[int] = mapped_column(Integer, default=90)
    # close a case by itself ("recovered") once its trigger no longer holds
    auto_close: Mapped[bool] = mapped_column(Boolean, default=True)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(10), default=PlaybookStatus.PAUSED, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # the last evaluation that looked at this playbook (the console shows it)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined")
    service: Mapped[Service | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    def snapshot(self) -> dict[str, Any]:
        """Everything a version holds (what ``playbook_versions`` stores)."""
        return {name: getattr(self, name) for name in (
            "name_ja", "name_en", "description_ja", "description_en", "department_id",
            "service_id", "trigger", "trigger_params", "conditions", "steps", "cooldown_days",
            "auto_close", "holdout_percent", "status")}


class PlaybookVersion(db.Model):
    __tablename__ = "playbook_versions"
    __table_args__ = (UniqueConstraint("playbook_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    # what changed, in the audit log's words ("steps", "status: paused → active")
    summary: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class Case(db.Model):
    __tablename__ = "playbook_cases"
    __table_args__ = (
        # at most one open case per (playbook, resident, service): what makes the
        # set-based evaluation idempotent and safe for two workers at once
        Index("uq_playbook_cases_open", "playbook_id", "resident_id", "service_key",
              unique=True, sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
        # the cooldown and the resident's cases
        Index("ix_playbook_cases_resident", "resident_id", "playbook_id", "opened_at"),
        Index("ix_playbook_cases_playbook_opened", "playbook_id", "opened_at"),
        # the step runner: open cases whose next step is due
        Index("ix_playbook_cases_next_step", "next_step_at"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_when_closed"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id", ondelete="CASCADE"))
    playbook_version: Mapped[int] = mapped_column(Integer)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    service_key: Mapped[int] = mapped_column(Integer, default=0)  # service_id or 0
    held_out: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # a manual start: who started it (NULL when the evaluation opened the case)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # what the trigger saw: the service's score and its measures at opening ...
    score_at_open: Mapped[float | None] = mapped_column(Float)
    band_at_open: Mapped[str | None] = mapped_column(String(10))
    recency_at_open: Mapped[float | None] = mapped_column(Float)
    frequency_at_open: Mapped[float | None] = mapped_column(Float)
    satisfaction_at_open: Mapped[float | None] = mapped_column(Float)
    friction_at_open: Mapped[float | None] = mapped_column(Float)
    # ... and the trigger's own figure (points fallen, days without use, days overdue)
    trigger_value: Mapped[float | None] = mapped_column(Float)
    # the record behind the trigger: an inquiry, a survey invitation, a life event id
    trigger_ref: Mapped[int | None] = mapped_column(Integer)
    # the step runner's place: the index of the next step in the version's steps and
    # when it is due (opened_at + its offset); NULL when no step is left
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set by a "wait until" step that found the trigger cleared: the steps after it
    # did not run
    stopped_at_step: Mapped[int | None] = mapped_column(Integer)
    # the uplift's outcome measure: the service's score 30 days after opening
    score_after: Mapped[float | None] = mapped_column(Float)
    measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    playbook: Mapped[Playbook] = relationship(lazy="joined")
    resident: Mapped[Resident] = relationship()
    service: Mapped[Service | None] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])


class CaseNote(db.Model):
    """Staff notes on a case, and the case's own log of what happened (``event``:
    "step" with the step's index, "wait_stopped", "closed", "reassigned" ...)."""

    __tablename__ = "playbook_case_notes"
    __table_args__ = (Index("ix_playbook_case_notes_case", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("playbook_cases.id", ondelete="CASCADE"))
    event: Mapped[str | None] = mapped_column(String(30))  # NULL: a note staff wrote
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()
