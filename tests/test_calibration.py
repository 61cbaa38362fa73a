"""Calibration and the preview of a model change, hand-computed on small data.

The service (library loans, its interval set to 10 days) has current scores for
DAY and a snapshot 90 days before it. Eleven residents were regular users then
— two uses in the 30 days (three intervals) before THEN's end, 5 and 20 days
before it, the lapse KPI's regular use — and are still scored. Not counted: L,
who had stopped 40 days before THEN; M, who had used it once, 5 days before THEN,
and never again (a recent user but not a regular one: M "lapsed" under a
one-use rule, and is not in the lapse KPI either); N, who withdrew consent. The
eleven's scores then, and whether they lapsed by DAY (no use for more than 30
days):

    lapsed      K 5   A 20   C 40   D 60   G 80
    not lapsed  B 20  J 55   E 60   F 80   H 95   I 100

Ranks by score (ties share the midrank): 5→1, 20→2.5, 40→4, 55→5, 60→6.5,
80→8.5, 95→10, 100→11. Rank sum of the not lapsed R0 = 2.5 + 5 + 6.5 + 8.5 + 10
+ 11 = 43.5; U0 = R0 − 6·7/2 = 22.5; AUC = 22.5 / (6 · 5) = 0.75.
By band (red < 50 ≤ yellow < 75 ≤ green): red K A B C → 3 of 4 lapsed; yellow
J D E → 1 of 3; green F G H I → 1 of 4.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.engagement import calibration, scoring, weights
from portal.engagement.models import EngagementScore, ScoreSnapshot, ScoringModel
from portal.extensions import db
from portal.services.models import UsageEvent
from tests import factories

DAY = date(2026, 6, 10)
THEN = DAY - timedelta(days=90)
EN = {"Accept-Language": "en"}
SLUG = "library-loans"

# name: (score then, band then, days before the end of DAY of the later use or None)
PEOPLE = {
    "K": (5, "red", None), "A": (20, "red", None), "C": (40, "red", None),
    "D": (60, "yellow", 50), "G": (80, "green", None),
    "B": (20, "red", 2), "J": (55, "yellow", 3), "E": (60, "yellow", 10),
    "F": (80, "green", 15), "H": (95, "green", 1), "I": (100, "green", 4),
}
LAPSED = {"K", "A", "C", "D", "G"}


def use(who, service, end, days_before: float) -> None:
    db.session.add(UsageEvent(resident_id=who.id, service_id=service.id, kind="use",
                              channel="counter", occurred_at=end - timedelta(days=days_before),
                              source="staff", idempotency_key=uuid.uuid4().hex))


def snapshot(who, service, day, score, band, model_id) -> None:
    db.session.add(ScoreSnapshot(as_of=day, service_id=service.id, resident_id=who.id,
                                 score=score, band=band, model_id=model_id))


@pytest.fixture
def history(catalogue):
    """The residents above, their events, the snapshot of THEN and DAY's scores."""
    service = factories.service(SLUG)
    service.expected_interval_days = 10
    default = weights.ensure_default()
    end_then, end_now = calibration.day_end(THEN), calibration.day_end(DAY)
    people = {}
    for name, (score, band, later) in PEOPLE.items():
        who = people[name] = factories.resident(given_name=name)
        use(who, service, end_then, 5)  # a regular user then: two uses in 30 days
        use(who, service, end_then, 20)
        if later is not None:
            use(who, service, end_now, later)
        snapshot(who, service, THEN, score, band, default.id)
    stopped = people["L"] = factories.resident(given_name="L")  # stopped 40 days before THEN
    use(stopped, service, end_then, 40)
    snapshot(stopped, service, THEN, 12.5, "red", default.id)
    once = people["M"] = factories.resident(given_name="M")  # one use then: not regular
    use(once, service, end_then, 5)
    snapshot(once, service, THEN, 61.1, "yellow", default.id)
    withdrew = people["N"] = factories.resident(given_name="N")
    use(withdrew, service, end_then, 3)
    use(withdrew, service, end_then, 8)
    snapshot(withdrew, service, THEN, 61.1, "yellow", default.id)
    db.session.flush()
    withdrew.consent_profiling = False
    # other snapshot days: farther from DAY − 90 (chosen: THEN), or out of range
    other = factories.service("cancer-screening")
    snapshot(people["A"], other, DAY - timedelta(days=80), 50, "yellow", default.id)
    snapshot(people["A"], other, DAY - timedelta(days=110), 50, "yellow", default.id)
    db.session.flush()
    scoring.recompute(DAY)
    return people


def test_horizon_is_the_snapshot_nearest_ninety_days_back(history):
    span = calibration.horizon()
    assert (span.then, span.now, span.days) == (THEN, DAY, 90)


