"""Queries over the community and the FAQ (see ``portal.search``).

The query is normalised and cut into chunks like the documents
(``portal.search.tokenize``), expanded through the staff's synonym groups, and
matched in the index: FTS5 on SQLite, the ``tsvector`` column on PostgreSQL — the
same tokens, so the same documents match on both. The ranking (weights in
``portal.search.ranking``) is one SQL expression over the match, the post's votes,
accepted and official marks (read from ``community_posts`` at query time) and the
document's age; answers lead to their question (one result per question, the best
of its documents wins).

**Synonyms** (``portal.faq.models.SynonymGroup``, kept by staff in the FAQ
console): a group is a set of whole terms that stand for each other, in every
direction. Where a query contains a term of a group (after the same normalisation:
full/half width, case and katakana/hiragana do not matter; a Latin term only as
whole words; a Japanese term anywhere, e.g. 「子ども手当の申請」), the query is also
run with that term replaced by each other term of the group; a document matching
any of these variants is found. One replacement per variant (no chains through
groups), at most ``MAX_VARIANTS`` variants. No stemming and no fuzzy matching.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from flask import url_for
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, or_, select, text

from portal.community.models import Post, PostKind, PostStatus
from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry, SynonymGroup
from portal.search import indexing, ranking
from portal.search.tokenize import (
    STOP_WORDS,
    Phrase,
    all_chunks,
    chunk_phrase,
    document_tokens,
    normalize,
    query_chunks,
)

log = logging.getLogger(__name__)

SNIPPET_CHARS = 160
#: longer queries are cut here (the search page refuses them with a message)
MAX_QUERY_CHARS = 200
MAX_CHUNKS = 10
MAX_VARIANTS = 8
#: tokens of a text ``similar()`` matches on (any of them)
MAX_SIMILAR_TOKENS = 16
KINDS = ("question", "answer", "faq")

#: Japanese function-word bigrams ``similar()`` ignores (they match nearly everything)
JA_STOP_BIGRAMS = frozenset("""
です ます すか ませ せん くだ ださ さい して した しま ょう でし いて につ つい ては には
での から まで ある いる なる こと もの とき ため よう どう どこ いつ なに なん たい ない
いい れば ので のは のか かな はど すれ れた られ れる ける たら だけ しい いで てく では
とは との をし がで にな
""".split())  # noqa: SIM905


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
    score: float = 0.0  # the ranking's score
    votes: int = 0  # the post's up − down votes
    answers: int = 0  # a question's public answers (an answer: its question's)

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
    # True when more documents matched than are ranked (``ranking.CANDIDATES``):
    # ``total`` is then the number of results among the ranked candidates — there
    # are at least that many
    estimated: bool = False


# --- the query -------------------------------------------------------------------

_WORDISH = re.compile(r"[^\W_]")


def _squash(value: str) -> str:
    """Normalised, chunks separated by one space."""
    return " ".join(all_chunks(value))


def synonym_groups() -> list[list[str]]:
    groups = []
    for group in db.session.scalars(select(SynonymGroup).order_by(SynonymGroup.id)):
        terms = [t for t in dict.fromkeys(_squash(term) for term in group.term_list) if t]
        if len(terms) > 1:
            groups.append(terms)
    return groups


def _latin_edge(char: str) -> bool:
    return bool(char) and char.isascii() and bool(_WORDISH.match(char))


def _occurs(term: str, query: str) -> bool:
    start = query.find(term)
    while start >= 0:
        end = start + len(term)
        before = query[start - 1] if start else ""
        after = query[end] if end < len(query) else ""
        if not ((_latin_edge(term[0]) and _latin_edge(before))
                or (_latin_edge(term[-1]) and _latin_edge(after))):
            return True
        start = query.find(term, start + 1)
    return False


def variants(query: str, groups: list[list[str]] | None = None) -> list[str]:
    """The query and its synonym variants (normalised, squashed)."""
    base = _squash(query)
    found = [base]
    for terms in groups if groups is not None else synonym_groups():
        for term in terms:
            if not _occurs(term, base):
                continue
            for other in terms:
                if other != term:
                    found.append(base.replace(term, other))
    return list(dict.fromkeys(v for v in found if v))[:MAX_VARIANTS]


@dataclass(frozen=True)
class Parsed:
    """AND of phrases per variant, OR over variants; ``whole``: the original query
    as one phrase (two chunks or more)."""

    variants: tuple[tuple[Phrase, ...], ...]
    whole: Phrase | None
    marks: tuple[str, ...]  # normalised strings to mark in snippets

    @property
    def empty(self) -> bool:
        return not self.variants


def _whole_phrase(chunks: list[str]) -> Phrase | None:
    if len(chunks) < 2:
        return None
    tokens: list[str] = []
    for chunk in chunks[:-1]:
        tokens += document_tokens(chunk)
    last = chunk_phrase(chunks[-1])
    if last is None:
        return None
    return Phrase(tuple(tokens) + last.tokens, last.prefix)


def parse(query: str, groups: list[list[str]] | None = None) -> Parsed:
    query = (query or "")[:MAX_QUERY_CHARS]
    parsed, marks, whole = [], [], None
    for n, variant in enumerate(variants(query, groups)):
        chunks = query_chunks(variant)[:MAX_CHUNKS]
        phrases = tuple(p for p in (chunk_phrase(c) for c in chunks) if p and p.tokens)
        if not phrases:
            continue
        parsed.append(phrases)
        marks += chunks
        if n == 0:
            whole = _whole_phrase(chunks)
    marks = sorted(set(marks), key=len, reverse=True)
    return Parsed(tuple(dict.fromkeys(parsed)), whole, tuple(marks))


def parse_similar(value: str, groups: list[list[str]] | None = None, *,
                  pairs: bool = True) -> Parsed:
    """Any of the text's distinctive pieces (OR): in Japanese, pairs of adjacent
    bigrams (three characters: 転入届, 越した), unless both are function-word
    bigrams; Latin words one by one (stop words dropped). ``pairs=False``: single
    tokens (the fallback when no pair matches)."""
    value = (value or "")[:MAX_QUERY_CHARS]
    pieces: list[Phrase] = []
    marks: list[str] = []
    for variant in variants(value, groups):
        for chunk in query_chunks(variant):
            marks.append(chunk)
            phrase = chunk_phrase(chunk)
            if phrase is None:
                continue
            tokens = phrase.tokens
            if pairs and len(tokens) > 1 and len(tokens[0]) + len(tokens[1]) > 2:
                pieces += [Phrase(tokens[i:i + 2]) for i in range(len(tokens) - 1)
                           if not {tokens[i], tokens[i + 1]} <= JA_STOP_BIGRAMS]
            else:
                pieces += [Phrase((token,), len(token) == 1) for token in tokens
                           if token not in STOP_WORDS and token not in JA_STOP_BIGRAMS]
    pieces = list(dict.fromkeys(pieces))[:MAX_SIMILAR_TOKENS]
    return Parsed(tuple((piece,) for piece in pieces), None,
                  tuple(sorted(set(marks), key=len, reverse=True)))


# --- the match expressions per database --------------------------------------------

def _fts_phrase(phrase: Phrase) -> str:
    return '"' + " ".join(phrase.tokens) + '"' + ("*" if phrase.prefix else "")


def fts_match(parsed: Parsed) -> str:
    return " OR ".join("(" + " AND ".join(_fts_phrase(p) for p in variant) + ")"
                       for variant in parsed.variants)


def _ts_phrase(phrase: Phrase, weight: str = "", joiner: str = " <-> ") -> str:
    last = len(phrase.tokens) - 1
    parts = []
    for n, token in enumerate(phrase.tokens):
        suffix = ("*" if phrase.prefix and n == last else "") + weight
        parts.append(f"'{token}'" + (f":{suffix}" if suffix else ""))
    return "(" + joiner.join(parts) + ")"


def ts_query(parsed: Parsed, weight: str = "", joiner: str = " <-> ") -> str:
    """The tsquery; ``joiner=" & "``: the phrases' tokens in any order and place (the
    GIN index answers that without reading the rows)."""
    return " | ".join("(" + " & ".join(_ts_phrase(p, weight, joiner) for p in variant) + ")"
                      for variant in parsed.variants)


# --- ranking SQL -------------------------------------------------------------------

def _signals(kind_col: str = "d.kind") -> str:
    w = ranking.WEIGHTS
    return (
        f" + {w['official']} * (CASE WHEN {kind_col} = 'faq' THEN 1"
        f" WHEN {kind_col} = 'answer' AND p.official THEN 1 ELSE 0 END)"
        f" + {w['accepted']} * (CASE WHEN {kind_col} = 'answer'"
        f" AND q.accepted_answer_id = d.post_id THEN 1"
        f" WHEN {kind_col} = 'question' AND q.accepted_answer_id IS NOT NULL THEN 1 ELSE 0 END)"
        f" + {w['votes']} * (CASE WHEN p.score > {ranking.VOTES_CAP} THEN 1.0"
        f" WHEN p.score > 0 THEN p.score / {float(ranking.VOTES_CAP)} ELSE 0.0 END)"
        f" + {w['recency']} * (CASE WHEN :today - d.day >= {ranking.RECENCY_DAYS} THEN 0.0"
        f" ELSE 1.0 - (:today - d.day) / {float(ranking.RECENCY_DAYS)} END)"
        f" + {w['locale']} * (CASE WHEN d.lang = :locale THEN 1 ELSE 0 END)")


def _candidates(dialect: str, capped: bool, common: bool = False) -> str:
    """The matching documents and their text score: all of them, or (``capped``) the
    newest ``:cap`` matches and the newest ``:cap`` title matches. PostgreSQL: for a
    ``common`` match the newest are found walking the primary key backwards; for a
    rarer one, the GIN index's bitmap and a sort are faster (``id + 0``: not in key
    order)."""
    if dialect == "postgresql":
        # ids only (ts_rank is computed for the chosen rows, after the LIMIT)
        one = "SELECT d.id AS doc_id FROM search_documents d WHERE d.tsv @@ CAST({q} AS tsquery)"
        if capped:
            order = " ORDER BY d.id DESC LIMIT :cap" if common else \
                " ORDER BY d.id + 0 DESC LIMIT :cap"
            # the title matches from the titles' own (small) index
            titled = ("SELECT d.id AS doc_id FROM search_documents d "
                      "WHERE d.title_tsv @@ CAST(:qt AS tsquery)")
            return (f"SELECT DISTINCT doc_id FROM ({one.format(q=':q_loose')}{order}) c1 "  # noqa: S608
                    f"UNION SELECT doc_id FROM ({titled}{order}) c2")
        return one.format(q=":q")
    else:
        one = (f"SELECT rowid AS doc_id, -bm25(search_fts, {ranking.BM25_TITLE}, 1.0) AS tr "  # noqa: S608
               "FROM search_fts WHERE search_fts MATCH {q}")
    if not capped:
        return one.format(q=":q")
    order = " ORDER BY doc_id DESC LIMIT :cap"
    return ("SELECT doc_id, max(tr) AS tr FROM ("  # noqa: S608 (constants only)
            f"SELECT * FROM ({one.format(q=':q')}{order}) c1 UNION ALL "
            f"SELECT * FROM ({one.format(q=':qt')}{order}) c2) c GROUP BY doc_id")


def _ranked_sql(dialect: str, *, has_whole: bool, service: bool, capped: bool,
                common: bool = False) -> str:
    w = ranking.WEIGHTS
    matched = _candidates(dialect, capped, common)
    if dialect == "postgresql":
        text_score = ("(ts_rank(d.tsv, CAST(:q AS tsquery)) / (ts_rank(d.tsv, CAST(:q AS "
                      f"tsquery)) + {ranking.TS_RANK_HALF}))")
        title = "(CASE WHEN d.title_tsv @@ CAST(:qt AS tsquery) THEN 1 ELSE 0 END)"
        phrase = "(CASE WHEN d.tsv @@ CAST(:qp AS tsquery) THEN 1 ELSE 0 END)"
    else:
        text_score = "(m.tr / (m.tr + 1.0))"
        title = ("(CASE WHEN d.id IN (SELECT rowid FROM search_fts "
                 "WHERE search_fts MATCH :qt) THEN 1 ELSE 0 END)")
        phrase = ("(CASE WHEN d.id IN (SELECT rowid FROM search_fts "
                  "WHERE search_fts MATCH :qp) THEN 1 ELSE 0 END)")
    signals = _signals()
    phrase_part = f" + {w['phrase']} * {phrase}" if has_whole else ""
    service_filter = (
        " AND ((d.question_id IS NOT NULL AND d.question_id IN (SELECT question_id FROM "
        "community_question_services WHERE service_id = :service_id)) OR (d.faq_id IS NOT "
        "NULL AND d.faq_id IN (SELECT entry_id FROM faq_entry_services "
        "WHERE service_id = :service_id)))") if service else ""
    # the pieces are constants and the weights: the query's text is bound
    # PostgreSQL's capped candidates come from the loose query: the phrases here
    # (in a CASE: checked on the candidates' rows, never a second scan of the GIN index)
    exact = (" AND CASE WHEN d.tsv @@ CAST(:q AS tsquery) THEN 1 ELSE 0 END = 1"
             if capped and dialect == "postgresql" else "")
    return f"""
