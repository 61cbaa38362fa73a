"""A manager finds the districts from the resident list, adds one with its
English name, and sees each language's name on the pages."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_resident_journey import sign_in


def test_manager_adds_a_district_with_an_english_name(page):
    sign_in(page, "manager@demo.example")
    page.get_by_role("link", name="Residents", exact=True).click()
    page.get_by_role("link", name="Districts", exact=True).click()
    page.audit()
    expect(page.locator("tbody")).to_contain_text("Kitamachi")
    page.get_by_role("link", name="New district").click()
    page.get_by_role("button", name="Save district").click()  # nothing filled in
    page.audit()  # the form with its error summary
    expect(page.locator(".error-summary, [role=alert]").first).to_be_visible()
    page.get_by_label("Name in Japanese").fill("港町")
    page.get_by_label("Name in English").fill("Minatomachi")
    page.get_by_role("button", name="Save district").click()
    expect(page.get_by_text("The district Minatomachi has been created.")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("港町")
    page.get_by_role("link", name="Residents", exact=True).click()
    expect(page.get_by_label("District")).to_contain_text("Minatomachi")
    page.get_by_role("button", name="日本語").click()
    page.goto("/admin/residents/districts")
    expect(page.locator("h1")).to_have_text("地区")
    page.audit()
    page.get_by_role("button", name="English").click()