def test_no_history_when_no_snapshot_is_75_to_105_days_back(catalogue):
    service = factories.service(SLUG)
    who = factories.resident()
    snapshot(who, service, DAY - timedelta(days=40), 50, "yellow", weights.ensure_default().id)
    use(who, service, calibration.day_end(DAY), 1)
    db.session.flush()
    scoring.recompute(DAY)
    assert calibration.horizon() is None
    result = calibration.for_service(service)
    assert result.span is None and result.current is None


def test_lapse_by_band_and_decile_and_the_auc_with_ties(history):
    result = calibration.for_service(factories.service(SLUG))
    current = result.current
    assert [(m.service_id, m.version) for m in result.stored_models] == [(None, 1)]
    assert result.previous is None  # the default's first version has none before it
    assert not current.rescored  # the stored scores: made by this very version
    assert (current.lapsed, current.kept) == (5, 6)
    assert current.auc == pytest.approx(0.75)
    assert [(r.key, r.n, r.lapsed) for r in current.bands] == [
        ("red", 4, 3), ("yellow", 3, 1), ("green", 4, 1)]
    assert current.bands[0].share == pytest.approx(0.75)
    assert [(r.n, r.lapsed) for r in current.deciles] == [
        (1, 1), (0, 0), (2, 1), (0, 0), (1, 1), (1, 0), (2, 1), (0, 0), (2, 1), (2, 0)]
    assert current.deciles[9].key == "90–100"


@pytest.mark.parametrize("days_before, counted", [
    (25, True),  # M's second use in the 30 days before THEN's end: regular then
    (31, False),  # more than three intervals before: still a single use in the window
])
def test_only_regular_users_then_are_counted(history, days_before, counted):
    """M used the service once, 5 days before THEN, and never again: not a regular
    user, so not counted. A second use within three intervals before THEN makes M
    a regular user who lapsed: 6 lapsed of 12, M's 61.1 then is yellow (2 of 4).
    Ranks: 5→1, 20→2.5, 40→4, 55→5, 60→6.5, 61.1→8, 80→9.5, 95→11, 100→12; the
    not lapsed R0 = 2.5 + 5 + 6.5 + 9.5 + 11 + 12 = 46.5, U0 = 46.5 − 21 = 25.5,
    AUC = 25.5 / 36."""
    service = factories.service(SLUG)
    use(history["M"], service, calibration.day_end(THEN), days_before)
    db.session.flush()
    current = calibration.for_service(service).current
    if counted:
        assert (current.lapsed, current.kept) == (6, 6)
        assert [(r.key, r.n, r.lapsed) for r in current.bands] == [
            ("red", 4, 3), ("yellow", 4, 2), ("green", 4, 1)]
        assert current.auc == pytest.approx(25.5 / 36)
    else:
        assert (current.lapsed, current.kept) == (5, 6)


def test_not_enough_data_below_the_minimum(history):
    span = calibration.horizon()
    service = factories.service(SLUG)
    model = weights.models_in_force([service])[service.id]
    small = calibration.calibrate([(service, model)], span, minimum=6)  # only 5 lapsed
    assert small.auc is None and not small.enough and small.n == 11


def test_a_new_version_is_rescored_and_the_previous_one_kept(history, users):
    """Recency alone: on THEN every regular user had last used it 5 days before
    (recency 100), so every score is 100 — all green, all tied: AUC 0.5 exactly."""
    service = factories.service(SLUG)
    weights.save_version(actor=users["manager"], service=service, values=weights.ModelValues(
        {"recency": 100, "frequency": 0, "satisfaction": 0, "friction": 0}, 50, 75))
    result = calibration.for_service(service)
    assert result.current.rescored and result.current.model.version == 1
    assert result.current.model.service_id == service.id
    assert [(r.n, r.lapsed) for r in result.current.bands] == [(0, 0), (0, 0), (11, 5)]
    assert result.current.deciles[9].n == 11
    assert result.current.auc == pytest.approx(0.5)
    assert result.previous.model.service_id is None  # the default it had before
    assert not result.previous.rescored and result.previous.auc == pytest.approx(0.75)


def test_calibration_page_shows_the_figures_and_the_date(manager_client, history):
    html = manager_client.get(f"/admin/services/{SLUG}/calibration",
                              headers=EN).get_data(as_text=True)
    assert "Calibration: " in html
    assert "Mar 12, 2026" in html  # THEN, the snapshot the figures are from
    assert "Area under the ROC curve: 0.75 (lapsed: 5, not lapsed: 6)." in html
    assert "75%" in html and "33%" in html and "25%" in html
    assert "default model, version 1" in html
    assert "who were regular users of this service about 90 days ago" in html
    assert "at least twice in the 30 days before it (regular users then)" in html


