"""The catalogues are complete, compile, and match the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def entries(locale: str):
    return [message for message in catalogue(locale) if message.id]


def as_list(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def test_japanese_has_no_missing_empty_or_fuzzy_entries():
    problems = []
    for message in entries("ja"):
        strings = as_list(message.string)
        if message.fuzzy:
            problems.append(("fuzzy", message.id))
        elif not strings or not strings[0]:
            problems.append(("empty", message.id))
    assert problems == []


def test_japanese_says_sign_in_one_way():
    """The portal's Japanese for "sign in" is ログイン (the button, the settings, the
    audit action); a page that also says サインイン reads like another thing."""
    other = [message.id for message in entries("ja")
             if any("サインイン" in text for text in as_list(message.string))]
    assert other == []


def test_placeholders_match_in_every_catalogue():
    problems = []
    for locale in ("ja", "en"):
        for message in entries(locale):
            ids = as_list(message.id)
            expected = set(PLACEHOLDER.findall(ids[-1]))
            for string in as_list(message.string):
                if string and set(PLACEHOLDER.findall(string)) != expected:
                    problems.append((locale, ids[0], string))
    assert problems == []


def test_catalogues_cover_every_message_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    "babel.cfg", "-k", "_l", "--no-location", "-o", str(pot), "portal"],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    with open(pot, "rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for locale in ("ja", "en"):
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in entries(locale)}
        assert sorted(wanted - have) == [], f"{locale}: run `portal translate update`"


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_catalogues_compile_and_are_fresh(locale):
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), "run `make translations` (or `portal translate compile`)"
    assert mo.stat().st_mtime >= po.stat().st_mtime, "compiled catalogue is stale"
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-i",
                             str(po), "-o", str(Path("/dev/null")), "--statistics"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
