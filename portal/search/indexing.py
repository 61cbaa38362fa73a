"""Keeping the search index current, and building it from scratch.

Subscribed to ``portal.community.events``: every change of a post or an FAQ entry
rewrites that document's rows in the caller's transaction (a published post or a
published entry's languages are indexed; anything else is removed). Votes,
accepted and official marks are not in the index (read at query time).

``reindex()`` (``portal search reindex``) builds it all from the posts and entries,
in batches (set-based inserts, the tokens made in Python).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, text

from portal.community import events
from portal.community.models import Post, PostStatus
from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry
from portal.search.models import FTS_TABLE, GIN_INDEX, TITLE_GIN_INDEX, SearchDocument
from portal.search.tokenize import document_tokens

log = logging.getLogger(__name__)

#: tsvector positions stop at 16 383 (PostgreSQL's limit)
MAX_POSITION = 16383
BATCH = 5000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FTS_AVAILABLE: dict[str, bool] = {}


def dialect() -> str:
    return db.session.get_bind().dialect.name


def fts_available() -> bool:
    """SQLite: is the FTS5 table there (the migration creates it when the SQLite
    build has FTS5)? Checked once per database."""
    bind = db.session.get_bind()
    key = str(bind.engine.url)
    if key not in _FTS_AVAILABLE:
        found = db.session.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE}).first()
        _FTS_AVAILABLE[key] = found is not None
        if found is None:
            log.warning("search: SQLite has no %s table (no FTS5): searching with LIKE",
                        FTS_TABLE)
    return _FTS_AVAILABLE[key]


def day_number(moment: datetime | None) -> int:
    if moment is None:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH).days


def tsvector_literal(title: str, body: str) -> str:
    """The tsvector of a document's tokens as PostgreSQL's input syntax: title tokens
    weighted A, body tokens D (the default), positions in order."""
    parts: list[str] = []
    position = 0
    for weight, value in (("A", title), ("", body)):
        for token in document_tokens(value):
            position = min(position + 1, MAX_POSITION)
            parts.append(f"'{token}':{position}{weight}")
    return " ".join(parts)


def _documents_of_post(post: Post) -> list[dict]:
    if post.status != PostStatus.PUBLISHED:
        return []
    return [{"kind": post.kind, "post_id": post.id, "question_id": post.thread_id,
             "faq_id": None, "lang": post.lang, "day": day_number(post.created_at),
             "title": post.title or "", "body": post.body or ""}]


def _documents_of_entry(entry: FaqEntry) -> list[dict]:
    if entry.status != EntryStatus.PUBLISHED:
        return []
    rows = []
    for lang in ("ja", "en"):
        question = getattr(entry, f"question_{lang}", "") or ""
        answer = getattr(entry, f"answer_{lang}", "") or ""
        if question or answer:
            rows.append({"kind": "faq", "post_id": None, "question_id": None,
                         "faq_id": entry.id, "lang": lang,
                         "day": day_number(entry.updated_at or entry.created_at),
                         "title": question, "body": answer})
    return rows


def _write(documents: Iterable[dict], *, with_ids: bool = False) -> int:
    """Insert documents (and their tokens); returns how many."""
    rows = list(documents)
    if not rows:
        return 0
    name = dialect()
    columns = ("kind", "post_id", "question_id", "faq_id", "lang", "day")
    if name == "postgresql":
        values = [{**{c: row[c] for c in columns},
                   "tsv": tsvector_literal(row["title"], row["body"]),
                   "title_tsv": tsvector_literal("", row["title"])} for row in rows]
        db.session.execute(text(
            "INSERT INTO search_documents (kind, post_id, question_id, faq_id, lang, day, tsv, "
            "title_tsv) VALUES (:kind, :post_id, :question_id, :faq_id, :lang, :day, "
            "CAST(:tsv AS tsvector), CAST(:title_tsv AS tsvector))"), values)
        return len(rows)
    if with_ids:
        ids = [row["id"] for row in rows]
        db.session.execute(insert(SearchDocument), [
            {"id": row["id"], **{c: row[c] for c in columns}} for row in rows])
    else:
        ids = [db.session.execute(insert(SearchDocument).values(
            **{c: row[c] for c in columns}).returning(SearchDocument.id)).scalar_one()
            for row in rows]
    if name == "sqlite" and fts_available():
        db.session.execute(
            text("INSERT INTO search_fts (rowid, title, body) "
                 "VALUES (:id, :title, :body)"),
            [{"id": doc_id, "title": " ".join(document_tokens(row["title"])),
              "body": " ".join(document_tokens(row["body"]))}
             for doc_id, row in zip(ids, rows, strict=True)])
    return len(rows)


def _remove(column: str, value: int) -> None:
    """Remove the documents whose ``column`` (post_id or faq_id) is ``value``."""
    where = getattr(SearchDocument, column) == value
    if dialect() == "sqlite" and fts_available():
        # every document of it (an FAQ entry has one per language), or a stale token row
        # would stay behind under a rowid the next document reuses
        ids = list(db.session.scalars(select(SearchDocument.id).where(where)))
        if ids:
            db.session.execute(text("DELETE FROM search_fts WHERE rowid IN (SELECT value "
                                    "FROM json_each(:ids))"), {"ids": json.dumps(ids)})
    db.session.execute(delete(SearchDocument).where(where))


def index_post(post: Post) -> None:
    """Rewrite a post's document (removed unless the post is published)."""
    _remove("post_id", post.id)
    _write(_documents_of_post(post))


