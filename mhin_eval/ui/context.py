"""Shared page context: the store, the catalogue, cached reads and the banners every page shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import coverage as coverage_summaries
from mhin_eval.catalogue import Catalogue, load_catalogue
from mhin_eval.store import Store, seed

DEMO_NOTICE = (
    "**Synthetic demo data.** Every number on this page comes from invented data built to test the "
    "dashboard. It describes no real patient, service or site and is not a finding."
)
MIXED_DEMO_NOTICE = (
    "**Synthetic demo data is loaded.** Numbers on this page come from invented data built to test the dashboard "
    "and are not findings, except the months of site series mapped from NHS England's published statistics "
    "(loaded from NHS England's files), which are real. The Published statistics page shows which those are."
)
PUBLISHED_DEMO_NOTICE = (
    "**Synthetic demo data is loaded.** The project data on this page (marked *synthetic demo*) is invented, "
    "built to test the dashboard, and is not a finding. The NHS England figures (trust, ICB and England) are "
    "real published statistics, as loaded from NHS England's files."
)


@st.cache_resource(show_spinner="Preparing the data store…")
def get_store() -> Store:
    """One store per server process; seeded with the demo data and published context when empty (`make run`
    seeds before serving, and also completes a seed that was interrupted). Seeded here, the first page waits
    for the data and the results of record only: the synthetic-control records are computed in the background
    (or by the first reader of one)."""
    store = Store()
    if store.is_empty():
        if seed(store, synth=False):
            from mhin_eval.ui.serve import records_in_background

            records_in_background()
    return store


def catalogue() -> Catalogue:
    return load_catalogue()


def data_version() -> int:
    return get_store().version()


@st.cache_data(show_spinner=False, max_entries=64)
def _series(version: int, project: str | None, sites: tuple[str, ...] | None, indicator: str | None) -> pd.DataFrame:
    return get_store().series(project=project, sites=sites, indicator=indicator)


def series(project: str | None, sites: tuple[str, ...] | None, indicator: str | None = None) -> pd.DataFrame:
    """Current series rows within a site scope (None = all), cached per data version and scope."""
    return _series(data_version(), project, sites, indicator)


@st.cache_data(show_spinner=False, max_entries=32)
def _coverage(version: int, project: str | None, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return get_store().coverage(project=project, sites=sites)


def coverage(sites: tuple[str, ...] | None, project: str | None = None) -> pd.DataFrame:
    """Months with data per site and indicator, within a site scope (None = all)."""
    return _coverage(data_version(), project, sites)


@st.cache_data(show_spinner=False, max_entries=32)
def _coverage_summary(version: int, project: str, sites: tuple[str, ...] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    labelled = coverage_summaries.labelled(get_store().coverage(project=project, sites=sites), catalogue())
    return coverage_summaries.sites_reporting(labelled), coverage_summaries.missing_months(labelled)


def coverage_summary(project: str, sites: tuple[str, ...] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A project's coverage within a site scope in summary (mhin_eval.coverage): sites with data per indicator
    and month, and the site series missing months; small tables, whatever the number of sites."""
    return _coverage_summary(data_version(), project, sites)


@st.cache_data(show_spinner=False, max_entries=8)
def _freshness(version: int, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return get_store().freshness(sites=sites)


def freshness(sites: tuple[str, ...] | None) -> pd.DataFrame:
    """Latest month and load time per source, within a site scope (None = all)."""
    return _freshness(data_version(), sites)


@st.cache_data(show_spinner=False, max_entries=8)
def _history(version: int, sites: tuple[str, ...] | None) -> pd.DataFrame:
    return get_store().history(sites=sites)


def history(sites: tuple[str, ...] | None) -> pd.DataFrame:
    """Every ingest and rollback within a site scope (None = all), read once per data version (each ingest or
    rollback makes a new one)."""
    return _history(data_version(), sites)


@st.cache_data(show_spinner=False, max_entries=4)
def _has_demo_data(version: int) -> bool:
    return get_store().has_demo_data()


def has_demo_data() -> bool:
    return _has_demo_data(data_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _has_real_published_series(version: int) -> bool:
    return get_store().has_real_published_series()


def show_data_notices(*, real_published: bool = False) -> None:
    """Banners every page shows: the synthetic-data notice while demo data is loaded. A page that also shows
    real published statistics (``real_published``) says which of its parts are synthetic and which are real,
    and so does every page while real published measures are mapped into site series beside the demo data."""
    if not has_demo_data():
        return
    if real_published:
        notice = PUBLISHED_DEMO_NOTICE
    elif _has_real_published_series(data_version()):
        notice = MIXED_DEMO_NOTICE
    else:
        notice = DEMO_NOTICE
    st.warning(notice, icon=":material/science:")
