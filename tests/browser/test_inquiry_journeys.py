"""Inquiries in the browser (issue 10), the whole closed loop in Japanese.

A resident sends an inquiry about a library service with a photo (the "次へ" step
shows the suggestions first); a member of the library staff finds it in the queue,
sees the photo, adds an internal note, replies from a template (filled in with the
resident's name and the number) and resolves it; the resident reads the reply (not
the note), follows the follow-up survey link, answers the CSAT question; the staff
page then shows the answer.

Every page visited passes the axe audit and the duplicate-id check; the resident's
inquiry page and the staff queue do not scroll sideways at 390 px.

Both people browse in Japanese by their browser's language (``Accept-Language``),
not by the language switch: pressing it while signed in stores the language on the
demo account, and later browser tests expect those accounts in English.

The reply template is put straight into the live portal's database (``portal seed``
makes none). So is the resident's outreach consent and e-mail address the follow-up
needs (the demo resident has both; set here so the test does not depend on it).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from portal.demo.generator import DEMO_PASSWORD
from tests.browser.conftest import ARTIFACTS, AuditedPage

TIMEOUT_MS = 15_000
RESIDENT = "resident@demo.example"
STAFF = "staff.library@demo.example"
SERVICE = "library-loans"
CSAT_JA = "今回のお問い合わせへの対応に、どの程度満足されましたか。"


def _short_timeouts(page) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)


def _click_and_audit(page: AuditedPage, locator) -> None:
    """A click that submits or follows a link, then the audit of the page it lands on."""
    with page.page.expect_navigation(timeout=TIMEOUT_MS):
        locator.click()
    page.audit()


def _japanese(browser, live_server: str) -> tuple:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900},
                                  extra_http_headers={"Accept-Language": "ja"})
    page = AuditedPage(context.new_page(), live_server)
    _short_timeouts(page)
    return context, page


def _sign_in(page: AuditedPage, email: str) -> None:
    page.goto("/account/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    with page.page.expect_navigation(timeout=TIMEOUT_MS):
        page.get_by_label("パスワード").press("Enter")
    page.audit()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def _no_sideways_scroll(page: AuditedPage) -> None:
    """At 390 px the page body fits the viewport (it scrolls down, never sideways)."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.audit()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide at {widths[1]} px"
    page.set_viewport_size({"width": 1280, "height": 900})


def _database(live_instance: Path) -> sqlite3.Connection:
    return sqlite3.connect(live_instance / "portal.db", timeout=10)


def _prepare(live_instance: Path, template_name: str) -> str:
    """The resident may be asked for a follow-up; a library reply template with the
    name and number placeholders. Returns the resident's name as replies in Japanese
    write it (family name, given name)."""
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with _database(live_instance) as connection:
        user_id, = connection.execute("SELECT id FROM users WHERE email = ?",
                                      (RESIDENT,)).fetchone()
        row = connection.execute(
            "SELECT id, family_name, given_name FROM residents WHERE user_id = ?",
            (user_id,)).fetchone()
        assert row, "the demo resident has no resident record"
        connection.execute(
            "UPDATE residents SET consent_outreach = 1, do_not_contact = 0, email = ?, "
            "preferred_channels = '[\"email\"]' WHERE id = ?", (RESIDENT, row[0]))
        library, = connection.execute("SELECT id FROM departments WHERE code = 'library'"
                                      ).fetchone()
        connection.execute(
            "INSERT INTO reply_templates (department_id, name_ja, name_en, body_ja, body_en, "
            "active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            (library, template_name, template_name + " (en)",
             "{name} 様\n\nお問い合わせ No. {number} について回答いたします。"
             "ご指摘の本は予約できるようになりました。",
             "Dear {name},\n\nAbout your inquiry No. {number}: the book can now be reserved.",
             stamp, stamp))
    return " ".join(part for part in row[1:] if part)


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "shelf.png"
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    for x in range(0, 64, 8):
        for y in range(48):
            image.putpixel((x, y), (20, 60, 160))
    image.save(path, format="PNG")
    return path


def _followup_mail(live_instance: Path, number: str) -> str:
    """The follow-up invitation the resolution sent the resident (the console sends
    the outbox when the action commits; inline here): its subject. Its single-use
    link is removed from the stored copy once delivered, so the file sink has it."""
    with _database(live_instance) as connection:
        rows = connection.execute(
            "SELECT subject, body_text, status FROM outbound_messages WHERE to_address = ? "
            "AND purpose = 'survey_invitation' ORDER BY id", (RESIDENT,)).fetchall()
    for subject, body, status in rows:
        if f"No. {number}）" in subject:
            assert status == "sent", (status, body)
            return subject
    raise AssertionError(f"no follow-up e-mail for inquiry No. {number}: {rows}")


