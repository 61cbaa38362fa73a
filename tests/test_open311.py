"""Open311 GeoReport v2: every method in XML and JSON, the JSON validated against
the Open311 project's schemas (tests/open311_schemas/), the XML parsed safely and
checked equivalent to the JSON; every bad input answered in the spec's error format
with nothing stored; no personal data in public answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import operations
from portal.inquiries.models import Inquiry, InquiryStatus, ServiceAttribute
from portal.open311 import keys
from portal.open311.serialise import SINGULAR
from portal.timeutil import utcnow
from tests import factories
from tests.inquiry_factories import inquiry as web_inquiry

BASE = "/open311/v2"
SCHEMAS = Path(__file__).parent / "open311_schemas"
W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
PERSONAL = ("Taro", "Yamada", "taro@example.org", "090-1234-5678", "device-777", "acct-42")


def _registry() -> Registry:
    registry = Registry()
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(
            path.name, Resource.from_contents(contents, default_specification=DRAFT7))
    return registry


REGISTRY = _registry()


def validate(document, schema_name: str) -> None:
    schema = json.loads((SCHEMAS / schema_name).read_text(encoding="utf-8"))
    validator = Draft7Validator(schema, registry=REGISTRY,
                                format_checker=Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=str)
    assert errors == [], [e.message for e in errors]


def xml_to_plain(element):
    """The XML as the JSON it maps to (every leaf a string or None)."""
    children = list(element)
    if element.tag in SINGULAR:
        return [xml_to_plain(child) for child in children]
    if not children:
        return element.text
    return {child.tag: xml_to_plain(child) for child in children}


def json_to_plain(value):
    if isinstance(value, dict):
        return {k: json_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_to_plain(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return None
    return str(value)


def get_xml(client, path: str, status: int = 200, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.data
    return parse_xml(response)


def parse_xml(response):
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.data.startswith(DECLARATION)
    return fromstring(response.data)


def get_json(client, path: str, status: int = 200, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


def same_in_both(client, path: str, status: int = 200, **kwargs):
    """GET ``path`` as .json and .xml; both must say the same. Returns the JSON."""
    document = get_json(client, f"{path}.json", status, **kwargs)
    root = get_xml(client, f"{path}.xml", status, **kwargs)
    assert xml_to_plain(root) == json_to_plain(document)
    return document, root


def error_of(response, status: int) -> list[str]:
    """The descriptions of an Open311 error answer (JSON or XML), checking its shape."""
    assert response.status_code == status, response.data
    if response.headers["Content-Type"].startswith("application/json"):
        body = response.get_json()
        assert isinstance(body, list) and body
        assert all(set(e) == {"code", "description"} and e["code"] == status for e in body)
        return [e["description"] for e in body]
    root = parse_xml(response)
    assert root.tag == "errors"
    found = []
    for error in root:
        assert error.tag == "error"
        assert error.findtext("code") == str(status)
        found.append(error.findtext("description"))
    assert found
    return found


def count_inquiries() -> int:
    return db.session.scalar(select(func.count()).select_from(Inquiry))


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture
def open311(catalogue):
    """ENV-002 (bulky waste, a public-space service here) with attributes, ENV-003
    (recycling station, private), and a key for the environment division."""
    bulky = factories.service("bulky-waste-collection")
    bulky.public_space = True
    # the catalogue marks the recycling station public-space; here it plays a private one
    factories.service("recycling-station").public_space = False
    db.session.add_all([
        ServiceAttribute(service_id=bulky.id, code="SIZE", datatype="singlevaluelist",
                         required=True, position=1, description_ja="大きさ",
                         description_en="Size", values=[
                             {"key": "small", "name_ja": "小", "name_en": "Small"},
                             {"key": "large", "name_ja": "大", "name_en": "Large"}]),
        ServiceAttribute(service_id=bulky.id, code="ITEMS", datatype="multivaluelist",
                         position=2, description_en="What is it?", values=[
                             {"key": "sofa", "name_ja": "ソファ", "name_en": "Sofa"},
                             {"key": "bed", "name_ja": "ベッド", "name_en": "Bed"},
                             {"key": "desk", "name_ja": "机", "name_en": ""}]),
        ServiceAttribute(service_id=bulky.id, code="COUNT", datatype="number", position=3,
                         description_en="How many?", datatype_description_en="A number"),
        ServiceAttribute(service_id=bulky.id, code="SEEN", datatype="datetime", position=4,
                         description_en="When did you see it?"),
        ServiceAttribute(service_id=bulky.id, code="NOTE", datatype="string", position=5,
                         description_ja="メモ"),
        ServiceAttribute(service_id=bulky.id, code="INFO", datatype="text", position=6,
                         variable=False, description_en="Photos help us find it."),
    ])
    key, value = keys.create_key(actor=None, name="Sakura Fix",
                                 departments=[catalogue["environment"]])
    db.session.commit()
    return {"key": value, "key_row": key, "bulky": bulky,
            "station": factories.service("recycling-station")}


def valid_post(open311, **overrides) -> dict:
    data = {"api_key": open311["key"], "service_code": "ENV-002", "lat": "35.6895",
            "long": "139.6917", "address_string": "桜川市中央1-2-3 公園前",
            "description": "歩道に大きなソファが捨てられています。\n通行の妨げです。",
            "attribute[SIZE]": "large", "email": "taro@example.org", "first_name": "Taro",
            "last_name": "Yamada", "phone": "090-1234-5678", "device_id": "device-777",
            "account_id": "acct-42", "media_url": "https://example.org/photo.jpg"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(client, open311_or_data, fmt: str = "json", **overrides):
    data = (valid_post(open311_or_data, **overrides) if "key_row" in open311_or_data
            else open311_or_data)
    return client.post(f"{BASE}/requests.{fmt}", data=data)


# -- discovery and services ----------------------------------------------------------------

def test_discovery_in_both_formats(client, open311):
    document, root = same_in_both(client, f"{BASE}/discovery")
    assert root.tag == "discovery"
    endpoint = document["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert W3.match(document["changeset"])
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == endpoint["formats"]


def test_services_list_active_coded_services_in_the_requested_language(client, open311):
    factories.service("library-study-room").active = False
    factories.service("tax-certificate").service_code = None
    db.session.commit()
    document, root = same_in_both(client, f"{BASE}/services",
                                  headers={"Accept-Language": "en"})
    validate(document, "services.json")
    assert root.tag == "services" and all(child.tag == "service" for child in root)
    by_code = {s["service_code"]: s for s in document}
    assert "LIB-002" not in by_code and "CIT-003" not in by_code
    bulky = by_code["ENV-002"]
    assert bulky["service_name"] == "Bulky Waste Collection"
    assert bulky["group"] == "Environment Division"
    assert bulky["metadata"] is True and bulky["type"] == "realtime"
    assert by_code["LIB-001"]["metadata"] is False
    assert list(by_code) == sorted(by_code)
    # Japanese: by Accept-Language, and the locale argument wins over it
    ja = get_json(client, f"{BASE}/services.json", headers={"Accept-Language": "ja"})
    assert {s["service_code"]: s for s in ja}["ENV-002"]["group"] == "環境課"
    ja = get_json(client, f"{BASE}/services.json?locale=ja", headers={"Accept-Language": "en"})
    assert {s["service_code"]: s for s in ja}["ENV-002"]["group"] == "環境課"


def test_unknown_locale_and_format_and_jurisdiction(client, open311):
    assert "fr" in error_of(client.get(f"{BASE}/services.json?locale=fr"), 400)[0]
    assert ".xml" in error_of(client.get(f"{BASE}/services.csv"), 404)[0]
    response = client.get(f"{BASE}/services.json?jurisdiction_id=elsewhere.example")
    assert "elsewhere.example" in error_of(response, 404)[0]
    ok = client.get(f"{BASE}/services.json?jurisdiction_id=sakuragawa.example.jp")
    assert ok.status_code == 200
    # an empty optional argument is the same as none
    assert client.get(f"{BASE}/services.json?jurisdiction_id=").status_code == 200
    assert error_of(client.get(f"{BASE}/no-such-method.json"), 404)
    assert error_of(client.get(f"{BASE}/no-such-method"), 404)


def test_service_definition_in_both_formats(client, open311):
    document, root = same_in_both(client, f"{BASE}/services/ENV-002",
                                  headers={"Accept-Language": "en"})
    validate(document, "service-definition.json")
    assert root.tag == "service_definition"
    assert document["service_code"] == "ENV-002"
    codes = [a["code"] for a in document["attributes"]]
    assert codes == ["SIZE", "ITEMS", "COUNT", "SEEN", "NOTE", "INFO"]
    size = document["attributes"][0]
    assert size == {"variable": True, "code": "SIZE", "datatype": "singlevaluelist",
                    "required": True, "datatype_description": None, "order": 1,
                    "description": "Size",
                    "values": [{"key": "small", "name": "Small"},
                               {"key": "large", "name": "Large"}]}
    items = document["attributes"][1]
    assert items["values"][2] == {"key": "desk", "name": "机"}  # falls back to Japanese
    assert document["attributes"][4]["description"] == "メモ"
    assert document["attributes"][5]["variable"] is False
    assert "values" not in document["attributes"][2]
    ja = get_json(client, f"{BASE}/services/ENV-002.json?locale=ja")
    assert ja["attributes"][0]["values"][1]["name"] == "大"


def test_service_definition_of_an_unknown_or_inactive_service(client, open311):
    for fmt in ("json", "xml"):
        assert "NOPE" in error_of(client.get(f"{BASE}/services/NOPE.{fmt}"), 404)[0]
    factories.service("library-loans").active = False
    db.session.commit()
    assert error_of(client.get(f"{BASE}/services/LIB-001.json"), 404)
    # a service without attributes has an empty definition
    document = get_json(client, f"{BASE}/services/ENV-003.json")
    validate(document, "service-definition.json")
    assert document == {"service_code": "ENV-003", "attributes": []}


# -- POST requests -------------------------------------------------------------------------

def test_post_creates_an_open311_inquiry_in_the_queue(client, open311):
    # a resident with the same e-mail address is NOT linked to the request
    factories.resident(email="taro@example.org")
    db.session.commit()
    response = post(client, open311, **{"attribute[ITEMS][]": None})
    assert response.status_code == 201, response.data
    body = response.get_json()
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice",
                                                "account_id"}
    assert body[0]["account_id"] is None and "token" not in body[0]
    stored = db.session.get(Inquiry, int(body[0]["service_request_id"]))
    assert stored.channel == "open311" and stored.category == "problem"
    assert stored.status == InquiryStatus.NEW
    assert stored.resident_id is None
    assert stored.service.slug == "bulky-waste-collection"
    assert stored.department_id == open311["bulky"].department_id
    assert (stored.caller_name, stored.caller_email, stored.caller_phone) == (
        "Yamada Taro", "taro@example.org", "090-1234-5678")  # default language: Japanese
    assert (stored.device_id, stored.account_id) == ("device-777", "acct-42")
    assert (stored.latitude, stored.longitude) == (35.6895, 139.6917)
    assert stored.address == "桜川市中央1-2-3 公園前"
    assert stored.attributes == {"SIZE": "large"}
    assert stored.media_url == "https://example.org/photo.jpg"
    assert stored.subject == "歩道に大きなソファが捨てられています。"
    assert stored.open311_key_id == open311["key_row"].id
    assert stored.open311_token and stored.locale == "ja"
    assert db.session.get(type(open311["key_row"]), open311["key_row"].id).last_used_at
    # the token resolves to the request
    document, root = same_in_both(client, f"{BASE}/tokens/{stored.open311_token}")
    assert document == [{"service_request_id": str(stored.id), "token": stored.open311_token}]
    assert root.tag == "service_requests"


def test_post_in_xml_with_every_attribute_kind(client, open311):
    data = valid_post(open311, **{"attribute[ITEMS][]": ["sofa", "bed", "sofa"],
                                  "attribute[COUNT]": "2", "attribute[SEEN]":
                                  "2026-12-01T09:30:00+09:00", "attribute[NOTE]": "夜間",
                                  "locale": "en", "description": "A <sofa> & a bed"})
    response = client.post(f"{BASE}/requests.xml", data=data)
    assert response.status_code == 201, response.data
    root = parse_xml(response)
    assert root.tag == "service_requests"
    request_element = root.find("request")
    request_id = request_element.findtext("service_request_id")
    assert "aims to deal with this request" in request_element.findtext("service_notice")
    assert request_element.find("account_id") is not None
    assert request_element.find("account_id").text is None  # <account_id />
    stored = db.session.get(Inquiry, int(request_id))
    assert stored.attributes == {"SIZE": "large", "ITEMS": ["sofa", "bed"], "COUNT": 2,
                                 "SEEN": "2026-12-01T09:30:00+09:00", "NOTE": "夜間"}
    assert stored.locale == "en" and stored.caller_name == "Taro Yamada"
    one = get_xml(client, f"{BASE}/requests/{request_id}.xml")
    assert one.findtext("request/description") == "A <sofa> & a bed"


def test_address_only_or_address_id_only_is_a_location(client, open311):
    for extra in ({"address_string": "中央公園", "address_id": None},
                  {"address_string": None, "address_id": "ADDR-9"}):
        response = post(client, open311, lat=None, long=None, **extra)
        assert response.status_code == 201, response.data


BAD_POSTS = [
    ({"api_key": None}, 403, "api_key is required"),
    ({"api_key": "o311_not-a-key"}, 403, "Invalid api_key"),
    ({"jurisdiction_id": "elsewhere.example"}, 404, "jurisdiction_id"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "NOPE"}, 404, "NOPE"),
    ({"service_code": "LIB-001"}, 403, "may not post requests"),
    ({"lat": None, "long": None, "address_string": None}, 400, "location is required"),
    ({"lat": None}, 400, "both lat and long"),
    ({"lat": "north"}, 400, "lat must be a number"),
    ({"lat": "nan"}, 400, "lat must be between"),
    ({"lat": "90.5"}, 400, "lat must be between -90 and 90"),
    ({"long": "-181"}, 400, "long must be between -180 and 180"),
    ({"attribute[SIZE]": None}, 400, "“SIZE” is required"),
    ({"attribute[SIZE]": "huge"}, 400, "“huge” is not one of the values"),
    ({"attribute[SIZE][]": ["small", "large"], "attribute[SIZE]": None}, 400,
     "takes one value"),
    ({"attribute[ITEMS][]": ["sofa", "car"]}, 400, "“car” is not one of the values"),
    ({"attribute[COUNT]": "two"}, 400, "must be a number"),
    ({"attribute[SEEN]": "yesterday"}, 400, "date and time"),
    ({"attribute[NOTE]": "one\ntwo"}, 400, "single line"),
    ({"attribute[COLOUR]": "red"}, 400, "no attribute “COLOUR”"),
    ({"attribute[INFO]": "text"}, 400, "no attribute “INFO”"),  # informational only
    ({"description": "x" * 4001}, 400, "at most 4000 characters"),
    ({"description": "bad\x00byte"}, 400, "control characters"),
    ({"media_url": "ftp://example.org/a.jpg"}, 400, "media_url"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "not-an-address"}, 400, "not a valid e-mail"),
    ({"phone": "call me"}, 400, "phone number"),
    ({"first_name": "x" * 76}, 400, "first_name can be at most"),
    ({"address_string": "x" * 301}, 400, "address_string can be at most"),
    ({"device_id": "d" * 101}, 400, "device_id can be at most"),
    ({"locale": "fr"}, 400, "locale"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("overrides", "status", "fragment"), BAD_POSTS)
def test_bad_posts_are_refused_and_store_nothing(client, open311, fmt, overrides, status,
                                                 fragment):
    before = count_inquiries()
    response = client.post(f"{BASE}/requests.{fmt}", data=valid_post(open311, **overrides),
                           headers={"Accept-Language": "en"})
    descriptions = error_of(response, status)
    assert any(fragment in d for d in descriptions), descriptions
    assert count_inquiries() == before


def test_several_problems_are_reported_together(client, open311):
    response = post(client, open311, lat="999", **{"attribute[SIZE]": None},
                    media_url="file:///etc/passwd")
    descriptions = error_of(response, 400)
    assert len(descriptions) == 3


def test_a_revoked_key_is_refused(client, open311):
    keys.revoke_key(actor=None, key=open311["key_row"])
    db.session.commit()
    assert error_of(post(client, open311), 403)
    assert count_inquiries() == 0


def test_a_json_body_is_refused(client, open311):
    response = client.post(f"{BASE}/requests.json", json=valid_post(open311),
                           headers={"Accept-Language": "en"})
    assert "form-encoded" in error_of(response, 400)[0]
    assert count_inquiries() == 0


def test_errors_are_translated_with_the_request_language(client, open311):
    response = client.post(f"{BASE}/requests.json", data=valid_post(open311, api_key=None),
                           headers={"Accept-Language": "ja"})
    description = error_of(response, 403)[0]
    assert re.search(r"[\u3040-\u30ff]", description), description


def test_an_unexpected_failure_is_a_general_400_and_stores_nothing(client, open311,
                                                                     monkeypatch):
    def broken(inquiry):
        raise RuntimeError("the mail server is down")

    monkeypatch.setattr(keys, "note_use", broken)
    response = post(client, open311, locale="en")
    assert "General service error" in error_of(response, 400)[0]
    assert count_inquiries() == 0


def test_posts_are_rate_limited_per_key(client, open311, app):
    original = app.config["OPEN311_RATE_LIMIT"]
    app.config["OPEN311_RATE_LIMIT"] = "2 per minute"
    try:
        assert post(client, open311).status_code == 201
        assert post(client, open311).status_code == 201
        response = post(client, open311, fmt="xml", locale="en")
        assert "Too many requests" in error_of(response, 429)[0]
        assert count_inquiries() == 2
        # another key has its own allowance
        _, other = keys.create_key(actor=None, name="Other app",
                                   departments=[open311["bulky"].department])
        db.session.commit()
        assert post(client, open311, api_key=other).status_code == 201
    finally:
        app.config["OPEN311_RATE_LIMIT"] = original


# -- GET requests --------------------------------------------------------------------------

def _posted(client, open311, **overrides) -> Inquiry:
    response = post(client, open311, **overrides)
    assert response.status_code == 201, response.data
    return db.session.get(Inquiry, int(response.get_json()[0]["service_request_id"]))


def test_get_requests_validates_and_keeps_personal_data_out(client, open311):
    public = _posted(client, open311)
    private = _posted(client, open311, service_code="ENV-003", **{"attribute[SIZE]": None},
                      address_string="桜川市川辺5-6 山田方", description="自宅前の回収について")
    web_inquiry(resident=factories.resident(), service="bulky-waste-collection",
                description="web inquiry, not public")
    db.session.commit()
    for query in ("", "?status=open"):
        response_json = client.get(f"{BASE}/requests.json{query}")
        response_xml = client.get(f"{BASE}/requests.xml{query}")
        document = response_json.get_json()
        validate(document, "requests.json")
        for item in document:
            validate(item, "request.json")
            for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
                assert W3.match(item[field]), item[field]
        assert xml_to_plain(parse_xml(response_xml)) == json_to_plain(document)
        for raw in (response_json.data.decode(), response_xml.data.decode()):
            for personal in PERSONAL:
                assert personal not in raw
            assert "山田方" not in raw and "自宅前" not in raw
            assert "web inquiry" not in raw
        by_id = {item["service_request_id"]: item for item in document}
        assert set(by_id) == {str(public.id), str(private.id)}
    shown = by_id[str(public.id)]
    assert shown["address"] == "桜川市中央1-2-3 公園前"
    assert (shown["lat"], shown["long"]) == (35.6895, 139.6917)
    assert shown["media_url"] == "https://example.org/photo.jpg"
    assert shown["description"].startswith("歩道に")
    assert shown["status"] == "open" and shown["service_code"] == "ENV-002"
    assert shown["agency_responsible"] == "環境課"
    hidden = by_id[str(private.id)]
    assert not {"address", "address_id", "lat", "long", "media_url", "description"} & set(hidden)
    assert hidden["service_code"] == "ENV-003"


def test_get_one_request_in_both_formats(client, open311):
    posted = _posted(client, open311)
    document, root = same_in_both(client, f"{BASE}/requests/{posted.id}",
                                  headers={"Accept-Language": "en"})
    validate(document, "requests.json")
    validate(document[0], "request.json")
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert document[0]["service_name"] == "Bulky Waste Collection"
    assert document[0]["status_notes"] == "Received; not yet reviewed."
    expected = posted.resolution_due_at.astimezone(
        datetime.fromisoformat(document[0]["requested_datetime"]).tzinfo)
    assert document[0]["expected_datetime"] == expected.replace(microsecond=0).isoformat()
    assert document[0]["requested_datetime"].endswith("+09:00")


def test_unknown_request_ids_and_tokens(client, open311):
    web = web_inquiry(service="bulky-waste-collection")
    db.session.commit()
    for fmt in ("json", "xml"):
        assert error_of(client.get(f"{BASE}/requests/999999.{fmt}"), 404)
        assert error_of(client.get(f"{BASE}/requests/abc.{fmt}"), 404)
        # an inquiry that did not come in through Open311 is not revealed
        assert error_of(client.get(f"{BASE}/requests/{web.id}.{fmt}"), 404)
        assert error_of(client.get(f"{BASE}/tokens/no-such-token.{fmt}"), 404)


def test_staff_status_changes_show(client, open311, users):
    posted = _posted(client, open311)
    staff = users["admin"]
    operations.staff_reply(posted, staff, "確認に伺います。", status=InquiryStatus.OPEN)
    db.session.commit()
    item = get_json(client, f"{BASE}/requests/{posted.id}.json?locale=en")[0]
    assert (item["status"], item["status_notes"]) == ("open", "Being dealt with.")
    operations.change_status(posted, staff, InquiryStatus.RESOLVED)
    db.session.commit()
    item = get_json(client, f"{BASE}/requests/{posted.id}.json?locale=en")[0]
    assert (item["status"], item["status_notes"]) == ("closed", "Resolved.")
    resolved = posted.resolved_at.astimezone(UTC).replace(microsecond=0)
    assert datetime.fromisoformat(item["updated_datetime"]) == resolved
    assert item["service_notice"] is None
    # the staff reply's text is not published
    assert "確認に伺います" not in json.dumps(item, ensure_ascii=False)
    closed = get_json(client, f"{BASE}/requests.json?status=closed")
    assert [i["service_request_id"] for i in closed] == [str(posted.id)]
    assert get_json(client, f"{BASE}/requests.json?status=open") == []
    both = get_json(client, f"{BASE}/requests.json?status=open,closed")
    assert len(both) == 1


def test_a_merged_request_says_so(client, open311, users):
    first, second = _posted(client, open311), _posted(client, open311)
    operations.merge(second, users["admin"], first)
    db.session.commit()
    item = get_json(client, f"{BASE}/requests/{second.id}.json?locale=en")[0]
    assert item["status"] == "closed"
    assert item["status_notes"] == f"Closed as a duplicate of request {first.id}."


def test_a_request_merged_into_a_private_inquiry_does_not_name_it(client, open311, users):
    """A phone inquiry's number is never public: the duplicate only says it is closed."""
    posted = _posted(client, open311)
    taken = operations.create_inquiry(category="problem", channel="phone", subject="同じ件",
                                      description="", service=open311["bulky"],
                                      recorded_by=users["admin"])
    operations.merge(posted, users["admin"], taken)
    db.session.commit()
    item = get_json(client, f"{BASE}/requests/{posted.id}.json?locale=en")[0]
    assert item["status"] == "closed" and str(taken.id) not in item["status_notes"]


