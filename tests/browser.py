"""Shared parts of the headless Chromium tests: Debian's chromium, a live server, axe, sideways scroll.

Needs Debian's ``chromium`` (``make test`` installs it where it can) and the
``playwright`` Python package; Playwright's own browser download is never used.
Import this module in a test file; it skips the file where Chromium is missing.
"""

import contextlib
import os
import shutil

import pytest

from tests.live import serve  # noqa: F401  (the browser tests serve their app with it)

CHROMIUM = os.environ.get("DIARY_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip) is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium", allow_module_level=True)


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page):
    """axe-core's violations on the page as short strings (empty when the page passes)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({', '.join(str(n['target']) for n in v['nodes'][:3])})"
        for v in results.response["violations"]
    ]


def scrolls_sideways(page):
    """Whether the page is wider than its viewport (a phone user would scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