def test_calibration_page_says_when_there_is_no_history(manager_client, catalogue):
    html = manager_client.get(f"/admin/services/{SLUG}/calibration",
                              headers=EN).get_data(as_text=True)
    assert "No history yet" in html and "75 to 105 days" in html


def test_engagement_page_links_to_calibration_for_managers_only(
        manager_client, staff_client, history):
    link = f"/admin/services/{SLUG}/calibration"
    assert link in manager_client.get(f"/admin/services/{SLUG}/engagement").get_data(
        as_text=True)
    assert link not in staff_client.get(f"/admin/services/{SLUG}/engagement").get_data(
        as_text=True)


def test_rescored_bands_of_the_current_weights_match_the_recompute(history):
    """The preview's set-based re-weighting, with the weights in force, moves nobody."""
    service = factories.service(SLUG)
    model = weights.models_in_force([service])[service.id]
    values = weights.ModelValues(model.weights(), model.red_below, model.green_from)
    total, changes = calibration.band_changes([service.id], values)
    assert (total, changes) == (13, [])  # the eleven, L and M (N is not scored)


FORM = {"weight_recency": 35, "weight_frequency": 35, "weight_satisfaction": 20,
        "weight_friction": 10, "red_below": 50, "green_from": 75, "note": "try"}


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(table))
                 for table in (ScoringModel, EngagementScore, ScoreSnapshot))