def test_filters_and_the_90_day_window(client, open311):
    recent = _posted(client, open311)
    other = _posted(client, open311, service_code="ENV-003", **{"attribute[SIZE]": None})
    old = _posted(client, open311)
    old.created_at = utcnow() - timedelta(days=120)
    db.session.commit()

    def ids(query: str) -> set[str]:
        return {i["service_request_id"] for i in get_json(client, f"{BASE}/requests.json"
                                                                  f"{query}")}

    assert ids("") == {str(recent.id), str(other.id)}
    assert ids("?service_code=ENV-003") == {str(other.id)}
    assert ids("?service_code=ENV-002,ENV-003") == {str(recent.id), str(other.id)}
    # service_request_id overrides every other argument, the window too
    assert ids(f"?service_request_id={old.id},{other.id}&service_code=ENV-002") == {
        str(old.id), str(other.id)}
    start = (utcnow() - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (utcnow() - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"?start_date={start}&end_date={end}") == {str(old.id)}
    assert ids(f"?start_date={start}") == {str(old.id)}  # 90 days from the start
    assert ids(f"?end_date={end}") == {str(old.id)}  # 90 days up to the end


BAD_QUERIES = [
    ("start_date=2026-12-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", 400, "after the end_date"),
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400, "more than 90 days"),
    ("start_date=2026-12-01", 400, "w3 date and time"),
    ("end_date=2026-12-01T00:00:00", 400, "w3 date and time"),  # no time zone
    ("status=pending", 400, "status “pending”"),
    ("service_code=NOPE", 404, "NOPE"),
    ("service_request_id=12,abc", 400, "“abc”"),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("query", "status", "fragment"), BAD_QUERIES)
