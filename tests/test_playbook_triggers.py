"""Each playbook trigger with hand-built data on its boundaries: who is a
candidate, with which figures, and who not (erased residents never); one row per
(resident, service); ``holding`` against ``candidates``; one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.engagement.models import ScoreSnapshot
from portal.engagement.scoring import NEVER_USED
from portal.extensions import db
from portal.inquiries.models import InquiryStatus
from portal.playbooks import triggers
from portal.playbooks.triggers import CANDIDATE_COLUMNS, RECOVERS, candidates, holding
from portal.residents.models import LifeEvent
from portal.surveys.models import Response
from tests import factories, inquiry_factories, survey_factories
from tests import playbook_factories as pf

# 20:00 UTC on 14 June is 05:00 on 15 June in Tokyo: the local day is the 15th
NOW = datetime(2026, 6, 14, 20, 0, tzinfo=UTC)
TODAY = date(2026, 6, 15)
HOUR = timedelta(hours=1)


def rows(playbook, now=NOW, *, only_trigger: bool = False) -> dict[tuple, dict]:
    """The candidates (or the holding rows) by (resident_id, service_id), checked
    for the contract's columns and for being distinct."""
    query = (holding if only_trigger else candidates)(playbook, now)
    result = db.session.execute(query)
    assert tuple(result.keys()) == CANDIDATE_COLUMNS
    found = [dict(row._mapping) for row in result]
    keyed = {(row["resident_id"], row["service_id"]): row for row in found}
    assert len(keyed) == len(found), "rows are not distinct per (resident, service)"
    return keyed


def ids(playbook, now=NOW, **kwargs) -> set[int]:
    return {resident for resident, _ in rows(playbook, now, **kwargs)}


def erased(**values):
    return factories.resident(anonymised_at=NOW - timedelta(days=400), family_name="",
                              given_name="", **values)


def service_id(slug: str = "library-loans") -> int:
    return factories.service(slug).id


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


def test_every_trigger_has_a_query_and_a_recovery_rule():
    from portal.playbooks.definition import TRIGGERS

    assert set(triggers.TRIGGER_QUERIES) == set(TRIGGERS) == set(RECOVERS)


def test_band(library):
    red, yellow, gone = factories.resident(), factories.resident(), erased()
    pf.score(red, "library-loans", "red", value=31.5, recency=10.0)
    pf.score(yellow, "library-loans", "yellow")
    pf.score(gone, "library-loans", "red")
    pf.score(yellow, "library-study-room", "red")  # another service
    found = rows(pf.playbook(library, params={"band": "red"}))
    assert list(found) == [(red.id, service_id())]
    row = found[(red.id, service_id())]
    assert (row["score"], row["band"], row["recency"]) == (31.5, "red", 10.0)
    assert row["trigger_value"] is None and row["trigger_ref"] is None


def snapshot(resident, day: date, score: float, slug: str = "library-loans"):
    db.session.add(ScoreSnapshot(as_of=day, service_id=service_id(slug),
                                 resident_id=resident.id, score=score, band="green",
                                 model_id=1))
    db.session.flush()


def test_score_fall_against_the_latest_snapshot_at_least_the_days_old(library):
    fell, almost, missing = (factories.resident() for _ in range(3))
    gone = erased()
    cutoff = TODAY - timedelta(days=30)
    for who, then, now in ((fell, 70.0, 60.0), (almost, 69.99, 60.0), (gone, 90.0, 10.0)):
        snapshot(who, cutoff, then)
        pf.score(who, "library-loans", value=now)
    pf.score(missing, "library-loans", value=10.0)
    for who in (fell, almost, missing, gone):
        snapshot(who, cutoff + timedelta(days=1), 100.0)  # too recent: not the day
        snapshot(who, cutoff - timedelta(days=10), 100.0)  # older than the day
    found = rows(pf.playbook(library, trigger="score_fall", params={"points": 10, "days": 30}))
    assert list(found) == [(fell.id, service_id())]
    assert found[(fell.id, service_id())]["trigger_value"] == pytest.approx(10.0)
    assert found[(fell.id, service_id())]["score"] == 60.0


