"""The resident's side of inquiries: sending one, the list, My page, the thread,
replying, reopening, and the e-mails staff replies send."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.inquiries import operations
from portal.inquiries.models import Inquiry, InquiryMessage, InquiryPhoto, InquiryStatus
from portal.mail.models import OutboundMessage
from portal.mail.outbox import send_due_messages
from portal.residents.models import Resident
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import sign_in
from tests.inquiry_factories import inquiry as make_inquiry

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


@pytest.fixture
def me(users, catalogue) -> Resident:
    record = factories.resident(user_id=users["resident"].id, email="me@example.org",
                                preferred_locale="en", preferred_channels=["email"])
    db.session.commit()
    return record


def form(**values) -> dict:
    data = {"service": "library-loans", "category": "question", "subject": "Loan period",
            "description": "Can I extend my loan?", "address": "", "latitude": "",
            "longitude": "", "send": "Send inquiry"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def count() -> int:
    return db.session.scalar(select(func.count(Inquiry.id)))


def test_a_resident_sends_an_inquiry_about_a_service(resident_client, me):
    response = resident_client.post("/inquiries/new", data=form(
        address="桜川市中央1-2-3", latitude="35.6812", longitude="139.7671"), headers=EN)
    assert response.status_code == 302
    inquiry = db.session.scalar(select(Inquiry))
    assert response.headers["Location"].endswith(f"/inquiries/{inquiry.id}")
    assert inquiry.resident_id == me.id and inquiry.channel == "web"
    assert inquiry.service.slug == "library-loans"
    assert inquiry.department_id == factories.service("library-loans").department_id
    assert (inquiry.latitude, inquiry.longitude) == (35.6812, 139.7671)
    assert inquiry.address == "桜川市中央1-2-3" and inquiry.status == InquiryStatus.NEW
    html = resident_client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Loan period" in html and "Can I extend my loan?" in html
    assert f"Your inquiry No. {inquiry.number} has been sent" in html
    assert "We aim to answer you by" in html


def test_the_resident_gets_a_receipt_in_their_language_at_once(resident_client, me):
    """Sending is confirmed by e-mail (delivered when the request commits), with the
    number and the day an answer is due."""
    from portal.inquiries import sla

    resident_client.post("/inquiries/new", data=form(), headers={"Accept-Language": "ja"})
    inquiry = db.session.scalar(select(Inquiry))
    [mail] = db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.purpose == "inquiry_received")).all()
    assert mail.status == "sent" and mail.locale == "en"  # the resident's language
    assert mail.subject == f"We received your inquiry No. {inquiry.number}"
    due = sla.due_day(inquiry.first_response_due_at)
    assert f"will answer by {due:%B} {due.day}, {due.year}" in mail.body_text


def test_i_dont_know_leaves_the_service_to_staff(resident_client, me):
    response = resident_client.post("/inquiries/new", data=form(service="unknown"))
    assert response.status_code == 302
    inquiry = db.session.scalar(select(Inquiry))
    assert inquiry.service_id is None and inquiry.department_id is None
    html = resident_client.get(f"/inquiries/{inquiry.id}", headers=EN).get_data(as_text=True)
    assert "Not chosen yet: staff will pass it on" in html


def test_an_account_without_a_record_gets_its_own(app, catalogue, make_user):
    user = make_user(Role.RESIDENT)
    client = sign_in(app.test_client(), user)
    assert client.get("/inquiries/new").status_code == 200
    assert client.post("/inquiries/new", data=form()).status_code == 302
    record = db.session.scalar(select(Resident).where(Resident.user_id == user.id))
    assert record is not None and record.external_id is None
    assert db.session.scalar(select(Inquiry)).resident_id == record.id


def test_the_service_is_preselected_from_the_service_page(resident_client, me, catalogue):
    html = resident_client.get("/inquiries/new?service=library-loans",
                               headers=EN).get_data(as_text=True)
    assert '<option selected value="library-loans">' in html
    assert "I don’t know — staff will route it" in html
    page = resident_client.get("/services/library-loans", headers=EN).get_data(as_text=True)
    assert "/inquiries/new?service=library-loans" in page


@pytest.mark.parametrize("values, field, message", [
    ({"subject": ""}, "subject", "Give your inquiry a subject."),
    ({"subject": "x" * 201}, "subject", "The subject can be at most 200 characters."),
    ({"description": ""}, "description", "Describe your question, request or problem."),
    ({"description": "あ" * 5001}, "description",
     "Your inquiry can be at most 5000 characters (it has 5001)."),
    ({"latitude": "35.6"}, "longitude", "Give both the latitude and the longitude, or neither."),
    ({"longitude": "139.7"}, "latitude", "Give both the latitude and the longitude, or neither."),
    ({"latitude": "95", "longitude": "139.7"}, "latitude",
     "The latitude must be between -90 and 90."),
    ({"latitude": "35", "longitude": "-181"}, "longitude",
     "The longitude must be between -180 and 180."),
    ({"latitude": "north", "longitude": "139.7"}, "latitude",
     "Enter the latitude as a decimal number"),
    ({"latitude": "nan", "longitude": "139.7"}, "latitude",
     "The latitude must be between -90 and 90."),
    ({"service": ""}, "service", "Choose a service, or “I don"),
    ({"category": None}, "category", "Choose what kind of inquiry this is."),
])
def test_each_mistake_is_named_and_what_was_typed_is_kept(resident_client, me, values, field,
                                                         message):
    data = form(**{"description": "My own words here", "address": "駅前広場", **values})
    response = resident_client.post("/inquiries/new", data=data, headers=EN)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'href="#{field}"' in html  # the error summary points at the field
    assert count() == 0
    if "description" not in values:
        assert "My own words here" in html
    assert 'value="駅前広場"' in html


def test_too_many_inquiries_are_refused_with_the_text_kept(app, resident_client, me):
    app.config["INQUIRY_RATE_LIMIT"] = "2 per hour"
    try:
        for _ in range(2):
            assert resident_client.post("/inquiries/new", data=form()).status_code == 302
        # the "Continue" step does not count, and is not refused
        assert resident_client.post("/inquiries/new", data=form(
            send=None, check="Continue")).status_code == 200
        response = resident_client.post("/inquiries/new", data=form(subject="Third one"),
                                        headers=EN)
    finally:
        app.config["INQUIRY_RATE_LIMIT"] = "10 per hour;30 per day"
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "You have sent many inquiries in a short time" in html and "Third one" in html
    assert count() == 2


def test_the_list_and_my_page_show_the_residents_inquiries(resident_client, me, users):
    first = make_inquiry(resident=me, subject="Older one", received_at=utcnow() - timedelta(2))
    second = make_inquiry(resident=me, subject="Newer one")
    other = make_inquiry(resident=factories.resident(), subject="Someone else's")
    operations.change_status(second, users["staff"], InquiryStatus.WAITING)
    db.session.commit()
    html = resident_client.get("/inquiries/", headers=EN).get_data(as_text=True)
    assert html.index("Newer one") < html.index("Older one")
    assert other.subject not in html
    assert "Waiting for your reply" in html and "New" in html
    assert f'href="/inquiries/{first.id}"' in html
    page = resident_client.get("/my/", headers=EN).get_data(as_text=True)
    assert "My inquiries" in page and "Newer one" in page and "Send an inquiry" in page
    assert 'href="/inquiries/"' in page


def test_the_resident_never_sees_internal_notes(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.add_note(item, users["staff"], "INTERNAL: caller sounded upset")
    operations.assign(item, users["staff"], users["staff"])
    operations.staff_reply(item, users["staff"], "You can extend it twice online.")
    db.session.commit()
    html = resident_client.get(f"/inquiries/{item.id}", headers=EN).get_data(as_text=True)
    assert "INTERNAL: caller sounded upset" not in html
    assert "You can extend it twice online." in html
    assert "Staff of Library" in html or "Staff of " in html
    assert users["staff"].display_name not in html
    assert "Status changed to “Waiting for your reply”." in html


def test_someone_elses_inquiry_and_photo_are_not_found(resident_client, me):
    other = make_inquiry(resident=factories.resident())
    db.session.add(InquiryPhoto(inquiry=other, content_type="image/png", data=b"x", size=1,
                                width=1, height=1))
    mine = make_inquiry(resident=me)
    db.session.commit()
    photo = db.session.scalar(select(InquiryPhoto))
    assert resident_client.get(f"/inquiries/{other.id}").status_code == 404
    assert resident_client.get(f"/inquiries/{other.id}/photos/{photo.id}").status_code == 404
    # a photo of another inquiry through one's own inquiry's address
    assert resident_client.get(f"/inquiries/{mine.id}/photos/{photo.id}").status_code == 404
    assert resident_client.post(f"/inquiries/{other.id}/reply",
                                data={"body": "hi"}).status_code == 404
    assert resident_client.post(f"/inquiries/{other.id}/reopen").status_code == 404


def test_the_resident_replies_and_waiting_becomes_open(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.staff_reply(item, users["staff"], "Which book is it?")
    db.session.commit()
    assert item.status == InquiryStatus.WAITING
    response = resident_client.post(f"/inquiries/{item.id}/reply",
                                    data={"body": "The atlas."}, headers=EN)
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == InquiryStatus.OPEN
    html = resident_client.get(f"/inquiries/{item.id}", headers=EN).get_data(as_text=True)
    assert "The atlas." in html and "Your message has been sent." in html


def test_a_reply_to_a_closed_inquiry_gets_a_precise_message(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.change_status(item, users["staff"], InquiryStatus.CLOSED)
    db.session.commit()
    response = resident_client.post(f"/inquiries/{item.id}/reply",
                                    data={"body": "One more thing"}, headers=EN)
    assert response.status_code == 400
    assert "This inquiry is closed. Please send a new inquiry." in response.get_data(
        as_text=True)
    assert db.session.scalar(select(func.count(InquiryMessage.id)).where(
        InquiryMessage.kind == "resident")) == 0


def test_a_reply_to_a_resolved_inquiry_asks_to_reopen(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.change_status(item, users["staff"], InquiryStatus.RESOLVED)
    db.session.commit()
    response = resident_client.post(f"/inquiries/{item.id}/reply",
                                    data={"body": "Not quite"}, headers=EN)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This inquiry is resolved. Reopen it to write again." in html
    assert "Reopen this inquiry" in html


def test_reopen_within_the_days_allowed(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.change_status(item, users["staff"], InquiryStatus.RESOLVED)
    item.resolved_at = utcnow() - timedelta(days=13)
    db.session.commit()
    html = resident_client.get(f"/inquiries/{item.id}", headers=EN).get_data(as_text=True)
    assert "Reopen this inquiry" in html
    response = resident_client.post(f"/inquiries/{item.id}/reopen", headers=EN)
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status == InquiryStatus.OPEN and item.reopen_count == 1
    html = resident_client.get(f"/inquiries/{item.id}", headers=EN).get_data(as_text=True)
    assert "The inquiry was reopened." in html and 'action="/inquiries/' in html


def test_reopen_refused_after_the_days_allowed(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.change_status(item, users["staff"], InquiryStatus.RESOLVED)
    item.resolved_at = utcnow() - timedelta(days=15)
    db.session.commit()
    html = resident_client.get(f"/inquiries/{item.id}", headers=EN).get_data(as_text=True)
    assert "Reopen this inquiry" not in html
    response = resident_client.post(f"/inquiries/{item.id}/reopen", headers=EN,
                                    follow_redirects=True)
    assert "An inquiry can be reopened within 14 days of its resolution." in response.get_data(
        as_text=True)
    db.session.refresh(item)
    assert item.status == InquiryStatus.RESOLVED and item.reopen_count == 0


def test_a_merged_inquiry_links_to_the_one_it_continues_as(resident_client, me, users):
    dup = make_inquiry(resident=me, subject="Duplicate")
    main = make_inquiry(resident=me, subject="Main")
    operations.merge(dup, users["staff"], main)
    db.session.commit()
    html = resident_client.get(f"/inquiries/{dup.id}", headers=EN).get_data(as_text=True)
    assert f'href="/inquiries/{main.id}"' in html
    assert "continues there" in html
    response = resident_client.post(f"/inquiries/{dup.id}/reply", data={"body": "x"},
                                    headers=EN)
    assert f"This inquiry continues as inquiry No. {main.id}" in response.get_data(as_text=True)


def test_a_staff_reply_emails_the_resident_in_their_language(resident_client, me, users,
                                                             outbox_dir):
    me.preferred_locale = "ja"
    item = make_inquiry(resident=me, subject="貸出")
    db.session.commit()
    assert item.locale == "ja"
    operations.staff_reply(item, users["staff"], "二回まで延長できます。")
    db.session.commit()
    [mail] = db.session.scalars(select(OutboundMessage)).all()
    assert mail.to_address == users["resident"].email and mail.locale == "ja"
    assert mail.purpose == "inquiry_reply"
    assert "二回まで延長できます。" in mail.body_text
    assert "Reply to your inquiry" not in mail.subject and "お問い合わせ" in mail.subject
    assert f"/inquiries/{item.id}" in mail.body_text  # the resident's inquiry page
    assert send_due_messages()["sent"] == 1
    [eml] = list(outbox_dir.glob(f"*-{mail.id}.eml"))
    assert users["resident"].email in eml.read_text()


def test_a_do_not_contact_resident_gets_no_email(resident_client, me, users):
    me.do_not_contact = True
    item = make_inquiry(resident=me)
    operations.staff_reply(item, users["staff"], "Answer")
    operations.change_status(item, users["staff"], InquiryStatus.RESOLVED)
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboundMessage.id))) == 0


def test_the_pages_in_japanese(resident_client, me, users):
    item = make_inquiry(resident=me)
    operations.staff_reply(item, users["staff"], "回答です")
    db.session.commit()
    html = resident_client.get(f"/inquiries/{item.id}", headers=JA).get_data(as_text=True)
    assert "回答です" in html and "Conversation" not in html
    html = resident_client.get("/inquiries/new", headers=JA).get_data(as_text=True)
    assert "Send an inquiry" not in html and "Continue" not in html


def test_an_open_inquiry_is_in_progress_not_a_survey_open_for_answers(resident_client, me,
                                                                      users):
    item = make_inquiry(resident=me)
    operations.change_status(item, users["staff"], InquiryStatus.OPEN)
    db.session.commit()
    html = resident_client.get("/inquiries/", headers=JA).get_data(as_text=True)
    assert "対応中" in html and "公開中" not in html
