"""The guards no outreach message passes without — always, whatever the playbook says:
the resident consents to outreach, has not asked not to be contacted, has an address
for the channel, and is within the city-wide *contact budget* (at most
``CONTACT_BUDGET_MESSAGES`` messages in ``CONTACT_BUDGET_DAYS`` days, counted over every
department and playbook: queued and sent ``OutreachMessage`` rows).

``reason`` answers for one resident (the sending path); ``suppression_counts`` for a
set of residents in one statement (the dry run). Both give the first reason in
``ORDER``, so a resident is counted once.

The channel: e-mail or letter, the first of the resident's preferred channels
(``Resident.preferred_channels``) that they have an address for; with no usable
preference, e-mail if they have an address, else a letter if they have a postal
address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, and_, case, func, or_, select

from portal.extensions import db
from portal.outreach.models import MessageChannel, MessageStatus, OutreachMessage
from portal.outreach.models import SuppressionReason as Reason
from portal.residents.models import Resident
from portal.timeutil import utcnow

ORDER = (Reason.ANONYMISED, Reason.NO_CONSENT, Reason.DO_NOT_CONTACT, Reason.NO_ADDRESS,
         Reason.BUDGET)
COUNTED = (MessageStatus.QUEUED, MessageStatus.SENT)


def budget() -> tuple[int, int]:
    """(messages, days) of the contact budget."""
    config = current_app.config
    return int(config["CONTACT_BUDGET_MESSAGES"]), int(config["CONTACT_BUDGET_DAYS"])


def _has(value: str | None) -> bool:
    return bool(value and value.strip())


def channel_for(resident: Resident) -> str | None:
    """E-mail or letter by the resident's preferences and addresses; None: neither."""
    usable = {MessageChannel.EMAIL: _has(resident.email),
              MessageChannel.LETTER: _has(resident.postal_code) and _has(resident.address)}
    for preferred in resident.preferred_channels or []:
        if usable.get(preferred):
            return MessageChannel(preferred)
    for channel in (MessageChannel.EMAIL, MessageChannel.LETTER):
        if usable[channel]:
            return channel
    return None


def messages_in_budget_window(resident_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    _, days = budget()
    return db.session.scalar(select(func.count()).select_from(OutreachMessage).where(
        OutreachMessage.resident_id == resident_id,
        OutreachMessage.status.in_([s.value for s in COUNTED]),
        OutreachMessage.created_at > now - timedelta(days=days))) or 0


def lock(resident_ids) -> None:
    """Hold the residents' rows until the transaction ends, so two workers sending to
    the same resident at once (two playbooks' steps, a manual start during an
    evaluation) count the budget one after the other (PostgreSQL; SQLite has one
    writer). In id order, so two such workers cannot deadlock."""
    ids = sorted(set(resident_ids))
    if ids and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Resident.id).where(Resident.id.in_(ids))
                           .order_by(Resident.id).with_for_update())


def recent_counts(resident_ids, now: datetime | None = None) -> dict[int, int]:
    """``messages_in_budget_window`` for many residents in one statement (those with
    none are left out)."""
    now = now or utcnow()
    _, days = budget()
    ids = list(resident_ids)
    if not ids:
        return {}
    return {row[0]: row[1] for row in db.session.execute(
        select(OutreachMessage.resident_id, func.count()).where(
            OutreachMessage.resident_id.in_(ids),
            OutreachMessage.status.in_([s.value for s in COUNTED]),
            OutreachMessage.created_at > now - timedelta(days=days))
        .group_by(OutreachMessage.resident_id))}


def reason(resident: Resident, now: datetime | None = None, *,
           channel: str | None = None, recent: int | None = None) -> str | None:
    """Why no message may go to ``resident`` now (a ``SuppressionReason``), or None.
    ``channel``: the channel meant (default: ``channel_for``); ``recent``: their
    messages in the budget window when the caller counted them already
    (``recent_counts``)."""
    if resident.anonymised_at is not None:
        return Reason.ANONYMISED
    if not resident.consent_outreach:
        return Reason.NO_CONSENT
    if resident.do_not_contact:
        return Reason.DO_NOT_CONTACT
    channel = channel or channel_for(resident)
    if channel is None or (channel == MessageChannel.EMAIL and not _has(resident.email)) or (
            channel == MessageChannel.LETTER
            and not (_has(resident.postal_code) and _has(resident.address))):
        return Reason.NO_ADDRESS
    limit, _ = budget()
    if recent is None:
        recent = messages_in_budget_window(resident.id, now)
    if recent >= limit:
        return Reason.BUDGET
    return None


def _filled(column):
    return and_(column.is_not(None), func.trim(column) != "")


def suppression_counts(resident_ids: Select, now: datetime | None = None) -> dict[str, int]:
    """For the residents whose ids ``resident_ids`` selects (one column; duplicates
    count once): how many would have a message suppressed, by reason, and ``"ok"``.
    One statement, whatever the number of residents."""
    now = now or utcnow()
    limit, days = budget()
    r, m = Resident.__table__, OutreachMessage.__table__
    ids = resident_ids.subquery("who")
    recent = (select(m.c.resident_id, func.count().label("n"))
              .where(m.c.status.in_([s.value for s in COUNTED]),
                     m.c.created_at > now - timedelta(days=days),
                     m.c.resident_id.in_(select(ids.c[0])))
              .group_by(m.c.resident_id).subquery("recent"))
    why = case(
        (r.c.anonymised_at.is_not(None), Reason.ANONYMISED.value),
        (r.c.consent_outreach.is_not(True), Reason.NO_CONSENT.value),
        (r.c.do_not_contact.is_(True), Reason.DO_NOT_CONTACT.value),
        (~or_(_filled(r.c.email), and_(_filled(r.c.postal_code), _filled(r.c.address))),
         Reason.NO_ADDRESS.value),
        (func.coalesce(recent.c.n, 0) >= limit, Reason.BUDGET.value),
        else_="ok").label("why")
    query = (select(why, func.count()).select_from(
        r.outerjoin(recent, recent.c.resident_id == r.c.id))
        .where(r.c.id.in_(select(ids.c[0]).distinct())).group_by(why))
    counts = {key.value: 0 for key in ORDER} | {"ok": 0}
    counts.update({row[0]: row[1] for row in db.session.execute(query)})
    return counts
