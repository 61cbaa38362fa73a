"""Open311 ``api_key``s: creating, revoking and recognising them.

Like the API tokens (``portal.api.tokens``): a key is shown once, when it is
created; only its SHA-256 digest and its first characters (to recognise it in
lists) are stored, and requests find their key by the digest. A key is scoped to
departments: it may post requests for their services only.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.inquiries.models import Open311Key
from portal.services.models import Department
from portal.timeutil import utcnow

KEY_PREFIX = "o311_"
PREFIX_LENGTH = 9
#: longer ``api_key`` values are refused before hashing
KEY_MAX_LENGTH = 200
#: ``last_used_at`` is written at most this often per key
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Open311KeyError(ValueError):
    """A key operation that cannot be carried out (message in English, for the CLI
    and the logs; the console form validates before calling)."""


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def rate_limit_key(value: str | None, remote_addr: str | None) -> str:
    """A rate-limit bucket: per key (by digest prefix, never the key itself), per
    address for requests without one."""
    if value and len(value) <= KEY_MAX_LENGTH:
        return "open311-key:" + hash_key(value)[:16]
    return "open311-anonymous:" + (remote_addr or "unknown")


def create_key(*, actor: User | None, name: str, departments: Sequence[Department]
               ) -> tuple[Open311Key, str]:
    """A new key for ``departments``; returns it with its value (shown once)."""
    name = (name or "").strip()
    if not name:
        raise Open311KeyError("a key needs a name")
    if len(name) > 120:
        raise Open311KeyError("a key's name can be at most 120 characters")
    if not departments:
        raise Open311KeyError("a key needs at least one department")
    value = generate_key()
    key = Open311Key(name=name, prefix=value[:PREFIX_LENGTH], key_hash=hash_key(value),
                     created_by_id=actor.id if actor else None, departments=list(departments))
    db.session.add(key)
    db.session.flush()
    codes = sorted(d.code for d in departments)
    record("open311_key.create", actor=actor, target=key,
           summary=f"Created Open311 key {name!r} ({key.prefix}…) for {', '.join(codes)}",
           data={"name": name, "prefix": key.prefix, "departments": codes})
    return key, value


def revoke_key(*, actor: User | None, key: Open311Key) -> bool:
    """Revoke ``key``; False (and nothing written) when it was revoked already."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    db.session.flush()
    record("open311_key.revoke", actor=actor, target=key,
           summary=f"Revoked Open311 key {key.name!r} ({key.prefix}…)",
           data={"name": key.name, "prefix": key.prefix})
    return True


def find_active_key(value: str | None) -> Open311Key | None:
    """The active key with this value, looked up by its digest."""
    if not value or len(value) > KEY_MAX_LENGTH:
        return None
    found = db.session.scalar(select(Open311Key).where(Open311Key.key_hash == hash_key(value)))
    if found is None or found.revoked_at is not None:
        return None
    return found


def note_use(key: Open311Key, now: datetime | None = None) -> bool:
    """Remember when ``key`` was last used, writing at most once a minute."""
    now = now or utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return False
    key.last_used_at = now
    return True


def may_post_for(key: Open311Key, department_id: int | None) -> bool:
    return department_id is not None and any(d.id == department_id for d in key.departments)
