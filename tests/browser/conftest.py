"""Browser-test fixtures: the app served by a real `streamlit run` and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mhin_eval.catalogue import PROJECT_ROOT

CHROMIUM = os.environ.get("MHIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, port: int | None = None, extra_env: dict | None = None):
    """Start `streamlit run app.py` as the README's run command does; return (process, base URL)."""
    port = port or _free_port()
    env = dict(os.environ, MHIN_DATA_DIR=str(data_dir), **(extra_env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhin_eval.ui.serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited early:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy within 60 s")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The dashboard served on a free localhost port with its own empty data directory (seeded on start)."""
    data_dir = tmp_path_factory.mktemp("browser-store")
    proc, url = start_app(data_dir)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


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


def wait_for_app(pg, timeout: float = 60_000, min_charts: int = 0) -> None:
    """Wait until Streamlit has finished running the script and every plotly chart is drawn."""
    pg.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    if min_charts:
        pg.wait_for_function(
            f"document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length >= {min_charts}",
            timeout=timeout,
        )
    charts = pg.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached", timeout=timeout)
    pg.wait_for_timeout(300)


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
