"""Scoring models (versioned), current scores, snapshots, aggregates and runs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import User
from portal.db_types import BigIntKey, UTCDateTime
from portal.extensions import db
from portal.residents.models import Resident
from portal.timeutil import utcnow

MEASURES = ("recency", "frequency", "satisfaction", "friction")


class Band(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"
    NEW = "new"


class ScoringModel(db.Model):
    """One version of the weights and band edges, for one service or (service_id
    None) the global default. Versions are never edited: a change adds a row, and
    every stored score names the version that made it."""

    __tablename__ = "scoring_models"
    __table_args__ = (
        CheckConstraint("weight_recency >= 0 AND weight_frequency >= 0 AND "
                        "weight_satisfaction >= 0 AND weight_friction >= 0",
                        name="weights_not_negative"),
        CheckConstraint("0 < red_below AND red_below < green_from AND green_from <= 100",
                        name="bands_ordered"),
        Index("ix_scoring_models_service_version", "service_id", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    weight_recency: Mapped[int] = mapped_column(Integer)
    weight_frequency: Mapped[int] = mapped_column(Integer)
    weight_satisfaction: Mapped[int] = mapped_column(Integer)
    weight_friction: Mapped[int] = mapped_column(Integer)
    red_below: Mapped[int] = mapped_column(Integer)
    green_from: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()

    def weights(self) -> dict[str, int]:
        return {m: getattr(self, f"weight_{m}") for m in MEASURES}


class EngagementScore(db.Model):
    """The current score of one resident for one service, with the measures and
    the inputs behind them, so that it can explain itself.

    Derived data, rewritten by every recompute: no foreign keys (checking three
    per row would triple the cost of a recompute); ``scoring.forget_resident``
    removes a resident's rows wherever a resident record is erased or merged.
    The key starts with the service: rows go in in that order, and lists are per
    service."""

    __tablename__ = "engagement_scores"
    __table_args__ = (Index("ix_engagement_scores_resident_id", "resident_id"),
                      {"sqlite_with_rowid": False})

    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    model_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(30))  # "eligible_never_used"
    recency: Mapped[float | None] = mapped_column(Float)
    frequency: Mapped[float | None] = mapped_column(Float)
    satisfaction: Mapped[float | None] = mapped_column(Float)
    friction: Mapped[float | None] = mapped_column(Float)
    # the survey answers behind the satisfaction measure (its mean), 0 when it is missing
    satisfaction_answers: Mapped[int] = mapped_column(Integer, default=0)
    # the inquiries behind the friction measure: pending in the window, and how many of
    # them were overdue (0 and 0: friction 100)
    inquiries_pending: Mapped[int] = mapped_column(Integer, default=0)
    inquiries_overdue: Mapped[int] = mapped_column(Integer, default=0)
    last_use_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    days_since_last_use: Mapped[float | None] = mapped_column(Float)
    uses_in_window: Mapped[int] = mapped_column(Integer, default=0)
    window_days: Mapped[int] = mapped_column(Integer)
    interval_days: Mapped[int] = mapped_column(Integer)
    previous_score: Mapped[float | None] = mapped_column(Float)
    score_30d_ago: Mapped[float | None] = mapped_column(Float)
    # the inputs of the KPIs (portal.engagement.kpis): used in the 30 days before the last
    # 30 (1) or not (0), the same for 90 days, and the uses in the three intervals before
    # the last three
    used_prev_30: Mapped[int] = mapped_column(Integer, default=0)
    used_prev_90: Mapped[int] = mapped_column(Integer, default=0)
    uses_prev_3i: Mapped[int] = mapped_column(Integer, default=0)
    trend: Mapped[str] = mapped_column(String(10))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[ScoringModel] = relationship(
        lazy="joined", primaryjoin="foreign(EngagementScore.model_id) == ScoringModel.id")
    resident: Mapped[Resident] = relationship(
        primaryjoin="foreign(EngagementScore.resident_id) == Resident.id")

    @property
    def expected_uses(self) -> float:
        return self.window_days / self.interval_days


class ScoreSnapshot(db.Model):
    """A score as it was on one day: the history behind trends and sparklines."""

    __tablename__ = "score_snapshots"
    __table_args__ = (Index("ix_score_snapshots_resident_id", "resident_id"),)

    # key in the order rows are written (day, then service, then resident), no
    # foreign keys: see EngagementScore
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))
    model_id: Mapped[int] = mapped_column(Integer)


class ScoreAggregate(db.Model):
    """Figures for dashboards and reports, per day, for all services ("all", 0),
    one department ("department", id) or one service ("service", id)."""

    __tablename__ = "score_aggregates"
    __table_args__ = (UniqueConstraint("as_of", "scope", "scope_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    scope: Mapped[str] = mapped_column(String(12))
    scope_id: Mapped[int] = mapped_column(Integer, default=0)
    scores: Mapped[int] = mapped_column(Integer, default=0)  # resident-service pairs
    residents: Mapped[int] = mapped_column(Integer, default=0)  # distinct residents scored
    red: Mapped[int] = mapped_column(Integer, default=0)
    yellow: Mapped[int] = mapped_column(Integer, default=0)
    green: Mapped[int] = mapped_column(Integer, default=0)
    at_risk_residents: Mapped[int] = mapped_column(Integer, default=0)
    never_used: Mapped[int] = mapped_column(Integer, default=0)
    mean: Mapped[float | None] = mapped_column(Float)
    median: Mapped[float | None] = mapped_column(Float)
    active_30: Mapped[int] = mapped_column(Integer, default=0)
    active_90: Mapped[int] = mapped_column(Integer, default=0)
    recency_mean: Mapped[float | None] = mapped_column(Float)
    frequency_mean: Mapped[float | None] = mapped_column(Float)
    satisfaction_mean: Mapped[float | None] = mapped_column(Float)
    # scores with a satisfaction measure (residents who answered): its mean's n
    satisfaction_scores: Mapped[int] = mapped_column(Integer, default=0)
    friction_mean: Mapped[float | None] = mapped_column(Float)
    histogram: Mapped[list[int] | None] = mapped_column(JSON)  # 10 bins: 0-9 … 90-100
    # the KPIs (portal.engagement.kpis), as counts: each share is a count over its n
    prev_users_30: Mapped[int] = mapped_column(Integer, default=0)  # retention, 30 days: n
    retained_30: Mapped[int] = mapped_column(Integer, default=0)
    prev_users_90: Mapped[int] = mapped_column(Integer, default=0)  # retention, 90 days: n
    retained_90: Mapped[int] = mapped_column(Integer, default=0)
    regular_users: Mapped[int] = mapped_column(Integer, default=0)  # lapse: n
    lapsed: Mapped[int] = mapped_column(Integer, default=0)
    eligible: Mapped[int] = mapped_column(Integer, default=0)  # uptake among the eligible: n
    eligible_users: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoreRun(db.Model):
    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    scores: Mapped[int] = mapped_column(Integer, default=0)
    replaced_current: Mapped[bool] = mapped_column(default=True)
    triggered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
