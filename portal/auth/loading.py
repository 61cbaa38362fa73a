"""How Flask-Login finds the signed-in user, and the sign-in (``UserSession``) of
the current request."""

from __future__ import annotations

import logging

from flask import Flask, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy.exc import OperationalError

from portal import database
from portal.auth import sessions
from portal.auth.models import User, UserSession
from portal.extensions import db

log = logging.getLogger(__name__)


def load_user(login_id: str) -> User | None:
    found = sessions.load(login_id)
    if found is None:
        return None
    user, row = found
    g.login_session = row
    if sessions.touch_due(row):
        _touch(row)
    return user


def _touch(row: UserSession) -> None:
    """Last-seen, in a short transaction of its own at the start of the request
    (see ``load_early``), so it never commits a view's half-done work. Best effort:
    a busy database must not turn a page view into an error."""
    try:
        db.session.commit()  # end the read that loaded the user: it wrote nothing
        with database.short_write():
            sessions.touch(row, ip=request.remote_addr)
            db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.info("last-seen of sign-in %s not updated (database busy)", row.id)


def current_session() -> UserSession | None:
    """The sign-in of this request, when someone is signed in."""
    if not current_user.is_authenticated:
        return None
    return g.get("login_session")


def load_early() -> None:
    """Load the signed-in user before the view runs (one query, as any signed-in page
    needs anyway), so the occasional last-seen write happens before the view's work."""
    if request.endpoint != "static" and "_user_id" in session:
        current_user._get_current_object()


def init_login_manager(manager: LoginManager) -> None:
    manager.user_loader(load_user)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please sign in to open this page.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"


def init_app(app: Flask) -> None:
    app.before_request(load_early)
