"""Official answers: staff of a tagged service's department answer a question in
the department's name; the department keeps the answer current (edits keep the
previous text as a revision) and marks it reviewed.

An official answer is an answer ``Post`` with ``official`` set, signed with a
department (``official_department_id``). It is public at once (never held for
review: staff are accountable through the audit log). Functions flush, write the
audit entry and call the community events; the caller commits. Errors are
``OfficialAnswerError`` with a message safe to show.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.community import events
from portal.community.markdown import render as render_markdown
from portal.community.models import Post, PostKind, PostStatus, Revision
from portal.community.posting import refresh_counts
from portal.extensions import db
from portal.permissions import can_answer_officially, can_edit_official_answer
from portal.services.models import Department
from portal.timeutil import utcnow


class OfficialAnswerError(ValueError):
    """An official answer that cannot be given or changed; ``str(error)`` is safe to show."""


def answer_departments(user: User, question: Post) -> list[Department]:
    """The departments ``user`` may sign an official answer to ``question`` with: the
    departments of its tagged services — for staff only their own among them."""
    departments: dict[int, Department] = {}
    for service in question.services:
        departments.setdefault(service.department_id, service.department)
    if not can_answer_officially(user, question):
        return []
    if user.role == Role.STAFF:
        return [d for d in departments.values() if d.id == user.department_id]
    return sorted(departments.values(), key=lambda d: d.name)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise OfficialAnswerError(_("Write the answer."))
    limit = current_app.config["COMMUNITY_POST_MAX_CHARS"]
    if len(body) > limit:
        raise OfficialAnswerError(_("The answer is too long: at most %(limit)s characters "
                                    "(it has %(n)s).", limit=limit, n=len(body)))
    return body


def give_official_answer(question: Post, user: User, body: str, *,
                         department_id: int | None = None, lang: str | None = None,
                         submission_key: str | None = None,
                         now: datetime | None = None) -> Post:
    """Post ``body`` as the official answer of a department to ``question``.

    ``department_id`` chooses among ``answer_departments`` (required when there are
    several). The same ``submission_key`` twice returns the first answer."""
    now = now or utcnow()
    if not question.is_question or question.status != PostStatus.PUBLISHED:
        raise OfficialAnswerError(_("This question is not public: it cannot be answered."))
    allowed = answer_departments(user, question)
    if not allowed:
        raise OfficialAnswerError(_("Only staff of the department of a tagged service can "
                                    "answer this question officially."))
    if department_id is None and len(allowed) == 1:
        department_id = allowed[0].id
    if department_id not in {d.id for d in allowed}:
        raise OfficialAnswerError(_("Choose the department the answer is signed with."))
    body = _clean_body(body)
    if submission_key:
        earlier = db.session.scalar(select(Post).where(Post.author_id == user.id,
                                                       Post.submission_key == submission_key))
        if earlier is not None:
            return earlier
    locales = current_app.config["LOCALES"]
    answer = Post(kind=PostKind.ANSWER, question_id=question.id, author_id=user.id,
                  body=body, body_html=str(render_markdown(body)),
                  lang=lang if lang in locales else question.lang,
                  status=PostStatus.PUBLISHED, official=True,
                  official_department_id=department_id, reviewed_at=now,
                  submission_key=submission_key or None, created_at=now,
                  last_activity_at=now)
    db.session.add(answer)
    db.session.flush()
    question.last_activity_at = now
    if question.first_official_answer_at is None:
        question.first_official_answer_at = now
    refresh_counts(question)
    record("community.official_answer", actor=user, target=answer,
           summary=f"Gave an official answer to question {question.id}",
           data={"question_id": question.id, "department_id": department_id})
    events.post_changed(answer)
    events.post_changed(question)
    events.answer_published(answer)
    return answer


def official_answer_of(post_id: int) -> Post | None:
    """The official answer ``post_id`` (None: not one, or deleted)."""
    post = db.session.get(Post, post_id)
    if (post is None or post.kind != PostKind.ANSWER or not post.official
            or post.status == PostStatus.DELETED):
        return None
    return post


def edit_official_answer(post: Post, user: User, body: str, *,
                         now: datetime | None = None) -> bool:
    """Change an official answer's text (the previous one kept as a ``Revision``);
    False when nothing changed."""
    now = now or utcnow()
    if not can_edit_official_answer(user, post):
        raise OfficialAnswerError(_("Only the department that signed this answer can "
                                    "change it."))
    body = _clean_body(body)
    if body == post.body:
        return False
    number = db.session.scalar(select(func.coalesce(func.max(Revision.number), 0))
                               .where(Revision.post_id == post.id)) + 1
    db.session.add(Revision(post_id=post.id, number=number, title=post.title, body=post.body,
                            edited_by_id=user.id, created_at=now))
    post.body = body
    post.body_html = str(render_markdown(body))
    post.edited_at = now
    post.reviewed_at = now  # the department has just looked at it
    if post.question is not None:
        post.question.last_activity_at = now
    db.session.flush()
    record("community.official_edit", actor=user, target=post,
           summary=f"Changed the official answer {post.id}",
           data={"question_id": post.question_id, "revision": number})
    events.post_changed(post)
    return True


def mark_reviewed(post: Post, user: User, *, now: datetime | None = None) -> None:
    """The department has checked that its official answer is still right."""
    now = now or utcnow()
    if not can_edit_official_answer(user, post):
        raise OfficialAnswerError(_("Only the department that signed this answer can "
                                    "mark it reviewed."))
    post.reviewed_at = now
    db.session.flush()
    record("community.official_review", actor=user, target=post,
           summary=f"Marked the official answer {post.id} reviewed",
           data={"question_id": post.question_id})
    events.post_changed(post)
