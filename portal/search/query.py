"""Queries over the community and the FAQ (see ``portal.search``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from portal.community.models import Post, PostKind, PostStatus
from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry

SNIPPET_CHARS = 160


@dataclass(frozen=True)
class Hit:
    kind: str  # "question", "answer" or "faq"
    id: int
    title: str
    snippet: Markup
    lang: str = ""
    question_id: int | None = None  # an answer's question
    accepted: bool = False
    official: bool = False
    score: float = 0.0

    @property
    def url(self) -> str:
        if self.kind == "faq":
            return url_for("faq.entry", entry_id=self.id)
        if self.kind == "answer":
            return url_for("community.question", question_id=self.question_id,
                           _anchor=f"post-{self.id}")
        return url_for("community.question", question_id=self.id)


@dataclass(frozen=True)
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0


def _snippet(text: str, query: str) -> Markup:
    text = " ".join((text or "").split())
    at = text.lower().find(query.lower()) if query else -1
    start = max(0, at - SNIPPET_CHARS // 3) if at >= 0 else 0
    piece = text[start:start + SNIPPET_CHARS]
    if at < 0:
        return escape(piece)
    inner = at - start
    return (escape(piece[:inner]) + Markup("<mark>") + escape(piece[inner:inner + len(query)])
            + Markup("</mark>") + escape(piece[inner + len(query):]))


def search(query: str, locale: str, kinds=("question", "faq"), limit: int = 20,
           offset: int = 0, service_id: int | None = None) -> Results:
    query = " ".join((query or "").split())
    if not query:
        return Results()
    like = f"%{query.lower()}%"
    hits: list[Hit] = []
    if "question" in kinds:
        rows = db.session.scalars(
            select(Post).where(Post.kind == PostKind.QUESTION,
                               Post.status == PostStatus.PUBLISHED,
                               or_(func.lower(Post.title).like(like),
                                   func.lower(Post.body).like(like)))
            .order_by(Post.score.desc(), Post.created_at.desc()).limit(limit + offset)).all()
        hits += [Hit(kind="question", id=post.id, title=post.title, lang=post.lang,
                     snippet=_snippet(post.body, query),
                     accepted=post.accepted_answer_id is not None) for post in rows]
    if "faq" in kinds:
        column_q, column_a = (FaqEntry.question_ja, FaqEntry.answer_ja) if locale == "ja" \
            else (FaqEntry.question_en, FaqEntry.answer_en)
        rows = db.session.scalars(
            select(FaqEntry).where(FaqEntry.status == EntryStatus.PUBLISHED,
                                   or_(func.lower(column_q).like(like),
                                       func.lower(column_a).like(like)))
            .order_by(FaqEntry.id).limit(limit + offset)).all()
        hits += [Hit(kind="faq", id=entry.id, title=entry.question, lang=locale,
                     snippet=_snippet(entry.answer, query), official=True) for entry in rows]
    return Results(hits=hits[offset:offset + limit], total=len(hits))


def similar(text: str, locale: str, kinds=("question", "faq"), limit: int = 5) -> list[Hit]:
    return search(text, locale, kinds=kinds, limit=limit).hits
