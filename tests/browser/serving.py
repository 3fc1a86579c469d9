"""Serving the app and waiting for it in Chromium: the one place shared by the browser tests and bench/pages.py.

Plain functions without pytest, so that benchmarks can import them; tests/browser/conftest.py wraps them
in fixtures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mhin_eval.catalogue import PROJECT_ROOT

CHROMIUM = os.environ.get("MHIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, port: int | None = None, extra_env: dict | None = None):
    """Start `streamlit run app.py` as the README's run command does; return (process, base URL)."""
    port = port or free_port()
    env = dict(os.environ, MHIN_DATA_DIR=str(data_dir), **(extra_env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhin_eval.ui.serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120  # the server renders every page once before it is healthy
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
    raise RuntimeError("streamlit did not become healthy within 120 s")


def stop_app(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_app` (terminate, then kill after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


#: True once Streamlit has finished running the script, the page shows its title (or an exception box) and
#: that title is not ``notTitle`` (the page left by a click in the menu), no element is still a loading
#: skeleton (a chart whose code is still loading) and every plotly chart has drawn its svg. Checked inside
#: the page on every animation frame, so the time it takes is the page's, not that of round trips between
#: Playwright and the browser.
_DRAWN = """({minCharts, notTitle}) => {
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')) return false;
  const title = document.querySelector('[data-testid="stMain"] h1');
  if (!title && !document.querySelector('[data-testid="stException"]')) return false;
  if (title && notTitle !== null && title.textContent.trim() === notTitle) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  return charts.length >= minCharts && charts.every((chart) => chart.querySelector('.main-svg'));
}"""


def wait_until_drawn(pg, timeout: float = 60_000, min_charts: int = 0, not_title: str | None = None) -> None:
    """Return as soon as Streamlit has finished running the script and every plotly chart has its svg
    (at least ``min_charts`` of them); with ``not_title``, once the page showing that title has been
    replaced. A page that shows an exception box instead of its title returns too, for the caller to report."""
    pg.wait_for_function(_DRAWN, arg={"minCharts": min_charts, "notTitle": not_title}, polling="raf",
                         timeout=timeout)


def wait_for_app(pg, timeout: float = 60_000, min_charts: int = 0) -> None:
    """Wait until Streamlit has finished running the script and every plotly chart is drawn."""
    wait_until_drawn(pg, timeout=timeout, min_charts=min_charts)


#: True once the tab named ``label`` is selected, the script is idle, nothing is a skeleton, and the visible
#: tab panel holds at least ``minCharts`` drawn plotly charts whose titles include every one of ``titles``.
_TAB_DRAWN = """({label, minCharts, titles}) => {
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const tab = [...document.querySelectorAll('[role="tab"]')].find((t) => t.textContent.trim() === label);
  if (!tab || tab.getAttribute('aria-selected') !== 'true') return false;
  const panel = [...document.querySelectorAll('[role="tabpanel"]')].find((p) => p.offsetParent !== null);
  if (!panel) return false;
  const charts = [...panel.querySelectorAll('[data-testid="stPlotlyChart"]')];
  if (charts.length < minCharts || !charts.every((chart) => chart.querySelector('.main-svg'))) return false;
  const shown = charts.map((chart) => (chart.querySelector('.gtitle') || {}).textContent);
  return titles.every((title) => shown.includes(title));
}"""


def open_tab(pg, label: str, min_charts: int = 0, titles: tuple[str, ...] = (), timeout: float = 60_000) -> None:
    """Click the tab named ``label`` and wait until its own panel shows its charts (with these ``titles``).

    Waits for the content itself, never for the URL or a fixed time: under load the query string can
    change before the new tab's script run has drawn anything, and the previous tab's charts are still there.
    """
    pg.get_by_role("tab", name=label, exact=True).click()
    pg.wait_for_function(_TAB_DRAWN, arg={"label": label, "minCharts": min_charts, "titles": list(titles)},
                         polling="raf", timeout=timeout)
