"""Serve the dashboard: `python -m mhin_eval.ui.serve [streamlit options]` (what `make run` calls).

Same as `streamlit run app.py`, with two additions:

- Streamlit treats an app whose folder has a `pages/` directory as an old-style (v1) multipage app until
  `st.navigation` has run once in the process, so a deep link opened before anyone visited the root URL
  would run a page file on its own, without app.py's navigation. Declaring up front that the app uses
  `st.navigation` makes deep links work from the first request.
- Before it accepts connections, the server renders every page once for each project and site (the local
  evaluator's view) so that the first visitor finds the libraries loaded and the models fitted, within a
  time budget (`MHIN_WARM_UP_S`, default 30 s; each page at most `MHIN_WARM_UP_PAGE_S`, default 20 s): a
  page that fails or runs out of time is reported and skipped, and the views left when the budget is spent
  (with hundreds of sites, most site pages) are prepared by their first visitor. `MHIN_WARM_UP=0` skips this.
- Meanwhile a background thread computes the results of record of every project (what the overview,
  compare and project pages read) when an ingest did not already (mhin_eval.recompute), so the server
  listens within seconds however many sites there are.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
import time

from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import bootstrap
from streamlit.web import cli as streamlit_cli

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue

#: Modules the pages import, loaded before the server starts so the first visitor does not wait for them.
PRELOAD = ("mhin_eval.ui.analyses", "mhin_eval.ui.components", "mhin_eval.ui.sections", "mhin_eval.ui.exports",
           "mhin_eval.ui.sustainability", "mhin_eval.uploads", "statsmodels.api", "plotly.graph_objects")
WARM_UP_BUDGET_S = 30.0
WARM_UP_PAGE_TIMEOUT_S = 20.0


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def warm_up_views() -> list[tuple[str, dict[str, str]]]:
    """(page file, query) of every page's default view first (each reads or draws what every site shares, and
    with hundreds of sites shows them ranked rather than charted one by one), then the project page of each
    project and the site page of each site, so a budget spent among hundreds of site pages has warmed every
    page's first view."""
    catalogue = load_catalogue()
    views = [(f"pages/{page.name}", {}) for page in sorted((PROJECT_ROOT / "pages").glob("*.py"))]
    views += [("pages/project.py", {"project": project}) for project in catalogue.project_ids]
    return views + [("pages/site.py", {"site": site.id}) for site in catalogue.sites if not site.is_comparison]


def _run_view(at, page: str, query: dict[str, str], timeout: float) -> None:
    at.query_params.clear()
    at.query_params.update(query)
    at.switch_page(page)
    at.run(timeout=timeout)


def _warm_up_pages(views, budget: float, page_timeout: float, stop: threading.Event, report: dict) -> None:
    """Run ``views`` one by one until ``budget`` seconds are spent or ``stop`` is set; ``report`` counts the
    views done and lists those that failed."""
    from streamlit.testing.v1 import AppTest

    started = time.perf_counter()
    at = None
    for page, query in views:
        left = budget - (time.perf_counter() - started)
        if left <= 0 or stop.is_set():
            break
        name = f"{page} {query or ''}".strip()
        try:
            if at is None:
                at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=page_timeout)
                at.run(timeout=min(page_timeout, left))
            _run_view(at, page, query, min(page_timeout, left))
            if at.exception:
                report["failed"].append(name)
        except Exception as exc:  # a slow or broken page must not stop the server from starting
            report["failed"].append(f"{name} ({type(exc).__name__}: {exc})")
            at = None  # a run that timed out leaves its runner unusable: later views start from a fresh one
        finally:
            with report["lock"]:
                if not stop.is_set():
                    Runtime._instance = None  # AppTest leaves its stand-in runtime behind when a run times out
        report["done"] += 1


def _abandon_app_test() -> None:
    """Let a warm-up run still going (a page busy in Python, which AppTest's timeout cannot interrupt) finish
    on its own without touching the server's runtime: AppTest's module then sets and clears a stand-in class's
    instance, not Streamlit's."""
    from streamlit.testing.v1 import app_test

    app_test.Runtime = type("AbandonedWarmUpRuntime", (), {"_instance": None})
    if Runtime._instance is not None and type(Runtime._instance) is not Runtime:  # a mock passes isinstance
        Runtime._instance = None


