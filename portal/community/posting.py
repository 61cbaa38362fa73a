"""Residents' own posting: ask, answer, edit, delete, vote, accept, follow, and the
community name. Operations take plain arguments, flush and return; they never commit
or read the request. A refusal is a ``CommunityError`` with a message for the person.

Other parts call ``refresh_counts(question)`` whenever an answer's public state
changes (moderation, official answers): it recomputes the kept counts from the rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy import delete as sql_delete  # ``delete`` below is the author's soft delete
from sqlalchemy.exc import IntegrityError

from portal.auth.models import Role, User
from portal.community import events, markdown, names
from portal.community.models import (
    Follow,
    Member,
    Notification,
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
from portal.i18n import _datetime as local_datetime  # the portal's one date-time format
from portal.services.models import Service
from portal.timeutil import utcnow

TITLE_MAX = 200
TITLE_MIN = 5
NAME_MIN, NAME_MAX = 2, 40
#: names that would pass for the portal's own (a neutral name, staff, a deleted account)
_RESERVED_NAME = re.compile(r"^\s*(resident|住民)\s*\d+\s*$|^\s*(municipal staff|市の職員|"
                            r"deleted account|削除されたアカウント)\s*$", re.IGNORECASE)


class CommunityError(ValueError):
    """A community action refused, with a message for the person who tried it."""


# -- members ---------------------------------------------------------------------------

def member_for(user: User) -> Member:
    """The person's community settings (created with the defaults on first use)."""
    member = db.session.get(Member, user.id)
    if member is not None:
        return member
    try:  # a double submit of a first post creates it in two requests at once
        with db.session.begin_nested():
            member = Member(user_id=user.id)
            db.session.add(member)
            db.session.flush()
    except IntegrityError:
        member = db.session.get(Member, user.id, populate_existing=True)
        if member is None:
            raise
    return member


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_may_post(user: User) -> Member:
    """Refuse a silenced member (until when, and why)."""
    if user is None or user.role != Role.RESIDENT or not user.is_active:
        raise CommunityError(_("Only signed-in residents can post in the community."))
    member = member_for(user)
    if member.silenced_until is not None and _aware(member.silenced_until) > utcnow():
        until = local_datetime(_aware(member.silenced_until))
        if member.silence_reason:
            raise CommunityError(_("You cannot post in the community until %(until)s. "
                                   "Reason: %(reason)s", until=until,
                                   reason=member.silence_reason))
        raise CommunityError(_("You cannot post in the community until %(until)s.",
                               until=until))
    return member


def _needs_review(member: Member) -> bool:
    if not current_app.config["COMMUNITY_FIRST_POST_REVIEW"] or member.trusted:
        return False
    published = db.session.scalar(
        select(Post.id).where(Post.author_id == member.user_id,
                              Post.status == PostStatus.PUBLISHED).limit(1))
    return published is None


def set_community_name(user: User, public_name: str | None, show_own_name: bool) -> bool:
    """The name shown on the person's posts; returns whether anything changed."""
    member = member_for(user)
    name = " ".join((public_name or "").split()) or None
    if name is not None:
        if not NAME_MIN <= len(name) <= NAME_MAX:
            raise CommunityError(_("A community name has %(min)s to %(max)s characters.",
                                   min=NAME_MIN, max=NAME_MAX))
        if _RESERVED_NAME.match(name):
            raise CommunityError(_("That name looks like one the portal gives; please "
                                   "choose another."))
        taken = db.session.scalar(
            select(Member.user_id).where(func.lower(Member.public_name) == name.lower(),
                                         Member.user_id != user.id).limit(1))
        if taken is not None:
            raise CommunityError(_("The name “%(name)s” is already taken; please choose "
                                   "another.", name=name))
    changed = (member.public_name, member.show_own_name) != (name, bool(show_own_name))
    member.public_name = name
    member.show_own_name = bool(show_own_name)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # taken meanwhile by someone else
        raise CommunityError(_("The name “%(name)s” is already taken; please choose "
                               "another.", name=name)) from None
    names.forget(user.id)
    return changed


# -- counts -----------------------------------------------------------------------------

def refresh_counts(question: Post) -> None:
    """Recompute a question's ``answer_count``, ``first_answer_at`` and
    ``first_official_answer_at`` from its public answers (one query)."""
    row = db.session.execute(
        select(func.count(Post.id), func.min(Post.created_at),
               func.min(case((Post.official.is_(True), Post.created_at))))
        .where(Post.question_id == question.id, Post.kind == PostKind.ANSWER,
               Post.status == PostStatus.PUBLISHED)).one()
    question.answer_count = row[0] or 0
    question.first_answer_at = row[1]
    question.first_official_answer_at = row[2]
    db.session.flush()


def _refresh_votes(post: Post) -> None:
    up = select(func.count(Vote.id)).where(Vote.post_id == post.id, Vote.value == 1) \
        .scalar_subquery()
    down = select(func.count(Vote.id)).where(Vote.post_id == post.id, Vote.value == -1) \
        .scalar_subquery()
    db.session.execute(update(Post).where(Post.id == post.id)
                       .values(up_votes=up, down_votes=down, score=up - down)
                       .execution_options(synchronize_session=False))
    db.session.refresh(post, ["up_votes", "down_votes", "score"])


