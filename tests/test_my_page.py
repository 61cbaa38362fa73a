"""The resident's own pages: My page, profile, data download and deletion."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import User
from portal.engagement.models import EngagementScore, ScoreSnapshot
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.mail.outbox import queue_email
from portal.residents.models import Resident
from portal.services.models import UsageEvent
from portal.timeutil import local_today
from tests import factories
from tests.conftest import TEST_PASSWORD, register

EN = {"Accept-Language": "en"}


def my_record(users, **values) -> Resident:
    values.setdefault("email", "me@example.org")
    return factories.resident(user_id=users["resident"].id,
                              birth_year=local_today().year - 45, district="川辺", **values)


def test_registration_creates_the_residents_own_record(client):
    register(client, display_name="Mina", email="mina@example.org",
             password="paper cranes fly")
    user = db.session.scalar(select(User).where(User.email == "mina@example.org"))
    record = db.session.scalar(select(Resident).where(Resident.user_id == user.id))
    assert record.given_name == "Mina" and record.external_id is None
    assert record.consent_outreach is False and record.consent_profiling is False
    html = client.get("/my/", headers=EN).get_data(as_text=True)
    assert "No use of a city service has been recorded for you yet" in html


def test_my_page_shows_services_used_and_recent_activity(resident_client, users, catalogue):
    me = my_record(users)
    factories.events(me, "library-loans", 3, days_ago=2)
    factories.events(me, "waste-sorting-app", 1, days_ago=10, channel="mobile")
    other = factories.resident()
    factories.events(other, "sports-facility-booking", 2)
    db.session.commit()
    html = resident_client.get("/my/", headers=EN).get_data(as_text=True)
    loans, app_ = factories.service("library-loans"), factories.service("waste-sorting-app")
    assert loans.name_en in html and app_.name_en in html
    assert factories.service("sports-facility-booking").name_en not in html.split(
        "Services you may be eligible for")[0]
    assert "Mobile app" in html
    assert html.index(loans.name_en) < html.index(app_.name_en)  # most recent first


def test_my_page_suggests_services_the_resident_is_eligible_for(resident_client, users,
                                                                catalogue):
    me = my_record(users)  # 45 years old, 川辺
    child = factories.resident(birth_year=local_today().year - 2, given_name="陽菜")
    factories.household(me, child)
    factories.events(me, "specific-health-checkup", 1)
    db.session.commit()
    html = resident_client.get("/my/", headers=EN).get_data(as_text=True)
    suggestions = html.split("Services you may be eligible for")[1]
    assert factories.service("infant-health-checkup").name_en in suggestions  # child under 4
    assert factories.service("recycling-station").name_en in suggestions  # district rule
    assert factories.service("senior-bus-pass").name_en not in suggestions  # too young
    # already used: not suggested again
    assert factories.service("specific-health-checkup").name_en not in suggestions


def test_my_page_query_count_does_not_grow_with_history(resident_client, users, catalogue,
                                                        count_queries):
    me = my_record(users)
    factories.events(me, "library-loans", 10)
    db.session.commit()

    def queries():
        with count_queries() as counter:
            assert resident_client.get("/my/").status_code == 200
        return counter.count

    few = queries()
    factories.events(me, "library-loans", 600)
    factories.events(me, "waste-sorting-app", 390, channel="mobile")
    db.session.commit()
    assert queries() == few


def profile_data(**overrides):
    data = {"family_name": "Tanaka", "given_name": "Emma", "family_name_kana": "タナカ",
            "given_name_kana": "エマ", "name_latin": "Emma Tanaka", "email": "emma@example.org",
            "phone": "090-1234-5678", "district": "北町", "birth_year": "1990",
            "preferred_locale": "en", "preferred_channels": ["email", "letter"],
            "consent_outreach": "y", "consent_profiling": "y"}
    data.update(overrides)
    return data


def test_profile_changes_are_saved_and_audited(resident_client, users, catalogue):
    me = my_record(users)
    db.session.commit()
    response = resident_client.post("/my/profile", data=profile_data(), headers=EN,
                                    follow_redirects=True)
    assert "Your profile has been saved." in response.get_data(as_text=True)
    db.session.refresh(me)
    assert (me.family_name, me.district, me.birth_year) == ("Tanaka", "北町", 1990)
    assert me.preferred_channels == ["email", "letter"]
    assert me.consent_outreach is True and me.do_not_contact is False
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.update"))
    assert entry.actor_id == users["resident"].id
    assert "district" in entry.data["fields"]
    assert entry.data["consents"]["consent_outreach"] == [False, True]


def test_profile_rejects_bad_input(resident_client, users, catalogue):
    my_record(users)
    db.session.commit()
    for field, value, message in [
        ("birth_year", "1850", "Enter a year between 1900 and this year."),
        ("email", "not-an-address", "Enter a valid e-mail address."),
        ("district", "Atlantis", "Not a valid choice"),
        ("given_name", "", "This field is required."),
        ("preferred_channels", ["pigeon"], "is not a valid choice"),
    ]:
        html = resident_client.post("/my/profile", data=profile_data(**{field: value}),
                                    headers=EN).get_data(as_text=True)
        assert message in html, field


def test_staff_cannot_use_the_residents_pages(staff_client):
    assert staff_client.get("/my/").status_code == 403


def test_download_contains_my_data_and_nobody_elses(resident_client, users, catalogue):
    me = my_record(users)
    factories.events(me, "library-loans", 2, note="returned late")
    stranger = factories.resident(family_name="他人", email="stranger@example.org")
    factories.events(stranger, "library-loans", 5, note="stranger's note")
    queue_email(to=users["resident"].email, subject="Reminder", body="x", locale="en",
                purpose="t", user=users["resident"])
    # a contact address is no proof of ownership: another account's mail stays out
    me.email = "stranger@example.org"
    queue_email(to="stranger@example.org", subject="Secret", body="x", locale="en",
                purpose="t", user=users["staff"])
    db.session.commit()
    response = resident_client.post("/my/data/export")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {"README.txt", "profile.json", "usage_events.csv",
                                       "usage_events.json", "messages.csv", "access_log.csv"}
    profile = json.loads(archive.read("profile.json"))
    assert profile["resident"]["email"] == "stranger@example.org"
    assert profile["account"]["email"] == users["resident"].email
    events = json.loads(archive.read("usage_events.json"))
    assert len(events) == 2 and events[0]["note"] == "returned late"
    everything = b"".join(archive.read(name) for name in archive.namelist()
                          if name != "profile.json").decode("utf-8")
    assert "他人" not in everything and "Secret" not in everything
    assert "stranger's note" not in everything
    assert "Reminder" in archive.read("messages.csv").decode("utf-8-sig")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.export"))


def test_deleting_the_account_leaves_no_personal_data(resident_client, users, catalogue):
    """A self-registered record is the account's own: it is erased with it (a register
    record is not: see tests/test_linking.py)."""
    user = users["resident"]
    user_id, user_email = user.id, user.email
    me = my_record(users, external_id=None)
    me.phone, me.name_latin = "090-0000-1111", "Hanako Sato"
    factories.household(me, factories.resident())
    factories.events(me, "library-loans", 3, note="asked about large print")
    queue_email(to="me@example.org", subject="Hello", body="x", locale="ja", purpose="t",
                user=user)
    other = queue_email(to="me@example.org", subject="Not mine", body="x", locale="ja",
                        purpose="t", user=users["staff"])
    factories.events(me, "library-loans", 1)
    me.consent_profiling = True
    from portal.engagement import scoring
    from portal.timeutil import local_today
    scoring.recompute(local_today())
    db.session.commit()
    other_id = other.id
    resident_client.post("/account/login", data={"email": "x@example.org", "password": "y"})

    wrong = resident_client.post("/my/data/delete", data={"password": "nope",
                                                          "understood": "y"}, headers=EN)
    assert wrong.status_code == 400
    assert "Your password is not correct." in wrong.get_data(as_text=True)
    unconfirmed = resident_client.post("/my/data/delete", data={"password": TEST_PASSWORD},
                                       headers=EN)
    assert "Please confirm that you understand." in unconfirmed.get_data(as_text=True)

    response = resident_client.post("/my/data/delete", data={
        "password": TEST_PASSWORD, "understood": "y"}, headers=EN, follow_redirects=True)
    assert "Your account has been deleted" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    record = db.session.get(Resident, me.id)
    personal = [record.family_name, record.given_name, record.family_name_kana,
                record.given_name_kana, record.name_latin, record.email, record.phone,
                record.external_id, record.user_id, record.household_id]
    assert all(not value for value in personal)
    assert record.anonymised_at is not None and record.birth_year % 10 == 0
    # usage stays for statistics, without notes
    notes = db.session.scalars(select(UsageEvent.note).where(UsageEvent.resident_id == me.id))
    assert set(notes) == {None}
    assert [m.id for m in db.session.scalars(select(OutboundMessage))] == [other_id]
    assert db.session.scalar(select(func.count()).select_from(EngagementScore).where(
        EngagementScore.resident_id == me.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(ScoreSnapshot).where(
        ScoreSnapshot.resident_id == me.id)) == 0
    keys = db.session.scalars(select(UsageEvent.idempotency_key).where(
        UsageEvent.resident_id == me.id))
    assert all(key.startswith("erased-") for key in keys)
    labels = db.session.scalars(select(AuditEntry.actor_label).where(
        AuditEntry.actor_label.is_not(None)))
    assert user_email not in set(labels)
    assert resident_client.get("/my/").status_code == 302  # signed out


def test_erased_records_disappear_from_staff_search(resident_client, staff_client, users,
                                                     catalogue):
    me = my_record(users, external_id=None)
    db.session.commit()
    resident_client.post("/my/data/delete", data={"password": TEST_PASSWORD,
                                                  "understood": "y"})
    html = staff_client.get("/admin/residents/", query_string={"q": "佐藤"}).get_data(
        as_text=True)
    assert f"/admin/residents/{me.id}" not in html
    assert staff_client.get(f"/admin/residents/{me.id}").status_code == 404
