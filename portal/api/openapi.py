"""The OpenAPI 3.0.3 description of ``/api/v1``, built from the constants the code
uses, so the document cannot drift from the implementation (tests/test_api.py
checks it against the routes and the behaviour).

Developer documentation: plain English, not translated.
"""

from __future__ import annotations

from typing import Any

from portal.api.events import KEY_MAX, MAX_EVENTS, TOO_MANY_STATUS, Reason, Status
from portal.api.life_events import FORBIDDEN_STATUS, LifeReason
from portal.imports.life_events import KINDS
from portal.imports.life_events import NOTE_MAX as LIFE_NOTE_MAX
from portal.services.usage import CHANNELS, FUTURE_TOLERANCE, KIND_MAX, NOTE_MAX

VERSION = "1.0.0"

REASONS: dict[Reason, str] = {
    Reason.MISSING_FIELD: "a required field is absent, null or empty (`field` names it; "
                          "`service` when neither `service` nor `service_code` is given)",
    Reason.WRONG_TYPE: "a field is not a string, or the item is not a JSON object",
    Reason.INVALID_VALUE: "a string is too long, `occurred_at` is not an ISO 8601 date-time, "
                          "or `service` and `service_code` name different services",
    Reason.INVALID_CHANNEL: "`channel` is not one of " + ", ".join(CHANNELS),
    Reason.MISSING_TIME_ZONE: "`occurred_at` has no UTC offset (e.g. `+09:00` or `Z`)",
    Reason.TIME_IN_FUTURE: "`occurred_at` is more than "
                           f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes in the future",
    Reason.UNKNOWN_RESIDENT: "no resident has this `resident_external_id` (anonymised residents "
                             "count as unknown)",
    Reason.UNKNOWN_SERVICE: "no service has this `service` slug or `service_code`",
    Reason.SERVICE_NOT_ALLOWED: "the service belongs to a department the token is not "
                                "scoped to",
}

LIFE_REASONS: dict[LifeReason, str] = {
    LifeReason.MISSING_FIELD: "a required field is absent, null or empty (`field` names it)",
    LifeReason.WRONG_TYPE: "a field is not a string, or the item is not a JSON object",
    LifeReason.INVALID_VALUE: "`note` is too long, or `date` is not a date `YYYY-MM-DD` "
                              "from 1900",
    LifeReason.INVALID_EVENT: "`event` is not one of " + ", ".join(KINDS),
    LifeReason.DATE_IN_FUTURE: "`date` is after today (in the municipality's time zone)",
    LifeReason.UNKNOWN_RESIDENT: "no resident has this `resident_external_id` (anonymised "
                                 "residents count as unknown)",
}

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the current window.",
                          "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.",
                              "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window resets (Unix time, seconds).",
                          "schema": {"type": "integer"}},
}


