"""The engagement model: hand-computed examples, band edges, missing measures,
eligibility, consent, trend, history, and the SQL recompute checked against the
Python reference on random data. Runs the same on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.engagement import explain, scoring, weights
from portal.engagement.models import (
    EngagementScore,
    ScoreAggregate,
    ScoreSnapshot,
    ScoringModel,
)
from portal.extensions import db
from portal.inquiries.friction import overdue_at, pending_at
from portal.inquiries.models import Inquiry
from portal.services.models import UsageEvent
from tests import factories, survey_rows
from tests.inquiry_factories import inquiry

DAY = date(2026, 6, 10)
# T: the end of DAY in the municipality's time zone (the testing default, Asia/Tokyo)
END = datetime.combine(DAY + timedelta(days=1), time.min, tzinfo=ZoneInfo("Asia/Tokyo"))


def use(who, slug, *, days_before_end: float, count: int = 1, spacing: float = 1.0):
    service = factories.service(slug)
    db.session.add_all(UsageEvent(
        resident_id=who.id, service_id=service.id, kind="use", channel="counter",
        occurred_at=END - timedelta(days=days_before_end + n * spacing), source="staff",
        idempotency_key=uuid.uuid4().hex) for n in range(count))
    db.session.flush()


def score_of(who, slug) -> EngagementScore | None:
    return db.session.get(EngagementScore, {"resident_id": who.id,
                                            "service_id": factories.service(slug).id})


def set_interval(slug: str, days: int) -> None:
    factories.service(slug).expected_interval_days = days
    db.session.flush()


def model_for(slug, actor, **w):
    values = weights.ModelValues(
        {m: w.get(m, 0) for m in ("recency", "frequency", "satisfaction", "friction")},
        w.get("red_below", 50), w.get("green_from", 75))
    return weights.save_version(actor=actor, service=factories.service(slug), values=values)


# --- the measures, by hand -------------------------------------------------------

@pytest.mark.parametrize("days, expected", [(0, 100), (30, 100), (45, 75), (60, 50),
                                            (75, 25), (90, 0), (400, 0)])
def test_recency_against_a_30_day_interval(days, expected):
    assert explain.recency(days, 30) == pytest.approx(expected)


@pytest.mark.parametrize("uses, expected", [(0, 0), (1, 100 / 3), (2, 200 / 3), (3, 100),
                                            (9, 100)])
def test_frequency_against_three_expected_uses(uses, expected):
    assert explain.frequency(uses, 30, 90) == pytest.approx(expected)


def test_window_is_ninety_days_or_one_interval():
    assert explain.window_days(21) == 90 and explain.window_days(365) == 365


def test_weighted_mean_shares_out_missing_weights():
    w = {"recency": 35, "frequency": 35, "satisfaction": 20, "friction": 10}
    everything = {"recency": 80, "frequency": 60, "satisfaction": 40, "friction": 100}
    assert explain.weighted_mean(everything, w) == pytest.approx(
        (35 * 80 + 35 * 60 + 20 * 40 + 10 * 100) / 100)
    one_missing = {**everything, "satisfaction": None}
    assert explain.weighted_mean(one_missing, w) == pytest.approx(
        (35 * 80 + 35 * 60 + 10 * 100) / 80)  # = 73.75, not a silent zero (65.0)
    two_missing = {**one_missing, "friction": None}
    assert explain.weighted_mean(two_missing, w) == pytest.approx(70.0)
    assert explain.weighted_mean({**two_missing, "recency": None, "frequency": None}, w) \
        is None


@pytest.mark.parametrize("value, band", [(0, "red"), (49.99, "red"), (50, "yellow"),
                                         (74.99, "yellow"), (75, "green"), (100, "green")])
def test_band_edges(value, band):
    assert explain.band(value, 50, 75) == band


# --- the SQL recompute, by hand ----------------------------------------------------

def test_hand_computed_score(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)  # one use, 45 days before T
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.recency, s.frequency, s.satisfaction, s.friction) == (
        75.0, pytest.approx(33.3333), None, 100.0)
    # (35·75 + 35·33.33 + 10·100) / 80: satisfaction's weight shared out
    assert s.score == pytest.approx(59.8958, abs=1e-4)
    assert s.band == "yellow" and s.reason is None
    assert s.days_since_last_use == 45.0 and s.uses_in_window == 1
    assert (s.window_days, s.interval_days, s.expected_uses) == (90, 30, 3.0)
    assert s.model.version == 1 and s.model.service_id is None


def test_uses_outside_the_window_count_for_recency_only(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=100, count=5)
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.recency, s.frequency, s.uses_in_window) == (0.0, 0.0, 0)
    assert s.score == pytest.approx(12.5)  # friction alone: 10·100 / 80


def test_events_after_the_day_are_ignored(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=-2)  # after T
    scoring.recompute(DAY)
    assert score_of(who, "library-loans") is None


def test_band_edges_in_sql_exactly_at_50_and_75(catalogue, users):
    admin = users["admin"]
    set_interval("library-loans", 45)
    model_for("library-loans", admin, frequency=100)  # score = frequency
    set_interval("waste-sorting-app", 30)
    model_for("waste-sorting-app", admin, recency=100)  # score = recency
    fifty, seventy_five, below = factories.resident(), factories.resident(), \
        factories.resident()
    use(fifty, "library-loans", days_before_end=10)  # 1 use of 2 expected: 50
    use(seventy_five, "waste-sorting-app", days_before_end=45)  # 1.5 intervals: 75
    use(below, "waste-sorting-app", days_before_end=45.01)
    scoring.recompute(DAY)
    assert (score_of(fifty, "library-loans").score, score_of(fifty, "library-loans").band) \
        == (50.0, "yellow")
    at = score_of(seventy_five, "waste-sorting-app")
    assert (at.score, at.band) == (75.0, "green")
    assert score_of(below, "waste-sorting-app").band == "yellow"


def test_eligible_residents_who_never_used_score_zero(catalogue):
    old = factories.resident(birth_year=DAY.year - 75)
    young = factories.resident(birth_year=DAY.year - 30)
    scoring.recompute(DAY)
    s = score_of(old, "senior-bus-pass")  # rule: aged 70 or over
    assert (s.score, s.band, s.reason) == (0.0, "red", "eligible_never_used")
    assert s.last_use_at is None and s.uses_in_window == 0
    assert score_of(young, "senior-bus-pass") is None
    # services without a rule are for everyone: only their users are scored
    assert score_of(old, "library-loans") is None


def test_child_under_rule_uses_the_household(catalogue):
    parent = factories.resident(birth_year=DAY.year - 35)
    child = factories.resident(birth_year=DAY.year - 2)
    factories.household(parent, child)
    lone = factories.resident(birth_year=DAY.year - 35)
    scoring.recompute(DAY)
    assert score_of(parent, "infant-health-checkup").reason == "eligible_never_used"
    assert score_of(lone, "infant-health-checkup") is None


def test_residents_without_consent_are_not_scored(catalogue):
    who = factories.resident(consent_profiling=False)
    use(who, "library-loans", days_before_end=3)
    scoring.recompute(DAY)
    assert score_of(who, "library-loans") is None


def test_withdrawing_consent_removes_old_scores(resident_client, users, catalogue):
    me = factories.resident(user_id=users["resident"].id, consent_profiling=True)
    use(me, "library-loans", days_before_end=3)
    scoring.recompute(DAY)
    db.session.commit()
    assert score_of(me, "library-loans") is not None
    resident_client.post("/my/profile", data={"given_name": "花子", "preferred_locale": "ja",
                                              "consent_outreach": "y"})
    db.session.expire_all()
    assert score_of(me, "library-loans") is None
    assert db.session.scalars(select(ScoreSnapshot).where(
        ScoreSnapshot.resident_id == me.id)).all() == []


def test_trend_and_previous_score_after_two_runs(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=5 + 40, count=3, spacing=10)
    first_day = DAY - timedelta(days=40)
    scoring.recompute(first_day)
    first = score_of(who, "library-loans").score
    assert score_of(who, "library-loans").trend == "new"
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert s.previous_score == first and s.score < first
    assert s.trend == "down"
    # 30 days before DAY the last use was 15 days old and 3 uses fell in the window:
    # the same inputs as on the first day
    assert s.score_30d_ago == first
    snapshots = db.session.scalars(select(ScoreSnapshot.as_of).where(
        ScoreSnapshot.resident_id == who.id,
        ScoreSnapshot.service_id == factories.service("library-loans").id)
        .order_by(ScoreSnapshot.as_of)).all()
    assert first_day.day == 1
    assert snapshots == [first_day]  # a month's first day is kept, other days are not


def test_a_rerun_on_the_same_day_keeps_comparing_with_the_day_before(catalogue):
    set_interval("library-loans", 7)
    who = factories.resident()
    use(who, "library-loans", days_before_end=10)  # recency falls 7 points a day
    scoring.recompute(DAY - timedelta(days=1))
    before = score_of(who, "library-loans").score
    scoring.recompute(DAY)
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert s.previous_score == before and s.trend == "down"


def test_score_30_days_ago_comes_from_the_events_not_from_earlier_runs(catalogue):
    set_interval("library-loans", 30)
    recent, newcomer = factories.resident(), factories.resident()
    use(recent, "library-loans", days_before_end=35)  # used 5 days before D − 30
    use(newcomer, "library-loans", days_before_end=10)  # nothing before D − 30
    scoring.recompute(DAY)
    assert score_of(recent, "library-loans").score_30d_ago == pytest.approx(
        round((35 * 100 + 35 * 100 / 3 + 10 * 100) / 80, 4))
    assert score_of(newcomer, "library-loans").score_30d_ago is None  # no rule: not scored then


def test_score_30_days_ago_of_a_rule_service_first_used_since(catalogue):
    # cancer screening: from age 20
    older = factories.resident(birth_year=1970, created_at=END - timedelta(days=400))
    newer = factories.resident(birth_year=1970, created_at=END - timedelta(days=10))
    for who in (older, newer):
        use(who, "cancer-screening", days_before_end=3)
    scoring.recompute(DAY)
    assert score_of(older, "cancer-screening").score_30d_ago == 0  # eligible, never used then
    assert score_of(newer, "cancer-screening").score_30d_ago is None  # not registered then


def test_an_older_day_fills_history_without_replacing_current_scores(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    scoring.recompute(DAY)
    current = score_of(who, "library-loans").score
    run = scoring.recompute(DAY - timedelta(days=60))
    assert run.replaced_current is False
    assert score_of(who, "library-loans").as_of == DAY
    assert score_of(who, "library-loans").score == current
    assert db.session.scalar(select(ScoreAggregate).where(
        ScoreAggregate.as_of == DAY - timedelta(days=60), ScoreAggregate.scope == "all"))


def test_aggregates_add_up(catalogue):
    rng = random.Random(3)
    for _ in range(25):
        who = factories.resident(birth_year=rng.randint(1940, 2010))
        for slug in rng.sample(["library-loans", "waste-sorting-app", "tax-certificate"], 2):
            use(who, slug, days_before_end=rng.uniform(0, 200), count=rng.randint(1, 6),
                spacing=rng.uniform(1, 40))
    scoring.recompute(DAY)
    rows = db.session.scalars(select(EngagementScore)).all()
    total = db.session.scalar(select(ScoreAggregate).where(
        ScoreAggregate.as_of == DAY, ScoreAggregate.scope == "all"))
    assert total.scores == len(rows)
    assert (total.red, total.yellow, total.green) == tuple(
        sum(1 for r in rows if r.band == b) for b in ("red", "yellow", "green"))
    assert sum(total.histogram) == len(rows)
    assert total.mean == pytest.approx(sum(r.score for r in rows) / len(rows))
    per_service = db.session.scalars(select(ScoreAggregate).where(
        ScoreAggregate.as_of == DAY, ScoreAggregate.scope == "service")).all()
    assert sum(a.scores for a in per_service) == total.scores
    for aggregate in per_service:
        ordered = sorted(r.score for r in rows if r.service_id == aggregate.scope_id)
        middle = len(ordered) // 2
        median = ordered[middle] if len(ordered) % 2 else \
            (ordered[middle - 1] + ordered[middle]) / 2
        assert aggregate.median == pytest.approx(median)
        assert aggregate.residents == len(ordered)
    assert total.residents == len({r.resident_id for r in rows})
    at_risk = {r.resident_id for r in rows if r.band == "red"}
    assert total.at_risk_residents == len(at_risk)
    assert total.active_90 == len({e.resident_id for e in db.session.scalars(
        select(UsageEvent)) if END - timedelta(days=90) <= e.occurred_at < END})


def test_aggregates_rewritten_alone_equal_the_recompute_s(catalogue):
    """``rewrite_aggregates`` (the step the bench times on its own) works the day's
    aggregates out again from the stored scores: the same rows as the run wrote."""
    rng = random.Random(5)
    for _ in range(15):
        who = factories.resident(birth_year=rng.randint(1940, 2010))
        for slug in rng.sample(["library-loans", "waste-sorting-app", "tax-certificate"], 2):
            use(who, slug, days_before_end=rng.uniform(0, 200), count=rng.randint(1, 6),
                spacing=rng.uniform(1, 40))
    factories.resident(consent_profiling=False)

    def stored():
        columns = [c for c in ScoreAggregate.__table__.columns
                   if c.name not in ("id", "computed_at")]
        return sorted(tuple(row) for row in db.session.execute(
            select(*columns).where(ScoreAggregate.as_of == DAY)))

    scoring.recompute(DAY)
    by_the_run = stored()
    assert by_the_run
    scoring.rewrite_aggregates(DAY)
    assert stored() == by_the_run


def test_sql_matches_the_python_reference_on_random_data(catalogue, users):
    """Same inputs, same scores: the recompute agrees with the reference model to
    four decimals, on whichever database runs the suite — usage events and survey
    answers (identified and anonymous surveys, about a service or none, every
    question type, answers inside and outside both 365-day windows) and inquiries
    (pending and resolved, inside and outside the windows)."""
    rng = random.Random(20261122)
    model_for("waste-sorting-app", users["manager"], recency=10, frequency=60, friction=30,
              red_below=40, green_from=80)  # satisfaction without weight
    model_for("sports-facility-booking", users["manager"], recency=20, frequency=20,
              satisfaction=50, friction=10)
    slugs = ["library-loans", "waste-sorting-app", "sports-facility-booking", "tax-certificate"]
    surveys = [survey_rows.survey(slug, types, anonymous=anonymous)
               for slug in [*slugs, None]
               for types, anonymous in ((("csat", "nps", "ces", "rating"), False),
                                        (("nps", "yes_no"), False), (("csat", "ces"), True))]
    scales = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7), "rating": (1, 5),
              "yes_no": (0, 1)}
    residents = []
    for n in range(40):
        who = factories.resident()
        residents.append(who)
        for slug in rng.sample(slugs, rng.randint(1, 3)):
            use(who, slug, days_before_end=rng.uniform(0.01, 500), count=rng.randint(1, 8),
                spacing=rng.uniform(0.5, 60))
        for asked in rng.sample(surveys, rng.randint(0 if n % 3 else 1, 6)):
            for _ in range(rng.randint(1, 2)):
                numbers = {q.key: rng.randint(*scales[q.type]) for q in asked.questions
                           if rng.random() < 0.8}
                survey_rows.respond(asked, who, numbers,
                                    at=at(rng.choice([rng.uniform(-5, 800),
                                                      rng.uniform(350, 400)])))
        for _ in range(rng.randint(0, 3)):  # inquiries, pending or resolved, in and out
            received = rng.uniform(-5, 150)
            item = inquiry(resident=who, service=rng.choice(slugs), received_at=at(received))
            item.status = rng.choice(["new", "open", "waiting", "resolved", "closed"])
            if item.status in ("resolved", "closed"):
                item.resolved_at = at(received - rng.uniform(0, 60))
    db.session.flush()
    scoring.recompute(DAY)
    events = db.session.scalars(select(UsageEvent)).all()
    inquiries = db.session.scalars(select(Inquiry)).all()
    answers = [(r.resident_id, r.survey.service_id, r.submitted_at, a.question.type, a.number)
               for r in db.session.scalars(select(survey_rows.Response))
               for a in r.answers if not r.survey.anonymous]
    with_satisfaction = with_friction = 0
    models = weights.models_in_force([factories.service(s) for s in slugs])
    checked = 0
    for who in residents:
        for slug in slugs:
            service = factories.service(slug)
            mine = [e.occurred_at for e in events
                    if e.resident_id == who.id and e.service_id == service.id
                    and e.occurred_at < END]
            stored = score_of(who, slug)
            if not mine:
                assert stored is None
                continue
            interval = service.expected_interval_days
            window = explain.window_days(interval)
            model: ScoringModel = models[service.id]
            said = [(when, kind, number) for rid, sid, when, kind, number in answers
                    if rid == who.id and sid == service.id and kind in ("csat", "nps", "ces")]

            def satisfied(cut, said=said):
                return [(kind, number) for when, kind, number in said
                        if cut - timedelta(days=365) <= when < cut]

            theirs = [i for i in inquiries
                      if i.resident_id == who.id and i.service_id == service.id]

            def friction(cut, theirs=theirs, window=window):
                pending = [i for i in theirs if pending_at(i, cut, window)]
                return explain.friction(len(pending),
                                        sum(1 for i in pending if overdue_at(i, cut)))

            def reference(cut, mine=mine, interval=interval, window=window, model=model):
                before = [m for m in mine if m < cut]
                if not before:
                    return None
                days = (cut - max(before)).total_seconds() / 86400
                n = sum(1 for m in before if m >= cut - timedelta(days=window))
                return explain.weighted_mean(
                    {"recency": explain.recency(days, interval),
                     "frequency": explain.frequency(n, interval, window),
                     "satisfaction": explain.satisfaction(satisfied(cut)),
                     "friction": friction(cut)}, model.weights())

            assert stored.score == pytest.approx(reference(END), abs=1e-4), (who.id, slug)
            expected = explain.satisfaction(satisfied(END))
            assert stored.satisfaction == pytest.approx(expected, abs=1e-4), (who.id, slug)
            assert stored.satisfaction_answers == len(satisfied(END))
            with_satisfaction += expected is not None
            assert stored.friction == friction(END), (who.id, slug)
            with_friction += friction(END) < 100
            then = reference(END - timedelta(days=30))
            if then is None and service.eligibility and \
                    who.created_at < END - timedelta(days=30):
                then = 0.0
            assert stored.score_30d_ago == pytest.approx(then, abs=1e-4), (who.id, slug)
            assert stored.band == explain.band(stored.score, model.red_below, model.green_from)
            assert stored.model_id == model.id
            checked += 1
    assert checked > 40 and with_satisfaction > 10 and with_friction > 5


def test_every_score_explains_itself(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)
    scoring.recompute(DAY)
    story = explain.explain(score_of(who, "library-loans"))
    lines = {line.name: line for line in story.lines}
    assert lines["satisfaction"].value is None and lines["satisfaction"].share == 0
    assert lines["recency"].share == pytest.approx(35 / 80)
    assert sum(line.points for line in story.lines) == pytest.approx(59.8958, abs=1e-3)
    assert story.weakest == "frequency"  # 35/80 · (100 − 33.3) costs the most


# --- the satisfaction measure (survey answers), by hand ------------------------------

def at(days_before_end: float) -> datetime:
    return END - timedelta(days=days_before_end)


def test_satisfaction_is_the_mean_of_the_normalised_answers(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)
    asked = survey_rows.survey("library-loans", ("csat", "nps"))
    survey_rows.respond(asked, who, {"q1": 4, "q2": 7}, at=at(20))
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.satisfaction, s.satisfaction_answers) == (72.5, 2)  # (75 + 70) / 2
    # (35·75 + 35·33.33 + 20·72.5 + 10·100) / 100: every weight in use
    assert s.score == pytest.approx(62.4167, abs=1e-4)
    lines = {line.name: line for line in explain.explain(s).lines}
    assert lines["satisfaction"].share == pytest.approx(0.2)
    assert lines["satisfaction"].points == pytest.approx(14.5)
    service = db.session.scalar(select(ScoreAggregate).where(
        ScoreAggregate.as_of == DAY, ScoreAggregate.scope == "service",
        ScoreAggregate.scope_id == factories.service("library-loans").id))
    assert service.satisfaction_mean == 72.5


@pytest.mark.parametrize("kind, number, value", [
    ("csat", 1, 0), ("csat", 2, 25), ("csat", 3, 50), ("csat", 5, 100), ("nps", 0, 0),
    ("nps", 10, 100), ("ces", 1, 0), ("ces", 4, 50), ("ces", 7, 100)])
def test_each_scale_is_normalised_to_0_100_in_sql(catalogue, kind, number, value):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    survey_rows.respond(survey_rows.survey("library-loans", (kind,)), who, {"q1": number},
                        at=at(1))
    scoring.recompute(DAY)
    assert score_of(who, "library-loans").satisfaction == pytest.approx(value)
    assert explain.satisfaction([(kind, number)]) == pytest.approx(value)


def test_answers_that_do_not_count_leave_satisfaction_missing(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)
    use(who, "waste-sorting-app", days_before_end=3)
    about_loans = survey_rows.survey("library-loans", ("csat", "nps", "rating", "yes_no"))
    survey_rows.respond(about_loans, who, {"q1": 5}, at=at(365.01))  # older than 365 days
    survey_rows.respond(about_loans, who, {"q1": 5}, at=at(-0.5))  # after T
    survey_rows.respond(about_loans, who, {"q3": 1, "q4": 0}, at=at(3))  # not CSAT/NPS/CES
    anonymous = survey_rows.survey("library-loans", ("csat",), anonymous=True)
    survey_rows.respond(anonymous, who, {"q1": 1}, at=at(3))
    # even an anonymous survey's row that (wrongly) names a resident does not count
    stray = survey_rows.respond(anonymous, who, {"q1": 1}, at=at(3))
    stray.resident_id = who.id
    survey_rows.respond(survey_rows.survey(None, ("nps",)), who, {"q1": 0}, at=at(3))  # no service
    survey_rows.respond(survey_rows.survey("waste-sorting-app", ("csat",)), who, {"q1": 1},
                        at=at(3))  # about another service
    db.session.flush()
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.satisfaction, s.satisfaction_answers) == (None, 0)
    assert s.score == pytest.approx(59.8958, abs=1e-4)  # satisfaction's weight shared out
    assert score_of(who, "waste-sorting-app").satisfaction == 0.0


def test_an_answer_exactly_365_days_before_t_counts(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    survey_rows.respond(survey_rows.survey("library-loans", ("csat",)), who, {"q1": 5},
                        at=at(365))
    scoring.recompute(DAY)
    assert score_of(who, "library-loans").satisfaction == 100.0


def test_score_30_days_ago_uses_the_satisfaction_of_then(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=35)
    asked = survey_rows.survey("library-loans", ("csat",))
    survey_rows.respond(asked, who, {"q1": 5}, at=at(10))  # since D − 30: now only
    survey_rows.respond(asked, who, {"q1": 1}, at=at(370))  # in the 365 days up to T − 30 d
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.satisfaction, s.satisfaction_answers) == (100.0, 1)
    # now: recency 91.67 (35 days), frequency 33.33, satisfaction 100
    assert s.score == pytest.approx(73.75, abs=1e-4)
    # then: recency 100 (5 days), frequency 33.33, satisfaction 0 (the CSAT 1 alone)
    assert s.score_30d_ago == pytest.approx(56.6667, abs=1e-4)


def test_an_answer_without_a_use_leaves_an_eligible_resident_at_zero(catalogue):
    old = factories.resident(birth_year=DAY.year - 75)
    survey_rows.respond(survey_rows.survey("senior-bus-pass", ("csat",)), old, {"q1": 5},
                        at=at(3))
    scoring.recompute(DAY)
    s = score_of(old, "senior-bus-pass")
    assert (s.score, s.reason, s.satisfaction, s.satisfaction_answers) == (
        0.0, "eligible_never_used", None, 0)


def test_a_model_without_satisfaction_weight_keeps_the_measure_but_not_its_points(
        catalogue, users):
    set_interval("library-loans", 30)
    model_for("library-loans", users["manager"], recency=50, frequency=50)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)
    survey_rows.respond(survey_rows.survey("library-loans", ("csat",)), who, {"q1": 1},
                        at=at(3))
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert s.satisfaction == 0.0 and s.score == pytest.approx((75 + 100 / 3) / 2, abs=1e-4)


def test_residents_without_consent_are_not_scored_for_their_answers(catalogue):
    who = factories.resident(consent_profiling=False)
    use(who, "library-loans", days_before_end=3)
    survey_rows.respond(survey_rows.survey("library-loans", ("csat",)), who, {"q1": 5},
                        at=at(3))
    scoring.recompute(DAY)
    assert score_of(who, "library-loans") is None


def test_scoring_model_validation(users, catalogue):
    admin = users["manager"]
    with force_locale("en"):
        _check_validation(admin)


def _check_validation(admin):
    for values, message in [
        ({"recency": -1, "frequency": 35, "friction": 10}, "cannot be negative"),
        ({}, "At least one weight"),
        ({"satisfaction": 100}, "Give weight to recency"),
        ({"recency": 50, "red_below": 80, "green_from": 60}, "Band edges must be ordered"),
        ({"recency": 50, "red_below": 0}, "Band edges must be ordered"),
    ]:
        with pytest.raises(weights.ModelError, match=message):
            model_for("library-loans", admin, **values)
    version = model_for("library-loans", admin, recency=50, frequency=50)
    assert version.version == 1
    assert model_for("library-loans", admin, recency=40, frequency=60).version == 2


def test_old_daily_snapshots_are_pruned_but_month_starts_kept(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=200, count=10, spacing=15)
    scoring.recompute(DAY)
    # older days fill history (each keeps its snapshot)
    days = [date(2026, 3, 1), date(2026, 3, 15), date(2026, 4, 1), date(2026, 5, 20),
            DAY - timedelta(days=20)]
    for day in days:
        scoring.recompute(day)
    removed = scoring.prune_history(DAY)
    assert removed > 0
    kept = set(db.session.scalars(select(ScoreSnapshot.as_of).distinct()))
    assert kept == {date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 20),  # within 35 days
                    DAY - timedelta(days=20)}


def test_a_recompute_without_active_services_empties_the_scores(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    scoring.recompute(DAY - timedelta(days=1))
    for service in catalogue_services():
        service.active = False
    db.session.flush()
    run = scoring.recompute(DAY)
    assert run.scores == 0 and db.session.scalars(select(EngagementScore)).all() == []
    total = db.session.scalar(select(ScoreAggregate).where(
        ScoreAggregate.as_of == DAY, ScoreAggregate.scope == "all"))
    assert total.scores == 0 and total.active_90 == 0  # activity counts active services


def catalogue_services():
    from portal.services.models import Service
    return db.session.scalars(select(Service)).all()


def test_the_swap_comes_last_and_the_lock_first(catalogue, count_queries):
    """Readers of the current scores wait (PostgreSQL) only for the swap: the old
    table is dropped after the snapshots and aggregates are written. Two runs do
    not deadlock: the lock that serialises them is taken before anything is read."""
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    scoring.recompute(DAY - timedelta(days=1))
    with count_queries() as counter:
        scoring.recompute(date(2026, 7, 1))  # a month start: also the snapshot
    statements = [" ".join(s.split()).upper() for s in counter.statements]

    def first(prefix: str) -> int:
        return next(n for n, s in enumerate(statements) if s.startswith(prefix))

    drop = first("DROP TABLE ENGAGEMENT_SCORES")
    assert drop > first("INSERT INTO SCORE_SNAPSHOTS")
    assert drop > first("INSERT INTO SCORE_AGGREGATES")
    reads_scores = first("SELECT MAX(ENGAGEMENT_SCORES.AS_OF)")
    if db.engine.dialect.name == "postgresql":
        assert first("SELECT PG_ADVISORY_XACT_LOCK") < reads_scores
