"""Export buttons for the project and site pages (deck with progress, HTML report, CSV, Excel) and the
content of the presentation page. Everything is built by mhin_eval.export for the current user's access.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

import pandas as pd
import streamlit as st

from mhin_eval import export
from mhin_eval.access import Access
from mhin_eval.access.downloads import to_csv_bytes
from mhin_eval.ui import auth, context

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_VIEWS: OrderedDict[tuple, export.ExportView] = OrderedDict()
_VIEWS_LOCK = Lock()


def view(project: str, site: str | None = None, access: Access | None = None) -> export.ExportView:
    """The export content of a project or site for the current user (the presentation page's slides)."""
    return _view(context.get_store(), context.catalogue(), project, site, access or auth.current_access(),
                 context.data_version())


def _view(store, catalogue, project: str, site: str | None, access: Access, version: int) -> export.ExportView:
    """Export content kept per store, data version and access (8 most recent), in a plain process-wide cache
    rather than st.cache_data: deferred downloads call it off the script thread with what it read. The store
    object is part of the key (two stores can be at the same version number, as test stores are)."""
    key = (store, version, access.cache_key, project, site)
    with _VIEWS_LOCK:
        if key in _VIEWS:
            _VIEWS.move_to_end(key)
            return _VIEWS[key]
    built = export.collect(store, catalogue, project, access=access, site=site)
    with _VIEWS_LOCK:
        _VIEWS[key] = built
        while len(_VIEWS) > 8:
            _VIEWS.popitem(last=False)
    return built


def _audited(make, access: Access, file_name: str):
    """Download data made on click, with the download written to the audit log."""

    def data():
        payload = make()
        context.get_store().record_event("download", access.user, file_name)
        return payload

    return data


def csv_button(label: str, frame: pd.DataFrame, file_name: str, *, key: str) -> None:
    """A table as a formula-safe CSV download (mhin_eval.access.downloads), written to the audit log."""
    access = auth.current_access()
    st.download_button(label, data=_audited(lambda: to_csv_bytes(frame), access, file_name), file_name=file_name,
                       mime="text/csv", key=key, on_click="ignore")


def export_buttons(project: str, site: str | None = None) -> None:
    """Slide deck (built on request, with progress), HTML report, and the results as CSV and Excel."""
    access = auth.current_access()
    store, catalogue, version = context.get_store(), context.catalogue(), context.data_version()

    def content() -> export.ExportView:
        return _view(store, catalogue, project, site, access, version)

    key = f"export-{project}-{site or 'all'}"
    stem = f"mhin-{project}" + (f"-{site}" if site else "")
    with st.expander("Slides, report and tables for presenting", icon=":material/download:"):
        st.caption(
            "A PowerPoint deck (a slide per chart with its finding, interval, n and method), a report that opens "
            "offline, and the results tables."
            + (" Small numbers are suppressed, as on this page." if access.suppressed else "")
        )
        deck_col, report_col, csv_col, xlsx_col = st.columns(4)
        with deck_col:
            _deck_button(content, (version, access.cache_key), key, stem, access)
        report_col.download_button(
            "HTML report", data=_audited(lambda: export.report_html(content()).encode("utf-8"), access, f"{stem}.html"),
            file_name=f"{stem}.html", mime="text/html", on_click="ignore", icon=":material/article:",
            key=f"{key}-report",
        )
        csv_col.download_button(
            "Results (CSV)", data=_audited(lambda: export.table_bytes(content(), "results", "csv"), access,
                                           f"{stem}-results.csv"),
            file_name=f"{stem}-results.csv", mime="text/csv", on_click="ignore", icon=":material/table:",
            key=f"{key}-csv",
        )
        xlsx_col.download_button(
            "Results (Excel)", data=_audited(lambda: export.table_bytes(content(), "results", "xlsx"), access,
                                             f"{stem}-results.xlsx"),
            file_name=f"{stem}-results.xlsx", mime=XLSX_MIME, on_click="ignore", icon=":material/table_view:",
            key=f"{key}-xlsx",
        )


AUDIENCES = {"evaluators": "Evaluators", "public": "General audience"}


def _deck_button(content, wanted: tuple, key: str, stem: str, access: Access) -> None:
    """The deck's audience (evaluators, or a general audience in plain words with a glossary), 'Build slide
    deck' with a progress bar, then the download button for the built deck."""
    from mhin_eval import deck as decks

    audience = st.radio("Slides for", list(AUDIENCES), format_func=AUDIENCES.get, key=f"{key}-audience",
                        horizontal=True, help="A general audience gets plain words instead of statistical terms "
                        "and a glossary slide; the speaker notes keep the methods and caveats in full.")
    wanted = (*wanted, audience)
    state_key = f"{key}-deck-bytes"
    built = st.session_state.get(state_key)
    if built is None or built[0] != wanted:
        if not st.button("Build slide deck", icon=":material/slideshow:", key=f"{key}-build"):
            return
        with st.status("Building the slide deck…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting")
            bar.progress(0.02, text="Analysing every indicator")
            shown = content()
            data = export.deck_from_view(shown, audience=audience,
                                         progress=lambda fraction, message: bar.progress(fraction, text=message))
            status.update(label=f"Slide deck ready: {decks.slide_count(shown, audience)} slides",
                          state="complete", expanded=False)
        st.session_state[state_key] = built = (wanted, data)
    deck = built[1]
    name = f"{stem}-public.pptx" if audience == "public" else f"{stem}.pptx"
    st.download_button("Download slide deck", data=_audited(lambda: deck, access, name), file_name=name,
                       mime=PPTX_MIME, on_click="ignore", icon=":material/download:", type="primary", key=f"{key}-deck")
