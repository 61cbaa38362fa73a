"""What the community pages read: the question lists and one question's thread.

Each list page is a fixed number of queries whatever its length: the page of
questions, then their tags, authors and the authors' community names in one query
each.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.community import names
from portal.community.models import (
    Post,
    PostKind,
    PostStatus,
    QuestionService,
    QuestionTopic,
    Revision,
    Topic,
    Vote,
)
from portal.extensions import db
from portal.services.models import Service

SORTS = ("newest", "unanswered", "votes")
PER_PAGE = 20


def question_list(sort: str = "newest", service: Service | None = None,
                  topic: Topic | None = None):
    """The public questions, sorted and filtered, as a ``select``."""
    query = (select(Post).where(Post.kind == PostKind.QUESTION,
                                Post.status == PostStatus.PUBLISHED)
             .options(selectinload(Post.services), selectinload(Post.topics),
                      selectinload(Post.author), selectinload(Post.accepted_answer)))
    if service is not None:
        query = query.where(Post.id.in_(select(QuestionService.question_id)
                                        .where(QuestionService.service_id == service.id)))
    if topic is not None:
        query = query.where(Post.id.in_(select(QuestionTopic.question_id)
                                        .where(QuestionTopic.topic_id == topic.id)))
    if sort == "unanswered":
        query = query.where(Post.answer_count == 0).order_by(Post.created_at.desc(),
                                                             Post.id.desc())
    elif sort == "votes":
        query = query.order_by(Post.score.desc(), Post.created_at.desc(), Post.id.desc())
    else:
        query = query.order_by(Post.created_at.desc(), Post.id.desc())
    return query


def preload_names(posts) -> None:
    names.preload(post.author_id for post in posts)


def visible_to(post: Post, user, *, moderator: bool = False) -> bool:
    """Public posts to everyone; the author (and moderators) also see the others."""
    if post.status == PostStatus.PUBLISHED:
        return True
    if moderator:
        return True
    return bool(user is not None and user.is_authenticated and post.author_id == user.id)


def answers_of(question: Post, user, *, moderator: bool = False) -> list[Post]:
    """The answers shown under a question: accepted first, then official ones, then by
    score, then oldest. The public ones, and the reader's own whatever their state."""
    shown = Post.status == PostStatus.PUBLISHED
    if moderator:
        shown = Post.status != PostStatus.DELETED
    if user is not None and user.is_authenticated:
        shown = shown | (Post.author_id == user.id)
    accepted = case((Post.id == question.accepted_answer_id, 0), else_=1) \
        if question.accepted_answer_id else None
    order = [c for c in (accepted,) if c is not None] + [
        Post.official.desc(), Post.score.desc(), Post.created_at, Post.id]
    return list(db.session.scalars(
        select(Post).where(Post.question_id == question.id, Post.kind == PostKind.ANSWER,
                           shown)
        .options(selectinload(Post.author), selectinload(Post.official_department))
        .order_by(*order)))


def own_votes(user, posts) -> dict[int, int]:
    """The reader's votes on these posts (post id → +1/−1)."""
    if user is None or not user.is_authenticated or not posts:
        return {}
    rows = db.session.execute(select(Vote.post_id, Vote.value).where(
        Vote.user_id == user.id, Vote.post_id.in_([p.id for p in posts])))
    return {row.post_id: row.value for row in rows}


@dataclass(frozen=True)
class Version:
    number: int
    title: str
    body_html: str
    at: object
    current: bool = False


def revisions_of(post: Post) -> list[Version]:
    """Every version of a post, newest first (the current text first)."""
    from portal.community.markdown import render

    rows = db.session.scalars(select(Revision).where(Revision.post_id == post.id)
                              .order_by(Revision.number.desc())).all()
    current = Version(len(rows) + 1, post.title, post.body_html,
                      post.edited_at or post.created_at, current=True)
    return [current, *(Version(r.number, r.title, str(render(r.body)), r.created_at)
                       for r in rows)]


SERVICE_PAGE_QUESTIONS = 3


def service_questions(service: Service, limit: int = SERVICE_PAGE_QUESTIONS):
    """A service page's latest public questions tagged with it, and how many there are."""
    tagged = select(QuestionService.question_id).where(QuestionService.service_id == service.id)
    public = (Post.kind == PostKind.QUESTION, Post.status == PostStatus.PUBLISHED,
              Post.id.in_(tagged))
    total = db.session.scalar(select(func.count(Post.id)).where(*public)) or 0
    latest = db.session.scalars(select(Post).where(*public)
                                .order_by(Post.created_at.desc(), Post.id.desc())
                                .limit(limit)).all() if total else []
    return latest, total
