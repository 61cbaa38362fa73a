"""Flask extensions, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from babel import support
from flask import g, has_app_context, has_request_context, request
from flask_babel import Babel, Domain, get_locale, get_timezone
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Session(_FlaskSession):
    """Honours an explicit ``bind`` (a connection) given in the session options.

    Flask-SQLAlchemy always routes to the app's engine; the test-suite binds the
    session to one connection inside an outer transaction, so each test rolls back.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _babel_state():
    """Flask-Babel's per-context state (locale, time zone), reached with one lookup of
    ``g``: Flask-Babel's own helpers look ``g`` up three times per call, and a page
    asks for the locale many hundreds of times (every message, number and date)."""
    if not has_app_context():
        return None
    return getattr(g._get_current_object(), "_flask_babel", None)


def page_locale():
    """``flask_babel.get_locale()``, cheaply: the locale of this page (or of the
    ``force_locale`` block around an e-mail), ``None`` outside an app context."""
    locale = getattr(_babel_state(), "babel_locale", None)
    return locale if locale is not None else get_locale()


def page_timezone():
    """``flask_babel.get_timezone()``, cheaply."""
    zone = getattr(_babel_state(), "babel_tzinfo", None)
    return zone if zone is not None else get_timezone()


class CatalogueDomain(Domain):
    """Flask-Babel's domain, merging the catalogues of several translation folders
    correctly. Flask-Babel copies the plural rule of every folder it looks in, also
    of one without the locale (Babel's empty catalogue carries the English rule), so
    a second folder turned Japanese plurals into English ones; and it caches by
    locale alone, across apps. Here only catalogues found count, and the cache is
    keyed by the folders too."""

    def get_translations(self):
        if not has_app_context():
            return support.NullTranslations()
        locale = page_locale()
        # a page asks hundreds of times: remember the answer for this app context
        # (by locale, so force_locale for an e-mail gets its own)
        context = g._get_current_object()
        remembered = context.__dict__.setdefault("_portal_translations", {})
        translations = remembered.get(locale)
        if translations is None:
            translations = remembered[locale] = self._load(locale)
        return translations

    def _load(self, locale):
        directories = tuple(self.translation_directories)
        key = (directories, str(locale), self.domain[0])
        translations = self.cache.get(key)
        if translations is None:
            translations = support.Translations()
            for dirname in directories:
                catalog = support.Translations.load(dirname, [locale], self.domain[0])
                if isinstance(catalog, support.Translations):  # not the empty stand-in
                    translations.merge(catalog)
                    translations.plural = catalog.plural
            self.cache[key] = translations
        return translations


class PortalBabel(Babel):
    @cached_property
    def domain_instance(self):
        return CatalogueDomain(domain=self.domain)




#: Pages past this are empty anyway; ``?page=2**63`` would overflow the database's
#: integers in the OFFSET. Larger page numbers are read as this one.
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100


class PortalSQLAlchemy(SQLAlchemy):
    """``paginate`` with the page number (and a page size) from the query string
    bounded; a page size the view passes is its own business."""

    def paginate(self, select: Any, *, page: int | None = None, per_page: int | None = None,
                 max_per_page: int | None = None, **kwargs: Any):
        if per_page is None and max_per_page is None:  # ?per_page= from the query string
            max_per_page = MAX_PER_PAGE
        if page is None and has_request_context():
            try:
                page = min(int(request.args.get("page", 1)), MAX_PAGE)
            except (TypeError, ValueError):
                page = None  # Flask-SQLAlchemy's rule: page 1, or 404 with error_out
        return super().paginate(select, page=page, per_page=per_page,
                                max_per_page=max_per_page, **kwargs)


db = PortalSQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = PortalBabel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
