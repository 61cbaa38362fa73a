"""Signed, expiring, single-use links for password reset and account invitations.

The token carries a fingerprint of the current password hash: once the password
is set, the fingerprint no longer matches, so a used link cannot be used again.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.auth.models import User
from portal.extensions import db

RESET = "password-reset"
INVITATION = "invitation"
INVITATION_MAX_AGE = 7 * 24 * 3600


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    """Malformed, tampered with, already used, or for an inactive account."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def max_age(purpose: str) -> int:
    return INVITATION_MAX_AGE if purpose == INVITATION else current_app.config[
        "PASSWORD_RESET_MAX_AGE"]


def make_token(user: User, purpose: str = RESET) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token: str, purpose: str = RESET) -> User:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except SignatureExpired as exc:
        raise TokenExpired from exc
    except BadSignature as exc:
        raise TokenInvalid from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        raise TokenInvalid
    return user
