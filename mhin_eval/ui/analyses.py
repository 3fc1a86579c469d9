"""Cached analyses for the pages: keyed on the store's data version and the options, never refitted on a rerun."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mhin_eval import evaluate
from mhin_eval.analysis import equity, pooling, spc
from mhin_eval.analysis import prepost as prepost_analysis
from mhin_eval.analysis.its import ITSOptions, ITSResult
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.ui import auth, context

#: Every cached function below takes ``scope`` (the user's site scope, None = all sites) as an argument,
#: so that a cache shared by all users never hands one user another user's rows.


def _scope() -> tuple[str, ...] | None:
    return auth.current_access().data_scope(context.catalogue())


@st.cache_data(show_spinner=False, max_entries=64)
def _project_series(version: int, project: str, scope: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().series(project=project, sites=scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _project_participants(version: int, project: str, scope: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().participants(project=project, sites=scope)


def project_series(project: str) -> pd.DataFrame:
    return _project_series(context.data_version(), project, _scope())


def project_participants(project: str) -> pd.DataFrame:
    """Participant rows (only for users who may see them: evaluators outside the suppressed view)."""
    if not auth.current_access().can_see_participants:
        raise PermissionError("participant rows are shown to the evaluation team only")
    return _project_participants(context.data_version(), project, _scope())


@st.cache_data(show_spinner="Fitting the time-series model…", max_entries=256)
def _its(version: int, scope, project: str, site: str, indicator: str, options: ITSOptions | None,
         breakdown: str, group: str, comparisons: tuple[str, ...], go_live) -> ITSResult | str:
    cat = context.catalogue()
    try:
        return evaluate.site_its(
            _project_series(version, project, scope), cat, cat.site(site), cat.indicator(project, indicator),
            options=options, breakdown=breakdown, group=group, comparison_sites=comparisons, go_live=go_live,
        )
    except AnalysisError as exc:
        return str(exc)


def its(project: str, site: str, indicator: str, options: ITSOptions | None = None, *,
        breakdown: str = "all", group: str = "all", comparisons: tuple[str, ...] = (), go_live=None) -> ITSResult | str:
    """A site's ITS result, or the plain reason there is none (``go_live`` overrides the catalogue date)."""
    return _its(context.data_version(), _scope(), project, site, indicator, options, breakdown, group, tuple(comparisons),
                go_live)


@st.cache_data(show_spinner=False, max_entries=256)
def _prepost(version: int, scope, project: str, site: str, indicator: str):
    cat = context.catalogue()
    try:
        return evaluate.site_prepost(_project_participants(version, project, scope), cat.indicator(project, indicator),
                                     cat.site(site))
    except AnalysisError as exc:
        return str(exc)


def prepost(project: str, site: str, indicator: str):
    """A site's before/after result for a participant measure, or the plain reason there is none."""
    return _prepost(context.data_version(), _scope(), project, site, indicator)


@st.cache_data(show_spinner=False, max_entries=128)
def _stratified(version: int, scope, project: str, site: str, indicator: str, breakdown: str):
    ind = context.catalogue().indicator(project, indicator)
    rows = _project_participants(version, project, scope)
    rows = rows[(rows["site"] == site) & (rows["measure"] == indicator)]
    if rows.empty or breakdown not in rows or rows[breakdown].isna().all():
        return {}
    return prepost_analysis.stratified(
        prepost_analysis.paired_prepost, rows, by=breakdown, reliable_change=ind.reliable_change, better=ind.better
    )


def stratified_prepost(project: str, site: str, indicator: str, breakdown: str) -> dict:
    """A site's paired before/after result per group of an attribute (empty when no record carries it)."""
    return _stratified(context.data_version(), _scope(), project, site, indicator, breakdown)


@st.cache_data(show_spinner="Summarising every site…", max_entries=16)
def _headlines(version: int, scope, project: str, sites: tuple[str, ...] | None) -> list[evaluate.Headline]:
    return evaluate.headline_results(
        _project_series(version, project, scope), _project_participants(version, project, scope),
        context.catalogue(), project, sites=sites,
    )


