"""Locale and time-zone selection, and locale-aware formatting for templates.

The languages are configuration (``LOCALES``, ``PORTAL_LOCALES=ja,en,ko``): each
needs a compiled catalogue under one of ``BABEL_TRANSLATION_DIRECTORIES`` and
nothing else. A language is named in itself (Babel's display name, or
``LANGUAGE_NAMES`` from the configuration for one Babel does not know).

Every page shows one date format per locale (the locale's medium date, with a
four-digit year; times in its short form) and every number with the locale's
grouping separator.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError, dates, numbers
from flask import Flask, current_app, has_request_context, request
from flask_babel import format_percent, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from portal.extensions import babel, page_locale, page_timezone

#: Minus sign for changes (U+2212, not a hyphen).
MINUS = "\u2212"


def language_name(code: str, configured: dict[str, str] | None = None) -> str:
    """The language named in itself: 日本語, English, 한국어, Tiếng Việt ..."""
    if configured and code in configured:
        return configured[code]
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def language_names(config) -> dict[str, str]:
    """``{code: name}`` for the configured locales, in their configured order."""
    configured = dict(config.get("LANGUAGE_NAMES") or {})
    return {code: language_name(code, configured) for code in config["LOCALES"]}


def municipality_name(locale: str) -> str:
    """The municipality's name in ``locale`` (``MUNICIPALITY_NAME_<LOCALE>``, then the
    language's, then ``MUNICIPALITY_NAME``)."""
    config = current_app.config
    key = locale.upper().replace("-", "_")
    return (config.get(f"MUNICIPALITY_NAME_{key}")
            or config.get(f"MUNICIPALITY_NAME_{key.split('_', 1)[0]}")
            or config["MUNICIPALITY_NAME"])


def supported(locale: str | None) -> bool:
    return bool(locale) and locale in current_app.config["LOCALES"]


