"""Serve the dashboard: `python -m mhin_eval.ui.serve [streamlit options]` (what `make run` calls).

Same as `streamlit run app.py`, with one fix: Streamlit treats an app whose folder has a `pages/`
directory as an old-style (v1) multipage app until `st.navigation` has run once in the process, so
a deep link opened before anyone visited the root URL would run a page file on its own, without
app.py's navigation. Declaring up front that the app uses `st.navigation` makes deep links work
from the first request.
"""

from __future__ import annotations

import importlib
import sys

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli as streamlit_cli

from mhin_eval.catalogue import PROJECT_ROOT

#: Modules the pages import, loaded before the server starts so the first visitor does not wait for them.
PRELOAD = ("mhin_eval.ui.analyses", "mhin_eval.ui.components", "mhin_eval.ui.sections", "mhin_eval.ui.exports",
           "mhin_eval.ui.sustainability", "mhin_eval.uploads", "statsmodels.api", "plotly.graph_objects")


def main(argv: list[str] | None = None) -> int:
    for module in PRELOAD:
        importlib.import_module(module)
    PagesManager.uses_pages_directory = False
    args = ["streamlit", "run", str(PROJECT_ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    sys.argv = args
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
