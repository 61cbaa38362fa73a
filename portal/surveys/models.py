"""Surveys, their questions, invitations, responses and answers.

Anonymity is structural: a response to an anonymous survey has no resident and
no invitation (``ck_survey_responses_...``-style checks cannot see the survey, so
``responses.submit`` enforces it and ``tests/test_survey_anonymity.py`` checks the
schema and the rows). The invitation only learns that it was *completed*. Work in
progress (save and resume) lives in ``SurveyDraft`` keyed by the invitation or the
account, and is deleted when the response is submitted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

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


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionType(StrEnum):
    CSAT = "csat"  # 1–5
    NPS = "nps"  # 0–10
    CES = "ces"  # 1–7, "how easy"
    RATING = "rating"  # 1–N
    SINGLE = "single"  # one of the options
    MULTIPLE = "multiple"  # any of the options
    YES_NO = "yes_no"  # 1 yes, 0 no
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"


# questions whose answers are numbers on a scale, with the scale's ends
SCALES = {QuestionType.CSAT: (1, 5), QuestionType.NPS: (0, 10), QuestionType.CES: (1, 7)}
NUMERIC = {QuestionType.CSAT, QuestionType.NPS, QuestionType.CES, QuestionType.RATING,
           QuestionType.YES_NO}
CHOICE = {QuestionType.SINGLE, QuestionType.MULTIPLE}
TEXT = {QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT}
# the types that feed the satisfaction measure of the engagement score
SATISFACTION = {QuestionType.CSAT, QuestionType.NPS, QuestionType.CES}


class ResponseChannel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PAPER = "paper"
    PHONE = "phone"
    COUNTER = "counter"
    KIOSK = "kiosk"


class ShowIfOperator(StrEnum):
    EQUALS = "equals"
    ONE_OF = "one_of"
    AT_MOST = "at_most"
    AT_LEAST = "at_least"


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("closes_on IS NULL OR opens_on IS NULL OR opens_on <= closes_on",
                        name="dates_ordered"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status_known"),
        CheckConstraint("reminder_after_days IS NULL OR reminder_after_days > 0",
                        name="reminder_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # the owning department (the service's, when there is one): staff of it build it
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"),
                                               index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"),
                                                   index=True)
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    intro_ja: Mapped[str] = mapped_column(Text, default="")
    intro_en: Mapped[str] = mapped_column(Text, default="")
    thanks_ja: Mapped[str] = mapped_column(Text, default="")
    thanks_en: Mapped[str] = mapped_column(Text, default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default=SurveyStatus.DRAFT, index=True)
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    # days after the invitation for the one reminder to those who have not answered
    reminder_after_days: Mapped[int | None] = mapped_column(Integer)
    # days an invitation link stays valid
    invitation_valid_days: Mapped[int] = mapped_column(Integer, default=30)
    # a code the starter surveys carry so that `portal seed` adds each once
    seed_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan")
    service = relationship("Service")
    department = relationship("Department")

    def text(self, field: str) -> str:
        return localized(self, field)

    @property
    def title(self) -> str:
        return localized(self, "title")


class Question(db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "key"),
        CheckConstraint("scale_max IS NULL OR (scale_max >= 2 AND scale_max <= 10)",
                        name="scale_max_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"),
                                           index=True)
    # a stable name within the survey ("q1", "visit_reason"): show-if logic and the
    # JSON definition refer to questions by it
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # questions are shown one section (page) at a time, in order
    section: Mapped[int] = mapped_column(Integer, default=1)
    type: Mapped[str] = mapped_column(String(20))
    text_ja: Mapped[str] = mapped_column(String(500), default="")
    text_en: Mapped[str] = mapped_column(String(500), default="")
    help_ja: Mapped[str] = mapped_column(String(500), default="")
    help_en: Mapped[str] = mapped_column(String(500), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # rating: 1..scale_max
    scale_max: Mapped[int | None] = mapped_column(Integer)
    # single / multiple: [{"value": "bus", "label_ja": "バス", "label_en": "Bus"}, ...]
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # {"question": "<key>", "op": "equals|one_of|at_most|at_least", "value": ...}
    show_if: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # a closed question is no longer asked; its answers stay
    closed: Mapped[bool] = mapped_column(Boolean, default=False)

    survey: Mapped[Survey] = relationship(back_populates="questions")

    def text(self, field: str = "text") -> str:
        return localized(self, field)


class Invitation(db.Model):
    """One resident asked to answer one survey: by e-mail (a single-use token), or
    by a signed-in link on My page (no token). At most one per resident and survey
    and *occasion*: empty for every ordinary invitation (so one per resident and
    survey), ``inquiry:<id>`` for the follow-up of one inquiry (a resident may be
    asked about each inquiry they had; ``portal.inquiries.loop``).
    The token itself is never stored: its SHA-256 is (and, for e-mailed ones, the
    salt it is re-derived from with the secret key for the reminder)."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("survey_id", "resident_id", "occasion"),
        Index("ix_survey_invitations_pending", "survey_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"),
                                             index=True)
    occasion: Mapped[str] = mapped_column(String(40), default="", server_default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # e-mailed invitations: the random salt the token is derived from with the app's
    # secret key (``invitations.invitation_token``), so that the reminder carries the
    # same link; useless without the key
    token_salt: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(10), default=ResponseChannel.EMAIL)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    survey: Mapped[Survey] = relationship()
    resident = relationship("Resident")


class SurveyDraft(db.Model):
    """Answers typed so far, to resume later from the same link: keyed by the
    invitation (a token link) or by the account (signed in). Deleted on submit."""

    __tablename__ = "survey_drafts"
    __table_args__ = (
        UniqueConstraint("survey_id", "invitation_id"),
        UniqueConstraint("survey_id", "user_id"),
        CheckConstraint("invitation_id IS NOT NULL OR user_id IS NOT NULL", name="has_owner"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # {"<question key>": value or [values]}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    section: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Response(db.Model):
    """One completed response. Identified surveys: the resident (``resident_id``).
    Anonymous surveys: no resident and nothing that leads to one — the district, age
    band and language are kept for the break-downs (suppressed below the minimum n),
    and the time only as a date."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "submission_key"),
        Index("ix_survey_responses_survey_time", "survey_id", "submitted_at"),
        Index("ix_survey_responses_resident", "resident_id", "survey_id"),
        Index("ix_survey_responses_detractor", "detractor", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id",
                                                               ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    # what makes a second submit of the same form the same response (a nonce in the
    # form; never the invitation token)
    submission_key: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the break-downs, as they were when the response was given
    district: Mapped[str | None] = mapped_column(String(80))
    age_band: Mapped[str | None] = mapped_column(String(10))
    locale: Mapped[str | None] = mapped_column(String(10))
    # any NPS 0–6, CSAT 1–2 or CES 1–2 answer: the playbooks' detractor signal
    detractor: Mapped[bool] = mapped_column(Boolean, default=False)
    # staff who entered a paper or phone response
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    survey: Mapped[Survey] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response",
                                                 cascade="all, delete-orphan")


class Answer(db.Model):
    """One answer: a number (scales, ratings, yes/no), a choice (one row per chosen
    option of a multiple-choice question) or a text."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        Index("ix_survey_answers_question", "question_id", "number"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id",
                                                        ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(Integer)
    choice: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
