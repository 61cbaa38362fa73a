"""A resident registers, signs out and in, switches to Japanese; staff reach the console."""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes, policy

from playwright.sync_api import expect

from portal.demo.generator import DEMO_PASSWORD


def link_mailed_to(instance, email: str) -> str:
    for path in sorted((instance / "mail").glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            return re.search(r"http://\S+", message.get_body().get_content()).group(0)
    raise AssertionError(f"no e-mail to {email}")


def test_register_login_switch_language_logout(page, live_instance):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/")
    page.get_by_role("link", name="Create an account").first.click()
    page.audit()
    page.get_by_label("Your name").fill("Emma Tanaka")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me the link").click()
    page.audit()
    expect(page.locator("h1")).to_have_text("Check your e-mail")

    link = link_mailed_to(live_instance, email)
    assert link.startswith(page.base + "/account/register/finish/")  # the served address
    page.page.goto(link)
    page.audit()
    expect(page.locator("main")).to_contain_text("Emma Tanaka")
    page.get_by_label("New password", exact=False).first.fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Create account").click()
    page.audit()  # the page with errors is audited too
    expect(page.locator(".error-summary")).to_contain_text("Use at least 10 characters.")

    page.locator("#password").fill("maple leaves in autumn")
    page.get_by_label("Repeat the new password").fill("maple leaves in autumn")
    page.get_by_role("button", name="Create account").click()
    page.audit()
    expect(page.locator(".flash--success")).to_contain_text("Your account has been created")

    page.get_by_role("button", name="Sign out").click()
    page.audit()
    expect(page.locator(".flash--success")).to_contain_text("You have signed out.")

    page.get_by_role("link", name="Sign in").first.click()
    page.audit()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    page.audit()
    expect(page.locator(".flash--error")).to_contain_text("is not correct")
    page.get_by_label("Password").fill("maple leaves in autumn")
    page.get_by_role("button", name="Sign in").click()
    page.audit()
    expect(page.locator("header")).to_contain_text("Emma Tanaka")

    page.get_by_role("button", name="日本語").click()
    page.audit()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    page.goto("/account/settings")  # the choice sticks on the next page
    expect(page.locator("h1")).to_have_text("アカウント設定")

    page.get_by_role("button", name="ログアウト").click()
    page.audit()
    expect(page.get_by_role("link", name="ログイン").first).to_be_visible()


def test_admin_console_pages_are_accessible(page):
    page.goto("/account/login")
    page.get_by_label("E-mail address").fill("admin@demo.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.audit()
    expect(page.locator("h1")).to_have_text("Console home")
    for path in ("/admin/accounts", "/admin/accounts/new", "/admin/audit",
                 "/account/settings"):
        page.goto(path)
    page.get_by_role("link", name="Audit log").first.click()
    expect(page.locator("table")).to_contain_text("Signed in")  # the action by its label
    page.goto("/admin/accounts/new")
    page.get_by_role("button", name="Create account and send invitation").click()
    page.audit()
    expect(page.locator(".error-summary")).to_be_visible()
