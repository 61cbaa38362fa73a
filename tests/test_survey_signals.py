"""The published doors of surveys (``portal.surveys.signals``): the answers behind
the satisfaction measure and the detractors, as selectables other features
compose. Runs the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.surveys import signals
from tests import factories, survey_rows

NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
SINCE, UNTIL = NOW - timedelta(days=30), NOW + timedelta(days=1)


def rows(selectable):
    sub = selectable.subquery()
    return sorted(tuple(row) for row in db.session.execute(select(sub)))


def test_satisfaction_answers_are_normalised_and_identified_only(catalogue):
    who = factories.resident()
    other = factories.resident()
    loans = factories.service("library-loans")
    asked = survey_rows.survey("library-loans", ("csat", "nps", "ces", "rating", "yes_no",
                                                 "single"))
    mine = survey_rows.respond(asked, who, {"q1": 4, "q2": 7, "q3": 3, "q4": 2, "q5": 1},
                               at=NOW)
    theirs = survey_rows.respond(asked, other, {"q2": 10}, at=NOW - timedelta(days=2))
    anonymous = survey_rows.survey("library-loans", ("csat",), anonymous=True)
    survey_rows.respond(anonymous, who, {"q1": 1}, at=NOW)
    survey_rows.respond(survey_rows.survey(None, ("nps",)), who, {"q1": 0}, at=NOW)
    survey_rows.respond(asked, who, {"q1": 1}, at=SINCE - timedelta(seconds=1))  # before
    survey_rows.respond(asked, who, {"q1": 1}, at=UNTIL)  # the end is not in

    answers = signals.satisfaction_answers(SINCE, UNTIL).subquery()
    got = sorted((r.resident_id, r.service_id, round(r.value, 4), r.survey_id, r.response_id,
                  r.question_type) for r in db.session.execute(select(answers)))
    assert got == sorted([
        (who.id, loans.id, 75.0, asked.id, mine.id, "csat"),
        (who.id, loans.id, 70.0, asked.id, mine.id, "nps"),
        (who.id, loans.id, round(200 / 6, 4), asked.id, mine.id, "ces"),
        (other.id, loans.id, 100.0, asked.id, theirs.id, "nps")])
    # the door composes: the mean per resident and service, as the recompute takes it
    means = dict(db.session.execute(
        select(answers.c.resident_id, func.avg(answers.c.value))
        .group_by(answers.c.resident_id)).all())
    assert means[who.id] == pytest.approx((75 + 70 + 200 / 6) / 3)


def test_satisfaction_leaves_out_residents_without_consent_or_erased(catalogue):
    unwilling = factories.resident(consent_profiling=False)
    erased = factories.resident()
    asked = survey_rows.survey("library-loans", ("csat",))
    for who in (unwilling, erased):
        survey_rows.respond(asked, who, {"q1": 5}, at=NOW)
    erased.anonymised_at = NOW
    db.session.flush()
    assert rows(signals.satisfaction_answers(SINCE, UNTIL)) == []


def test_an_answer_outside_its_scale_never_counts(catalogue):
    who = factories.resident()
    asked = survey_rows.survey("library-loans", ("csat", "nps"))
    survey_rows.respond(asked, who, {"q1": 9, "q2": 11}, at=NOW)
    assert rows(signals.satisfaction_answers(SINCE, UNTIL)) == []


@pytest.mark.parametrize("kind, number, value", [("csat", 1, 0.0), ("csat", 5, 100.0),
                                                 ("nps", 7, 70.0), ("ces", 7, 100.0),
                                                 ("ces", 1, 0.0)])
def test_the_python_twin_of_the_normalisation(kind, number, value):
    assert signals.normalised(kind, number) == pytest.approx(value)


def test_detractors_are_identified_responses_marked_so(catalogue):
    who, happy = factories.resident(), factories.resident()
    loans = factories.service("library-loans")
    about_loans = survey_rows.survey("library-loans", ("nps",))
    about_nothing = survey_rows.survey(None, ("csat",))
    detracting = survey_rows.respond(about_loans, who, {"q1": 6}, at=NOW)
    survey_rows.respond(about_loans, happy, {"q1": 9}, at=NOW)  # a promoter
    general = survey_rows.respond(about_nothing, who, {"q1": 2}, at=NOW)
    anonymous = survey_rows.survey("library-loans", ("nps",), anonymous=True)
    survey_rows.respond(anonymous, who, {"q1": 0}, at=NOW)  # no one to reach
    survey_rows.respond(about_loans, who, {"q1": 0}, at=SINCE - timedelta(days=1))  # earlier
    found = signals.detractors(SINCE, UNTIL).subquery()
    assert set(db.session.execute(select(found)).all()) == {
        (who.id, loans.id, about_loans.id, detracting.id, NOW),
        (who.id, None, about_nothing.id, general.id, NOW)}


def test_detractors_compose_into_an_insert_select(catalogue):
    """The playbooks compose the door into their own statement: here a plain
    INSERT … SELECT into a scratch table, as a trigger would."""
    from sqlalchemy import Column, Integer, MetaData, Table, insert

    who = factories.resident()
    erased = factories.resident()
    asked = survey_rows.survey("library-loans", ("ces",))
    survey_rows.respond(asked, who, {"q1": 1}, at=NOW)
    survey_rows.respond(asked, erased, {"q1": 2}, at=NOW)
    erased.anonymised_at = NOW
    db.session.flush()
    scratch = Table("scratch_detractors", MetaData(), Column("resident_id", Integer),
                    Column("service_id", Integer), prefixes=["TEMPORARY"])
    connection = db.session.connection()
    scratch.create(connection)
    try:
        found = signals.detractors(SINCE, UNTIL).subquery()
        connection.execute(insert(scratch).from_select(
            ["resident_id", "service_id"], select(found.c.resident_id, found.c.service_id)))
        assert connection.execute(select(scratch)).all() == [
            (who.id, factories.service("library-loans").id)]
    finally:
        scratch.drop(connection)
