"""From stored rows to analysis results: the one place that knows how a catalogue indicator is analysed.

Pages, exports and the CLI ask here for a site's ITS or pre/post result and for the headline table,
so that each number is computed the same way wherever it is shown. Pure: frames in, results out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import pandas as pd

from mhin_eval.access.suppression import SuppressionRule, suppress_table
from mhin_eval.analysis import equity, pooling
from mhin_eval.analysis.its import ITSOptions, ITSResult, fit_its
from mhin_eval.analysis.prepost import count_prepost, paired_prepost
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.catalogue import Catalogue, Indicator, Site
from mhin_eval.wording import direction, finding_sentence

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
    """One site's monthly series for an indicator and group; groups of a breakdown are summed for "all".

    Returns columns period, value, denominator sorted by period.
    """
    rows = series[(series["site"] == site) & (series["indicator"] == indicator)]
    if rows.empty:
        return pd.DataFrame(columns=["period", "value", "denominator"])
    if breakdown == ALL and not (rows["breakdown"] == ALL).any():
        first_breakdown = sorted(rows["breakdown"].unique())[0]
        rows = rows[rows["breakdown"] == first_breakdown]
        summed = rows.groupby("period", as_index=False).agg(
            value=("value", lambda v: v.sum(min_count=len(v))),
            denominator=("denominator", lambda d: d.sum(min_count=len(d))),
        )
        return summed.sort_values("period").reset_index(drop=True)
    rows = rows[(rows["breakdown"] == breakdown) & (rows["group"] == group)]
    return rows[["period", "value", "denominator"]].sort_values("period").reset_index(drop=True)


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

    ``go_live`` overrides the catalogue's date (for sensitivity analyses in the explorer).
    """
    options = options or default_its_options(catalogue, indicator)
    names = {s.id: s.name for s in catalogue.sites}
    frame = series_rows(series, site.id, indicator.id, breakdown, group).assign(series=site.name)
    for other in comparison_sites:
        part = series_rows(series, other, indicator.id, breakdown, group).assign(series=names.get(other, other))
        frame = pd.concat([frame, part])
    frame = frame.dropna(subset=["value"])
    if frame.empty:
        raise AnalysisError(f"There is no {indicator.label} data for {site.name}.")
    use_offset = indicator.is_count and frame["denominator"].notna().all() and (frame["denominator"] > 0).all()
    return fit_its(
        frame,
        pd.Timestamp(go_live or site.go_live),
        time="period",
        value="value",
        offset="denominator" if use_offset else None,
        group="series" if comparison_sites else None,
        treated=site.name if comparison_sites else None,
        options=options,
    )


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


def pooling_estimate(result, which: str = "level_change") -> Estimate | None:
    """The estimate of one site's result that is pooled across sites: the ITS estimate named by ``which``,
    else the before/after rate ratio (per-person counts) or mean difference."""
    if isinstance(result, ITSResult):
        return getattr(result, which)
    return getattr(result, "rate_ratio", None) or getattr(result, "mean_difference", None)


def pool_sites(named: Iterable[tuple[str, Estimate | None]], method: str = "DL") -> pooling.PoolingResult:
    """Pooling of the sites' estimates that carry a standard error (random effects unless ``method="FE"``).

    Raises AnalysisError when too few sites have an estimate.
    """
    estimates = [pooling.from_estimate(name, est) for name, est in named if est is not None and est.se is not None]
    return pooling.pool(estimates, method=method)


@dataclass(frozen=True)
class Headline:
    """One row of the overview: a site's main result for one indicator, in numbers and in words."""

    project: str
    site: str
    site_name: str
    indicator: str
    label: str
    method: str
    estimate: Estimate | None
    sentence: str
    direction: str
    n: int
    period: str
    warnings: tuple[str, ...]


