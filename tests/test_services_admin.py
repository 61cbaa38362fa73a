"""Console: departments and services."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.services.models import Department, Service
from tests import factories

EN = {"Accept-Language": "en"}


def service_form(**overrides):
    data = {"slug": "river-cleanup", "department_id": None, "service_code": "ENV-900",
            "name_ja": "川の清掃活動", "name_en": "River clean-up", "summary_ja": "毎月の清掃",
            "summary_en": "Monthly clean-up", "expected_interval_days": "30",
            "min_age": "", "max_age": "", "child_under": "", "active": "y"}
    data.update(overrides)
    return data


def test_manager_creates_a_service_with_an_eligibility_rule(manager_client, catalogue):
    data = service_form(department_id=catalogue["environment"].id, min_age="18",
                        max_age="70", districts=["川辺", "緑町"])
    response = manager_client.post("/admin/services/new", data=data, headers=EN,
                                   follow_redirects=True)
    assert "has been created" in response.get_data(as_text=True)
    created = db.session.scalar(select(Service).where(Service.slug == "river-cleanup"))
    assert created.eligibility == {"min_age": 18, "max_age": 70, "districts": ["川辺", "緑町"]}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "service.create"))
    assert "River clean-up" in manager_client.get("/services/river-cleanup",
                                                  headers=EN).get_data(as_text=True)


def test_service_form_refuses_bad_input(manager_client, catalogue):
    dept = catalogue["environment"].id
    for overrides, message in [
        ({"slug": "Bad Slug"}, "Use lower-case letters, digits and hyphens."),
        ({"slug": "library-loans"}, "Another service uses this address name."),
        ({"service_code": factories.service("library-loans").service_code},
         "Another service uses this service code."),
        ({"expected_interval_days": "0"}, "Between 1 and 3650 days."),
        ({"expected_interval_days": "often"}, "Not a valid integer value."),
        ({"min_age": "70", "max_age": "20"}, "The maximum age is below the minimum age."),
        ({"name_en": "   "}, "This field is required."),
        ({"districts": ["Atlantis"]}, "is not a valid choice"),
    ]:
        html = manager_client.post("/admin/services/new", data=service_form(
            department_id=dept, **overrides), headers=EN).get_data(as_text=True)
        assert message in html, overrides
    assert db.session.scalar(select(Service).where(Service.slug == "river-cleanup")) is None


def test_editing_a_service_keeps_the_rule_and_records_changes(manager_client, catalogue):
    checkup = factories.service("specific-health-checkup")
    page = manager_client.get("/admin/services/specific-health-checkup/edit").get_data(
        as_text=True)
    assert 'value="40"' in page  # the rule is shown in the form
    data = service_form(slug=checkup.slug, department_id=checkup.department_id,
                        service_code=checkup.service_code, name_ja=checkup.name_ja,
                        name_en="Health check-up (40-74)", min_age="40", max_age="74",
                        expected_interval_days="365")
    manager_client.post("/admin/services/specific-health-checkup/edit", data=data)
    db.session.refresh(checkup)
    assert checkup.name_en == "Health check-up (40-74)"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "service.update"))
    assert "name_en" in entry.data["fields"]


def test_deactivated_service_leaves_the_catalogue(manager_client, client, catalogue):
    loans = factories.service("library-loans")
    data = service_form(slug=loans.slug, department_id=loans.department_id,
                        service_code=loans.service_code, name_ja=loans.name_ja,
                        name_en=loans.name_en, expected_interval_days="21")
    del data["active"]
    manager_client.post("/admin/services/library-loans/edit", data=data)
    assert client.get("/services/library-loans").status_code == 404


def test_departments_are_created_and_edited(manager_client, catalogue):
    response = manager_client.post("/admin/departments/new", data={
        "code": "tourism", "name_ja": "観光課", "name_en": "Tourism", "phone": "0297-00-0000"},
        headers=EN, follow_redirects=True)
    assert "has been created" in response.get_data(as_text=True)
    duplicate = manager_client.post("/admin/departments/new", data={
        "code": "tourism", "name_ja": "x", "name_en": "x"}, headers=EN)
    assert "A department with this code exists already." in duplicate.get_data(as_text=True)
    manager_client.post("/admin/departments/tourism/edit", data={
        "code": "renamed", "name_ja": "観光振興課", "name_en": "Tourism Promotion"})
    dept = db.session.scalar(select(Department).where(Department.code == "tourism"))
    assert dept.name_en == "Tourism Promotion"  # the code itself cannot change


def test_staff_read_the_list_but_cannot_edit(staff_client, catalogue):
    html = staff_client.get("/admin/services", headers=EN).get_data(as_text=True)
    assert factories.service("library-loans").name_en in html
    assert "/admin/services/new" not in html and "/edit" not in html
    assert staff_client.get("/admin/services/new").status_code == 403
    assert staff_client.post("/admin/services/library-loans/edit", data={}).status_code == 403
