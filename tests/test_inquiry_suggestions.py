"""Answers suggested before an inquiry is sent: server-side (no JavaScript), and a
hook other features add to."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import suggestions
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.inquiries.operations import change_status
from portal.residents.models import Resident
from tests import factories
from tests.inquiry_factories import inquiry as make_inquiry

EN = {"Accept-Language": "en"}


@pytest.fixture
def me(users, catalogue) -> Resident:
    record = factories.resident(user_id=users["resident"].id)
    db.session.commit()
    return record


def continue_form(**values) -> dict:
    return {"service": "library-loans", "category": "question", "subject": "Loan period",
            "description": "Can I extend my loan?", "check": "Continue", **values}


def test_continue_shows_suggestions_and_the_send_button_without_javascript(
        resident_client, me, users):
    open_one = make_inquiry(resident=me, subject="Earlier loan question")
    done = make_inquiry(resident=me, subject="Solved loan question")
    change_status(done, users["staff"], InquiryStatus.RESOLVED)
    other_service = make_inquiry(resident=me, service="cancer-screening",
                                 subject="Screening question")
    someone_else = make_inquiry(resident=factories.resident(), subject="Not my inquiry")
    db.session.commit()
    first = resident_client.get("/inquiries/new", headers=EN).get_data(as_text=True)
    assert 'name="check"' in first and 'name="send"' not in first
    response = resident_client.post("/inquiries/new", data=continue_form(), headers=EN)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Before you send: answers that may help" in html
    assert f'href="/inquiries/{open_one.id}"' in html and "Earlier loan question" in html
    for hidden in (done, other_service, someone_else):
        assert hidden.subject not in html
    service = factories.service("library-loans")
    assert 'href="/services/library-loans"' in html
    assert service.how_to_use_en.split()[0] in html
    assert 'name="send"' in html  # the final button
    assert 'value="Loan period"' in html and "Can I extend my loan?" in html
    assert db.session.scalar(select(func.count(Inquiry.id))) == 4  # nothing sent yet


def test_a_continue_with_mistakes_shows_the_errors_not_the_send_button(resident_client, me):
    response = resident_client.post("/inquiries/new", data=continue_form(subject=""),
                                    headers=EN)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Give your inquiry a subject." in html and 'name="send"' not in html


def test_no_service_chosen_suggests_nothing_about_a_service(resident_client, me):
    html = resident_client.post("/inquiries/new", data=continue_form(service="unknown"),
                                headers=EN).get_data(as_text=True)
    assert "We found nothing that answers your inquiry already." in html


def test_the_service_help_snippet_is_shortened_and_marked_with_its_language(app, catalogue):
    service = factories.service("library-loans")
    service.how_to_use_ja = "あ" * 500
    service.how_to_use_en = ""
    with app.test_request_context():
        found = suggestions.suggest(None, service, "", "en")
    help_ = next(s for s in found if s.kind == "service_help")
    assert help_.lang == "ja" and len(help_.snippet) == suggestions.SNIPPET_MAX
    assert help_.snippet.endswith("…") and help_.url == "/services/library-loans"


def test_another_feature_adds_a_suggester(resident_client, me):
    seen = []

    def faq(context: suggestions.SuggestionContext) -> list[suggestions.Suggestion]:
        seen.append(context)
        if "extend" not in context.text:
            return []
        return [suggestions.Suggestion(kind="faq", title="How do I extend a loan?",
                                       url="/faq/12", snippet="Twice, online.", lang="en")]

    suggestions.SUGGESTERS.append(faq)
    label = suggestions.KIND_LABELS.get("faq")  # the FAQ's own suggester registers it
    suggestions.KIND_LABELS["faq"] = "Frequently asked"
    try:
        html = resident_client.post("/inquiries/new", data=continue_form(),
                                    headers=EN).get_data(as_text=True)
    finally:
        suggestions.SUGGESTERS.remove(faq)
        if label is None:
            del suggestions.KIND_LABELS["faq"]
        else:
            suggestions.KIND_LABELS["faq"] = label
    assert "How do I extend a loan?" in html and 'href="/faq/12"' in html
    assert "Frequently asked" in html and "Twice, online." in html
    [context] = seen
    assert context.resident.id == me.id and context.service.slug == "library-loans"
    assert context.locale == "en" and "Loan period" in context.text
