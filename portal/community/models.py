"""Community Q&A: questions and answers (one table of posts), votes, flags,
revisions, follows, moderation and the members' community names.

A question and its answers are ``Post`` rows (``kind``); an answer points at its
question. A post is public only while ``status`` is ``published``: a new account's
first post waits as ``pending`` for a moderator, a post with enough flags (or hidden
by a moderator) is ``hidden``, and the author's delete is a soft ``deleted``.
Counts shown on lists (votes, answers, views) are kept on the post, so a list page
reads one table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
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
    from portal.services.models import Department, Service


class PostKind(StrEnum):
    QUESTION = "question"
    ANSWER = "answer"


class PostStatus(StrEnum):
    PENDING = "pending"  # a new account's first post, waiting for a moderator
    PUBLISHED = "published"
    HIDDEN = "hidden"  # by flags (until reviewed) or by a moderator
    DELETED = "deleted"  # by its author or a moderator (soft: the row stays)


class FlagReason(StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    PERSONAL_DATA = "personal_data"
    OFF_TOPIC = "off_topic"


class ModerationAction(StrEnum):
    APPROVE = "approve"  # a pending first post made public
    RESTORE = "restore"  # a hidden post made public again (its flags dismissed)
    HIDE = "hide"
    DELETE = "delete"
    SILENCE = "silence"  # the author may not post for N days
    UNSILENCE = "unsilence"


class Topic(db.Model):
    """A tag that is not a service ("moving house", "childcare"), named per locale by
    staff."""

    __tablename__ = "community_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_ja: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def name(self) -> str:
        return localized(self, "name")


class QuestionService(db.Model):
    """A question tagged with a service (its department answers officially)."""

    __tablename__ = "community_question_services"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True, index=True)


class QuestionTopic(db.Model):
    __tablename__ = "community_question_topics"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("community_topics.id", ondelete="CASCADE"), primary_key=True, index=True)


class Post(db.Model):
    __tablename__ = "community_posts"
    __table_args__ = (
        # lists: newest, unanswered, most voted (public questions only)
        Index("ix_community_posts_list", "kind", "status", "created_at"),
        Index("ix_community_posts_votes", "kind", "status", "score"),
        # "unanswered": the questions without a public answer, newest first, and their count
        Index("ix_community_posts_unanswered", "kind", "status", "answer_count", "created_at"),
        Index("ix_community_posts_question", "question_id", "status"),
        Index("ix_community_posts_author", "author_id", "created_at"),
        # a concurrent double submit (the same form sent twice) stores one post
        UniqueConstraint("author_id", "submission_key", name="uq_community_posts_submission"),
        CheckConstraint("kind IN ('question', 'answer')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'published', 'hidden', 'deleted')",
                        name="status_known"),
        CheckConstraint("(kind = 'question') = (question_id IS NULL)",
                        name="answer_has_question"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # an answer's question (NULL for a question)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # a question's title ("" for an answer)
    title: Mapped[str] = mapped_column(String(200), default="")
    # Markdown as written; ``body_html`` is its sanitised rendering (portal.community.markdown)
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # the language the post is written in (a locale code)
    lang: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=PostStatus.PUBLISHED)
    # the reason the author sees when a moderator hid or deleted the post
    moderation_reason: Mapped[str] = mapped_column(Text, default="")
    # an official answer: given by staff of a tagged service's department
    official: Mapped[bool] = mapped_column(Boolean, default=False)
    official_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"))
    # the department's last review of its official answer (shown with it)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a question's accepted answer (chosen by the asker)
    accepted_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_posts.id", ondelete="SET NULL"))
    # kept counts: up − down, public answers, public views of a question, open flags
    score: Mapped[int] = mapped_column(Integer, default=0)
    up_votes: Mapped[int] = mapped_column(Integer, default=0)
    down_votes: Mapped[int] = mapped_column(Integer, default=0)
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    flag_count: Mapped[int] = mapped_column(Integer, default=0)
    # insights: a question's first public answer and first official answer
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_official_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the form's one-time key (a hidden field): the same submission twice is one post
    submission_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the last edit by its author (or the department, for an official answer)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a question's last new answer or edit (for "recently active")
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    question: Mapped[Post | None] = relationship(remote_side=[id], foreign_keys=[question_id])
    accepted_answer: Mapped[Post | None] = relationship(
        remote_side=[id], foreign_keys=[accepted_answer_id], viewonly=True)
    official_department: Mapped[Department | None] = relationship()
    services: Mapped[list[Service]] = relationship(secondary="community_question_services",
                                                   order_by="Service.id", viewonly=True)
    topics: Mapped[list[Topic]] = relationship(secondary="community_question_topics",
                                               order_by="Topic.id", viewonly=True)

    @property
    def is_question(self) -> bool:
        return self.kind == PostKind.QUESTION

    @property
    def is_public(self) -> bool:
        return self.status == PostStatus.PUBLISHED

    @property
    def has_public_accepted_answer(self) -> bool:
        """An answer is accepted and readable (a hidden accepted answer keeps its place,
        for when a moderator restores it, but is not shown as accepted meanwhile)."""
        return self.accepted_answer_id is not None and self.accepted_answer is not None \
            and self.accepted_answer.is_public

    @property
    def thread_id(self) -> int:
        """The question this post belongs to (itself for a question)."""
        return self.id if self.question_id is None else self.question_id


class Vote(db.Model):
    """One vote per person per post (+1 or −1), changeable."""

    __tablename__ = "community_votes"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", name="uq_community_votes_once"),
        CheckConstraint("value IN (-1, 1)", name="value_known"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Flag(db.Model):
    """A signed-in person's report of a post (once per person per post)."""

    __tablename__ = "community_flags"
    __table_args__ = (
        UniqueConstraint("post_id", "user_id", name="uq_community_flags_once"),
        Index("ix_community_flags_open", "resolved_at", "post_id"),
        CheckConstraint("reason IN ('spam', 'offensive', 'personal_data', 'off_topic')",
                        name="reason_known"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # set when a moderator restores, hides or deletes the post
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Revision(db.Model):
    """A post as it was before an edit (number 1 is the original)."""

    __tablename__ = "community_revisions"
    __table_args__ = (UniqueConstraint("post_id", "number", name="uq_community_revisions"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    edited_by: Mapped[User | None] = relationship()


class Follow(db.Model):
    __tablename__ = "community_follows"
    __table_args__ = (UniqueConstraint("question_id", "user_id", name="uq_community_follows"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(db.Model):
    """A new answer on a followed question, waiting for the follower's daily digest."""

    __tablename__ = "community_notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "answer_id", name="uq_community_notifications"),
        Index("ix_community_notifications_due", "digested_at", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # set when a digest carried it (or it was dropped: the follower cannot be e-mailed)
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"))


class Member(db.Model):
    """A person's community settings: the name shown on their posts, silencing, the
    first-post review and the last digest."""

    __tablename__ = "community_members"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    # the name shown on posts; None: a neutral name made from the account's number
    public_name: Mapped[str | None] = mapped_column(String(60), unique=True)
    # show the account's own name instead (the resident's choice in their profile)
    show_own_name: Mapped[bool] = mapped_column(Boolean, default=False)
    # a moderator approved a post: later posts are public at once
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    silence_reason: Mapped[str] = mapped_column(Text, default="")
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class ModerationEntry(db.Model):
    """What a moderator did, and why (the reason is shown to the author)."""

    __tablename__ = "community_moderation"
    __table_args__ = (
        Index("ix_community_moderation_post", "post_id", "created_at"),
        Index("ix_community_moderation_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    action: Mapped[str] = mapped_column(String(12))
    # the post acted on (None for silencing, which is about a person)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_posts.id", ondelete="CASCADE"))
    # the post's author (or the person silenced)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    # silencing: for how many days
    days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post | None] = relationship()
    moderator: Mapped[User | None] = relationship(foreign_keys=[moderator_id])
