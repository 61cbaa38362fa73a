"""The staff queue (/admin/inquiries/): department scope, every filter and sort,
pages, a flat query count, and the CSV export (formula-safe, audited, no notes)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.inquiries import operations
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.inquiries.sla import end_of_local_day
from portal.timeutil import local_zone, utcnow
from tests import factories
from tests.conftest import sign_in
from tests.inquiry_factories import inquiry as make_inquiry


def numbers_on(page: str) -> list[int]:
    """The inquiry numbers in the queue's table, in order."""
    import re

    return [int(n) for n in re.findall(r'<td class="number">(\d+)</td>', page)]


@pytest.fixture
def mixed(users):
    """Inquiries of the library (the staff member's), of health, and one unrouted."""
    own = make_inquiry(subject="本の延長", service="library-loans")
    other = make_inquiry(subject="検診の予約", service="cancer-screening")
    unrouted = make_inquiry(subject="どこに聞けば", service=None)
    db.session.commit()
    return own, other, unrouted


def test_staff_see_their_department_and_unrouted_only(staff_client, mixed):
    own, _other, unrouted = mixed
    page = staff_client.get("/admin/inquiries/").get_data(as_text=True)
    assert set(numbers_on(page)) == {own.id, unrouted.id}
    assert "検診の予約" not in page
    assert "本の延長" in page and "どこに聞けば" in page


def test_staff_get_404_for_another_departments_inquiry(staff_client, mixed):
    own, other, unrouted = mixed
    assert staff_client.get(f"/admin/inquiries/{other.id}").status_code == 404
    assert staff_client.get(f"/admin/inquiries/{unrouted.id}").status_code == 200
    assert staff_client.get(f"/admin/inquiries/{own.id}").status_code == 200


def test_managers_see_all_and_filter_by_department(manager_client, mixed):
    own, other, unrouted = mixed
    page = manager_client.get("/admin/inquiries/").get_data(as_text=True)
    assert set(numbers_on(page)) == {own.id, other.id, unrouted.id}
    page = manager_client.get("/admin/inquiries/?department=health").get_data(as_text=True)
    assert numbers_on(page) == [other.id]
    page = manager_client.get("/admin/inquiries/?department=unrouted").get_data(as_text=True)
    assert numbers_on(page) == [unrouted.id]


def test_staff_have_no_department_filter(staff_client, mixed):
    own, _other, unrouted = mixed
    page = staff_client.get("/admin/inquiries/?department=health").get_data(as_text=True)
    assert 'name="department"' not in page
    assert set(numbers_on(page)) == {own.id, unrouted.id}  # not a way round the scope


def test_status_filter_defaults_to_pending(manager_client, users, mixed):
    own, other, unrouted = mixed
    operations.change_status(other, users["manager"], InquiryStatus.RESOLVED)
    db.session.commit()
    assert set(numbers_on(manager_client.get("/admin/inquiries/").get_data(as_text=True))) \
        == {own.id, unrouted.id}
    assert numbers_on(manager_client.get("/admin/inquiries/?status=resolved")
                      .get_data(as_text=True)) == [other.id]
    assert numbers_on(manager_client.get("/admin/inquiries/?status=new")
                      .get_data(as_text=True)) == sorted([own.id, unrouted.id])
    assert set(numbers_on(manager_client.get("/admin/inquiries/?status=all")
                          .get_data(as_text=True))) == {own.id, other.id, unrouted.id}


def test_channel_service_category_filters(manager_client, users):
    phone = make_inquiry(channel="phone", service="library-loans", category="complaint")
    web = make_inquiry(channel="web", service="library-study-room", category="question")
    db.session.commit()

    def shown(query):
        return numbers_on(manager_client.get(f"/admin/inquiries/?{query}").get_data(as_text=True))

    assert shown("channel=phone") == [phone.id]
    assert shown("service=library-study-room") == [web.id]
    assert shown("category=complaint") == [phone.id]
    assert shown("channel=web&category=complaint") == []


def test_assignee_filter(staff_client, users, make_user, catalogue):
    colleague = make_user(Role.STAFF, department=catalogue["library"])
    mine = make_inquiry()
    theirs = make_inquiry()
    nobody = make_inquiry()
    operations.assign(mine, users["staff"], users["staff"])
    operations.assign(theirs, users["staff"], colleague)
    db.session.commit()

    def shown(query):
        return numbers_on(staff_client.get(f"/admin/inquiries/?{query}").get_data(as_text=True))

    assert shown("assignee=me") == [mine.id]
    assert shown("assignee=none") == [nobody.id]
    assert shown(f"assignee={colleague.id}") == [theirs.id]


