"""Message templates: the placeholder language, the console's form and its errors,
a language missing (saved, marked, fallen back), delete refused while a playbook
uses the template, and the preview with a real resident (audited)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.outreach import placeholders
from portal.outreach.models import MessageTemplate
from tests import factories
from tests.playbook_factories import playbook, template
from tests.test_labels import assert_no_codes


@pytest.mark.parametrize("text, bad", [
    ("{name} {service} {city} {link} {date} {department}", []),
    ("Dear {nmae},", ["{nmae}"]),
    ("{name} and {name.__class__} and {0}", ["{name.__class__}", "{0}"]),
    ("Hello {name", ["{name"]),
    ("closing} brace", ["}"]),
    ("{name {city}", ["{name"]),
    ("{{name}}", ["{", "}"]),
    ("{x} {x}", ["{x}"]),
    ("", []),
    (None, []),
])
def test_unknown_lists_unknown_placeholders_and_unbalanced_braces(text, bad):
    assert placeholders.unknown(text) == bad


def test_japanese_name_carries_the_honorific(app, catalogue):
    resident = factories.resident(name_latin="Hanako Sato")
    with app.test_request_context():
        text = placeholders.render("{name}\n{city}の{department}より", resident, locale="ja",
                                   service=factories.service("library-loans"))
        english = placeholders.render("Dear {name}, {service} at {link} on {date}.", resident,
                                      locale="en", service=factories.service("library-loans"),
                                      date=date(2026, 12, 24))
    assert text.startswith("佐藤 花子 様\n桜川市の")
    assert "様" not in english
    assert english.startswith("Dear Hanako Sato, ")
    assert "December 24, 2026" in english and "/services/library-loans" in english


def test_rendering_evaluates_nothing(app, catalogue):
    resident = factories.resident()
    with app.app_context():  # no request: the link is built on the base address
        out = placeholders.render("{name.__class__} {{city}} {link} <b>", resident, locale="en")
    assert out.startswith("{name.__class__} {Sakuragawa City} http")
    assert out.endswith("/services/ <b>")  # plain text: nothing escaped, nothing run


@pytest.fixture
def manager_client(manager_client):
    """The manager's pages in English (the assertions read English words)."""
    manager_client.post("/language", data={"locale": "en"})
    return manager_client


def form_data(catalogue, **values):
    data = {"department_id": catalogue["library"].id, "name_ja": "ご案内",
            "name_en": "A note", "subject_ja": "{service}のご案内",
            "body_ja": "{name}\n\n{service}をご利用ください。", "subject_en": "About {service}",
            "body_en": "Dear {name},\n\nPlease try {service}."}
    data.update(values)
    return data


def count_templates() -> int:
    return db.session.scalar(select(func.count()).select_from(MessageTemplate))


def test_an_unknown_placeholder_is_refused_naming_it(manager_client, catalogue):
    before = count_templates()
    response = manager_client.post("/admin/outreach/templates/new", data=form_data(
        catalogue, body_en="Dear {nmae}, see {link"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "{nmae}" in page and "{link" in page
    assert "Unknown placeholders or unmatched braces" in page
    assert count_templates() == before


@pytest.mark.parametrize("values, message", [
    ({"subject_en": ""}, "Write both the subject and the text in English"),
    ({"subject_ja": "", "body_ja": "", "subject_en": "", "body_en": ""},
     "Write the subject and the text in at least one language"),
    ({"name_ja": "", "name_en": ""}, "Give the template a name in at least one language"),
    ({"department_id": 0}, "Choose the department"),
])
def test_form_errors(manager_client, catalogue, values, message):
    before = count_templates()
    response = manager_client.post("/admin/outreach/templates/new",
                                   data=form_data(catalogue, **values))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count_templates() == before


def test_create_edit_and_a_missing_language_is_marked(manager_client, users, catalogue):
    response = manager_client.post("/admin/outreach/templates/new", data=form_data(
        catalogue, subject_en="", body_en=""))
    assert response.status_code == 302
    item = db.session.scalar(select(MessageTemplate).order_by(MessageTemplate.id.desc()))
    assert item.body_en == "" and item.created_by_id == users["manager"].id
    listing = manager_client.get("/admin/outreach/templates").get_data(as_text=True)
    assert "No English" in listing
    edit = manager_client.get(f"/admin/outreach/templates/{item.id}").get_data(as_text=True)
    assert "has no English text" in edit
    manager_client.post(f"/admin/outreach/templates/{item.id}",
                        data=form_data(catalogue, body_en="Dear {name}, hello."))
    changed = manager_client.post(f"/admin/outreach/templates/{item.id}",
                                  data=form_data(catalogue, body_en="Dear {name}, hello."))
    assert changed.status_code == 302
    db.session.refresh(item)
    assert item.subject_en == "About {service}"
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_type == "outreach_templates",
        AuditEntry.target_id == str(item.id)).order_by(AuditEntry.id)).all()
    assert actions == ["outreach_template.create", "outreach_template.update"]


