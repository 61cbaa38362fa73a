"""The name shown on a community post: never the legal name unless the person chose it.

``author_name(user)`` is the member's chosen ``public_name``; or the account's own
display name when they ticked "show my own name instead"; otherwise a neutral name made
from the account's number ("Resident 1042" / "住民1042"). A post whose account is gone
shows "Deleted account". Staff accounts show "Municipal staff": an official answer
names its department beside it (that is the official answer's own marking).

List pages call ``preload(user_ids)`` first: one query for the page's members, then
``author_name`` reads the request's cache (query counts stay flat).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import Role
from portal.community.models import Member
from portal.extensions import db

_MISSING = object()


def _cache() -> dict[int, Member | None]:
    if not has_app_context():
        return {}
    cache = g.get("_community_members")
    if cache is None:
        cache = g._community_members = {}
    return cache


def preload(user_ids: Iterable[int | None]) -> None:
    """Load the members of ``user_ids`` (one query) for the ``author_name`` calls after."""
    cache = _cache()
    wanted = {uid for uid in user_ids if uid is not None and uid not in cache}
    if not wanted:
        return
    for member in db.session.scalars(select(Member).where(Member.user_id.in_(wanted))):
        cache[member.user_id] = member
    for uid in wanted:
        cache.setdefault(uid, None)


def forget(user_id: int) -> None:
    """Drop a cached member (after the person changed their community name)."""
    _cache().pop(user_id, None)


def member_of(user) -> Member | None:
    cache = _cache()
    member = cache.get(user.id, _MISSING)
    if member is _MISSING:
        member = db.session.get(Member, user.id)
        cache[user.id] = member
    return member


def neutral_name(user_id: int) -> str:
    return _("Resident %(number)s", number=user_id)


def author_name(user) -> str:
    if user is None:
        return _("Deleted account")
    if user.role != Role.RESIDENT:
        return _("Municipal staff")
    member = member_of(user)
    if member is not None:
        if member.show_own_name and user.display_name:
            return user.display_name
        if member.public_name:
            return member.public_name
    return neutral_name(user.id)
