"""Out-of-range input is a 400 or 404 with the translated page, never a 500: ids and
page numbers beyond what the database holds, dates of year 1 or 9999, and a Host
header the production configuration does not trust."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from portal.app import create_app
from portal.extensions import db
from portal.routing import ID_MAX
from portal.services.models import UsageEvent
from tests import factories

HUGE = 2**63  # one more than SQLite's (and PostgreSQL's bigint) largest integer
EN = {"Accept-Language": "en"}
# values for the variable parts of the routes that are not integers
NAMED = {"slug": "library-loans", "code": "library"}
SKIPPED = ("/static/", "/account/reset-password/", "/account/invitation/",
           "/account/logout")  # signing the walker out would hide the rest


def _urls(app, ids: dict[str, int]):
    """(method, url) for every registered route, int parts from ``ids``."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(SKIPPED):
            continue
        values = {}
        for name, converter in rule._converters.items():
            values[name] = (ids.get(name, HUGE) if isinstance(converter, IntegerConverter)
                            else NAMED.get(name, "x"))
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def _walk(app, client, ids):
    failures = []
    query = {"page": HUGE, "service": HUGE, "department": HUGE, "per_page": HUGE}
    for method, path in _urls(app, ids):
        try:  # the testing configuration lets exceptions through
            response = client.open(path, method=method, query_string=query, headers=EN)
        except Exception as error:  # noqa: BLE001 - each failure is listed
            failures.append(f"{method} {path}: {error.__class__.__name__}: {error}")
            continue
        if response.status_code >= 500:
            failures.append(f"{method} {path}: {response.status_code}")
    return failures


def test_no_route_answers_5xx_to_an_id_or_a_page_beyond_the_database(app, admin_client,
                                                                      users):
    failures = _walk(app, admin_client, {})
    assert not failures, "\n".join(failures)
    walked = list(_urls(app, {}))
    id_routes = sum(len(rule.methods - {"HEAD", "OPTIONS"}) for rule in app.url_map.iter_rules()
                    if any(isinstance(c, IntegerConverter) for c in rule._converters.values()))
    assert id_routes >= 11
    assert len([p for _, p in walked if str(HUGE) in p]) == id_routes  # each is walked
    for method, path in walked:
        if str(HUGE) in path:
            response = admin_client.open(path, method=method, headers=EN)
            assert response.status_code == 404, f"{method} {path}"
            assert "Page not found" in response.get_data(as_text=True)


def test_no_route_answers_5xx_to_a_page_beyond_the_database_with_real_ids(
        app, admin_client, users, catalogue):
    resident = factories.resident()
    db.session.commit()
    ids = {"resident_id": resident.id, "user_id": users["staff"].id}
    failures = _walk(app, admin_client, ids)
    assert not failures, "\n".join(failures)
    page = admin_client.get(f"/admin/residents/{resident.id}", query_string={"page": HUGE},
                            headers=EN)
    assert page.status_code == 200


@pytest.mark.parametrize("number", [ID_MAX, ID_MAX + 1, 2**63 - 1])
def test_ids_at_and_past_the_largest_key_are_an_ordinary_not_found(admin_client, users,
                                                                   number):
    for path in (f"/admin/residents/{number}", f"/admin/accounts/{number}",
                 f"/admin/imports/{number}"):
        response = admin_client.get(path, headers=EN)
        assert response.status_code == 404
        assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T10:00",
                                   "2101-01-01T00:00"])
def test_counter_entry_outside_the_years_is_a_form_error(staff_client, catalogue, value):
    resident = factories.resident()
    db.session.commit()
    library = factories.service("library-loans")
    response = staff_client.post(f"/admin/residents/{resident.id}/usage", data={
        "service_id": library.id, "channel": "counter", "occurred_at": value},
        headers={"Accept-Language": "ja"})
    assert response.status_code == 400
    assert "1900年から2100年までの日付を入力してください" in response.get_data(as_text=True)
    assert db.session.query(UsageEvent).count() == 0


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_audit_filter_outside_the_years_is_a_field_error(admin_client, users, field, value):
    response = admin_client.get("/admin/audit", query_string={field: value}, headers=EN)
    assert response.status_code == 200
    assert "Enter a date from 1900 to 2100." in response.get_data(as_text=True)


PRODUCTION = {
    "SECRET_KEY": "a-production-secret-of-at-least-32-characters",
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
    "BASE_URL": "https://portal.city.example",
    "RATELIMIT_STORAGE_URI": "memory://",
    "REDIS_URL": None,
    "JOBS_INLINE": True,
}


@pytest.mark.parametrize("locale, text", [("en", "Bad request"), ("ja", "不正なリクエスト")])
def test_an_untrusted_host_header_is_a_translated_400_in_production(tmp_path, locale, text):
    app = create_app("production", {**PRODUCTION, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["TRUSTED_HOSTS"] == ["portal.city.example"]
    client = app.test_client()
    response = client.get("/", headers={"Host": "evil.example", "Accept-Language": locale})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert text in body and "<html" in body
    assert "evil.example" not in body  # links point at the configured address
    assert 'href="/static/css/portal.css"' in body
    healthy = client.get("/healthz", headers={"Host": "portal.city.example"})
    assert healthy.status_code == 200