def test_sla_filters(manager_client, users):
    now = utcnow()
    overdue, today, later = make_inquiry(), make_inquiry(), make_inquiry()
    today_end = end_of_local_day(now.astimezone(local_zone()).date())
    overdue.due_at = now - timedelta(hours=1)
    # due later today (or, just before midnight, within the minute: still today)
    today.due_at = min(now + timedelta(minutes=1), today_end)
    later.due_at = today_end + timedelta(days=2)
    db.session.commit()

    def shown(query):
        return numbers_on(manager_client.get(f"/admin/inquiries/?{query}").get_data(as_text=True))

    assert shown("sla=overdue") == [overdue.id]
    assert shown("sla=due_today") == [today.id]
    assert shown("sla=on_time") == [later.id]
    page = manager_client.get("/admin/inquiries/?sla=overdue").get_data(as_text=True)
    assert "期限超過" in page  # in words (the page is in Japanese)


def test_text_search_over_subject_description_and_number(manager_client):
    a = make_inquiry(subject="街灯が消えている", description="駅前の交差点")
    b = make_inquiry(subject="Opening hours", description="Is the 100% library open?")
    db.session.commit()

    def shown(q):
        return numbers_on(manager_client.get("/admin/inquiries/", query_string={"q": q})
                          .get_data(as_text=True))

    assert shown("街灯") == [a.id]
    assert shown("交差点") == [a.id]
    assert shown("opening") == [b.id]
    assert shown("100%") == [b.id]
    assert shown("%") == [b.id]  # a literal percent sign, not a wildcard
    assert shown(str(a.id)) == [a.id]  # a number finds that inquiry
    assert shown(f"No. {b.id}") == [b.id]


def test_sorts(manager_client, users):
    base = utcnow() - timedelta(days=3)
    first = make_inquiry(received_at=base)
    second = make_inquiry(received_at=base + timedelta(hours=1))
    third = make_inquiry(received_at=base + timedelta(hours=2))
    first.due_at = base + timedelta(days=9)
    second.due_at = base + timedelta(days=5)
    third.due_at = base + timedelta(days=7)
    first.updated_at = base + timedelta(days=2)
    second.updated_at = base + timedelta(days=1)
    third.updated_at = base + timedelta(days=3)
    db.session.commit()

    def shown(sort):
        return numbers_on(manager_client.get(f"/admin/inquiries/?sort={sort}")
                          .get_data(as_text=True))

    assert shown("due") == [second.id, third.id, first.id]  # the default
    assert numbers_on(manager_client.get("/admin/inquiries/").get_data(as_text=True)) \
        == [second.id, third.id, first.id]
    assert shown("-due") == [first.id, third.id, second.id]
    assert shown("created") == [first.id, second.id, third.id]
    assert shown("-created") == [third.id, second.id, first.id]
    assert shown("updated") == [second.id, first.id, third.id]
    assert shown("-updated") == [third.id, first.id, second.id]


def test_sort_headers_link_and_announce(manager_client, users):
    make_inquiry()
    db.session.commit()
    page = manager_client.get("/admin/inquiries/?sort=created&channel=web") \
        .get_data(as_text=True)
    assert 'aria-sort="ascending"' in page
    assert "sort=-created" in page  # clicking the current column reverses it
    assert "channel=web" in page.split("sort=-created")[0].rsplit("href=", 1)[1]


def test_pagination(manager_client, users):
    made = [make_inquiry(received_at=utcnow() - timedelta(minutes=n)) for n in range(30)]
    db.session.commit()
    first = manager_client.get("/admin/inquiries/?sort=-created").get_data(as_text=True)
    second = manager_client.get("/admin/inquiries/?sort=-created&page=2").get_data(as_text=True)
    assert numbers_on(first) == [i.id for i in made[:25]]
    assert numbers_on(second) == [i.id for i in made[25:]]
    assert "30 inquiries" in first or "30件" in first
    assert 'rel="next"' in first and "sort=-created" in first.split('rel="next"')[1][:200]
    # past the last page: the last page; not a number: the first
    assert numbers_on(manager_client.get("/admin/inquiries/?sort=-created&page=99")
                      .get_data(as_text=True)) == [i.id for i in made[25:]]
    assert manager_client.get("/admin/inquiries/?page=abc").status_code == 200


@pytest.mark.parametrize("query", [
    "status=nonsense", "channel=fax", "service=no-such", "category=x", "assignee=someone",
    "sla=late", "sort=price", "department=nowhere", "q=" + "x" * 200, "page=-5",
    "assignee=99999999999999999999"])