def _error_response(description: str, headers: dict[str, Any] | None = None,
                    example: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    if example:
        response["content"]["application/json"]["example"] = example
    return response


def _schemas() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "Event": {
            "type": "object",
            "description": "One use of one service by one resident. Give `service` or "
                           "`service_code` (both: they must name the same service). Other "
                           "properties are ignored.",
            "required": ["idempotency_key", "resident_external_id", "occurred_at", "channel"],
            "anyOf": [{"required": ["service"]}, {"required": ["service_code"]}],
            "properties": {
                "idempotency_key": {**text, "maxLength": KEY_MAX, "pattern": r"\S",
                                    "description": "Unique per event within the sending "
                                                   "systems; a key that is stored already is "
                                                   "reported as `duplicate` and nothing is "
                                                   "changed. Surrounding spaces are no part "
                                                   "of the key (`\" abc \"` is `\"abc\"`); "
                                                   "a key of only spaces is rejected "
                                                   "(`invalid_value`)."},
                "resident_external_id": {**text, "description": "The resident's id in the "
                                                                "municipal register."},
                "service": {**text, "description": "The service's slug, e.g. `library-loans`."},
                "service_code": {**text, "description": "The service's Open311 code, e.g. "
                                                        "`LIB-001`."},
                "occurred_at": {**text, "format": "date-time",
                                "description": "ISO 8601 with a UTC offset, e.g. "
                                               "`2026-11-20T10:15:00+09:00`; at most "
                                               f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} "
                                               "minutes in the future."},
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "kind": {"type": "string", "maxLength": KIND_MAX, "nullable": True,
                         "description": "What kind of use (e.g. `loan`); `use` when absent."},
                "note": {"type": "string", "maxLength": NOTE_MAX, "nullable": True},
            },
        },
        "EventBatch": {
            "type": "object",
            "required": ["events"],
            "properties": {
                "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
                           "items": {"$ref": "#/components/schemas/Event"}},
            },
        },
        "EventResult": {
            "type": "object",
            "additionalProperties": False,
            "required": ["index", "idempotency_key", "status"],
            "properties": {
                "index": {"type": "integer", "minimum": 0,
                          "description": "Position of the item in the request."},
                "idempotency_key": {"type": "string", "nullable": True,
                                    "description": "The item's key without surrounding "
                                                   "spaces (as sent when the key itself was "
                                                   "rejected; null when it was not a "
                                                   "string)."},
                "status": {"type": "string", "enum": [s.value for s in Status]},
                "reason": {"type": "string", "enum": [r.value for r in Reason],
                           "description": "Only for `rejected`. "
                                          + "; ".join(f"`{r.value}`: {text}"
                                                      for r, text in REASONS.items())},
                "field": {"type": "string", "nullable": True,
                          "description": "Only for `rejected`: the offending field."},
                "message": {"type": "string",
                            "description": "Only for `rejected`: an explanation for people, "
                                           "in the language of `Accept-Language`."},
            },
        },
        "BatchResult": {
            "type": "object",
            "additionalProperties": False,
            "required": ["results", "summary"],
            "properties": {
                "results": {"type": "array", "description": "One per item, in request order.",
                            "items": {"$ref": "#/components/schemas/EventResult"}},
                "summary": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [s.value for s in Status],
                    "properties": {s.value: {"type": "integer", "minimum": 0} for s in Status},
                },
            },
        },
        "LifeEvent": {
            "type": "object",
            "description": "Something that happened in a resident's life, from the register. "
                           "One per (resident, event, date): sending it again is reported "
                           "`duplicate`. Other properties are ignored.",
            "required": ["resident_external_id", "event", "date"],
            "properties": {
                "resident_external_id": {**text, "description": "The resident's id in the "
                                                                "municipal register."},
                "event": {"type": "string", "enum": list(KINDS)},
                "date": {**text, "format": "date",
                         "description": "`YYYY-MM-DD`, not after today."},
                "note": {"type": "string", "maxLength": LIFE_NOTE_MAX, "nullable": True},
            },
        },
        "LifeEventBatch": {
            "type": "object",
            "required": ["life_events"],
            "properties": {
                "life_events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
                                "items": {"$ref": "#/components/schemas/LifeEvent"}},
            },
        },
        "LifeEventResult": {
            "type": "object",
            "additionalProperties": False,
            "required": ["index", "status"],
            "properties": {
                "index": {"type": "integer", "minimum": 0,
                          "description": "Position of the item in the request."},
                "status": {"type": "string", "enum": [s.value for s in Status]},
                "reason": {"type": "string", "enum": [r.value for r in LifeReason],
                           "description": "Only for `rejected`. "
                                          + "; ".join(f"`{r.value}`: {text}"
                                                      for r, text in LIFE_REASONS.items())},
                "field": {"type": "string", "nullable": True,
                          "description": "Only for `rejected`: the offending field."},
                "message": {"type": "string",
                            "description": "Only for `rejected`: an explanation for people, "
                                           "in the language of `Accept-Language`."},
            },
        },
        "LifeEventBatchResult": {
            "type": "object",
            "additionalProperties": False,
            "required": ["results", "summary"],
            "properties": {
                "results": {"type": "array", "description": "One per item, in request order.",
                            "items": {"$ref": "#/components/schemas/LifeEventResult"}},
                "summary": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [s.value for s in Status],
                    "properties": {s.value: {"type": "integer", "minimum": 0} for s in Status},
                },
            },
        },
        "Error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["status", "title", "message"],
                    "properties": {
                        "status": {"type": "integer", "description": "The HTTP status."},
                        "title": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }


EXAMPLE_REQUEST = {"events": [
    {"idempotency_key": "lib-2026-11-20-000123-1", "resident_external_id": "R-000123",
     "service": "library-loans", "occurred_at": "2026-11-20T10:15:00+09:00",
     "channel": "counter", "kind": "loan"},
    {"idempotency_key": "lib-2026-11-20-000456-1", "resident_external_id": "R-000456",
     "service_code": "LIB-002", "occurred_at": "2026-11-20T11:00:00+09:00",
     "channel": "online", "note": "study room, 2 hours"},
]}
EXAMPLE_RESPONSE = {
    "results": [
        {"index": 0, "idempotency_key": "lib-2026-11-20-000123-1", "status": "created"},
        {"index": 1, "idempotency_key": "lib-2026-11-20-000456-1", "status": "rejected",
         "reason": "unknown_resident", "field": "resident_external_id",
         "message": "Unknown resident."},
    ],
    "summary": {"created": 1, "duplicate": 0, "rejected": 1},
}


LIFE_EXAMPLE_REQUEST = {"life_events": [
    {"resident_external_id": "R-000123", "event": "child_born", "date": "2026-11-02"},
    {"resident_external_id": "R-000999", "event": "moved_in", "date": "2026-11-01",
     "note": "from Tsukuba"},
]}
LIFE_EXAMPLE_RESPONSE = {
    "results": [
        {"index": 0, "status": "created"},
        {"index": 1, "status": "rejected", "reason": "unknown_resident",
         "field": "resident_external_id", "message": "Unknown resident."},
    ],
    "summary": {"created": 1, "duplicate": 0, "rejected": 1},
}


