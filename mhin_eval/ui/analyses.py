"""Cached analyses for the pages: keyed on the store's data version, the user's site scope, whether the
view is suppressed, and the options; never refitted on a rerun.

Every cached function takes ``scope`` (the user's data scope, None = all sites) and, where what it returns
differs, ``suppressed``, so a cache shared by all users never hands one user another user's rows or an
unsuppressed number. Results come back as the view shows them: in a suppressed view observed counts are
rounded or hidden and counts of people in text are suppressed (mhin_eval.access.shown).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from mhin_eval import evaluate, record, synth_record
from mhin_eval.access.shown import COUNT_KINDS, Counts
from mhin_eval.access.suppression import SuppressionRule, suppress_table
from mhin_eval.analysis import equity, spc
from mhin_eval.analysis import prepost as prepost_analysis
from mhin_eval.analysis.its import ITSOptions, ITSResult
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.shares import months_without_denominator, uses_offset
from mhin_eval.ui import auth, context


def _scope() -> tuple[str, ...] | None:
    return auth.current_access().data_scope(context.catalogue())


def _suppressed() -> bool:
    return auth.current_access().suppressed


def counts() -> Counts:
    """How counts are shown to the current user (suppressed or not)."""
    return Counts.for_access(auth.current_access(), context.catalogue())


def _counts(suppressed: bool) -> Counts:
    return Counts(suppressed, SuppressionRule.from_catalogue(context.catalogue()))


@st.cache_data(show_spinner=False, max_entries=64)
def _project_series(version: int, project: str, scope: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().series(project=project, sites=scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _project_participants(version: int, project: str, scope: tuple[str, ...] | None) -> pd.DataFrame:
    return context.get_store().participants(project=project, sites=scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _shown_series(version: int, project: str, scope: tuple[str, ...] | None) -> pd.DataFrame | None:
    cat = context.catalogue()
    return _counts(True).shown_series(_project_series(version, project, scope), cat.indicators_of(project))


def project_series(project: str) -> pd.DataFrame:
    """Series rows of a project in the user's scope, unsuppressed: for analyses, never drawn as they are
    in a suppressed view."""
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


@st.cache_data(show_spinner=False, max_entries=256)
def _its_shown(version: int, scope, suppressed: bool, project: str, site: str, indicator: str,
               options: ITSOptions | None, breakdown: str, group: str, comparisons: tuple[str, ...], go_live):
    result = _its(version, scope, project, site, indicator, options, breakdown, group, comparisons, go_live)
    cat = context.catalogue()
    ind = cat.indicator(project, indicator)
    if isinstance(result, str) or not suppressed:
        return result
    if ind.kind not in COUNT_KINDS or (breakdown, group) != (evaluate.ALL, evaluate.ALL):
        if ind.kind in COUNT_KINDS:
            return "A single group's monthly counts are shown to the evaluation team only."
        return result
    names = {s.id: s.name for s in cat.sites}
    series_sites = {names[site]: site, **{names.get(c, c): c for c in comparisons}}
    return _counts(True).its_result(result, ind, _shown_series(version, project, scope), series_sites)


def its(project: str, site: str, indicator: str, options: ITSOptions | None = None, *,
        breakdown: str = "all", group: str = "all", comparisons: tuple[str, ...] = (), go_live=None) -> ITSResult | str:
    """A site's ITS result as the view shows it, or the plain reason there is none (``go_live`` overrides the
    catalogue date). In a suppressed view the observed counts are rounded or hidden; model lines stay."""
    return _its_shown(context.data_version(), _scope(), _suppressed(), project, site, indicator, options,
                      breakdown, group, tuple(comparisons), go_live)


@st.cache_data(show_spinner=False, max_entries=256)
def _prepost(version: int, scope, project: str, site: str, indicator: str):
    cat = context.catalogue()
    try:
        return evaluate.site_prepost(_project_participants(version, project, scope), cat.indicator(project, indicator),
                                     cat.site(site))
    except AnalysisError as exc:
        return str(exc)


def prepost(project: str, site: str, indicator: str):
    """A site's before/after result for a participant measure (warnings as the view shows them), or the
    plain reason there is none."""
    result = _prepost(context.data_version(), _scope(), project, site, indicator)
    shown = counts()
    if isinstance(result, str):
        return shown.text(result)
    if shown.suppressed:
        return replace(result, warnings=tuple(shown.text(w) for w in result.warnings))
    return result


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


@st.cache_resource(show_spinner="Summarising every site…", max_entries=16)
def _records(version: int, suppressed: bool, project: str) -> tuple[record.ResultOfRecord, ...]:
    """Kept as the one shared tuple (its records are frozen), not pickled and unpickled on every read as
    ``st.cache_data`` would: with hundreds of sites that was a tenth of a page view's CPU."""
    return record.results_of_record(context.get_store(), context.catalogue(), project, _counts(suppressed))


def results_of_record(project: str) -> tuple[record.ResultOfRecord, ...]:
    """The project's results of record for the sites this user may see, as the view shows them (the same
    records that decks, reports, tables and the CLI read)."""
    records = _records(context.data_version(), _suppressed(), project)
    sites = auth.current_access().sites
    return records if sites is None else tuple(r for r in records if r.site in sites)