def test_score_fall_compares_with_the_latest_snapshot_day_only(library):
    who, other = factories.resident(), factories.resident()
    pf.score(who, "library-loans", value=50.0)
    pf.score(other, "library-loans", value=50.0)
    snapshot(who, TODAY - timedelta(days=35), 80.0)
    snapshot(other, TODAY - timedelta(days=35), 80.0)
    playbook = pf.playbook(library, trigger="score_fall", params={"points": 20, "days": 30})
    assert set(rows(playbook)) == {(who.id, service_id()), (other.id, service_id())}
    assert rows(playbook)[(who.id, service_id())]["trigger_value"] == pytest.approx(30.0)
    # a later snapshot day (a run writes every service's): who has none of the
    # service on it is not compared with an older one
    snapshot(who, TODAY - timedelta(days=31), 75.0)
    snapshot(other, TODAY - timedelta(days=31), 60.0, slug="library-study-room")
    assert rows(playbook)[(who.id, service_id())]["trigger_value"] == pytest.approx(25.0)
    assert (other.id, service_id()) not in rows(playbook)


def test_score_fall_without_a_snapshot_that_old_is_nobody(library):
    who = factories.resident()
    pf.score(who, "library-loans", value=10.0)
    snapshot(who, TODAY - timedelta(days=29), 100.0)
    playbook = pf.playbook(library, trigger="score_fall", params={"points": 5, "days": 30})
    assert rows(playbook) == {}


def test_no_use_for_days(library):
    at, before, never, gone = (factories.resident(), factories.resident(),
                               factories.resident(), erased())
    last = NOW - timedelta(days=100)
    pf.score(at, "library-loans", days_since_last_use=90.0, last_use_at=last)
    pf.score(before, "library-loans", days_since_last_use=89.99, last_use_at=last)
    pf.score(never, "library-loans", reason=NEVER_USED)
    pf.score(gone, "library-loans", days_since_last_use=300.0, last_use_at=last)
    found = rows(pf.playbook(library, trigger="no_use", params={"days": 90}))
    assert list(found) == [(at.id, service_id())]
    assert found[(at.id, service_id())]["trigger_value"] == 90.0


def test_no_use_for_more_than_intervals(library):
    over, at = factories.resident(), factories.resident()
    last = NOW - timedelta(days=100)
    pf.score(over, "library-loans", days_since_last_use=90.01, last_use_at=last,
             interval_days=30)
    pf.score(at, "library-loans", days_since_last_use=90.0, last_use_at=last, interval_days=30)
    found = rows(pf.playbook(library, trigger="no_use", params={"intervals": 3}))
    assert list(found) == [(over.id, service_id())]


def test_never_used(library):
    never, used, gone = factories.resident(), factories.resident(), erased()
    pf.score(never, "library-loans", reason=NEVER_USED, value=0.0)
    pf.score(used, "library-loans", days_since_last_use=400.0, last_use_at=NOW)
    pf.score(gone, "library-loans", reason=NEVER_USED, value=0.0)
    assert ids(pf.playbook(library, trigger="never_used", params={})) == {never.id}


def test_new_resident_within_the_days(library):
    inside = factories.resident(created_at=NOW - timedelta(days=30) + HOUR)
    outside = factories.resident(created_at=NOW - timedelta(days=30) - HOUR)
    erased(created_at=NOW - timedelta(days=1))
    playbook = pf.playbook(library, service=None, trigger="new_resident", params={"days": 30})
    found = rows(playbook)
    assert list(found) == [(inside.id, None)]
    row = found[(inside.id, None)]
    assert row["trigger_value"] == 29.0  # whole days since the record was made
    assert row["score"] is None and row["band"] is None
    assert outside.id not in ids(playbook)


def test_new_resident_with_a_service_takes_its_score_if_any(library):
    scored = factories.resident(created_at=NOW - timedelta(days=2))
    unscored = factories.resident(created_at=NOW - 2 * HOUR)
    pf.score(scored, "library-loans", "yellow", value=55.0)
    playbook = pf.playbook(library, trigger="new_resident", params={"days": 7})
    found = rows(playbook)
    assert set(found) == {(scored.id, service_id()), (unscored.id, service_id())}
    assert (found[(scored.id, service_id())]["score"],
            found[(scored.id, service_id())]["band"]) == (55.0, "yellow")
    assert found[(unscored.id, service_id())]["score"] is None
    assert found[(unscored.id, service_id())]["trigger_value"] == 0.0


def answer(survey, resident, submitted_at, *, detractor=True) -> Response:
    item = Response(survey_id=survey.id, resident_id=resident.id, channel="web",
                    submission_key=uuid.uuid4().hex, submitted_at=submitted_at,
                    detractor=detractor)
    db.session.add(item)
    db.session.flush()
    return item


