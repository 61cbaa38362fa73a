"""A resident finds a service, staff record a use at the counter, the resident sees
it on My page and downloads their data."""

from __future__ import annotations

import json
import zipfile

from playwright.sync_api import expect

from portal.demo.generator import DEMO_PASSWORD


def sign_in(page, email: str) -> None:
    page.goto("/account/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.audit()


def test_counter_use_reaches_my_page_and_the_download(page, browser, live_server):
    # the resident looks for the study room in the catalogue
    sign_in(page, "resident@demo.example")
    page.get_by_role("link", name="City services").first.click()
    page.audit()
    page.get_by_role("searchbox", name="Search services").fill("study room")
    page.get_by_role("button", name="Search").click()
    page.audit()
    page.get_by_role("link", name="Study Room", exact=False).first.click()
    page.audit()
    service_name = page.locator("h1").inner_text()
    expect(page.get_by_role("heading", name="How to use it")).to_be_visible()

    # a member of the library staff records a visit at the counter
    from tests.browser.conftest import AuditedPage

    staff_context = browser.new_context(locale="en-US")
    staff = AuditedPage(staff_context.new_page(), live_server)
    sign_in(staff, "staff.library@demo.example")
    staff.get_by_role("link", name="Residents").first.click()
    staff.audit()
    staff.get_by_label("Name, kana, external id, e-mail or phone").fill("resident@demo.example")
    staff.get_by_role("button", name="Search").click()
    staff.audit()
    staff.locator("tbody a").first.click()
    staff.audit()
    entry = staff.locator("#record-use")
    entry.get_by_label("Service").select_option(label=service_name)
    entry.get_by_label("Channel").select_option("counter")
    entry.get_by_label("Note").fill("Booked room 2 at the counter")
    staff.get_by_role("button", name="Record use").click()
    staff.audit()
    expect(staff.locator(".flash--success")).to_contain_text("Recorded:")
    expect(staff.locator("table").last).to_contain_text("Booked room 2 at the counter")
    staff_context.close()

    # the resident sees it on My page
    page.get_by_role("link", name="My page").first.click()
    page.audit()
    used = page.locator("table").first
    expect(used).to_contain_text(service_name)
    expect(page.locator(".timeline")).to_contain_text(service_name)

    # and finds it in the download
    page.get_by_role("link", name="Your data").first.click()
    page.audit()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data (ZIP)").click()
    archive = zipfile.ZipFile(info.value.path())
    events = json.loads(archive.read("usage_events.json"))
    assert any(e["note"] == "Booked room 2 at the counter" for e in events)
    profile = json.loads(archive.read("profile.json"))
    assert profile["account"]["email"] == "resident@demo.example"


def test_profile_and_data_pages_are_accessible_in_japanese(page):
    sign_in(page, "resident@demo.example")
    page.get_by_role("button", name="日本語").click()
    page.audit()
    for path in ("/my/", "/my/profile", "/my/data", "/services/"):
        page.goto(path)
    page.goto("/my/profile")
    page.get_by_label("生まれた年").fill("1850")
    page.locator("form.stacked-form input[type=submit]").click()
    page.audit()
    expect(page.locator(".error-summary")).to_be_visible()
    page.get_by_role("button", name="English").click()


def test_console_pages_for_residents_and_services_are_accessible(page):
    sign_in(page, "manager@demo.example")
    for path in ("/admin/residents/", "/admin/services", "/admin/services/new",
                 "/admin/services/library-loans/edit", "/admin/departments/new"):
        page.goto(path)
    page.goto("/admin/residents/")
    page.locator("tbody a").first.click()
    page.audit()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
