"""Each playbook condition on the resident, on its boundary, and all of them
together; the conditions stay in the trigger's one statement."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.playbooks.conditions import apply_conditions
from portal.playbooks.triggers import candidates, holding
from tests import factories
from tests import playbook_factories as pf

# 16:00 UTC on 31 December 2026 is already 1 January 2027 in Tokyo: local year 2027
NOW = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
YEAR = 2027


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


def red(**values):
    """A resident in the red band of the library loans (the trigger's candidates)."""
    who = factories.resident(**values)
    pf.score(who, "library-loans", "red")
    return who


def meeting(library, conditions, now=NOW) -> set[int]:
    playbook = pf.playbook(library, conditions=conditions)
    return {row.resident_id for row in db.session.execute(candidates(playbook, now))}


def test_no_conditions_leave_the_trigger_as_it_is(library):
    playbook = pf.playbook(library)
    query = holding(playbook, NOW)
    assert apply_conditions(query, {}, NOW) is query
    assert apply_conditions(query, {"districts": None, "age_bands": []}, NOW) is query


def test_districts(library):
    central, east, nowhere = red(), red(district="東町"), red(district=None)
    assert meeting(library, {"districts": ["東町", "北町"]}) == {east.id}
    assert meeting(library, {"districts": ["中央"]}) == {central.id}
    assert nowhere.id not in meeting(library, {"districts": ["中央", "東町"]})


def test_age_bands_in_the_local_year(library):
    # 65 in the local year 2027 (64 in the UTC year 2026)
    turned_65, is_64, is_74, is_75, unknown = (red(birth_year=y) for y in
                                               (1962, 1963, 1953, 1952, None))
    assert meeting(library, {"age_bands": ["65-74"]}) == {turned_65.id, is_74.id}
    assert meeting(library, {"age_bands": ["75+"]}) == {is_75.id}
    assert meeting(library, {"age_bands": ["40-64", "75+"]}) == {is_64.id, is_75.id}
    assert unknown.id not in meeting(library, {"age_bands": ["0-17", "18-39", "40-64",
                                                             "65-74", "75+"]})


def test_locales(library):
    ja, en = red(preferred_locale="ja"), red(preferred_locale="en")
    assert meeting(library, {"locales": ["en"]}) == {en.id}
    assert meeting(library, {"locales": ["ja", "en"]}) == {ja.id, en.id}


def test_child_under_is_another_member_of_the_household(library):
    parent, child = red(birth_year=1990), factories.resident(birth_year=YEAR - 5)  # 5
    factories.household(parent, child)
    older_parent, six = red(birth_year=1985), factories.resident(birth_year=YEAR - 6)  # 6
    factories.household(older_parent, six)
    alone_young = red(birth_year=YEAR - 3)  # a child in no household: no member
    in_own_household = red(birth_year=YEAR - 2)
    factories.household(in_own_household, factories.resident(birth_year=1950))
    with_erased = red(birth_year=1990)
    factories.household(with_erased, factories.resident(birth_year=YEAR - 1,
                                                        anonymised_at=NOW))
    assert meeting(library, {"child_under": 6}) == {parent.id}
    assert meeting(library, {"child_under": 7}) == {parent.id, older_parent.id}
    assert alone_young.id not in meeting(library, {"child_under": 18})


def test_used_service(library):
    user, other_user, nobody = red(), red(), red()
    factories.events(user, "library-study-room", days_ago=400)
    factories.events(other_user, "waste-sorting-app")
    factories.events(nobody, "library-loans")  # the playbook's own service
    study = factories.service("library-study-room").id
    assert meeting(library, {"used_service": study}) == {user.id}


def test_other_band(library):
    green, yellow, unscored = red(), red(), red()
    pf.score(green, "library-study-room", "green")
    pf.score(yellow, "library-study-room", "yellow")
    pf.score(unscored, "waste-sorting-app", "green")
    study = factories.service("library-study-room").id
    assert meeting(library, {"other_band": {"service_id": study, "band": "green"}}) \
        == {green.id}


@pytest.mark.parametrize("flag", ["consent_profiling", "consent_outreach"])
def test_consent_flags(library, flag):
    yes, no = red(**{flag: True}), red(**{flag: False})
    assert meeting(library, {flag: True}) == {yes.id}
    assert meeting(library, {flag: False}) == {no.id}  # False is a condition, not "unset"


def test_all_conditions_must_hold(library, count_queries):
    study = factories.service("library-study-room").id
    every = red(district="東町", preferred_locale="en", consent_outreach=True,
                birth_year=1950)
    factories.household(every, factories.resident(birth_year=YEAR - 1))
    factories.events(every, "library-study-room")
    pf.score(every, "library-study-room", "yellow")
    wrong_district = red(preferred_locale="en", consent_outreach=True, birth_year=1950)
    factories.household(wrong_district, factories.resident(birth_year=YEAR - 1))
    factories.events(wrong_district, "library-study-room")
    pf.score(wrong_district, "library-study-room", "yellow")
    conditions = {"districts": ["東町"], "age_bands": ["75+"], "locales": ["en"],
                  "child_under": 3, "used_service": study,
                  "other_band": {"service_id": study, "band": "yellow"},
                  "consent_profiling": True, "consent_outreach": True}
    playbook = pf.playbook(library, conditions=conditions)
    with count_queries() as counter:
        found = db.session.execute(candidates(playbook, NOW)).all()
    assert counter.count == 1
    assert [row.resident_id for row in found] == [every.id]
    for key in conditions:
        without = {k: v for k, v in conditions.items() if k != key}
        assert every.id in meeting(library, without), key
