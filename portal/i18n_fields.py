"""Content that staff write is stored once per locale (``name_ja``, ``name_en``...);
readers get their own language and fall back to the default locale, then to the
other configured ones, when a translation is missing — also for a configured
locale that has no stored content at all (``name_ko`` does not exist)."""

from __future__ import annotations

from flask import current_app, has_request_context

from portal.extensions import page_locale


def current_locale() -> str:
    if has_request_context():
        locale = page_locale()
        if locale is not None:
            return str(locale)
    return current_app.config["DEFAULT_LOCALE"]


def localized_pair(obj: object, field: str, locale: str | None = None) -> tuple[str, str]:
    """``(text, language)``: ``obj.<field>_<locale>``, or the first non-empty
    translation after it, with the language it is written in (for ``lang=``)."""
    locale = locale or current_locale()
    default = current_app.config["DEFAULT_LOCALE"]
    order = dict.fromkeys([locale, locale.split("_", 1)[0], default,
                           *current_app.config["LOCALES"]])
    for loc in order:
        value = getattr(obj, f"{field}_{loc}", None)
        if value:
            return value, loc
    return "", locale


def localized(obj: object, field: str, locale: str | None = None) -> str:
    return localized_pair(obj, field, locale)[0]
