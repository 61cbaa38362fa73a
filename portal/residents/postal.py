"""Japanese postal codes: stored as ``123-4567``.

Imports and forms accept what people type — ``1234567``, full-width digits
(``１２３－４５６７``), a 〒 in front, a dash of any kind — and refuse anything else
with a clear message.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

POSTAL_CODE = re.compile(r"(\d{3})[-‐‑‒–—―−ー]?(\d{4})")
ADDRESS_MAX = 300
MESSAGE = _l("Enter the postal code as 7 digits, e.g. 123-4567.")


class PostalCodeError(ValueError):
    """Not a postal code; ``str(error)`` is the message for people."""


def normalise_postal_code(value: str | None) -> str | None:
    """``123-4567`` from what was typed; None for an empty value; PostalCodeError
    for anything that is not seven digits."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if text.startswith("〒"):
        text = text[1:].strip()
    if not text:
        return None
    found = POSTAL_CODE.fullmatch(text)
    # \d also matches digits of other scripts (e.g. ١٢٣): only 0-9 are a postal code
    if found is None or not (found.group(1) + found.group(2)).isascii():
        raise PostalCodeError(str(MESSAGE))
    return f"{found.group(1)}-{found.group(2)}"


def normalise_address(value: str | None) -> str | None:
    """The address as one line, spaces folded; None when empty."""
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None
