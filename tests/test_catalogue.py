"""The public service catalogue."""

from __future__ import annotations

from portal.extensions import db
from tests import factories

EN = {"Accept-Language": "en"}


def test_catalogue_lists_active_services_by_department(client, catalogue):
    factories.service("library-loans").active = False
    db.session.commit()
    html = client.get("/services/", headers=EN).get_data(as_text=True)
    assert "19 services" in html
    assert catalogue["library"].name_en in html and catalogue["health"].name_en in html
    assert "/services/library-loans" not in html
    assert client.get("/services/library-loans").status_code == 404


def test_catalogue_search_in_either_language(client, catalogue):
    loans = factories.service("library-loans")
    html = client.get("/services/", query_string={"q": loans.name_ja}, headers=EN).get_data(
        as_text=True)
    assert f"/services/{loans.slug}" in html
    html = client.get("/services/", query_string={"q": loans.name_en.split()[0].upper()},
                      headers=EN).get_data(as_text=True)
    assert f"/services/{loans.slug}" in html
    html = client.get("/services/", query_string={"q": "zzzz-nothing"}, headers=EN).get_data(
        as_text=True)
    assert "No service matches your search" in html


def test_catalogue_department_filter(client, catalogue):
    html = client.get("/services/", query_string={"department": "library"}, headers=EN) \
        .get_data(as_text=True)
    assert "/services/library-loans" in html
    assert "/services/cancer-screening" not in html
    bad = client.get("/services/", query_string={"department": "nope"}, headers=EN)
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_service_page_in_the_readers_language_with_fallback(client, catalogue):
    loans = factories.service("library-loans")
    html = client.get("/services/library-loans", headers=EN).get_data(as_text=True)
    assert loans.name_en in html and loans.opening_hours_en in html
    html = client.get("/services/library-loans", headers={"Accept-Language": "ja"}).get_data(
        as_text=True)
    assert loans.name_ja in html

    loans.how_to_use_en = ""
    db.session.commit()
    html = client.get("/services/library-loans", headers=EN).get_data(as_text=True)
    assert 'lang="ja"' in html  # the Japanese text is marked as such
    assert "This text is not yet available in your language." in html


def test_service_page_shows_conditions_and_last_use(resident_client, users, catalogue):
    checkup = factories.service("specific-health-checkup")
    html = resident_client.get(f"/services/{checkup.slug}", headers=EN).get_data(as_text=True)
    assert "Conditions" in html and "Aged" in html

    me = factories.resident(user_id=users["resident"].id)
    factories.events(me, checkup.slug, days_ago=3)
    db.session.commit()
    html = resident_client.get(f"/services/{checkup.slug}", headers=EN).get_data(as_text=True)
    assert "You last used this service on" in html


def test_unknown_service_is_404(client, catalogue):
    assert client.get("/services/no-such-service").status_code == 404
