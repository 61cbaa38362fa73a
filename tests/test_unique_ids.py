"""No page repeats an ``id``: the 360° page shows the counter-entry form and the
timeline filter (both have a "channel" field), and every form has a CSRF token."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from portal.engagement import scoring
from portal.extensions import db
from portal.timeutil import local_today
from tests import factories
from tests.test_engagement_views import use


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name == "id":
                self.ids[value] += 1


def duplicate_ids(html: str) -> list[str]:
    parser = Ids()
    parser.feed(html)
    return [name for name, n in parser.ids.items() if n > 1]


@pytest.fixture
def resident(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_ago=40, count=3)
    scoring.recompute(local_today())
    db.session.commit()
    return who


def test_the_360_page_has_unique_ids(admin_client, resident, csrf_on):
    html = admin_client.get(f"/admin/residents/{resident.id}").get_data(as_text=True)
    assert 'id="entry-channel"' in html and 'id="timeline-channel"' in html
    assert 'for="entry-channel"' in html and 'for="timeline-channel"' in html
    assert html.count('name="csrf_token"') >= 3  # language switch, sign-out, forms
    assert duplicate_ids(html) == []


def test_the_360_page_with_a_refused_form_has_unique_ids(admin_client, resident):
    response = admin_client.post(f"/admin/residents/{resident.id}/usage",
                                 data={"service_id": "", "channel": "counter"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#entry-service_id"' in html
    assert duplicate_ids(html) == []


def test_the_timeline_filter_still_filters_by_channel(admin_client, resident):
    html = admin_client.get(f"/admin/residents/{resident.id}",
                            query_string={"channel": "online"},
                            headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "No use matches these filters." in html


@pytest.mark.parametrize("path", ["/admin/", "/admin/services/library-loans/engagement",
                                  "/admin/engagement/equity", "/admin/audit",
                                  "/admin/residents/", "/admin/engagement/model",
                                  "/admin/services/library-loans/lapsed",
                                  "/admin/services/library-loans/calibration",
                                  "/admin/residents/districts", "/admin/residents/districts/new",
                                  "/admin/accounts", "/account/settings"])
def test_console_pages_have_unique_ids(admin_client, resident, path):
    assert duplicate_ids(admin_client.get(path).get_data(as_text=True)) == []


def test_my_data_page_has_unique_ids(resident_client):
    assert duplicate_ids(resident_client.get("/my/data").get_data(as_text=True)) == []


def test_pages_with_a_form_per_sign_in_have_unique_ids(admin_client, users, resident, app):
    """Account settings and an account's page list every sign-in, each with its own
    sign-out form (and CSRF token)."""
    from portal.auth import sessions

    for _ in range(2):
        sessions.start(users["admin"], ip="192.0.2.1", user_agent="Firefox/120 (Windows)")
        sessions.start(users["staff"], ip="192.0.2.2", user_agent="Firefox/120 (Windows)")
    db.session.commit()
    settings = admin_client.get("/account/settings").get_data(as_text=True)
    assert settings.count("/end\"") >= 2
    assert duplicate_ids(settings) == []
    account = admin_client.get(f"/admin/accounts/{users['staff'].id}").get_data(as_text=True)
    assert duplicate_ids(account) == []
