"""Registration, sign-in and out, password reset and account settings."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth import tokens
from portal.auth.models import Role, User
from portal.extensions import db
from portal.mail.models import MessageStatus, OutboundMessage
from tests.conftest import TEST_PASSWORD, sign_in

EN = {"Accept-Language": "en"}
STRONG = "a quiet river at dawn"


def register(client, **overrides):
    data = {"display_name": "Aiko Tanaka", "email": "aiko@example.org", "locale": "en"}
    data.update(overrides)
    return client.post("/account/register", data=data, headers=EN, follow_redirects=True)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def mail_to(outbox_dir, address: str) -> list[tuple[OutboundMessage, str]]:
    """The messages sent to ``address``, each with its delivered body."""
    found = []
    for message in db.session.scalars(select(OutboundMessage).where(
            OutboundMessage.to_address == address).order_by(OutboundMessage.id)):
        path = outbox_dir / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
        email = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append((message, email.get_body().get_content()))
    return found


def link_in(body: str) -> str:
    return re.search(r"http://localhost(/account/\S+)", body).group(1)


def finish(client, link: str, password: str = STRONG):
    return client.post(link, data={"password": password, "confirm": password}, headers=EN,
                       follow_redirects=True)


def test_register_sends_a_link_that_creates_the_account(client, outbox_dir):
    response = register(client)
    assert response.status_code == 200
    assert "Check your e-mail" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "aiko@example.org")) is None
    [(message, body)] = mail_to(outbox_dir, "aiko@example.org")
    assert message.purpose == "registration" and message.locale == "en"
    assert message.subject == "Finish creating your account"
    assert message.body_text.startswith("[removed after delivery")  # the link is not kept
    link = link_in(body)
    assert link.startswith("/account/register/finish/")

    page = client.get(link, headers=EN).get_data(as_text=True)
    assert "Aiko Tanaka" in page and "aiko@example.org" in page
    response = finish(client, link)
    assert "Your account has been created" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "aiko@example.org"))
    assert user.role == Role.RESIDENT and user.locale == "en"
    assert user.password_hash.startswith("$argon2id$")
    assert {"account.registration_requested", "account.register", "auth.login"} <= set(actions())
    assert "Aiko Tanaka" in client.get("/", headers=EN).get_data(as_text=True)

    again = finish(app_client := client.application.test_client(), link)
    assert "has already been created. Please sign in." in again.get_data(as_text=True)
    assert app_client.get("/account/settings").status_code == 302


def test_register_mail_is_in_the_language_chosen(client, outbox_dir):
    register(client, email="ja@example.org", locale="ja")
    [(message, body)] = mail_to(outbox_dir, "ja@example.org")
    assert message.locale == "ja" and message.subject == "アカウント作成を完了してください"
    assert "/account/register/finish/" in body


def test_register_answers_the_same_for_an_address_that_has_an_account(app, make_user,
                                                                        outbox_dir):
    """Attack finding 5: registration used to say that the address had an account."""
    owner = make_user(email="taken@example.org", locale="ja")
    users_before = db.session.scalar(select(func.count()).select_from(User))
    new = app.test_client().post("/account/register", headers=EN, data={
        "display_name": "New", "email": "fresh@example.org", "locale": "en"})
    taken = app.test_client().post("/account/register", headers=EN, data={
        "display_name": "New", "email": "Taken@Example.org", "locale": "en"})
    assert (new.status_code, new.headers["Location"]) == (taken.status_code,
                                                          taken.headers["Location"])
    assert new.get_data() == taken.get_data()
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before

    [(note, body)] = mail_to(outbox_dir, "taken@example.org")
    assert note.purpose == "registration_existing" and note.user_id == owner.id
    assert note.locale == "ja"  # the owner's language, not the visitor's
    assert note.subject == "あなたのアドレスでアカウントを作成しようとした人がいます"
    assert "http://localhost/account/login" in body
    assert "http://localhost/account/forgot-password" in body
    assert "/account/register/finish/" not in body
    [(link_mail, _)] = mail_to(outbox_dir, "fresh@example.org")
    assert link_mail.purpose == "registration"
    assert "account.registration_existing" in actions()


@pytest.mark.parametrize("password, message", [
    ("short1", "Use at least 10 characters."),
    ("password123", "This password is too common."),
    ("aaaaaaaaaaaa", "Use a mix of different characters."),
    ("xx-aiko-2026-yy", "Do not use your e-mail address in your password."),
])
def test_finishing_registration_refuses_weak_passwords(client, outbox_dir, password, message):
    register(client)
    [(_, body)] = mail_to(outbox_dir, "aiko@example.org")
    response = finish(client, link_in(body), password)
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "aiko@example.org")) is None


def test_finishing_registration_requires_matching_passwords(client, outbox_dir):
    register(client)
    [(_, body)] = mail_to(outbox_dir, "aiko@example.org")
    response = client.post(link_in(body), data={"password": STRONG,
                                                 "confirm": "something else entirely"},
                           headers=EN)
    assert "The two passwords do not match." in response.get_data(as_text=True)


def test_registration_links_expire_and_cannot_be_forged(app, client, monkeypatch):
    with app.test_request_context():
        token = tokens.make_registration_token(tokens.Registration(
            email="late@example.org", display_name="Late", locale="en"))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 25 * 3600)
    response = client.get(f"/account/register/finish/{token}", headers=EN,
                          follow_redirects=True)
    assert "This link has expired. Please register again." in response.get_data(as_text=True)
    monkeypatch.setattr(time, "time", real_time)
    forged = client.get(f"/account/register/finish/{token[:-2]}xx", headers=EN,
                        follow_redirects=True)
    assert "This link is not valid" in forged.get_data(as_text=True)


def test_registration_mail_to_one_address_is_limited(client, outbox_dir):
    statuses = [client.post("/account/register", data={
        "display_name": "Flood", "email": "victim@example.org", "locale": "en"},
        environ_base={"REMOTE_ADDR": f"10.1.0.{n}"}).status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(mail_to(outbox_dir, "victim@example.org")) == 5


def login(client, email, password, **kwargs):
    return client.post("/account/login", data={"email": email, "password": password},
                       headers=EN, **kwargs)


def test_wrong_password_and_unknown_account_get_the_same_message(client, make_user):
    make_user(email="known@example.org")
    wrong = login(client, "known@example.org", "not the password").get_data(as_text=True)
    unknown = login(client, "nobody@example.org", "not the password").get_data(as_text=True)
    message = "The e-mail address or password is not correct."
    assert message in wrong and message in unknown
    failed = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "auth.login_failed")).all()
    assert [entry.data["email"] for entry in failed] == ["known@example.org",
                                                          "nobody@example.org"]


def test_deactivated_account_cannot_sign_in(client, make_user):
    make_user(email="gone@example.org", active=False)
    body = login(client, "gone@example.org", TEST_PASSWORD).get_data(as_text=True)
    assert "The e-mail address or password is not correct." in body


def test_login_rotates_the_session_and_sets_safe_cookies(client, make_user):
    make_user(Role.RESIDENT, email="rot@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = login(client, "rot@example.org", TEST_PASSWORD)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(
            str(db.session.scalar(select(User.id).where(User.email == "rot@example.org"))))


@pytest.mark.parametrize("target, expected", [
    ("/account/settings", "/account/settings"),
    ("//evil.example/steal", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_login_follows_only_same_site_next(client, make_user, target, expected):
    make_user(email="next@example.org")
    response = login(client, "next@example.org", TEST_PASSWORD,
                     query_string={"next": target})
    assert response.headers["Location"] == expected


def test_staff_land_in_the_console(client, users):
    response = login(client, users["staff"].email, TEST_PASSWORD)
    assert response.headers["Location"] == "/admin/"


def test_login_is_rate_limited(client, make_user):
    make_user(email="limited@example.org")
    statuses = [login(client, "limited@example.org", "wrong guess").status_code
                for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    assert "Too many attempts" in login(client, "x@example.org", "y").get_data(as_text=True)


def test_logout_needs_post(resident_client):
    assert resident_client.get("/account/logout").status_code == 405
    response = resident_client.post("/account/logout", headers=EN, follow_redirects=True)
    assert "You have signed out." in response.get_data(as_text=True)
    assert resident_client.get("/account/settings").status_code == 302
    assert "auth.logout" in actions()


@pytest.mark.usefixtures("csrf_on")
def test_logout_without_csrf_token_is_refused(resident_client):
    assert resident_client.post("/account/logout").status_code == 400
    assert resident_client.get("/account/settings").status_code == 200


def reset_link(outbox_dir, message: OutboundMessage) -> str:
    path = outbox_dir / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = email.get_body().get_content()
    return re.search(r"http://localhost(/account/\S+)", body).group(1)


def test_password_reset_by_email_link(app, client, make_user, outbox_dir):
    user = make_user(email="forgot@example.org", locale="ja")
    response = client.post("/account/forgot-password", data={"email": "forgot@example.org"},
                           headers=EN, follow_redirects=True)
    assert "If an account uses this address" in response.get_data(as_text=True)
    message = db.session.scalar(select(OutboundMessage))
    assert message.status == MessageStatus.SENT  # the inline job sent it to the file sink
    assert message.locale == "ja" and message.subject == "パスワードの再設定"
    link = reset_link(outbox_dir, message)

    new_password = "a brand new river song"
    response = client.post(link, data={"password": new_password, "confirm": new_password},
                           headers=EN, follow_redirects=True)
    assert "Your password has been set" in response.get_data(as_text=True)
    assert login(client, "forgot@example.org", new_password).status_code == 302
    db.session.refresh(user)

    again = app.test_client().post(link, data={"password": "yet another long one", "confirm":
                                    "yet another long one"}, headers=EN, follow_redirects=True)
    assert "not valid or has already been used" in again.get_data(as_text=True)


def test_expired_reset_link(app, client, make_user, monkeypatch):
    user = make_user(email="late@example.org")
    with app.test_request_context():
        token = tokens.make_token(user)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 2 * 3600)
    response = client.get(f"/account/reset-password/{token}", headers=EN,
                          follow_redirects=True)
    assert "This link has expired" in response.get_data(as_text=True)


def test_tampered_reset_link(client):
    response = client.get("/account/reset-password/not-a-token", headers=EN,
                          follow_redirects=True)
    assert "not valid or has already been used" in response.get_data(as_text=True)


def test_reset_answers_the_same_and_mails_either_way(app, make_user, outbox_dir):
    """Attack finding 5: reset used to do less work (and answer faster) for unknown
    addresses. Now both queue and send one message and write one audit entry."""
    make_user(email="known@example.org", locale="en")
    make_user(email="off@example.org", active=False)
    answers = [app.test_client().post("/account/forgot-password", data={"email": email},
                                      headers=EN)
               for email in ("known@example.org", "ghost@example.org", "off@example.org")]
    assert len({(a.status_code, a.headers["Location"], a.get_data()) for a in answers}) == 1
    [(reset, body)] = mail_to(outbox_dir, "known@example.org")
    assert reset.purpose == "password_reset" and "/account/reset-password/" in body
    for address in ("ghost@example.org", "off@example.org"):
        [(note, body)] = mail_to(outbox_dir, address)
        assert note.purpose == "password_reset_no_account"
        assert note.subject == "Password reset requested"
        assert "No active account uses this address" in body
        assert "http://localhost/account/register" in body
        assert "/account/reset-password/" not in body
    assert actions().count("auth.password_reset_no_account") == 2
    response = app.test_client().post("/account/forgot-password",
                                      data={"email": "ghost@example.org"}, headers=EN,
                                      follow_redirects=True)
    assert "If an account uses this address" in response.get_data(as_text=True)


def test_settings_change_name_and_language(resident_client, users):
    response = resident_client.post("/account/settings", data={
        "display_name": "New Name", "locale": "ja", "submit": "1"}, follow_redirects=True)
    assert "設定を保存しました" in response.get_data(as_text=True)
    db.session.refresh(users["resident"])
    assert users["resident"].display_name == "New Name"
    assert users["resident"].locale == "ja"


def test_settings_refuse_unknown_language(resident_client):
    response = resident_client.post("/account/settings", data={
        "display_name": "Name", "locale": "xx", "submit": "1"}, headers=EN)
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_change_password_needs_the_current_one(resident_client):
    response = resident_client.post("/account/settings", data={
        "pw-current_password": "wrong", "pw-password": STRONG, "pw-confirm": STRONG,
        "pw-submit": "1"}, headers=EN)
    assert "Your current password is not correct." in response.get_data(as_text=True)


def test_change_password_signs_out_other_sessions(app, resident_client, users):
    other_device = sign_in(app.test_client(), users["resident"])
    assert other_device.get("/account/settings").status_code == 200
    response = resident_client.post("/account/settings", data={
        "pw-current_password": TEST_PASSWORD, "pw-password": STRONG, "pw-confirm": STRONG,
        "pw-submit": "1"}, headers=EN, follow_redirects=True)
    assert "Your password has been changed" in response.get_data(as_text=True)
    assert resident_client.get("/account/settings").status_code == 200
    assert other_device.get("/account/settings").status_code == 302


def test_reset_links_use_the_configured_address_not_the_host_header(app, client, make_user,
                                                                    outbox_dir, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://portal.city.example")
    make_user(email="hosted@example.org")
    client.post("/account/forgot-password", data={"email": "hosted@example.org"},
                headers={"Host": "evil.example"})
    [eml] = list(outbox_dir.glob("*.eml"))
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body().get_content()
    assert "https://portal.city.example/account/reset-password/" in body
    assert "evil.example" not in body


def test_login_is_also_limited_per_account_across_addresses(client, make_user):
    make_user(email="target@example.org")
    for n in range(10):
        response = client.post("/account/login", data={"email": "target@example.org",
                                                       "password": f"guess {n}"},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert response.status_code == 200
    response = client.post("/account/login", data={"email": "target@example.org",
                                                   "password": "guess 11"},
                           environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert response.status_code == 429


def test_failed_login_does_not_log_a_password_typed_as_email(client):
    client.post("/account/login", data={"email": "my secret passphrase", "password": "x"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login_failed"))
    assert entry.data == {"email": "(not an e-mail address)"}


def test_signed_in_pages_are_not_cached(resident_client, client):
    assert resident_client.get("/account/settings").headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get("/account/login").headers


def test_development_links_use_the_served_address_when_no_base_url_is_set(monkeypatch,
                                                                          tmp_path):
    from portal.config import load_config

    for name in ("PORTAL_BASE_URL", "FLASK_RUN_HOST", "FLASK_RUN_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    assert load_config("development")["BASE_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("FLASK_RUN_HOST", "0.0.0.0")  # noqa: S104 - what a developer may pass
    monkeypatch.setenv("FLASK_RUN_PORT", "8080")
    assert load_config("development")["BASE_URL"] == "http://127.0.0.1:8080"
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.city.example")
    assert load_config("development")["BASE_URL"] == "https://portal.city.example"


def test_portal_run_passes_its_address_on_to_the_configuration(monkeypatch):
    import flask.cli
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from portal.cli import served_run_command

    served = {}
    monkeypatch.delenv("FLASK_RUN_HOST", raising=False)
    monkeypatch.delenv("FLASK_RUN_PORT", raising=False)
    monkeypatch.setattr(flask.cli, "run_simple",
                        lambda host, port, app, **kw: served.update(host=host, port=port))
    info = ScriptInfo(create_app=lambda: __import__("flask").Flask("x"))
    result = CliRunner().invoke(served_run_command(), ["--host", "192.0.2.7", "--port", "8123"],
                                obj=info)
    assert result.exit_code == 0, result.output
    assert served == {"host": "192.0.2.7", "port": 8123}
    from portal.config import served_address

    assert served_address() == "http://192.0.2.7:8123"


def test_reset_links_never_follow_the_host_header(app, client, make_user, outbox_dir,
                                                  monkeypatch):
    """Attack finding 7: without PORTAL_BASE_URL the link used to follow ``Host``."""
    monkeypatch.setitem(app.config, "BASE_URL", None)
    for name in ("FLASK_RUN_HOST", "FLASK_RUN_PORT"):
        monkeypatch.delenv(name, raising=False)
    make_user(email="hostless@example.org")
    client.post("/account/forgot-password", data={"email": "hostless@example.org"},
                headers={"Host": "evil.example"})
    [eml] = list(outbox_dir.glob("*.eml"))
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body().get_content()
    assert "http://127.0.0.1:5000/account/reset-password/" in body
    assert "evil.example" not in body


def attempt(client, email, password, address):
    return client.post("/account/login", data={"email": email, "password": password},
                       headers=EN, environ_base={"REMOTE_ADDR": address})


def ten_wrong_guesses(client, email):
    for n in range(10):
        assert attempt(client, email, f"guess {n}", f"10.0.0.{n}").status_code == 200


def test_attackers_on_ten_addresses_do_not_lock_the_owner_out(app, make_user):
    """Attack finding 6: ten wrong passwords from ten addresses used to lock the real
    user out for up to an hour."""
    make_user(email="owner@example.org")
    ten_wrong_guesses(app.test_client(), "owner@example.org")

    owner = app.test_client()
    response = attempt(owner, "owner@example.org", TEST_PASSWORD, "203.0.113.5")
    assert response.status_code == 302  # a network that has not failed gets through
    page = owner.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "There were 10 failed attempts to sign in to your account in the last hour" in page
    assert owner.get("/account/settings").status_code == 200


def test_a_locked_account_refuses_networks_that_failed_and_tells_why(app, make_user):
    make_user(email="owner@example.org")
    ten_wrong_guesses(app.test_client(), "owner@example.org")
    client = app.test_client()
    # an address that already failed may not try again, even with the right password
    refused = attempt(client, "owner@example.org", TEST_PASSWORD, "10.0.0.3")
    assert refused.status_code == 429
    assert "sign-in from your network is paused" in refused.get_data(as_text=True)
    assert client.get("/account/settings").status_code == 302
    # a fresh address guessing wrong is stopped too, and then counts as failed
    assert attempt(client, "owner@example.org", "guess 11", "10.0.0.99").status_code == 429
    assert attempt(client, "owner@example.org", TEST_PASSWORD, "10.0.0.99").status_code == 429


def test_the_lock_says_the_same_for_addresses_without_an_account(app, make_user):
    make_user(email="owner@example.org")
    ten_wrong_guesses(app.test_client(), "owner@example.org")
    ten_wrong_guesses(app.test_client(), "nobody@example.org")
    known = attempt(app.test_client(), "owner@example.org", "x", "10.0.0.4")
    unknown = attempt(app.test_client(), "nobody@example.org", "x", "10.0.0.4")
    assert known.status_code == unknown.status_code == 429
    assert known.get_data(as_text=True).replace("owner@", "nobody@") == unknown.get_data(
        as_text=True)


def test_japanese_lock_message(app, make_user):
    make_user(email="owner@example.org")
    ten_wrong_guesses(app.test_client(), "owner@example.org")
    response = app.test_client().post(
        "/account/login", data={"email": "owner@example.org", "password": "x"},
        headers={"Accept-Language": "ja"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert "ログインを一時的に停止しています" in response.get_data(as_text=True)


def test_a_password_reset_lets_the_owner_in_from_a_network_that_failed(
        app, make_user, outbox_dir):
    user = make_user(email="owner@example.org")
    ten_wrong_guesses(app.test_client(), "owner@example.org")
    with app.test_request_context():
        token = tokens.make_token(user)
    client = app.test_client()
    new_password = "a brand new river song"
    client.post(f"/account/reset-password/{token}", headers=EN,
                data={"password": new_password, "confirm": new_password},
                environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert attempt(client, "owner@example.org", new_password, "10.0.0.3").status_code == 302
