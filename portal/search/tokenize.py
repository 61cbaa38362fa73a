"""The search's own tokenizer: the same tokens on SQLite and PostgreSQL.

Japanese has no spaces, so a word-based tokenizer finds nothing in it. Both
databases index the tokens made here (SQLite: an FTS5 table with the ``ascii``
tokenizer, which splits on the spaces we put in; PostgreSQL: a ``tsvector`` built
from the same tokens), so a query matches the same documents on both.

1. **Normalise**: NFKC (full-width Latin and digits, half-width katakana become the
   ordinary forms), case-folded, katakana turned into hiragana (ゴミ = ごみ).
2. **Runs**: CJK runs (kanji, kana, the long-vowel mark, 々, Hangul) and word runs
   (letters and digits of other scripts); everything else separates.
3. **Tokens**: a word run is one token; a CJK run gives its overlapping bigrams
   (転入届 → 転入 入届) and its last character alone (届), so every character is
   the first character of some token — a one-character query (「税」) is a prefix
   query and finds the character anywhere.

A **query** is cut into chunks at spaces and punctuation; a chunk is one phrase of
its tokens (the tokens must be adjacent in the document: a substring match for
Japanese), without the chunk's last CJK tail (the document may continue the run).
A chunk ending in one CJK character or in a word of three letters or more ends in
a prefix (「届」 finds 届け出; "regist" finds "registration"). Common English
function words ("how", "the", "do") are dropped from queries, unless nothing else
is left.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: the longest token kept (longer words are cut)
MAX_TOKEN = 60
#: a word this long or longer, ending a chunk, is matched as a prefix
PREFIX_MIN = 3

_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
_KATAKANA.update({0x30FD: 0x309D, 0x30FE: 0x309E})

_CJK = ("\u3005\u3006\u3007\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
        "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff")
_RUN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")
_SEPARATED = re.compile(f"(?:[{_CJK}]|[^\\W_])+")

STOP_WORDS = frozenset("""
a an and are as at be by can could do does for from how i if in is it me my of on or
our should so the their there this to was we what when where which who why will with
would you your
""".split())  # noqa: SIM905


def normalize(text: str) -> str:
    """NFKC, case-folded, katakana as hiragana."""
    return unicodedata.normalize("NFKC", text or "").casefold().translate(_KATAKANA)


def _run_tokens(run: str, *, cjk: bool) -> list[str]:
    if not cjk:
        return [run[:MAX_TOKEN]]
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)] + [run[-1]]


def document_tokens(text: str) -> list[str]:
    """The tokens of a document's text, in order."""
    tokens: list[str] = []
    for match in _RUN.finditer(normalize(text)):
        cjk, word = match.groups()
        tokens += _run_tokens(cjk, cjk=True) if cjk else _run_tokens(word, cjk=False)
    return tokens


def token_string(text: str) -> str:
    return " ".join(document_tokens(text))


@dataclass(frozen=True)
class Phrase:
    """Tokens that must be adjacent, in order; ``prefix``: the last one is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


def chunk_phrase(chunk: str) -> Phrase | None:
    """The phrase a normalised chunk (no separators inside) stands for."""
    runs = [(match.group(1), match.group(2)) for match in _RUN.finditer(chunk)]
    if not runs:
        return None
    tokens: list[str] = []
    for n, (cjk, word) in enumerate(runs):
        last = n == len(runs) - 1
        if cjk:
            run_tokens = _run_tokens(cjk, cjk=True)
            if last and len(cjk) > 1:
                run_tokens = run_tokens[:-1]  # the document may continue the run
            tokens += run_tokens
        else:
            tokens += _run_tokens(word, cjk=False)
    cjk, word = runs[-1]
    prefix = bool(cjk and len(cjk) == 1) or bool(word and len(word) >= PREFIX_MIN)
    return Phrase(tuple(tokens), prefix)


def all_chunks(query: str) -> list[str]:
    """The normalised chunks of a text (cut at spaces and punctuation)."""
    return _SEPARATED.findall(normalize(query))


def query_chunks(query: str) -> list[str]:
    """The normalised chunks of a query (stop words dropped unless nothing is left)."""
    chunks = all_chunks(query)
    kept = [chunk for chunk in chunks if chunk not in STOP_WORDS]
    return kept or chunks
