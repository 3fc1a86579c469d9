"""Serve the dashboard: `python -m mhin_eval.ui.serve [streamlit options]` (what `make run` calls).

Same as `streamlit run app.py`, with two additions:

- Streamlit treats an app whose folder has a `pages/` directory as an old-style (v1) multipage app until
  `st.navigation` has run once in the process, so a deep link opened before anyone visited the root URL
  would run a page file on its own, without app.py's navigation. Declaring up front that the app uses
  `st.navigation` makes deep links work from the first request.
- Before it accepts connections, the server renders every page once for each project and site (the local
  evaluator's view) so that the first visitor finds the libraries loaded and the models fitted.
  `MHIN_WARM_UP=0` skips this.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import bootstrap
from streamlit.web import cli as streamlit_cli

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue

#: Modules the pages import, loaded before the server starts so the first visitor does not wait for them.
PRELOAD = ("mhin_eval.ui.analyses", "mhin_eval.ui.components", "mhin_eval.ui.sections", "mhin_eval.ui.exports",
           "mhin_eval.ui.sustainability", "mhin_eval.uploads", "statsmodels.api", "plotly.graph_objects")
WARM_UP_TIMEOUT_S = 120


def warm_up_views() -> list[tuple[str, dict[str, str]]]:
    """(page file, query) of every page's default view, and of the project and site pages for each project
    and site in the catalogue."""
    catalogue = load_catalogue()
    views = [(f"pages/{page.name}", {}) for page in sorted((PROJECT_ROOT / "pages").glob("*.py"))]
    views += [("pages/project.py", {"project": project}) for project in catalogue.project_ids]
    views += [("pages/site.py", {"site": site.id}) for site in catalogue.sites if not site.is_comparison]
    return views


def warm_up() -> None:
    """Run every view of :func:`warm_up_views` once in this process (Streamlit's AppTest runner), filling the
    caches the server then shares. A page that fails here is reported and fails again for its visitor."""
    from streamlit.testing.v1 import AppTest

    started = time.perf_counter()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=WARM_UP_TIMEOUT_S)
    failed = []
    try:
        at.run()
        for page, query in warm_up_views():
            at.query_params.clear()
            at.query_params.update(query)
            at.switch_page(page)
            at.run()
            if at.exception:
                failed.append(f"{page} {query or ''}".strip())
    except Exception as exc:  # a slow or broken page must not stop the server from starting
        failed.append(f"{type(exc).__name__}: {exc}")
    print(f"mhin-eval: pages prepared in {time.perf_counter() - started:.1f} s"
          + (f"; failed: {'; '.join(failed)}" if failed else ""), file=sys.stderr, flush=True)


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
