"""The console's inquiry settings: service levels, overrides, closure days, reply
templates."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.inquiries import sla
from portal.inquiries.models import ClosureDay, ReplyTemplate, SlaPolicy
from portal.inquiries.settings_views import non_business_days, preview
from tests import factories
from tests.inquiry_factories import inquiry


@pytest.fixture(autouse=True)
def _english(users):
    for user in users.values():
        user.locale = "en"
    db.session.commit()


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def targets(**overrides) -> dict[str, str]:
    data = {"question_first": "1", "question_resolution": "3", "request_first": "2",
            "request_resolution": "10", "complaint_first": "1", "complaint_resolution": "5",
            "problem_first": "1", "problem_resolution": "5"}
    return data | overrides


def test_the_page_shows_targets_and_says_changes_apply_to_new_inquiries(manager_client):
    page = manager_client.get("/admin/inquiries/settings").get_data(as_text=True)
    assert "Changes apply to inquiries received from now on" in page
    assert 'name="request_resolution"' in page and 'value="10"' in page


def test_saving_targets_changes_new_inquiries_only(app, manager_client):
    with app.test_request_context(method="POST"):
        before = inquiry()
        db.session.commit()
    response = manager_client.post("/admin/inquiries/settings/targets",
                                   data=targets(question_first="4", question_resolution="9"))
    assert response.status_code == 302
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "question",
                                                       SlaPolicy.service_id.is_(None)))
    assert (policy.first_response_days, policy.resolution_days) == (4, 9)
    assert sla.targets("question", None) == (4, 9)
    assert "inquiry.sla_targets" in actions()
    stored = db.session.get(type(before), before.id)
    assert stored.first_response_due_at == before.first_response_due_at  # not recomputed


@pytest.mark.parametrize("values, message", [
    ({"question_first": "1.5"}, "Enter a whole number of business days from 0 to 60."),
    ({"question_first": "-1"}, "Enter a whole number of business days from 0 to 60."),
    ({"question_resolution": "61"}, "Enter a whole number of business days from 0 to 60."),
    ({"question_first": "4", "question_resolution": "3"},
     "The resolution target cannot be shorter than the first-response target."),
    ({"question_first": ""}, "Enter a number of business days."),
])
def test_bad_targets_are_refused_with_a_message(manager_client, values, message):
    response = manager_client.post("/admin/inquiries/settings/targets", data=targets(**values))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SlaPolicy)
                             .where(SlaPolicy.service_id.is_(None),
                                    SlaPolicy.category == "question",
                                    SlaPolicy.first_response_days == 4)) == 0
    assert "inquiry.sla_targets" not in actions()


def test_override_add_change_remove(manager_client, catalogue):
    service = factories.service("library-loans")
    data = {"service_id": service.id, "category": "request", "first_response_days": "0",
            "resolution_days": "2"}
    assert manager_client.post("/admin/inquiries/settings/overrides",
                               data=data).status_code == 302
    assert sla.targets("request", service.id) == (0, 2)
    assert manager_client.post("/admin/inquiries/settings/overrides",
                               data=data | {"resolution_days": "4"}).status_code == 302
    rows = db.session.scalars(select(SlaPolicy).where(SlaPolicy.service_id == service.id)).all()
    assert [(r.first_response_days, r.resolution_days) for r in rows] == [(0, 4)]
    bad = manager_client.post("/admin/inquiries/settings/overrides",
                              data=data | {"first_response_days": "5"})
    assert "cannot be shorter" in bad.get_data(as_text=True)
    assert manager_client.post(f"/admin/inquiries/settings/overrides/{rows[0].id}/delete"
                               ).status_code == 302
    assert sla.targets("request", service.id) == sla.DEFAULT_TARGETS["request"]
    assert actions()[-3:] == ["inquiry.sla_override", "inquiry.sla_override",
                              "inquiry.sla_override_removed"]


def test_closure_days_yearly_and_one_date(manager_client):
    assert manager_client.post("/admin/inquiries/settings/closures", data={
        "month": "6", "day": "2", "label_ja": "開庁記念日", "label_en": ""}).status_code == 302
    assert manager_client.post("/admin/inquiries/settings/closures", data={
        "year": "2027", "month": "3", "day": "15", "label_en": "System move"}
    ).status_code == 302
    calendar = sla.load_calendar()
    assert not calendar.is_business_day(date(2028, 6, 2))  # every year (a Friday)
    assert not calendar.is_business_day(date(2027, 3, 15))
    assert calendar.is_business_day(date(2028, 3, 15))  # that one year only
    again = manager_client.post("/admin/inquiries/settings/closures", data={
        "month": "6", "day": "2", "label_ja": "重複"})
    assert "already a closure day" in again.get_data(as_text=True)
    assert actions().count("inquiry.closure_added") == 2


@pytest.mark.parametrize("data, message", [
    ({"month": "2", "day": "30", "label_en": "x"}, "There is no day 2/30."),
    ({"year": "2027", "month": "2", "day": "29", "label_en": "x"}, "There is no day 2/29 2027."),
    ({"month": "13", "day": "1", "label_en": "x"}, "There is no day 13/1."),
    ({"month": "5", "day": "1"}, "Give the closure day a name in at least one language."),
    ({"day": "1", "label_en": "x"}, "Enter the month."),
])
def test_bad_closure_days_are_refused(manager_client, data, message):
    count = db.session.scalar(select(func.count()).select_from(ClosureDay))
    response = manager_client.post("/admin/inquiries/settings/closures", data=data)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ClosureDay)) == count


def test_removing_a_closure_day(manager_client):
    closure = db.session.scalar(select(ClosureDay).where(ClosureDay.month == 12,
                                                         ClosureDay.day == 31))
    assert manager_client.post(f"/admin/inquiries/settings/closures/{closure.id}/delete"
                               ).status_code == 302
    assert sla.load_calendar().is_business_day(date(2027, 12, 31))  # a Friday
    assert "inquiry.closure_removed" in actions()


def test_the_next_non_business_days_name_holidays(app):
    with app.test_request_context():
        days = non_business_days(date(2026, 11, 20), 4)
    assert [d["day"] for d in days] == [date(2026, 11, 21), date(2026, 11, 22),
                                        date(2026, 11, 23), date(2026, 11, 28)]
    assert days[2]["holiday"] == "勤労感謝の日" and days[0]["weekend"]


def test_english_page_shows_public_holiday_with_the_japanese_name(manager_client, monkeypatch):
    from portal.inquiries import settings_views

    monkeypatch.setattr(settings_views, "local_today", lambda: date(2026, 11, 20))
    page = manager_client.get("/admin/inquiries/settings").get_data(as_text=True)
    assert 'Public holiday (<span lang="ja">勤労感謝の日</span>)' in page


def test_reply_templates_new_preview_edit_delete(manager_client, catalogue):
    data = {"name_ja": "受付のお知らせ", "name_en": "Received", "body_ja": "{name} 様\n{number}番",
            "body_en": "Dear {name}, No. {number} {unknown}", "department_id": "0",
            "active": "y"}
    shown = manager_client.post("/admin/inquiries/templates/new",
                                data=data | {"action": "preview"}).get_data(as_text=True)
    assert "Dear Hanako Yamada, No. 123 {unknown}" in shown
    assert db.session.scalar(select(func.count()).select_from(ReplyTemplate)) == 0
    assert manager_client.post("/admin/inquiries/templates/new", data=data).status_code == 302
    template = db.session.scalar(select(ReplyTemplate))
    assert template.department_id is None and template.active
    page = unescape(manager_client.get(f"/admin/inquiries/templates/{template.id}").get_data(
        as_text=True))
    assert "{city}" in page and "the municipality's name" in page
    library = catalogue["library"].id
    assert manager_client.post(f"/admin/inquiries/templates/{template.id}", data=data | {
        "department_id": str(library), "active": ""}).status_code == 302
    db.session.refresh(template)
    assert template.department_id == library and not template.active
    listing = manager_client.get("/admin/inquiries/templates").get_data(as_text=True)
    assert "Inactive" in listing
    assert manager_client.post(f"/admin/inquiries/templates/{template.id}/delete"
                               ).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ReplyTemplate)) == 0
    assert actions()[-3:] == ["inquiry.template_created", "inquiry.template_changed",
                              "inquiry.template_deleted"]


def test_a_template_needs_a_name_and_a_text(manager_client):
    page = unescape(manager_client.post("/admin/inquiries/templates/new", data={
        "department_id": "0"}).get_data(as_text=True))
    assert "Give the template a name in at least one language." in page
    assert "Write the template's text in at least one language." in page


def test_preview_fills_in_japanese(app):
    with app.test_request_context():
        assert preview("{name} 様 {service}", "ja") == "山田 花子 様 図書の貸出"


def test_staff_may_not_change_settings(staff_client):
    assert staff_client.get("/admin/inquiries/settings").status_code == 403
    assert staff_client.post("/admin/inquiries/settings/targets",
                             data=targets()).status_code == 403
    assert staff_client.get("/admin/inquiries/templates").status_code == 403


