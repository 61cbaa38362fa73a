"""An inquiry's page in the console and what staff do there: reply (with a
template in the resident's language), internal notes, assign, status, route,
merge, reopen, photos; and recording an inquiry taken by phone, at the counter,
by letter or by e-mail, for a resident or an unidentified caller."""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.inquiries import operations, sla
from portal.inquiries.models import (
    Inquiry,
    InquiryMessage,
    InquiryPhoto,
    InquiryStatus,
    MessageKind,
    ReplyTemplate,
    SlaPolicy,
)
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import sign_in
from tests.factories import service as service_named
from tests.inquiry_factories import inquiry as make_inquiry


@pytest.fixture
def worker(make_user, catalogue):
    """A member of the library's staff who reads the console in English."""
    return make_user(Role.STAFF, department=catalogue["library"], locale="en")


@pytest.fixture
def client(app, worker):
    return sign_in(app.test_client(), worker)


@pytest.fixture
def resident():
    return factories.resident(email="hanako@example.jp", given_name="花子", family_name="佐藤",
                              name_latin="Hanako Sato")


@pytest.fixture
def item(resident):
    made = make_inquiry(resident=resident, subject="貸出期間について")
    db.session.commit()
    return made


def fresh(inquiry: Inquiry) -> Inquiry:
    db.session.expire_all()
    return db.session.get(Inquiry, inquiry.id)


def mails_to(address: str) -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.to_address == address).order_by(OutboundMessage.id)))


def flashed(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m)) for m in re.findall(
        r'<p class="flash flash--\w+">(.*?)</p>', page, re.S))


# -- the page -----------------------------------------------------------------------------

def test_page_shows_header_thread_and_links(client, worker, item, resident):
    operations.add_note(item, worker, "電話で確認済み")
    operations.staff_reply(item, worker, "延長できます。", status=InquiryStatus.OPEN)
    db.session.commit()
    response = client.get(f"/admin/inquiries/{item.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"No. {item.id}" in page and "貸出期間について" in page
    assert f'href="/admin/residents/{resident.id}"' in page  # the 360° page
    assert "Internal note — not shown to the resident" in page
    assert 'class="message message--note"' in page and "電話で確認済み" in page
    assert "延長できます。" in page
    assert "First response due" in page and "Resolution due" in page
    assert "Book and Material Loans" in page
    # no two elements share an id although seven forms share the page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_viewing_is_audited_against_the_resident(client, worker, item, resident):
    client.get(f"/admin/inquiries/{item.id}")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.view"))
    assert entry.target_type == "residents" and entry.target_id == str(resident.id)
    assert entry.actor_id == worker.id and entry.data == {"inquiry": item.id}


def test_unidentified_caller_shows_their_details(client):
    caller = make_inquiry(channel="phone", caller_name="山田", caller_phone="03-1234-5678",
                          resident=None)
    db.session.commit()
    page = client.get(f"/admin/inquiries/{caller.id}").get_data(as_text=True)
    assert "山田" in page and "03-1234-5678" in page
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.view")) \
        is None  # no resident's data behind it


def test_other_departments_inquiry_is_404_for_every_action(client, resident):
    other = make_inquiry(resident=resident, service="cancer-screening")
    db.session.commit()
    for verb in ("reply", "note", "assign", "status", "route", "merge", "reopen"):
        assert client.post(f"/admin/inquiries/{other.id}/{verb}",
                           data={"body": "x"}).status_code == 404
    assert client.get(f"/admin/inquiries/{other.id}").status_code == 404


# -- replying -----------------------------------------------------------------------------

@pytest.fixture
def template(catalogue):
    row = ReplyTemplate(name_ja="貸出延長", name_en="Loan extension",
                        body_ja="{name}様\nお問い合わせ番号{number}の件、延長しました。",
                        body_en="Dear {name},\nYour inquiry No. {number} ({subject}): extended.",
                        department_id=catalogue["library"].id)
    other = ReplyTemplate(name_ja="検診", name_en="Screening", body_ja="x", body_en="x",
                          department_id=catalogue["health"].id)
    everyone = ReplyTemplate(name_ja="共通", name_en="General", body_ja="共通", body_en="All")
    retired = ReplyTemplate(name_ja="旧", name_en="Old", body_ja="旧", body_en="Old",
                            active=False)
    db.session.add_all([row, other, everyone, retired])
    db.session.commit()
    return row


def test_template_picker_lists_the_departments_and_general_active_ones(client, item, template):
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    picker = page.split('id="reply-template"')[1].split("</select>")[0]
    assert "貸出延長" in picker or "Loan extension" in picker
    assert "General" in picker or "共通" in picker
    assert "Screening" not in picker and "検診" not in picker
    assert "Old" not in picker


def test_use_template_fills_the_reply_in_the_residents_language(client, catalogue, template):
    english = factories.resident(preferred_locale="en", name_latin="John Smith",
                                 given_name="ジョン", family_name="スミス")
    asked = make_inquiry(resident=english, subject="Loan period")
    db.session.commit()
    response = client.post(f"/admin/inquiries/{asked.id}/reply", data={
        "template": str(template.id), "use_template": "Use template", "body": ""})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    box = page.split('id="reply-body"')[1].split("</textarea>")[0]
    assert "Dear John Smith," in box
    assert f"Your inquiry No. {asked.id} (Loan period): extended." in box
    assert "延長しました" not in box
    assert db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.inquiry_id == asked.id, InquiryMessage.kind == MessageKind.REPLY)) is None