def test_invalid_filters_are_ignored_with_a_message(manager_client, users, query):
    item = make_inquiry()
    db.session.commit()
    response = manager_client.get(f"/admin/inquiries/?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert numbers_on(page) == [item.id]
    if not query.startswith("page"):
        assert "は無視されました" in page  # "The filter … was ignored"


def test_query_count_is_flat(manager_client, users, count_queries, make_user, catalogue):
    residents = [factories.resident(given_name=f"花子{n}") for n in range(30)]
    workers = [make_user(Role.STAFF, department=catalogue["library"]) for _ in range(3)]

    def add(n):
        for i in range(n):
            item = make_inquiry(resident=residents[i], service=("library-loans", None,
                                                                "cancer-screening")[i % 3])
            operations.assign(item, users["manager"],
                              workers[i % 3] if i % 3 != 2 else users["manager"])
        db.session.commit()

    add(3)
    with count_queries() as few:
        assert manager_client.get("/admin/inquiries/").status_code == 200
    add(30)
    with count_queries() as many:
        assert manager_client.get("/admin/inquiries/").status_code == 200
    assert many.count == few.count, many.statements


def test_list_view_is_audited_per_resident(staff_client, users):
    resident = factories.resident()
    make_inquiry(resident=resident)
    db.session.commit()
    staff_client.get("/admin/inquiries/")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.list_view"))
    assert entry.target_type == "residents" and entry.target_id == str(resident.id)


def test_csv_is_formula_safe_audited_and_has_no_notes(staff_client, users):
    resident = factories.resident(family_name="=HYPERLINK(\"x\")")
    item = make_inquiry(resident=resident, subject="=1+2", description="+SUM(A1)")
    operations.add_note(item, users["staff"], "INTERNAL-SECRET note")
    make_inquiry(service="cancer-screening", subject="health only")
    db.session.commit()
    response = staff_client.get("/admin/inquiries/export.csv?channel=web")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "INTERNAL-SECRET" not in text
    assert "health only" not in text  # the department scope holds in the export
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["number"] == str(item.id)
    assert row["subject"] == "'=1+2"
    assert row["description"] == "'+SUM(A1)"
    assert row["resident_name"].startswith("'=")
    assert row["status"] == "new" and row["status_label"] in ("New", "新規")
    assert row["sla_state"] in ("on_time", "due_today", "overdue")
    export = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "inquiry.export"))
    assert export.data["rows"] == 1 and export.data["filters"] == {"channel": "web"}
    per_resident = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "inquiry.exported"))
    assert per_resident.target_id == str(resident.id)


def test_csv_labels_follow_the_viewers_language(app, users, make_user, catalogue):
    english = make_user(Role.STAFF, department=catalogue["library"], locale="en")
    japanese = make_user(Role.STAFF, department=catalogue["library"], locale="ja")
    make_inquiry(channel="phone")
    db.session.commit()
    en = sign_in(app.test_client(), english).get("/admin/inquiries/export.csv")
    ja = sign_in(app.test_client(), japanese).get("/admin/inquiries/export.csv")
    def first_row(response):
        return next(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))

    assert first_row(en)["channel_label"] == "Phone"
    assert first_row(ja)["channel_label"] == "電話"


def test_queue_shows_words_not_codes(manager_client, users):
    make_inquiry(channel="counter", category="complaint", service=None)
    db.session.commit()
    page = manager_client.get("/admin/inquiries/").get_data(as_text=True)
    for code in (">counter<", ">complaint<", ">new<", ">on_time<", ">due_today<"):
        assert code not in page


def test_merged_inquiry_shows_as_duplicate(manager_client, users):
    a, b = make_inquiry(), make_inquiry()
    operations.merge(a, users["manager"], b)
    db.session.commit()
    page = manager_client.get("/admin/inquiries/?status=closed").get_data(as_text=True)
    assert numbers_on(page) == [a.id]
    assert db.session.get(Inquiry, a.id).merged_into_id == b.id


def test_due_times_show_the_day_they_close(manager_client, users):
    """A due time is the midnight ending its day: the queue and the page show that day."""
    from datetime import UTC, datetime

    item = make_inquiry(received_at=datetime(2026, 12, 7, 1, 0, tzinfo=UTC))  # Mon 10:00 JST
    db.session.commit()
    assert item.first_response_due_at == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # Wed 0:00
    headers = {"Accept-Language": "en"}
    queue = manager_client.get("/admin/inquiries/?status=all", headers=headers)
    assert "by Dec 8, 2026" in queue.get_data(as_text=True)
    page = manager_client.get(f"/admin/inquiries/{item.id}", headers=headers)
    assert "by the end of Dec 8, 2026" in page.get_data(as_text=True)
    assert "Dec 9, 2026" not in page.get_data(as_text=True).split("Resolution due")[0]
