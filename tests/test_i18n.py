"""Locale order: user setting, cookie, Accept-Language, default; formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale, format_datetime
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db


def lang_of(response) -> str:
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_default_locale_is_japanese(client):
    assert lang_of(client.get("/")) == "ja"


def test_accept_language_is_followed(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})) == "en"
    assert lang_of(client.get("/", headers={"Accept-Language": "fr, ja;q=0.5"})) == "ja"


def test_cookie_beats_accept_language(client):
    client.set_cookie("portal_locale", "en")
    assert lang_of(client.get("/", headers={"Accept-Language": "ja"})) == "en"


def test_unknown_locale_cookie_falls_back_to_default(client):
    client.set_cookie("portal_locale", "xx-evil")
    response = client.get("/")
    assert response.status_code == 200
    assert lang_of(response) == "ja"


def test_user_setting_beats_cookie(resident_client, users):
    users["resident"].locale = "en"
    db.session.commit()
    resident_client.set_cookie("portal_locale", "ja")
    assert lang_of(resident_client.get("/")) == "en"


def test_language_switch_sets_cookie_and_returns(client):
    response = client.post("/language", data={"locale": "en", "next": "/account/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    assert "portal_locale=en" in response.headers["Set-Cookie"]
    page = client.get("/account/login")
    assert lang_of(page) == "en" and "Sign in" in page.get_data(as_text=True)


def test_language_switch_sticks_for_signed_in_users(resident_client, users):
    resident_client.post("/language", data={"locale": "en", "next": "/"})
    user = db.session.scalar(select(User).where(User.id == users["resident"].id))
    db.session.refresh(user)
    assert user.locale == "en"


def test_language_switch_ignores_foreign_targets_and_bad_locales(client):
    response = client.post("/language", data={"locale": "en", "next": "https://evil.example"})
    assert response.headers["Location"] == "/"
    response = client.post("/language", data={"locale": "de", "next": "/"})
    assert "Set-Cookie" not in response.headers or "portal_locale" not in \
        response.headers["Set-Cookie"]


def test_language_switch_is_on_every_page(client):
    for path in ("/", "/account/login", "/account/register", "/nowhere"):
        html = client.get(path).get_data(as_text=True)
        assert 'action="/language"' in html


def test_datetimes_show_in_the_municipal_time_zone(app):
    moment = datetime(2026, 4, 1, 15, 30, tzinfo=UTC)  # 00:30 on 2 April in Tokyo
    with app.test_request_context(), force_locale("ja"):
        assert format_datetime(moment, "short") == "2026/04/02 0:30"
    with app.test_request_context(), force_locale("en"):
        assert "4/2/26" in format_datetime(moment, "short")