def test_delete_is_refused_while_a_playbook_uses_it(manager_client, catalogue):
    item = template(catalogue["library"])
    book = playbook(catalogue["library"], status="paused", name_en="Lapsed readers",
                    steps=[{"kind": "message", "offset_days": 0, "template_id": item.id}])
    response = manager_client.post(f"/admin/outreach/templates/{item.id}/delete",
                                   follow_redirects=True)
    assert "cannot be deleted: Lapsed readers" in response.get_data(as_text=True)
    assert db.session.get(MessageTemplate, item.id) is not None
    book.status = "archived"
    db.session.flush()
    item_id = item.id
    response = manager_client.post(f"/admin/outreach/templates/{item_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MessageTemplate, item_id) is None
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.target_type == "outreach_templates",
        AuditEntry.target_id == str(item_id))) == "outreach_template.delete"


def test_preview_with_a_real_resident_is_audited(manager_client, users, catalogue):
    item = template(catalogue["library"], subject_en="", body_en="")
    resident = factories.resident(external_id="R-PREVIEW1", preferred_locale="en",
                                  consent_outreach=True, email="p@example.org")
    found = manager_client.get(f"/admin/outreach/templates/{item.id}/preview",
                               query_string={"q": "R-PREVIEW1"}).get_data(as_text=True)
    assert "佐藤 花子" in found and f"resident_id={resident.id}" in found
    page = manager_client.get(f"/admin/outreach/templates/{item.id}/preview",
                              query_string={"resident_id": resident.id})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "佐藤 花子 様" in html  # the Japanese text, since the template has no English
    assert "Fallback: the template has no English text" in html
    assert "E-mail" in html and "Yes" in html
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "outreach_template.preview"))
    assert entry.target_type == "residents" and entry.target_id == str(resident.id)
    assert entry.actor_id == users["manager"].id


def test_preview_shows_why_a_message_would_not_go(manager_client, catalogue):
    item = template(catalogue["library"])
    resident = factories.resident(consent_outreach=True, do_not_contact=True,
                                  postal_code="300-1234", address="桜川市本町1-2")
    html = manager_client.get(f"/admin/outreach/templates/{item.id}/preview",
                              query_string={"resident_id": resident.id}).get_data(as_text=True)
    assert "Do not contact" in html and "Letter" in html
    erased = factories.resident()
    erased.anonymised_at = erased.created_at
    db.session.flush()
    assert manager_client.get(f"/admin/outreach/templates/{item.id}/preview",
                              query_string={"resident_id": erased.id}).status_code == 404


def test_pages_show_no_raw_codes(manager_client, catalogue):
    """In Japanese, where an English code would stand out (English prose says
    "letter" and "resident" as words; the preview's links are left out, their path
    says "services")."""
    item = template(catalogue["library"], body_en="", subject_en="",
                    body_ja="{name}\n\n{service}をご利用ください。\n{city} {department}")
    resident = factories.resident(consent_outreach=True, postal_code="300-1234",
                                  address="桜川市本町1-2")
    manager_client.post("/language", data={"locale": "ja"})
    for url in ("/admin/outreach/templates", f"/admin/outreach/templates/{item.id}",
                "/admin/outreach/templates/new", "/admin/outreach/letters",
                f"/admin/outreach/templates/{item.id}/preview?resident_id={resident.id}",
                f"/admin/outreach/templates/{item.id}/preview?q=佐藤"):
        response = manager_client.get(url)
        assert response.status_code == 200, url
        assert_no_codes(response.get_data(as_text=True), url)


def test_list_pages_have_a_flat_query_count(manager_client, users, catalogue, count_queries):
    from portal.outreach import letters, sending
    from tests.test_outreach_letters import NOW
    from tests.test_outreach_sending import letter_resident, open_case

    def counts():
        out = []
        for url in ("/admin/outreach/templates", "/admin/outreach/letters"):
            with count_queries() as counter:
                assert manager_client.get(url).status_code == 200
            out.append(counter.count)
        return out

    def more(n):
        for _ in range(n):
            tpl = template(catalogue["library"])
            message = sending.send_message(open_case(catalogue["library"], letter_resident()),
                                           0, tpl, now=NOW)
            letters.mark_printed(message.letter_batch, users["manager"], now=NOW)

    more(1)
    few = counts()
    more(4)
    assert counts() == few
