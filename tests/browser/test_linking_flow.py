"""A manager unlinks a resident's account from a register record, and a member of
staff links it again after checking the resident's identity."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_resident_journey import sign_in


def test_unlink_and_link_again_with_an_identity_check(page, browser, live_server):
    from tests.browser.conftest import AuditedPage

    sign_in(page, "manager@demo.example")
    page.goto("/admin/residents/")
    page.get_by_label("Name, kana, external id, e-mail or phone").fill("resident@demo.example")
    page.get_by_role("button", name="Search").click()
    page.audit()
    page.locator("tbody a").first.click()
    page.audit()
    record_url = page.url
    unlink = page.locator("form[action$='/unlink']")
    unlink.get_by_role("button", name="Unlink account").click()
    page.audit()  # refused without a reason: the page with errors is audited too
    expect(page.locator(".error-summary")).to_contain_text("Give a reason.")
    page.locator("form[action$='/unlink']").get_by_label("Reason").fill("browser test")
    page.locator("form[action$='/unlink']").get_by_role("button", name="Unlink account").click()
    page.audit()
    expect(page.locator(".flash--success")).to_contain_text("no longer linked")
    expect(page.locator("#profile-title + dl")).to_contain_text("none linked")

    staff_context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    staff = AuditedPage(staff_context.new_page(), live_server)
    sign_in(staff, "staff.library@demo.example")
    staff.page.goto(record_url)
    staff.audit()
    link = staff.locator("form[action$='/link']")
    link.get_by_label("E-mail address of the resident's account").fill("resident@demo.example")
    link.get_by_role("button", name="Link account").click()
    staff.audit()
    expect(staff.locator(".error-summary")).to_contain_text(
        "Say how you checked the resident's identity.")
    link = staff.locator("form[action$='/link']")
    link.get_by_label("Identity checked by").select_option(label="My Number card, shown in person")
    link.get_by_label("Note on the check").fill("at the library counter")
    link.get_by_role("button", name="Link account").click()
    staff.audit()
    expect(staff.locator(".flash--success")).to_contain_text("is now linked to this record")
    expect(staff.locator("#profile-title + dl")).to_contain_text("linked by")
    staff_context.close()

    # the resident sees the register record again
    resident_context = browser.new_context(locale="en-US")
    resident = AuditedPage(resident_context.new_page(), live_server)
    sign_in(resident, "resident@demo.example")
    resident.goto("/my/profile")
    expect(resident.locator("main")).to_contain_text("R0")
    resident_context.close()