def test_use_template_in_japanese_keeps_what_was_typed(client, item, template):
    page = client.post(f"/admin/inquiries/{item.id}/reply", data={
        "template": str(template.id), "use_template": "1", "body": "先に書いた文"}) \
        .get_data(as_text=True)
    box = page.split('id="reply-body"')[1].split("</textarea>")[0]
    assert box.split(">", 1)[1].lstrip().startswith("先に書いた文")
    assert f"佐藤 花子様\nお問い合わせ番号{item.id}の件、延長しました。" in box


def test_reply_is_sent_and_sets_the_chosen_status(client, item, template, resident):
    response = client.post(f"/admin/inquiries/{item.id}/reply", data={
        "template": str(template.id), "body": "延長しました。", "status": "resolved"})
    assert response.status_code == 302
    reloaded = fresh(item)
    assert reloaded.status == InquiryStatus.RESOLVED and reloaded.first_response_at
    reply = db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.inquiry_id == item.id, InquiryMessage.kind == MessageKind.REPLY))
    assert reply.body == "延長しました。" and reply.template_id == template.id
    mails = mails_to("hanako@example.jp")
    assert any("延長しました。" in m.body_text for m in mails)


def test_reply_e_mail_goes_out_at_once_with_a_link_to_the_thread(client, item, outbox_dir):
    """The view asks for the outbox to be sent after it commits (inline here): the
    resident does not wait for the worker's sweep."""
    client.post(f"/admin/inquiries/{item.id}/reply", data={"body": "延長しました。",
                                                           "status": "waiting"})
    sent = [m for m in mails_to("hanako@example.jp") if m.purpose == "inquiry_reply"]
    assert sent and sent[0].status == "sent"
    files = list(outbox_dir.glob("*.eml"))
    assert files
    body = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert f"/inquiries/{item.id}" in body.get_content()


def test_empty_reply_is_refused_with_a_message_and_nothing_stored(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/reply",
                           data={"body": "   ", "status": "waiting"})
    assert response.status_code == 400
    assert "Write a message first." in flashed(response.get_data(as_text=True))
    assert fresh(item).status == InquiryStatus.NEW