def test_detractor_latest_answer_within_the_days(library):
    about = survey_factories.survey(library, service_id=service_id())
    other = survey_factories.survey(library, service_id=service_id("library-study-room"))
    anonymous = survey_factories.survey(library, service_id=service_id(), anonymous=True)
    twice, late, happy, elsewhere = (factories.resident() for _ in range(4))
    first = answer(about, twice, NOW - timedelta(days=20))
    latest = answer(about, twice, NOW - timedelta(days=3))
    answer(about, late, NOW - timedelta(days=30) - HOUR)
    edge = factories.resident()
    on_edge = answer(about, edge, NOW - timedelta(days=30) + HOUR)
    answer(about, happy, NOW - timedelta(days=1), detractor=False)
    answer(other, elsewhere, NOW - timedelta(days=1))
    answer(about, erased(), NOW - timedelta(days=1))
    anon = factories.resident()
    answer(anonymous, anon, NOW - timedelta(days=1))
    pf.score(twice, "library-loans", "red", value=20.0)
    found = rows(pf.playbook(library, trigger="detractor", params={"days": 30}))
    assert set(found) == {(twice.id, service_id()), (edge.id, service_id())}
    assert found[(twice.id, service_id())]["trigger_ref"] == latest.id != first.id
    assert found[(twice.id, service_id())]["score"] == 20.0
    assert found[(edge.id, service_id())]["trigger_ref"] == on_edge.id
    assert found[(edge.id, service_id())]["score"] is None
    # without a service: a detractor about anything, one row per resident
    anything = rows(pf.playbook(library, service=None, trigger="detractor",
                                params={"days": 30}, name_en="Any"))
    assert set(anything) == {(twice.id, None), (edge.id, None), (elsewhere.id, None)}


def overdue(resident, due_at, *, slug="library-loans", status=None):
    item = inquiry_factories.inquiry(resident=resident, service=slug,
                                     received_at=due_at - timedelta(days=5))
    item.due_at = due_at
    if status:
        item.status = status
    db.session.flush()
    return item


def test_inquiry_overdue_by_at_least_the_days(library):
    two, almost, resolved, elsewhere = (factories.resident() for _ in range(4))
    older = overdue(two, NOW - timedelta(days=5))
    overdue(two, NOW - timedelta(days=3))
    overdue(almost, NOW - timedelta(days=2) + HOUR)
    overdue(resolved, NOW - timedelta(days=9), status=InquiryStatus.RESOLVED)
    other = overdue(elsewhere, NOW - timedelta(days=4), slug="library-study-room")
    edge = factories.resident()
    overdue(edge, NOW - timedelta(days=2) - HOUR)
    overdue(erased(), NOW - timedelta(days=9))
    found = rows(pf.playbook(library, trigger="inquiry_overdue", params={"days": 2}))
    assert set(found) == {(two.id, service_id()), (edge.id, service_id())}
    assert found[(two.id, service_id())]["trigger_ref"] == older.id
    assert found[(two.id, service_id())]["trigger_value"] == 5.0
    assert found[(edge.id, service_id())]["trigger_value"] == 2.0
    anything = rows(pf.playbook(library, service=None, trigger="inquiry_overdue",
                                params={"days": 2}, name_en="Any"))
    assert set(anything) == {(two.id, None), (edge.id, None), (elsewhere.id, None)}
    assert anything[(elsewhere.id, None)]["trigger_ref"] == other.id


def event(resident, kind, day) -> LifeEvent:
    item = LifeEvent(resident_id=resident.id, kind=kind, occurred_on=day, source="import")
    db.session.add(item)
    db.session.flush()
    return item


def test_life_event_within_the_days_in_local_dates(library):
    edge, late, future, other_kind, twice = (factories.resident() for _ in range(5))
    on_edge = event(edge, "child_born", TODAY - timedelta(days=30))
    event(late, "child_born", TODAY - timedelta(days=31))
    event(future, "child_born", TODAY + timedelta(days=1))
    event(other_kind, "moved_in", TODAY)
    event(twice, "child_born", TODAY - timedelta(days=20))
    today = event(twice, "child_born", TODAY)  # the local day, one day after UTC's
    event(erased(), "child_born", TODAY)
    playbook = pf.playbook(library, service=None, trigger="life_event",
                           params={"event": "child_born", "days": 30})
    found = rows(playbook)
    assert set(found) == {(edge.id, None), (twice.id, None)}
    assert (found[(edge.id, None)]["trigger_ref"],
            found[(edge.id, None)]["trigger_value"]) == (on_edge.id, 30.0)
    assert (found[(twice.id, None)]["trigger_ref"],
            found[(twice.id, None)]["trigger_value"]) == (today.id, 0.0)