def warm_up(budget: float | None = None, page_timeout: float | None = None) -> None:
    """Run the views of :func:`warm_up_views` in order (Streamlit's AppTest runner, in a thread of this
    process), filling the caches the server then shares, for at most ``budget`` seconds. A page that raises or
    takes more than ``page_timeout`` seconds is reported and skipped; when the budget is spent the warm-up is
    left behind, so nothing here can keep the server from listening."""
    budget = _seconds("MHIN_WARM_UP_S", WARM_UP_BUDGET_S) if budget is None else budget
    page_timeout = _seconds("MHIN_WARM_UP_PAGE_S", WARM_UP_PAGE_TIMEOUT_S) if page_timeout is None else page_timeout
    started = time.perf_counter()
    views = warm_up_views()
    report = {"done": 0, "failed": [], "lock": threading.Lock()}
    stop = threading.Event()
    worker = threading.Thread(target=_warm_up_pages, args=(views, budget, page_timeout, stop, report),
                              name="mhin-warm-up", daemon=True)
    worker.start()
    worker.join(budget + 1)
    if worker.is_alive():
        with report["lock"]:
            stop.set()
            _abandon_app_test()
        report["failed"].append("a page still running when the time was up (left to finish on its own)")
    skipped = len(views) - report["done"]
    failed = report["failed"]
    print(f"mhin-eval: pages prepared in {time.perf_counter() - started:.1f} s"
          + (f"; {skipped} view(s) left to their first visitor (time budget)" if skipped else "")
          + (f"; failed: {'; '.join(failed)}" if failed else ""), file=sys.stderr, flush=True)


def records_in_background() -> threading.Thread:
    """Start computing every project's results of record for the current data version (a no-op for those an
    ingest already computed) in a daemon thread, off the request path; failures are reported, not raised."""

    def work() -> None:
        from mhin_eval import recompute
        from mhin_eval.store import Store
        from mhin_eval.ui import context

        try:
            store = Store()
            if store.is_empty():  # the first page seeds it; its records are then computed on first read
                return
            result = recompute.refresh(store, context.catalogue())
            print(f"mhin-eval: {result.summary()}", file=sys.stderr, flush=True)
        except Exception as exc:  # pages compute what is missing when first read
            print(f"mhin-eval: results of record not prepared: {type(exc).__name__}: {exc}", file=sys.stderr,
                  flush=True)

    thread = threading.Thread(target=work, name="mhin-results-of-record", daemon=True)
    thread.start()
    return thread


def _prepared(run):
    """Streamlit's server start, preceded by the imports and the warm-up (once the command line's options are
    read, so that the warm-up sees the same configuration as the server)."""

    def run_prepared(*args, **kwargs):
        from streamlit import config, logger

        logger.set_log_level("error")  # cached functions defined before the runtime exists warn, harmlessly
        try:
            for module in PRELOAD:
                importlib.import_module(module)
            if os.environ.get("MHIN_WARM_UP", "1") != "0":
                records_in_background()
                warm_up()
        finally:
            logger.set_log_level(config.get_option("logger.level"))
        gc.freeze()  # libraries and warmed caches live as long as the server: full collections skip them
        PagesManager.uses_pages_directory = False
        return run(*args, **kwargs)

    return run_prepared


def catalogue_problems() -> str | None:
    """Every mistake of the catalogue (``MHIN_CATALOGUE`` or data/catalogue.toml), or None: the server does
    not start on a catalogue with mistakes, so no visitor meets them one page at a time."""
    from mhin_eval.catalogue import CatalogueError

    try:
        load_catalogue()
    except CatalogueError as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    problems = catalogue_problems()
    if problems:
        print(f"mhin-eval: the server was not started.\n{problems}", file=sys.stderr, flush=True)
        return 1
    bootstrap.run = _prepared(bootstrap.run)
    sys.argv = ["streamlit", "run", str(PROJECT_ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