def test_refused_reply_keeps_the_typed_text(client, item, worker):
    operations.change_status(item, worker, InquiryStatus.CLOSED)
    db.session.commit()
    response = client.post(f"/admin/inquiries/{item.id}/reply",
                           data={"body": "大事な長い返信", "status": "waiting"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This inquiry is closed: reopen it before replying." in flashed(page)
    # the reply form is shown again (even on a closed inquiry) with the text in it
    assert "大事な長い返信" in page.split('id="reply-body"')[1].split("</textarea>")[0]


def test_reply_status_outside_the_choices_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/reply",
                           data={"body": "はい", "status": "closed"})
    assert response.status_code == 400
    assert "Choose the status the inquiry has after the reply." in flashed(
        response.get_data(as_text=True))


def test_template_of_another_department_is_refused(client, item, catalogue):
    other = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.name_en == "Screening"))
    if other is None:
        other = ReplyTemplate(name_en="Screening", body_en="x",
                              department_id=catalogue["health"].id)
        db.session.add(other)
        db.session.commit()
    response = client.post(f"/admin/inquiries/{item.id}/reply", data={
        "template": str(other.id), "use_template": "1", "body": ""})
    assert response.status_code == 400
    assert "Choose one of the reply templates listed." in flashed(response.get_data(as_text=True))


# -- notes --------------------------------------------------------------------------------

def test_note_is_staff_only(client, item, resident):
    before = len(mails_to("hanako@example.jp"))
    response = client.post(f"/admin/inquiries/{item.id}/note", data={"body": "内部メモ: 要確認"})
    assert response.status_code == 302
    note = db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.inquiry_id == item.id, InquiryMessage.kind == MessageKind.NOTE))
    assert note.body == "内部メモ: 要確認" and not note.visible_to_resident
    assert len(mails_to("hanako@example.jp")) == before  # the resident is not told
    # a later reply's e-mail does not carry it either
    client.post(f"/admin/inquiries/{item.id}/reply", data={"body": "回答です", "status": "waiting"})
    assert all("内部メモ" not in m.body_text for m in mails_to("hanako@example.jp"))
    visible = [m.body for m in fresh(item).messages if m.visible_to_resident]
    assert "内部メモ: 要確認" not in visible


def test_empty_note_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/note", data={"body": ""})
    assert response.status_code == 400
    assert "Write a message first." in flashed(response.get_data(as_text=True))


# -- assigning ----------------------------------------------------------------------------

def test_assign_to_a_colleague_and_take_it(client, worker, item, make_user, catalogue):
    colleague = make_user(Role.STAFF, department=catalogue["library"])
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    assert colleague.display_name in page.split('id="assign-assignee"')[1].split("</select>")[0]
    assert client.post(f"/admin/inquiries/{item.id}/assign",
                       data={"assignee": str(colleague.id)}).status_code == 302
    assert fresh(item).assignee_id == colleague.id
    assert fresh(item).status == InquiryStatus.OPEN
    assert client.post(f"/admin/inquiries/{item.id}/assign", data={"take": "1"}).status_code == 302
    assert fresh(item).assignee_id == worker.id
    assert client.post(f"/admin/inquiries/{item.id}/assign", data={"assignee": ""}).status_code \
        == 302
    assert fresh(item).assignee_id is None


def test_assign_to_staff_of_another_department_is_refused(client, item, make_user, catalogue):
    outsider = make_user(Role.STAFF, department=catalogue["health"])
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    assert outsider.display_name not in page
    response = client.post(f"/admin/inquiries/{item.id}/assign",
                           data={"assignee": str(outsider.id)})
    assert response.status_code == 400
    assert ("Assign the inquiry to someone in its department, or route it to the other "
            "department first.") in flashed(response.get_data(as_text=True))
    assert fresh(item).assignee_id is None


@pytest.mark.parametrize("value", ["999999", "abc", "-1"])
def test_assign_to_nobody_known_is_refused(client, item, value, users):
    response = client.post(f"/admin/inquiries/{item.id}/assign", data={"assignee": value})
    assert response.status_code == 400
    assert "Choose a colleague from the list." in flashed(response.get_data(as_text=True))


