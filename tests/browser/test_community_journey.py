"""The community in the browser (issue 12), from a resident's question to an FAQ entry,
in Japanese.

A resident starts asking about 児童手当: as they type the title the page suggests the
demo's FAQ entry on it (JavaScript), and the "check for similar questions" step shows
it too (JavaScript off: the step is a plain form post). They post the question
(tagged with a childcare service); a new member (``community9``, whose first post waits
for review) answers it, and a manager approves the answer in the moderation queue; so
the question too, should it be waiting (a deployment's first-post review). The
childcare staff member gives the official answer (signed "公式回答 — 子育て支援課"),
promotes it to the FAQ, and the new entry shows on the service's page and in /faq/.

Every page visited passes the axe audit and the duplicate-id check; the question page,
the community list, the FAQ and the moderation queue do not scroll sideways at 390 px.
Everyone browses in Japanese by the browser's language (``Accept-Language``), never by
the language switch (it would store the language on the shared demo accounts).

The live server runs ``.venv/bin/portal``, which imports the code on ``PYTHONPATH``
first: run from a worktree with ``PYTHONPATH=.`` to test that worktree's code.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import AuditedPage
from tests.browser.test_inquiry_journeys import (
    _click_and_audit,
    _no_sideways_scroll,
    _short_timeouts,
    _shot,
    _sign_in,
)

RESIDENT = "resident@demo.example"
NEWCOMER = "community9@demo.example"  # the demo's new member: first post under review
MANAGER = "manager@demo.example"
STAFF = "staff.childcare@demo.example"
SERVICE = "nursery-enrollment"
SERVICE_JA = "保育所等の入所相談"
DEPARTMENT_JA = "子育て支援課"
DEMO_FAQ_JA = "児童手当はいつ、どのように支給されますか？"  # portal/community/demo.py
PENDING_JA = "最初の投稿は確認待ちです"


def _post_id(url: str) -> int:
    match = re.search(r"#post-(\d+)$", url)
    assert match, url
    return int(match.group(1))


def _approve_if_pending(manager, post_id: int) -> bool:
    """On the moderation queue: approve the post if it waits there. Returns whether it did."""
    item = manager.locator(f"#item-{post_id}")
    if item.count() == 0:
        return False
    _click_and_audit(manager, item.get_by_role("button", name="承認して公開"))
    expect(manager.locator(f"#item-{post_id}")).to_have_count(0)
    return True


def test_question_answered_officially_and_promoted_to_the_faq_in_japanese(browser,
                                                                          live_server):
    token = uuid.uuid4().hex[:6]
    title = f"児童手当は双子だと二人分もらえますか {token}"
    body = "来月双子が生まれる予定です。児童手当は一人分ですか、二人分ですか？"
    answer = f"うちも双子で、二人分が振り込まれました。{token}"
    official = (f"児童手当は**お子さん一人ひとりに**支給されます。双子の場合は二人分です。"
                f"出生の翌日から15日以内に子育て支援課へ申請してください。{token}")
    faq_question = f"双子の場合、児童手当は二人分支給されますか？ {token}"

    contexts = []
    people: dict[str, AuditedPage] = {}

    def person(name: str, **options) -> tuple:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900},
                                      extra_http_headers={"Accept-Language": "ja"}, **options)
        contexts.append(context)
        page = people[name] = AuditedPage(context.new_page(), live_server)
        _short_timeouts(page)
        return context, page

    current = "resident"
    try:
        # (1) the resident starts asking about 児童手当. Without the page's script the
        # "check for similar questions" step (a plain form post) suggests the FAQ entry
        _, resident = person("resident")
        _sign_in(resident, RESIDENT)
        resident.route("**/js/community-similar.js", lambda route: route.abort())
        resident.goto("/community/ask")
        expect(resident.locator("h1")).to_have_text("質問する")
        resident.get_by_label(re.compile(r"^タイトル")).fill("児童手当")
        _click_and_audit(resident, resident.get_by_role("button", name="似た質問を確認する"))
        similar = resident.locator("#similar")
        expect(similar.get_by_role("heading", name="似た質問とよくある質問")).to_be_visible()
        expect(similar.get_by_role("link", name=DEMO_FAQ_JA)).to_be_visible()
        expect(resident.get_by_label(re.compile(r"^タイトル"))).to_have_value("児童手当")
        expect(resident.locator("#live-similar")).to_be_hidden()

        # ... and with it, as they type (debounced)
        resident.unroute("**/js/community-similar.js")
        resident.goto("/community/ask")
        live = resident.locator("#live-similar")
        expect(live).to_be_hidden()
        resident.get_by_label(re.compile(r"^タイトル")).press_sequentially("児童手当")
        expect(live.get_by_role("link", name=DEMO_FAQ_JA)).to_be_visible()
        expect(resident.locator("#similar")).to_have_count(0)
        resident.audit()  # the page with the suggestions shown

        # (2) the FAQ does not cover twins: the resident writes the question out and posts it
        resident.get_by_label(re.compile(r"^タイトル")).fill(title)
        resident.get_by_label(re.compile(r"^質問の内容")).fill(body)
        resident.get_by_label(SERVICE_JA, exact=True).check()
        _click_and_audit(resident, resident.get_by_role("button", name="質問を投稿する"))
        match = re.search(r"/community/questions/(\d+)$", resident.url)
        assert match, resident.url
        question_id = int(match.group(1))
        question_path = f"/community/questions/{question_id}"
        expect(resident.locator("h1")).to_have_text(title)
        question_pending = resident.locator(".flash").filter(has_text=PENDING_JA).count() > 0
        if not question_pending:
            expect(resident.locator(".flash--success")).to_contain_text("質問を投稿しました。")

        # (3) a new member answers: their first post waits for a moderator
        current = "newcomer"
        _, newcomer = person("newcomer")
        _sign_in(newcomer, NEWCOMER)
        if question_pending:  # not public yet: the manager approves the question first
            current = "manager"
            _, manager = person("manager")
            _sign_in(manager, MANAGER)
            manager.goto("/admin/community/moderation")
            assert _approve_if_pending(manager, question_id)
            current = "newcomer"
        newcomer.goto(question_path)
        newcomer.get_by_role("textbox", name=re.compile(r"^あなたの回答")).fill(answer)
        _click_and_audit(newcomer, newcomer.get_by_role("button", name="回答を投稿する"))
        answer_id = _post_id(newcomer.url)
        answer_pending = newcomer.locator(".flash").filter(has_text=PENDING_JA).count() > 0

        # (4) the manager reviews the queue (and approves the answer if it waits there)
        current = "manager"
        if "manager" not in people:
            _, manager = person("manager")
            _sign_in(manager, MANAGER)
        manager = people["manager"]
        manager.goto("/admin/community/moderation")
        expect(manager.locator("h1")).to_have_text("モデレーション")
        if answer_pending:
            expect(manager.locator(f"#item-{answer_id}")).to_contain_text(answer)
        _no_sideways_scroll(manager)
        assert _approve_if_pending(manager, answer_id) == answer_pending
        expect(manager.locator(".flash--success")).to_have_count(1 if answer_pending else 0)

        # the resident sees the answer on the question; the page and the list fit 390 px
        current = "resident"
        resident.goto(question_path)
        expect(resident.locator(f"#post-{answer_id}")).to_contain_text(answer)
        expect(resident.locator("#answers-title")).to_have_text("回答1件")
        # the asker follows their question; the button sits in the facts line
        expect(resident.locator(".community-facts").get_by_role("button", name="フォローをやめる")
               ).to_be_visible()
        _no_sideways_scroll(resident)
        resident.goto("/community/")
        expect(resident.get_by_role("link", name=title)).to_be_visible()
        _no_sideways_scroll(resident)

        # (5) the childcare staff member gives the official answer ...
        current = "staff"
        _, staff = person("staff")
        _sign_in(staff, STAFF)
        staff.goto(question_path)
        form = staff.locator(".official-answer-form")
        # staff answer officially, not as residents: no empty "your answer" section
        expect(staff.get_by_role("heading", name="あなたの回答")).to_have_count(0)
        expect(form).to_contain_text(f"公式回答 — {DEPARTMENT_JA}")
        form.get_by_role("textbox", name=re.compile(r"^公式回答")).fill(official)
        _click_and_audit(staff, form.get_by_role("button", name="公式回答を投稿"))
        expect(staff.locator(".flash--success")).to_contain_text("公式回答を投稿しました。")
        official_post = staff.locator("article.community-post--official")
        expect(official_post).to_have_count(1)
        expect(official_post.locator(".community-badge--official")).to_have_text(
            f"公式回答 — {DEPARTMENT_JA}")
        expect(official_post.locator("strong")).to_have_text("お子さん一人ひとりに")
        # the official answer comes before the residents' answers
        order = staff.locator(".community-answers article").evaluate_all(
            "els => els.map(el => el.id)")
        assert order[0] != f"post-{answer_id}" and order[-1] == f"post-{answer_id}", order

        # ... and promotes it to the FAQ (the question and answer copied, then tidied)
        _click_and_audit(staff, official_post.get_by_role("link", name="よくある質問にする"))
        assert re.search(r"/admin/faq/new\?from_post=\d+$", staff.url), staff.url
        expect(staff.locator("h1")).to_have_text("回答をよくある質問にする")
        question_ja = staff.get_by_label(re.compile(r"^質問（日本語）"))
        expect(question_ja).to_have_value(re.compile(re.escape(title)))
        expect(staff.get_by_label(re.compile(r"^回答（日本語）"))).to_have_value(official)
        expect(staff.get_by_label(SERVICE_JA, exact=True)).to_be_checked()
        question_ja.fill(faq_question)
        staff.get_by_label(re.compile(r"^質問（英語）")).fill(
            f"Are twins paid the child allowance twice? {token}")
        staff.get_by_label(re.compile(r"^回答（英語）")).fill(
            "Yes: the allowance is paid for each child.")
        staff.get_by_label(re.compile(r"^英語は下書き")).check()
        _click_and_audit(staff, staff.get_by_role("button", name="よくある質問に公開する"))
        expect(staff.locator(".flash--success")).to_contain_text("回答をよくある質問に登録しました。")
        entry_match = re.search(r"/admin/faq/(\d+)$", staff.url)
        assert entry_match, staff.url
        entry_id = entry_match.group(1)

        # (6) the new entry is on the service page and in the FAQ, for anyone
        current = "resident"
        resident.goto(f"/services/{SERVICE}")
        section = resident.locator("section[aria-labelledby=sec-faq]")
        expect(section.get_by_role("heading")).to_have_text("このサービスについてのよくある質問")
        expect(section.get_by_role("link", name=faq_question)).to_have_attribute(
            "href", f"/faq/{entry_id}")
        resident.goto("/faq/")
        expect(resident.get_by_role("link", name=faq_question)).to_be_visible()
        _no_sideways_scroll(resident)
        _click_and_audit(resident, resident.get_by_role("link", name=faq_question))
        expect(resident.locator("main")).to_contain_text("お子さん一人ひとりに")

        # every page of the journey was audited
        audited = {re.sub(r"^https?://[^/]+|[?#].*$", "", url)
                   for page in people.values() for url in page.audited}
        assert {"/community/ask", question_path, "/community/", "/admin/community/moderation",
                "/admin/faq/new", f"/admin/faq/{entry_id}", f"/services/{SERVICE}", "/faq/",
                f"/faq/{entry_id}"} <= audited, audited
    except Exception:
        if current in people:
            _shot(people[current], f"community-journey-{current}")
        raise
    finally:
        for context in contexts:
            context.close()
