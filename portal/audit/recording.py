"""The one helper every feature calls to write the audit log."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.extensions import db
from portal.timeutil import utcnow


def record(
    action: str,
    *,
    actor: User | None,
    target: Any = None,
    summary: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the session (the caller's transaction commits it).

    ``target`` is a model instance (its table name and primary key are stored) or
    a ``(type, id)`` pair. ``summary`` is plain English and never translated.
    """
    target_type = target_id = None
    if isinstance(target, tuple):
        target_type, target_id = target
    elif target is not None:
        target_type = target.__tablename__
        target_id = target.id
    if ip is None and has_request_context():
        ip = request.remote_addr
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else None,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        summary=summary,
        data=data,
        ip=ip,
    )
    db.session.add(entry)
    return entry


def record_many(action: str, *, actor: User | None, target_type: str, target_ids: list[int],
                summary: str, data: dict[str, Any] | None = None) -> None:
    """One entry per target in a single multi-row INSERT: for pages and exports that
    show many residents at once, so each resident's own access log lists them."""
    if not target_ids:
        return
    ip = request.remote_addr if has_request_context() else None
    now = utcnow()
    db.session.execute(insert(AuditEntry), [{
        "occurred_at": now, "action": action, "actor_id": actor.id if actor else None,
        "actor_label": actor.email if actor else None, "target_type": target_type,
        "target_id": str(target_id), "summary": summary, "data": data, "ip": ip,
    } for target_id in target_ids])
