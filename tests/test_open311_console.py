"""The Open311 console (api_keys, a service's attributes, the public-space switch)
and ``portal open311 create-key / list-keys / revoke-key``."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.inquiries.models import Inquiry, Open311Key, ServiceAttribute
from tests import factories

EN = {"Accept-Language": "en"}
KEY_RE = re.compile(r"o311_[A-Za-z0-9_\-]{20,}")


def post_request(client, key: str, **extra):
    data = {"api_key": key, "service_code": "ENV-002", "address_string": "中央公園",
            "description": "粗大ごみ"}
    data.update(extra)
    return client.post("/open311/v2/requests.json", data=data)


# -- api_keys ------------------------------------------------------------------------------

def test_admin_creates_a_key_shown_once_that_works_and_revokes_it(admin_client, client,
                                                                   catalogue):
    response = admin_client.post("/admin/open311/keys/new", headers=EN, data={
        "name": "Sakura Fix", "departments": [catalogue["environment"].id]})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Open311 key created" in page and "shown only this once" in page
    values = KEY_RE.findall(page)
    assert len(set(values)) == 1
    value = values[0]
    assert response.headers["Cache-Control"] == "no-store"
    key = db.session.scalar(select(Open311Key))
    assert key.key_hash == hashlib.sha256(value.encode()).hexdigest()
    assert [d.code for d in key.departments] == ["environment"]
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "open311_key.create"))
    assert entry.target_type == "open311_keys" and value not in entry.summary

    listing = admin_client.get("/admin/open311/", headers=EN).get_data(as_text=True)
    assert value not in listing and key.prefix in listing and "Sakura Fix" in listing
    assert "sakuragawa.example.jp" in listing

    assert post_request(client, value).status_code == 201
    # scoped: the library's services are not this key's
    assert post_request(client, value, service_code="LIB-001").status_code == 403

    response = admin_client.post(f"/admin/open311/keys/{key.id}/revoke", headers=EN,
                                 follow_redirects=True)
    assert "has been revoked" in response.get_data(as_text=True)
    assert post_request(client, value).status_code == 403
    again = admin_client.post(f"/admin/open311/keys/{key.id}/revoke", headers=EN,
                              follow_redirects=True)
    assert "was revoked already" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Inquiry)) == 1


def test_key_form_needs_a_name_and_a_department(admin_client, catalogue):
    response = admin_client.post("/admin/open311/keys/new", headers=EN, data={"name": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Choose at least one department." in page
    assert db.session.scalar(select(func.count()).select_from(Open311Key)) == 0


# -- a service's attributes ----------------------------------------------------------------

def _attribute_form(**overrides) -> dict:
    data = {"code": "SIZE", "datatype": "singlevaluelist", "variable": "y", "required": "y",
            "position": "1", "description_ja": "大きさ", "description_en": "Size",
            "datatype_description_ja": "", "datatype_description_en": "Choose one",
            "values_text": "small | 小 | Small\nlarge | 大 | Large\n"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_manager_defines_attributes_published_in_the_definition(manager_client, client,
                                                                 catalogue):
    base = "/admin/open311/services/bulky-waste-collection/attributes"
    page = manager_client.get(base, headers=EN).get_data(as_text=True)
    assert "No attributes" in page
    response = manager_client.post(f"{base}/new", headers=EN, data=_attribute_form())
    assert response.status_code == 302
    attribute = db.session.scalar(select(ServiceAttribute))
    assert attribute.values == [{"key": "small", "name_ja": "小", "name_en": "Small"},
                                {"key": "large", "name_ja": "大", "name_en": "Large"}]
    assert attribute.required and attribute.variable and attribute.position == 1
    definition = client.get("/open311/v2/services/ENV-002.json?locale=en").get_json()
    assert definition["attributes"][0]["values"][1] == {"key": "large", "name": "Large"}
    assert definition["attributes"][0]["datatype_description"] == "Choose one"
    services = client.get("/open311/v2/services.json").get_json()
    assert {s["service_code"]: s["metadata"] for s in services}["ENV-002"] is True

    listing = manager_client.get(base, headers=EN).get_data(as_text=True)
    assert "SIZE" in listing and "2 values" in listing
    edit = manager_client.get(f"{base}/{attribute.id}", headers=EN).get_data(as_text=True)
    assert "small | 小 | Small" in edit
    response = manager_client.post(f"{base}/{attribute.id}", headers=EN, data=_attribute_form(
        values_text="small | 小 | Small\nlarge | 大 | Large\nhuge | 特大 | Huge",
        required=None))
    assert response.status_code == 302
    db.session.refresh(attribute)
    assert len(attribute.values) == 3 and attribute.required is False
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"service_attribute.create", "service_attribute.update"} <= actions

    response = manager_client.post(f"{base}/{attribute.id}/delete", headers=EN,
                                   follow_redirects=True)
    assert "has been removed" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ServiceAttribute)) == 0


BAD_ATTRIBUTES = [
    ({"code": "bad code"}, "Use letters, digits"),
    ({"datatype": "colour"}, "Not a valid choice"),
    ({"position": "0"}, "Between 1 and 999"),
    ({"position": ""}, "Enter a whole number"),
    ({"values_text": ""}, "A list needs at least one value"),
    ({"datatype": "string"}, "Only the list kinds of answer have values"),
    ({"variable": None}, "cannot be required"),
    ({"description_ja": "", "description_en": ""}, "at least one language"),
    ({"values_text": "a | A | A\na | B | B"}, "is there twice"),
    ({"values_text": "a b | A"}, "the key must be"),
    ({"values_text": "a | | "}, "give the value a name"),
    ({"values_text": "a | A | A | extra"}, "separated by"),
]


def test_bad_attribute_definitions_are_refused(manager_client, catalogue):
    base = "/admin/open311/services/bulky-waste-collection/attributes"
    for overrides, message in BAD_ATTRIBUTES:
        response = manager_client.post(f"{base}/new", headers=EN,
                                       data=_attribute_form(**overrides))
        assert response.status_code == 200, overrides
        assert message in response.get_data(as_text=True), (overrides, message)
    assert db.session.scalar(select(func.count()).select_from(ServiceAttribute)) == 0
    # codes and order numbers are unique within the service
    assert manager_client.post(f"{base}/new", data=_attribute_form()).status_code == 302
    for overrides, message in (({"position": "2"}, "has this code"),
                               ({"code": "OTHER"}, "has this number")):
        page = manager_client.post(f"{base}/new", headers=EN,
                                   data=_attribute_form(**overrides)).get_data(as_text=True)
        assert message in page
    assert db.session.scalar(select(func.count()).select_from(ServiceAttribute)) == 1


def test_an_attribute_of_another_service_is_404(manager_client, catalogue):
    other = ServiceAttribute(service_id=factories.service("library-loans").id, code="X",
                             datatype="string", position=1, description_en="x")
    db.session.add(other)
    db.session.commit()
    base = "/admin/open311/services/bulky-waste-collection/attributes"
    assert manager_client.get(f"{base}/{other.id}").status_code == 404
    assert manager_client.post(f"{base}/{other.id}/delete").status_code == 404
    assert db.session.get(ServiceAttribute, other.id) is not None


def test_service_form_sets_public_space_and_links_the_attributes(manager_client, catalogue):
    page = manager_client.get("/admin/services/bulky-waste-collection/edit",
                              headers=EN).get_data(as_text=True)
    assert "/admin/open311/services/bulky-waste-collection/attributes" in page
    assert 'name="public_space"' in page
    service = factories.service("bulky-waste-collection")
    form = {
        "slug": service.slug, "department_id": service.department_id,
        "service_code": service.service_code, "name_ja": service.name_ja,
        "name_en": service.name_en, "expected_interval_days": service.expected_interval_days,
        "active": "y", "public_space": "y",
    }
    response = manager_client.post("/admin/services/bulky-waste-collection/edit", data=form)
    assert response.status_code == 302
    db.session.refresh(service)
    assert service.public_space is True


# -- the command line ---------------------------------------------------------------------

def test_cli_creates_a_key_that_works_and_revokes_it(runner, client, catalogue):
    result = runner.invoke(args=["open311", "create-key", "--name", "Sakura Fix",
                                 "--department", "environment", "--department", "library"])
    assert result.exit_code == 0, result.output
    value = result.stdout.strip().splitlines()[-1]
    assert KEY_RE.fullmatch(value)
    key = db.session.scalar(select(Open311Key))
    assert sorted(d.code for d in key.departments) == ["environment", "library"]
    assert post_request(client, value).status_code == 201
    assert post_request(client, value, service_code="LIB-001").status_code == 201

    listing = runner.invoke(args=["open311", "list-keys"])
    assert key.prefix in listing.output and value not in listing.output
    assert runner.invoke(args=["open311", "revoke-key", str(key.id)]).exit_code == 0
    assert post_request(client, value).status_code == 403
    assert "already" in runner.invoke(args=["open311", "revoke-key", str(key.id)]).output


def test_cli_refuses_unknown_departments_and_keys(runner, catalogue):
    result = runner.invoke(args=["open311", "create-key", "--name", "X",
                                 "--department", "nowhere"])
    assert result.exit_code == 1 and "nowhere" in result.output
    assert runner.invoke(args=["open311", "create-key", "--name", "X"]).exit_code == 2
    assert runner.invoke(args=["open311", "revoke-key", "999"]).exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Open311Key)) == 0
