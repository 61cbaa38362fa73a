"""What the moderation pages read: the queue's three sections, a member's history
and the count shown in the console's navigation. Each page reads a fixed number of
queries whatever the number of posts (authors, questions, flags and earlier
offences are loaded for the whole page at once)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.auth.models import User
from portal.community import names
from portal.community.models import (
    Flag,
    Member,
    ModerationEntry,
    Post,
    PostKind,
    PostStatus,
)
from portal.community.moderation import offences
from portal.extensions import db
from portal.timeutil import utcnow

SECTION_LIMIT = 50
RECENT_LIMIT = 20
HISTORY_LIMIT = 100


@dataclass
class Item:
    """A post in the queue with what the moderator needs to decide."""

    post: Post
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (reason code, count)
    notes: list[Flag] = field(default_factory=list)
    offences: int = 0


@dataclass
class Queue:
    pending: list[Item]
    pending_total: int
    reported: list[Item]
    reported_total: int
    recent: list[ModerationEntry]
    people: dict[int, User]  # authors of the recent decisions' posts, by id


def _open_flagged_posts():
    """Ids of posts with an open flag (the flags' open index)."""
    return select(Flag.post_id).where(Flag.resolved_at.is_(None))


def _reported_where():
    return (Post.id.in_(_open_flagged_posts()),
            Post.status.in_([PostStatus.PUBLISHED, PostStatus.HIDDEN]))


def _pending_where():
    # the list index leads with ``kind``: both kinds named, the count reads the index
    return (Post.kind.in_([PostKind.QUESTION, PostKind.ANSWER]),
            Post.status == PostStatus.PENDING)


def _posts(stmt) -> list[Post]:
    return list(db.session.scalars(stmt.options(
        selectinload(Post.author), selectinload(Post.question))))


def _items(posts: list[Post], now: datetime) -> list[Item]:
    items = {post.id: Item(post) for post in posts}
    if not items:
        return []
    reasons: dict[int, Counter] = {post_id: Counter() for post_id in items}
    for flag in db.session.scalars(select(Flag).where(
            Flag.post_id.in_(items), Flag.resolved_at.is_(None)).order_by(Flag.created_at)):
        reasons[flag.post_id][flag.reason] += 1
        if flag.note:
            items[flag.post_id].notes.append(flag)
    earlier = offences((p.author_id for p in posts), now=now)
    for post_id, item in items.items():
        item.reasons = reasons[post_id].most_common()
        item.offences = earlier.get(item.post.author_id, 0)
    return list(items.values())


def waiting_counts() -> tuple[int, int]:
    """(posts waiting for review, reported posts): the queue's heading and the
    console's navigation."""
    row = db.session.execute(select(
        select(func.count(Post.id)).where(*_pending_where()).scalar_subquery(),
        select(func.count(Post.id)).where(*_reported_where()).scalar_subquery())).one()
    return row[0] or 0, row[1] or 0


def queue(now: datetime | None = None) -> Queue:
    now = now or utcnow()
    pending_total, reported_total = waiting_counts()
    pending = _posts(select(Post).where(*_pending_where())
                     .order_by(Post.created_at, Post.id).limit(SECTION_LIMIT))
    hidden_first = case((Post.status == PostStatus.HIDDEN, 0), else_=1)
    reported = _posts(select(Post).where(*_reported_where())
                      .order_by(hidden_first, Post.flag_count.desc(), Post.created_at, Post.id)
                      .limit(SECTION_LIMIT))
    recent = list(db.session.scalars(
        select(ModerationEntry).where(ModerationEntry.post_id.is_not(None))
        .order_by(ModerationEntry.created_at.desc(), ModerationEntry.id.desc())
        .limit(RECENT_LIMIT)
        .options(selectinload(ModerationEntry.post), selectinload(ModerationEntry.moderator))))
    people_ids = {e.user_id for e in recent if e.user_id}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))
              } if people_ids else {}
    names.preload([post.author_id for post in pending + reported] + list(people_ids))
    return Queue(pending=_items(pending, now), pending_total=pending_total,
                 reported=_items(reported, now), reported_total=reported_total,
                 recent=recent, people=people)


@dataclass
class History:
    member: Member | None
    posts: list[Post]
    post_total: int
    flags: list[Flag]  # flags others gave the member's posts, newest first
    flag_reasons: list[tuple[str, int]]
    entries: list[ModerationEntry]
    offences: int


def history(user: User, now: datetime | None = None) -> History:
    now = now or utcnow()
    posts = list(db.session.scalars(
        select(Post).where(Post.author_id == user.id)
        .order_by(Post.created_at.desc(), Post.id.desc()).limit(HISTORY_LIMIT)
        .options(selectinload(Post.question))))
    post_total = db.session.scalar(
        select(func.count(Post.id)).where(Post.author_id == user.id)) or 0
    flags = list(db.session.scalars(
        select(Flag).join(Post, Post.id == Flag.post_id).where(Post.author_id == user.id)
        .order_by(Flag.created_at.desc(), Flag.id.desc()).limit(HISTORY_LIMIT)))
    reasons = Counter(f.reason for f in flags)
    entries = list(db.session.scalars(
        select(ModerationEntry).where(ModerationEntry.user_id == user.id)
        .order_by(ModerationEntry.created_at.desc(), ModerationEntry.id.desc())
        .limit(HISTORY_LIMIT)
        .options(selectinload(ModerationEntry.moderator), selectinload(ModerationEntry.post))))
    return History(member=db.session.get(Member, user.id), posts=posts, post_total=post_total,
                   flags=flags, flag_reasons=reasons.most_common(), entries=entries,
                   offences=offences([user.id], now=now).get(user.id, 0))