def index_entry(entry: FaqEntry) -> None:
    """Rewrite an FAQ entry's documents (one per language with text)."""
    _remove("faq_id", entry.id)
    _write(_documents_of_entry(entry))


@events.on_post_changed
def _post_changed(post) -> None:
    index_post(post)


@events.on_faq_changed
def _faq_changed(entry) -> None:
    index_entry(entry)


def _post_batches() -> Iterator[list[dict]]:
    last = 0
    while True:
        rows = db.session.execute(
            select(Post.id, Post.kind, Post.question_id, Post.title, Post.body, Post.lang,
                   Post.created_at)
            .where(Post.status == PostStatus.PUBLISHED, Post.id > last)
            .order_by(Post.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        yield [{"kind": row.kind, "post_id": row.id,
                "question_id": row.question_id or row.id, "faq_id": None, "lang": row.lang,
                "day": day_number(row.created_at), "title": row.title or "",
                "body": row.body or ""} for row in rows]


def reindex() -> int:
    """Build the index from scratch (in the caller's transaction); returns the number
    of documents."""
    name = dialect()
    if name == "sqlite" and fts_available():
        db.session.execute(text("DELETE FROM search_fts"))
    db.session.execute(delete(SearchDocument))
    if name == "postgresql":
        db.session.execute(text(f"DROP INDEX IF EXISTS {GIN_INDEX}"))
        db.session.execute(text(f"DROP INDEX IF EXISTS {TITLE_GIN_INDEX}"))
    count = 0
    for batch in _post_batches():
        for row in batch:
            count += 1
            row["id"] = count
        _write(batch, with_ids=True)
    entries = db.session.scalars(
        select(FaqEntry).where(FaqEntry.status == EntryStatus.PUBLISHED)
        .order_by(FaqEntry.id)).all()
    documents = [row for entry in entries for row in _documents_of_entry(entry)]
    for row in documents:
        count += 1
        row["id"] = count
    _write(documents, with_ids=True)
    if name == "postgresql":
        db.session.execute(text(
            f"CREATE INDEX {GIN_INDEX} ON search_documents USING gin (tsv)"))
        db.session.execute(text(
            f"CREATE INDEX {TITLE_GIN_INDEX} ON search_documents USING gin (title_tsv)"))
        db.session.execute(text("ANALYZE search_documents"))
    elif name == "sqlite" and fts_available():
        db.session.execute(text(
            "INSERT INTO search_fts (search_fts) VALUES ('optimize')"))
    return count
