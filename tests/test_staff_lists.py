"""Staff acting on the lists: the needs-attention list with contact facts, search and
page size; the console home's per-service table; the score panel after a counter
entry; the equity comparison, chart and export; the audit viewer."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.engagement import scoring
from portal.extensions import db
from portal.timeutil import local_today
from tests import factories
from tests.test_engagement_views import use

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
LIST = "/admin/services/library-loans/engagement"


@pytest.fixture
def lapsed(catalogue):
    """Residents who stopped using the library, with different contact settings."""
    people = {
        "reachable": factories.resident(family_name="山田", given_name="太郎",
                                        family_name_kana="ヤマダ", given_name_kana="タロウ",
                                        consent_outreach=True, preferred_channels=["letter"]),
        "blocked": factories.resident(family_name="鈴木", given_name="一郎",
                                      family_name_kana="スズキ", given_name_kana="イチロウ",
                                      consent_outreach=True, do_not_contact=True,
                                      preferred_channels=["email", "phone"]),
        "regular": factories.resident(family_name="定期", family_name_kana="テイキ"),
    }
    use(people["reachable"], "library-loans", days_ago=70, count=2)
    use(people["blocked"], "library-loans", days_ago=80, count=2)
    use(people["regular"], "library-loans", days_ago=2, count=6)
    for n in range(6):
        use(factories.resident(family_name=f"北{n}", district="北町"), "library-loans",
            days_ago=60 + n)
    scoring.recompute(local_today())
    db.session.commit()
    return people


def _rows(html: str) -> str:
    return html.split('id="results"')[1].split("</table>")[0]


def test_list_shows_outreach_do_not_contact_and_channel_through_labels(manager_client, lapsed):
    rows = _rows(manager_client.get(LIST, headers=EN).get_data(as_text=True))
    yamada = rows.split("山田")[1].split("</tr>")[0]
    suzuki = rows.split("鈴木")[1].split("</tr>")[0]
    assert "Letter" in yamada and "do not contact" not in yamada
    assert "do not contact" in suzuki and "E-mail, Phone" in suzuki
    ja = _rows(manager_client.get(LIST, headers=JA).get_data(as_text=True))
    assert "email" not in ja.split("鈴木")[1].split("</tr>")[0]
    assert "連絡不可" in ja


@pytest.mark.parametrize("query", ["山田", "やまだ", "ヤマダ タロウ", "ﾔﾏﾀﾞ"])
def test_list_search_by_name_and_kana(manager_client, lapsed, query):
    rows = _rows(manager_client.get(LIST, query_string={"q": query}).get_data(as_text=True))
    assert "山田" in rows and "鈴木" not in rows


def test_list_page_size_and_results_anchor(manager_client, lapsed):
    html = manager_client.get(LIST, query_string={"per_page": "25"}).get_data(as_text=True)
    assert 'action="/admin/services/library-loans/engagement#results"' in html
    assert 'id="results"' in html
    for n in range(30):
        use(factories.resident(family_name=f"追加{n}"), "library-loans", days_ago=80 + n)
    scoring.recompute(local_today())
    db.session.commit()
    small = _rows(manager_client.get(LIST).get_data(as_text=True))
    large = _rows(manager_client.get(LIST, query_string={"per_page": "50"})
                  .get_data(as_text=True))
    assert small.count("<tr>") == 25 + 1  # header row
    assert large.count("<tr>") > 26
    odd = manager_client.get(LIST, query_string={"per_page": "7"})
    assert odd.status_code == 200 and _rows(odd.get_data(as_text=True)).count("<tr>") == 26
    next_link = re.search(r'rel="next" href="([^"]+)"', manager_client.get(
        LIST, query_string={"per_page": "25"}).get_data(as_text=True)).group(1)
    assert next_link.endswith("#results") and "per_page=25" in next_link


def test_list_query_count_is_flat_with_search(manager_client, lapsed, count_queries):
    def queries():
        with count_queries() as counter:
            manager_client.get(LIST, query_string={"q": "ヤマダ", "per_page": "50"})
        return counter.count

    few = queries()
    for n in range(20):
        use(factories.resident(family_name="山田", given_name=f"{n}"), "library-loans",
            days_ago=90 + n)
    scoring.recompute(local_today())
    db.session.commit()
    assert queries() == few


def test_home_counts_needs_attention_per_service_and_links_tiles(manager_client, lapsed):
    html = manager_client.get("/admin/", headers=EN).get_data(as_text=True)
    table = html.split('id="services-title"')[1].split("</table>")[0]
    library = table.split("Library")[1].split("</tr>")[0] if "Library" in table else table
    assert 'href="/admin/services/library-loans/engagement#results"' in library
    assert "Needs attention" in html and "Red band" in html
    assert "the red band" in html  # the definition says which is which
    assert 'href="/admin/residents/"' in html and 'href="/admin/services"' in html
    assert "At risk" not in html and "at risk" not in html


def test_home_and_service_page_never_call_the_red_band_at_risk(manager_client, lapsed):
    for headers, banned in ((EN, "at risk"), (JA, "リスク")):
        for path in ("/admin/", LIST, "/admin/engagement/equity"):
            html = manager_client.get(path, headers=headers).get_data(as_text=True)
            assert banned not in html.lower(), path


def test_score_panel_says_a_new_use_counts_at_the_next_recompute(manager_client, lapsed):
    who = lapsed["reachable"]
    page = manager_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    assert "updates at the next recompute" not in page
    library = factories.service("library-loans")
    response = manager_client.post(f"/admin/residents/{who.id}/usage", data={
        "service_id": library.id, "channel": "counter", "kind": "loan"},
        headers=EN, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "at the next recompute" in html
    assert html.count("updates at the next recompute") == 1


EQUITY = "/admin/engagement/equity"


def test_equity_compares_groups_with_the_whole_municipality(manager_client, lapsed):
    html = manager_client.get(EQUITY, headers=EN).get_data(as_text=True)
    total = html.split('class="total-row"')[1].split("</tr>")[0]
    assert "Whole municipality" in total and ">9<" in total  # every resident scored
    assert "Fewer than 5 residents" in html  # 中央 has only three
    chart = html.split('id="equity-chart-title"')[1]
    # district names in the page's language (北町 is Kitamachi in English)
    assert 'role="img"' in chart and "Kitamachi" in chart and "Whole municipality" in chart
    assert "Chuo" not in chart.split("<details")[0]  # a suppressed group is not drawn


def test_equity_sorting(manager_client, lapsed):
    for n in range(5):  # a third district, healthy
        use(factories.resident(family_name=f"東{n}", district="東町"), "library-loans",
            days_ago=1, count=6)
    scoring.recompute(local_today())
    db.session.commit()

    def order(sort):
        body = manager_client.get(EQUITY, query_string={"sort": sort}).get_data(
            as_text=True).split("<tbody>")[1].split("</tbody>")[0]
        return sorted(("北町", "東町", "中央"), key=body.index)

    assert order("mean") == ["北町", "東町", "中央"]
    assert order("-mean") == ["東町", "北町", "中央"]  # suppressed groups stay last
    bad = manager_client.get(EQUITY, query_string={"sort": "nonsense"}, headers=EN)
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_equity_lists_districts_in_the_districts_order(manager_client, lapsed):
    """By group, districts come in the order the district list gives them (桜ヶ丘 is
    before 川辺 there), as in every filter, not in the order of their stored names."""
    for district in ("川辺", "桜ヶ丘"):
        use(factories.resident(family_name="区", district=district), "library-loans",
            days_ago=1, count=6)
    scoring.recompute(local_today())
    db.session.commit()
    body = manager_client.get(EQUITY, headers=EN).get_data(as_text=True).split(
        "<tbody>")[1].split("</tbody>")[0]
    assert body.index("Sakuragaoka") < body.index("Kawabe")
    assert body.index("Chuo") < body.index("Kitamachi") < body.index("Sakuragaoka")


def test_equity_csv_is_audited_suppressed_and_formula_safe(manager_client, lapsed):
    for n in range(5):
        use(factories.resident(family_name=f"式{n}", district="=HYPERLINK(1)"),
            "library-loans", days_ago=3)
    scoring.recompute(local_today())
    db.session.commit()
    response = manager_client.get(EQUITY + ".csv", query_string={"dimension": "district"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_group = {r["group"]: r for r in rows}
    assert by_group["中央"]["suppressed"] == "yes"
    assert by_group["中央"]["residents"] == "" and by_group["中央"]["mean_score"] == ""
    assert by_group["北町"]["residents"] == "6" and by_group["北町"]["suppressed"] == "no"
    assert "'=HYPERLINK(1)" in by_group and by_group["all"]["dimension"] == "all"
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "engagement.equity_export"))
    assert entry is not None and entry.data["dimension"] == "district"


@pytest.fixture
def logged(users, lapsed, manager_client):
    """A list view (one entry per resident shown) and a record view of one resident."""
    manager_client.get(LIST)
    manager_client.get(f"/admin/residents/{lapsed['reachable'].id}")
    return lapsed


def test_audit_log_groups_or_hides_list_views_and_filters_by_resident(admin_client, logged):
    who = logged["reachable"]

    def table(**query):
        return admin_client.get("/admin/audit", query_string=query, headers=EN).get_data(
            as_text=True).split("<tbody>")[1]

    grouped = table()  # the default: one row for the list page view, with its count
    row = grouped.split("Resident&#39;s score seen in a list")[1].split("</tr>")[0]
    assert ">8 residents<" in row.replace("\n", "")
    assert grouped.count("Resident&#39;s score seen in a list") == 1
    assert "Resident record viewed" in grouped
    hidden = admin_client.get("/admin/audit", query_string={"list_views": "hide"},
                              headers=EN).get_data(as_text=True)
    assert "seen in a list" not in hidden.split("<tbody>")[1]
    assert "8 list-view entries hidden" in hidden
    shown = table(list_views="show")
    assert shown.count("Resident&#39;s score seen in a list") == 8
    mine = table(resident=who.id)  # a resident's trail: every entry, one per row
    assert "Resident record viewed" in mine and mine.count("seen in a list") == 1
    other = logged["regular"].id
    assert f"Resident {other}<" not in mine and f"Resident {who.id}<" in mine
    bad = admin_client.get("/admin/audit", query_string={"resident": "x" * 5}, headers=EN)
    assert bad.status_code == 200


def test_grouped_audit_log_pages(admin_client, users, logged):
    from portal.audit.recording import record

    for n in range(60):
        record("auth.login", actor=users["staff"], target=users["staff"], summary=f"n{n}")
    db.session.commit()
    first = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Page 1 of 2" in first and first.split("<tbody>")[1].count("<tr>") == 50
    second = admin_client.get("/admin/audit", query_string={"page": 2}, headers=EN)
    assert second.get_data(as_text=True).split("<tbody>")[1].count("<tr>") > 0
    far = admin_client.get("/admin/audit", query_string={"page": 10**30}, headers=EN)
    assert far.status_code in (200, 400, 404)


def test_audit_log_speaks_the_viewers_language(admin_client, logged):
    ja = admin_client.get("/admin/audit", headers=JA).get_data(as_text=True)
    table = ja.split("<tbody>")[1]
    assert "住民記録の閲覧" in table and "resident.view" not in table
    assert 'lang="en"' in table  # the recorded English details are marked as English


def test_audit_csv_for_admins_is_audited_and_formula_safe(admin_client, users, logged):
    from portal.audit.recording import record

    record("resident.update", actor=users["manager"], target=("residents", 1),
           summary="=cmd|' /C calc'!A0")
    db.session.commit()
    response = admin_client.get("/admin/audit.csv", query_string={"action": "resident.update"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["summary"].startswith("'=")
    assert rows[0]["action"] == "resident.update"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.export"))
    assert entry is not None and entry.data["rows"] == 1


def test_audit_equity_services_and_home_query_counts_are_flat(admin_client, manager_client, lapsed,
                                                count_queries):
    def queries(client, path, **query):
        with count_queries() as counter:
            assert client.get(path, query_string=query).status_code == 200
        return counter.count

    audit = queries(admin_client, "/admin/audit")
    by_resident = queries(admin_client, "/admin/audit", resident=lapsed["reachable"].id)
    equity = queries(manager_client, EQUITY, dimension="age", sort="-mean")
    services = queries(manager_client, "/admin/services")
    home = queries(manager_client, "/admin/")
    for n in range(15):
        who = factories.resident(family_name=f"増{n}", district=f"新{n % 3}")
        use(who, "library-loans", days_ago=n)
        manager_client.get(f"/admin/residents/{who.id}")
    scoring.recompute(local_today())
    db.session.commit()
    manager_client.get(LIST, query_string={"band": "", "per_page": "100"})
    assert queries(admin_client, "/admin/audit") == audit
    assert queries(admin_client, "/admin/audit", resident=lapsed["reachable"].id) == by_resident
    assert queries(manager_client, EQUITY, dimension="age", sort="-mean") == equity
    assert queries(manager_client, "/admin/services") == services
    assert queries(manager_client, "/admin/") == home


def test_services_page_counts_needs_attention_per_service(role_client, lapsed):
    def row(role, name):
        html = role_client(role).get("/admin/services", headers=EN).get_data(as_text=True)
        return html.split(name)[1].split("</tr>")[0]

    manager = row("manager", "Book and Material Loans")
    assert 'href="/admin/services/library-loans/engagement#results">8<' in manager
    official = row("official", "Book and Material Loans")
    assert ">8<" in official and "#results" not in official  # aggregates only
    staff = row("staff", "Cancer Screening")  # another department's service
    assert "#results" not in staff
