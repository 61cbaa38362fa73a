"""A manager opens a service's calibration page, then tries a new weight with the
preview and leaves without saving.

The live server's demo (``--months 3``) keeps month-start snapshots, but whether
one lies 75–105 days back and holds residents who were regular users then
depends on today's date: the page shows either the figures or "no history yet"
(the figures are checked by hand in tests/test_calibration.py)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_resident_journey import sign_in


def test_manager_reads_calibration_and_previews_a_weight(page):
    sign_in(page, "manager@demo.example")
    page.goto("/admin/services/library-loans/engagement")
    page.get_by_role("link", name="Calibration", exact=True).click()
    page.audit()
    expect(page.locator("h1")).to_have_text("Calibration: Book and Material Loans")
    state = page.locator("p.notice:has-text('No history yet'), dl.facts")
    expect(state.first).to_be_visible()
    # the page says which lapse it counts: the KPI's, after regular use
    expect(page.locator("main")).to_contain_text("who were regular users of this service")
    expect(page.locator("main")).to_contain_text(
        "Regular user and lapse mean here what they mean in the lapse figure")
    if page.locator("dl.facts").count():
        expect(page.locator("dl.facts")).to_contain_text("Scores then")
        expect(page.get_by_role("table").first).to_contain_text("Lapse share")
        expect(page.locator(".calibration-auc").first).to_contain_text("ROC curve")

    page.get_by_role("link", name="Weights and bands").click()
    page.audit()
    page.get_by_label("Recency").fill("70")
    page.get_by_label("Red below").fill("60")
    page.get_by_role("button", name="Preview").click()
    page.audit()  # with the preview shown
    expect(page.page).to_have_url(re.compile(r"/admin/services/library-loans/scoring#preview-result$"))
    preview = page.locator("#preview-result")
    expect(preview).to_contain_text("Preview: nothing has been saved")
    expect(preview).to_contain_text(re.compile(r"\d+ of \d+ current scores would change band"))
    expect(preview.locator("h3", has_text="Calibration over the stored history")).to_be_visible()
    expect(page.get_by_label("Recency")).to_have_value("70")  # the entered values stay
    expect(page.get_by_label("Red below")).to_have_value("60")

    page.goto("/admin/services/library-loans/scoring")  # nothing was saved
    expect(page.get_by_text("No version of its own yet.")).to_be_visible()
    expect(page.get_by_label("Recency")).to_have_value("35")
