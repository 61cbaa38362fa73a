"""Where staff see the KPIs: the service engagement page (figures, n, change, trends),
the lapse list behind the lapse figure (access, department scoping, audit, query
count) and the line on the console home, in English and Japanese."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.engagement import scoring
from portal.extensions import db
from portal.services.models import UsageEvent
from portal.timeutil import local_day_start, local_today
from tests import factories

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def use(who, slug, *days_before_end: float) -> None:
    """Uses so many days before the end of today (the day the page's figures are for)."""
    end = local_day_start(local_today() + timedelta(days=1))
    service = factories.service(slug)
    db.session.add_all(UsageEvent(
        resident_id=who.id, service_id=service.id, kind="use", channel="counter",
        occurred_at=end - timedelta(days=days), source="staff",
        idempotency_key=uuid.uuid4().hex) for days in days_before_end)
    db.session.flush()


@pytest.fixture
def town(catalogue):
    """Library loans every 10 days: C and G lapsed, D and H regular and still coming;
    of the six who used it 30–60 days ago, A D H came back. The senior bus pass: four
    eligible, one using it. Scored 30 days ago and today."""
    factories.service("library-loans").expected_interval_days = 10
    people = {name: factories.resident(family_name=f"住民{name}", given_name=name)
              for name in ("A", "B", "C", "D", "E", "G", "H")}
    use(people["A"], "library-loans", 45, 10)
    use(people["B"], "library-loans", 50)
    use(people["C"], "library-loans", 100, 40, 35)
    use(people["D"], "library-loans", 55, 50, 5)
    use(people["E"], "library-loans", 120)
    use(people["G"], "library-loans", 58, 31)
    use(people["H"], "library-loans", 60, 30)
    year = local_today().year
    for n, age in enumerate((80, 75, 72, 71)):
        senior = factories.resident(family_name=f"高齢{n}", birth_year=year - age)
        if n == 0:
            use(senior, "senior-bus-pass", 10)
    scoring.recompute(local_today() - timedelta(days=30))
    scoring.recompute(local_today())
    db.session.commit()
    return people


def kpi_rows(html: str) -> str:
    return html.split('id="kpis-title"')[1].split("</dl>")[0]


def test_service_page_shows_each_kpi_with_n_and_change(manager_client, town):
    html = manager_client.get("/admin/services/library-loans/engagement",
                              headers=EN).get_data(as_text=True)
    table = kpi_rows(html)
    retention = table.split("Retention, 30 days")[1].split("</div>")[0]
    assert "50%" in retention and "3 of 6 who used it in the 30 days before" in retention
    # 30 days earlier: nobody had used it 30–60 days before, so no share to compare
    assert "no figure for the previous period" in retention
    lapse = table.split("Lapse")[1].split("</div>")[0]
    assert "50%" in lapse and "2 of 4 regular users" in lapse and "See who lapsed" in lapse
    assert "open to everyone" in table.split("Uptake among the eligible")[1]
    assert "Retention over the last 12 months" in html
    assert "Lapse over the last 12 months" in html


def test_uptake_and_its_change_on_a_service_with_a_rule(manager_client, town):
    html = manager_client.get("/admin/services/senior-bus-pass/engagement",
                              headers=EN).get_data(as_text=True)
    uptake = kpi_rows(html).split("Uptake among the eligible")[1].split("</div>")[0]
    assert "25%" in uptake and "1 of 4 eligible residents" in uptake
    assert "up 25.0 points" in uptake and "(better)" in uptake  # nobody 30 days ago
    assert "Lapse and uptake over the last 12 months" in html


def test_the_kpis_in_japanese(manager_client, town):
    html = manager_client.get("/admin/services/senior-bus-pass/engagement",
                              headers=JA).get_data(as_text=True)
    table = kpi_rows(html)
    assert "継続率（30日）" in table and "離脱率" in table and "対象者の利用率" in table
    assert "前期比 +25.0ポイント（改善）" in table
    assert "Retention" not in table and "Lapse" not in table


def test_lapse_list_shows_the_lapsed_residents_most_recent_first(manager_client, town):
    html = manager_client.get("/admin/services/library-loans/lapsed",
                              headers=EN).get_data(as_text=True)
    rows = html.split("<tbody>")[1]
    assert "住民G" in rows and "住民C" in rows
    assert rows.index("住民G") < rows.index("住民C")  # G's last use, 31 days ago, is newer
    for regular in ("住民D", "住民H", "住民A"):
        assert regular not in rows
    assert "2 residents" in html and "2 of 4 regular users" in html
    assert "more than 30 days" in html


def test_lapse_list_names_the_district_in_the_page_language(manager_client, town):
    town["G"].district = "北町"
    db.session.commit()
    rows = manager_client.get("/admin/services/library-loans/lapsed",
                              headers=EN).get_data(as_text=True).split("<tbody>")[1]
    assert "Kitamachi" in rows and "北町" not in rows
    rows = manager_client.get("/admin/services/library-loans/lapsed",
                              headers=JA).get_data(as_text=True).split("<tbody>")[1]
    assert "北町" in rows and "Kitamachi" not in rows


def test_lapse_list_writes_an_audit_entry_per_resident(manager_client, town, users):
    manager_client.get("/admin/services/library-loans/lapsed")
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "engagement.lapse_list_view")).all()
    assert sorted(e.target_id for e in entries) == sorted(
        [str(town["C"].id), str(town["G"].id)])
    assert {e.actor_id for e in entries} == {users["manager"].id}
    assert entries[0].data == {"service": "library-loans", "page": 1}


