"""Content that staff write is stored once per locale; readers get their own
language and fall back to the other one when a translation is missing."""

from __future__ import annotations

from flask import current_app, has_request_context
from flask_babel import get_locale


def current_locale() -> str:
    if has_request_context():
        locale = get_locale()
        if locale is not None:
            return locale.language
    return current_app.config["DEFAULT_LOCALE"]


def localized_pair(obj: object, field: str, locale: str | None = None) -> tuple[str, str]:
    """``(text, language)``: ``obj.<field>_<locale>``, or the first non-empty
    translation after it, with the language it is written in (for ``lang=``)."""
    locale = locale or current_locale()
    order = [locale, *(loc for loc in current_app.config["LOCALES"] if loc != locale)]
    for loc in order:
        value = getattr(obj, f"{field}_{loc}", None)
        if value:
            return value, loc
    return "", locale


def localized(obj: object, field: str, locale: str | None = None) -> str:
    return localized_pair(obj, field, locale)[0]