def headlines(project: str) -> list[evaluate.Headline]:
    """Headline results of a project for the sites this user may see."""
    return _headlines(context.data_version(), _scope(), project, auth.current_access().sites)


@st.cache_data(show_spinner=False, max_entries=128)
def _spc(version: int, scope, project: str, site: str, indicator: str, rebase: bool):
    cat = context.catalogue()
    ind = cat.indicator(project, indicator)
    rows = evaluate.series_rows(_project_series(version, project, scope), site, indicator)
    if rows.empty:
        return "No data for this series."
    if ind.kind == "rate" and rows["denominator"].notna().all():
        rows = rows.assign(value=rows["value"] / rows["denominator"] * ind.rate_per)
    go_live = cat.site(site).go_live
    try:
        return spc.xmr(
            rows, time="period", value="value",
            improvement="decrease" if ind.lower_is_better else "increase",
            rebase_at=[pd.Timestamp(go_live)] if rebase and go_live else (),
        )
    except (AnalysisError, ValueError) as exc:
        return str(exc)


def spc_chart_data(project: str, site: str, indicator: str, rebase: bool = True):
    """XmR chart of a site's series (rates per the indicator's multiplier), rebased at go-live."""
    return _spc(context.data_version(), _scope(), project, site, indicator, rebase)


@st.cache_data(show_spinner=False, max_entries=64)
def _pool(version: int, scope, project: str, indicator: str, method: str, which: str):
    cat = context.catalogue()
    ind = cat.indicator(project, indicator)
    estimates = []
    for site in cat.sites_of(project):
        if ind.source == "series":
            result = _its(version, scope, project, site.id, indicator, None, "all", "all", site.comparison_sites, None)
            est = None if isinstance(result, str) else getattr(result, which)
        else:
            result = _prepost(version, scope, project, site.id, indicator)
            est = None if isinstance(result, str) else (
                getattr(result, "rate_ratio", None) or getattr(result, "mean_difference", None)
            )
        if est is not None and est.se is not None:
            estimates.append(pooling.from_estimate(site.name, est))
    try:
        return pooling.pool(estimates, method=method)
    except AnalysisError as exc:
        return str(exc)


def pooled(project: str, indicator: str, method: str = "DL", which: str = "level_change"):
    """Random-effects pooling of the sites' estimates for an indicator."""
    return _pool(context.data_version(), _scope(), project, indicator, method, which)


@st.cache_data(show_spinner=False, max_entries=128)
def _equity(version: int, scope, project: str, site: str, indicator: str, reference: str, window: str):
    cat = context.catalogue()
    ind = cat.indicator(project, indicator)
    rows, words = evaluate.group_window(_project_series(version, project, scope), cat.site(site), indicator, window)
    if rows.empty:
        return "No data broken down by group for this indicator in " + words + "."
    try:
        return (
            equity.group_rates(rows, per=ind.rate_per),
            equity.rate_ratios(rows, reference, per=ind.rate_per),
            words,
        )
    except (AnalysisError, ValueError) as exc:
        return str(exc)


def equity_tables(project: str, site: str, indicator: str, reference: str, window: str = "latest-12"):
    """(GroupRates, RateRatios, window in words): annual rates by group over a 12-month window, or a reason."""
    return _equity(context.data_version(), _scope(), project, site, indicator, reference, window)


@st.cache_data(show_spinner="Fitting the rate-ratio change…", max_entries=128)
def _equity_change(version: int, scope, project: str, site: str, indicator: str, reference: str, group: str):
    cat = context.catalogue()
    rows = _project_series(version, project, scope)
    rows = rows[(rows["site"] == site) & (rows["indicator"] == indicator) & rows["group"].isin([reference, group])]
    try:
        return equity.rate_ratio_change(
            rows, reference, pd.Timestamp(cat.site(site).go_live), group_of_interest=group,
            options=evaluate.default_its_options(cat, cat.indicator(project, indicator)),
        )
    except (AnalysisError, ValueError) as exc:
        return str(exc)


def equity_change(project: str, site: str, indicator: str, reference: str, group: str):
    """Change in a group's rate ratio against the reference at go-live (ITS with a group interaction)."""
    return _equity_change(context.data_version(), _scope(), project, site, indicator, reference, group)