def test_assign_to_a_resident_account_is_refused(client, item, users):
    response = client.post(f"/admin/inquiries/{item.id}/assign",
                           data={"assignee": str(users["resident"].id)})
    assert response.status_code == 400
    assert "Choose a colleague from the list." in flashed(response.get_data(as_text=True))


# -- status and reopening -----------------------------------------------------------------

def test_status_change_and_reopen(client, item, resident):
    assert client.post(f"/admin/inquiries/{item.id}/status",
                       data={"status": "resolved"}).status_code == 302
    assert fresh(item).status == InquiryStatus.RESOLVED and fresh(item).due_at is None
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    assert f'action="/admin/inquiries/{item.id}/reopen"' in page
    told = len(mails_to("hanako@example.jp"))
    assert client.post(f"/admin/inquiries/{item.id}/reopen").status_code == 302
    reopened = fresh(item)
    assert reopened.status == InquiryStatus.OPEN and reopened.reopen_count == 1
    assert reopened.due_at is not None
    assert len(mails_to("hanako@example.jp")) == told + 1  # the resident is told
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.reopen"))


def test_reopen_of_a_pending_inquiry_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/reopen")
    assert response.status_code == 400
    assert "Only a resolved inquiry can be reopened." in flashed(response.get_data(as_text=True))


def test_unknown_status_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/status", data={"status": "lost"})
    assert response.status_code == 400
    assert "Choose a status." in flashed(response.get_data(as_text=True))


# -- routing ------------------------------------------------------------------------------

def test_route_moves_department_and_recomputes_due(client, item, catalogue):
    screening = service_named("cancer-screening")
    db.session.add(SlaPolicy(category=item.category, service_id=screening.id,
                             first_response_days=4, resolution_days=20))
    db.session.commit()
    before = item.first_response_due_at
    expected = sla.due_times(item.category, screening.id, item.created_at)
    response = client.post(f"/admin/inquiries/{item.id}/route",
                           data={"service": str(screening.id)})
    # the library's staff cannot see it any more: back to their queue
    assert response.status_code == 302 and response.location.endswith("/admin/inquiries/")
    routed = fresh(item)
    assert routed.service_id == screening.id
    assert routed.department_id == catalogue["health"].id
    assert (routed.first_response_due_at, routed.resolution_due_at) == expected
    assert routed.first_response_due_at != before and routed.due_at == expected[0]
    assert client.get(f"/admin/inquiries/{item.id}").status_code == 404


def test_route_an_unrouted_inquiry_into_the_department(client):
    unrouted = make_inquiry(service=None)
    db.session.commit()
    loans = service_named("library-study-room")
    assert client.post(f"/admin/inquiries/{unrouted.id}/route",
                       data={"service": str(loans.id)}).location.endswith(
        f"/admin/inquiries/{unrouted.id}")
    assert fresh(unrouted).department_id == loans.department_id


def test_route_without_a_service_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/route", data={"service": "nope"})
    assert response.status_code == 400
    assert "Choose the service to route the inquiry to." in flashed(
        response.get_data(as_text=True))


# -- merging ------------------------------------------------------------------------------

def test_merge_links_both_and_tells_the_resident(client, item, resident):
    original = make_inquiry(resident=resident, subject="同じ件")
    db.session.commit()
    response = client.post(f"/admin/inquiries/{item.id}/merge",
                           data={"other": f"No. {original.id}"})
    assert response.status_code == 302
    merged = fresh(item)
    assert merged.merged_into_id == original.id and merged.status == InquiryStatus.CLOSED
    events = {m.event for m in db.session.get(Inquiry, original.id).messages}
    assert "merged_from" in events
    assert any(f"No. {original.id}" in m.subject and m.purpose == "inquiry_merged"
               for m in mails_to("hanako@example.jp"))
    page = client.get(f"/admin/inquiries/{original.id}").get_data(as_text=True)
    assert f'href="/admin/inquiries/{item.id}"' in page  # linked back


