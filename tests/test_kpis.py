"""The KPIs around the score, hand-computed on a small municipality: retention (30
and 90 days), lapse and uptake among the eligible, per service, per department and
for the municipality, with the change against the previous period. Runs the same
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.engagement import kpis, scoring
from portal.engagement.models import EngagementScore, ScoreAggregate
from portal.extensions import db
from portal.services.models import UsageEvent
from tests import factories

DAY = date(2026, 6, 10)
# T: the end of DAY in the municipality's time zone (the testing default, Asia/Tokyo)
END = datetime.combine(DAY + timedelta(days=1), time.min, tzinfo=ZoneInfo("Asia/Tokyo"))


def use(who, slug, *days_before_end: float) -> None:
    service = factories.service(slug)
    db.session.add_all(UsageEvent(
        resident_id=who.id, service_id=service.id, kind="use", channel="counter",
        occurred_at=END - timedelta(days=days), source="staff",
        idempotency_key=uuid.uuid4().hex) for days in days_before_end)
    db.session.flush()


def aggregate(scope: str, scope_id: int, day: date = DAY) -> ScoreAggregate:
    return db.session.scalar(select(ScoreAggregate).where(
        ScoreAggregate.as_of == day, ScoreAggregate.scope == scope,
        ScoreAggregate.scope_id == scope_id))


def counts(row: ScoreAggregate) -> dict[str, int]:
    return {name: getattr(row, name) for name in kpis.FIGURES}


@pytest.fixture
def town(catalogue):
    """Library loans every 10 days (lapse: no use for more than 30 days after at least
    two uses in the 30 before that, days 60 to 30 before T); the senior bus pass every
    30 days (rule: aged 70 or over). Ages: 46 unless said."""
    factories.service("library-loans").expected_interval_days = 10
    factories.service("senior-bus-pass").expected_interval_days = 30
    year = DAY.year
    p = {name: factories.resident(family_name=name)
         for name in ("A", "B", "C", "D", "E", "F", "G", "H")}
    use(p["A"], "library-loans", 45, 10)  # used before the last 30 days and in them
    use(p["B"], "library-loans", 50)  # before the last 30 only...
    use(p["B"], "library-study-room", 5)  # ...but another library service in them
    use(p["C"], "library-loans", 100, 40, 35)  # regular, silent for 35 > 30 days: lapsed
    use(p["D"], "library-loans", 55, 50, 5)  # regular and still using it
    use(p["E"], "library-loans", 120)  # used 90-180 days before T, not since
    use(p["F"], "library-loans", 2)  # new: in no base
    use(p["G"], "library-loans", 58, 31)  # regular, silent for 31 days: lapsed
    use(p["H"], "library-loans", 60, 30)  # exactly at 6 and 3 intervals: regular, not lapsed
    p["S1"] = factories.resident(family_name="S1", birth_year=year - 80)
    use(p["S1"], "senior-bus-pass", 10)  # eligible, in use
    p["S2"] = factories.resident(family_name="S2", birth_year=year - 75)  # eligible, never
    p["S3"] = factories.resident(family_name="S3", birth_year=year - 72)
    use(p["S3"], "senior-bus-pass", 200)  # eligible, not in the 90-day window
    p["S4"] = factories.resident(family_name="S4", birth_year=year - 50)
    use(p["S4"], "senior-bus-pass", 5)  # uses it but the rule does not cover them
    p["S5"] = factories.resident(family_name="S5", birth_year=year - 71)
    use(p["S5"], "senior-bus-pass", 150, 125)  # regular, silent for 125 > 90 days
    return p


def test_the_inputs_per_resident_and_service(town):
    scoring.recompute(DAY)
    loans = factories.service("library-loans").id

    def inputs(name):
        s = db.session.get(EngagementScore, {"service_id": loans,
                                             "resident_id": town[name].id})
        return s.used_prev_30, s.used_prev_90, s.uses_prev_3i

    assert inputs("C") == (1, 1, 2)
    assert inputs("E") == (0, 1, 0)
    assert inputs("H") == (1, 0, 2)  # T − 60 opens both windows; T − 30 closes the lapse one


def test_retention_lapse_and_uptake_per_service(town):
    scoring.recompute(DAY)
    loans = aggregate("service", factories.service("library-loans").id)
    # retention 30: A B C D G H used it 30–60 days before T; A D H again in the last 30
    # retention 90: C E used it 90–180 days before T; C again in the last 90
    # lapse: C D G H regular (2 uses 30–60 days before T); C G silent since
    assert counts(loans) == {"prev_users_30": 6, "retained_30": 3, "prev_users_90": 2,
                             "retained_90": 1, "regular_users": 4, "lapsed": 2,
                             "eligible": 0, "eligible_users": 0}
    bus = aggregate("service", factories.service("senior-bus-pass").id)
    # eligible: S1 S2 S3 S5 (S4 is 50); in use in the 90-day window: S1
    assert counts(bus) == {"prev_users_30": 0, "retained_30": 0, "prev_users_90": 1,
                           "retained_90": 0, "regular_users": 1, "lapsed": 1,
                           "eligible": 4, "eligible_users": 1}
    shares = {f.key: f.share for f in kpis.figures([loans])}
    assert shares == {"retention_30": 0.5, "retention_90": 0.5, "lapse": 0.5,
                      "uptake": None}


def test_departments_and_the_municipality_count_each_resident_once(town, catalogue):
    scoring.recompute(DAY)
    library = aggregate("department", catalogue["library"].id)
    # B is retained by the library: the loans before, the study room now
    assert counts(library) == {"prev_users_30": 6, "retained_30": 4, "prev_users_90": 2,
                               "retained_90": 1, "regular_users": 4, "lapsed": 2,
                               "eligible": 0, "eligible_users": 0}
    welfare = aggregate("department", catalogue["welfare"].id)
    # eligible pairs: the bus pass (S1 S2 S3 S5) and care-prevention exercise (65+: the same)
    assert counts(welfare) == {"prev_users_30": 0, "retained_30": 0, "prev_users_90": 1,
                               "retained_90": 0, "regular_users": 1, "lapsed": 1,
                               "eligible": 8, "eligible_users": 1}
    everything = aggregate("all", 0)
    # eligible pairs over every service with a rule: the eight aged 46 for cancer
    # screening (20+) and the specific check-up (40–74): 16; S1 (80) and S2 (75) four
    # each (cancer, flu 65+, bus 70+, exercise 65+); S3 (72) and S5 (71) five (also the
    # check-up); S4 (50) two: 36. In use: S1's bus pass.
    assert counts(everything) == {"prev_users_30": 6, "retained_30": 4, "prev_users_90": 3,
                                  "retained_90": 1, "regular_users": 5, "lapsed": 3,
                                  "eligible": 36, "eligible_users": 1}


def test_the_lapse_condition_matches_the_counts(town):
    scoring.recompute(DAY)
    loans = factories.service("library-loans").id
    table = EngagementScore.__table__
    lapsed = db.session.scalars(select(table.c.resident_id).where(
        table.c.service_id == loans, kpis.lapsed(table))).all()
    assert sorted(lapsed) == sorted([town["C"].id, town["G"].id])


def test_residents_without_consent_are_not_in_the_kpis(town):
    town["C"].consent_profiling = False
    db.session.flush()
    scoring.recompute(DAY)
    loans = aggregate("service", factories.service("library-loans").id)
    assert (loans.prev_users_30, loans.regular_users, loans.lapsed) == (5, 3, 1)


def test_a_use_brings_a_lapsed_resident_back(town):
    use(town["C"], "library-loans", 1)
    scoring.recompute(DAY)
    loans = aggregate("service", factories.service("library-loans").id)
    assert (loans.retained_30, loans.lapsed) == (4, 1)


def test_history_days_are_computed_as_of_that_day(town):
    """A run for an older day (filling history) sees only the events known then."""
    day = DAY - timedelta(days=20)
    scoring.recompute(day)
    loans = aggregate("service", factories.service("library-loans").id, day)
    # days before T' = T − 20: A 25; B 30; C 80 20 15; D 35 30; E 100; G 38 11; H 40 10
    # (F's use is later). 30–60 days before T': D G H, all three again since (D at
    # exactly 30); 90–180: E, not since; regular (two uses 30–60 days before): D only,
    # whose last use is exactly three intervals ago: not lapsed
    assert counts(loans) == {"prev_users_30": 3, "retained_30": 3, "prev_users_90": 1,
                             "retained_90": 0, "regular_users": 1, "lapsed": 0,
                             "eligible": 0, "eligible_users": 0}


def test_change_against_the_previous_period(town):
    scoring.recompute(DAY - timedelta(days=30))
    scoring.recompute(DAY)
    history = list(db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.scope == "service",
        ScoreAggregate.scope_id == factories.service("senior-bus-pass").id)
        .order_by(ScoreAggregate.as_of)))
    figures = {f.key: f for f in kpis.figures(history)}
    uptake = figures["uptake"]
    # 30 days earlier the same four were eligible and none had used it in the 90 days
    # before (S1's use came later; S5's were 95 and 120 days before)
    assert (uptake.count, uptake.n, uptake.previous_n) == (1, 4, 4)
    assert uptake.previous_share == 0 and uptake.change == 25.0 and uptake.better is True
    lapse = figures["lapse"]
    # S5 was already regular (95 and 120 days before) and silent for more than 90 days
    assert lapse.previous_day == DAY - timedelta(days=30)
    assert (lapse.share, lapse.previous_share, lapse.change, lapse.better) == (
        1.0, 1.0, 0.0, None)
    assert figures["retention_90"].previous_day is None  # nothing 90 days earlier


@pytest.mark.parametrize("key, change, better", [
    ("lapse", -5.0, True), ("lapse", 5.0, False), ("retention_30", 5.0, True),
    ("uptake", -5.0, False), ("retention_90", 0.0, None)])
def test_whether_a_change_is_for_the_better(key, change, better):
    figure = kpis.Figure(key, count=50 + int(change), n=100, day=DAY, previous_share=0.5,
                         previous_n=100, previous_day=DAY - timedelta(days=30))
    assert figure.change == change and figure.better is better


def test_no_n_no_share():
    figure = kpis.Figure("uptake", count=0, n=0, day=DAY)
    assert figure.share is None and figure.change is None and figure.better is None


def test_summary_reads_the_stored_rows(town, count_queries):
    scoring.recompute(DAY - timedelta(days=91))
    scoring.recompute(DAY - timedelta(days=30))
    scoring.recompute(DAY)
    with count_queries() as counter:
        figures = {f.key: f for f in kpis.summary("all", 0, DAY)}
    assert counter.count == 1
    assert figures["retention_30"].previous_day == DAY - timedelta(days=30)
    assert figures["retention_90"].previous_day == DAY - timedelta(days=91)
    assert (figures["lapse"].count, figures["lapse"].n) == (3, 5)
    assert kpis.summary("all", 0, None) == []


def test_the_trends_are_drawn_from_the_stored_rows_as_svg_and_pdf(town, app):
    from reportlab.graphics import renderPDF

    from portal.charts import render_svg, table_rows, to_drawing
    from portal.engagement import charts

    scoring.recompute(DAY - timedelta(days=20))
    scoring.recompute(DAY)
    history = list(db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.scope == "service",
        ScoreAggregate.scope_id == factories.service("library-loans").id)
        .order_by(ScoreAggregate.as_of)))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        retention = charts.retention_trend(history)
        lapse = charts.lapse_and_uptake_trend(history, uptake=False)
        # 20 days earlier: 3 of 3 retained over 30 days, nobody 90–180 days before
        # but E, not retained; today 3 of 6 and 1 of 2
        assert [s.values for s in retention.series] == [[100.0, 50.0], [0.0, 50.0]]
        assert [s.values for s in lapse.series] == [[0.0, 50.0]]  # 0 of D; C G of C D G H
        assert [s.name for s in charts.lapse_and_uptake_trend(history, uptake=True).series] \
            == ["Lapse", "Uptake among the eligible"]
        assert table_rows(retention)[-1][1:] == ("50", "50")
        for chart in (retention, lapse):
            assert 'role="img"' in render_svg(chart, id_prefix="kpi")
            assert renderPDF.drawToString(to_drawing(chart)).startswith(b"%PDF")


def test_retention_where_the_clocks_changed_in_the_last_30_days(app, catalogue):
    """Where a clock change lies between D − 30 and D, the end of D − 30 is not
    T − 30 × 24 h: the pass then takes the last use before T − 30 d separately."""
    original = app.config["TIME_ZONE"]
    app.config["TIME_ZONE"] = "Europe/Berlin"  # summer time from 29 March 2026
    try:
        day = date(2026, 4, 10)
        end = datetime.combine(day + timedelta(days=1), time.min,
                               tzinfo=ZoneInfo("Europe/Berlin"))
        who, gone = factories.resident(), factories.resident()
        loans = factories.service("library-loans")
        db.session.add_all(UsageEvent(
            resident_id=r.id, service_id=loans.id, kind="use", channel="counter",
            occurred_at=end - timedelta(days=d), source="staff",
            idempotency_key=uuid.uuid4().hex) for r, d in ((who, 45), (who, 10), (gone, 50)))
        db.session.flush()
        scoring.recompute(day)
        row = aggregate("service", loans.id, day)
        assert (row.prev_users_30, row.retained_30) == (2, 1)
    finally:
        app.config["TIME_ZONE"] = original
