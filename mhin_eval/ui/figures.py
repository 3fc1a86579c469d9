"""Drawn figures kept per data version and view, so that a rerun neither rebuilds a chart nor describes it again.

A plotly figure is built from a cached result in tens of milliseconds (hundreds for a chart of every site),
and its accessible description walks every trace: on a warm page view that was most of the server's CPU
(bench/pages.py, CPU per view). A figure is kept here under the store, its data version, the viewer's
access (:attr:`Access.cache_key`: site scope, suppression, participant rows) and the caller's key, so one
view's figure is never shown to another. Kept in one LRU per process held by ``st.cache_resource`` (cleared
with Streamlit's caches) rather than in ``st.cache_data``, which would pickle and unpickle the figure on
every hit; figures here are never changed after they are built (Streamlit serialises a copy).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from threading import Lock

import plotly.graph_objects as go
import streamlit as st

from mhin_eval.chart_summary import ChartSummary, summarise
from mhin_eval.ui import auth, context

#: Figures kept at once (an ITS chart is tens of kB; a project page draws seven).
MAX_FIGURES = 512


@dataclass(frozen=True)
class Drawn:
    """A built figure and its description in words (mhin_eval.chart_summary), read-only once kept."""

    figure: go.Figure
    described: ChartSummary


def drawn(key: tuple[Hashable, ...], build: Callable[[], go.Figure]) -> Drawn:
    """The figure ``build()`` makes for ``key`` in the current data version and view: built and described once,
    then reused until the data changes. ``key`` names everything else the figure depends on (chart kind, ids,
    options, titles)."""
    store = context.get_store()  # held by st.cache_resource like the kept figures: cleared together
    full = (id(store), store.version(), auth.current_access().cache_key, *key)
    figures, lock = _kept()
    with lock:
        found = figures.get(full)
        if found is not None:
            figures.move_to_end(full)
            return found
    figure = build()
    made = Drawn(figure, summarise(figure))
    with lock:
        figures[full] = made
        while len(figures) > MAX_FIGURES:
            figures.popitem(last=False)
    return made


@st.cache_resource(show_spinner=False)
def _kept() -> tuple[OrderedDict[tuple, Drawn], Lock]:
    """The process's kept figures (most recently used last) and their lock."""
    return OrderedDict(), Lock()
