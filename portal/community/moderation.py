"""Keeping the community civil: residents' reports (flags), the automatic hide at
the threshold, the moderators' decisions (approve, restore, hide, delete), silencing
a member, the moderator permission of staff accounts and the topics.

Each function checks everything first and only then changes anything, so a refusal
leaves nothing half-applied. It writes a ``ModerationEntry`` (what the author and
the other moderators see) and, for a moderator's act, an audit entry, calls the
community's hooks after flushing, and returns — the caller commits. Refusals are
``ModerationError`` with a message safe to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.community import events
from portal.community.models import (
    Flag,
    FlagReason,
    Member,
    ModerationAction,
    ModerationEntry,
    Post,
    PostKind,
    PostStatus,
    Topic,
)
from portal.community.posting import refresh_counts
from portal.extensions import db
from portal.services.models import Service
from portal.timeutil import utcnow

NOTE_MAX = 500
REASON_MAX = 1000
SILENCE_MAX_DAYS = 365
#: earlier hides and deletes within this many days make an author a repeat offender
REPEAT_DAYS = 90
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ModerationError(ValueError):
    """An action that cannot be carried out; ``str(error)`` is safe to show."""


# -- the checks -----------------------------------------------------------------------

def _text(text: str | None, limit: int, *, required: str | None = None) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ModerationError(required)
    if len(text) > limit:
        raise ModerationError(_("Write at most %(n)d characters.", n=limit))
    return text


def _reason(text: str | None) -> str:
    return _text(text, REASON_MAX,
                 required=_("Give a reason: the author sees it with their post."))


def _not_deleted(post: Post) -> None:
    if post.status == PostStatus.DELETED:
        raise ModerationError(_("This post was already deleted: nothing was changed."))


def _public_state_changed(post: Post, *, published: bool) -> None:
    """After a post's status changed: the question's counts, then the hooks."""
    db.session.flush()
    if post.kind == PostKind.ANSWER and post.question is not None:
        refresh_counts(post.question)
        db.session.flush()
    events.post_changed(post)
    if published and post.kind == PostKind.ANSWER:
        events.answer_published(post)


def _resolve_flags(post: Post, moderator: User | None, now: datetime) -> int:
    """Close the post's open flags (a moderator decided); returns how many."""
    result = db.session.execute(
        update(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by_id=moderator.id if moderator else None)
        .execution_options(synchronize_session=False))
    post.flag_count = 0
    return result.rowcount or 0


def open_flag_count(post: Post) -> int:
    """Open flags of the post, each from a distinct account (one flag per account)."""
    return db.session.scalar(select(func.count(Flag.id)).where(
        Flag.post_id == post.id, Flag.resolved_at.is_(None))) or 0


def _entry(action: str, *, post: Post | None, user_id: int | None, moderator: User | None,
           reason: str = "", days: int | None = None, now: datetime) -> ModerationEntry:
    entry = ModerationEntry(action=action, post_id=post.id if post else None, user_id=user_id,
                            moderator_id=moderator.id if moderator else None, reason=reason,
                            days=days, created_at=now)
    db.session.add(entry)
    return entry


def member_of(user: User) -> Member:
    """The person's community settings (created on first need)."""
    member = db.session.get(Member, user.id)
    if member is None:
        member = Member(user_id=user.id)
        db.session.add(member)
        db.session.flush()
    return member


# -- flags ----------------------------------------------------------------------------------

def flag_post(post: Post, *, user: User, reason: str, note: str = "",
              threshold: int | None = None, now: datetime | None = None) -> Flag:
    """A signed-in person reports a public post. At ``threshold`` open flags (from
    distinct accounts: one per account) the post is hidden until a moderator
    reviews it."""
    if post.author_id is not None and post.author_id == user.id:
        raise ModerationError(_("You cannot report your own post."))
    if post.status != PostStatus.PUBLISHED or (
            post.question is not None and post.question.status != PostStatus.PUBLISHED):
        raise ModerationError(_("This post is not public: there is nothing to report."))
    if reason not in {r.value for r in FlagReason}:
        raise ModerationError(_("Choose why you are reporting this post."))
    note = _text(note, NOTE_MAX)
    if db.session.scalar(select(Flag.id).where(Flag.post_id == post.id,
                                               Flag.user_id == user.id)) is not None:
        raise ModerationError(_("You have already reported this post. Thank you: a "
                                "moderator will look at it."))
    now = now or utcnow()
    flag = Flag(post_id=post.id, user_id=user.id, reason=reason, note=note, created_at=now)
    try:
        with db.session.begin_nested():  # the same report sent twice at once: one row
            db.session.add(flag)
    except IntegrityError:
        raise ModerationError(_("You have already reported this post. Thank you: a "
                                "moderator will look at it.")) from None
    post.flag_count = open_flag_count(post)
    if threshold is None:
        threshold = current_app.config["COMMUNITY_FLAG_THRESHOLD"]
    if post.flag_count >= threshold:
        post.status = PostStatus.HIDDEN
        _entry(ModerationAction.HIDE, post=post, user_id=post.author_id, moderator=None,
               now=now)
        _public_state_changed(post, published=False)
    else:
        db.session.flush()
    return flag


