"""Every kind of chart passes the axe-core audit in Chromium."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

from portal.charts import render_svg
from tests.browser.conftest import WCAG_TAGS
from tests.test_charts import every_chart


def test_charts_pass_an_axe_audit_in_chromium(browser):
    body = "".join(str(render_svg(c, id_prefix=f"c{i}")) for i, c in enumerate(every_chart()))
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Charts</title>'
            f"</head><body><main><h1>Charts</h1>{body}</main></body></html>")
    page = browser.new_page()
    try:
        page.set_content(html)
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    finally:
        page.close()
    assert results.violations_count == 0, results.generate_report()
