"""Browser-test fixtures: the app served by a real `streamlit run` and Debian's headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app, wait_for_app

__all__ = ["assert_no_exception", "screenshot", "start_app", "wait_for_app"]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The dashboard served on a free localhost port with its own empty data directory (seeded on start)."""
    data_dir = tmp_path_factory.mktemp("browser-store")
    proc, url = start_app(data_dir)
    yield url
    stop_app(proc)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `make test` (installs it as root) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and page errors in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.errors = []

    def on_console(message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        # Streamlit's front end probes /<page>/_stcore/health and host-config before the root ones;
        # those 404s come from the framework's base-path discovery, not from the app.
        if "Failed to load resource" in message.text and url.endswith(("/_stcore/health", "/_stcore/host-config")):
            return
        pg.errors.append(f"console {message.type}: {message.text} ({url})")

    pg.on("console", on_console)
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    yield pg
    context.close()


def screenshot(pg, path) -> None:
    """Whole-page screenshot: Streamlit scrolls inside its main block, so grow the viewport to fit it first."""
    height = pg.evaluate(
        """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stMainBlockContainer"]')]
                 .map(e => e.scrollHeight), 800)"""
    )
    width = pg.viewport_size["width"] if pg.viewport_size else 1400
    pg.set_viewport_size({"width": width, "height": min(int(height) + 80, 12000)})
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(path), full_page=True)
    pg.set_viewport_size({"width": width, "height": 1000})


def assert_no_exception(pg) -> None:
    exceptions = pg.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