def _shot(page: AuditedPage, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_inquiry_answered_resolved_and_followed_up_in_japanese(browser, live_server,
                                                               live_instance, tmp_path):
    token = uuid.uuid4().hex[:6]
    subject = f"予約できない本 {token}"
    note = f"蔵書システムの不具合として報告済み {token}"
    template_name = f"予約の回答 {token}"
    name = _prepare(live_instance, template_name)

    resident_context, resident = _japanese(browser, live_server)
    staff_context, staff = _japanese(browser, live_server)
    current = resident
    try:
        # (1) the resident sends the inquiry, with a photo, past the suggestions
        _sign_in(resident, RESIDENT)
        resident.goto("/inquiries/new")
        expect(resident.locator("h1")).to_have_text("お問い合わせを送る")
        resident.get_by_label(re.compile(r"^サービス")).select_option(SERVICE)
        resident.get_by_label("不具合の報告", exact=True).check()
        resident.get_by_label(re.compile(r"^件名")).fill(subject)
        resident.get_by_label(re.compile(r"^あなたのお問い合わせ")).fill(
            "オンラインで本を予約しようとすると、エラーが表示されて予約できません。")
        resident.locator("[name=photo]").set_input_files(_photo(tmp_path))
        _click_and_audit(resident, resident.get_by_role("button", name="次へ", exact=True))
        expect(resident.get_by_role("heading", name="送信の前に：お役に立ちそうな情報")
               ).to_be_visible()
        expect(resident.locator(".notice")).to_contain_text("64 × 48")
        _click_and_audit(resident, resident.get_by_role("button", name="お問い合わせを送信"))
        match = re.search(r"/inquiries/(\d+)$", resident.url)
        assert match, resident.url
        number = match.group(1)
        expect(resident.locator("h1")).to_have_text(subject)
        expect(resident.locator(".subtitle")).to_contain_text(f"お問い合わせ No. {number}")
        expect(resident.locator(".flash--success")).to_contain_text(number)
        expect(resident.get_by_role("img", name="添付した写真 1")).to_be_visible()
        _no_sideways_scroll(resident)

        # (2) the library staff member works it: photo, note, template reply, resolved
        current = staff
        _sign_in(staff, STAFF)
        staff.goto("/admin/inquiries/")
        staff.get_by_label("件名・本文・番号で検索").fill(number)
        _click_and_audit(staff, staff.get_by_role("button", name="絞り込み"))
        _no_sideways_scroll(staff)
        _click_and_audit(staff, staff.get_by_role("link", name=subject))
        expect(staff.locator("h1")).to_contain_text(f"No. {number}")
        photo = staff.get_by_role("img", name="お問い合わせに添付された写真1")
        expect(photo).to_be_visible()
        assert photo.evaluate("img => img.complete && img.naturalWidth") == 64

        staff.locator("#note").get_by_role("textbox").fill(note)
        _click_and_audit(staff, staff.get_by_role("button", name="メモを追加"))
        expect(staff.locator(".flash--success")).to_contain_text("内部メモを追加しました。")
        expect(staff.locator(".message--note")).to_contain_text(note)

        reply = staff.locator("#reply")
        reply.get_by_label("回答テンプレート").select_option(label=template_name)
        _click_and_audit(staff, reply.get_by_role("button", name="テンプレートを使う"))
        body = staff.locator("#reply").get_by_label("住民への回答")
        expect(body).to_have_value(re.compile(re.escape(f"{name} 様")))
        expect(body).to_have_value(re.compile(re.escape(f"お問い合わせ No. {number} について")))
        staff.locator("#reply").get_by_label("回答後の状態").select_option("resolved")
        _click_and_audit(staff, staff.locator("#reply").get_by_role("button", name="回答を送信"))
        expect(staff.locator(".flash--success")).to_contain_text("回答を住民に送信しました。")
        expect(staff.locator(".followup")).to_contain_text("フォローアップアンケート")
        expect(staff.locator(".followup")).not_to_contain_text("回答済み")
        assert _followup_mail(live_instance, number).startswith("お問い合わせ（No.")

        # (3) the resident reads the reply (not the note) and answers the follow-up
        current = resident
        resident.reload()
        resident.audit()
        thread = resident.locator("#thread")
        expect(thread).to_contain_text("ご指摘の本は予約できるようになりました。")
        expect(thread).to_contain_text(f"{name} 様")
        expect(resident.locator("main")).not_to_contain_text(note)
        link = resident.locator(".followup").get_by_role("link", name="短いアンケートに回答する")
        _click_and_audit(resident, link)
        expect(resident.locator("h1")).to_contain_text("お問い合わせへの対応についてのアンケート")
        csat = resident.locator("fieldset[data-key=csat]")
        expect(csat).to_contain_text(CSAT_JA)
        csat.locator("label", has_text="4").click()
        _click_and_audit(resident, resident.get_by_role("button", name="回答を送信する"))
        expect(resident.locator("h1")).to_have_text("ありがとうございました")
        expect(resident.locator(".survey__thanks")).to_contain_text("ご回答ありがとうございました。")
        resident.goto(f"/inquiries/{number}")
        expect(resident.locator(".followup")).to_contain_text("ご回答ありがとうございました。")
        expect(resident.locator(".followup").get_by_role("link")).to_have_count(0)

        # (4) the staff page shows the answer
        current = staff
        staff.goto(f"/admin/inquiries/{number}")
        expect(staff.locator(".followup")).to_contain_text("回答済み：CSAT 4/5")
        # every page of the journey was audited (``audit`` records each URL it checked)
        paths = {re.sub(r"^https?://[^/]+|[?#].*$", "", url)
                 for url in resident.audited + staff.audited}
        survey = re.compile(r"^/surveys/(\d+|i/[\w-]+)$")  # this inquiry's own invitation link
        assert {"/inquiries/new", f"/inquiries/{number}", "/admin/inquiries/",
                f"/admin/inquiries/{number}", f"/admin/inquiries/{number}/reply"} <= paths
        assert any(survey.match(p) for p in paths), paths
        assert any(p.endswith("/thanks") for p in paths), paths
    except Exception:
        _shot(current, "inquiry-journey-" + ("resident" if current is resident else "staff"))
        raise
    finally:
        resident_context.close()
        staff_context.close()