def its_headline(result: ITSResult, site: Site, indicator: Indicator, horizon: int) -> tuple[Estimate | None, str]:
    """The ITS result most people want: relative effect at the horizon (counts) or level change (means)."""
    if result.scale == "ratio" and result.relative_effect is not None:
        rel = result.relative_effect
        ratio = Estimate(1 + rel.estimate, 1 + rel.ci_low, 1 + rel.ci_high, rel.p_value, "ratio", rel.conf_level)
        sentence = finding_sentence(
            f"{indicator.label} at {site.name}", ratio,
            f"in the {horizon} months after go-live compared with the expected trend",
        )
        return ratio, sentence
    if result.level_change is not None:
        sentence = finding_sentence(
            f"{indicator.label} at {site.name}", result.level_change,
            "at go-live compared with the expected trend", indicator.unit,
        )
        return result.level_change, sentence
    return None, f"No estimate for {indicator.label} at {site.name}: " + " ".join(result.warnings)


def prepost_headline(result, site: Site, indicator: Indicator, n_text: str | None = None) -> tuple[Estimate | None, str]:
    """Pre/post result in one sentence: rate ratio for per-person counts, mean difference otherwise.

    ``n_text`` stands in for the number of pairs (a suppressed view's ``*`` or rounded count).
    """
    est = getattr(result, "rate_ratio", None) or getattr(result, "mean_difference", None)
    if est is None:
        return None, f"No estimate for {indicator.label} at {site.name}: " + " ".join(result.warnings)
    n_text = n_text if n_text is not None else str(result.n_pairs)
    return est, finding_sentence(
        f"{indicator.label} at {site.name}", est,
        f"between baseline and follow-up ({n_text} people with both measurements)", indicator.unit,
    )


def site_result(series: pd.DataFrame, participants: pd.DataFrame, catalogue: Catalogue, site: Site,
                indicator: Indicator):
    """A site's main analysis of an indicator: ITS (controlled when the site has comparison series) for
    series, before/after for participant measures. Raises AnalysisError when there is none."""
    if indicator.source == "series":
        return site_its(series, catalogue, site, indicator, comparison_sites=site.comparison_sites)
    return site_prepost(participants, indicator, site)


def headline_of(result, site: Site, indicator: Indicator, horizon: int) -> Headline:
    """The headline row of a site's result, or of the AnalysisError that stopped it."""
    if isinstance(result, AnalysisError):
        est, sentence, method, n, period, warnings = None, str(result), "", 0, "", (str(result),)
    elif indicator.source == "series":
        est, sentence = its_headline(result, site, indicator, horizon)
        method = f"Interrupted time series ({result.family})"
        n = result.n
        periods = result.fitted["period"] if "period" in result.fitted else pd.Series(dtype="datetime64[ns]")
        period = f"{periods.min():%b %Y} – {periods.max():%b %Y}" if len(periods) else ""
        warnings = tuple(result.warnings)
    else:
        est, sentence = prepost_headline(result, site, indicator)
        method = "Rate ratio, before vs after" if indicator.default_model == "rate-ratio" else "Paired mean difference"
        n = result.n_pairs
        period = "6 months before vs after" if indicator.default_model == "rate-ratio" else "baseline vs follow-up"
        warnings = tuple(result.warnings)
    return Headline(
        project=indicator.project,
        site=site.id,
        site_name=site.name,
        indicator=indicator.id,
        label=indicator.label,
        method=method,
        estimate=est,
        sentence=sentence,
        direction=direction(est, indicator.better),
        n=n,
        period=period,
        warnings=warnings,
    )


def headline_results(
    series: pd.DataFrame, participants: pd.DataFrame, catalogue: Catalogue, project: str,
    sites: tuple[str, ...] | None = None,
) -> list[Headline]:
    """Headline result per site and indicator of a project, as the overview and decks show them
    (only the given ``sites`` when a scope is given)."""
    headlines = []
    horizon = int(catalogue.setting("horizon_months", 12))
    for site in catalogue.sites_of(project):
        if sites is not None and site.id not in sites:
            continue
        for indicator in catalogue.indicators_of(project):
            try:
                result = site_result(series, participants, catalogue, site, indicator)
            except AnalysisError as exc:
                result = exc
            headlines.append(headline_of(result, site, indicator, horizon))
    return headlines
