"""A manager reads a service's KPIs and opens the residents behind the lapse figure;
an official sees the figures but not the list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_resident_journey import sign_in


def test_manager_reads_the_kpis_and_the_lapse_list(page):
    sign_in(page, "manager@demo.example")
    expect(page.locator("#kpi-line")).to_contain_text("Retention, 30 days")  # console home
    page.goto("/admin/services/library-loans/engagement")
    kpis = page.locator("section:has(#kpis-title)")
    expect(kpis).to_contain_text("Lapse")
    kpis.get_by_text("How these figures are worked out").click()
    expect(kpis.locator("details[open]")).to_contain_text("Regular users")
    page.audit()  # with the definitions open
    page.goto("/admin/services/library-loans/lapsed")
    expect(page.locator("h1")).to_contain_text("Lapsed residents")
    expect(page.locator(".result-count")).to_contain_text("resident")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/admin/services/senior-bus-pass/engagement")  # uptake, at phone width
    expect(page.locator("section:has(#kpis-title)")).to_contain_text(
        "Uptake among the eligible")


def test_official_sees_the_figures_but_not_the_lapse_list(page):
    sign_in(page, "official@demo.example")
    page.goto("/admin/services/library-loans/engagement")
    kpis = page.locator("section:has(#kpis-title)")
    expect(kpis).to_contain_text("Retention, 90 days")
    expect(kpis.get_by_role("link", name="See who lapsed")).to_have_count(0)
    response = page.page.goto(page.base + "/admin/services/library-loans/lapsed")
    assert response.status == 403
