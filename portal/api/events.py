"""Batch ingestion of usage events sent by departmental systems.

A batch is checked whole first (JSON, an ``events`` list of 1..MAX_EVENTS), then
item by item. Every item gets a result in request order: ``created``,
``duplicate`` (its idempotency key is stored already, or an earlier item of the
same batch was created with it) or ``rejected`` (with a reason code). The work is
set-based: one query for the residents, one for the services, one for the keys
already stored, one multi-row insert.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from portal.api.models import ApiToken
from portal.audit.recording import record
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import EventSource, Service
from portal.services.usage import (
    KIND_MAX,
    NOTE_MAX,
    UsageError,
    check_channel,
    check_kind,
    check_occurred_at,
    existing_keys,
    insert_events,
)
from portal.timeutil import utcnow

MAX_EVENTS = 1000
KEY_MAX = 100  # stored with a department prefix in a 120-character column
#: The status of a whole request carrying more than MAX_EVENTS events.
TOO_MANY_STATUS = 413


class Status(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why an item was rejected (stable codes for machines; ``message`` is for people)."""

    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_CHANNEL = "invalid_channel"
    MISSING_TIME_ZONE = "missing_time_zone"
    TIME_IN_FUTURE = "time_in_future"
    UNKNOWN_RESIDENT = "unknown_resident"
    UNKNOWN_SERVICE = "unknown_service"
    SERVICE_NOT_ALLOWED = "service_not_allowed"