def test_merge_into_itself_is_refused(client, item):
    response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": str(item.id)})
    assert response.status_code == 400
    assert "An inquiry cannot be merged into itself." in flashed(response.get_data(as_text=True))


def test_merge_into_a_closed_or_merged_one_is_refused(client, item, worker):
    closed = make_inquiry()
    operations.change_status(closed, worker, InquiryStatus.CLOSED)
    first, second = make_inquiry(), make_inquiry()
    operations.merge(first, worker, second)
    db.session.commit()
    response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": str(closed.id)})
    assert response.status_code == 400
    assert (f"Inquiry {closed.id} is closed: merge into an inquiry that is still being "
            "worked on.") in flashed(response.get_data(as_text=True))
    response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": str(first.id)})
    assert response.status_code == 400
    assert f"Inquiry {first.id} was itself merged: merge into {second.id} instead." in flashed(
        response.get_data(as_text=True))
    assert fresh(item).merged_into_id is None and fresh(item).status == InquiryStatus.NEW


def test_an_already_merged_inquiry_cannot_be_merged_again(client, worker):
    first, second, third = make_inquiry(), make_inquiry(), make_inquiry()
    operations.merge(first, worker, second)
    db.session.commit()
    response = client.post(f"/admin/inquiries/{first.id}/merge", data={"other": str(third.id)})
    assert response.status_code == 400
    assert "This inquiry was merged into another: work on that one." in flashed(
        response.get_data(as_text=True))
    assert fresh(first).merged_into_id == second.id


def test_merge_with_an_unknown_or_unworkable_number_is_refused(client, item):
    hidden = make_inquiry(service="cancer-screening")
    db.session.commit()
    for typed in ("999999", str(hidden.id)):
        response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": typed})
        assert response.status_code == 400
        assert f"There is no inquiry No. {typed} that you can work on." in flashed(
            response.get_data(as_text=True))
    response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": "abc"})
    assert "Enter the number of the other inquiry, such as 123." in flashed(
        response.get_data(as_text=True))
    # what was typed stays in the field
    assert 'value="abc"' in response.get_data(as_text=True)


# -- photos -------------------------------------------------------------------------------

def test_photo_is_served_to_those_who_may_work_the_inquiry(client, item, app, users):
    image = InquiryPhoto(inquiry_id=item.id, content_type="image/png", data=b"\x89PNG-bytes",
                         size=10, width=4, height=3)
    db.session.add(image)
    db.session.commit()
    response = client.get(f"/admin/inquiries/{item.id}/photos/{image.id}")
    assert response.status_code == 200 and response.data == b"\x89PNG-bytes"
    assert response.mimetype == "image/png" and "no-store" in response.headers["Cache-Control"]
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    assert f"/admin/inquiries/{item.id}/photos/{image.id}" in page
    other = make_inquiry(service="cancer-screening")
    db.session.commit()
    assert client.get(f"/admin/inquiries/{other.id}/photos/{image.id}").status_code == 404
    outsider = sign_in(app.test_client(), users["official"])
    assert outsider.get(f"/admin/inquiries/{item.id}/photos/{image.id}").status_code == 403


# -- recording (channel parity) -----------------------------------------------------------