def select_locale() -> str:
    """User setting, then cookie, then ``Accept-Language``, then the default."""
    if not has_request_context():
        return current_app.config["DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and supported(current_user.locale):
        return current_user.locale
    cookie = request.cookies.get(current_app.config["LOCALE_COOKIE"])
    if supported(cookie):
        return cookie
    best = request.accept_languages.best_match(current_app.config["LOCALES"])
    return best or current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIME_ZONE"]


def _datetime(value: datetime | None, style: str | None = None) -> str:
    """Date and time in the municipal time zone: the locale's one date format and
    its short time (``2026/12/02 9:05``, ``Dec 2, 2026, 9:05 AM``). ``style`` is
    accepted for older templates and does not change the format."""
    if not value:
        return ""
    locale = page_locale()
    local = _in_page_zone(value)
    joined = locale.datetime_formats.get("medium", "{1} {0}") if locale else "{1} {0}"
    return str(joined).format(dates.format_time(local, "short", locale=locale),
                              dates.format_date(local, "medium", locale=locale))


def _in_page_zone(value: date | datetime) -> date | datetime:
    """A datetime in the page's time zone (stored ones are UTC), as Flask-Babel's
    formatters do; a date stays as it is."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = page_timezone()
    return zone.normalize(value.astimezone(zone)) if hasattr(zone, "normalize") \
        else value.astimezone(zone)


def _date(value: date | datetime | None, style: str | None = None) -> str:
    """The locale's one date format, four-digit year (``2026/12/02``, ``Dec 2, 2026``).
    ``style`` is accepted for older templates and does not change the format."""
    if not value:
        return ""
    return dates.format_date(_in_page_zone(value), "medium", locale=page_locale())


@lru_cache(maxsize=64)
def _grouped(pattern: str | None) -> numbers.NumberPattern | None:
    """A number pattern with the grouping separator (``0.#`` → ``#,##0.#``), parsed
    once (Babel parses a pattern string on every call)."""
    if pattern and "," not in pattern and pattern.startswith("0"):
        pattern = "#,##" + pattern
    return numbers.parse_pattern(pattern) if pattern else None


def _number(value: float | int | None, pattern: str | None = None) -> str:
    """The number in the locale's way, always with thousands separators."""
    if value is None:
        return ""
    return numbers.format_decimal(value, format=_grouped(pattern), locale=page_locale())


def signed(value: float | int, pattern: str = "0.#") -> str:
    """``+1,234`` / ``−14`` (a true minus sign) / ``±0``."""
    text = _number(abs(value), pattern)
    if text == _number(0, pattern):
        return "±" + text
    return ("+" if value > 0 else MINUS) + text


def verdict(change: float | int | None, better: str | None) -> str:
    """``better`` / ``worse`` / ``same`` (empty when the direction is neutral or
    unknown): whether a change is good news, for words and for the CSS class."""
    if change is None or better not in ("up", "down"):
        return ""
    if change == 0:
        return "same"
    return "better" if (change > 0) == (better == "up") else "worse"


def change_phrase(change: float | int | None, *, unit: str | None = None,
                  better: str | None = None, pattern: str = "0.#",
                  against: str = "month") -> str:
    """A change in words: 「前月比 −14人（悪化）」, "−14 residents compared with a
    month earlier (worse)". ``unit``: ``residents``, ``points``, ``percent`` (points
    of a share) or ``None``; ``better``: ``up`` or ``down`` when the change is good
    or bad news (said in words, so colour is never the only signal); ``against``:
    ``month`` (前月比), ``period`` (前期比, the previous period) or ``year`` (前年比)."""
    if change is None:
        return {"period": _("no figure for the previous period"),
                "year": _("no figure a year earlier")}.get(against,
                                                          _("no figure a month earlier"))
    amount = signed(change, pattern)
    # singular only for exactly one as shown ("−1 resident", but "+1.5 points")
    count = 1 if amount[1:] == _number(1, pattern) else 2
    if unit == "residents":
        amount = ngettext("%(signed)s resident", "%(signed)s residents", count, signed=amount)
    elif unit == "points":
        amount = ngettext("%(signed)s point", "%(signed)s points", count, signed=amount)
    elif unit == "percent":
        amount = ngettext("%(signed)s percentage point", "%(signed)s percentage points", count,
                          signed=amount)
    if against == "period":
        text = _("%(change)s compared with the previous period", change=amount)
    elif against == "year":
        text = _("%(change)s compared with a year earlier", change=amount)
    else:
        text = _("%(change)s compared with a month earlier", change=amount)
    word = {"better": _("better"), "worse": _("worse"), "same": _("unchanged")}.get(
        verdict(change, better))
    return _("%(change)s (%(verdict)s)", change=text, verdict=word) if word else text


def _percent(value: float | None) -> str:
    return format_percent(value) if value is not None else ""


def _paragraphs(text: str | None) -> Markup:
    """Plain text with blank lines → escaped ``<p>`` paragraphs, single breaks kept."""
    if not text:
        return Markup("")
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(block.split("\n"))) for block in blocks)


def _grouping_ngettext(ngettext):
    """Jinja's ``ngettext`` with ``%(num)s`` written with thousands separators."""

    @pass_context
    def wrapped(context, singular, plural, num, **variables):
        variables.setdefault("num", _number(num))
        return ngettext(context, singular, plural, num, **variables)

    return wrapped


def _translations():
    return babel.domain_instance.get_translations()


def _install_gettext(app: Flask) -> None:
    """Jinja's ``_``/``gettext``/``ngettext`` straight to this page's catalogue:
    Flask-Babel's callables find the domain and the locale again on every message,
    and a busy console page has hundreds of them."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)


def init_app(app: Flask) -> None:
    _install_gettext(app)
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_date, "date")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(_paragraphs, "paragraphs")
    app.add_template_filter(signed, "signed")
    app.jinja_env.globals["change_phrase"] = change_phrase
    app.jinja_env.globals["verdict"] = verdict
    app.jinja_env.globals["LANGUAGE_NAMES"] = language_names(app.config)
    app.jinja_env.globals["ngettext"] = _grouping_ngettext(app.jinja_env.globals["ngettext"])
