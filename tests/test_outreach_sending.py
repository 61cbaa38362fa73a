"""Sending a playbook step's message or survey invitation: the guards (consent,
do-not-contact, an address, the contact budget across departments), the resident's
language through the outbox, letters batched per local day, survey invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.mail.outbox import send_due_messages
from portal.outreach import sending
from portal.outreach.models import LetterBatch, OutreachMessage
from portal.playbooks.models import Case
from portal.surveys.models import Invitation, Survey
from tests import factories
from tests.playbook_factories import playbook, template

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 10:00 in Japan


def reachable(**values):
    values.setdefault("consent_outreach", True)
    values.setdefault("email", "hanako@example.org")
    values.setdefault("name_latin", "Hanako Sato")
    return factories.resident(**values)


def open_case(department, resident, service="library-loans"):
    book = playbook(department, service=service)
    case = Case(playbook_id=book.id, playbook_version=1, resident_id=resident.id,
                service_id=book.service_id, service_key=book.service_id or 0)
    db.session.add(case)
    db.session.flush()
    return case


def outbox():
    return db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def test_email_in_the_residents_language_through_the_outbox(catalogue):
    ja, en = reachable(), reachable(preferred_locale="en", email="h2@example.org")
    tpl = template(catalogue["library"])
    m_ja = sending.send_message(open_case(catalogue["library"], ja), 1, tpl, now=NOW)
    m_en = sending.send_message(open_case(catalogue["library"], en), 1, tpl, now=NOW)
    assert (m_ja.status, m_ja.channel, m_ja.locale, m_ja.step) == ("queued", "email", "ja", 1)
    assert m_en.locale == "en" and not m_en.fell_back
    first, second = outbox()
    assert first.id == m_ja.outbox_id and second.id == m_en.outbox_id
    assert first.purpose == "outreach" and first.locale == "ja"
    assert first.body_text.startswith("佐藤 花子 様\n")
    assert "図書館" in first.subject or "貸出" in first.subject
    assert second.locale == "en" and second.body_text.startswith("Dear Hanako Sato,")
    assert "/services/library-loans" in second.body_text
    assert second.body_text.splitlines()[-1] == "Sakuragawa City"


def test_a_missing_language_falls_back_and_is_marked(catalogue):
    en = reachable(preferred_locale="en")
    tpl = template(catalogue["library"], subject_en="", body_en="")
    message = sending.send_message(open_case(catalogue["library"], en), 0, tpl, now=NOW)
    assert message.fell_back and message.locale == "ja"
    # written in Japanese, so addressed the Japanese way
    assert outbox()[-1].body_text.startswith("佐藤 花子 様") and outbox()[-1].locale == "ja"


@pytest.mark.parametrize("values, reason", [
    ({"consent_outreach": False}, "no_consent"),
    ({"do_not_contact": True}, "do_not_contact"),
    ({"email": None}, "no_address"),
])
def test_guards_suppress_with_the_reason(catalogue, values, reason):
    resident = reachable(**values)
    message = sending.send_message(open_case(catalogue["library"], resident), 0,
                                   template(catalogue["library"]), now=NOW)
    assert (message.status, message.reason, message.channel) == ("suppressed", reason, None)
    assert message.outbox_id is None and outbox() == []


def test_the_budget_counts_across_two_departments(catalogue):
    """Two departments' playbooks, two cases: the third message in 30 days is
    suppressed "budget" (the default budget: 2 in 30 days)."""
    resident = reachable()
    library = open_case(catalogue["library"], resident)
    health = open_case(catalogue["health"], resident, service="cancer-screening")
    first = sending.send_message(library, 0, template(catalogue["library"]), now=NOW)
    second = sending.send_message(health, 0, template(catalogue["health"]),
                                  now=NOW + timedelta(days=3))
    third = sending.send_message(library, 1, template(catalogue["library"]),
                                 now=NOW + timedelta(days=10))
    assert (first.status, second.status) == ("queued", "queued")
    assert {first.department_id, second.department_id} == {catalogue["library"].id,
                                                          catalogue["health"].id}
    assert (third.status, third.reason) == ("suppressed", "budget")
    # a survey invitation is suppressed by the same budget
    survey = open_survey(catalogue["health"])
    assert sending.send_survey(health, 1, survey, now=NOW + timedelta(days=11)).reason == \
        "budget"
    # 30 days after the first, there is room again
    later = sending.send_message(library, 2, template(catalogue["library"]),
                                 now=NOW + timedelta(days=31))
    assert later.status == "queued"
    assert len(outbox()) == 3


def test_the_budget_is_configurable(app, catalogue):
    resident = reachable()
    case = open_case(catalogue["library"], resident)
    app.config["CONTACT_BUDGET_MESSAGES"] = 1
    try:
        sending.send_message(case, 0, template(catalogue["library"]), now=NOW)
        assert sending.send_message(case, 1, template(catalogue["library"]),
                                    now=NOW).reason == "budget"
    finally:
        app.config["CONTACT_BUDGET_MESSAGES"] = 2


def test_an_email_counts_as_sent_once_the_outbox_delivered_it(catalogue, outbox_dir):
    message = sending.send_message(open_case(catalogue["library"], reachable()), 0,
                                   template(catalogue["library"]))
    db.session.flush()
    assert sending.sync_delivered() == 0  # not delivered yet
    assert send_due_messages()["sent"] == 1  # the outbox's round runs sync_delivered
    db.session.refresh(message)
    assert message.status == "sent" and message.sent_at is not None


def letter_resident(**values):
    values.setdefault("email", None)
    values.setdefault("postal_code", "300-1234")
    values.setdefault("address", "茨城県桜川市本町1-2-3")
    return reachable(**values)


def test_letters_go_into_the_batch_of_the_local_day(catalogue):
    tpl = template(catalogue["library"])
    a, b, c = letter_resident(), letter_resident(), letter_resident()
    # 23:30 UTC on 1 November is 08:30 on 2 November in Japan
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    first = sending.send_message(open_case(catalogue["library"], a), 0, tpl, now=late)
    second = sending.send_message(open_case(catalogue["library"], b), 0, tpl, now=NOW)
    third = sending.send_message(open_case(catalogue["library"], c), 0, tpl,
                                 now=NOW + timedelta(days=1))
    assert first.channel == "letter" and first.status == "queued" and first.outbox_id is None
    assert first.letter_batch_id == second.letter_batch_id != third.letter_batch_id
    assert first.letter_batch.day.isoformat() == "2026-11-02"
    assert third.letter_batch.day.isoformat() == "2026-11-03"
    assert "佐藤 花子 様" in first.body
    assert db.session.scalar(select(func.count()).select_from(LetterBatch)) == 2
    assert outbox() == []


def test_a_letter_after_the_day_was_printed_goes_into_the_next_batch(catalogue, users):
    from portal.outreach import letters

    tpl = template(catalogue["library"])
    first = sending.send_message(open_case(catalogue["library"], letter_resident()), 0, tpl,
                                 now=NOW)
    letters.mark_printed(first.letter_batch, users["manager"], now=NOW)
    second = sending.send_message(open_case(catalogue["library"], letter_resident()), 0, tpl,
                                  now=NOW + timedelta(hours=1))
    assert second.letter_batch.day.isoformat() == "2026-11-03"


def test_a_preferred_letter_wins_over_email(catalogue):
    resident = letter_resident(email="x@example.org", preferred_channels=["letter"])
    message = sending.send_message(open_case(catalogue["library"], resident), 0,
                                   template(catalogue["library"]), now=NOW)
    assert message.channel == "letter"


def test_the_step_gives_the_date(catalogue):
    tpl = template(catalogue["library"], body_ja="{name}\n{date}にお越しください。")
    message = sending.send_message(open_case(catalogue["library"], letter_resident()),
                                   {"index": 2, "date": "2026-12-24"}, tpl, now=NOW)
    assert message.step == 2 and "2026年12月24日にお越しください。" in message.body


def open_survey(department):
    survey = Survey(department_id=department.id, title_ja="ご利用アンケート",
                    title_en="Your visit", status="open")
    db.session.add(survey)
    db.session.flush()
    return survey


def test_a_survey_step_invites_once_with_a_token_by_email(catalogue):
    resident = reachable()
    case = open_case(catalogue["library"], resident)
    survey = open_survey(catalogue["library"])
    message = sending.send_survey(case, 1, survey, now=NOW)
    invitation = db.session.get(Invitation, message.survey_invitation_id)
    assert invitation.occasion == f"case:{case.id}" and invitation.token_hash
    assert (message.kind, message.status, message.channel) == ("survey", "queued", "email")
    mail = outbox()[-1]
    assert mail.purpose == "survey_invitation" and "/surveys/i/" in mail.body_text
    assert mail.body_text.startswith("佐藤 花子 様")
    assert "/surveys/i/" not in message.body  # the personal link is not kept here
    again = sending.send_survey(open_case(catalogue["health"], resident,
                                          service="cancer-screening"), 0, survey,
                                now=NOW + timedelta(days=40))
    assert (again.status, again.reason) == ("suppressed", "already_invited")


def test_a_survey_by_letter_and_a_closed_survey(catalogue):
    survey = open_survey(catalogue["library"])
    message = sending.send_survey(open_case(catalogue["library"], letter_resident()), 0,
                                  survey, now=NOW)
    assert message.channel == "letter" and "/surveys/i/" in message.body
    assert db.session.get(Invitation, message.survey_invitation_id).sent_at is None
    survey.status = "closed"
    closed = sending.send_survey(open_case(catalogue["library"], letter_resident()), 0,
                                 survey, now=NOW)
    assert closed.reason == "survey_closed"


def test_every_message_is_stored(catalogue):
    resident = reachable(consent_outreach=False)
    case = open_case(catalogue["library"], resident)
    sending.send_message(case, 0, template(catalogue["library"]), now=NOW)
    sending.send_survey(case, 1, open_survey(catalogue["library"]), now=NOW)
    assert db.session.scalar(select(func.count()).select_from(OutreachMessage).where(
        OutreachMessage.case_id == case.id)) == 2


def test_two_workers_making_the_days_batch_share_one(catalogue, monkeypatch):
    """The other worker's row appears between our look-up and our insert: the unique
    day refuses ours (in a savepoint) and we use theirs."""
    from datetime import date

    theirs = LetterBatch(day=date(2026, 11, 2))
    db.session.add(theirs)
    db.session.flush()
    real = db.session.scalar
    calls = []

    def first_misses(statement, *args, **kwargs):
        calls.append(statement)
        return None if len(calls) == 1 else real(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", first_misses)
    assert sending.letter_batch(NOW).id == theirs.id
    monkeypatch.undo()
    assert db.session.scalar(select(func.count()).select_from(LetterBatch)) == 1


def test_a_batch_sends_as_one_at_a_time_would(catalogue):
    """The step runner's batch: the same guards, the budget kept within the batch,
    each e-mail with its outbox row, letters in the day's batch."""
    library, health = catalogue["library"], catalogue["health"]
    tpl = template(library)
    twice = reachable()  # two cases in one batch: the budget sees both
    sending.send_message(open_case(health, twice, "cancer-screening"), 0, template(health),
                         now=NOW)  # one message already in the window
    refused = reachable(consent_outreach=False)
    letter = letter_resident()
    cases = [open_case(library, twice), open_case(library, twice, "library-study-room"),
             open_case(library, refused), open_case(library, letter)]
    db.session.flush()
    messages = sending.send_messages(cases, 0, tpl, now=NOW)
    assert [(m.status, m.reason) for m in messages] == [
        ("queued", None), ("suppressed", "budget"), ("suppressed", "no_consent"),
        ("queued", None)]
    email, _, _, posted = messages
    sent = db.session.get(OutboundMessage, email.outbox_id)
    assert sent.to_address == twice.email and sent.purpose == "outreach"
    assert posted.channel == "letter" and posted.letter_batch_id is not None
    assert db.session.scalar(select(func.count()).select_from(OutreachMessage).where(
        OutreachMessage.case_id.in_([c.id for c in cases]))) == 4
