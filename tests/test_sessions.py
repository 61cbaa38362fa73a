"""Sign-ins the server can end: sign-out, "sign out other devices", an
administrator's "sign out everywhere", and what the check costs per request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth import sessions
from portal.auth.models import UserSession
from portal.extensions import db
from tests import factories
from tests.conftest import TEST_PASSWORD, sign_in

EN = {"Accept-Language": "en"}
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


def sign_in_by_form(app, user, *, ip="192.0.2.10", agent=FIREFOX):
    client = app.test_client()
    response = client.post("/account/login", data={"email": user.email,
                                                   "password": TEST_PASSWORD},
                           environ_base={"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent})
    assert response.status_code == 302
    return client


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_cookie_copied_before_sign_out_opens_nothing_afterwards(app, users, catalogue):
    factories.resident(user_id=users["resident"].id, email="me@example.org")
    db.session.commit()
    client = sign_in_by_form(app, users["resident"])
    thief = copy_of(app, client)
    assert thief.get("/my/").status_code == 200  # the copy works while signed in

    client.post("/account/logout", headers=EN)

    assert thief.get("/my/").status_code == 302
    export = thief.post("/my/data/export")
    assert export.status_code == 302 and "/account/login" in export.headers["Location"]
    assert client.get("/my/").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == users["resident"].id)) == 0


def test_settings_list_the_sign_ins_and_mark_this_one(app, users):
    here = sign_in_by_form(app, users["resident"], ip="192.0.2.10", agent=FIREFOX)
    sign_in_by_form(app, users["resident"], ip="198.51.100.7", agent=IPHONE)
    page = here.get("/account/settings", headers=EN).get_data(as_text=True)
    assert "Where you are signed in" in page
    assert "Firefox on Windows" in page and "Safari on iOS" in page
    assert "192.0.2.10" in page and "198.51.100.7" in page
    assert page.count("This device") == 1
    firefox_row = page.split("Firefox on Windows")[1].split("</li>\n")[0]
    assert "This device" in firefox_row and "Sign out this device" not in firefox_row
    assert page.count("Sign out this device") == 1
    assert "Sign out all other devices" in page


def test_signing_out_the_other_devices_ends_them(app, users):
    here = sign_in_by_form(app, users["resident"])
    phone = sign_in_by_form(app, users["resident"], ip="198.51.100.7", agent=IPHONE)
    tablet = sign_in_by_form(app, users["resident"], ip="198.51.100.8", agent=IPHONE)
    response = here.post("/account/sessions/end-others", headers=EN, follow_redirects=True)
    assert "2 other devices have been signed out." in response.get_data(as_text=True)
    assert phone.get("/account/settings").status_code == 302
    assert tablet.get("/account/settings").status_code == 302
    assert here.get("/account/settings").status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "auth.sessions_ended"))
    assert entry.actor_id == users["resident"].id and entry.data == {"sessions": 2}


def test_signing_out_one_device(app, users, make_user):
    here = sign_in_by_form(app, users["resident"])
    phone = sign_in_by_form(app, users["resident"], ip="198.51.100.7", agent=IPHONE)
    laptop = sign_in_by_form(app, users["resident"], ip="198.51.100.9")
    phone_row = db.session.scalar(select(UserSession).where(
        UserSession.ip_address == "198.51.100.7"))
    response = here.post(f"/account/sessions/{phone_row.id}/end", headers=EN,
                         follow_redirects=True)
    assert "That device has been signed out." in response.get_data(as_text=True)
    assert phone.get("/account/settings").status_code == 302
    assert laptop.get("/account/settings").status_code == 200

    # nobody ends another person's sign-in, nor their own current one this way
    stranger = sign_in_by_form(app, make_user(email="stranger@example.org"))
    laptop_row = db.session.scalar(select(UserSession).where(
        UserSession.ip_address == "198.51.100.9"))
    assert stranger.post(f"/account/sessions/{laptop_row.id}/end").status_code == 404
    assert laptop.get("/account/settings").status_code == 200
    assert laptop.post(f"/account/sessions/{laptop_row.id}/end").status_code == 404


@pytest.mark.usefixtures("csrf_on")
def test_ending_sign_ins_needs_the_csrf_token(app, users):
    here = sign_in(app.test_client(), users["resident"])
    other = sign_in(app.test_client(), users["resident"], ip="198.51.100.7")
    assert here.post("/account/sessions/end-others").status_code == 400
    assert other.get("/account/settings").status_code == 200


def test_an_admin_signs_a_staff_account_out_everywhere(app, users, admin_client):
    staff = users["staff"]
    desk = sign_in_by_form(app, staff)
    lost_phone = sign_in_by_form(app, staff, ip="198.51.100.7", agent=IPHONE)
    page = admin_client.get(f"/admin/accounts/{staff.id}", headers=EN).get_data(as_text=True)
    assert "2 active sign-ins" in page and "Sign out everywhere" in page

    response = admin_client.post(f"/admin/accounts/{staff.id}/sign-out-everywhere",
                                 headers=EN, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert f"{staff.email} has been signed out everywhere (2 active sign-ins ended)." in body
    assert "No active sign-ins." in body
    assert desk.get("/admin/").status_code == 302
    assert lost_phone.get("/admin/").status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "auth.signed_out_everywhere"))
    assert entry.actor_id == users["admin"].id and entry.target_id == str(staff.id)
    assert entry.data == {"sessions": 2}
    # the password still works: the staff member simply signs in again
    assert sign_in_by_form(app, staff).get("/admin/").status_code == 200


def test_an_admin_cannot_sign_themself_out_everywhere_from_the_console(users, admin_client):
    admin = users["admin"]
    response = admin_client.post(f"/admin/accounts/{admin.id}/sign-out-everywhere",
                                 headers=EN, follow_redirects=True)
    assert "use your account settings" in response.get_data(as_text=True)
    assert admin_client.get("/admin/").status_code == 200
    assert "auth.signed_out_everywhere" not in actions()


@pytest.mark.usefixtures("csrf_on")
def test_sign_out_everywhere_needs_the_csrf_token(app, users, admin_client):
    desk = sign_in(app.test_client(), users["staff"])
    response = admin_client.post(f"/admin/accounts/{users['staff'].id}/sign-out-everywhere")
    assert response.status_code == 400
    assert desk.get("/admin/").status_code == 200


def test_deactivating_ends_every_sign_in(app, users, admin_client):
    staff = users["staff"]
    desk = sign_in_by_form(app, staff)
    admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "staff", "department_id": staff.department_id, "active": ""})
    assert desk.get("/admin/").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == staff.id)) == 0


def test_a_sign_in_expires_when_unused_for_the_session_lifetime(app, users, monkeypatch):
    client = sign_in_by_form(app, users["resident"])
    assert client.get("/account/settings").status_code == 200
    later = sessions.utcnow() + timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"],
                                          minutes=6)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert client.get("/account/settings").status_code == 302
    # and it is no longer listed
    assert sessions.active(users["resident"]) == []


def test_a_login_id_from_before_sign_ins_had_keys_is_refused(app, users):
    client = app.test_client()
    user = users["resident"]
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{user.session_nonce}"
    assert client.get("/account/settings").status_code == 302


def test_the_sign_in_check_adds_no_query_and_writes_rarely(app, users, count_queries,
                                                           monkeypatch):
    client = sign_in_by_form(app, users["resident"])
    anonymous = app.test_client()
    client.get("/services/")
    anonymous.get("/services/")
    with count_queries() as signed_in:
        assert client.get("/services/").status_code == 200
    with count_queries() as visitor:
        assert anonymous.get("/services/").status_code == 200
    assert signed_in.count <= visitor.count + 1  # the user and the sign-in in one query
    lookups = [s for s in signed_in.statements if "user_sessions" in s]
    assert len(lookups) == 1 and "users" in lookups[0]
    assert not [s for s in signed_in.statements if s.lstrip().upper().startswith(
        ("UPDATE", "INSERT", "DELETE"))]

    row = db.session.scalar(select(UserSession).where(
        UserSession.user_id == users["resident"].id))
    seen = row.last_seen_at
    later = sessions.utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    with count_queries() as after_a_while:
        client.get("/services/")
    assert len([s for s in after_a_while.statements
                if s.lstrip().upper().startswith("UPDATE USER_SESSIONS")]) == 1
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).last_seen_at > seen
    with count_queries() as next_request:
        client.get("/services/")
    assert not [s for s in next_request.statements if s.lstrip().upper().startswith("UPDATE")]


def test_password_reset_ends_every_sign_in(app, users):
    user = users["resident"]
    sign_in_by_form(app, user)
    sign_in(app.test_client(), user)
    from portal.auth import accounts

    accounts.set_password(user, "a completely new phrase", actor=user,
                          action="auth.password_reset")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id)) == 0


@pytest.mark.parametrize("agent, expected", [
    (FIREFOX, "Firefox on Windows"),
    (IPHONE, "Safari on iOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on macOS"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown device"),
    (None, "Unknown device"),
])
def test_devices_are_described_briefly(app, agent, expected):
    with app.test_request_context(headers=EN):
        assert sessions.describe_device(agent) == expected

