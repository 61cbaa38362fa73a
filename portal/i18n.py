"""Locale and time-zone selection, and locale-aware formatting for templates."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal, format_percent
from flask_login import current_user
from markupsafe import Markup

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


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


def _datetime(value: datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style) if value else ""


def _date(value: date | datetime | None, style: str = "medium") -> str:
    return format_date(value, style) if value else ""


def _number(value: float | int | None, pattern: str | None = None) -> str:
    return format_decimal(value, format=pattern) if value is not None else ""


def _percent(value: float | None) -> str:
    return format_percent(value) if value is not None else ""


def _paragraphs(text: str | None) -> Markup:
    """Plain text with blank lines → escaped ``<p>`` paragraphs, single breaks kept."""
    if not text:
        return Markup("")
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(block.split("\n"))) for block in blocks)


def init_app(app: Flask) -> None:
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_date, "date")
    app.add_template_filter(_number, "number")
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(_paragraphs, "paragraphs")
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
