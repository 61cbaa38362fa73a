"""Linking a resident's account to a register record (attack review, finding 1):
its own permission, a recorded identity check, one account per record, unlinking,
and an account deletion that never erases the register record."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role, User
from portal.extensions import db
from portal.permissions import can_link_accounts, can_unlink_accounts
from portal.residents.models import Resident
from portal.services.models import UsageEvent
from tests import factories
from tests.conftest import TEST_PASSWORD, register, sign_in

EN = {"Accept-Language": "en"}
#: the resident's profile form as the register record shows it after linking
PROFILE = {"given_name": "葵", "family_name": "青木", "family_name_kana": "サトウ",
           "given_name_kana": "ハナコ", "email": "aoi@example.org", "district": "中央",
           "birth_year": "1980", "preferred_locale": "en", "preferred_channels": ["email"]}
CHECK = {"identity_method": "my_number_card", "identity_note": "shown at the Chuo counter"}


def register_online(client, email="aoi@example.org", name="Aoi") -> Resident:
    register(client, display_name=name, email=email, password=TEST_PASSWORD)
    return db.session.scalar(select(Resident).where(Resident.email == email))


def test_linking_without_an_identity_check_is_refused(staff_client, client, catalogue):
    register_online(client)
    register = factories.resident(family_name="青木", given_name="葵", phone="03-1234-5678")
    db.session.commit()
    response = staff_client.post(f"/admin/residents/{register.id}/link",
                                 data={"email": "aoi@example.org"}, headers=EN)
    assert response.status_code == 400
    assert "Say how you checked the resident's identity." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, register.id).user_id is None

    other = staff_client.post(f"/admin/residents/{register.id}/link", data={
        "email": "aoi@example.org", "identity_method": "other"}, headers=EN)
    assert "Describe the check in the note." in other.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, register.id).user_id is None


def test_a_link_records_who_checked_identity_and_how(staff_client, client, users, catalogue):
    register_online(client)
    register = factories.resident()
    db.session.commit()
    response = staff_client.post(f"/admin/residents/{register.id}/link", data={
        "email": "aoi@example.org", **CHECK}, headers=EN, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "is now linked to this record" in html
    assert f"linked by {users['staff'].display_name}" in html
    db.session.expire_all()
    register = db.session.get(Resident, register.id)
    assert register.user.email == "aoi@example.org"
    assert register.linked_by_id == users["staff"].id and register.linked_at is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.link"))
    assert entry.actor_id == users["staff"].id
    assert entry.data["identity_check"] == {"method": "my_number_card",
                                            "note": "shown at the Chuo counter"}


def test_link_permission_is_its_own(users):
    assert can_link_accounts(users["staff"]) and can_link_accounts(users["manager"])
    assert not can_link_accounts(users["official"]) and not can_link_accounts(users["resident"])
    assert not can_unlink_accounts(users["staff"])
    assert can_unlink_accounts(users["manager"]) and can_unlink_accounts(users["admin"])
    users["staff"].department_id = None  # staff without a department cannot link
    assert not can_link_accounts(users["staff"])


def test_a_record_with_an_account_is_never_given_another(app, staff_client, client,
                                                         catalogue):
    register_online(client, "first@example.org")
    register_online(app.test_client(), "second@example.org")
    register = factories.resident()
    db.session.commit()
    staff_client.post(f"/admin/residents/{register.id}/link",
                      data={"email": "first@example.org", **CHECK})
    response = staff_client.post(f"/admin/residents/{register.id}/link",
                                 data={"email": "second@example.org", **CHECK}, headers=EN)
    assert response.status_code == 400
    assert "already linked to another account" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, register.id).user.email == "first@example.org"
    # nor is an account that has a register record linked to a second one
    second = factories.resident()
    db.session.commit()
    again = staff_client.post(f"/admin/residents/{second.id}/link",
                              data={"email": "first@example.org", **CHECK}, headers=EN)
    assert "already linked to register record" in again.get_data(as_text=True)


def test_merging_cannot_attach_an_account_to_a_register_record(manager_client, client,
                                                              catalogue):
    self_record = register_online(client)
    register = factories.resident()
    db.session.commit()
    for keep, drop in ((register, self_record), (self_record, register)):
        response = manager_client.post(f"/admin/residents/{keep.id}/merge",
                                       data={"other": str(drop.id)}, headers=EN)
        assert response.status_code == 400
        assert "Link the account instead" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, register.id).user_id is None
    assert db.session.get(Resident, self_record.id) is not None


def test_managers_unlink_and_the_account_gets_its_own_record_back(
        staff_client, manager_client, client, users, catalogue):
    register_online(client)
    register = factories.resident(family_name="青木", given_name="葵", phone="03-1234-5678",
                                  email=None)
    db.session.commit()
    staff_client.post(f"/admin/residents/{register.id}/link",
                      data={"email": "aoi@example.org", **CHECK})
    client.post("/my/profile", data={**PROFILE, "phone": "090-9999-0000"})
    db.session.expire_all()
    assert db.session.get(Resident, register.id).phone == "090-9999-0000"

    page = manager_client.get(f"/admin/residents/{register.id}", headers=EN)
    assert "Unlink account" in page.get_data(as_text=True)
    assert "Unlink account" not in staff_client.get(
        f"/admin/residents/{register.id}", headers=EN).get_data(as_text=True)
    assert staff_client.post(f"/admin/residents/{register.id}/unlink",
                             data={"reason": "x"}).status_code == 403
    refused = manager_client.post(f"/admin/residents/{register.id}/unlink", headers=EN)
    assert refused.status_code == 400
    assert "Give a reason." in refused.get_data(as_text=True)

    response = manager_client.post(f"/admin/residents/{register.id}/unlink",
                                   data={"reason": "linked to the wrong person"}, headers=EN,
                                   follow_redirects=True)
    assert "The account is no longer linked to this record." in response.get_data(as_text=True)
    db.session.expire_all()
    register = db.session.get(Resident, register.id)
    account = db.session.scalar(select(User).where(User.email == "aoi@example.org"))
    assert register.user_id is None and register.linked_by_id is None
    assert register.external_id and register.family_name == "青木"  # the register's data
    assert register.email is None  # the address came from the account: it went with it
    assert register.phone is None  # the resident's own number is not the register's
    own = db.session.scalar(select(Resident).where(Resident.user_id == account.id))
    assert own.id != register.id and own.external_id is None
    assert own.email == "aoi@example.org" and own.phone == "090-9999-0000"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.unlink"))
    assert entry.actor_id == users["manager"].id
    assert entry.data["reason"] == "linked to the wrong person"
    assert entry.data["user_id"] == account.id
    # the resident's My page shows their own record, not the register's
    html = client.get("/my/profile", headers=EN).get_data(as_text=True)
    assert register.external_id not in html and "090-9999-0000" in html


def test_a_self_registered_record_cannot_be_unlinked(manager_client, client, catalogue):
    self_record = register_online(client)
    db.session.commit()
    response = manager_client.post(f"/admin/residents/{self_record.id}/unlink",
                                   data={"reason": "test"}, headers=EN)
    assert response.status_code == 400
    assert "not linked to a register record" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, self_record.id).user_id is not None


def test_deleting_the_account_keeps_the_register_record(staff_client, client, users,
                                                         catalogue):
    register_online(client)
    register = factories.resident(family_name="青木", given_name="葵", phone="03-1234-5678",
                                  email=None, name_latin="")
    factories.events(register, "library-loans", 2, note="large print")
    factories.events(register, "cancer-screening", 1, note="follow-up booked")
    db.session.commit()
    external_id, register_id = register.external_id, register.id
    staff_client.post(f"/admin/residents/{register.id}/link",
                      data={"email": "aoi@example.org", **CHECK})
    # the resident adds a Latin name of their own in the portal
    client.post("/my/profile", data={**PROFILE, "phone": "03-1234-5678",
                                     "name_latin": "Aoi Aoki"})
    account_id = db.session.scalar(select(User.id).where(User.email == "aoi@example.org"))
    page = client.get("/my/data", headers=EN).get_data(as_text=True)
    assert f"comes from the municipal register (number {external_id})" in page
    assert "Your name, contact details, register number" not in page

    response = client.post("/my/data/delete", data={"password": TEST_PASSWORD,
                                                    "understood": "y"}, headers=EN,
                           follow_redirects=True)
    assert "what you entered removed from your resident record" in response.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(User, account_id) is None
    kept = db.session.get(Resident, register_id)
    assert kept.anonymised_at is None and kept.user_id is None
    assert (kept.external_id, kept.family_name, kept.given_name) == (external_id, "青木", "葵")
    assert kept.phone == "03-1234-5678"  # unchanged by the resident: the register's own
    assert kept.name_latin == "" and kept.email is None  # supplied by the resident: erased
    notes = set(db.session.scalars(select(UsageEvent.note).where(
        UsageEvent.resident_id == register_id)))
    assert notes == {"large print", "follow-up booked"}  # the departments' records stay
    assert db.session.scalar(select(func.count()).select_from(Resident).where(
        Resident.user_id == account_id)) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.erase"))
    assert entry.data == {"kept_register_record": True, "fields": ["email", "name_latin"]}
    # staff still find and open the register record
    html = staff_client.get("/admin/residents/", query_string={"q": "青木"}).get_data(
        as_text=True)
    assert f"/admin/residents/{register_id}" in html
    assert staff_client.get(f"/admin/residents/{register_id}").status_code == 200


def test_an_attacker_account_linked_by_staff_cannot_read_or_erase_without_a_check(
        app, make_user, client, catalogue):
    """The reproduction: a staff member links their friend's account to someone's register
    record without any identity check, and the friend exports and deletes it."""
    library_staff = make_user(Role.STAFF, department=catalogue["library"])
    staff = sign_in(app.test_client(), library_staff)
    register_online(client, "attacker@example.org", "Mallory")
    victim = factories.resident(family_name="被害", given_name="者", phone="090-1111-1111")
    factories.events(victim, "cancer-screening", 1)
    db.session.commit()
    staff.post(f"/admin/residents/{victim.id}/link", data={"email": "attacker@example.org"})
    export = client.post("/my/data/export")
    assert b"090-1111-1111" not in export.data
    client.post("/my/data/delete", data={"password": TEST_PASSWORD, "understood": "y"})
    db.session.expire_all()
    victim = db.session.get(Resident, victim.id)
    assert victim.external_id and victim.family_name == "被害" and victim.anonymised_at is None