def flagged_by(user: User, post_ids) -> set[int]:
    """Which of the posts (ids, or a select of ids) the person has reported: one
    query for a whole page."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.scalars(select(Flag.post_id).where(
        Flag.user_id == user.id, Flag.post_id.in_(post_ids))))


# -- moderators' decisions ----------------------------------------------------------------

def _audit(code: str, post: Post, moderator: User, summary: str, **data) -> None:
    record(code, actor=moderator, target=post, summary=summary,
           data={"kind": post.kind, "author": post.author_id, **data})


def approve(post: Post, *, moderator: User, now: datetime | None = None) -> Post:
    """A pending first post made public; its author's later posts are public at once."""
    if post.status != PostStatus.PENDING:
        raise ModerationError(_("This post is not waiting for review: nothing was changed."))
    now = now or utcnow()
    post.status = PostStatus.PUBLISHED
    post.moderation_reason = ""
    if post.author is not None:
        member_of(post.author).trusted = True
    _entry(ModerationAction.APPROVE, post=post, user_id=post.author_id, moderator=moderator,
           now=now)
    _audit("community.approve", post, moderator, "Approved a first post")
    _public_state_changed(post, published=True)
    return post


def restore(post: Post, *, moderator: User, reason: str = "",
            now: datetime | None = None) -> Post:
    """A hidden post made public again, or a public post's reports dismissed (it stays
    public and leaves the queue); its open flags are dismissed either way."""
    if post.status == PostStatus.PUBLISHED and post.flag_count > 0:
        reason = _text(reason, REASON_MAX)
        now = now or utcnow()
        dismissed = _resolve_flags(post, moderator, now)
        _entry(ModerationAction.RESTORE, post=post, user_id=post.author_id,
               moderator=moderator, reason=reason, now=now)
        _audit("community.restore", post, moderator, "Dismissed the reports of a public post",
               flags=dismissed)
        db.session.flush()
        return post
    if post.status != PostStatus.HIDDEN:
        raise ModerationError(_("This post is not hidden: nothing was changed."))
    reason = _text(reason, REASON_MAX)
    now = now or utcnow()
    dismissed = _resolve_flags(post, moderator, now)
    post.status = PostStatus.PUBLISHED
    post.moderation_reason = ""
    _entry(ModerationAction.RESTORE, post=post, user_id=post.author_id, moderator=moderator,
           reason=reason, now=now)
    _audit("community.restore", post, moderator, "Restored a hidden post", flags=dismissed)
    _public_state_changed(post, published=True)
    return post


def hide(post: Post, *, moderator: User, reason: str, now: datetime | None = None) -> Post:
    """Hidden, with a reason the author sees (a post hidden by flags stays hidden and
    leaves the queue: its flags are upheld)."""
    _not_deleted(post)
    if post.status == PostStatus.HIDDEN and post.flag_count == 0:
        raise ModerationError(_("This post is already hidden: nothing was changed."))
    reason = _reason(reason)
    now = now or utcnow()
    upheld = _resolve_flags(post, moderator, now)
    before = post.status
    post.status = PostStatus.HIDDEN
    post.moderation_reason = reason
    _entry(ModerationAction.HIDE, post=post, user_id=post.author_id, moderator=moderator,
           reason=reason, now=now)
    _audit("community.hide", post, moderator, "Hid a post", before=before, flags=upheld)
    _public_state_changed(post, published=False)
    return post


def delete(post: Post, *, moderator: User, reason: str, now: datetime | None = None) -> Post:
    """Deleted (soft: the row stays, the author still sees it with the reason)."""
    _not_deleted(post)
    reason = _reason(reason)
    now = now or utcnow()
    upheld = _resolve_flags(post, moderator, now)
    before = post.status
    post.status = PostStatus.DELETED
    post.deleted_at = now
    post.moderation_reason = reason
    question = post.question if post.kind == PostKind.ANSWER else None
    if question is not None and question.accepted_answer_id == post.id:
        question.accepted_answer_id = None  # as when the author deletes it
    _entry(ModerationAction.DELETE, post=post, user_id=post.author_id, moderator=moderator,
           reason=reason, now=now)
    _audit("community.delete", post, moderator, "Deleted a post", before=before, flags=upheld)
    _public_state_changed(post, published=False)
    return post


def offences(user_ids, *, now: datetime | None = None, days: int = REPEAT_DAYS) -> dict:
    """Hides and deletes decided by a moderator in the last ``days`` days, per
    author (one query for a page)."""
    user_ids = [u for u in set(user_ids) if u is not None]
    if not user_ids:
        return {}
    since = (now or utcnow()) - timedelta(days=days)
    rows = db.session.execute(
        select(ModerationEntry.user_id, func.count(ModerationEntry.id))
        .where(ModerationEntry.user_id.in_(user_ids),
               ModerationEntry.action.in_([ModerationAction.HIDE, ModerationAction.DELETE]),
               ModerationEntry.moderator_id.is_not(None),
               ModerationEntry.created_at >= since)
        .group_by(ModerationEntry.user_id))
    return {row[0]: row[1] for row in rows}


