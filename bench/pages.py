"""Time every page of the app: server-side render (Streamlit AppTest) and in headless Chromium. Prints a table.

Pages are those app.py registers with ``st.navigation``, read from Streamlit when the bench runs. Each server starts on its own
copy of one demo-seeded store, so seeding is never timed.

- AppTest cold: a new AppTest with Streamlit's caches cleared; the time of the first run of the page.
  (One unmeasured run of the app beforehand pays the process's one-off imports.)
- AppTest warm: a second run of the page in the same AppTest.
- Browser cold: a freshly started server (``python -m mhin_eval.ui.serve``, as ``make run``: it renders every
  page once before it accepts connections, so this is the first visitor after a start) and a new browser
  context (empty HTTP cache); the time from ``page.goto`` of ``/<url_path>`` until, checked inside the page on
  every animation frame, the script is idle, no element is still a loading skeleton and every plotly chart
  has its ``.main-svg``. Project and site pages draw their first tab; other tabs draw when opened.
- Browser warm: a second ``page.goto`` of the same URL in that context (a full page load and a new session,
  with the browser's and the server's caches warm).
- Browser via menu (for information): in that context, from another page (home, or methods for home), a
  click on the page's link in the sidebar menu until the new page is drawn, as people move between pages
  (same session, no page load).
- Server CPU per view: once the server is idle (its warm-up and background work done), the CPU time the
  server process spent (user + system, every thread: deploy.replicas.process_cpu_seconds) over ``CPU_VIEWS`` more warm
  visits, divided by their number: what one more viewer costs the server (issue 18's target: under 0.1 s).
  CPU time hardly depends on what else the machine is running, unlike the wall times.

Targets: warm < 1 s, cold < 3 s, judged on the AppTest and page-load figures. With ``--repeat N`` each
figure is the median of N measurements.
Figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.replicas import process_cpu_seconds  # noqa: E402
from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app, wait_until_drawn  # noqa: E402

APP = ROOT / "app.py"
WARM_TARGET_S = 1.0
COLD_TARGET_S = 3.0
TIMEOUT_MS = 120_000
#: Warm visits whose server CPU time is averaged; seconds to wait at most for the server to be idle first.
CPU_VIEWS = 5
IDLE_WAIT_S = 300.0


@dataclass(frozen=True)
class AppPage:
    path: str  # relative to app.py, as AppTest.switch_page wants it
    url_path: str  # "" for the default page, which Streamlit serves at "/"

    @property
    def name(self) -> str:
        """The url path, or the file's name for the default page (``--pages home``)."""
        return self.url_path or Path(self.path).stem


def app_pages(at) -> list[AppPage]:
    """The pages app.py registers with ``st.navigation`` in a run of ``at`` (a local evaluator sees them all).

    Read from Streamlit's own registry after the run, so pages added to app.py, in whatever form, are
    timed. ``AppTest._registered_pages`` is private (Streamlit 1.67); if it disappears this says so.
    """
    registry = getattr(at, "_registered_pages", None)
    if not registry:
        raise RuntimeError("AppTest no longer exposes the st.navigation registry (_registered_pages); "
                           "update app_pages() for this Streamlit version")
    pages = []
    for info in registry.values():
        script = info.get("script_path")
        if script:
            pages.append(AppPage(Path(script).resolve().relative_to(ROOT).as_posix(), info["url_pathname"]))
    return pages


def seeded_store(root: Path) -> Path:
    """A data directory filled with the demo data and published context, as on the app's first start."""
    from mhin_eval.store import Store, seed

    path = root / "seeded"
    seed(Store(path))
    return path


def private_copy(seeded: Path, root: Path, name: str) -> Path:
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(seeded, target)
    return target


# --------------------------------------------------------------------------- AppTest


def _clear_caches() -> None:
    import streamlit as st
    from streamlit.logger import set_log_level

    set_log_level("error")  # "no runtime found" warnings of clearing caches outside a server
    st.cache_data.clear()
    st.cache_resource.clear()


def _checked_run(at, page: AppPage) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page.path} raised: {[e.value for e in at.exception]}")
    return elapsed