@st.cache_data(show_spinner="Building the comparison with similar sites…", max_entries=16)
def _synth_records(version: int, suppressed: bool, project: str) -> tuple[synth_record.SynthRecord, ...]:
    return synth_record.synth_of_record(context.get_store(), context.catalogue(), project, _counts(suppressed))


def synth_of_record(project: str, site: str) -> synth_record.SynthRecord | None:
    """A site's synthetic-control record (mhin_eval.synth_record) as this user may see it: in their scope, as
    their view shows it, and with partner-extract donors anonymised for a site user; None outside the scope."""
    access = auth.current_access()
    if access.sites is not None and site not in access.sites:
        return None
    found = synth_record.find(_synth_records(context.data_version(), _suppressed(), project), site)
    return None if found is None else synth_record.for_access((found,), access)[0]


def result_of_record(project: str, site: str, indicator: str) -> record.ResultOfRecord | None:
    """One site's result of record for an indicator (None outside the user's sites)."""
    return record.find(results_of_record(project), site, indicator)


@st.cache_data(show_spinner=False, max_entries=128)
def _spc(version: int, scope, suppressed: bool, project: str, site: str, indicator: str, rebase: bool):
    cat = context.catalogue()
    ind = cat.indicator(project, indicator)
    rows = evaluate.series_rows(_project_series(version, project, scope), site, indicator)
    if rows.empty:
        return "No data for this series."
    warnings = evaluate.total_warnings(rows)
    if suppressed and ind.kind in COUNT_KINDS:
        shown = _counts(True).observed(_shown_series(version, project, scope), site, indicator)
        rows = rows.assign(value=rows["period"].map(shown)).dropna(subset=["value"])
    if uses_offset(ind) and ind.kind != "count":
        rows, lacking = months_without_denominator(rows.dropna(subset=["value"]), ind)
        warnings += [lacking] if lacking else []
        rows = rows.assign(value=rows["value"] / rows["denominator"] * ind.rate_per)
    elif ind.kind == "rate" and rows["denominator"].notna().all():
        rows = rows.assign(value=rows["value"] / rows["denominator"] * ind.rate_per)
    go_live = cat.site(site).go_live
    try:
        result = spc.xmr(
            rows, time="period", value="value",
            improvement="decrease" if ind.lower_is_better else "increase",
            rebase_at=[pd.Timestamp(go_live)] if rebase and go_live else (),
        )
        return replace(result, warnings=tuple(warnings) + tuple(result.warnings)) if warnings else result
    except (AnalysisError, ValueError) as exc:
        return str(exc)
    return _counts(suppressed).spc_result(result, ind)


def spc_chart_data(project: str, site: str, indicator: str, rebase: bool = True):
    """XmR chart of a site's series (rates per the indicator's multiplier), rebased at go-live; in a
    suppressed view drawn from the rounded counts, months with a hidden count left out, and noted so
    (``disclosure_note``)."""
    return _spc(context.data_version(), _scope(), _suppressed(), project, site, indicator, rebase)


@st.cache_data(show_spinner=False, max_entries=64)
def _pool(version: int, suppressed: bool, project: str, indicator: str, method: str, sites):
    records = _records(version, suppressed, project)
    if sites is not None:
        records = tuple(r for r in records if r.site in sites)
    try:
        return record.pool(records, context.catalogue().indicator(project, indicator), method=method)
    except AnalysisError as exc:
        return str(exc)


def pooled(project: str, indicator: str, method: str = "DL"):
    """Random-effects pooling of the sites' headline estimates (their results of record) for an indicator."""
    return _pool(context.data_version(), _suppressed(), project, indicator, method, auth.current_access().sites)


@st.cache_data(show_spinner=False, max_entries=128)
def _equity(version: int, scope, suppressed: bool, project: str, site: str, indicator: str, reference: str,
            window: str):
    cat = context.catalogue()
    try:
        return evaluate.equity_tables(
            _project_series(version, project, scope), cat.site(site), cat.indicator(project, indicator), reference,
            window, rule=_counts(True).rule if suppressed else None,
        )
    except (AnalysisError, ValueError) as exc:
        return str(exc)


def equity_tables(project: str, site: str, indicator: str, reference: str, window: str = "latest-12"):
    """(GroupRates, RateRatios, window in words): annual rates by group over a 12-month window, or a reason;
    in a suppressed view from the suppressed counts."""
    return _equity(context.data_version(), _scope(), _suppressed(), project, site, indicator, reference, window)


@st.cache_data(show_spinner=False, max_entries=64)
def _funnel(version: int, scope, suppressed: bool, project: str, site: str) -> pd.DataFrame:
    cat = context.catalogue()
    indicators = [i for i in cat.indicators_of(project, "series") if i.funnel_stage]
    stages = evaluate.funnel_stages(_project_series(version, project, scope), indicators, cat.site(site))
    if suppressed and not stages.empty:
        stages = suppress_table(stages, ["count"], rule=_counts(True).rule, total_row=("group", "All"), by=["stage"])
    return stages


def funnel(project: str, site: str) -> pd.DataFrame:
    """Counts since go-live per uptake stage and group (suppressed in a suppressed view)."""
    return _funnel(context.data_version(), _scope(), _suppressed(), project, site)


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