# -- silencing ------------------------------------------------------------------------------

def is_silenced(member: Member | None, now: datetime | None = None) -> bool:
    return bool(member and member.silenced_until and member.silenced_until > (now or utcnow()))


def silence(user: User, *, moderator: User, days: int | None, reason: str,
            now: datetime | None = None) -> Member:
    """The member may not post for ``days`` days (from now; a new silence replaces
    a running one)."""
    if user.role != Role.RESIDENT:
        raise ModerationError(_("Only residents' accounts can be silenced."))
    if days is None or not 1 <= days <= SILENCE_MAX_DAYS:
        raise ModerationError(_("Silence for 1 to %(n)d days.", n=SILENCE_MAX_DAYS))
    reason = _text(reason, REASON_MAX,
                   required=_("Give a reason: the member sees it when they try to post."))
    now = now or utcnow()
    member = member_of(user)
    member.silenced_until = now + timedelta(days=days)
    member.silence_reason = reason
    _entry(ModerationAction.SILENCE, post=None, user_id=user.id, moderator=moderator,
           reason=reason, days=days, now=now)
    record("community.silence", actor=moderator, target=("community_members", user.id),
           summary=f"Silenced for {days} days",
           data={"days": days, "until": member.silenced_until.isoformat()})
    db.session.flush()
    return member


def unsilence(user: User, *, moderator: User, now: datetime | None = None) -> Member:
    now = now or utcnow()
    member = db.session.get(Member, user.id)
    if not is_silenced(member, now):
        raise ModerationError(_("This member is not silenced: nothing was changed."))
    until = member.silenced_until
    member.silenced_until = None
    member.silence_reason = ""
    _entry(ModerationAction.UNSILENCE, post=None, user_id=user.id, moderator=moderator,
           now=now)
    record("community.unsilence", actor=moderator, target=("community_members", user.id),
           summary="Lifted a silence",
           data={"was_until": until.isoformat() if until else None})
    db.session.flush()
    return member


def silence_text(member: Member) -> str:
    """"Silenced until <date>" in the reader's language."""
    return _("Silenced until %(date)s", date=format_date(member.silenced_until))


# -- the moderator permission ---------------------------------------------------------------

def set_moderator(user: User, *, actor: User, value: bool) -> bool:
    """Give or take away the moderator permission (it counts for staff only:
    managers and admins always moderate). Returns whether it changed."""
    value = bool(value)
    if bool(user.community_moderator) == value:
        return False
    user.community_moderator = value
    record("community.moderator_change", actor=actor, target=user,
           summary="Community moderator permission " + ("given" if value else "taken away"),
           data={"moderator": value, "role": user.role})
    db.session.flush()
    return True


# -- topics ---------------------------------------------------------------------------------

@dataclass
class TopicValues:
    slug: str
    name_ja: str
    name_en: str
    active: bool = True


def _topic_values(values: TopicValues, topic: Topic | None = None) -> TopicValues:
    slug = (values.slug or "").strip().lower()
    if not SLUG_RE.match(slug) or len(slug) > 60:
        raise ModerationError(_("The short name uses lower-case letters, digits and hyphens "
                                "only (at most 60), for example “moving-house”."))
    clash = db.session.scalar(select(Topic.id).where(Topic.slug == slug))
    if clash is not None and (topic is None or clash != topic.id):
        raise ModerationError(_("Another topic already has this short name."))
    if db.session.scalar(select(Service.id).where(Service.slug == slug)) is not None:
        raise ModerationError(_("A service has this short name: a topic is a tag that is "
                                "not a service."))
    name_ja, name_en = (values.name_ja or "").strip(), (values.name_en or "").strip()
    if not name_ja and not name_en:
        raise ModerationError(_("Give the topic a name in at least one language."))
    if len(name_ja) > 80 or len(name_en) > 80:
        raise ModerationError(_("A topic's name can be at most %(n)d characters.", n=80))
    return TopicValues(slug, name_ja, name_en, bool(values.active))


def create_topic(values: TopicValues, *, actor: User) -> Topic:
    values = _topic_values(values)
    topic = Topic(slug=values.slug, name_ja=values.name_ja, name_en=values.name_en,
                  active=values.active)
    db.session.add(topic)
    db.session.flush()
    record("community.topic_create", actor=actor, target=topic,
           summary=f"Created topic {topic.slug}", data=vars(values))
    return topic


def update_topic(topic: Topic, values: TopicValues, *, actor: User) -> bool:
    values = _topic_values(values, topic)
    before = TopicValues(topic.slug, topic.name_ja, topic.name_en, topic.active)
    if before == values:
        return False
    topic.slug, topic.name_ja, topic.name_en, topic.active = (
        values.slug, values.name_ja, values.name_en, values.active)
    db.session.flush()
    record("community.topic_update", actor=actor, target=topic,
           summary=f"Changed topic {topic.slug}",
           data={"before": vars(before), "after": vars(values)})
    return True
