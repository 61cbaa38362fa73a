"""API tokens: creating, revoking and recognising them.

A token is shown once, when it is created; only its SHA-256 digest and its first
characters (to recognise it in lists) are stored. Requests find their token by
the digest.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.api.models import ApiToken
from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.services.models import Department
from portal.timeutil import utcnow

TOKEN_PREFIX = "rsp_"  # noqa: S105  (a marker, not a secret)
PREFIX_LENGTH = 8
#: Longer ``Authorization`` values are refused before hashing.
TOKEN_MAX_LENGTH = 200
#: ``last_used_at`` is written at most this often per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token operation that cannot be carried out."""


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > TOKEN_MAX_LENGTH \
            or any(ch.isspace() for ch in token):
        return None
    return token


def rate_limit_key(token: str | None, remote_addr: str | None) -> str:
    """A rate-limit bucket: per token (by digest prefix, never the token itself),
    per address for requests without one."""
    if token:
        return "api-token:" + hash_token(token)[:16]
    return "api-anonymous:" + (remote_addr or "unknown")


def create_token(*, actor: User, name: str, departments: Sequence[Department]
                 ) -> tuple[ApiToken, str]:
    """A new token for ``departments``; returns it with its value (shown once)."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    if not departments:
        raise TokenError("a token needs at least one department")
    value = generate_token()
    token = ApiToken(name=name, prefix=value[:PREFIX_LENGTH], token_hash=hash_token(value),
                     created_by_id=actor.id, departments=list(departments))
    db.session.add(token)
    db.session.flush()
    codes = sorted(d.code for d in departments)
    record("api_token.create", actor=actor, target=token,
           summary=f"Created API token {name!r} ({token.prefix}…) for {', '.join(codes)}",
           data={"name": name, "prefix": token.prefix, "departments": codes})
    return token, value


def revoke_token(*, actor: User, token: ApiToken) -> bool:
    """Revoke ``token``; False (and nothing written) when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    record("api_token.revoke", actor=actor, target=token,
           summary=f"Revoked API token {token.name!r} ({token.prefix}…)",
           data={"name": token.name, "prefix": token.prefix})
    return True


def find_active_token(token: str | None) -> ApiToken | None:
    """The active token with this value, looked up by its digest."""
    if not token:
        return None
    found = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if found is None or found.revoked_at is not None:
        return None
    return found


def note_use(token: ApiToken, now: datetime | None = None) -> bool:
    """Remember when ``token`` was last used, writing at most once a minute."""
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    token.last_used_at = now
    return True
