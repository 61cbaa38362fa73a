"""The one helper every feature calls to write the audit log.

Where an entry is written depends on the request (``portal.database`` explains why):

- in a request that changes something, and outside requests, ``record`` adds the
  entry to the caller's transaction: the change and its entry commit together or
  not at all;
- in a read (a GET view showing residents), the entries are kept aside and written
  after the view, in one short transaction of their own that takes the write lock
  up front (``BEGIN IMMEDIATE`` on SQLite). The read itself stays lock-free, and
  on SQLite concurrent readers queue for a few milliseconds of INSERT within the
  busy timeout instead of failing. If those entries cannot be written, the request
  fails: a page that showed residents is never sent without its audit entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import insert

from portal import database
from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.database import is_read_request
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
    """Add an audit entry to the session (the caller's transaction commits it), or,
    in a read request, keep it for the short transaction after the view.

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
    row = _row(action, actor, target_type, target_id, summary, data, ip)
    entry = AuditEntry(**row)
    if is_read_request():
        _pending().append(row)
    else:
        db.session.add(entry)
    return entry


def record_many(action: str, *, actor: User | None, target_type: str, target_ids: list[int],
                summary: str, data: dict[str, Any] | None = None) -> None:
    """One entry per target in a single multi-row INSERT: for pages and exports that
    show many residents at once, so each resident's own access log lists them."""
    if not target_ids:
        return
    ip = request.remote_addr if has_request_context() else None
    now = utcnow()  # one moment for the page view: the audit viewer groups by it
    rows = [_row(action, actor, target_type, target_id, summary, data, ip, now)
            for target_id in target_ids]
    if is_read_request():
        _pending().extend(rows)
    else:
        db.session.execute(insert(AuditEntry), rows)


def _row(action: str, actor: User | None, target_type: str | None, target_id: Any,
         summary: str, data: dict[str, Any] | None, ip: str | None,
         occurred_at: datetime | None = None) -> dict[str, Any]:
    return {"occurred_at": occurred_at or utcnow(), "action": action,
            "actor_id": actor.id if actor is not None else None,
            "actor_label": actor.email if actor is not None else None,
            "target_type": target_type,
            "target_id": str(target_id) if target_id is not None else None,
            "summary": summary, "data": data, "ip": ip}


def _pending() -> list[dict[str, Any]]:
    if "read_audit" not in g:
        g.read_audit = []
    return g.read_audit


def write_read_audit(response: Response) -> Response:
    """After a read: end its transaction, then write its entries in their own."""
    rows = g.pop("read_audit", None)
    if not rows:
        return response
    try:
        # End the read first: it has nothing of its own to write (one that fails
        # has nothing to keep), and it must not be the transaction that writes.
        if response.status_code >= 500:
            db.session.rollback()
        else:
            db.session.commit()
        with database.short_write():  # the next BEGIN takes the write lock
            db.session.execute(insert(AuditEntry), rows)
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return response


def init_app(app: Flask) -> None:
    app.after_request(write_read_audit)
