"""The closed loop: a follow-up survey when an inquiry is resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import loop, operations
from portal.inquiries.models import InquiryMessage, InquiryStatus
from portal.mail.models import OutboundMessage
from portal.surveys import answering, invitations, signals
from portal.surveys.models import Invitation, Survey, SurveyStatus
from portal.surveys.starter import seed_starter_surveys
from portal.timeutil import utcnow
from tests import factories
from tests.inquiry_factories import inquiry


@pytest.fixture
def ctx(app, catalogue):
    with app.test_request_context("/", method="POST"):
        yield


def followups() -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.purpose == invitations.PURPOSE).order_by(OutboundMessage.id)))


def reachable(**values):
    values.setdefault("consent_outreach", True)
    values.setdefault("email", "hanako@example.org")
    return factories.resident(**values)


def resolve(item, users):
    operations.change_status(item, users["staff"], InquiryStatus.RESOLVED)


def test_resolving_sends_one_invitation_in_the_residents_language(ctx, users):
    seed_starter_surveys()
    resident = reachable(preferred_locale="en", email="en@example.org")
    item = inquiry(resident=resident)
    resolve(item, users)
    mails = followups()
    assert len(mails) == 1
    mail = mails[0]
    assert mail.to_address == "en@example.org" and mail.locale == "en"
    assert f"How did we handle your inquiry No. {item.number}?" == mail.subject
    assert "/surveys/i/" in mail.body_text
    invitation = db.session.get(Invitation, item.followup_invitation_id)
    survey = invitation.survey
    # a copy of the template about the inquiry's service, open, owned by its department
    assert survey.service_id == item.service_id
    assert survey.department_id == item.service.department_id
    assert survey.status == SurveyStatus.OPEN
    assert survey.seed_key == f"inquiry-followup-{item.service_id}"
    assert [q.type for q in survey.questions] == ["csat", "long_text"]
    template = db.session.scalar(select(Survey).where(Survey.seed_key == loop.TEMPLATE_KEY))
    assert template.status == SurveyStatus.DRAFT
    # reopened and resolved again: no second invitation
    operations.reopen(item, users["staff"])
    resolve(item, users)
    assert len(followups()) == 1


def test_japanese_resident_gets_japanese(ctx, users):
    item = inquiry(resident=reachable(preferred_locale="ja"))
    resolve(item, users)
    (mail,) = followups()
    assert mail.locale == "ja" and "お問い合わせ" in mail.subject


@pytest.mark.parametrize("values, reason", [
    ({"consent_outreach": False}, "no_consent"),
    ({"do_not_contact": True}, "do_not_contact"),
    ({"email": None}, "no_email"),
    ({"preferred_channels": ["phone"]}, "not_by_email"),
])
def test_no_invitation_when_the_resident_may_not_be_reached(ctx, users, values, reason):
    item = inquiry(resident=reachable(**values))
    resolve(item, users)
    assert followups() == []
    assert item.followup_invitation_id is None
    event = db.session.scalar(select(InquiryMessage).where(
        InquiryMessage.inquiry_id == item.id, InquiryMessage.event == loop.EVENT))
    assert event.data == {"sent": False, "reason": reason} and not event.visible_to_resident


def test_a_second_inquiry_about_the_same_service_within_30_days_is_not_asked(ctx, users):
    resident = reachable()
    first, second = inquiry(resident=resident), inquiry(resident=resident)
    resolve(first, users)
    resolve(second, users)
    assert len(followups()) == 1
    assert second.followup_invitation_id is None
    other = inquiry(resident=resident, service="cancer-screening")
    resolve(other, users)
    assert len(followups()) == 2  # another service: another survey


def test_each_inquiry_gets_its_own_follow_up_once_30_days_have_passed(ctx, users):
    """Invitations are unique per (survey, resident, occasion): a later inquiry about
    the same service gets its own, and each inquiry's answer is its own."""
    resident = reachable()
    first = inquiry(resident=resident)
    resolve(first, users)
    earlier = db.session.get(Invitation, first.followup_invitation_id)
    earlier.created_at = utcnow() - timedelta(days=loop.SPACING_DAYS + 1)
    answering.submit(earlier.survey, {"csat": 2}, channel="web", resident=resident,
                     invitation=earlier, user=None, submission_key="a" * 32, locale="ja")
    second = inquiry(resident=resident)
    resolve(second, users)
    later = db.session.get(Invitation, second.followup_invitation_id)
    assert later.id != earlier.id and later.survey_id == earlier.survey_id
    assert (earlier.occasion, later.occasion) == (f"inquiry:{first.id}", f"inquiry:{second.id}")
    assert answering.invitation_for(later.survey, resident).id == later.id  # the pending one
    answering.submit(later.survey, {"csat": 5}, channel="web", resident=resident,
                     invitation=later, user=None, submission_key="b" * 32, locale="ja")
    db.session.flush()
    db.session.refresh(earlier)
    db.session.refresh(later)
    assert (loop._csat_answer(earlier), loop._csat_answer(later)) == (2, 5)


def test_no_service_or_no_resident(ctx, users):
    unrouted = inquiry(resident=reachable(), service=None)
    caller = inquiry(caller_email="caller@example.org", caller_name="Caller")
    resolve(unrouted, users)
    resolve(caller, users)
    assert followups() == []


def partial(item, locale="en") -> str:
    with force_locale(locale):
        return render_template_string('{% include "inquiries/_followup.html" %}',
                                      inquiry=item)


def test_the_answer_shows_on_the_inquiry_and_counts_for_the_service(app, catalogue, users):
    with app.test_request_context("/", method="POST"):
        resident = reachable(consent_profiling=True)
        resident.user = users["resident"]
        item = inquiry(resident=resident)
        resolve(item, users)
        invitation = db.session.get(Invitation, item.followup_invitation_id)
        page = partial(item)  # the resident's page: this inquiry's own invitation link
        token = invitations.invitation_token(invitation.survey_id, resident.id,
                                             invitation.token_salt)
        assert f'href="/surveys/i/{token}"' in page
        answering.submit(invitation.survey, {"csat": 4, "comment": "早かったです。"},
                         channel="web", resident=resident, invitation=invitation,
                         user=users["resident"], submission_key="k" * 32, locale="ja")
        db.session.flush()
        db.session.refresh(invitation)
        page = partial(item)
        assert "Thank you for your answer." in page and "/surveys/" not in page
    with app.test_request_context("/admin/inquiries/kpis"):  # a console page
        page = partial(item)
        assert "Answered: CSAT 4/5." in page and "Sent on" in page
    now = utcnow()
    rows = db.session.execute(signals.satisfaction_answers(
        now.replace(year=now.year - 1), now.replace(year=now.year + 1))).all()
    assert [(r.resident_id, r.service_id, r.value) for r in rows] == [
        (resident.id, item.service_id, 75.0)]


def test_staff_see_why_none_was_sent_residents_see_nothing(app, catalogue, users):
    with app.test_request_context("/", method="POST"):
        item = inquiry(resident=reachable(consent_outreach=False))
        resolve(item, users)
        assert "Follow-up survey" not in partial(item)
    with app.test_request_context("/admin/inquiries/kpis"):
        assert "Not sent: no outreach consent." in partial(item)
        assert "送信していません：連絡への同意がありません" in partial(item, "ja")
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