def test_record_for_a_resident_from_the_360_page(client, worker, resident):
    page = client.get(f"/admin/residents/{resident.id}").get_data(as_text=True)
    assert f"/admin/inquiries/record?resident={resident.id}" in page
    form = client.get(f"/admin/inquiries/record?resident={resident.id}").get_data(as_text=True)
    assert "Caller's name" not in form  # the resident is known
    loans = service_named("library-loans")
    response = client.post("/admin/inquiries/record", data={
        "resident": str(resident.id), "channel": "phone", "service": str(loans.id),
        "category": "request", "subject": "電話での延長依頼", "description": "来週まで"})
    assert response.status_code == 302
    made = db.session.scalar(select(Inquiry).where(Inquiry.subject == "電話での延長依頼"))
    assert made.resident_id == resident.id and made.channel == "phone"
    assert made.recorded_by_id == worker.id and made.department_id == loans.department_id
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "inquiry.record")).target_id == str(made.id)
    # the 360° page lists it and counts it by channel
    page = client.get(f"/admin/residents/{resident.id}").get_data(as_text=True)
    panel = page.split('id="inquiries"')[1].split("</section>")[0]
    assert "電話での延長依頼" in panel and "Phone 1" in panel


def test_record_for_an_unidentified_caller(client):
    response = client.post("/admin/inquiries/record", data={
        "channel": "counter", "service": "", "category": "question",
        "subject": "ごみの出し方", "description": "分別について", "caller_name": "窓口の方",
        "caller_phone": "090-0000-0000", "caller_email": "caller@example.jp", "locale": "en"})
    assert response.status_code == 302
    made = db.session.scalar(select(Inquiry).where(Inquiry.subject == "ごみの出し方"))
    assert made.resident_id is None and made.department_id is None  # to be routed
    assert (made.caller_name, made.caller_phone, made.caller_email, made.locale) == (
        "窓口の方", "090-0000-0000", "caller@example.jp", "en")
    [receipt] = mails_to("caller@example.jp")  # the caller gave an address: a receipt
    assert receipt.subject == f"We received your inquiry No. {made.number}"


def test_record_for_another_departments_service_is_refused(client):
    screening = service_named("cancer-screening")
    response = client.post("/admin/inquiries/record", data={
        "channel": "phone", "service": str(screening.id), "category": "question",
        "subject": "検診", "description": ""})
    assert response.status_code == 200
    assert ("Choose one of your department's services, or “I don't know” to leave it for "
            "routing.") in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(select(Inquiry).where(Inquiry.subject == "検診")) is None


def test_record_refuses_the_web_channel_and_an_empty_subject(client):
    response = client.post("/admin/inquiries/record", data={
        "channel": "web", "service": "", "category": "question", "subject": "x"})
    assert "Choose how the inquiry came in: by phone, at the counter, by letter or by " \
           "e-mail." in html.unescape(response.get_data(as_text=True))
    response = client.post("/admin/inquiries/record", data={
        "channel": "letter", "service": "", "category": "question", "subject": " "})
    assert "Give the inquiry a subject." in response.get_data(as_text=True)
    assert "The inquiry was not recorded." in flashed(response.get_data(as_text=True))
    response = client.post("/admin/inquiries/record", data={
        "channel": "letter", "service": "", "category": "question", "subject": "a",
        "caller_email": "not-an-address"})
    assert "Enter an e-mail address such as name@example.jp." in response.get_data(as_text=True)
    assert db.session.scalar(select(Inquiry)) is None


def test_record_for_an_unknown_resident_is_404(client):
    assert client.get("/admin/inquiries/record?resident=999999").status_code == 404
    assert client.get("/admin/inquiries/record?resident=abc").status_code == 404


def test_resident_panel_hides_other_departments_inquiries(client, resident):
    make_inquiry(resident=resident, subject="検診について", service="cancer-screening")
    make_inquiry(resident=resident, subject="本について")
    db.session.commit()
    page = client.get(f"/admin/residents/{resident.id}").get_data(as_text=True)
    panel = page.split('id="inquiries"')[1].split("</section>")[0]
    assert "本について" in panel and "検診について" not in panel