WITH m AS ({matched}),
scored AS (
  SELECT d.id, d.kind, d.post_id, d.question_id, d.faq_id, d.lang,
    ({w['text']} * {text_score} + {w['title']} * {title}{phrase_part}{signals}) AS rank,
    CASE WHEN d.faq_id IS NOT NULL THEN -d.faq_id ELSE d.question_id END AS grp
  FROM m JOIN search_documents d ON d.id = m.doc_id
  LEFT JOIN community_posts p ON p.id = d.post_id
  LEFT JOIN community_posts q ON q.id = d.question_id
  LEFT JOIN faq_entries f ON f.id = d.faq_id
  WHERE d.kind IN :kinds{exact}
    AND (d.faq_id IS NULL OR f.status = 'published')
    AND (d.post_id IS NULL OR (p.status = 'published' AND q.status = 'published'))
    {service_filter}
),
best AS (
  SELECT scored.*, row_number() OVER (PARTITION BY grp ORDER BY rank DESC, id DESC) AS n
  FROM scored
)
SELECT id, kind, post_id, question_id, faq_id, lang, rank, count(*) OVER () AS total
FROM best WHERE n = 1 ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset
"""  # noqa: S608


def _ranked(parsed: Parsed, locale: str, kinds, limit: int, offset: int,
            service_id: int | None):
    from portal.timeutil import utcnow

    dialect = indexing.dialect()
    if dialect == "postgresql":
        params = {"q": ts_query(parsed), "qt": ts_query(parsed),  # qt: on title_tsv
                  "q_loose": ts_query(parsed, joiner=" & ")}
        if parsed.whole:
            params["qp"] = ts_query(Parsed(((parsed.whole,),), None, ()))
    else:
        match = fts_match(parsed)
        params = {"q": match, "qt": "{title} : (" + match + ")"}
        if parsed.whole:
            params["qp"] = _fts_phrase(parsed.whole)
    matches = _count(dialect, params.get("q_loose", params["q"]), 10 * ranking.CANDIDATES + 1)
    capped = matches > ranking.CANDIDATES
    params.update({"kinds": list(kinds), "limit": limit, "offset": offset,
                   "locale": locale, "today": indexing.day_number(utcnow()),
                   "cap": ranking.CANDIDATES})
    if service_id is not None:
        params["service_id"] = service_id
    statement = text(_ranked_sql(
        dialect, has_whole=parsed.whole is not None, service=service_id is not None,
        capped=capped, common=matches > 10 * ranking.CANDIDATES)).bindparams(
        bindparam("kinds", expanding=True))
    return db.session.execute(statement, params).all(), capped


def _count(dialect: str, query: str, up_to: int) -> int:
    """How many documents match (any kind, any service), counting up to ``up_to``
    (a full count of a common word costs more than the search)."""
    if dialect == "postgresql":
        sql = ("SELECT count(*) FROM (SELECT 1 FROM search_documents "
               "WHERE tsv @@ CAST(:q AS tsquery) LIMIT :n) x")
    else:
        sql = ("SELECT count(*) FROM (SELECT 1 FROM search_fts WHERE search_fts MATCH :q "
               "LIMIT :n) x")
    return db.session.execute(text(sql), {"q": query, "n": up_to}).scalar_one()


# --- snippets ----------------------------------------------------------------------

_MARKDOWN = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|(?m:^\s*(?:[#>]+|[-*+]|\d+\.)\s)|[*_`~]+")


def plain(value: str) -> str:
    """Markdown as plain text (links as their text; emphasis, headings, quotes and
    list marks dropped), whitespace collapsed."""
    return " ".join(_MARKDOWN.sub(lambda m: m.group(1) or " ", value or "").split())


def _normalized_map(value: str) -> tuple[str, list[int]]:
    out, where = [], []
    for n, char in enumerate(value):
        folded = normalize(char)
        out.append(folded)
        where += [n] * len(folded)
    return "".join(out), where


def highlight(value: str, marks, width: int = SNIPPET_CHARS) -> Markup:
    """A piece of ``value`` around the first match of a mark, the marks in
    ``<mark>``, everything else escaped."""
    value = plain(value)
    folded, where = _normalized_map(value)
    spans: list[tuple[int, int]] = []
    for mark in marks:
        start = folded.find(mark)
        while start >= 0:
            end = start + len(mark)
            while end < len(folded) and folded[end].isascii() and folded[end].isalnum() \
                    and mark[-1].isascii():
                end += 1  # a prefix match: mark the whole word
            spans.append((where[start], where[end - 1] + 1))
            start = folded.find(mark, end)
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    begin = max(0, merged[0][0] - width // 3) if merged else 0
    stop = min(len(value), begin + width)
    out = Markup("…") if begin else Markup("")
    at = begin
    for start, end in merged:
        if end <= begin or start >= stop:
            continue
        start, end = max(start, begin), min(end, stop)
        out += escape(value[at:start]) + Markup("<mark>") + escape(value[start:end]) \
            + Markup("</mark>")
        at = end
    out += escape(value[at:stop])
    if stop < len(value):
        out += Markup("…")
    return out


# --- the interface -------------------------------------------------------------------

def _hits(rows, parsed: Parsed, locale: str) -> list[Hit]:
    post_ids = {row.post_id for row in rows if row.post_id} | {
        row.question_id for row in rows if row.question_id}
    posts = {post.id: post for post in db.session.scalars(
        select(Post).where(Post.id.in_(post_ids)))} if post_ids else {}
    faq_ids = {row.faq_id for row in rows if row.faq_id}
    entries = {entry.id: entry for entry in db.session.scalars(
        select(FaqEntry).where(FaqEntry.id.in_(faq_ids)))} if faq_ids else {}
    hits = []
    for row in rows:
        if row.faq_id:
            entry = entries[row.faq_id]
            lang = row.lang
            hits.append(Hit(
                kind="faq", id=entry.id, title=getattr(entry, f"question_{lang}") or "",
                snippet=highlight(getattr(entry, f"answer_{lang}") or "", parsed.marks),
                lang=lang, official=True, score=float(row.rank)))
            continue
        post, question = posts[row.post_id], posts[row.question_id]
        accepted = (question.accepted_answer_id == post.id if post.kind == PostKind.ANSWER
                    else question.accepted_answer_id is not None)
        hits.append(Hit(
            kind=post.kind, id=post.id, title=question.title,
            snippet=highlight(post.body, parsed.marks), lang=post.lang,
            question_id=question.id if post.kind == PostKind.ANSWER else None,
            accepted=accepted, official=bool(post.official), score=float(row.rank),
            votes=post.score, answers=question.answer_count))
    return hits


def _run(parsed: Parsed, query: str, locale: str, kinds, limit: int, offset: int,
         service_id: int | None) -> Results:
    kinds = tuple(kind for kind in kinds if kind in KINDS)
    if parsed.empty or not kinds or limit <= 0:
        return Results()
    if indexing.dialect() == "sqlite" and not indexing.fts_available():
        return _like_search(query, locale, kinds, limit, offset, service_id)
    rows, capped = _ranked(parsed, locale, kinds, limit, max(0, offset), service_id)
    total = rows[0].total if rows else 0
    if not rows and offset:
        first, _ = _ranked(parsed, locale, kinds, 1, 0, service_id)
        total = first[0].total if first else 0
    return Results(hits=_hits(rows, parsed, locale), total=total, estimated=capped)


def search(query: str, locale: str, kinds=("question", "faq"), limit: int = 20,
           offset: int = 0, service_id: int | None = None) -> Results:
    """Documents matching every chunk of the query (or of a synonym variant), best
    first; ``total`` counts results (one per question or FAQ entry)."""
    return _run(parse(query), query, locale, kinds, limit, offset, service_id)


def similar(text: str, locale: str, kinds=("question", "faq"), limit: int = 5) -> list[Hit]:
    """Questions and FAQ entries sharing pieces of three characters (Japanese) or
    words (English) with ``text`` — any of them, the ranking does the rest; when
    none does, sharing any bigram."""
    groups = synonym_groups()
    hits = _run(parse_similar(text, groups), text, locale, kinds, limit, 0, None).hits
    if not hits:
        hits = _run(parse_similar(text, groups, pairs=False), text, locale, kinds, limit, 0,
                    None).hits
    return hits


def _like_search(query: str, locale: str, kinds, limit: int, offset: int,
                 service_id: int | None) -> Results:
    """Without FTS5 (an SQLite build without it): substring matching of the whole
    query, newest first; no synonyms."""
    query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
    like = f"%{query.lower()}%"
    hits: list[Hit] = []
    marks = (normalize(query),)
    if "question" in kinds:
        rows = db.session.scalars(
            select(Post).where(Post.kind == PostKind.QUESTION,
                               Post.status == PostStatus.PUBLISHED,
                               or_(func.lower(Post.title).like(like),
                                   func.lower(Post.body).like(like)))
            .order_by(Post.score.desc(), Post.created_at.desc())
            .limit(limit + offset)).all()
        hits += [Hit(kind="question", id=post.id, title=post.title, lang=post.lang,
                     snippet=highlight(post.body, marks), votes=post.score,
                     answers=post.answer_count,
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
                     snippet=highlight(entry.answer, marks), official=True) for entry in rows]
    return Results(hits=hits[offset:offset + limit], total=len(hits))
