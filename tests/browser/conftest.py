"""Browser tests: the real portal served by ``portal run`` in a subprocess, driven
by Playwright in Debian's Chromium, with an axe-core audit of every page visited.

Under ``CI=true`` a missing Chromium fails the run; elsewhere these tests skip
(``make test`` first installs Chromium when it can, and ends by saying so when not).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), shutil.which("chromium"),
                      "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_instance(tmp_path_factory) -> Path:
    """The live portal's instance folder; its e-mails land in ``mail/`` there."""
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def live_server(live_instance) -> Iterator[str]:
    """A fresh portal (development settings, own SQLite file, seeded catalogue)."""
    instance = live_instance
    env = {**os.environ,
           "PORTAL_ENV": "development", "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_DATABASE_URL": f"sqlite:///{instance / 'portal.db'}",
           "PORTAL_LOGIN_RATE_LIMIT": "1000 per minute",
           "PORTAL_ARGON2_TIME_COST": "1", "PORTAL_ARGON2_MEMORY_COST": "8",
           "PORTAL_ARGON2_PARALLELISM": "1", "PORTAL_REDIS_URL": "", "PORTAL_SMTP_HOST": ""}
    portal = str(Path(sys.executable).parent / "portal")
    for args in (["db", "upgrade"], ["seed"], ["demo", "--residents", "40", "--months", "3"]):
        subprocess.run([portal, *args], env=env, check=True, capture_output=True)
    port = free_port()
    log = open(instance / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([portal, "run", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError((instance / "server.log").read_text()) from None
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    path = chromium_path()
    if path is None:
        message = ("Chromium not found: apt-get install -y chromium (or set PORTAL_CHROMIUM), "
                   "then run .venv/bin/pytest tests/browser")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


class AuditedPage:
    """A Playwright page that runs axe-core on every page it lands on."""

    def __init__(self, page, base_url: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page = page
        self.base = base_url
        self.axe = Axe()
        self.audited: list[str] = []

    def audit(self) -> None:
        self.page.wait_for_load_state("load")
        self.check_unique_ids()
        results = self.axe.run(self.page, options={
            "runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
        self.audited.append(self.page.url)
        assert results.violations_count == 0, (
            f"accessibility violations on {self.page.url}:\n{results.generate_report()}")

    def check_unique_ids(self) -> None:
        """Every ``id`` on the page once: labels, anchors and aria references need it."""
        duplicates = self.page.evaluate("""() => {
            const seen = {};
            for (const el of document.querySelectorAll('[id]'))
                seen[el.id] = (seen[el.id] || 0) + 1;
            return Object.keys(seen).filter(id => seen[id] > 1);
        }""")
        assert not duplicates, f"duplicate ids on {self.page.url}: {duplicates}"

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.audit()

    def __getattr__(self, name):
        return getattr(self.page, name)


@pytest.fixture
def page(request, browser, live_server) -> Iterator[AuditedPage]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    raw = context.new_page()
    audited = AuditedPage(raw, live_server)
    yield audited
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        raw.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
