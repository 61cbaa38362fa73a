"""The day's letters: one PDF per batch (A4, letterhead, the Japanese postal
layout, the Japanese font embedded), downloading it (audited), and marking the
batch printed (the letters count as sent; a replay changes nothing)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.outreach import letters, sending
from portal.outreach.models import LetterBatch, OutreachMessage
from portal.pdf_fonts import JAPANESE_FILE
from tests.playbook_factories import template
from tests.test_outreach_sending import letter_resident, open_case, open_survey

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def batch(app, catalogue) -> LetterBatch:
    tpl = template(catalogue["library"], subject_ja="{service}再開のご案内",
                   body_ja="{name}\n\n日頃より{city}の図書館をご利用いただき、誠にありがとうございます。"
                           "最近ご来館がないため、ご案内をお送りいたします。\n{link}")
    first = sending.send_message(open_case(catalogue["library"], letter_resident()), 0, tpl,
                                 now=NOW)
    english = letter_resident(preferred_locale="en", family_name="スミス", given_name="ジョン",
                              name_latin="John Smith", postal_code="300-4321",
                              address="茨城県桜川市東町4-5-6 桜川ハイツ101")
    sending.send_message(open_case(catalogue["health"], english, service="cancer-screening"), 0,
                         template(catalogue["health"]), now=NOW)
    sending.send_survey(open_case(catalogue["library"], letter_resident(family_name="鈴木")), 0,
                        open_survey(catalogue["library"]), now=NOW)
    db.session.flush()
    return first.letter_batch


def _pypdf():
    """pypdf (the dev extras); in CI a missing one is an error, not a skip."""
    if os.environ.get("CI"):
        import pypdf

        return pypdf
    return pytest.importorskip("pypdf")


def pdf_text(content: bytes) -> str:
    reader = _pypdf().PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_has_the_list_the_letters_and_the_japanese_address(app, batch):
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        content = letters.batch_pdf(batch)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    reader = _pypdf().PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 4  # the list, then one letter per page
    width, height = (float(v) for v in reader.pages[1].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4
    listing = reader.pages[0].extract_text()
    assert "佐藤 花子" in listing and "図書館" in listing and "健康づくり課" in listing
    letter = reader.pages[1].extract_text()
    assert "〒300-1234" in letter and "茨城県桜川市本町1-2-3" in letter
    assert "佐藤 花子 様" in letter
    assert "桜川市" in letter and "0297-00-" in letter  # the letterhead: city, telephone
    assert "誠にありがとうございます" in text
    english = reader.pages[2].extract_text()
    assert "〒300-4321" in english and "スミス ジョン 様" in english
    assert "Sakuragawa City" in english and "Dear John Smith" in english
    assert "/surveys/i/" in reader.pages[3].extract_text()


def test_the_japanese_font_is_embedded_as_a_subset(app, batch):
    with app.test_request_context():
        content = letters.batch_pdf(batch)
    assert b"/FontFile2" in content
    assert b"IPAexGothic" in content
    # a subset: far smaller than the 6 MB font file
    assert len(content) < JAPANESE_FILE.stat().st_size / 10


def test_the_letters_page_download_and_mark_printed(manager_client, users, batch):
    manager_client.post("/language", data={"locale": "en"})
    page = manager_client.get("/admin/outreach/letters").get_data(as_text=True)
    assert "Not printed yet" in page and '<td class="number">3</td>' in page
    response = manager_client.get(f"/admin/outreach/letters/{batch.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "letters.download")).target_id == str(batch.id)
    seen = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "letters.resident_view")).all()
    assert {e.target_type for e in seen} == {"residents"}
    assert {e.target_id for e in seen} == {str(letter.message.resident_id)
                                           for letter in letters.letters_of(batch)}
    assert len(seen) == 3

    done = manager_client.post(f"/admin/outreach/letters/{batch.id}/printed",
                               follow_redirects=True).get_data(as_text=True)
    assert "3 letters of" in done and "count as sent" in done
    db.session.expire_all()
    messages = db.session.scalars(select(OutreachMessage).where(
        OutreachMessage.letter_batch_id == batch.id)).all()
    assert {m.status for m in messages} == {"sent"} and all(m.sent_at for m in messages)
    survey = next(m for m in messages if m.kind == "survey")
    assert survey.survey_invitation_id is not None
    from portal.surveys.models import Invitation

    assert db.session.get(Invitation, survey.survey_invitation_id).sent_at is not None
    assert db.session.get(LetterBatch, batch.id).printed_by_id == users["manager"].id

    replay = manager_client.post(f"/admin/outreach/letters/{batch.id}/printed",
                                 follow_redirects=True).get_data(as_text=True)
    assert "were already marked printed" in replay
    assert len(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "letters.printed")).all()) == 1


def test_staff_cannot_print_letters(staff_client, batch):
    assert staff_client.get(f"/admin/outreach/letters/{batch.id}.pdf").status_code == 403
    assert staff_client.post(f"/admin/outreach/letters/{batch.id}/printed").status_code == 403


def test_wrap_breaks_japanese_anywhere_and_english_at_spaces():
    from portal.pdf_fonts import japanese

    font = japanese()
    lines = letters.wrap("あ" * 30 + "。", font, 10, 100)
    assert all(len(line) <= 11 for line in lines) and lines[-1].endswith("。")
    sentence = "the quick brown fox jumps over the lazy dog"
    words = letters.wrap(sentence, font, 10, 60)
    assert len(words) > 1 and all(not line.startswith(" ") for line in words)
    assert " ".join(words) == sentence  # broken at spaces only


def test_a_letter_is_not_printed_once_the_resident_withdrew_consent(app, batch):
    """A batch can wait days for printing: a resident who withdrew outreach consent
    or asked not to be contacted meanwhile gets no letter, and it is not sent."""
    queued = db.session.scalars(select(OutreachMessage).where(
        OutreachMessage.letter_batch_id == batch.id).order_by(OutreachMessage.id)).all()
    queued[0].resident.consent_outreach = False
    queued[1].resident.do_not_contact = True
    db.session.flush()
    assert [letter.message.id for letter in letters.letters_of(batch)] == [queued[2].id]

    assert letters.mark_printed(batch, None) == 1
    db.session.expire_all()
    first, second, third = (db.session.get(OutreachMessage, m.id) for m in queued)
    assert (first.status, first.reason) == ("suppressed", "no_consent")
    assert (second.status, second.reason) == ("suppressed", "do_not_contact")
    assert third.status == "sent"
