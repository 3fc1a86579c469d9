"""Page pieces for a roll-out with many sites: progress of the results of record after an upload, a filtered
and paginated results table, and the choice of the few sites whose charts are drawn."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mhin_eval.catalogue import Site
from mhin_eval.ui import context

#: Site charts drawn at once on a project page unless the user chooses more.
DEFAULT_CHARTED_SITES = 6
PAGE_SIZE = 50


def results_progress():
    """A progress bar for :func:`mhin_eval.recompute.refresh`: its ``progress(project, done, total)``."""
    bar = st.progress(0.0, text="Computing the results of record of the new data…")
    cat = context.catalogue()

    def update(project: str, done: int, total: int) -> None:
        name = cat.project(project).short_name
        bar.progress(done / total if total else 0.0,
                     text=f"Results of record, {name}: {done:,} of {total:,} site results computed")

    return update


def chosen_sites(sites: tuple[Site, ...] | list[Site], *, key: str, label: str = "Sites charted") -> list[Site]:
    """The sites whose charts are drawn: all of them when there are few, else those chosen in a multiselect
    (the first :data:`DEFAULT_CHARTED_SITES` by default), so a page with hundreds of sites draws a handful."""
    sites = list(sites)
    if len(sites) <= DEFAULT_CHARTED_SITES:
        return sites
    by_id = {s.id: s for s in sites}
    chosen = st.multiselect(label, list(by_id), default=list(by_id)[:DEFAULT_CHARTED_SITES], key=key,
                            format_func=lambda s: by_id[s].name,
                            help=f"{len(sites)} sites: every site is in the ranked chart above; choose the sites "
                                 "whose own charts are shown.")
    return [by_id[s] for s in chosen]


def paginated(frame: pd.DataFrame, *, key: str, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """The rows of the page the user chose (a page selector appears only when there is more than one page)."""
    pages = max(1, math.ceil(len(frame) / page_size))
    if pages == 1:
        return frame
    page = st.number_input(f"Page (of {pages}, {page_size} rows each)", 1, pages, 1, key=key)
    return frame.iloc[(page - 1) * page_size: page * page_size]
