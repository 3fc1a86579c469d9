"""From stored rows to analysis results: the one place that knows how a catalogue indicator is analysed.

Pages, exports and the CLI ask here for a site's ITS or pre/post result (mhin_eval.record describes the
main one once, as the result of record), so that each number is computed the same way wherever it is
shown. Pure: frames in, results out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mhin_eval.access.suppression import SuppressionRule, suppress_table
from mhin_eval.analysis import equity
from mhin_eval.analysis.its import ITSOptions, ITSResult, fit_its
from mhin_eval.analysis.prepost import count_prepost, paired_prepost
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.catalogue import Catalogue, Indicator, Site
from mhin_eval.shares import as_shares, month_list, months_without_denominator, uses_offset

ALL = "all"


def default_its_options(catalogue: Catalogue, indicator: Indicator, **overrides) -> ITSOptions:
    """ITS options for an indicator: its default family, the catalogue's seasonality and standard errors.

    The catalogue's ``standard_errors`` setting ("ar1", the dashboard default: nominal coverage in short
    series, docs/its-coverage.md; "newey-west" with its ``hac_lags``; "model"; "prais-winsten")
    chooses the standard errors (an older catalogue's ``autocorrelation = "ar1"`` still means AR(1)).
    An override of ``hac_lags`` alone asks for Newey-West with that lag.
    """
    legacy = "ar1" if catalogue.setting("autocorrelation") == "ar1" else "newey-west"
    standard_errors = catalogue.setting("standard_errors") or legacy
    options = ITSOptions(
        family=indicator.default_model,
        harmonics=int(catalogue.setting("seasonal_harmonics", 2)),
        period=int(catalogue.setting("seasonal_period", 12)),
        standard_errors=standard_errors,
        hac_lags=int(catalogue.setting("hac_lags", 3)),
        small_sample=True,
        horizon=int(catalogue.setting("horizon_months", 12)),
        min_points=int(catalogue.setting("min_points_each_side", 3)),
        low_power_points=int(catalogue.setting("low_power_points", 8)),
    )
    if overrides.get("hac_lags") is not None and "standard_errors" not in overrides:
        overrides = {**overrides, "standard_errors": "newey-west"}
    return replace(options, **overrides) if overrides else options


def series_rows(series: pd.DataFrame, site: str, indicator: str, breakdown: str = ALL, group: str = ALL) -> pd.DataFrame:
    """One site's monthly series for an indicator and group, sorted by period (columns period, value,
    denominator).

    The site total ("all") of a month is its stored ``all`` row, else the sum of its groups when every
    expected group has a value that month. The expected groups are those the site reports for the
    indicator and breakdown anywhere in the series (not the catalogue's full list: a site that never
    records "Unknown" still has totals). A month missing a group is left out rather than summed short,
    and ``frame.attrs["warnings"]`` says which months and groups (``total_warnings`` gives them too).
    """
    rows = series[(series["site"] == site) & (series["indicator"] == indicator)]
    if rows.empty:
        return pd.DataFrame(columns=["period", "value", "denominator"])
    if breakdown != ALL:
        rows = rows[(rows["breakdown"] == breakdown) & (rows["group"] == group)]
        return rows[["period", "value", "denominator"]].sort_values("period").reset_index(drop=True)
    totals = rows[(rows["breakdown"] == ALL) & (rows["group"] == ALL)][["period", "value", "denominator"]]
    groups = rows[rows["breakdown"] != ALL]
    if groups.empty:
        return totals.sort_values("period").reset_index(drop=True)
    first_breakdown = sorted(groups["breakdown"].unique())[0]
    summed, warnings = _summed_groups(groups[groups["breakdown"] == first_breakdown], first_breakdown,
                                      skip=set(totals["period"]))
    out = pd.concat([totals, summed]) if len(totals) else summed
    out = out.sort_values("period").reset_index(drop=True)
    out.attrs["warnings"] = warnings
    return out


def total_warnings(rows: pd.DataFrame) -> list[str]:
    """The warnings ``series_rows`` attached to a site total (months left out for a missing group)."""
    return list(rows.attrs.get("warnings", []))


def unlisted_groups(series: pd.DataFrame, catalogue: Catalogue, site: str, indicator: str) -> list[str]:
    """A warning per breakdown whose stored groups include labels the catalogue does not list (rows stored
    before group vocabularies, or under another spelling), or mix higher-level groups and detailed
    categories (from different files): a site total may count them twice."""
    rows = series[(series["site"] == site) & (series["indicator"] == indicator) & (series["breakdown"] != ALL)]
    warnings = []
    for name, part in rows.groupby("breakdown"):
        vocabulary = catalogue.breakdown(str(name))
        odd = sorted(set(part["group"]) - set(vocabulary.labels)) if vocabulary else []
        detailed = {g.label for g in vocabulary.groups if g.parent} if vocabulary else set()
        held = set(part["group"])
        if held & detailed and held - detailed - set(odd):
            warnings.append(
                f"Stored {name} rows give both higher-level groups and detailed categories (from different "
                "files): the site total may count these people twice. Upload one level as a correction "
                "(replace range) to remove the other."
            )
        if odd:
            warnings.append(
                f"Stored {name} group{'s' if len(odd) > 1 else ''} {', '.join(repr(g) for g in odd)} "
                f"{'are' if len(odd) > 1 else 'is'} not in the catalogue's list (stored under another spelling): "
                "the site total may count these people twice. Upload the corrected file as a correction "
                "(replace range) to remove the old rows."
            )
    return warnings


def _summed_groups(rows: pd.DataFrame, breakdown: str, skip: set) -> tuple[pd.DataFrame, list[str]]:
    """Monthly sums of a breakdown's groups over the months with a value for every expected group, and
    a warning per set of missing groups naming its months. Months in ``skip`` have an ``all`` row."""
    expected = sorted(rows["group"].unique())
    rows = rows[~rows["period"].isin(skip)]
    month_codes, months = pd.factorize(rows["period"], sort=True)
    group_codes = pd.Index(expected).get_indexer(rows["group"])
    present = np.zeros((len(months), len(expected)), dtype=bool)
    valued = rows["value"].notna().to_numpy()
    present[month_codes[valued], group_codes[valued]] = True
    lacking: dict[tuple[str, ...], list] = {}
    for month in np.flatnonzero(~present.all(axis=1)):
        missing = tuple(g for g, there in zip(expected, present[month], strict=True) if not there)
        lacking.setdefault(missing, []).append(months[month])
    part = rows[present.all(axis=1)[month_codes]]
    summed = part.groupby("period", as_index=False).agg(
        value=("value", "sum"), denominator=("denominator", "sum"),
        rows=("denominator", "size"), given=("denominator", "count"),
    )
    summed["denominator"] = summed["denominator"].where(summed["given"] == summed["rows"])
    summed = summed[["period", "value", "denominator"]]
    warnings = []
    for missing, periods in lacking.items():
        shown = month_list(periods)
        names = " and ".join(f"'{g}'" for g in missing)
        warnings.append(f"{shown} left out of the total: no {breakdown} row (or no value) for group"
                        f"{'s' if len(missing) > 1 else ''} {names}, so the month's groups do not add up to it.")
    return summed, warnings


def site_its(
    series: pd.DataFrame,
    catalogue: Catalogue,
    site: Site,
    indicator: Indicator,
    *,
    options: ITSOptions | None = None,
    breakdown: str = ALL,
    group: str = ALL,
    comparison_sites: tuple[str, ...] = (),
    go_live=None,
) -> ITSResult:
    """Segmented regression of one site's series around its go-live (controlled when comparisons are given).

    ``go_live`` overrides the catalogue's date (for sensitivity analyses in the explorer). An indicator
    with a catalogue denominator is always modelled per denominator (offset): months without one are
    left out with a warning. Months left out of a site total (``series_rows``) are warned about too.
    A proportion's fitted lines come back as shares of the denominator (``shares.as_shares``).
    """
    options = options or default_its_options(catalogue, indicator)
    names = {s.id: s.name for s in catalogue.sites}
    warnings: list[str] = []
    parts = []
    for sid, name in ((site.id, site.name), *((o, names.get(o, o)) for o in comparison_sites)):
        rows = series_rows(series, sid, indicator.id, breakdown, group)
        prefix = f"{name}: " if comparison_sites else ""
        warnings += [prefix + w for w in total_warnings(rows)]
        if breakdown == ALL:
            warnings += [prefix + w for w in unlisted_groups(series, catalogue, sid, indicator.id)]
        rows = rows.dropna(subset=["value"])
        rows, lacking = months_without_denominator(rows, indicator, name if comparison_sites else "")
        warnings += [lacking] if lacking else []
        parts.append(rows.assign(series=name))
    frame = pd.concat(parts)
    if frame.empty:
        reason = " ".join(warnings)
        raise AnalysisError(f"There is no {indicator.label} data for {site.name}." + (f" {reason}" if reason else ""))
    if uses_offset(indicator):
        use_offset = True
    else:
        use_offset = indicator.is_count and frame["denominator"].notna().all() and (frame["denominator"] > 0).all()
    result = fit_its(
        frame,
        pd.Timestamp(go_live or site.go_live),
        time="period",
        value="value",
        offset="denominator" if use_offset else None,
        group="series" if comparison_sites else None,
        treated=site.name if comparison_sites else None,
        options=options,
    )
    if indicator.is_share and use_offset:
        result = replace(result, fitted=as_shares(result.fitted, frame, indicator, bool(comparison_sites)))
    if warnings:
        result = replace(result, warnings=tuple(warnings) + tuple(result.warnings))
    return result


EQUITY_WINDOWS = {
    "latest-12": "the latest 12 months",
    "pre-12": "the 12 months before go-live",
    "post-12": "the first 12 months after go-live",
}


def group_window(series: pd.DataFrame, site: Site, indicator: str, window: str) -> tuple[pd.DataFrame, str]:
    """Counts per group over a 12-month window with person-years as the denominator.

    Populations are stocks, so a window's denominator is the mean monthly population times the
    months observed / 12: rates per 100,000 are then annual, comparable with published annual rates.
    Returns (frame with group, value, denominator, months; the window in words with its dates).
    """
    rows = series[(series["site"] == site.id) & (series["indicator"] == indicator) & (series["breakdown"] != ALL)]
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return rows.assign(months=0)[["group", "value", "denominator", "months"]], EQUITY_WINDOWS.get(window, window)
    go_live = pd.Timestamp(site.go_live)
    if window == "pre-12":
        start, end = go_live - pd.DateOffset(months=12), go_live - pd.DateOffset(months=1)
    elif window == "post-12":
        start, end = go_live, go_live + pd.DateOffset(months=11)
    elif window == "latest-12":
        end = rows["period"].max()
        start = end - pd.DateOffset(months=11)
    else:
        raise AnalysisError(f"Unknown window '{window}'; choose one of {', '.join(EQUITY_WINDOWS)}.")
    rows = rows[(rows["period"] >= start) & (rows["period"] <= end)]
    grouped = rows.groupby("group", as_index=False).agg(
        value=("value", "sum"), population=("denominator", "mean"), months=("period", "nunique")
    )
    grouped["denominator"] = grouped["population"] * grouped["months"] / 12
    words = f"{EQUITY_WINDOWS[window]} ({start:%b %Y} to {end:%b %Y})"
    return grouped[["group", "value", "denominator", "months"]], words


def equity_tables(series: pd.DataFrame, site: Site, indicator: Indicator, reference: str, window: str = "latest-12",
                  rule: SuppressionRule | None = None) -> tuple[equity.GroupRates, equity.RateRatios, str]:
    """Annual rates by group (exact Poisson intervals) and rate ratios against ``reference`` over a 12-month
    window (``group_window``), and the window in words.

    With a suppression ``rule`` the window's counts are suppressed first, so rates come from the rounded
    counts and a hidden count gives no rate (mhin_eval.access.suppression). Raises AnalysisError when the
    indicator has no rows broken down by group in the window.
    """
    rows, words = group_window(series, site, indicator.id, window)
    if rows.empty:
        raise AnalysisError("No data broken down by group for this indicator in " + words + ".")
    if rule is not None:
        rows = suppress_table(rows, ["value"], rule=rule)
    return (equity.group_rates(rows, per=indicator.rate_per),
            equity.rate_ratios(rows, reference, per=indicator.rate_per), words)


def funnel_stages(series: pd.DataFrame, indicators, site: Site) -> pd.DataFrame:
    """Counts since go-live per funnel stage, for all families and per group of the stage's breakdown."""
    rows = []
    since = pd.Timestamp(site.go_live)
    for ind in sorted(indicators, key=lambda i: i.funnel_stage):
        data = series[(series["site"] == site.id) & (series["indicator"] == ind.id) & (series["period"] >= since)]
        if data.empty:
            continue
        rows.append({"stage": ind.label, "order": ind.funnel_stage, "group": "All", "count": data["value"].sum()
                     if (data["breakdown"] == "all").all() else data.loc[data["breakdown"] != "all", "value"].sum()})
        for group, part in data[data["breakdown"] != "all"].groupby("group"):
            rows.append({"stage": ind.label, "order": ind.funnel_stage, "group": str(group).capitalize(),
                         "count": part["value"].sum()})
    return pd.DataFrame(rows, columns=["stage", "order", "group", "count"])


def site_prepost(participants: pd.DataFrame, indicator: Indicator, site: Site):
    """Paired before/after result for one site and participant measure (rate ratio for per-person counts)."""
    rows = participants[(participants["site"] == site.id) & (participants["measure"] == indicator.id)]
    if rows.empty:
        raise AnalysisError(f"There are no {indicator.label} records for {site.name}.")
    if indicator.default_model == "rate-ratio":
        return count_prepost(rows)
    return paired_prepost(rows, reliable_change=indicator.reliable_change, better=indicator.better)


def site_result(series: pd.DataFrame, participants: pd.DataFrame, catalogue: Catalogue, site: Site,
                indicator: Indicator):
    """A site's main analysis of an indicator: ITS (controlled when the site has comparison series) for
    series, before/after for participant measures. Raises AnalysisError when there is none."""
    if indicator.source == "series":
        return site_its(series, catalogue, site, indicator, comparison_sites=site.comparison_sites)
    return site_prepost(participants, indicator, site)
