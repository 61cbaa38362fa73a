"""Life events from the register through the API (``POST /api/v1/life-events``).

The same shape as the usage events (``portal.api.events``): a ``life_events`` list of
1..MAX_EVENTS items, each answered in request order ``created``, ``duplicate`` (the
resident has this event on this day already, or an earlier item of the request
created it) or ``rejected`` with a reason. Life events are the register's: only a
token scoped to the register's department (``LIFE_EVENTS_DEPARTMENT``, the citizens
division by default) may send them. Set-based: one query for the residents, one for
the events stored already, one multi-row insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select

from portal.api import events
from portal.api.events import Rejection, Status, _text
from portal.api.models import ApiToken
from portal.audit.recording import record
from portal.extensions import db
from portal.imports.life_events import KINDS, NOTE_MAX, parse_day
from portal.residents.models import LifeEvent, Resident
from portal.services.models import EventSource
from portal.timeutil import local_today, utcnow

FORBIDDEN_STATUS = 403


class LifeReason(StrEnum):
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    INVALID_EVENT = "invalid_event"
    DATE_IN_FUTURE = "date_in_future"
    UNKNOWN_RESIDENT = "unknown_resident"


def may_send(token: ApiToken) -> bool:
    code = current_app.config.get("LIFE_EVENTS_DEPARTMENT", "citizens")
    return any(department.code == code for department in token.departments)


def read_batch(*, is_json: bool, body: bytes) -> list[Any]:
    """The ``life_events`` list of a request body, or BatchError (the usage events'
    rules: JSON, a non-empty list, at most ``MAX_EVENTS``)."""
    return events.read_batch(is_json=is_json, body=body, key="life_events")


def _rejection(reason: LifeReason, field: str | None, message: str) -> Rejection:
    rejection = Rejection(reason, field, message)  # type: ignore[arg-type]
    return rejection


def parse_item(raw: Any, today: date) -> tuple[str, str, date, str | None]:
    if not isinstance(raw, dict):
        raise _rejection(LifeReason.WRONG_TYPE, None, _("Each event must be a JSON object."))
    try:
        resident = _text(raw, "resident_external_id", required=True)
        event = _text(raw, "event", required=True)
        day_text = _text(raw, "date", required=True)
        note = _text(raw, "note", required=False, max_length=NOTE_MAX)
    except Rejection as rejection:  # the usage events' reasons have the same codes
        raise _rejection(LifeReason(str(rejection.reason)), rejection.field,
                         rejection.message) from None
    if event not in KINDS:
        raise _rejection(LifeReason.INVALID_EVENT, "event",
                         _("Unknown life event %(event)s.", event=event))
    day, problem = parse_day(day_text, today)
    if problem == "future_date":
        raise _rejection(LifeReason.DATE_IN_FUTURE, "date", _("date is in the future."))
    if day is None:
        raise _rejection(LifeReason.INVALID_VALUE, "date",
                         _("date is not a date of the form YYYY-MM-DD."))
    return resident, event, day, note


def _result(index: int, status: Status, rejection: Rejection | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "status": str(status)}
    if rejection is not None:
        result.update(reason=str(rejection.reason), field=rejection.field,
                      message=rejection.message)
    return result


def ingest_life_events(*, token: ApiToken, items: Sequence[Any]) -> dict[str, Any]:
    today = local_today()
    parsed: list[tuple[str, str, date, str | None] | Rejection] = []
    for raw in items:
        try:
            parsed.append(parse_item(raw, today))
        except Rejection as rejection:
            parsed.append(rejection)
    refs = {item[0] for item in parsed if isinstance(item, tuple)}
    residents = dict(db.session.execute(select(Resident.external_id, Resident.id).where(
        Resident.external_id.in_(refs), Resident.anonymised_at.is_(None))).all()) if refs else {}
    ids = set(residents.values())
    stored = {tuple(row) for row in db.session.execute(
        select(LifeEvent.resident_id, LifeEvent.kind, LifeEvent.occurred_on)
        .where(LifeEvent.resident_id.in_(ids)))} if ids else set()
    results, rows = [], []
    now = utcnow()
    for index, item in enumerate(parsed):
        if isinstance(item, Rejection):
            results.append(_result(index, Status.REJECTED, item))
            continue
        ref, kind, day, note = item
        resident_id = residents.get(ref)
        if resident_id is None:
            results.append(_result(index, Status.REJECTED, _rejection(
                LifeReason.UNKNOWN_RESIDENT, "resident_external_id", _("Unknown resident."))))
            continue
        key = (resident_id, kind, day)
        if key in stored:
            results.append(_result(index, Status.DUPLICATE))
            continue
        stored.add(key)
        rows.append({"resident_id": resident_id, "kind": kind, "occurred_on": day,
                     "note": note, "source": EventSource.API.value, "created_at": now})
        results.append(_result(index, Status.CREATED))
    if rows:
        db.session.execute(insert(LifeEvent), rows)
    summary = {status.value: 0 for status in Status}
    for result in results:
        summary[result["status"]] += 1
    record("api.life_events", actor=None, target=("api_tokens", token.id),
           summary=(f"API life events via token {token.prefix}…: {summary['created']} created, "
                    f"{summary['duplicate']} duplicate, {summary['rejected']} rejected"),
           data=summary)
    return {"results": results, "summary": summary}
