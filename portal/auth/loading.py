"""How Flask-Login finds the signed-in user."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from portal.auth.models import User
from portal.extensions import db


def load_user(login_id: str) -> User | None:
    user_id, _, nonce = login_id.partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user


def init_login_manager(manager: LoginManager) -> None:
    manager.user_loader(load_user)
    manager.login_view = "auth.login"
    manager.login_message = _l("Please sign in to open this page.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"