class BatchError(ValueError):
    """The whole request is refused (``status`` 400 or 413)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class Rejection(ValueError):
    """One item is refused."""

    def __init__(self, reason: Reason, field: str | None, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field
        self.message = message


@dataclass
class Item:
    """An item whose fields have the right shape (not yet looked up)."""

    resident_ref: str
    service_slug: str | None
    service_code: str | None
    occurred_at: datetime
    channel: str
    kind: str
    note: str | None


def read_batch(*, is_json: bool, body: bytes, key: str = "events") -> list[Any]:
    """The ``key`` list of a request body (``events``; the life-events endpoint's
    ``life_events``), or BatchError."""
    if not is_json:
        raise BatchError(400, _("Unsupported content type"),
                         _("Send the events as JSON with the header "
                           "Content-Type: application/json."))
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise BatchError(400, _("Malformed JSON"),
                         _("The request body is not valid JSON.")) from None
    if not isinstance(document, dict) or key not in document:
        raise BatchError(400, _("Bad request"), _(
            "The body must be a JSON object with a list named \"%(key)s\".", key=key))
    events = document[key]
    if not isinstance(events, list) or not events:
        raise BatchError(400, _("Bad request"), _(
            "\"%(key)s\" must be a list of 1 to %(max)s events.", key=key, max=MAX_EVENTS))
    if len(events) > MAX_EVENTS:
        raise BatchError(TOO_MANY_STATUS, _("Too many events"),
                         _("A request may carry at most %(max)s events; send the rest in "
                           "another request.", max=MAX_EVENTS))
    return events


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud800" escapes
        return False
    return True


def _text(item: dict[str, Any], field: str, *, required: bool, max_length: int | None = None,
          strip: bool = True) -> str | None:
    value = item.get(field)
    if value is None:
        if required:
            raise Rejection(Reason.MISSING_FIELD, field,
                            _("%(field)s is required.", field=field))
        return None
    if not isinstance(value, str):
        raise Rejection(Reason.WRONG_TYPE, field, _("%(field)s must be a string.", field=field))
    if "\x00" in value or not _encodable(value):
        raise Rejection(Reason.INVALID_VALUE, field,
                        _("%(field)s contains characters that cannot be stored.", field=field))
    if strip:
        value = value.strip()
    if not value:
        if required:
            raise Rejection(Reason.MISSING_FIELD, field,
                            _("%(field)s is required.", field=field))
        return None
    if max_length is not None and len(value) > max_length:
        raise Rejection(Reason.INVALID_VALUE, field,
                        _("%(field)s is longer than %(max)s characters.", field=field,
                          max=max_length))
    return value


def parse_key(item: Any) -> str:
    if not isinstance(item, dict):
        raise Rejection(Reason.WRONG_TYPE, None, _("Each event must be a JSON object."))
    value = item.get("idempotency_key")
    if isinstance(value, str) and value and not value.strip():
        raise Rejection(Reason.INVALID_VALUE, "idempotency_key",
                        _("idempotency_key must not be empty or only spaces."))
    # surrounding spaces are no part of the key: " abc " is the event "abc"
    return _text(item, "idempotency_key", required=True, max_length=KEY_MAX)


def parse_time(value: str, now: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Rejection(Reason.INVALID_VALUE, "occurred_at",
                        _("occurred_at is not an ISO 8601 date and time.")) from None
    try:
        return check_occurred_at(moment, now)
    except UsageError:
        if moment.tzinfo is None:
            raise Rejection(Reason.MISSING_TIME_ZONE, "occurred_at",
                            _("occurred_at needs a time zone offset, such as +09:00.")) from None
        raise Rejection(Reason.TIME_IN_FUTURE, "occurred_at",
                        _("occurred_at is in the future.")) from None


def parse_item(item: dict[str, Any], now: datetime) -> Item:
    """The fields of one item (its key is checked by ``parse_key``), or Rejection."""
    resident_ref = _text(item, "resident_external_id", required=True)
    slug = _text(item, "service", required=False)
    code = _text(item, "service_code", required=False)
    if slug is None and code is None:
        raise Rejection(Reason.MISSING_FIELD, "service",
                        _("service or service_code is required."))
    occurred_at = parse_time(_text(item, "occurred_at", required=True), now)
    channel_value = _text(item, "channel", required=True)
    try:
        channel = check_channel(channel_value)
    except UsageError:
        raise Rejection(Reason.INVALID_CHANNEL, "channel",
                        _("Unknown channel %(channel)s.", channel=channel_value)) from None
    kind_value = _text(item, "kind", required=False)
    try:
        kind = check_kind(kind_value)
    except UsageError:
        raise Rejection(Reason.INVALID_VALUE, "kind",
                        _("%(field)s is longer than %(max)s characters.", field="kind",
                          max=KIND_MAX)) from None
    note = _text(item, "note", required=False, max_length=NOTE_MAX)
    return Item(resident_ref=resident_ref, service_slug=slug, service_code=code,
                occurred_at=occurred_at, channel=channel, kind=kind, note=note)


@dataclass
class ServiceRow:
    id: int
    slug: str
    service_code: str | None
    department_id: int


def _residents(refs: set[str]) -> dict[str, int]:
    """External id → resident id, for residents that are not anonymised (one query)."""
    if not refs:
        return {}
    return dict(db.session.execute(select(Resident.external_id, Resident.id).where(
        Resident.external_id.in_(refs), Resident.anonymised_at.is_(None))).all())


def _services(slugs: set[str], codes: set[str]) -> tuple[dict[str, ServiceRow],
                                                         dict[str, ServiceRow]]:
    """Services by slug and by code (one query)."""
    if not slugs and not codes:
        return {}, {}
    rows = [ServiceRow(*row) for row in db.session.execute(
        select(Service.id, Service.slug, Service.service_code, Service.department_id)
        .where(or_(Service.slug.in_(slugs), Service.service_code.in_(codes))))]
    return ({row.slug: row for row in rows},
            {row.service_code: row for row in rows if row.service_code})


def _resolve_service(item: Item, by_slug: dict[str, ServiceRow],
                     by_code: dict[str, ServiceRow]) -> ServiceRow:
    by_its_slug = by_slug.get(item.service_slug) if item.service_slug else None
    by_its_code = by_code.get(item.service_code) if item.service_code else None
    if item.service_slug and by_its_slug is None:
        raise Rejection(Reason.UNKNOWN_SERVICE, "service", _("Unknown service."))
    if item.service_code and by_its_code is None:
        raise Rejection(Reason.UNKNOWN_SERVICE, "service_code", _("Unknown service."))
    if by_its_slug and by_its_code and by_its_slug.id != by_its_code.id:
        raise Rejection(Reason.INVALID_VALUE, "service_code",
                        _("service and service_code name different services."))
    return by_its_slug or by_its_code


def _result(index: int, key: Any, status: Status,
            rejection: Rejection | None = None) -> dict[str, Any]:
    result = {"index": index, "idempotency_key": key if isinstance(key, str) else None,
              "status": str(status)}
    if rejection is not None:
        result.update(reason=str(rejection.reason), field=rejection.field,
                      message=rejection.message)
    return result


def scoped_key(department_id: int, key: str) -> str:
    return f"d{department_id}:{key}"


def ingest_events(*, token: ApiToken, events: Sequence[Any],
                  now: datetime | None = None) -> dict[str, Any]:
    """Store the acceptable ``events`` for ``token``; the per-item results and counts."""
    now = now or utcnow()
    keys: list[str | Rejection] = []
    items: list[Item | Rejection | None] = []
    for raw in events:
        try:
            keys.append(parse_key(raw))
        except Rejection as rejection:
            keys.append(rejection)
            items.append(None)
            continue
        try:
            items.append(parse_item(raw, now))
        except Rejection as rejection:
            items.append(rejection)

    good = [item for item in items if isinstance(item, Item)]
    residents = _residents({item.resident_ref for item in good})
    by_slug, by_code = _services({i.service_slug for i in good if i.service_slug},
                                 {i.service_code for i in good if i.service_code})
    allowed = {department.id for department in token.departments}
    services: list[ServiceRow | Rejection | None] = []
    for item in items:
        try:
            services.append(_resolve_service(item, by_slug, by_code)
                            if isinstance(item, Item) else None)
        except Rejection as rejection:
            services.append(rejection)
    # Keys are unique per department: two departmental systems may both number
    # their events 1, 2, 3 … without one's events being taken for the other's.
    candidates = {scoped_key(service.department_id, key)
                  for key, service in zip(keys, services, strict=True)
                  if isinstance(key, str) and isinstance(service, ServiceRow)}
    taken = existing_keys(EventSource.API, candidates)

    results: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for index, (raw, key, item, service) in enumerate(zip(events, keys, items, services,
                                                          strict=True)):
        raw_key = raw.get("idempotency_key") if isinstance(raw, dict) else None
        if isinstance(key, Rejection):
            results.append(_result(index, raw_key, Status.REJECTED, key))
            continue
        try:
            if isinstance(item, Rejection):
                raise item
            if isinstance(service, Rejection):
                raise service
            if service.department_id not in allowed:
                raise Rejection(Reason.SERVICE_NOT_ALLOWED,
                                "service" if item.service_slug else "service_code",
                                _("This token may not record use of this service."))
            stored_key = scoped_key(service.department_id, key)
            if stored_key in taken:
                results.append(_result(index, key, Status.DUPLICATE))
                continue
            resident_id = residents.get(item.resident_ref)
            if resident_id is None:
                raise Rejection(Reason.UNKNOWN_RESIDENT, "resident_external_id",
                                _("Unknown resident."))
        except Rejection as rejection:
            results.append(_result(index, key, Status.REJECTED, rejection))
            continue
        taken.add(stored_key)
        rows.append({"resident_id": resident_id, "service_id": service.id, "kind": item.kind,
                     "channel": item.channel, "occurred_at": item.occurred_at,
                     "source": EventSource.API.value, "idempotency_key": stored_key,
                     "note": item.note, "recorded_by_id": None})
        results.append(_result(index, key, Status.CREATED))

    insert_events(rows)
    summary = {status.value: 0 for status in Status}
    for result in results:
        summary[result["status"]] += 1
    record("api.events", actor=None, target=("api_tokens", token.id),
           summary=(f"API batch via token {token.prefix}…: {summary['created']} created, "
                    f"{summary['duplicate']} duplicate, {summary['rejected']} rejected"),
           data=summary)
    return {"results": results, "summary": summary}
