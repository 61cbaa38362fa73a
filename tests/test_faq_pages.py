"""The public FAQ (by service, by department, search, an entry in the reader's
language with its fallback), the service page's section, the console (list,
editing with a version, the comparison, archive and restore, another department's
entry) and the inquiry form's FAQ suggestions."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.faq.models import EntryStatus, FaqEntry, FaqVersion
from portal.inquiries import suggestions
from tests import factories
from tests.community_factories import faq_entry

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def test_the_faq_lists_entries_by_department_and_filters_by_service(client, catalogue):
    rubbish = faq_entry(catalogue["library"], services=("library-loans",))
    screening = faq_entry(catalogue["health"], question_ja="がん検診の予約は？",
                          answer_ja="電話で予約してください。", question_en="How do I book?",
                          answer_en="By phone.", services=("cancer-screening",))
    gone = faq_entry(catalogue["health"], question_en="Archived question",
                     status=EntryStatus.ARCHIVED)
    db.session.commit()
    html = client.get("/faq/", headers=EN).get_data(as_text=True)
    assert "How do I put out rubbish?" in html and "How do I book?" in html
    assert "Archived question" not in html
    assert catalogue["library"].name_en in html and catalogue["health"].name_en in html
    assert 'href="/faq/?service=cancer-screening"' in html
    html = client.get("/faq/?service=cancer-screening", headers=EN).get_data(as_text=True)
    assert "How do I book?" in html and "How do I put out rubbish?" not in html
    html = client.get("/faq/?department=library", headers=JA).get_data(as_text=True)
    assert "ごみの出し方は？" in html and "がん検診の予約は？" not in html
    assert client.get(f"/faq/{gone.id}").status_code == 404
    assert client.get(f"/faq/{rubbish.id}").status_code == 200
    assert screening.id


def test_the_search_box_shows_highlighted_snippets(client, catalogue):
    faq_entry(catalogue["library"], answer_ja="収集日の朝にごみを出してください。")
    db.session.commit()
    html = client.get("/faq/?q=ごみ", headers=JA).get_data(as_text=True)
    assert "<mark>ごみ</mark>" in html and 'href="/faq/' in html
    html = client.get("/faq/?q=nothing-like-this", headers=EN).get_data(as_text=True)
    assert "No entry matches your search." in html


def test_an_entry_in_the_readers_language_with_the_other_as_fallback(client, catalogue):
    both = faq_entry(catalogue["library"], services=("library-loans",),
                     answer_en="Put it out on **the morning** of collection day.")
    only_ja = faq_entry(catalogue["library"], question_en="", answer_en="")
    drafted = faq_entry(catalogue["library"], draft_en=True)
    db.session.commit()
    html = client.get(f"/faq/{both.id}", headers=EN).get_data(as_text=True)
    assert "How do I put out rubbish?" in html and "the morning" in html
    assert catalogue["library"].name_en in html and "Last reviewed" in html
    assert 'href="/services/library-loans"' in html
    html = client.get(f"/faq/{both.id}", headers=JA).get_data(as_text=True)
    assert "ごみの出し方は？" in html and "How do I put out rubbish?" not in html
    html = client.get(f"/faq/{only_ja.id}", headers=EN).get_data(as_text=True)
    assert '<h1 id="faq-question" lang="ja">ごみの出し方は？</h1>' in html
    assert "This answer is not yet available in your language" in html
    html = client.get(f"/faq/{drafted.id}", headers=EN).get_data(as_text=True)
    assert "Translation under review" in html
    db.session.expire_all()
    assert db.session.get(FaqEntry, both.id).view_count == 2


def test_staff_reading_are_not_counted_and_an_answer_cannot_inject_html(
        staff_client, catalogue):
    entry = faq_entry(catalogue["library"], answer_en='<script>alert(1)</script> hi')
    db.session.commit()
    html = staff_client.get(f"/faq/{entry.id}", headers=EN).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    db.session.expire_all()
    assert db.session.get(FaqEntry, entry.id).view_count == 0


def test_the_service_page_links_its_frequently_asked_questions(client, catalogue):
    faq_entry(catalogue["library"], services=("library-loans",))
    faq_entry(catalogue["health"], question_en="Not about loans", services=("cancer-screening",))
    db.session.commit()
    html = client.get("/services/library-loans", headers=EN).get_data(as_text=True)
    assert "Frequently asked about this service" in html
    assert "How do I put out rubbish?" in html and "Not about loans" not in html
    assert 'href="/faq/?service=library-loans"' in html
    html = client.get("/services/library-study-room", headers=EN).get_data(as_text=True)
    assert "Frequently asked about this service" not in html


def test_the_public_nav_and_the_console_nav_link_the_faq(client, staff_client, official_client):
    assert 'href="/faq/"' in client.get("/services/", headers=EN).get_data(as_text=True)
    assert 'href="/admin/faq/"' in staff_client.get("/admin/", headers=EN).get_data(
        as_text=True)
    assert 'href="/admin/faq/"' not in official_client.get("/admin/", headers=EN).get_data(
        as_text=True)


# -- the console -----------------------------------------------------------------------

def form(department, **values) -> dict:
    data = {"question_ja": "返却期限は？", "answer_ja": "貸出から2週間です。",
            "question_en": "When are books due?", "answer_en": "Two weeks after the loan.",
            "department_id": department.id,
            "service_ids": [factories.service("library-loans").id], "note": ""}
    data.update(values)
    return data


def test_write_edit_and_compare_versions_in_the_console(staff_client, catalogue):
    response = staff_client.post("/admin/faq/new", headers=EN, data=form(catalogue["library"]))
    assert response.status_code == 302
    entry = db.session.scalar(select(FaqEntry))
    response = staff_client.post(f"/admin/faq/{entry.id}", headers=EN, data=form(
        catalogue["library"], answer_en="Three weeks after the loan.", note="New rule"))
    assert response.status_code == 302
    db.session.expire_all()
    assert entry.version == 2 and entry.answer_en == "Three weeks after the loan."
    html = staff_client.get(f"/admin/faq/{entry.id}/versions", headers=EN).get_data(
        as_text=True)
    assert "New rule" in html and f'/admin/faq/{entry.id}/versions/1"' in html
    html = staff_client.get(f"/admin/faq/{entry.id}/versions/2", headers=EN).get_data(
        as_text=True)
    assert "Compared with version 1" in html
    assert "Two weeks after the loan." in html and "Three weeks after the loan." in html
    assert html.count("faq-compare__changed") == 1
    html = staff_client.get("/admin/faq/", headers=EN).get_data(as_text=True)
    assert "When are books due?" in html


def test_a_refused_save_keeps_what_was_typed(staff_client, catalogue):
    response = staff_client.post("/admin/faq/new", headers=EN, data=form(
        catalogue["library"], answer_ja="", question_en="", answer_en="",
        question_ja="書きかけの質問"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Write both the question and the answer in Japanese" in html
    assert 'value="書きかけの質問"' in html
    assert db.session.scalar(select(FaqEntry)) is None


def test_staff_cannot_touch_another_departments_entry(staff_client, catalogue):
    other = faq_entry(catalogue["health"])
    db.session.commit()
    assert staff_client.get(f"/admin/faq/{other.id}").status_code == 403
    assert staff_client.post(f"/admin/faq/{other.id}/archive").status_code == 403
    assert staff_client.post(f"/admin/faq/{other.id}", data=form(
        catalogue["health"])).status_code == 403
    # nor give their own entry a department that is not theirs
    response = staff_client.post("/admin/faq/new", headers=EN, data=form(catalogue["health"]))
    assert response.status_code == 400
    db.session.expire_all()
    assert other.status == EntryStatus.PUBLISHED and other.version == 1
    html = staff_client.get("/admin/faq/?department=", headers=EN).get_data(as_text=True)
    assert f'href="/admin/faq/{other.id}"' not in html  # listed, not linked


def test_archive_and_restore(manager_client, client, catalogue):
    entry = faq_entry(catalogue["health"])
    db.session.commit()
    manager_client.post(f"/admin/faq/{entry.id}/archive", headers=EN)
    assert client.get(f"/faq/{entry.id}").status_code == 404
    response = manager_client.post(f"/admin/faq/{entry.id}/archive", headers=EN,
                                   follow_redirects=True)
    assert "already archived" in response.get_data(as_text=True)
    manager_client.post(f"/admin/faq/{entry.id}/restore", headers=EN)
    assert client.get(f"/faq/{entry.id}").status_code == 200
    assert len(db.session.scalars(select(FaqVersion)).all()) == 2


def test_the_list_page_costs_the_same_for_more_entries(staff_client, catalogue,
                                                       count_queries):
    def measure() -> int:
        with count_queries() as counted:
            assert staff_client.get("/admin/faq/?department=").status_code == 200
        return counted.count

    faq_entry(catalogue["library"], services=("library-loans",))
    db.session.commit()
    few = measure()
    for n in range(6):
        faq_entry(catalogue["health"], question_en=f"Q{n}", services=("cancer-screening",))
    db.session.commit()
    assert measure() == few


# -- the inquiry form's suggestions ------------------------------------------------------

def test_the_inquiry_suggester_offers_matching_and_service_entries(app, catalogue):
    matching = faq_entry(catalogue["health"], question_en="How do I extend a loan?",
                         answer_en="Extend it twice online.")
    tagged = faq_entry(catalogue["library"], question_en="Opening hours of the library",
                       answer_en="Nine to five.", services=("library-loans",))
    faq_entry(catalogue["health"], question_en="Unrelated", answer_en="Nothing.")
    db.session.commit()
    assert "faq" in suggestions.KIND_LABELS
    with app.test_request_context(headers=EN):
        found = suggestions.suggest(None, factories.service("library-loans"),
                                    "extend", "en")
        faq = [s for s in found if s.kind == "faq"]
        assert [s.url for s in faq] == [f"/faq/{matching.id}", f"/faq/{tagged.id}"]
        assert "<mark>" in faq[0].snippet
        none_chosen = [s for s in suggestions.suggest(None, None, "parking permits", "en")
                       if s.kind == "faq"]
        assert none_chosen == []  # in no entry, and no service chosen
