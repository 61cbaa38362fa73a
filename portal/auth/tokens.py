"""Signed, expiring, single-use links for password reset, account invitations and
finishing a registration.

A reset or invitation token carries a fingerprint of the current password hash: once
the password is set, the fingerprint no longer matches, so a used link cannot be used
again. A registration token carries what the form asked (e-mail, name, language); it
is used up when the account exists, since an address has at most one account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.auth.models import User
from portal.extensions import db

RESET = "password-reset"
INVITATION = "invitation"
REGISTRATION = "registration"
INVITATION_MAX_AGE = 7 * 24 * 3600
REGISTRATION_MAX_AGE = 24 * 3600


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    """Malformed, tampered with, already used, or for an inactive account."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def max_age(purpose: str) -> int:
    if purpose == REGISTRATION:
        return REGISTRATION_MAX_AGE
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


@dataclass(frozen=True)
class Registration:
    email: str
    display_name: str
    locale: str


def make_registration_token(registration: Registration) -> str:
    return _serializer(REGISTRATION).dumps(
        {"e": registration.email, "n": registration.display_name, "l": registration.locale})


def registration_for_token(token: str) -> Registration:
    try:
        data = _serializer(REGISTRATION).loads(token, max_age=REGISTRATION_MAX_AGE)
    except SignatureExpired as exc:
        raise TokenExpired from exc
    except BadSignature as exc:
        raise TokenInvalid from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "enl"):
        raise TokenInvalid
    return Registration(email=data["e"], display_name=data["n"], locale=data["l"])
