"""Surveys in the browser (issue 9): a manager builds a two-question survey through
the console, invites the demo resident, and the resident answers the e-mailed link in
Japanese with a show-if question revealed (in place with JavaScript, and by the
server's "update" button when the form script does not run); a manager builds a
survey, opens it, enters a paper response and reads the results.

Every page visited passes the axe audit and the duplicate-id check.

Why the earlier draft hung: it ran the axe audit in a context with
``java_script_enabled=False``. Playwright's ``page.evaluate`` (which axe uses) has no
timeout, and with script execution disabled axe's promise never settles, so the
test waited forever. The path without the enhancement is tested here in a
JavaScript context that blocks ``survey-form.js`` instead: the page is what a
browser without JavaScript gets (the "update" button shown, nothing revealed in
place), and axe can still run.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, AuditedPage
from tests.browser.test_resident_journey import sign_in

TIMEOUT_MS = 15_000
CSAT_JA = "本日の窓口の対応にどの程度満足しましたか。"
WHY_JA = "満足できなかった理由を教えてください。"
THANKS_JA = "貴重なご意見をありがとうございました。"


def _short_timeouts(page) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)


def _click_and_audit(page: AuditedPage, locator) -> None:
    """A click that submits or follows a link, then the audit of the page it lands on."""
    with page.page.expect_navigation(timeout=TIMEOUT_MS):
        locator.click()
    page.audit()


def build_survey(page: AuditedPage, title: str, *, anonymous: bool,
                 service: str | None = None) -> int:
    """Through the console: a survey with a CSAT and a long text asked only when the
    CSAT is at most 2, opened. Returns its id."""
    page.goto("/admin/surveys/new")
    page.locator("[name=title_ja]").fill(title)
    page.locator("[name=title_en]").fill(title + " (en)")
    page.locator("[name=intro_ja]").fill("窓口のご利用についてお聞かせください。")
    page.locator("[name=thanks_ja]").fill(THANKS_JA)
    page.locator("[name=thanks_en]").fill("Thank you for your feedback.")
    if service:
        page.locator("[name=service_id]").select_option(label=service)
    else:
        page.locator("[name=department_id]").select_option(index=1)
    page.locator(f"[name=anonymous][value='{1 if anonymous else 0}']").check()
    _click_and_audit(page, page.get_by_role("button", name="Save survey"))
    match = re.search(r"/admin/surveys/(\d+)", page.url)
    assert match, page.url
    survey_id = int(match.group(1))
    expect(page.locator("h1")).to_have_text(title + " (en)")

    questions = [
        {"type": "csat", "key": "csat", "text_ja": CSAT_JA,
         "text_en": "How satisfied were you with the counter today?"},
        {"type": "long_text", "key": "why", "text_ja": WHY_JA,
         "text_en": "What went wrong?", "show_if": ("csat", "at_most", "2")},
    ]
    for question in questions:
        _click_and_audit(page, page.get_by_role("link", name="Add a question"))
        expect(page.locator("h1")).to_have_text("New question")
        page.locator("[name=type]").select_option(question["type"])
        page.locator("[name=key]").fill(question["key"])
        page.locator("[name=text_ja]").fill(question["text_ja"])
        page.locator("[name=text_en]").fill(question["text_en"])
        page.locator("[name=required]").check()
        if "show_if" in question:
            target, op, value = question["show_if"]
            page.locator("[name=show_if_question]").select_option(target)
            page.locator("[name=show_if_op]").select_option(op)
            page.locator("[name=show_if_value]").fill(value)
        _click_and_audit(page, page.locator("form:has([name=key]) [type=submit]"))
        expect(page.locator(".question-list")).to_contain_text(question["key"])
    expect(page.locator(".question-list > li")).to_have_count(2)
    expect(page.locator(".question-list")).to_contain_text("csat")

    _click_and_audit(page, page.get_by_role("button", name="Open the survey"))
    expect(page.get_by_role("button", name="Close the survey")).to_be_visible()
    return survey_id


def _demo_resident_external_id(live_instance: Path) -> str:
    uri = f"file:{live_instance / 'portal.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=5) as connection:
        row = connection.execute("SELECT external_id FROM residents WHERE email = ?",
                                 ("resident@demo.example",)).fetchone()
    assert row and row[0], "the demo resident has no external id"
    return row[0]


def _invitation_link(mail_dir: Path, before: set[Path], title: str) -> str:
    """The link of the invitation e-mail sent for the survey (the .eml the sink kept)."""
    for path in sorted(set(mail_dir.glob("*.eml")) - before):
        message = BytesParser(policy=policy.default).parse(path.open("rb"))
        if "resident@demo.example" not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain", "html")).get_content()
        match = re.search(r"/surveys/i/([A-Za-z0-9_\-]+)", body)
        if match and (title in body or title in str(message["Subject"])):
            return match.group(0)
    raise AssertionError(f"no invitation e-mail for {title!r} in {mail_dir}")


def test_resident_answers_an_emailed_invitation_in_japanese(page, browser, live_server,
                                                            live_instance):
    _short_timeouts(page)
    title = f"窓口満足度 {uuid.uuid4().hex[:6]}"
    sign_in(page, "manager@demo.example")
    survey_id = build_survey(page, title, anonymous=False)

    # one invitation: the demo resident, picked by a CSV of their external id
    page.goto(f"/admin/surveys/{survey_id}/invitations")
    mail_dir = live_instance / "mail"
    before = set(mail_dir.glob("*.eml")) if mail_dir.exists() else set()
    page.locator("[name=file]").set_input_files({
        "name": "audience.csv", "mimeType": "text/csv",
        "buffer": f"external_id\n{_demo_resident_external_id(live_instance)}\n".encode()})
    _click_and_audit(page, page.get_by_role("button", name="Count"))
    expect(page.locator("main")).to_contain_text("To invite")
    _click_and_audit(page, page.get_by_role("button", name="Send 1 invitation"))
    expect(page.locator(".flash--success")).to_contain_text("1 invitation was queued")
    link = _invitation_link(mail_dir, before, title)

    # the resident, in a fresh browser in Japanese: the question is revealed in place
    context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844},
                                  extra_http_headers={"Accept-Language": "ja"})
    resident = AuditedPage(context.new_page(), live_server)
    _short_timeouts(resident)
    try:
        resident.goto(link)
        expect(resident.locator("h1")).to_have_text(title)
        why = resident.locator("fieldset[data-key=why]")
        expect(why).to_be_hidden()
        expect(resident.get_by_role("button", name="更新して次の質問を表示")).to_be_hidden()
        resident.locator("fieldset[data-key=csat] label", has_text="4").click()
        expect(why).to_be_hidden()
        resident.locator("fieldset[data-key=csat] label", has_text="2").click()
        expect(why).to_be_visible()
        resident.audit()  # with the question revealed
        _click_and_audit(resident, resident.get_by_role("button", name="回答を送信する"))
        expect(resident.locator(".error-summary")).to_contain_text(WHY_JA)
        resident.get_by_role("textbox", name=WHY_JA).fill("待ち時間が長かった")
        _click_and_audit(resident, resident.get_by_role("button", name="回答を送信する"))
        expect(resident.locator("h1")).to_have_text("ありがとうございました")
        expect(resident.locator(".survey__thanks")).to_contain_text(THANKS_JA)
        resident.goto(link)  # the link is used now: a clear page
        expect(resident.locator("main")).not_to_contain_text("回答を送信する")
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        resident.screenshot(path=str(ARTIFACTS / "survey-resident.png"), full_page=True)
        raise
    finally:
        context.close()

    page.goto(f"/admin/surveys/{survey_id}/invitations")
    expect(page.locator("table").first).to_contain_text("1")


def test_form_without_its_script_reveals_by_the_update_button(page, browser, live_server,
                                                              live_instance):
    """What a browser without JavaScript gets, from the staff preview in Japanese."""
    _short_timeouts(page)
    title = f"更新ボタン {uuid.uuid4().hex[:6]}"
    sign_in(page, "manager@demo.example")
    survey_id = build_survey(page, title, anonymous=True)
    page.page.route("**/js/survey-form.js", lambda route: route.abort())
    page.goto(f"/admin/surveys/{survey_id}/preview?lang=ja")
    why = page.locator("fieldset[data-key=why]")
    expect(why).to_be_hidden()
    update = page.get_by_role("button", name="更新して次の質問を表示")
    expect(update).to_be_visible()
    page.locator("fieldset[data-key=csat] label", has_text="1").click()
    expect(why).to_be_hidden()  # nothing in place without the script
    _click_and_audit(page, update)
    expect(why).to_be_visible()
    expect(page.locator("fieldset[data-key=csat] input[value='1']")).to_be_checked()
    page.get_by_role("textbox", name=WHY_JA).fill("説明が分かりにくかった")
    _click_and_audit(page, page.get_by_role("button", name="回答を送信する"))
    expect(page.locator("h1")).to_have_text("ありがとうございました")
    expect(page.locator(".survey__thanks")).to_contain_text(THANKS_JA)


def test_manager_builds_a_survey_and_reads_its_results(page):
    _short_timeouts(page)
    title = f"Counter survey {uuid.uuid4().hex[:6]}"
    sign_in(page, "manager@demo.example")
    survey_id = build_survey(page, title, anonymous=True)

    # two paper responses entered by staff: one happy, one not (the reason revealed)
    for csat, reason in (("5", None), ("2", "The queue was long")):
        page.goto(f"/admin/surveys/{survey_id}/responses/new")
        page.locator("[name=channel]").select_option("paper")
        page.locator("fieldset[data-key=csat] label", has_text=csat).click()
        if reason:
            page.get_by_role("textbox", name="What went wrong?").fill(reason)
        _click_and_audit(page, page.get_by_role("button", name="Store the response"))
        expect(page.locator(".flash--success")).to_contain_text("The response was stored.")

    page.goto(f"/admin/surveys/{survey_id}")
    expect(page.locator("dl.facts")).to_contain_text("2")
    _click_and_audit(page, page.locator("nav.subnav").get_by_role("link", name="Results"))
    expect(page.page).to_have_url(re.compile(rf"/admin/surveys/{survey_id}/results"))
    expect(page.locator("h1")).to_contain_text(title)
    tile = page.locator(".tile", has=page.locator("dt", has_text=re.compile(r"^Responses$")))
    expect(tile.locator("dd")).to_have_text("2")
