"""The JSON API for usage events and its tokens in the console."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.api import events as api_events
from portal.api import openapi, tokens
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import Department, Service, UsageEvent
from portal.services.usage import CHANNELS, KIND_MAX, NOTE_MAX
from portal.timeutil import utcnow

EN = {"Accept-Language": "en"}
TOKEN_RE = re.compile(r"rsp_[A-Za-z0-9_-]{40,}")
WHEN = "2026-11-20T10:15:00+09:00"


# --- helpers and fixtures ----------------------------------------------------------------

@pytest.fixture
def residents(catalogue) -> dict[str, Resident]:
    people = {
        "R-1": Resident(external_id="R-1", family_name="山田", given_name="花子"),
        "R-2": Resident(external_id="R-2", family_name="Smith", given_name="Ann"),
        "R-GONE": Resident(external_id="R-GONE", anonymised_at=utcnow()),
    }
    db.session.add_all(people.values())
    db.session.commit()
    return people


@pytest.fixture
def make_token(users, catalogue):
    def make(*codes: str, name: str = "Library system") -> str:
        _token, value = tokens.create_token(
            actor=users["admin"], name=name,
            departments=[catalogue[code] for code in codes or ("library",)])
        db.session.commit()
        return value

    return make


def post(client, token: str | None, body: Any = None, *, raw: bytes | None = None,
         content_type: str = "application/json", headers: dict | None = None):
    all_headers = {**EN, **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body)
    return client.post("/api/v1/events", data=data, content_type=content_type,
                       headers=all_headers)


def event(key: str = "k-1", **fields: Any) -> dict[str, Any]:
    item = {"idempotency_key": key, "resident_external_id": "R-1", "service": "library-loans",
            "occurred_at": WHEN, "channel": "counter"}
    item.update(fields)
    return {k: v for k, v in item.items() if v is not ...}


def api_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(UsageEvent)
                             .where(UsageEvent.source == "api"))


def assert_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["title"] and body["error"]["message"]
    return body["error"]


# --- token management in the console -----------------------------------------------------

def test_admin_creates_a_token_that_is_shown_once_and_stored_as_a_hash(
        admin_client, catalogue, residents):
    response = admin_client.post("/admin/api-tokens/new", headers=EN, data={
        "name": "Library system", "departments": [catalogue["library"].id]})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "API token created" in page and "shown only this once" in page
    values = TOKEN_RE.findall(page)
    assert len(values) == 1
    value = values[0]
    assert response.headers["Cache-Control"] == "no-store"
    assert value not in response.headers.get("Set-Cookie", "")
    assert value not in (response.headers.get("Location") or "")

    token = db.session.scalar(select(ApiToken))
    assert token.name == "Library system"
    assert token.token_hash == hashlib.sha256(value.encode()).hexdigest()
    assert token.prefix == value[:8]
    assert [d.code for d in token.departments] == ["library"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.create"))
    assert entry.target_type == "api_tokens" and entry.target_id == str(token.id)
    assert value not in entry.summary and value not in json.dumps(entry.data)
    assert entry.data["departments"] == ["library"]

    listing = admin_client.get("/admin/api-tokens/", headers=EN).get_data(as_text=True)
    assert value not in listing
    assert token.prefix in listing and "Library system" in listing and "Active" in listing
    assert post(admin_client, value, {"events": [event()]}).status_code == 200


def test_token_form_needs_a_name_and_a_department(admin_client, catalogue):
    response = admin_client.post("/admin/api-tokens/new", headers=EN, data={"name": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose at least one department." in page and "This field is required." in page
    assert not TOKEN_RE.search(page)
    response = admin_client.post("/admin/api-tokens/new", headers=EN, data={
        "name": "Bad", "departments": ["999999"]})
    assert "not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_form_offers_every_department_as_a_checkbox(admin_client, catalogue):
    page = admin_client.get("/admin/api-tokens/new", headers=EN).get_data(as_text=True)
    assert page.count('type="checkbox"') == len(catalogue)
    assert "<legend" in page


def test_revoked_token_is_refused(admin_client, make_token, residents):
    value = make_token()
    token = db.session.scalar(select(ApiToken))
    response = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", headers=EN,
                                 follow_redirects=True)
    assert "has been revoked" in response.get_data(as_text=True)
    db.session.refresh(token)
    assert token.revoked_at is not None and not token.active
    assert "Revoked" in admin_client.get("/admin/api-tokens/", headers=EN).get_data(as_text=True)

    response = post(admin_client, value, {"events": [event()]})
    error = assert_error(response, 401)
    assert "revoked" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api_rows() == 0

    again = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", headers=EN,
                              follow_redirects=True)
    assert "was revoked already" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "api_token.revoke")) == 1


def test_revoking_an_unknown_token_is_404(admin_client, users):
    assert admin_client.post("/admin/api-tokens/999999/revoke").status_code == 404


def test_token_list_query_count_stays_flat(admin_client, make_token, count_queries):
    make_token("library")
    with count_queries() as few:
        admin_client.get("/admin/api-tokens/")
    for n in range(6):
        make_token("library", "health", name=f"System {n}")
    with count_queries() as many:
        page = admin_client.get("/admin/api-tokens/", headers=EN).get_data(as_text=True)
    assert "System 5" in page
    assert many.count == few.count


ACCESS = [("GET", "/admin/api-tokens/"), ("GET", "/admin/api-tokens/new"),
          ("POST", "/admin/api-tokens/new"), ("POST", "/admin/api-tokens/{id}/revoke")]
EXPECTED = {None: 302, "resident": 403, "staff": 403, "manager": 403, "official": 403}


@pytest.mark.parametrize("method, path", ACCESS, ids=[f"{m} {p}" for m, p in ACCESS])
@pytest.mark.parametrize("role", [None, "resident", "staff", "manager", "official", "admin"],
                         ids=lambda r: r or "anonymous")
def test_only_admins_manage_tokens(role_client, make_token, method, path, role):
    make_token()
    token = db.session.scalar(select(ApiToken))
    response = role_client(role).open(path.format(id=token.id), method=method)
    if role == "admin":
        assert response.status_code == (302 if path.endswith("revoke") else 200)
    else:
        assert response.status_code == EXPECTED[role]
        if role is None:
            assert "/account/login" in response.headers["Location"]
        db.session.refresh(token)
        assert token.revoked_at is None


@pytest.mark.usefixtures("csrf_on")
def test_csrf_guards_the_form_but_not_the_bearer_api(admin_client, catalogue, make_token,
                                                     residents):
    value = make_token()
    response = post(admin_client, value, {"events": [event()]})
    assert response.status_code == 200 and response.get_json()["summary"]["created"] == 1

    refused = admin_client.post("/admin/api-tokens/new", headers=EN, data={
        "name": "No CSRF", "departments": [catalogue["library"].id]})
    assert refused.status_code == 400
    token = db.session.scalar(select(ApiToken))
    refused = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", headers=EN)
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1

    form = admin_client.get("/admin/api-tokens/new").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    created = admin_client.post("/admin/api-tokens/new", headers=EN, data={
        "csrf_token": csrf_token, "name": "With CSRF",
        "departments": [catalogue["library"].id]})
    assert created.status_code == 200 and TOKEN_RE.search(created.get_data(as_text=True))


# --- authentication ----------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Token abc",
                                           "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_missing_or_malformed_authorization_is_401(client, authorization):
    headers = {**EN}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.post("/api/v1/events", json={"events": [event()]}, headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unknown_token_is_401(client, make_token):
    make_token()
    response = post(client, "rsp_" + "x" * 43, {"events": [event()]})
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_last_use_is_written_at_most_once_a_minute(client, make_token, residents):
    value = make_token()
    token = db.session.scalar(select(ApiToken))
    assert token.last_used_at is None
    post(client, value, {"events": [event("a")]})
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    post(client, value, {"events": [event("b")]})
    db.session.refresh(token)
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    post(client, value, {"raw": "not events"})  # a refused body still counts as a use
    db.session.refresh(token)
    assert token.last_used_at > first


# --- ingestion ---------------------------------------------------------------------------

def test_events_are_stored_with_source_api(client, make_token, residents):
    value = make_token()
    response = post(client, value, {"events": [
        event("a", kind="loan", note=" two books ", channel=" Counter "),
        event("b", service=..., service_code="LIB-002", resident_external_id="R-2",
              occurred_at="2026-11-20T01:00:00Z", channel="online"),
    ]})
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [{"index": 0, "idempotency_key": "a", "status": "created"},
                    {"index": 1, "idempotency_key": "b", "status": "created"}],
        "summary": {"created": 2, "duplicate": 0, "rejected": 0}}
    stored = {e.idempotency_key: e for e in db.session.scalars(select(UsageEvent))}
    library = db.session.scalar(select(Department.id).where(Department.code == "library"))
    a, b = stored[f"d{library}:a"], stored[f"d{library}:b"]  # keys are kept per department
    assert (a.source, a.kind, a.channel, a.note) == ("api", "loan", "counter", "two books")
    assert a.occurred_at == datetime(2026, 11, 20, 1, 15, tzinfo=UTC)
    assert a.resident.external_id == "R-1" and a.service.slug == "library-loans"
    assert a.recorded_by_id is None
    assert (b.kind, b.channel, b.note) == ("use", "online", None)
    assert b.service.slug == "library-study-room" and b.resident.external_id == "R-2"


def test_the_same_batch_twice_creates_nothing_the_second_time(client, make_token, residents):
    value = make_token()
    batch = {"events": [event("a"), event("b", resident_external_id="R-2"),
                        event("bad", resident_external_id="R-404")]}
    first = post(client, value, batch).get_json()
    assert first["summary"] == {"created": 2, "duplicate": 0, "rejected": 1}
    assert api_rows() == 2
    second = post(client, value, batch).get_json()
    assert [r["status"] for r in second["results"]] == ["duplicate", "duplicate", "rejected"]
    assert second["summary"] == {"created": 0, "duplicate": 2, "rejected": 1}
    assert api_rows() == 2
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "api.events")
                                 .order_by(AuditEntry.id)).all()
    assert [e.data for e in entries] == [first["summary"], second["summary"]]
    token = db.session.scalar(select(ApiToken))
    assert {(e.target_type, e.target_id, e.actor_id) for e in entries} == \
        {("api_tokens", str(token.id), None)}


def test_a_key_repeated_in_one_batch_is_a_duplicate(client, make_token, residents):
    value = make_token()
    body = post(client, value, {"events": [
        event("same"), event("same", resident_external_id="R-2"),
        event("retry", resident_external_id="R-404"), event("retry"),
    ]}).get_json()
    assert [r["status"] for r in body["results"]] == \
        ["created", "duplicate", "rejected", "created"]
    assert api_rows() == 2


def test_keys_of_other_sources_do_not_collide(client, make_token, residents, catalogue):
    service = db.session.scalar(select(Service).where(Service.slug == "library-loans"))
    db.session.add(UsageEvent(resident_id=residents["R-1"].id, service_id=service.id,
                              channel="counter", occurred_at=utcnow(), source="import",
                              idempotency_key="k-1"))
    db.session.commit()
    body = post(client, make_token(), {"events": [event("k-1")]}).get_json()
    assert body["results"][0]["status"] == "created"


def test_library_token_cannot_write_health_services(client, make_token, residents):
    value = make_token("library")
    body = post(client, value, {"events": [
        event("h", service="infant-health-checkup"),
        event("h2", service=..., service_code="HEA-002"),
        event("l", service="library-loans"),
    ]}).get_json()
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [
        ("rejected", "service_not_allowed"), ("rejected", "service_not_allowed"),
        ("created", None)]
    assert body["results"][1]["field"] == "service_code"
    assert api_rows() == 1
    body = post(client, make_token("library", "health"), {"events": [
        event("h", service="infant-health-checkup")]}).get_json()
    assert body["results"][0]["status"] == "created"


FUTURE = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
REJECTIONS = [
    ("missing key", event(idempotency_key=...), "missing_field", "idempotency_key"),
    ("empty key", event(""), "missing_field", "idempotency_key"),
    ("long key", event("k" * 121), "invalid_value", "idempotency_key"),
    ("numeric key", event(12), "wrong_type", "idempotency_key"),
    ("NUL in key", event("a\x00b"), "invalid_value", "idempotency_key"),
    ("lone surrogate in resident", event(resident_external_id="R\ud800"), "invalid_value",
     "resident_external_id"),
    ("NUL in note", event(note="a\x00"), "invalid_value", "note"),
    ("not an object", ["k-1"], "wrong_type", None),
    ("missing resident", event(resident_external_id=...), "missing_field",
     "resident_external_id"),
    ("unknown resident", event(resident_external_id="R-404"), "unknown_resident",
     "resident_external_id"),
    ("anonymised resident", event(resident_external_id="R-GONE"), "unknown_resident",
     "resident_external_id"),
    ("resident as number", event(resident_external_id=1), "wrong_type",
     "resident_external_id"),
    ("no service", event(service=...), "missing_field", "service"),
    ("unknown service", event(service="no-such-service"), "unknown_service", "service"),
    ("unknown service code", event(service=..., service_code="XXX-999"), "unknown_service",
     "service_code"),
    ("service and code disagree", event(service_code="LIB-002"), "invalid_value",
     "service_code"),
    ("service as list", event(service=["library-loans"]), "wrong_type", "service"),
    ("missing time", event(occurred_at=...), "missing_field", "occurred_at"),
    ("no time zone", event(occurred_at="2026-11-20T10:15:00"), "missing_time_zone",
     "occurred_at"),
    ("date only", event(occurred_at="2026-11-20"), "missing_time_zone", "occurred_at"),
    ("not a time", event(occurred_at="yesterday"), "invalid_value", "occurred_at"),
    ("year one", event(occurred_at="0001-01-01T00:00:00+09:00"), "invalid_value",
     "occurred_at"),
    ("time as number", event(occurred_at=1763600000), "wrong_type", "occurred_at"),
    ("future", event(occurred_at=FUTURE), "time_in_future", "occurred_at"),
    ("missing channel", event(channel=...), "missing_field", "channel"),
    ("bad channel", event(channel="carrier-pigeon"), "invalid_channel", "channel"),
    ("channel as bool", event(channel=True), "wrong_type", "channel"),
    ("long kind", event(kind="k" * (KIND_MAX + 1)), "invalid_value", "kind"),
    ("kind as number", event(kind=3), "wrong_type", "kind"),
    ("long note", event(note="n" * (NOTE_MAX + 1)), "invalid_value", "note"),
    ("note as object", event(note={"text": "x"}), "wrong_type", "note"),
]


@pytest.mark.parametrize("item, reason, field", [r[1:] for r in REJECTIONS],
                         ids=[r[0] for r in REJECTIONS])
def test_each_rejection_reason_is_reported_per_item(client, make_token, residents, item,
                                                    reason, field):
    value = make_token()
    body = post(client, value, {"events": [event("before"), item, event("after")]}).get_json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "created"]
    rejected = body["results"][1]
    assert (rejected["reason"], rejected["field"]) == (reason, field)
    assert rejected["message"]
    expected_key = item.get("idempotency_key") if isinstance(item, dict) else None
    assert rejected["idempotency_key"] == (expected_key if isinstance(expected_key, str)
                                           else None)
    assert body["summary"] == {"created": 2, "duplicate": 0, "rejected": 1}
    assert api_rows() == 2


def test_optional_fields_may_be_null(client, make_token, residents):
    body = post(client, make_token(), {"events": [event(kind=None, note=None, extra=1)]})
    assert body.get_json()["summary"]["created"] == 1


def test_reason_codes_do_not_depend_on_the_language(client, make_token, residents):
    value = make_token()
    answers = [post(client, value, {"events": [event(resident_external_id="R-404")]},
                    headers={"Accept-Language": language}).get_json()["results"][0]
               for language in ("en", "ja")]
    assert answers[0]["message"] == "Unknown resident."
    assert [a["reason"] for a in answers] == ["unknown_resident", "unknown_resident"]


WHOLE_REQUEST_ERRORS = [
    ("malformed JSON", b'{"events": [', "application/json", 400),
    ("empty body", b"", "application/json", 400),
    ("not UTF-8", b'{"events": "\xff"}', "application/json", 400),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    ("form content type", b"events=1", "application/x-www-form-urlencoded", 400),
    ("text content type", json.dumps({"events": [event()]}).encode(), "text/plain", 400),
    ("not an object", b"[]", "application/json", 400),
    ("no events", b'{"items": []}', "application/json", 400),
    ("events not a list", b'{"events": {"a": 1}}', "application/json", 400),
    ("events empty", b'{"events": []}', "application/json", 400),
    ("too many events", json.dumps({"events": [event(f"k{i}") for i in range(1001)]}).encode(),
     "application/json", 413),
]


@pytest.mark.parametrize("raw, content_type, status", [e[1:] for e in WHOLE_REQUEST_ERRORS],
                         ids=[e[0] for e in WHOLE_REQUEST_ERRORS])
def test_whole_request_errors_are_json(client, make_token, residents, raw, content_type,
                                       status):
    response = post(client, make_token(), raw=raw, content_type=content_type)
    assert_error(response, status)
    assert api_rows() == 0


def test_the_largest_batch_is_accepted(client, make_token, residents):
    batch = {"events": [event(f"k{i}") for i in range(api_events.MAX_EVENTS)]}
    body = post(client, make_token(), batch).get_json()
    assert body["summary"]["created"] == api_events.MAX_EVENTS
    assert api_rows() == api_events.MAX_EVENTS


def test_wrong_method_and_unknown_path_are_json(client):
    wrong_method = client.get("/api/v1/events", headers=EN)
    assert_error(wrong_method, 405)
    assert set(wrong_method.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert_error(client.get("/api/v1/nothing", headers=EN), 404)


def test_ingestion_query_count_does_not_grow_with_the_batch(client, make_token, residents,
                                                            count_queries):
    small, large = make_token(name="small"), make_token(name="large")
    with count_queries() as few:
        post(client, small, {"events": [event("s1"), event("s2", resident_external_id="R-2")]})
    batch = [event(f"l{i}", resident_external_id=("R-1", "R-2", "R-404")[i % 3],
                   service=("library-loans", "library-study-room")[i % 2]) for i in range(60)]
    with count_queries() as many:
        body = post(client, large, {"events": batch}).get_json()
    assert body["summary"] == {"created": 40, "duplicate": 0, "rejected": 20}
    assert many.count == few.count


def test_rate_limit_per_token_answers_json_429(app, client, make_token, residents,
                                               monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    value, other = make_token(name="busy"), make_token(name="quiet")
    for n in range(2):
        assert post(client, value, {"events": [event(f"r{n}")]}).status_code == 200
    response = post(client, value, {"events": [event("r3")]})
    assert_error(response, 429)
    assert "Retry-After" in response.headers
    assert post(client, other, {"events": [event("o1")]}).status_code == 200
    assert api_rows() == 3


# --- the OpenAPI document ----------------------------------------------------------------

def resolve(doc: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}


def check(instance: Any, schema: dict, doc: dict, path: str = "$") -> None:
    """The subset of OpenAPI 3.0 schema rules the document uses."""
    if "$ref" in schema:
        return check(instance, resolve(doc, schema["$ref"]), doc, path)
    if instance is None:
        assert schema.get("nullable"), f"{path} is null"
        return None
    kind = schema.get("type")
    if kind:
        assert isinstance(instance, TYPES[kind]), f"{path}: {instance!r} is not {kind}"
        assert not (kind == "integer" and isinstance(instance, bool)), path
    if "enum" in schema:
        assert instance in schema["enum"], f"{path}: {instance!r} not in enum"
    if "minLength" in schema:
        assert len(instance) >= schema["minLength"], path
    if "maxLength" in schema:
        assert len(instance) <= schema["maxLength"], path
    if "minimum" in schema:
        assert instance >= schema["minimum"], path
    if kind == "array":
        assert schema.get("minItems", 0) <= len(instance) <= schema.get("maxItems", 1e9), path
        for n, value in enumerate(instance):
            check(value, schema["items"], doc, f"{path}[{n}]")
    if kind == "object":
        properties = schema.get("properties", {})
        missing = set(schema.get("required", [])) - set(instance)
        assert not missing, f"{path}: missing {missing}"
        if schema.get("additionalProperties") is False:
            assert set(instance) <= set(properties), f"{path}: {set(instance) - set(properties)}"
        for name, value in instance.items():
            if name in properties:
                check(value, properties[name], doc, f"{path}.{name}")
    if "anyOf" in schema:
        assert any(set(alt.get("required", [])) <= set(instance) for alt in schema["anyOf"]), \
            path
    return None


def test_openapi_document_is_public_and_well_formed(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    doc = response.get_json()
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    for ref in refs(doc):
        assert isinstance(resolve(doc, ref), dict), ref
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            operation_ids.append(operation["operationId"])
            assert operation["responses"]
            for status, answer in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and answer["description"]
    assert len(operation_ids) == len(set(operation_ids))
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    assert "120 per minute" in doc["info"]["description"]


def test_openapi_paths_match_the_routes(app):
    doc = openapi.document(rate_limit="120 per minute")
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            routes[rule.rule.removeprefix("/api/v1")] = {
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == {path: set(item) for path, item in doc["paths"].items()}


def test_openapi_limits_and_enums_are_the_codes(app):
    doc = openapi.document(rate_limit="120 per minute")
    schemas = doc["components"]["schemas"]
    item = schemas["Event"]["properties"]
    assert item["channel"]["enum"] == list(CHANNELS)
    assert item["idempotency_key"]["maxLength"] == api_events.KEY_MAX
    assert item["kind"]["maxLength"] == KIND_MAX
    assert item["note"]["maxLength"] == NOTE_MAX
    events_schema = schemas["EventBatch"]["properties"]["events"]
    assert (events_schema["minItems"], events_schema["maxItems"]) == (1, api_events.MAX_EVENTS)
    result = schemas["EventResult"]["properties"]
    assert result["status"]["enum"] == [s.value for s in api_events.Status]
    assert result["reason"]["enum"] == [r.value for r in api_events.Reason]
    assert set(openapi.REASONS) == set(api_events.Reason)
    tested = {r[2] for r in REJECTIONS} | {"service_not_allowed"}  # its own test above
    assert tested == {r.value for r in api_events.Reason}
    documented = set(doc["paths"]["/events"]["post"]["responses"])
    assert documented == {"200", "400", "401", str(api_events.TOO_MANY_STATUS), "429"}
    assert {str(e[3]) for e in WHOLE_REQUEST_ERRORS} | {"200", "401", "429"} == documented


def test_answers_match_the_documented_schemas(app, client, make_token, residents,
                                              monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "5 per minute")
    doc = client.get("/api/v1/openapi.json").get_json()
    responses = doc["paths"]["/events"]["post"]["responses"]
    value = make_token()
    answers = [
        post(client, value, {"events": [event("a"), event("a"), event("b", channel="x"),
                                         ["wrong"], event(None)]}),
        post(client, value, raw=b"{"),
        post(client, None, {"events": [event()]}),
        post(client, value, {"events": [event(f"k{i}") for i in range(1001)]}),
        post(client, value, raw=b"[]"),
        post(client, value, raw=b"[]"),
        post(client, value, raw=b"[]"),
    ]
    for response in answers:
        documented = responses[str(response.status_code)]
        schema = documented["content"]["application/json"]["schema"]
        check(response.get_json(), schema, doc)
        for header in documented.get("headers", {}):
            assert header in response.headers, (response.status_code, header)
    assert [a.status_code for a in answers] == [200, 400, 401, 413, 400, 400, 429]


def test_documented_example_is_what_the_api_answers(client, make_token, catalogue):
    db.session.add(Resident(external_id="R-000123"))
    db.session.commit()
    doc = client.get("/api/v1/openapi.json").get_json()
    post_events = doc["paths"]["/events"]["post"]
    example = post_events["requestBody"]["content"]["application/json"]["example"]
    check(example, post_events["requestBody"]["content"]["application/json"]["schema"], doc)
    response = post(client, make_token(), copy.deepcopy(example))
    answer = post_events["responses"]["200"]["content"]["application/json"]["example"]
    assert response.get_json() == answer



def test_two_departments_may_use_the_same_keys(client, make_token, catalogue, residents):
    library = make_token("library")
    health = make_token("health", name="Health system")
    first = post(client, library, {"events": [event("1")]})
    assert first.get_json()["summary"]["created"] == 1
    second = post(client, health, {"events": [event("1", service="cancer-screening")]})
    assert second.get_json()["results"][0]["status"] == "created"
    assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == 2
    again = post(client, health, {"events": [event("1", service="cancer-screening")]})
    assert again.get_json()["results"][0]["status"] == "duplicate"


# --- keys with spaces, guessing tokens (issue 8 review) ---------------------------------

@pytest.mark.parametrize("key", [" ", "   ", "\t \u3000"])
def test_a_key_of_only_spaces_is_rejected(client, make_token, residents, key):
    body = post(client, make_token(), {"events": [event(key)]}).get_json()
    result = body["results"][0]
    assert (result["status"], result["reason"], result["field"]) == (
        "rejected", "invalid_value", "idempotency_key")
    assert result["message"] == "idempotency_key must not be empty or only spaces."
    assert api_rows() == 0


def test_keys_are_compared_without_surrounding_spaces(client, make_token, residents):
    value = make_token()
    first = post(client, value, {"events": [event(" abc ")]}).get_json()
    assert first["results"][0]["status"] == "created"
    assert first["results"][0]["idempotency_key"] == "abc"
    again = post(client, value, {"events": [event("abc"), event("abc\t")]}).get_json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    library = db.session.scalar(select(Service).where(Service.slug == "library-loans"))
    stored = db.session.scalars(select(UsageEvent.idempotency_key).where(
        UsageEvent.source == "api")).all()
    assert stored == [api_events.scoped_key(library.department_id, "abc")]


def test_wrong_tokens_are_rate_limited_per_address(app, client, make_token, residents,
                                                   monkeypatch):
    monkeypatch.setitem(app.config, "API_AUTH_FAILURE_LIMIT", "3 per minute")
    for n in range(3):
        response = post(client, f"rsp_guess{n}", {"events": [event()]})
        assert_error(response, 401)
    refused = post(client, "rsp_guess-again", {"events": [event()]})
    body = assert_error(refused, 429)
    assert body["title"] == "Too many attempts"
    assert int(refused.headers["Retry-After"]) > 0
    # the limit holds for every token from that address while it lasts ...
    assert post(client, make_token(), {"events": [event()]}).status_code == 429
    # ... and not for other addresses
    other = client.post("/api/v1/events", data=json.dumps({"events": [event()]}),
                        content_type="application/json",
                        headers={**EN, "Authorization": f"Bearer {make_token(name='other')}"},
                        environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 200
    assert api_rows() == 1


def test_good_tokens_do_not_use_up_the_failure_limit(app, client, make_token, residents,
                                                     monkeypatch):
    monkeypatch.setitem(app.config, "API_AUTH_FAILURE_LIMIT", "2 per minute")
    value = make_token()
    for n in range(5):
        assert post(client, value, {"events": [event(f"g{n}")]}).status_code == 200
    assert_error(post(client, "rsp_wrong", {"events": [event()]}), 401)
    assert api_rows() == 5


def test_openapi_states_the_key_rules_and_the_failure_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_AUTH_FAILURE_LIMIT", "7 per minute")
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "7 per minute failed authentications (401) per client address" in \
        doc["info"]["description"]
    key = doc["components"]["schemas"]["Event"]["properties"]["idempotency_key"]
    assert key["pattern"] == r"\S" and "only spaces is rejected" in key["description"]