# -- creating ---------------------------------------------------------------------------

def _check_text(title: str | None, body: str) -> None:
    if title is not None:
        if not title:
            raise CommunityError(_("Enter a title for your question."))
        if len(title) > TITLE_MAX:
            raise CommunityError(_("The title has %(n)s characters; at most %(max)s are "
                                   "allowed. Please shorten it.", n=len(title), max=TITLE_MAX))
    limit = current_app.config["COMMUNITY_POST_MAX_CHARS"]
    if not body.strip():
        raise CommunityError(_("Write something before posting."))
    if len(body) > limit:
        raise CommunityError(_("The text has %(n)s characters; at most %(max)s are allowed. "
                               "Please shorten it.", n=len(body), max=limit))


def _existing(author: User, submission_key: str | None) -> Post | None:
    if not submission_key:
        return None
    return db.session.scalar(select(Post).where(Post.author_id == author.id,
                                                Post.submission_key == submission_key))


def _store(post: Post, author: User) -> tuple[Post, bool]:
    """Insert the post; the same submission already stored (a double submit) returns
    that one instead. ``(post, created)``."""
    existing = _existing(author, post.submission_key)
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            db.session.add(post)
            db.session.flush()
    except IntegrityError:
        existing = _existing(author, post.submission_key)
        if existing is None:
            raise
        return existing, False
    return post, True


def ask(author: User, *, title: str, body: str, lang: str, services: Iterable[Service] = (),
        topics: Iterable[Topic] = (), submission_key: str | None = None) -> tuple[Post, bool]:
    """A new question; ``(question, created)`` — created is False for a double submit."""
    member = check_may_post(author)
    title = " ".join((title or "").split())
    body = (body or "").strip()
    _check_text(title, body)
    services, topics = list(services), list(topics)
    if not services and not topics:
        raise CommunityError(_("Choose at least one tag: a service or a topic."))
    existing = _existing(author, submission_key)
    if existing is not None:
        return existing, False
    status = PostStatus.PENDING if _needs_review(member) else PostStatus.PUBLISHED
    post, created = _store(Post(kind=PostKind.QUESTION, author_id=author.id, title=title,
                                body=body, body_html=str(markdown.render(body)), lang=lang,
                                status=status, submission_key=submission_key), author)
    if not created:
        return post, False
    db.session.add_all([QuestionService(question_id=post.id, service_id=s.id)
                        for s in {s.id: s for s in services}.values()])
    db.session.add_all([QuestionTopic(question_id=post.id, topic_id=t.id)
                        for t in {t.id: t for t in topics}.values()])
    db.session.add(Follow(question_id=post.id, user_id=author.id))
    db.session.flush()
    db.session.refresh(post)
    events.post_changed(post)
    return post, True


def answer(author: User, question: Post, *, body: str, lang: str | None = None,
           submission_key: str | None = None) -> tuple[Post, bool]:
    """A new answer to a public question; ``(answer, created)``."""
    member = check_may_post(author)
    if not question.is_question or question.status != PostStatus.PUBLISHED:
        raise CommunityError(_("This question is not open for answers."))
    body = (body or "").strip()
    _check_text(None, body)
    existing = _existing(author, submission_key)
    if existing is not None:
        return existing, False
    status = PostStatus.PENDING if _needs_review(member) else PostStatus.PUBLISHED
    post, created = _store(Post(kind=PostKind.ANSWER, question_id=question.id,
                                author_id=author.id, body=body,
                                body_html=str(markdown.render(body)),
                                lang=lang or question.lang, status=status,
                                submission_key=submission_key), author)
    if not created:
        return post, False
    question.last_activity_at = utcnow()
    if post.status == PostStatus.PUBLISHED:
        refresh_counts(question)
    events.post_changed(post)
    if post.status == PostStatus.PUBLISHED:
        events.answer_published(post)
    return post, True


# -- the author's changes -----------------------------------------------------------------

def _own(post: Post, user: User) -> None:
    if post.author_id is None or post.author_id != user.id:
        raise CommunityError(_("You can only change your own posts."))
    if post.status == PostStatus.DELETED:
        raise CommunityError(_("This post has been deleted."))


def edit(post: Post, user: User, *, body: str, title: str | None = None) -> bool:
    """The author edits; the text before is kept as a revision. Returns whether
    anything changed."""
    _own(post, user)
    check_may_post(user)
    body = (body or "").strip()
    title = " ".join((title or "").split()) if post.is_question else None
    _check_text(title, body)
    if body == post.body and (title is None or title == post.title):
        return False
    number = (db.session.scalar(select(func.max(Revision.number))
                                .where(Revision.post_id == post.id)) or 0) + 1
    db.session.add(Revision(post_id=post.id, number=number, title=post.title, body=post.body,
                            edited_by_id=user.id,
                            created_at=post.edited_at or post.created_at))
    post.body = body
    post.body_html = str(markdown.render(body))
    if title is not None:
        post.title = title
    post.edited_at = utcnow()
    thread = post if post.is_question else post.question
    if thread is not None:
        thread.last_activity_at = post.edited_at
    db.session.flush()
    events.post_changed(post)
    return True


