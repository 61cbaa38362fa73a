"""Queueing and sending outbound messages.

A message is stored first (``queue_email``, inside the caller's transaction) and
sent later by the ``send_due_messages`` job. A failure keeps the message with its
error and schedules a retry with back-off; nothing is lost while SMTP is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.jobs import enqueue, enqueue_in
from portal.mail import sinks
from portal.mail.models import MessageStatus, OutboundMessage
from portal.timeutil import utcnow

log = logging.getLogger(__name__)

#: called (then committed) after a round that delivered messages: features that keep
#: their own record of what was sent update it in one statement (``portal.outreach``)
AFTER_DELIVERY: list[Callable[[], object]] = []


def new_email(*, to: str, subject: str, body: str, locale: str, purpose: str,
              user_id: int | None = None) -> OutboundMessage:
    """A queued e-mail, not yet added to the session (for callers that queue many in
    one flush); ``queue_email`` is the one-at-a-time way."""
    return OutboundMessage(
        channel="email", to_address=to, subject=subject, body_text=body, locale=locale,
        purpose=purpose, user_id=user_id, status=MessageStatus.QUEUED,
        next_attempt_at=utcnow(),
    )


def queue_email(*, to: str, subject: str, body: str, locale: str, purpose: str,
                user: User | None = None) -> OutboundMessage:
    message = new_email(to=to, subject=subject, body=body, locale=locale, purpose=purpose,
                        user_id=user.id if user else None)
    db.session.add(message)
    db.session.flush()
    return message


# the link in these opens an account or a personal survey invitation
SENSITIVE_PURPOSES = {"password_reset", "invitation", "registration", "survey_invitation",
                      "survey_reminder"}
REDACTED = "[removed after delivery: this message contained a single-use link]"


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _claim_next() -> OutboundMessage | None:
    """One due message, locked so that no other worker sends it too (PostgreSQL:
    FOR UPDATE SKIP LOCKED; SQLite has a single writer)."""
    return db.session.scalar(
        select(OutboundMessage)
        .where(OutboundMessage.status == MessageStatus.QUEUED,
               OutboundMessage.next_attempt_at <= utcnow())
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def send_due_messages(limit: int = 200) -> dict[str, int]:
    """Job: send queued messages whose time has come, one transaction per message."""
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(limit):
        message = _claim_next()
        if message is None:
            break
        message.attempts += 1
        try:
            sinks.deliver(message)
        except Exception as exc:  # noqa: BLE001 - any failure is kept and retried
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= max_attempts:
                message.status = MessageStatus.FAILED
                counts["failed"] += 1
            else:
                message.next_attempt_at = utcnow() + retry_delay(message.attempts)
                counts["retry"] += 1
            log.warning("sending message %s failed (attempt %s): %s",
                        message.id, message.attempts, message.last_error)
        else:
            message.status = MessageStatus.SENT
            message.sent_at = utcnow()
            message.last_error = None
            counts["sent"] += 1
            if message.purpose in SENSITIVE_PURPOSES:
                # the link in it opens an account: do not keep it once delivered
                message.body_text = REDACTED
        db.session.commit()
    if counts["sent"]:
        for hook in AFTER_DELIVERY:
            hook()
        db.session.commit()
    _schedule_next_round()
    return counts


def _schedule_next_round() -> None:
    """On the queue: run again when the earliest waiting message is due."""
    if current_app.config["JOBS_INLINE"]:
        return
    due = db.session.scalar(select(func.min(OutboundMessage.next_attempt_at))
                            .where(OutboundMessage.status == MessageStatus.QUEUED))
    if due is not None:
        enqueue_in(max(due - utcnow(), timedelta(seconds=1)), send_due_messages)


def dispatch() -> None:
    """Ask for the outbox to be sent; call after the transaction that queued mail commits.

    A queue that cannot be reached must not turn a committed action into an error:
    the message is stored, and the worker's periodic sweep sends it later."""
    try:
        enqueue(send_due_messages)
    except Exception:
        log.exception("could not queue the outbox job; the periodic sweep will send it")
