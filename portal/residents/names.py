"""One written form for residents' names, so that search finds what was stored.

Names are stored NFKC-normalised (full-width Latin letters and digits become
half-width, half-width kana full-width, ideographic spaces plain spaces; runs of
spaces become one), and the kana readings in katakana. Every path that writes a
name goes through ``normalise_name``: register imports, the resident's profile,
registration, linking and unlinking. ``normalise_query`` folds the search words
the same way.
"""

from __future__ import annotations

import unicodedata

HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
KANA_FIELDS = ("family_name_kana", "given_name_kana")
GIVEN_NAME_MAX = 80  # residents.given_name


def normalise_name(text: str, *, kana: bool = False) -> str:
    """``ｻﾄｳ　ﾊﾅｺ`` → ``サトウ ハナコ``; with ``kana=True`` hiragana become katakana too."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.translate(HIRAGANA_TO_KATAKANA) if kana else text


def normalise_field(field: str, text: str) -> str:
    return normalise_name(text, kana=field in KANA_FIELDS)


def resident_name(display_name: str) -> str:
    """An account's display name (up to 120 characters) as a record's given name (80)."""
    return normalise_name(display_name)[:GIVEN_NAME_MAX].rstrip()


def normalise_query(text: str) -> list[str]:
    """Search words: NFKC, lower-case, hiragana folded to katakana so 'さとう' finds
    'サトウ'."""
    text = unicodedata.normalize("NFKC", text).lower()
    return [word.translate(HIRAGANA_TO_KATAKANA) for word in text.split()]