def registered_pages(seeded: Path, root: Path) -> list[AppPage]:
    """One unmeasured run of the app: pays the process's one-off imports and reads the page registry."""
    from streamlit.testing.v1 import AppTest

    os.environ["MHIN_DATA_DIR"] = str(private_copy(seeded, root, "apptest-store"))
    _clear_caches()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_MS / 1000)
    at.run()
    _clear_caches()
    return app_pages(at)


def apptest_times(page: AppPage, seeded: Path, root: Path) -> tuple[float, float]:
    """(cold, warm) seconds of one page under AppTest on a private copy of the seeded store."""
    from streamlit.testing.v1 import AppTest

    os.environ["MHIN_DATA_DIR"] = str(private_copy(seeded, root, "apptest-store"))
    _clear_caches()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_MS / 1000)
    at.run()  # switch_page needs one run first (AppTest documentation)
    _clear_caches()
    at.switch_page(page.path)
    cold = _checked_run(at, page)
    warm = _checked_run(at, page)
    _clear_caches()
    return cold, warm


# --------------------------------------------------------------------------- browser


def _check_drawn(pg, what: str) -> None:
    if pg.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{what} shows an exception: {pg.locator('[data-testid=stException]').first.inner_text()}")


def _timed_visit(pg, url: str) -> float:
    start = time.perf_counter()
    pg.goto(url, timeout=TIMEOUT_MS)
    wait_until_drawn(pg, timeout=TIMEOUT_MS)
    elapsed = time.perf_counter() - start
    _check_drawn(pg, url)
    return elapsed


def wait_until_idle(pid: int, timeout: float = IDLE_WAIT_S, quiet_cpu_s: float = 0.05) -> bool:
    """Wait until the process uses less than ``quiet_cpu_s`` of CPU in each of two seconds running (its warm-up
    and background work done); False if it is still busy after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    last, quiet = process_cpu_seconds(pid), 0
    while quiet < 2:
        if time.perf_counter() > deadline:
            return False
        time.sleep(1)
        now = process_cpu_seconds(pid)
        quiet = quiet + 1 if now - last < quiet_cpu_s else 0
        last = now
    return True


def cpu_per_view(pg, url: str, pid: int, views: int = CPU_VIEWS) -> float:
    """Server CPU seconds per warm visit of ``url``: ``views`` visits (each a page load and a new session)
    after the server is idle; NaN, with a note on stderr, if it never became idle."""
    if not wait_until_idle(pid):
        print(f"server still busy after {IDLE_WAIT_S:.0f} s: no CPU per view for {url}", file=sys.stderr)
        return float("nan")
    _timed_visit(pg, url)
    time.sleep(0.3)  # the last visit's messages are sent
    start = process_cpu_seconds(pid)
    for _ in range(views):
        _timed_visit(pg, url)
    time.sleep(0.3)
    return (process_cpu_seconds(pid) - start) / views


def _timed_menu_click(pg, base: str, page: AppPage) -> float:
    """From another page, a click on ``page``'s sidebar link until it is drawn."""
    start_from = "methods" if page.url_path == "" else ""
    pg.goto(f"{base}/{start_from}", timeout=TIMEOUT_MS)
    wait_until_drawn(pg, timeout=TIMEOUT_MS)
    left = pg.locator('[data-testid="stMain"] h1').first.inner_text().strip()
    href = page.url_path or "./"  # the menu's links are relative: other pages by url path, home at the app's root
    link = pg.locator(f'[data-testid="stSidebar"] a[href="{href}"]')
    start = time.perf_counter()
    link.click(timeout=TIMEOUT_MS)
    wait_until_drawn(pg, timeout=TIMEOUT_MS, not_title=left)
    elapsed = time.perf_counter() - start
    _check_drawn(pg, f"{page.name} via the menu")
    return elapsed


Times = tuple[float, ...]


