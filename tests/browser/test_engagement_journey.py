"""A manager opens a service's engagement page, filters the at-risk list, opens a
resident and reads the explanation of a score."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_resident_journey import sign_in


def test_manager_reads_why_a_resident_is_at_risk(page):
    sign_in(page, "manager@demo.example")
    expect(page.get_by_text("Needs attention").first).to_be_visible()  # KPI tile
    page.get_by_role("link", name="Services", exact=True).click()
    page.audit()
    page.get_by_role("link", name="Engagement Book and Material Loans").click()
    page.audit()
    expect(page.locator("h1")).to_contain_text("Engagement")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    page.get_by_text("Show the data as a table").first.click()
    expect(page.locator("figure table").first).to_be_visible()

    page.get_by_label("Band", exact=True).select_option("")  # everyone
    page.get_by_label("Sort by", exact=True).select_option("-score")
    page.get_by_role("button", name="Filter").click()
    page.audit()
    page.get_by_label("Band", exact=True).select_option("at_risk")
    page.get_by_label("Sort by", exact=True).select_option("score")
    page.get_by_role("button", name="Filter").click()
    page.audit()
    rows = page.locator("section:has(#list-title) tbody tr")
    expect(rows.first).to_contain_text("Red")

    rows.first.get_by_role("link").click()
    page.audit()
    scores = page.locator("section:has(#scores-title)")
    expect(scores).to_contain_text("Red")
    scores.locator("summary").first.click()
    expect(scores.locator("details[open]").first).to_be_visible()
    page.audit()  # with the explanation open


def test_equity_and_model_pages_are_accessible(page):
    sign_in(page, "manager@demo.example")
    for path in ("/admin/engagement/equity", "/admin/engagement/equity?dimension=age",
                 "/admin/engagement/model", "/admin/services/library-loans/scoring"):
        page.goto(path)
    page.get_by_label("Recency").fill("-3")
    page.get_by_role("button", name="Save as a new version").click()
    page.audit()
    expect(page.locator(".error-summary")).to_contain_text("Between 0 and 100.")


def test_official_sees_aggregates_only(page):
    sign_in(page, "official@demo.example")
    page.goto("/admin/services/library-loans/engagement")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    expect(page.locator("#list-title")).to_have_count(0)
