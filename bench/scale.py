"""A national roll-out on one machine: for 10, 100 and 500 sites, one table of how long the work takes.

For each size, a catalogue with that many intervention sites is generated from data/catalogue.toml
(mhin_eval.demo_scale: the shipped sites copied in turn), with its synthetic demo data (not timed). Then:

- ingest s / peak MB: ``python -m mhin_eval seed --no-results`` of the demo extracts and the shipped published
  statistics into an empty store (a child process; wall time, and its peak resident memory from ``wait4``).
- results s / fits: computing every project's results of record for both views (mhin_eval.recompute.refresh,
  two worker processes), as an ingest does; ``fits`` is how many site results were computed.
- first byte s: from starting the server (``python -m mhin_eval.ui.serve``, as ``make run``, warm-up on) to
  the first response of ``/``.
- <page> browser cold / warm s: in headless Chromium against that server, from ``goto`` until the script is
  idle and every chart is drawn (bench/pages.py): cold the first visit of a new browser context, warm a second.
- <page> CPU/view s: the server's CPU time per warm view of the page, once the server is idle (bench/pages.py's
  ``cpu_per_view``: process CPU over five more warm visits, divided by five; issue 18's target is under 0.1 s).
- with ``--apptest``, <page> AppTest cold / warm s: server-side render under Streamlit's AppTest (as
  bench/pages.py): cold with Streamlit's caches cleared, warm a second run in the same AppTest.

Figures only; nothing here asserts a time. ``--keep DIR`` keeps the generated stores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pages import APP, TIMEOUT_MS, _clear_caches, _timed_visit, cpu_per_view  # noqa: E402
from tests.browser.serving import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app  # noqa: E402

SIZES = (10, 100, 500)
PAGES = ("home", "overview", "project", "compare", "site", "sustainability", "present", "explorer", "published",
         "methods", "upload")


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of a child process run to its end; raises if it failed."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def prepare(n_sites: int, folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """(catalogue, demo folder, environment) of an ``n_sites`` roll-out in ``folder``."""
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.demo import write_demo
    from mhin_eval.demo_scale import write_scaled_catalogue

    catalogue = write_scaled_catalogue(n_sites, folder / "catalogue.toml")
    write_demo(folder / "demo", load_catalogue(catalogue))
    env = dict(os.environ, MHIN_CATALOGUE=str(catalogue), MHIN_DATA_DIR=str(folder / "store"),
               PYTHONPATH=str(ROOT))
    return catalogue, folder / "demo", env


def refresh_results(store_dir: str, from_scratch: bool = False) -> None:
    """The child of the "results" step: compute every project's results of record (all of them again with
    ``from_scratch``: the stored ones are deleted first); print what it did."""
    from mhin_eval import recompute, store_results
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.store import Store

    catalogue = load_catalogue()
    store = Store(store_dir, catalogue=catalogue)
    if from_scratch:
        with store._write() as con:
            con.execute("DELETE FROM results_of_record")
            con.execute(f"DROP TABLE IF EXISTS {store_results.TABLE}")
    result = recompute.refresh(store, catalogue)
    print(json.dumps({"fitted": len(result.fitted), "reused": result.reused}), file=sys.stderr)


def served(store: Path, env: dict[str, str], pages: list[str], browser) -> dict:
    """Start the server as ``make run`` does: seconds to the first response of its root URL, then each page's
    (cold, warm) seconds in Chromium (bench/pages.py's timed visit: from ``goto`` until the script is idle and
    every chart drawn), cold the first visit of a new browser context after the start, warm a second one; then,
    after every cold visit (waiting for the server to be idle would warm it), each page's server CPU per view."""
    started = time.perf_counter()
    proc, url = start_app(store, extra_env={"MHIN_CATALOGUE": env["MHIN_CATALOGUE"]})
    try:
        with urllib.request.urlopen(url + "/", timeout=60) as response:
            response.read(1)
        row = {"first byte s": time.perf_counter() - started}
        if browser is None:
            return row
        with contextlib.ExitStack() as contexts:
            visits = {}
            for page in pages:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                contexts.callback(context.close)
                pg = context.new_page()
                address = f"{url}/{'' if page == 'home' else page}"
                cold, warm = _timed_visit(pg, address), _timed_visit(pg, address)
                row[f"{page} browser cold/warm s"] = f"{cold:.2f} / {warm:.2f}"
                visits[page] = (pg, address)
            for page, (pg, address) in visits.items():
                row[f"{page} CPU/view s"] = f"{cpu_per_view(pg, address, proc.pid):.3f}"
        return row
    finally:
        stop_app(proc)