def browser_times(browser, page: AppPage, seeded: Path, root: Path) -> Times:
    """(cold, warm, via menu, server CPU per view) seconds of one page in Chromium: first visit after server
    start, a second visit, a click on its menu link from another page, then the server's CPU per warm view."""
    proc, base = start_app(private_copy(seeded, root, "browser-store"))
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            pg = context.new_page()
            url = f"{base}/{page.url_path}"
            cold = _timed_visit(pg, url)
            warm = _timed_visit(pg, url)
            menu = _timed_menu_click(pg, base, page)
            cpu = cpu_per_view(pg, url, proc.pid)
        finally:
            context.close()
    finally:
        stop_app(proc)
    return cold, warm, menu, cpu


# --------------------------------------------------------------------------- report


def verdict(apptest: Times | None, browser: Times | None) -> str:
    if apptest is None or browser is None:
        return "error (below)"
    misses = [
        name for name, seconds, target in (
            ("AppTest cold", apptest[0], COLD_TARGET_S), ("AppTest warm", apptest[1], WARM_TARGET_S),
            ("browser cold", browser[0], COLD_TARGET_S), ("browser warm", browser[1], WARM_TARGET_S),
        ) if seconds >= target
    ]  # fmt: skip
    return "pass" if not misses else "FAIL: " + ", ".join(misses)


def _cells(times: Times | None, width: int) -> tuple[str, ...]:
    return ("error",) * width if times is None else tuple(f"{t:.2f}" if width < 4 or i < 3 else f"{t:.3f}"
                                                          for i, t in enumerate(times))


def print_table(rows: list[tuple[str, Times | None, Times | None]], repeat: int, errors: list[str]) -> None:
    header = ("page", "AppTest cold s", "AppTest warm s", "browser cold s", "browser warm s", "via menu s",
              "server CPU/view s", f"target (warm < {WARM_TARGET_S:g} s, cold < {COLD_TARGET_S:g} s)")
    lines = [(name, *_cells(a, 2), *_cells(b, 4), verdict(a, b)) for name, a, b in rows]
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    print(f"Page timings (median of {repeat}; {os.cpu_count()} CPUs; server CPU per view over {CPU_VIEWS} warm "
          "views, server idle first)")
    for line in [header, *lines]:
        cells = [str(c).ljust(w) if i in (0, 7) else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip())
    for error in errors:
        print(f"error: {error}")


def _medians(measure, repeat: int, what: str, errors: list[str]) -> Times | None:
    """Median of each figure over ``repeat`` calls of ``measure``; None, with the reason in ``errors``, on failure."""
    try:
        runs = [measure() for _ in range(repeat)]
    except Exception as exc:  # one broken page must not lose the other pages' figures
        errors.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return None
    return tuple(statistics.median(figures) for figures in zip(*runs, strict=True))


def select(pages: list[AppPage], wanted: list[str] | None) -> list[AppPage]:
    """The pages asked for by url path (all when none are), in the order asked; unknown names raise."""
    if not wanted:
        return pages
    known = {p.name: p for p in pages}
    names = [w for item in wanted for w in item.split(",") if w]
    unknown = [w for w in names if w not in known]
    if unknown:
        raise SystemExit(f"unknown page(s) {', '.join(unknown)}; app.py registers {', '.join(known)}")
    return [known[w] for w in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", nargs="+", metavar="URL_PATH",
                        help="url paths of the pages to time (default: every page app.py registers); "
                             "commas also separate")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure; the median is shown")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        root = Path(tmp)
        seeded = seeded_store(root)
        pages = select(registered_pages(seeded, root), args.pages)
        if not Path(CHROMIUM).exists():
            parser.error(f"Chromium not found at {CHROMIUM} (set MHIN_CHROMIUM or apt-get install chromium)")
        from playwright.sync_api import sync_playwright

        rows, errors = [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for page in pages:
                    a = _medians(lambda p=page: apptest_times(p, seeded, root), args.repeat,
                                 f"{page.name} AppTest", errors)
                    b = _medians(lambda p=page: browser_times(browser, p, seeded, root), args.repeat,
                                 f"{page.name} browser", errors)
                    rows.append((page.name, a, b))
                    print(f"  timed {page.name}", file=sys.stderr, flush=True)
            finally:
                browser.close()
    print_table(rows, args.repeat, errors)


if __name__ == "__main__":
    main()