def test_bad_queries(client, open311, fmt, query, status, fragment):
    response = client.get(f"{BASE}/requests.{fmt}?{query}", headers={"Accept-Language": "en"})
    descriptions = error_of(response, status)
    assert any(fragment in d for d in descriptions), descriptions


def test_at_most_the_limit_is_returned_newest_first(client, open311, monkeypatch):
    from portal.open311 import views

    posted = [_posted(client, open311) for _ in range(3)]
    for age, inquiry in enumerate(posted):
        inquiry.created_at = utcnow() - timedelta(hours=age + 1)
    db.session.commit()
    monkeypatch.setattr(views, "RESULT_LIMIT", 2)
    document = get_json(client, f"{BASE}/requests.json")
    assert [i["service_request_id"] for i in document] == [str(posted[0].id),
                                                           str(posted[1].id)]


def test_get_requests_is_one_query(client, open311, count_queries):
    for _ in range(3):
        _posted(client, open311)
    _posted(client, open311, service_code="ENV-003", **{"attribute[SIZE]": None})
    with count_queries() as counter:
        assert len(get_json(client, f"{BASE}/requests.json")) == 4
    assert counter.count == 1, counter.statements


def test_xml_drops_characters_xml_cannot_carry(client, open311):
    posted = _posted(client, open311, description="ok")
    posted.description = "bell\x07 here"  # stored by some other door
    db.session.commit()
    root = get_xml(client, f"{BASE}/requests/{posted.id}.xml")
    assert root.findtext("request/description") == "bell here"