def test_staff_see_the_lapse_list_of_their_departments_services_only(staff_client, town):
    assert staff_client.get("/admin/services/library-loans/lapsed").status_code == 200
    assert staff_client.get("/admin/services/senior-bus-pass/lapsed").status_code == 403
    assert not db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "engagement.lapse_list_view",
        AuditEntry.data["service"].as_string() == "senior-bus-pass"))


def test_officials_see_the_figures_but_never_the_list(official_client, town):
    html = official_client.get("/admin/services/library-loans/engagement",
                               headers=EN).get_data(as_text=True)
    assert "2 of 4 regular users" in html and "See who lapsed" not in html
    assert official_client.get("/admin/services/library-loans/lapsed").status_code == 403


def test_lapse_list_query_count_is_flat(manager_client, town, count_queries):
    def queries():
        with count_queries() as counter:
            assert manager_client.get("/admin/services/library-loans/lapsed").status_code \
                == 200
        return counter.count

    few = queries()
    for n in range(30):
        use(factories.resident(family_name=f"追加{n}"), "library-loans", 50, 40 + n % 5)
    scoring.recompute(local_today())
    db.session.commit()
    assert queries() == few


def test_lapse_list_without_scores(manager_client, catalogue):
    html = manager_client.get("/admin/services/library-loans/lapsed",
                              headers=EN).get_data(as_text=True)
    assert "No scores have been computed yet" in html
    assert "No resident has lapsed from this service." in html


def test_console_home_has_a_kpi_line(manager_client, staff_client, town):
    html = manager_client.get("/admin/", headers=EN).get_data(as_text=True)
    line = html.split('id="kpi-line"')[1].split("</p>")[0]
    # the municipality: of A B C D G H (used a service 30–60 days ago) A D H used one
    # since; C G lapsed of the regular C D G H
    assert "Retention, 30 days: <strong>50%</strong> (3 of 6 residents), no figure" in line
    assert "Lapse: <strong>50%</strong> (2 of 4" in line
    assert "Uptake among the eligible" in line and "Retention, 90 days" not in line
    staff = staff_client.get("/admin/", headers=EN).get_data(as_text=True)
    assert "Lapse: <strong>50%</strong> (2 of 4" in staff  # the library department


def test_console_home_kpi_line_in_japanese(manager_client, town):
    html = manager_client.get("/admin/", headers=JA).get_data(as_text=True)
    line = html.split('id="kpi-line"')[1].split("</p>")[0]
    assert "継続率（30日） <strong>50%</strong>（6人中 3人）、前期のデータなし" in line
    assert "離脱率 <strong>50%</strong>（4人中 2人）" in line
