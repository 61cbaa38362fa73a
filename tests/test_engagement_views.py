"""Where staff see engagement: console KPIs, a service's page with the at-risk
list and its export, the 360° scores, the equity view, the model editor."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.engagement import scoring
from portal.engagement.models import ScoringModel
from portal.extensions import db
from portal.services.models import UsageEvent
from portal.timeutil import local_today, utcnow
from tests import factories

EN = {"Accept-Language": "en"}


def use(who, slug, *, days_ago: float, count: int = 1):
    service = factories.service(slug)
    db.session.add_all(UsageEvent(
        resident_id=who.id, service_id=service.id, kind="use", channel="counter",
        occurred_at=utcnow() - timedelta(days=days_ago + n), source="staff",
        idempotency_key=uuid.uuid4().hex) for n in range(count))
    db.session.flush()


@pytest.fixture
def scored(catalogue):
    """A small municipality scored a month ago and today."""
    people = {
        "regular": factories.resident(family_name="定期", district="北町",
                                      preferred_locale="en"),
        "lapsed": factories.resident(family_name="離脱", district="南町"),
        "senior": factories.resident(family_name="高齢", birth_year=local_today().year - 80,
                                     district="北町"),
    }
    use(people["regular"], "library-loans", days_ago=2, count=6)
    use(people["lapsed"], "library-loans", days_ago=70, count=2)
    use(people["regular"], "cancer-screening", days_ago=30)
    for n in range(8):  # a district large enough for the equity view
        use(factories.resident(family_name=f"北{n}", district="北町"), "library-loans",
            days_ago=5 + n)
    scoring.recompute(local_today() - timedelta(days=31))
    scoring.recompute(local_today())
    db.session.commit()
    return people


def test_console_home_shows_kpis_with_the_change(manager_client, scored):
    html = manager_client.get("/admin/", headers=EN).get_data(as_text=True)
    assert "Active residents, 30 days" in html and "Needs attention" in html
    assert "Mean score" in html and "compared with a month earlier" in html


def test_console_home_without_scores(manager_client, catalogue):
    html = manager_client.get("/admin/", headers=EN).get_data(as_text=True)
    assert "No engagement scores yet" in html


def test_service_page_shows_charts_measures_and_the_at_risk_list(manager_client, scored):
    html = manager_client.get("/admin/services/library-loans/engagement",
                              headers=EN).get_data(as_text=True)
    assert html.count('role="img"') >= 4  # band shares, histogram, trend, at-risk trend
    assert "Show the data as a table" in html
    assert "What pulls the score down" in html and "missing (no data yet)" in html
    rows = html.split("<tbody>")[-1]
    assert "離脱" in rows and "定期" not in rows  # the default list: at risk only
    everyone = manager_client.get("/admin/services/library-loans/engagement",
                                  query_string={"band": ""}).get_data(as_text=True)
    assert "定期" in everyone.split("<tbody>")[-1]


def test_at_risk_list_filters_and_sorting(manager_client, scored):
    def names(**query):
        html = manager_client.get("/admin/services/library-loans/engagement",
                                  query_string={"band": "", **query}).get_data(as_text=True)
        body = html.split("<tbody>")[-1]
        return [n for n in ("定期", "離脱", "北0") if n in body], body

    assert names(district="南町")[0] == ["離脱"]
    assert names(language="en")[0] == ["定期"]
    assert names(band="green", district="南町")[0] == []
    _, body = names(sort="-score")
    assert body.index("定期") < body.index("離脱")
    _, body = names(sort="score")
    assert body.index("離脱") < body.index("定期")
    bad = manager_client.get("/admin/services/library-loans/engagement",
                             query_string={"band": "purple"}, headers=EN)
    assert bad.status_code == 200 and "Not a valid choice" in bad.get_data(as_text=True)


def test_csv_export_of_the_filtered_list_is_audited(manager_client, scored):
    response = manager_client.get("/admin/services/library-loans/engagement.csv",
                                  query_string={"band": "", "district": "北町"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["district"] for r in rows} == {"北町"}
    assert "定期" in {r["family_name"] for r in rows}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "engagement.export"))


def test_list_query_count_is_flat(manager_client, scored, count_queries):
    def queries():
        with count_queries() as counter:
            manager_client.get("/admin/services/library-loans/engagement",
                               query_string={"band": ""})
        return counter.count

    few = queries()
    for n in range(30):
        use(factories.resident(family_name=f"追加{n}"), "library-loans", days_ago=n)
    scoring.recompute(local_today())
    db.session.commit()
    assert queries() == few


def test_home_and_360_query_counts_are_flat(manager_client, scored, count_queries):
    who = scored["regular"]

    def queries(path):
        with count_queries() as counter:
            assert manager_client.get(path).status_code == 200
        return counter.count

    home, page = queries("/admin/"), queries(f"/admin/residents/{who.id}")
    for slug in ("waste-sorting-app", "sports-facility-booking", "tax-certificate"):
        use(who, slug, days_ago=3, count=20)
    scoring.recompute(local_today() - timedelta(days=10))
    scoring.recompute(local_today())
    db.session.commit()
    assert queries("/admin/") == home
    assert queries(f"/admin/residents/{who.id}") == page


def test_resident_360_shows_scores_with_explanations(manager_client, scored):
    who = scored["lapsed"]
    html = manager_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    section = html.split('id="scores-title"')[1].split('id="services-title"')[0]
    assert "Red" in section and "Explanation" in section
    assert "Recency" in section and "Satisfaction" in section and "missing" in section
    assert "Uses in the last 90 days: 2" in section
    assert 'role="img"' in section  # the sparkline


def test_a_score_history_ends_with_the_current_score(scored):
    from portal.engagement import dashboards
    scores, history = dashboards.resident_scores(scored["lapsed"].id, None)
    assert scores
    for score in scores:
        assert history[score.service_id][-1].score == score.score
        assert history[score.service_id][-1].as_of == score.as_of


def test_360_shows_only_the_staff_departments_scores(staff_client, scored):
    who = scored["regular"]  # library and health scores
    html = staff_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    section = html.split('id="scores-title"')[1].split('id="services-title"')[0]
    assert factories.service("library-loans").name_en in section
    assert factories.service("cancer-screening").name_en not in section


def test_staff_see_only_their_departments_engagement_pages(staff_client, scored):
    assert staff_client.get("/admin/services/library-loans/engagement").status_code == 200
    assert staff_client.get("/admin/services/cancer-screening/engagement").status_code == 403
    assert staff_client.get("/admin/services/cancer-screening/engagement.csv") \
        .status_code == 403


def test_officials_see_aggregates_but_no_resident_lists(official_client, scored):
    html = official_client.get("/admin/services/library-loans/engagement",
                               headers=EN).get_data(as_text=True)
    assert "Band shares" in html and "離脱" not in html and "Download this list" not in html
    assert official_client.get("/admin/services/library-loans/engagement.csv") \
        .status_code == 403


def test_equity_view_suppresses_small_groups(manager_client, scored):
    html = manager_client.get("/admin/engagement/equity", query_string={
        "dimension": "district", "service": "library-loans"}, headers=EN).get_data(as_text=True)
    # the districts by their English names on an English page
    north = html.split("Kitamachi")[1].split("</tr>")[0]
    south = html.split("Minamimachi")[1].split("</tr>")[0]
    assert "Fewer than 5 residents" in south and "Fewer than 5" not in north
    ages = manager_client.get("/admin/engagement/equity", query_string={"dimension": "age"},
                              headers=EN).get_data(as_text=True)
    assert "40-64" in ages and "75+" in ages
    languages = manager_client.get("/admin/engagement/equity",
                                   query_string={"dimension": "language"}).get_data(as_text=True)
    assert "日本語" in languages


def test_manager_edits_weights_as_a_new_audited_version(manager_client, scored):
    response = manager_client.post("/admin/services/library-loans/scoring", data={
        "weight_recency": 50, "weight_frequency": 30, "weight_satisfaction": 10,
        "weight_friction": 10, "red_below": 40, "green_from": 70, "note": "pilot"},
        headers=EN, follow_redirects=True)
    assert "Version 1 saved" in response.get_data(as_text=True)
    model = db.session.scalar(select(ScoringModel).where(
        ScoringModel.service_id == factories.service("library-loans").id))
    assert (model.weight_recency, model.red_below, model.note) == (50, 40, "pilot")
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "scoring_model.save"))
    scoring.recompute(local_today())
    who = scored["regular"]
    score = db.session.get(scoring.EngagementScore, {
        "resident_id": who.id, "service_id": factories.service("library-loans").id})
    assert score.model_id == model.id  # each score names the version that made it


@pytest.mark.parametrize("data, message", [
    ({"weight_recency": -5}, "Between 0 and 100."),
    ({"weight_recency": 0, "weight_frequency": 0, "weight_friction": 0,
      "weight_satisfaction": 0}, "At least one weight must be above zero."),
    ({"red_below": 80, "green_from": 60}, "Band edges must be ordered"),
    ({"weight_frequency": ""}, "Enter a whole number."),
])
def test_weights_form_rejects_bad_input(manager_client, catalogue, data, message):
    form = {"weight_recency": 35, "weight_frequency": 35, "weight_satisfaction": 20,
            "weight_friction": 10, "red_below": 50, "green_from": 75, **data}
    html = manager_client.post("/admin/engagement/model", data=form, headers=EN,
                               follow_redirects=True).get_data(as_text=True)
    assert message in html
    assert db.session.scalar(select(ScoringModel).where(ScoringModel.version == 2)) is None


def test_recompute_button(manager_client, staff_client, catalogue):
    who = factories.resident()
    use(who, "library-loans", days_ago=1)
    db.session.commit()
    response = manager_client.post("/admin/engagement/recompute", data={
        "next": "/admin/services/library-loans/engagement"}, headers=EN)
    assert response.headers["Location"] == "/admin/services/library-loans/engagement"
    assert db.session.get(scoring.EngagementScore, {
        "resident_id": who.id, "service_id": factories.service("library-loans").id}) is not None
    assert staff_client.post("/admin/engagement/recompute").status_code == 403


def test_every_resident_shown_in_a_list_or_export_is_in_their_access_log(manager_client,
                                                                        scored):
    lapsed = scored["lapsed"]
    manager_client.get("/admin/services/library-loans/engagement")
    manager_client.get("/admin/services/library-loans/engagement.csv",
                       query_string={"band": ""})
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "residents", AuditEntry.target_id == str(lapsed.id))))
    assert {"engagement.list_view", "engagement.exported"} <= actions


def test_csv_cells_cannot_become_spreadsheet_formulas(manager_client, scored):
    scored["lapsed"].family_name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    text = manager_client.get("/admin/services/library-loans/engagement.csv").get_data(
        as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_stray_query_arguments_do_not_break_the_page(manager_client, scored):
    response = manager_client.get("/admin/services/library-loans/engagement",
                                  query_string={"slug": "x", "_anchor": "y", "band": ""})
    assert response.status_code == 200


def test_longest_since_last_use_puts_never_used_first(manager_client, scored):
    html = manager_client.get("/admin/services/senior-bus-pass/engagement", headers=EN,
                              query_string={"band": "", "sort": "last_use"}).get_data(
        as_text=True)
    first_row = html.split("<tbody>")[-1].split("</tr>")[0]
    assert "eligible, never used" in first_row


@pytest.mark.parametrize("low, high, red, green, style", [
    (40, 50, 50, 75, "band-red"), (50, 60, 50, 75, "band-yellow"), (70, 80, 50, 75, "neutral"),
    (80, 90, 50, 75, "band-green"), (40, 50, 45, 75, "neutral"), (90, 101, 50, 90, "band-green"),
])
def test_histogram_bars_take_the_band_of_their_scores(low, high, red, green, style):
    from portal.engagement.charts import bin_style

    assert bin_style(low, high, red, green) == style


def test_360_explains_satisfaction_with_the_answers_behind_it(manager_client, scored,
                                                              count_queries):
    from tests import survey_rows

    who = scored["regular"]
    asked = survey_rows.survey("library-loans", ("csat", "nps"), title_ja="図書館の利用について",
                               title_en="")  # no English title: the Japanese one, marked
    survey_rows.respond(asked, who, {"q1": 4, "q2": 7}, at=utcnow() - timedelta(days=3))
    survey_rows.respond(asked, who, {"q1": 2}, at=utcnow() - timedelta(days=400))  # too old
    scoring.recompute(local_today())
    db.session.commit()

    def page(headers):
        html = manager_client.get(f"/admin/residents/{who.id}",
                                  headers=headers).get_data(as_text=True)
        return html.split('id="scores-title"')[1].split('id="services-title"')[0]

    with count_queries() as counter:
        section = page(EN)
    few = counter.count
    def row_of(slug, html):
        return next(r for r in html.split('class="score-row"')
                    if factories.service(slug).name_en in r)

    loans = row_of("library-loans", section)
    assert "Satisfaction: 2 survey answers in the 365 days up to" in loans
    assert "mean 72.5 of 100" in loans
    assert "Latest answers behind the satisfaction measure" in loans
    assert '<span lang="ja">図書館の利用について</span>' in loans
    assert "CSAT (satisfaction, 1–5): 4 (75 of 100)" in loans
    assert "CSAT (satisfaction, 1–5)" in loans and "NPS (likely to recommend, 0–10)" in loans
    assert "csat" not in loans.replace("CSAT", "")  # no raw code
    assert "no answers to identified surveys about this service" in row_of(
        "cancer-screening", section)
    ja = page({"Accept-Language": "ja"})
    assert "満足度：" in ja and "アンケート回答 2 件" in ja and "CSAT（満足度、1〜5）" in ja
    # more answers about more services: still the same number of queries
    for slug in ("cancer-screening",):
        survey_rows.respond(survey_rows.survey(slug, ("ces",)), who, {"q1": 6},
                            at=utcnow() - timedelta(days=2))
    scoring.recompute(local_today())
    db.session.commit()
    with count_queries() as counter:
        page(EN)
    assert counter.count == few


def test_service_page_shows_the_satisfaction_mean_and_its_n(manager_client, scored):
    from tests import survey_rows

    asked = survey_rows.survey("library-loans", ("csat",))
    survey_rows.respond(asked, scored["regular"], {"q1": 2}, at=utcnow() - timedelta(days=3))
    scoring.recompute(local_today())
    db.session.commit()
    html = manager_client.get("/admin/services/library-loans/engagement",
                              headers=EN).get_data(as_text=True)
    measures = html.split('id="measures-title"')[1].split("</table>")[0]
    row = measures.split("Satisfaction")[1].split("</tr>")[0]
    assert "25.0" in row and "(1 resident who answered)" in row
    # one resident of the ten who used it answered: satisfaction costs 0.1 · 0.2 · 75
    assert "1.5" in row
