"""The application shell: headers, health check, error pages, configuration."""

from __future__ import annotations

import pytest

from portal.app import create_app
from portal.config import ConfigError, load_config
from portal.extensions import db


def test_security_headers_on_every_response(client):
    for path in ("/", "/account/login", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script_or_style(client):
    html = client.get("/account/register").get_data(as_text=True)
    assert "<script" not in html
    assert "style=" not in html
    assert 'href="/static/css/portal.css"' in html


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_fails_when_the_database_does_not_answer(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_not_found_page_is_translated(client):
    response = client.get("/nowhere", headers={"Accept-Language": "ja"})
    assert response.status_code == 404
    assert "ページが見つかりません" in response.get_data(as_text=True)
    response = client.get("/nowhere", headers={"Accept-Language": "en"})
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("locale, text", [("en", "This form has expired"),
                                          ("ja", "フォームの有効期限")])
def test_post_without_csrf_token_gets_translated_400(client, csrf_on, locale, text):
    response = client.post("/account/login", data={"email": "a@example.org", "password": "x"},
                           headers={"Accept-Language": locale})
    assert response.status_code == 400
    assert text in response.get_data(as_text=True)


def test_oversized_body_gets_413(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/account/login", data={"email": "x" * 4096, "password": "y"},
                               headers={"Accept-Language": "en"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "File too large" in response.get_data(as_text=True)


def test_method_not_allowed_page(client):
    response = client.get("/account/logout", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert "Not allowed" in response.get_data(as_text=True)
    # RFC 9110: a 405 says which methods the address does accept
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert response.content_type.startswith("text/html")


def test_unexpected_error_gets_translated_500(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                 "INSTANCE_PATH": str(tmp_path)})
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom", headers={"Accept-Language": "ja"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "問題が発生しました" in body
    assert "kaboom" not in body


def test_production_refuses_to_start_without_secret_and_database(monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as error:
        load_config("production")
    assert "PORTAL_SECRET_KEY" in str(error.value)
    assert "PORTAL_DATABASE_URL" in str(error.value)
    assert "PORTAL_BASE_URL" in str(error.value)


def test_production_settings_from_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://db.internal/portal")
    monkeypatch.setenv("PORTAL_REDIS_URL", "redis://cache.internal:6379/0")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.city.example")
    settings = load_config("production")
    assert settings["TRUSTED_HOSTS"] == ["portal.city.example"]
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"
    assert settings["JOBS_INLINE"] is False
    assert settings["TIME_ZONE"] == "Asia/Tokyo"
    assert settings["DEFAULT_LOCALE"] == "ja"


def test_short_production_secret_is_refused(monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "short")
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://db/portal")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.city.example")
    with pytest.raises(ConfigError, match="at least 32"):
        load_config("production")


def test_production_base_url_must_be_absolute(monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg://db/portal")
    monkeypatch.setenv("PORTAL_BASE_URL", "portal.city.example")
    with pytest.raises(ConfigError, match="absolute address"):
        load_config("production")


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="PORTAL_ENV"):
        load_config("staging")


def test_database_connections_are_set_up_for_the_dialect(app):
    # the test's own connection: a second one would wait for the write lock it holds
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    else:
        assert db.engine.dialect.name == "postgresql"
        assert conn.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"


def test_timestamps_come_back_timezone_aware_utc(make_user):
    user = make_user()
    db.session.expire(user)
    assert user.created_at.utcoffset().total_seconds() == 0


def test_proxy_count_trusts_forwarded_client_address(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                 "INSTANCE_PATH": str(tmp_path), "PROXY_COUNT": 1})

    @app.get("/whoami")
    def whoami():
        from flask import request

        return {"ip": request.remote_addr, "scheme": request.scheme}

    response = app.test_client().get("/whoami", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert response.json == {"ip": "203.0.113.7", "scheme": "https"}


def test_pagination_ignores_stray_query_arguments(admin_client, make_user, catalogue):
    from portal.auth.models import Role

    for _ in range(27):
        make_user(Role.STAFF, department=catalogue["library"])
    response = admin_client.get("/admin/accounts", query_string={
        "endpoint": "x", "_anchor": "evil", "role": "staff"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    pagination = html.split('class="pagination"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/admin/accounts?role=staff&amp;page=2"' in pagination
    assert "_anchor" not in pagination and "endpoint" not in pagination


def test_oversized_body_gets_413_for_signed_in_users_too(app, resident_client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = resident_client.post("/account/settings", data={"display_name": "x" * 4096},
                                        headers={"Accept-Language": "en"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "Sign out" in response.get_data(as_text=True)
