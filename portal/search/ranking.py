"""The ranking's weights, in one place.

A document that matches the query (every chunk of it, or of a synonym variant)
scores the sum of:

- ``text`` × the database's text relevance mapped to 0…1 (SQLite: FTS5's bm25 with
  the title column weighted ``BM25_TITLE``; PostgreSQL: ``ts_rank`` with the title
  tokens weighted A) — more of the terms, in a shorter text, ranks higher;
- ``title`` when the whole query matches within the title (an FAQ entry's
  question, a question's title; answers have none);
- ``phrase`` when the query matches as one exact phrase (its chunks adjacent, in
  order) — queries of two chunks or more;
- ``official`` for FAQ entries and official answers; ``accepted`` for an accepted
  answer and a question with an accepted answer;
- ``votes`` × the post's score (up − down) capped at ``VOTES_CAP``, over the cap;
- ``recency`` × (1 − age / ``RECENCY_DAYS``), not below 0;
- ``locale`` when the document is written in the reader's language.

Ties go to the newer document. When more than ``CANDIDATES`` documents match, only
the newest ``CANDIDATES`` matches and the newest ``CANDIDATES`` title matches are
ranked (scoring every match of a common word — 「ごみ」 in 17 000 of 400 000
documents — takes 300 ms; ranking those candidates takes a few): an old document
that matches only in its body can then be missed, and the total is the number of
matching documents ("about"). One result per question: the best of its question
document and its answers' documents wins (the FAQ: the best of its languages).
"""

WEIGHTS = {
    "text": 1.0,
    "title": 3.0,
    "phrase": 1.5,
    "official": 1.2,
    "accepted": 0.8,
    "votes": 1.0,
    "recency": 0.4,
    "locale": 0.5,
}
BM25_TITLE = 4.0
CANDIDATES = 500
VOTES_CAP = 10
RECENCY_DAYS = 730
#: PostgreSQL's ts_rank r becomes r / (r + TS_RANK_HALF) (0.5 at TS_RANK_HALF)
TS_RANK_HALF = 0.1
