"""Configuration for development, testing and production.

Every setting is read from a ``PORTAL_*`` environment variable when the app is
created (not at import time), so the same code runs embedded or in production
and configuration alone chooses.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """Raised when the configuration cannot run safely."""


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PORTAL_{name}")
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"PORTAL_{name} must be a whole number, got {value!r}") from exc


def served_address() -> str:
    """Where ``portal run`` serves (its ``--host``/``--port``, which it passes on as
    ``FLASK_RUN_HOST``/``FLASK_RUN_PORT``), for links in development e-mails."""
    host = os.environ.get("FLASK_RUN_HOST") or "127.0.0.1"
    port = os.environ.get("FLASK_RUN_PORT") or "5000"
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - every interface: this machine's own
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in (env(name) or default).split(",") if item.strip())


def env_pairs(name: str) -> dict[str, str]:
    """``PORTAL_X=ko=한국어;vi=Tiếng Việt`` → ``{"ko": "한국어", "vi": "Tiếng Việt"}``."""
    pairs = {}
    for item in (env(name) or "").split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            if item.strip():
                raise ConfigError(f"PORTAL_{name} takes code=name pairs separated by ';', "
                                  f"got {item!r}")
            continue
        pairs[key.strip()] = value.strip()
    return pairs


def locale_settings() -> dict:
    """The languages are configuration: ``PORTAL_LOCALES=ja,en,ko`` (each needs a
    compiled catalogue in ``PORTAL_TRANSLATION_DIRECTORIES`` or ``translations/``),
    ``PORTAL_DEFAULT_LOCALE``, optional ``PORTAL_LANGUAGE_NAMES=ko=한국어`` for a
    language Babel cannot name, and ``PORTAL_MUNICIPALITY_NAME_<LOCALE>``."""
    locales = env_list("LOCALES", "ja,en")
    default_locale = env("DEFAULT_LOCALE", locales[0] if locales else "ja")
    directories = [str(PROJECT_ROOT / "translations"),
                   *env_list("TRANSLATION_DIRECTORIES", "")]
    settings = {
        "DEFAULT_LOCALE": default_locale,
        "BABEL_DEFAULT_LOCALE": default_locale,
        "LOCALES": locales,
        "LANGUAGE_NAMES": env_pairs("LANGUAGE_NAMES"),
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(directories),
        "LOCALE_COOKIE": "portal_locale",
        "MUNICIPALITY_NAME": env("MUNICIPALITY_NAME", "Sakuragawa City"),
        "MUNICIPALITY_NAME_JA": env("MUNICIPALITY_NAME_JA", "桜川市"),
    }
    for locale in locales:
        key = f"MUNICIPALITY_NAME_{locale.upper().replace('-', '_')}"
        if env(key):
            settings[key] = env(key)
    return settings


def check_locales(settings: dict) -> None:
    if not settings["LOCALES"]:
        raise ConfigError("PORTAL_LOCALES names no language.")
    if settings["DEFAULT_LOCALE"] not in settings["LOCALES"]:
        raise ConfigError(f"PORTAL_DEFAULT_LOCALE {settings['DEFAULT_LOCALE']!r} is not one "
                          f"of PORTAL_LOCALES ({', '.join(settings['LOCALES'])}).")


def base_settings() -> dict:
    instance = Path(env("INSTANCE_PATH", str(PROJECT_ROOT / "instance")))
    redis_url = env("REDIS_URL")
    time_zone = env("TIME_ZONE", "Asia/Tokyo")
    return {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": env("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL"),
        # Public address for links in e-mails (never taken from the request's Host header)
        "BASE_URL": env("BASE_URL"),
        # Number of trusted reverse proxies in front of the app (X-Forwarded-For/-Proto)
        "PROXY_COUNT": env_int("PROXY_COUNT", 0),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_RECORD_QUERIES": False,
        # the municipality's name and its languages
        **locale_settings(),
        "TIME_ZONE": time_zone,
        "BABEL_DEFAULT_TIMEZONE": time_zone,
        # Redis: rate-limit counters and the job queue
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "API_AUTH_FAILURE_LIMIT": env("API_AUTH_FAILURE_LIMIT", "10 per minute;50 per hour"),
        # registration and reset e-mails to any one address
        "MAIL_RATE_LIMIT": env("MAIL_RATE_LIMIT", "5 per hour"),
        "JOBS_INLINE": redis_url is None,
        "RQ_QUEUE": env("RQ_QUEUE", "portal"),
        # e-mail
        "MAIL_SENDER": env("MAIL_SENDER", "no-reply@portal.example"),
        "SMTP_HOST": env("SMTP_HOST"),
        "SMTP_PORT": env_int("SMTP_PORT", 587),
        "SMTP_USERNAME": env("SMTP_USERNAME"),
        "SMTP_PASSWORD": env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": env_bool("SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": env_int("SMTP_TIMEOUT", 20),
        "MAIL_SINK_DIR": env("MAIL_SINK_DIR", str(instance / "mail")),
        "MAIL_MAX_ATTEMPTS": env_int("MAIL_MAX_ATTEMPTS", 8),
        # requests, cookies and forms
        "MAX_CONTENT_LENGTH": env_int("MAX_UPLOAD_BYTES", 20 * 1024 * 1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": env_int("SESSION_HOURS", 12) * 3600,
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session, which expires by itself
        # accounts
        "PASSWORD_RESET_MAX_AGE": env_int("PASSWORD_RESET_MINUTES", 60) * 60,
        "PASSWORD_MIN_LENGTH": 10,
        # argon2id cost (RFC 9106, second recommended option)
        "ARGON2_TIME_COST": env_int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": env_int("ARGON2_MEMORY_COST", 64 * 1024),
        "ARGON2_PARALLELISM": env_int("ARGON2_PARALLELISM", 2),
        "PAGE_SIZE": 25,
        # survey figures from fewer answers than this are shown as "too few answers"
        "SURVEY_MIN_N": env_int("SURVEY_MIN_N", 5),
        # inquiries: the resolution-rate target (per cent resolved within their target)
        "INQUIRY_RESOLUTION_TARGET": env_int("INQUIRY_RESOLUTION_TARGET", 80),
        # days after resolution in which a resident may reopen their inquiry
        "INQUIRY_REOPEN_DAYS": env_int("INQUIRY_REOPEN_DAYS", 14),
        "INQUIRY_PHOTO_MAX_BYTES": env_int("INQUIRY_PHOTO_MAX_BYTES", 5 * 1024 * 1024),
        "INQUIRY_DESCRIPTION_MAX": env_int("INQUIRY_DESCRIPTION_MAX", 5000),
        # inquiries one resident account may send on the web (only sent ones count)
        "INQUIRY_RATE_LIMIT": env("INQUIRY_RATE_LIMIT", "10 per hour;30 per day"),
        # Open311 GeoReport v2: the jurisdiction_id clients may send (the portal serves one)
        "OPEN311_JURISDICTION": env("OPEN311_JURISDICTION", "sakuragawa.example.jp"),
        # POST requests per api_key (failed authentications: API_AUTH_FAILURE_LIMIT)
        "OPEN311_RATE_LIMIT": env("OPEN311_RATE_LIMIT", "60 per minute"),
        # outreach: at most this many messages to one resident in this many days, across
        # every department and playbook (the contact budget)
        "CONTACT_BUDGET_MESSAGES": env_int("CONTACT_BUDGET_MESSAGES", 2),
        "CONTACT_BUDGET_DAYS": env_int("CONTACT_BUDGET_DAYS", 30),
        # playbooks' uplift: fewer cases than this on either side is "too few to tell"
        "PLAYBOOK_MIN_N": env_int("PLAYBOOK_MIN_N", 20),
        # the department whose API tokens may send life events (the resident register)
        "LIFE_EVENTS_DEPARTMENT": env("LIFE_EVENTS_DEPARTMENT", "citizens"),
        # community Q&A: flags from distinct accounts that hide a post until reviewed
        "COMMUNITY_FLAG_THRESHOLD": env_int("COMMUNITY_FLAG_THRESHOLD", 3),
        # a new account's first post waits for a moderator before it is public
        "COMMUNITY_FIRST_POST_REVIEW": env_bool("COMMUNITY_FIRST_POST_REVIEW", True),
        # questions and answers one account may post (the web form)
        "COMMUNITY_POST_RATE_LIMIT": env("COMMUNITY_POST_RATE_LIMIT",
                                         "5 per 10 minutes;30 per day"),
        "COMMUNITY_POST_MAX_CHARS": env_int("COMMUNITY_POST_MAX_CHARS", 10000),
        "COMMUNITY_SILENCE_DAYS": env_int("COMMUNITY_SILENCE_DAYS", 7),
        # FAQ: days after its review date before an entry shows "being reviewed"
        "FAQ_REVIEW_GRACE_DAYS": env_int("FAQ_REVIEW_GRACE_DAYS", 14),
        "DEMO_ALLOWED": True,
    }


class Config:
    """Settings shared by every environment; subclasses adjust them."""

    name = "base"

    @classmethod
    def adjust(cls, settings: dict) -> dict:
        return settings


class DevelopmentConfig(Config):
    name = "development"

    @classmethod
    def adjust(cls, settings: dict) -> dict:
        instance = Path(settings["INSTANCE_PATH"])
        settings["SQLALCHEMY_DATABASE_URI"] = (
            settings["SQLALCHEMY_DATABASE_URI"] or f"sqlite:///{instance / 'portal.db'}"
        )
        settings["SECRET_KEY"] = settings["SECRET_KEY"] or _development_secret(instance)
        # links in e-mails point at the served address, never at the request's Host header
        settings["BASE_URL"] = settings["BASE_URL"] or served_address()
        return settings


class TestingConfig(Config):
    name = "testing"

    @classmethod
    def adjust(cls, settings: dict) -> dict:
        settings.update(
            TESTING=True,
            SECRET_KEY="testing-secret-key-not-for-production",  # noqa: S106
            WTF_CSRF_ENABLED=False,  # switched back on by the `csrf_on` fixture
            RATELIMIT_STORAGE_URI="memory://",
            REDIS_URL=None,
            JOBS_INLINE=True,
            SMTP_HOST=None,
            ARGON2_TIME_COST=1,
            ARGON2_MEMORY_COST=8,
            ARGON2_PARALLELISM=1,
        )
        settings["SQLALCHEMY_DATABASE_URI"] = settings["SQLALCHEMY_DATABASE_URI"] or "sqlite://"
        settings["BASE_URL"] = settings["BASE_URL"] or "http://localhost"
        return settings


class ProductionConfig(Config):
    name = "production"

    @classmethod
    def adjust(cls, settings: dict) -> dict:
        missing = [
            var
            for var, key in (("PORTAL_SECRET_KEY", "SECRET_KEY"),
                             ("PORTAL_DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
                             ("PORTAL_BASE_URL", "BASE_URL"))
            if not settings.get(key)
        ]
        if missing:
            raise ConfigError(
                "The production configuration refuses to start without "
                + " and ".join(missing)
                + ". Set them in the environment (see .env.example)."
            )
        if len(settings["SECRET_KEY"]) < 32:
            raise ConfigError("PORTAL_SECRET_KEY must be at least 32 characters long.")
        base = urlsplit(settings["BASE_URL"])
        if base.scheme not in ("http", "https") or not base.hostname:
            raise ConfigError("PORTAL_BASE_URL must be an absolute address such as "
                              "https://portal.city.example")
        settings.update(
            TRUSTED_HOSTS=[base.hostname],
            SESSION_COOKIE_SECURE=True,
            REMEMBER_COOKIE_SECURE=True,
            PREFERRED_URL_SCHEME="https",
            DEMO_ALLOWED=env_bool("ALLOW_DEMO", False),
        )
        return settings


CONFIGS: dict[str, type[Config]] = {
    cls.name: cls for cls in (DevelopmentConfig, TestingConfig, ProductionConfig)
}


def load_config(name: str | None = None, overrides: dict | None = None) -> dict:
    """Settings for the named environment (``PORTAL_ENV`` by default) as a dict."""
    name = name or env("ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"PORTAL_ENV must be one of {', '.join(CONFIGS)}, got {name!r}.")
    settings = base_settings()
    settings.update(overrides or {})
    settings = CONFIGS[name].adjust(settings)
    settings.update(overrides or {})  # explicit overrides win over environment defaults
    if overrides and "DEFAULT_LOCALE" in overrides and "BABEL_DEFAULT_LOCALE" not in overrides:
        settings["BABEL_DEFAULT_LOCALE"] = overrides["DEFAULT_LOCALE"]
    check_locales(settings)
    settings["ENV_NAME"] = name
    return settings


def _development_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
