"""The admin console: staff accounts and the audit log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.audit.recording import record
from portal.auth.models import Role, User
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow
from tests.conftest import TEST_PASSWORD, sign_in
from tests.test_auth import reset_link

EN = {"Accept-Language": "en"}


def test_console_navigation_fits_the_role(role_client):
    admin = role_client("admin").get("/admin/", headers=EN).get_data(as_text=True)
    assert "Staff accounts" in admin and "Audit log" in admin
    for role in ("staff", "manager", "official"):
        page = role_client(role).get("/admin/", headers=EN).get_data(as_text=True)
        assert "Console home" in page
        assert "Staff accounts" not in page and "Audit log" not in page


def test_admin_creates_a_staff_account_with_an_invitation(app, admin_client, catalogue,
                                                          outbox_dir):
    response = admin_client.post("/admin/accounts/new", data={
        "display_name": "Kenji Mori", "email": "kenji@city.example", "role": "staff",
        "department_id": catalogue["library"].id, "locale": "en"}, headers=EN,
        follow_redirects=True)
    assert "An invitation to choose a password was sent to kenji@city.example" in \
        response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "kenji@city.example"))
    assert user.role == Role.STAFF and user.department.code == "library"
    invitation = db.session.scalar(select(OutboundMessage).where(
        OutboundMessage.to_address == "kenji@city.example"))
    assert invitation.locale == "en" and invitation.subject.startswith("Your account")
    # the working link is in the delivered e-mail, not kept in the outbox afterwards
    assert "/account/invitation/" not in invitation.body_text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.create"))
    assert entry.target_id == str(user.id)

    link = reset_link(outbox_dir, invitation)
    assert link.startswith("/account/invitation/")
    colleague = app.test_client()
    assert "Choose your password" in colleague.get(link, headers=EN).get_data(as_text=True)
    colleague.post(link, data={"password": "library stacks at noon",
                               "confirm": "library stacks at noon"}, headers=EN)
    response = colleague.post("/account/login", data={"email": "kenji@city.example",
                                                      "password": "library stacks at noon"})
    assert response.headers["Location"] == "/admin/"
    again = app.test_client().get(link, headers=EN, follow_redirects=True)
    assert "not valid or has already been used" in again.get_data(as_text=True)


def test_invited_account_cannot_sign_in_before_choosing_a_password(admin_client, catalogue,
                                                                  client):
    admin_client.post("/admin/accounts/new", data={
        "display_name": "Pending", "email": "pending@city.example", "role": "official",
        "department_id": 0, "locale": "ja"})
    response = client.post("/account/login", data={"email": "pending@city.example",
                                                   "password": "!anything at all"}, headers=EN)
    assert "The e-mail address or password is not correct." in response.get_data(as_text=True)


def test_staff_accounts_need_a_department(admin_client, catalogue):
    response = admin_client.post("/admin/accounts/new", data={
        "display_name": "No Dept", "email": "nodept@city.example", "role": "staff",
        "department_id": 0, "locale": "ja"}, headers=EN)
    assert "Staff accounts need a department." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "nodept@city.example")) is None


def test_duplicate_staff_email_is_refused(admin_client, users):
    response = admin_client.post("/admin/accounts/new", data={
        "display_name": "Dup", "email": users["manager"].email.upper(), "role": "manager",
        "department_id": 0, "locale": "ja"}, headers=EN)
    assert "already exists" in response.get_data(as_text=True)


def test_role_change_is_audited(admin_client, users, catalogue):
    staff = users["staff"]
    admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "manager", "department_id": catalogue["health"].id, "active": "y"})
    db.session.refresh(staff)
    assert staff.role == Role.MANAGER and staff.department.code == "health"
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "account.role_change"))
    assert entry.data["before"]["role"] == "staff" and entry.data["after"]["role"] == "manager"
    assert entry.actor_id == users["admin"].id


def test_deactivation_signs_the_account_out_and_blocks_sign_in(app, admin_client, users, client):
    staff = users["staff"]
    staff_session = sign_in(app.test_client(), staff)
    assert staff_session.get("/admin/").status_code == 200
    admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "staff", "department_id": staff.department_id})  # active unchecked
    db.session.refresh(staff)
    assert staff.active is False
    assert staff_session.get("/admin/").status_code == 302
    response = client.post("/account/login", data={"email": staff.email,
                                                   "password": TEST_PASSWORD}, headers=EN)
    assert "The e-mail address or password is not correct." in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.deactivate"))


def test_admin_cannot_lock_themselves_out(admin_client, users):
    admin = users["admin"]
    response = admin_client.post(f"/admin/accounts/{admin.id}", data={
        "role": "official", "department_id": 0, "active": "y"}, headers=EN,
        follow_redirects=True)
    assert "You cannot change your own role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN


def test_resident_accounts_are_not_edited_in_the_staff_screen(admin_client, users):
    response = admin_client.get(f"/admin/accounts/{users['resident'].id}")
    assert response.status_code == 302


def test_account_list_filters(admin_client, users, catalogue):
    page = admin_client.get("/admin/accounts", query_string={"role": "staff"}, headers=EN)
    html = page.get_data(as_text=True)
    assert users["staff"].email in html and users["manager"].email not in html
    assert users["resident"].email not in html
    html = admin_client.get("/admin/accounts", query_string={"q": "official"}).get_data(
        as_text=True)
    assert users["official"].email in html and users["staff"].email not in html


def test_audit_log_filters_by_actor_action_and_date(admin_client, users):
    old = record("resident.view", actor=users["staff"], target=("residents", 7),
                 summary="Viewed resident")
    old.occurred_at = utcnow() - timedelta(days=40)
    record("account.settings", actor=users["manager"], target=users["manager"],
           summary="Account settings changed")
    db.session.commit()

    def body(response):
        return response.get_data(as_text=True).split("<tbody>")[1]

    html = body(admin_client.get("/admin/audit", query_string={
        "actor": users["staff"].email}))
    assert "Viewed resident" in html and "Account settings changed" not in html

    html = body(admin_client.get("/admin/audit", query_string={
        "action": "account.settings"}))
    assert "Account settings changed" in html and "Viewed resident" not in html

    since = (utcnow() - timedelta(days=10)).date().isoformat()
    html = body(admin_client.get("/admin/audit", query_string={"date_from": since}))
    assert "Account settings changed" in html and "Viewed resident" not in html


def test_audit_log_rejects_reversed_dates(admin_client):
    response = admin_client.get("/admin/audit", headers=EN, query_string={
        "date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_account_list_query_count_is_flat(admin_client, make_user, catalogue, count_queries):
    def queries() -> int:
        with count_queries() as counter:
            assert admin_client.get("/admin/accounts").status_code == 200
        return counter.count

    make_user(Role.STAFF, department=catalogue["health"])
    few = queries()
    for code in ("citizens", "welfare", "sports", "library", "environment"):
        for _ in range(4):
            make_user(Role.STAFF, department=catalogue[code])
    assert queries() == few