def delete(post: Post, user: User) -> None:
    """The author's soft delete: the post leaves public view; counts follow."""
    _own(post, user)
    post.status = PostStatus.DELETED
    post.deleted_at = utcnow()
    db.session.flush()
    if not post.is_question and post.question is not None:
        question = post.question
        if question.accepted_answer_id == post.id:
            question.accepted_answer_id = None
        refresh_counts(question)
    events.post_changed(post)


# -- votes, accepting, following ----------------------------------------------------------

def vote(post: Post, user: User, value: int) -> Vote | None:
    """+1, −1, or 0 to withdraw one's vote. Returns the vote (None when withdrawn)."""
    if value not in (-1, 0, 1):
        raise CommunityError(_("Choose up or down."))
    if user is None or user.role != Role.RESIDENT:
        raise CommunityError(_("Only signed-in residents can vote."))
    if post.status != PostStatus.PUBLISHED:
        raise CommunityError(_("This post cannot be voted on."))
    if post.author_id == user.id:
        raise CommunityError(_("You cannot vote on your own post."))
    current = db.session.scalar(select(Vote).where(Vote.post_id == post.id,
                                                   Vote.user_id == user.id))
    if value == 0:
        if current is None:
            raise CommunityError(_("You have not voted on this post."))
        db.session.delete(current)
        current = None
    elif current is not None and current.value == value:
        raise CommunityError(_("You have already voted this post up.") if value == 1
                             else _("You have already voted this post down."))
    elif current is not None:
        current.value = value
    else:
        current = Vote(post_id=post.id, user_id=user.id, value=value)
        try:
            with db.session.begin_nested():
                db.session.add(current)
                db.session.flush()
        except IntegrityError:  # the same vote sent twice at once
            raise CommunityError(_("You have already voted on this post.")) from None
    db.session.flush()
    _refresh_votes(post)
    return current


def accept(question: Post, answer_post: Post, user: User) -> None:
    """The asker accepts an answer (replacing an earlier accepted one)."""
    if not question.is_question or question.author_id != user.id:
        raise CommunityError(_("Only the person who asked can accept an answer."))
    if question.status == PostStatus.DELETED:
        raise CommunityError(_("This post has been deleted."))
    if question.status != PostStatus.PUBLISHED:
        raise CommunityError(_("Your question is not public at the moment: answers can be "
                               "accepted once it is."))
    if answer_post.question_id != question.id or answer_post.status != PostStatus.PUBLISHED:
        raise CommunityError(_("This answer cannot be accepted."))
    if question.accepted_answer_id == answer_post.id:
        raise CommunityError(_("This answer is already the accepted one."))
    question.accepted_answer_id = answer_post.id
    question.last_activity_at = utcnow()
    db.session.flush()
    events.post_changed(question)
    events.post_changed(answer_post)


def unaccept(question: Post, user: User) -> None:
    if not question.is_question or question.author_id != user.id:
        raise CommunityError(_("Only the person who asked can accept an answer."))
    if question.accepted_answer_id is None:
        raise CommunityError(_("No answer is accepted."))
    previous = db.session.get(Post, question.accepted_answer_id)
    question.accepted_answer_id = None
    db.session.flush()
    events.post_changed(question)
    if previous is not None:
        events.post_changed(previous)


def is_following(question: Post, user: User) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(Follow.id).where(Follow.question_id == question.id,
                                                     Follow.user_id == user.id)) is not None


def follow(question: Post, user: User) -> None:
    if user is None or user.role != Role.RESIDENT:
        raise CommunityError(_("Only signed-in residents can follow questions."))
    if not question.is_question or question.status != PostStatus.PUBLISHED:
        raise CommunityError(_("This question cannot be followed."))
    if is_following(question, user):
        raise CommunityError(_("You already follow this question."))
    try:
        with db.session.begin_nested():
            db.session.add(Follow(question_id=question.id, user_id=user.id))
            db.session.flush()
    except IntegrityError:
        raise CommunityError(_("You already follow this question.")) from None


def unfollow(question: Post, user: User) -> None:
    row = db.session.scalar(select(Follow).where(Follow.question_id == question.id,
                                                 Follow.user_id == user.id)) \
        if user is not None and user.is_authenticated else None
    if row is None:
        raise CommunityError(_("You do not follow this question."))
    db.session.delete(row)
    # answers not yet in a digest leave with the follow: the e-mail promises that someone
    # who stops following is no longer e-mailed about the question
    db.session.execute(sql_delete(Notification).where(
        Notification.user_id == user.id, Notification.question_id == question.id,
        Notification.digested_at.is_(None)))
    db.session.flush()
