"""Sign-ins that the server can end.

The signed session cookie carries the login id ``user:nonce:key`` (see
``User.get_id``). The account's nonce signs it out everywhere when it changes
(password change, deactivation, an administrator's "sign out everywhere"); the
key names one row of ``user_sessions``, so one device can be signed out, and a
cookie copied before sign-out opens nothing afterwards. Checking it costs no
extra query: the user loader reads the user and the row in one indexed join.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from portal.audit.recording import record
from portal.auth.models import User, UserSession, new_session_nonce
from portal.extensions import db
from portal.timeutil import utcnow

# last-seen is written at most this often per sign-in, never on every request
TOUCH_INTERVAL = timedelta(minutes=5)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])


def _oldest_alive(now: datetime) -> datetime:
    # a cookie stays valid for one lifetime after its last request; last-seen may lag
    # behind that request by up to one touch interval
    return now - lifetime() - TOUCH_INTERVAL


def start(user: User, *, ip: str | None, user_agent: str | None) -> UserSession:
    """A new sign-in for ``user``; afterwards ``user.get_id()`` is its login id.
    Also forgets the user's sign-ins that have expired on their own."""
    now = utcnow()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.last_seen_at < _oldest_alive(now)))
    key = secrets.token_urlsafe(32)
    row = UserSession(user_id=user.id, key_hash=_hash(key), created_at=now, last_seen_at=now,
                      ip_address=(ip or "")[:45] or None,
                      user_agent=(user_agent or "")[:300] or None)
    db.session.add(row)
    db.session.flush()
    user.session_key = key
    return row


def load(login_id: str) -> tuple[User, UserSession] | None:
    """The user and sign-in a login id stands for, if both are still valid, with the
    resident record of a resident's account (one query)."""
    user_id, nonce, key = [*login_id.split(":"), "", "", ""][:3]
    if not user_id.isdigit() or not nonce or not key or len(user_id) > 18:
        return None
    from portal.residents.models import Resident  # the resident's own record, if any

    found = db.session.execute(
        select(User, UserSession, Resident).join(UserSession, UserSession.user_id == User.id)
        .outerjoin(Resident, Resident.user_id == User.id)
        .where(UserSession.key_hash == _hash(key), User.id == int(user_id))).first()
    if found is None:
        return None
    user, row, resident = found
    # the page greets a resident by their record's name form: loaded in the same query
    user.own_resident = resident
    if not user.active or user.session_nonce != nonce:
        return None
    if row.last_seen_at < _oldest_alive(utcnow()):
        return None
    user.session_key = key
    return user, row


def touch_due(row: UserSession, now: datetime | None = None) -> bool:
    return (now or utcnow()) - row.last_seen_at >= TOUCH_INTERVAL


def touch(row: UserSession, *, ip: str | None) -> None:
    """Note that the sign-in is in use (guarded, so concurrent requests write once)."""
    now = utcnow()
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == row.id, UserSession.last_seen_at <= now - TOUCH_INTERVAL)
        .values(last_seen_at=now, ip_address=(ip or "")[:45] or None)
        .execution_options(synchronize_session=False))


def active(user: User) -> list[UserSession]:
    """The user's sign-ins that have not ended or expired, most recently used first."""
    return list(db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id,
               UserSession.last_seen_at >= _oldest_alive(utcnow()))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def end(row: UserSession) -> None:
    """Sign-out: the cookie of this sign-in opens nothing any more."""
    db.session.execute(delete(UserSession).where(UserSession.id == row.id))


def end_one(user: User, session_id: int, *, current: UserSession | None) -> bool:
    """End another of ``user``'s own sign-ins; False when there is no such sign-in."""
    if current is not None and session_id == current.id:
        return False
    ended = db.session.execute(delete(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user.id)).rowcount
    if ended:
        record("auth.session_ended", actor=user, target=user, summary="Signed out a device",
               data={"session": session_id})
    return bool(ended)


def end_others(user: User, *, current: UserSession | None) -> int:
    """End every sign-in of ``user`` but ``current``; the number ended."""
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if current is not None:
        stmt = stmt.where(UserSession.id != current.id)
    ended = db.session.execute(stmt).rowcount
    record("auth.sessions_ended", actor=user, target=user,
           summary="Signed out all other devices", data={"sessions": ended})
    return ended


def forget_all(user: User, *, keep: UserSession | None = None) -> None:
    """Sign the account out everywhere (but ``keep``): a new nonce, and the rows go."""
    user.session_nonce = new_session_nonce()
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    db.session.execute(stmt)


def sign_out_everywhere(user: User, *, actor: User) -> int:
    """An administrator ends every sign-in of ``user``; the number that were active."""
    count = len(active(user))
    forget_all(user)
    record("auth.signed_out_everywhere", actor=actor, target=user,
           summary="Signed out everywhere by an administrator", data={"sessions": count})
    return count


_BROWSERS = (("Edg/", "Edge"), ("EdgiOS", "Edge"), ("OPR/", "Opera"),
             ("SamsungBrowser", "Samsung Internet"), ("Firefox/", "Firefox"),
             ("FxiOS", "Firefox"), ("CriOS", "Chrome"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"),
            ("CrOS", "ChromeOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("Macintosh", "macOS"), ("Linux", "Linux"))


def describe_device(user_agent: str | None) -> str:
    """A short, translated "browser on system" for a User-Agent header."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system
    program = re.match(r"[A-Za-z][\w.-]{0,30}", agent)
    return program.group(0) if program else _("Unknown device")