def test_the_360_timeline_has_uses_and_inquiries_the_viewer_may_see(client, resident):
    """Every way of reaching the city is on the timeline: a phone inquiry counts under
    the phone channel with the uses; another department's inquiry is not shown."""
    factories.events(resident, "library-loans", 1, days_ago=5, channel="phone")
    make_inquiry(resident=resident, subject="検診について", service="cancer-screening",
                 channel="phone")
    mine = make_inquiry(resident=resident, subject="本について", channel="phone")
    make_inquiry(resident=resident, subject="ウェブから", channel="web")
    db.session.commit()
    page = client.get(f"/admin/residents/{resident.id}").get_data(as_text=True)
    timeline = page.split('id="timeline-title"')[1].split("</table>")[0]
    assert f'href="/admin/inquiries/{mine.id}"' in timeline and "本について" in timeline
    assert "検診について" not in timeline
    assert timeline.index("ウェブから") < timeline.index("本について")  # newest first
    phone = client.get(f"/admin/residents/{resident.id}?channel=phone").get_data(as_text=True)
    phone = phone.split('id="timeline-title"')[1].split("</table>")[0]
    assert "本について" in phone and "ウェブから" not in phone
    assert phone.count("<tr") == 3  # header, the use, the phone inquiry


# -- CSRF ---------------------------------------------------------------------------------

def test_actions_need_the_csrf_token(client, item, csrf_on):
    response = client.post(f"/admin/inquiries/{item.id}/note", data={"body": "メモ"})
    assert response.status_code == 400
    assert db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.kind == MessageKind.NOTE)) is None
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/inquiries/{item.id}/note",
                       data={"body": "メモ", "csrf_token": token}).status_code == 302


def test_first_response_due_state_words(client, item):
    item.first_response_due_at = utcnow() - timedelta(hours=2)
    item.due_at = item.first_response_due_at
    db.session.commit()
    page = client.get(f"/admin/inquiries/{item.id}").get_data(as_text=True)
    assert "Overdue" in page


def test_inquiries_of_different_residents_are_not_merged(client, item):
    """The resident is sent to the inquiry theirs continues as: it must be theirs."""
    other = make_inquiry(resident=factories.resident(email="jiro@example.jp"))
    db.session.commit()
    response = client.post(f"/admin/inquiries/{item.id}/merge", data={"other": str(other.id)})
    assert response.status_code == 400
    assert "Only inquiries of the same resident can be merged." in flashed(
        response.get_data(as_text=True))
    assert fresh(item).merged_into_id is None


def test_a_status_change_back_to_work_is_a_reopen(client, item, worker):
    """Resolved → open through the status form (or a reply) counts as a reopen and
    gets a new resolution due time, as the Reopen button does."""
    operations.change_status(item, worker, InquiryStatus.RESOLVED)
    item.resolution_due_at = utcnow() - timedelta(days=3)  # long past
    db.session.commit()
    client.post(f"/admin/inquiries/{item.id}/status", data={"status": "open"})
    reloaded = fresh(item)
    assert reloaded.status == InquiryStatus.OPEN and reloaded.reopen_count == 1
    assert reloaded.resolution_due_at > utcnow() and reloaded.reopened_at is not None
    operations.change_status(reloaded, worker, InquiryStatus.CLOSED)
    operations.change_status(reloaded, worker, InquiryStatus.RESOLVED)
    assert reloaded.closed_at is None and reloaded.resolved_at is not None


def test_opening_the_record_form_for_a_resident_and_a_photo_is_audited(client, resident, item):
    from portal.inquiries.models import InquiryPhoto

    client.get(f"/admin/inquiries/record?resident={resident.id}")
    photo = InquiryPhoto(inquiry_id=item.id, content_type="image/png", data=b"x", size=1,
                         width=1, height=1)
    db.session.add(photo)
    db.session.commit()
    assert client.get(f"/admin/inquiries/{item.id}/photos/{photo.id}").status_code == 200
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "residents", AuditEntry.target_id == str(resident.id))))
    assert {"resident.view", "inquiry.photo_view"} <= actions
