"""Stand-ins for names the posting work publishes, until it is merged.

Each function uses the shared one when it exists (``portal.community.markdown.render``,
``portal.community.posting.refresh_counts``, ``portal.community.names.author_name``,
the ``community.question`` endpoint) and otherwise a minimal equivalent, so official
answers, the insights, the digest and the demo work on their own. Once posting is in,
callers can import the shared names directly and this module can go.
"""

from __future__ import annotations

import importlib

from flask import current_app, has_request_context, url_for
from markupsafe import Markup
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from portal.extensions import db


def _shared(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        return None
    except AttributeError:
        return None


def render_markdown(text: str) -> Markup:
    """``portal.community.markdown.render`` (Markdown → sanitised HTML)."""
    shared = _shared("portal.community.markdown", "render")
    if shared is not None:
        return shared(text)
    import nh3
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": False, "linkify": False}).render(text or "")
    clean = nh3.clean(html, tags={"p", "ul", "ol", "li", "a", "em", "strong", "code", "pre",
                                  "blockquote", "br"},
                      url_schemes={"http", "https", "mailto"}, link_rel="nofollow ugc noopener")
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


def refresh_counts(question) -> None:
    """``portal.community.posting.refresh_counts``: a question's ``answer_count``,
    ``first_answer_at`` and ``first_official_answer_at`` from its public answers."""
    shared = _shared("portal.community.posting", "refresh_counts")
    if shared is not None:
        shared(question)
        return
    from portal.community.models import Post, PostKind, PostStatus

    db.session.flush()
    row = db.session.execute(
        select(func.count(Post.id), func.min(Post.created_at))
        .where(Post.question_id == question.id, Post.kind == PostKind.ANSWER,
               Post.status == PostStatus.PUBLISHED)).one()
    official = db.session.scalar(
        select(func.min(Post.created_at))
        .where(Post.question_id == question.id, Post.kind == PostKind.ANSWER,
               Post.status == PostStatus.PUBLISHED, Post.official.is_(True)))
    question.answer_count, question.first_answer_at = row[0], row[1]
    question.first_official_answer_at = official
    db.session.flush()


def author_name(user) -> str:
    """``portal.community.names.author_name``."""
    shared = _shared("portal.community.names", "author_name")
    if shared is not None:
        return shared(user)
    return user.display_name if user is not None else ""


def question_url(question_id: int, *, anchor: str | None = None,
                 external: bool = False) -> str:
    """The question page (``community.question``, from posting): the agreed path when
    that view is not registered in this build (like ``queue_url`` for inquiries)."""
    values = {"question_id": question_id}
    try:
        if has_request_context():
            path = url_for("community.question", **values)
        else:  # a job: no request, the path from the URL map
            path = current_app.url_map.bind("localhost").build("community.question", values)
    except BuildError:
        path = f"/community/questions/{question_id}"
    if anchor:
        path += f"#{anchor}"
    if not external:
        return path
    from portal.config import served_address

    base = current_app.config.get("BASE_URL") or served_address()
    return base.rstrip("/") + path