def test_an_oversized_body_is_413_in_the_open311_format(client, open311, app):
    original = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        response = client.post(f"{BASE}/requests.xml", data=valid_post(
            open311, description="x" * 3000, locale="en"), headers={"Accept-Language": "en"})
        assert "too large" in error_of(response, 413)[0]
    finally:
        app.config["MAX_CONTENT_LENGTH"] = original
    assert count_inquiries() == 0


def test_staff_see_the_apps_answers_in_their_language(client, open311, app, users):
    """The inquiry page shows the attribute values by their names, the caller's
    details and the app's photo link; the public GET shows none of the caller's."""
    posted = _posted(client, open311, **{"attribute[ITEMS][]": ["sofa", "desk"]})
    from tests.conftest import sign_in

    staff = sign_in(app.test_client(), users["admin"])
    page = staff.get(f"/admin/inquiries/{posted.id}",
                     headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<dt>Size</dt><dd>Large</dd>" in page
    assert "<dt>What is it?</dt><dd>Sofa, 机</dd>" in page  # no English name: the Japanese
    assert "Taro" in page and "090-1234-5678" in page
    assert 'href="https://example.org/photo.jpg" rel="noopener noreferrer nofollow"' in page
    ja = staff.get(f"/admin/inquiries/{posted.id}",
                   headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "<dt>大きさ</dt><dd>大</dd>" in ja