@pytest.mark.parametrize("entered, moves", [
    # DAY's scores (default model): the lapsed, L and M are red (12.5, D 17.4); B, E, H,
    # I, J 61.1 and F 50.2 (used 15 days before: recency 75) are yellow
    ({"red_below": 55, "green_from": 60},
     [("yellow", "red", 1), ("yellow", "green", 5)]),
    ({"weight_recency": 100, "weight_frequency": 0, "weight_satisfaction": 0,
      "weight_friction": 0}, [("yellow", "green", 6)]),  # F: recency 75 ≥ 75
])
def test_preview_shows_band_changes_and_saves_nothing(manager_client, history, entered, moves):
    service = factories.service(SLUG)
    before = counts()
    span = calibration.horizon()
    values = weights.ModelValues(
        {m: {**FORM, **entered}[f"weight_{m}"] for m in
         ("recency", "frequency", "satisfaction", "friction")},
        {**FORM, **entered}["red_below"], {**FORM, **entered}["green_from"])
    result = calibration.preview(service, values)
    assert result.total == 13
    assert [(c.before, c.after, c.n) for c in result.changes] == moves
    assert result.span == span and result.now.auc == pytest.approx(0.75)

    response = manager_client.post(f"/admin/services/{SLUG}/scoring",
                                   data={**FORM, **entered, "preview": "Preview"}, headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    changed = sum(n for _, _, n in moves)
    assert f"With these values {changed} of 13 current scores would change band." in html
    assert "Preview: nothing has been saved" in html
    assert f'value="{entered.get("red_below", 50)}"' in html  # the entered values stay
    assert 'value="try"' in html
    assert counts() == before
    assert weights.latest(service.id) is None


def test_preview_calibration_with_new_weights(manager_client, history):
    """Edges 55/60 with the default weights: on THEN every regular user scored 65.97
    (two uses, the last 5 days before: recency 100, frequency 2 · 100 · 10/90 = 22.2,
    friction 100: (35 · 100 + 35 · 22.2 + 10 · 100) / 80) — all green, AUC 0.5."""
    html = manager_client.post(f"/admin/services/{SLUG}/scoring", data={
        **FORM, "red_below": 55, "green_from": 60, "preview": "Preview"},
        headers=EN).get_data(as_text=True)
    assert "Area under the ROC curve: 0.75 (lapsed: 5, not lapsed: 6)." in html  # in force
    assert "Area under the ROC curve: 0.50 (lapsed: 5, not lapsed: 6)." in html  # new
    assert "45%" in html  # 5 of 11 lapsed in green


def test_preview_of_the_default_covers_the_services_that_use_it(manager_client, history):
    html = manager_client.post("/admin/engagement/model", data={
        **FORM, "red_below": 55, "green_from": 60, "preview": "Preview"},
        headers=EN).get_data(as_text=True)
    assert "Services that use the default model:" in html
    assert "would change band" in html
    assert db.session.scalar(select(func.count()).select_from(ScoringModel)) == 1


def test_preview_refuses_unordered_edges(manager_client, history):
    html = manager_client.post(f"/admin/services/{SLUG}/scoring", data={
        **FORM, "red_below": 80, "green_from": 60, "preview": "Preview"},
        headers=EN).get_data(as_text=True)
    assert "Band edges must be ordered" in html
    assert "Preview: nothing has been saved" not in html


def test_model_form_does_not_prefill_the_reason_for_change(manager_client, history):
    manager_client.post(f"/admin/services/{SLUG}/scoring", data=FORM, headers=EN)
    assert weights.latest(factories.service(SLUG).id).note == "try"
    html = manager_client.get(f"/admin/services/{SLUG}/scoring",
                              headers=EN).get_data(as_text=True)
    assert 'value="try"' not in html
    assert 'value="35"' in html  # the weights in force are still filled in


def test_calibration_page_in_japanese(manager_client, history):
    html = manager_client.get(f"/admin/services/{SLUG}/calibration",
                              headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "予測精度の検証" in html
    assert "ROC曲線下面積（AUC）：0.75（離脱 5人、継続 6人）。" in html
    assert ">red<" not in html and ">赤<" in html  # bands by their labels, not codes
    assert "約90日前にこのサービスの定期利用者だった住民" in html


def test_calibration_queries_do_not_grow_with_the_residents(manager_client, history,
                                                            count_queries):
    url = f"/admin/services/{SLUG}/calibration"
    manager_client.get(url)
    with count_queries() as few:
        manager_client.get(url)
    service = factories.service(SLUG)
    default = weights.ensure_default()
    end_then = calibration.day_end(THEN)
    for n in range(20):  # twenty more regular users then
        who = factories.resident(given_name=f"X{n}")
        use(who, service, end_then, 2)
        use(who, service, end_then, 12)
        snapshot(who, service, THEN, 50, "yellow", default.id)
    db.session.flush()
    scoring.recompute(DAY)
    with count_queries() as many:
        assert "lapsed: 25" in manager_client.get(url, headers=EN).get_data(as_text=True)
    assert many.count == few.count


def test_preview_of_the_default_when_no_service_uses_it(manager_client, history, users):
    from portal.services.models import Service

    own = weights.ModelValues({"recency": 50, "frequency": 50, "satisfaction": 0,
                               "friction": 0}, 50, 75)
    for service in db.session.scalars(select(Service).where(Service.active.is_(True))):
        weights.save_version(actor=users["manager"], service=service, values=own)
    html = manager_client.post("/admin/engagement/model", data={**FORM, "preview": "Preview"},
                               headers=EN).get_data(as_text=True)
    assert "No active service uses the default model." in html
    assert "There are no current scores to compare with yet." in html
    assert "No history yet" not in html


def test_preview_needs_the_csrf_token(manager_client, history, csrf_on):
    html = manager_client.post(f"/admin/services/{SLUG}/scoring",
                               data={**FORM, "preview": "Preview"},
                               headers=EN).get_data(as_text=True)
    assert "Preview: nothing has been saved" not in html
    page = manager_client.get(f"/admin/services/{SLUG}/scoring", headers=EN)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    token = token.split('"')[0]
    html = manager_client.post(f"/admin/services/{SLUG}/scoring",
                               data={**FORM, "preview": "Preview", "csrf_token": token},
                               headers=EN).get_data(as_text=True)
    assert "Preview: nothing has been saved" in html


def test_a_rescored_version_takes_the_satisfaction_known_on_the_snapshot_day(history, users):
    """Satisfaction 90, friction 10: re-scored on THEN, K (a CSAT 1 the month before
    THEN: satisfaction 0) scores 10 — red; everyone else has no answer before THEN
    (B's CSAT 1 came later, A's survey was anonymous): friction alone, 100, green."""
    from tests import survey_rows

    service = factories.service(SLUG)
    end_then = calibration.day_end(THEN)
    asked = survey_rows.survey(SLUG, ("csat",))
    survey_rows.respond(asked, history["K"], {"q1": 1}, at=end_then - timedelta(days=30))
    survey_rows.respond(asked, history["B"], {"q1": 1}, at=end_then + timedelta(days=2))
    survey_rows.respond(survey_rows.survey(SLUG, ("csat",), anonymous=True), history["A"],
                        {"q1": 1}, at=end_then - timedelta(days=30))
    weights.save_version(actor=users["manager"], service=service, values=weights.ModelValues(
        {"recency": 0, "frequency": 0, "satisfaction": 90, "friction": 10}, 50, 75))
    result = calibration.for_service(service)
    assert result.current.rescored
    assert [(r.n, r.lapsed) for r in result.current.bands] == [(1, 1), (0, 0), (10, 4)]
    assert result.current.deciles[1].n == 1 and result.current.deciles[9].n == 10