def document(*, rate_limit: str, auth_failure_limit: str = "10 per minute") -> dict[str, Any]:
    """The OpenAPI document; ``rate_limit`` is the configured per-token limit and
    ``auth_failure_limit`` that of failed authentications per client address."""
    unauthorized = _error_response(
        "No `Authorization: Bearer` header, or the token is unknown or revoked.",
        headers={"WWW-Authenticate": {"description": "`Bearer realm=\"api\"` (with "
                                                     "`error=\"invalid_token\"` for a wrong "
                                                     "token).",
                                      "schema": {"type": "string"}}})
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Resident Success Portal API",
            "version": VERSION,
            "description": (
                "Usage events from departmental systems, and life events from the resident "
                "register.\n\n"
                "Authenticate with a token an administrator creates in the console "
                "(*API tokens*): `Authorization: Bearer rsp_…`. A token may record use only "
                "of its departments' services.\n\n"
                f"Limits: {MAX_EVENTS} events per request; {rate_limit} per token "
                f"(429 beyond it); {auth_failure_limit} failed authentications (401) per "
                "client address, beyond which every request from that address gets 429 "
                "until the period has passed.\n\n"
                "Items are checked in order: the item is an object with an `idempotency_key`; "
                "a key stored already (source `api`), or used by an earlier item of the same "
                "request that was created, makes the item `duplicate` (nothing else is checked "
                "and nothing is changed); then the fields; then resident, service and the "
                "token's departments. A rejected item does not use up its key. Sending the "
                "same request again is safe: every item comes back `duplicate`.\n\n"
                "Error bodies are always JSON: "
                "`{\"error\": {\"status\", \"title\", \"message\"}}`."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "events"}, {"name": "life events"}, {"name": "meta"}],
        "paths": {
            "/events": {
                "post": {
                    "tags": ["events"],
                    "operationId": "postEvents",
                    "summary": "Record a batch of usage events",
                    "description": "Every item is answered, in request order; the request "
                                   "succeeds (200) even when some or all items are rejected. "
                                   f"At most {MAX_EVENTS} items.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/EventBatch"},
                            "example": EXAMPLE_REQUEST}},
                    },
                    "responses": {
                        "200": {
                            "description": "Per-item results and counts.",
                            "headers": RATE_LIMIT_HEADERS,
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/BatchResult"},
                                "example": EXAMPLE_RESPONSE}},
                        },
                        "400": _error_response(
                            "The content type is not `application/json`, the body is not valid "
                            "JSON, or it is not an object with an `events` list of at least "
                            "one item."),
                        "401": unauthorized,
                        str(TOO_MANY_STATUS): _error_response(
                            f"More than {MAX_EVENTS} events, or a body larger than the "
                            "server accepts."),
                        "429": _error_response(
                            f"More than {rate_limit} for this token, or more than "
                            f"{auth_failure_limit} failed authentications from this client "
                            "address.",
                            headers={**RATE_LIMIT_HEADERS, "Retry-After": {
                                "description": "Seconds to wait.",
                                "schema": {"type": "integer"}}}),
                    },
                },
            },
            "/life-events": {
                "post": {
                    "tags": ["life events"],
                    "operationId": "postLifeEvents",
                    "summary": "Record a batch of life events from the resident register",
                    "description": "Moved in, child born, turned 65: what the playbooks' "
                                   "life-event trigger reads. Only a token scoped to the "
                                   "register's department (configuration "
                                   "`PORTAL_LIFE_EVENTS_DEPARTMENT`, `citizens` by default) "
                                   "may send them. Every item is answered, in request order; "
                                   "the request succeeds (200) even when some or all items are "
                                   f"rejected. At most {MAX_EVENTS} items.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/LifeEventBatch"},
                            "example": LIFE_EXAMPLE_REQUEST}},
                    },
                    "responses": {
                        "200": {
                            "description": "Per-item results and counts.",
                            "headers": RATE_LIMIT_HEADERS,
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/LifeEventBatchResult"},
                                "example": LIFE_EXAMPLE_RESPONSE}},
                        },
                        "400": _error_response(
                            "The content type is not `application/json`, the body is not valid "
                            "JSON, or it is not an object with a `life_events` list of at "
                            "least one item."),
                        "401": unauthorized,
                        str(FORBIDDEN_STATUS): _error_response(
                            "The token is not scoped to the resident register's department."),
                        str(TOO_MANY_STATUS): _error_response(
                            f"More than {MAX_EVENTS} events, or a body larger than the "
                            "server accepts."),
                        "429": _error_response(
                            f"More than {rate_limit} for this token, or more than "
                            f"{auth_failure_limit} failed authentications from this client "
                            "address.",
                            headers={**RATE_LIMIT_HEADERS, "Retry-After": {
                                "description": "Seconds to wait.",
                                "schema": {"type": "integer"}}}),
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "tags": ["meta"],
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {"description": "The OpenAPI 3.0.3 document.",
                                "content": {"application/json": {
                                    "schema": {"type": "object"}}}},
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "rsp_…",
                               "description": "A token created in the console; shown once."},
            },
            "schemas": _schemas(),
        },
    }
