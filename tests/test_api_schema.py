"""Property-based tests of the JSON API against its own OpenAPI document (schemathesis).

Schemathesis sends generated requests — valid and invalid bodies, missing and wrong
tokens, undeclared methods — and checks every answer: no 5xx, status codes, headers
and bodies as the document declares them, an ``Allow`` header on 405 responses. The
number of examples is bounded (hypothesis settings) so that the suite stays quick.

One of its checks does not fit this API as designed: a batch whose envelope is right
answers 200 even when items are invalid, each such item reported ``rejected`` (see the
document's description). So instead of "schema-violating requests are refused", the
test checks what that means here: an envelope that violates the schema is refused with
a 4xx, and an event that violates the ``Event`` schema is never stored.
"""

from __future__ import annotations

import itertools
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

from portal.api import openapi, tokens
from portal.api.events import MAX_EVENTS, TOO_MANY_STATUS
from portal.extensions import db, limiter
from portal.residents.models import Resident

DOCUMENT = openapi.document(rate_limit="120 per minute")  # what the app serves (test_api.py)
CONFIG = schemathesis.Config.from_dict({"base-url": "http://localhost/api/v1"})
api_schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema for one event: ``nullable`` as a null type; formats
    left to the server (it is the judge of what a date-time it accepts looks like)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _json_schema(value) for key, value in node.items()
              if key not in ("format", "description", "nullable")}
    if node.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


RESIDENT, SERVICE = "R-000123", "library-loans"
SERIAL = itertools.count()
EVENT = jsonschema_rs.Draft4Validator(_json_schema(DOCUMENT["components"]["schemas"]["Event"]))


def invalid_events_are_refused(_ctx, response, case) -> bool | None:
    """A body that is not a batch of 1–MAX_EVENTS events is refused (400, or 413 for
    too many); an item that violates the ``Event`` schema is never ``created``."""
    if (case.method, case.path) != ("POST", "/events"):
        return None
    body = case.body
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        assert response.status_code in (400, 401, TOO_MANY_STATUS, 415, 429), (
            f"a body that is not a batch of 1–{MAX_EVENTS} events got {response.status_code}")
        return True
    if response.status_code != 200:
        return None
    for item, result in zip(events, response.json()["results"], strict=True):
        assert result["status"] != "created" or EVENT.is_valid(item), (
            f"item {result['index']} violates the Event schema but was stored: {item!r}")
    return True


@pytest.fixture
def api_token(users, catalogue) -> str:
    db.session.add(Resident(external_id=RESIDENT, family_name="山田", given_name="花子"))
    _token, value = tokens.create_token(actor=users["admin"], name="Schemathesis",
                                        departments=[catalogue["library"]])
    db.session.commit()
    return value


def _make_storable(body: Any, serial: itertools.count) -> None:
    """Generated strings almost never name a real resident or service, and reuse keys,
    so nearly every item would be rejected or duplicate whatever else is wrong with it.
    Every other item is pointed at a real resident and service, and every key is made
    unique: then an invalid item that is stored shows up. Validity is judged on the
    body as sent, after this."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return
    for index, item in enumerate(events):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("idempotency_key"), str):
            item["idempotency_key"] += f"~{next(serial)}"
        if index % 2 == 0:
            if isinstance(item.get("resident_external_id"), str):
                item["resident_external_id"] = RESIDENT
            if isinstance(item.get("service"), str):
                item["service"] = SERVICE
                item.pop("service_code", None)  # it would name another service


@api_schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_answers_as_its_openapi_document_says(app, case, api_token):
    # schemathesis also calls with wrong credentials; the per-address limit on failed
    # authentication (tested in test_api.py) would answer 429 after ten examples
    limiter.reset()
    _make_storable(case.body, SERIAL)
    case.operation.schema.app = app  # in process, through the WSGI interface
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {api_token}",
                                             "Accept-Language": "en"},
                           excluded_checks=[negative_data_rejection],
                           additional_checks=[invalid_events_are_refused])
