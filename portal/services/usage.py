"""Usage events: the checks every way in shares (counter, CSV, API), recording a
use on a resident's behalf, and set-based insertion that ignores duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import Channel, EventSource, Service, UsageEvent
from portal.timeutil import utcnow

#: Clocks of departmental systems drift; a use this far "in the future" is accepted.
FUTURE_TOLERANCE = timedelta(minutes=5)
KIND_MAX = 40
NOTE_MAX = 500
CHANNEL_LABELS = {
    Channel.COUNTER: _l("At the counter"),
    Channel.PHONE: _l("By phone"),
    Channel.ONLINE: _l("Online"),
    Channel.MOBILE: _l("Mobile app"),
    Channel.MAIL: _l("By post"),
    Channel.OUTREACH: _l("Outreach visit"),
}
CHANNELS = tuple(c.value for c in Channel)
SOURCE_LABELS = {
    EventSource.PORTAL: _l("Resident portal"),
    EventSource.STAFF: _l("Entered by staff"),
    EventSource.IMPORT: _l("File import"),
    EventSource.API: _l("Departmental system (API)"),
    EventSource.DEMO: _l("Demo data"),
}
#: Kinds of use: free text from departmental systems, with labels for the ones the
#: catalogue's services record (the demo data, the counter form's examples and the
#: API documentation use these). A kind not listed here is shown as written.
KIND_LABELS = {
    "use": _l("Use"),
    "loan": _l("Loan"),
    "renewal": _l("Renewal"),
    "reservation": _l("Reservation"),
    "return": _l("Return"),
    "booking": _l("Booking"),
    "app-use": _l("App use"),
    "issuance": _l("Certificate issued"),
    "application": _l("Application"),
    "check-up": _l("Check-up"),
    "vaccination": _l("Vaccination"),
    "consultation": _l("Consultation"),
    "visit": _l("Visit"),
    "class": _l("Class or course"),
}


def kind_label(kind: str | None) -> str:
    """The kind of use in the reader's language (an unlisted kind as written)."""
    if not kind:
        return str(KIND_LABELS["use"])
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def source_label(source: str | None) -> str:
    label = SOURCE_LABELS.get(source or "")
    return str(label) if label is not None else (source or "")


class UsageError(ValueError):
    """An event that cannot be accepted; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_channel(value: str | None) -> str:
    channel = (value or "").strip().lower()
    if channel not in CHANNELS:
        raise UsageError("channel", f"unknown channel {value!r}; use one of "
                         + ", ".join(CHANNELS))
    return channel


def check_occurred_at(moment: datetime, now: datetime | None = None) -> datetime:
    if moment.tzinfo is None:
        raise UsageError("occurred_at", "time without a time zone")
    if moment > (now or utcnow()) + FUTURE_TOLERANCE:
        raise UsageError("occurred_at", "time is in the future")
    return moment


def check_kind(value: str | None) -> str:
    kind = (value or "use").strip() or "use"
    if len(kind) > KIND_MAX:
        raise UsageError("kind", f"kind longer than {KIND_MAX} characters")
    return kind


def record_usage(*, actor: User, resident: Resident, service: Service, kind: str,
                 channel: str, occurred_at: datetime, note: str | None) -> UsageEvent:
    """A use recorded by staff on a resident's behalf (counter, phone, visit ...)."""
    event = UsageEvent(
        resident_id=resident.id, service_id=service.id, kind=check_kind(kind),
        channel=check_channel(channel), occurred_at=check_occurred_at(occurred_at),
        source=EventSource.STAFF, idempotency_key=uuid.uuid4().hex,
        note=(note or "").strip()[:NOTE_MAX] or None, recorded_by_id=actor.id,
    )
    db.session.add(event)
    db.session.flush()
    record("usage.record", actor=actor, target=resident,
           summary=f"Recorded use of {service.slug} ({event.channel})",
           data={"service": service.slug, "channel": event.channel, "kind": event.kind,
                 "event_id": event.id})
    return event


def existing_keys(source: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already stored for ``source`` (one query per 900 keys)."""
    keys = list(keys)
    found: set[str] = set()
    for start in range(0, len(keys), 900):
        chunk = keys[start:start + 900]
        found.update(db.session.scalars(
            select(UsageEvent.idempotency_key).where(UsageEvent.source == source,
                                                     UsageEvent.idempotency_key.in_(chunk))))
    return found


def insert_ignoring_duplicates(table: Table, rows: Sequence[dict[str, Any]],
                               conflict_columns: Sequence[str]) -> None:
    """Multi-row INSERT that skips rows whose unique key exists already (a
    concurrent writer may have stored the same key since we looked)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    db.session.execute(stmt, list(rows))


def insert_events(rows: Sequence[dict[str, Any]]) -> None:
    """Insert usage-event rows (dicts of column values); duplicates are ignored."""
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
    insert_ignoring_duplicates(UsageEvent.__table__, rows, ("source", "idempotency_key"))