def test_manual_is_nobody(library):
    pf.score(factories.resident(), "library-loans", "red")
    assert rows(pf.playbook(library, trigger="manual", params={})) == {}


def test_holding_ignores_the_conditions_candidates_do_not(library):
    central, east = factories.resident(), factories.resident(district="東町")
    for who in (central, east):
        pf.score(who, "library-loans", "red")
    playbook = pf.playbook(library, conditions={"districts": ["東町"]})
    assert ids(playbook, only_trigger=True) == {central.id, east.id}
    assert ids(playbook) == {east.id}


def every_trigger(library):
    """One playbook per trigger (with every condition), each with a candidate."""
    young = factories.resident(birth_year=2020)
    who = factories.resident(created_at=NOW - timedelta(days=1), consent_outreach=True)
    factories.household(who, young)
    factories.events(who, "library-study-room")
    pf.score(who, "library-study-room", "green")
    pf.score(who, "library-loans", "red", value=10.0, days_since_last_use=100.0,
             last_use_at=NOW - timedelta(days=100))
    snapshot(who, TODAY - timedelta(days=40), 90.0)
    answer(survey_factories.survey(library, service_id=service_id()), who, NOW - HOUR)
    overdue(who, NOW - timedelta(days=3))
    event(who, "moved_in", TODAY)
    conditions = {"districts": ["中央"], "age_bands": ["40-64"], "locales": ["ja"],
                  "child_under": 10, "used_service": service_id("library-study-room"),
                  "other_band": {"service_id": service_id("library-study-room"),
                                 "band": "green"},
                  "consent_profiling": True, "consent_outreach": True}
    params = {"band": {"band": "red"}, "score_fall": {"points": 50, "days": 30},
              "no_use": {"days": 90}, "never_used": {}, "new_resident": {"days": 7},
              "detractor": {"days": 7}, "inquiry_overdue": {"days": 1},
              "life_event": {"event": "moved_in", "days": 7}, "manual": {}}
    return who, [pf.playbook(library, trigger=code, params=params[code], conditions=conditions,
                             name_en=code) for code in params]


def test_each_trigger_is_one_statement_with_all_the_conditions(library, count_queries):
    who, playbooks = every_trigger(library)
    expected = {"never_used": set(), "manual": set()}
    for playbook in playbooks:
        with count_queries() as counter:
            found = db.session.execute(candidates(playbook, NOW)).all()
        assert counter.count == 1, (playbook.trigger, counter.statements)
        assert {row.resident_id for row in found} == expected.get(playbook.trigger, {who.id}), \
            playbook.trigger


def test_erased_residents_are_never_candidates(library):
    who, playbooks = every_trigger(library)
    assert any(rows(playbook) for playbook in playbooks)
    who.anonymised_at = NOW - timedelta(days=1)
    db.session.flush()
    for playbook in playbooks:
        assert rows(playbook) == {}, playbook.trigger
        assert rows(playbook, only_trigger=True) == {}, playbook.trigger


def test_candidates_compose_into_an_insert_select(library):
    """What the evaluation does with them: a subquery of a bigger statement."""
    who = factories.resident()
    pf.score(who, "library-loans", "red")
    sub = candidates(pf.playbook(library), NOW).subquery()
    assert db.session.execute(select(sub.c.resident_id)).scalars().all() == [who.id]


def test_the_selection_composes_every_trigger(library):
    """``selection.entering`` and ``skipped`` (the evaluation's and the dry run's
    statements) run over each trigger's candidates, a NULL service as key 0."""
    from portal.playbooks.selection import entering, skipped

    who, playbooks = every_trigger(library)
    no_service = pf.playbook(library, service=None, trigger="new_resident",
                             params={"days": 7}, name_en="Welcome")
    for playbook in [*playbooks, no_service]:
        found = db.session.execute(entering(playbook, NOW)).all()
        expected = set() if playbook.trigger in ("never_used", "manual") else {who.id}
        assert {row.resident_id for row in found} == expected, playbook.trigger
        assert all(row.service_key == (playbook.service_id or 0) for row in found)
        assert skipped(playbook, NOW) == {"already_open": 0, "cooldown": 0}