def page_times(pages: list[str], store: Path, catalogue: Path) -> dict[str, tuple[float, float]]:
    """{page: (cold, warm)} seconds under AppTest, this process pointed at the roll-out's catalogue and store."""
    from streamlit.testing.v1 import AppTest

    os.environ["MHIN_CATALOGUE"], os.environ["MHIN_DATA_DIR"] = str(catalogue), str(store)
    times = {}
    for page in pages:
        _clear_caches()
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_MS / 1000)
        at.run()
        _clear_caches()
        if page != "home":
            at.switch_page(f"pages/{page}.py")
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            at.run()
            runs.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{page} raised: {[e.value for e in at.exception]}")
        times[page] = (runs[0], runs[1])
    _clear_caches()
    return times


def measure(n_sites: int, folder: Path, pages: list[str], browser, apptest: bool, reuse: bool = False) -> dict:
    store = folder / "store"
    if reuse and (store / "mhin.duckdb").exists() and (folder / "catalogue.toml").exists():
        catalogue = folder / "catalogue.toml"
        env = dict(os.environ, MHIN_CATALOGUE=str(catalogue), MHIN_DATA_DIR=str(store), PYTHONPATH=str(ROOT))
        row = {"sites": n_sites, "ingest s": "kept", "peak MB": "kept", "results s": "kept", "fits": "kept"}
        return _served_row(row, n_sites, store, env, pages, browser, apptest, catalogue)
    catalogue, demo, env = prepare(n_sites, folder)
    ingest_s, ingest_mb = _child([sys.executable, "-m", "mhin_eval", "--data-dir", str(store), "seed", "--demo-dir",
                                  str(demo), "--no-results"], env)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--refresh-only", str(store)], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    results_s = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    fits = json.loads(proc.stderr.strip().splitlines()[-1])["fitted"]
    row = {"sites": n_sites, "ingest s": ingest_s, "peak MB": ingest_mb, "results s": results_s, "fits": fits}
    return _served_row(row, n_sites, store, env, pages, browser, apptest, catalogue)


def _served_row(row: dict, n_sites: int, store: Path, env: dict[str, str], pages: list[str], browser, apptest: bool,
                catalogue: Path) -> dict:
    try:
        row.update(served(store, env, pages, browser))
    except RuntimeError as exc:
        print(f"{n_sites} sites: the server did not answer: {exc}", file=sys.stderr)
        row["first byte s"] = "no answer"
    if apptest:
        for page, (cold, warm) in page_times(pages, store, catalogue).items():
            row[f"{page} AppTest cold/warm s"] = f"{cold:.2f} / {warm:.2f}"
    return row


def print_table(rows: list[dict]) -> None:
    """One table: a row per measure, a column per roll-out size (the measures outnumber the sizes)."""
    measures = list(dict.fromkeys(c for row in rows for c in row if c != "sites"))
    header = ["", *(f"{row['sites']} sites" for row in rows)]
    cells = [[m, *(f"{row.get(m, ''):.1f}" if isinstance(row.get(m), float) else str(row.get(m, "")) for row in rows)]
             for m in measures]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for r in cells:
        print("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, nargs="+", default=list(SIZES), help="roll-out sizes (intervention sites)")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), help="pages timed (home, overview, ...)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium page times")
    parser.add_argument("--apptest", action="store_true", help="also time each page's server-side render (AppTest)")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated catalogues and stores in")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: time the pages on the stores kept there by an earlier run (no ingest, "
                             "no results step: those columns say 'kept')")
    parser.add_argument("--refresh-only", metavar="STORE",
                        help="only compute the results of record of STORE (with MHIN_CATALOGUE set), as timed here")
    parser.add_argument("--from-scratch", action="store_true", help="with --refresh-only: recompute every result")
    args = parser.parse_args(argv)
    if args.refresh_only:
        refresh_results(args.refresh_only, args.from_scratch)
        return
    rows = []
    with contextlib.ExitStack() as stack:
        browser = None
        if not args.no_browser:
            from playwright.sync_api import sync_playwright

            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            stack.callback(browser.close)
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mhin-scale-")))
        for n_sites in args.sites:
            rows.append(measure(n_sites, root / f"sites-{n_sites}", args.pages, browser, args.apptest,
                                reuse=args.reuse and args.keep is not None))
            print(f"{n_sites} sites measured", file=sys.stderr, flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
