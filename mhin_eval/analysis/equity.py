"""Equity: event rates by group (e.g. Mental Health Act detentions by ethnicity) and rate ratios.

Rates carry exact Poisson (Garwood) confidence intervals; rate ratios against a reference group carry
log-scale Wald or exact conditional (binomial) intervals; the change in a rate ratio at go-live is a
controlled interrupted time series with a group interaction (``mhin_eval.analysis.its``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.periods import PeriodError, as_timestamp, column_dates

RatioMethod = Literal["wald", "exact"]
RATIO_METHODS = ("wald", "exact")
DEFAULT_RATIO_METHOD: RatioMethod = "wald"
SMALL_COUNT = 10
"""Below this many events in a group the Wald interval is rough: the exact interval is suggested."""

GARWOOD = (
    "Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28:437-442; "
    "Ulm K. A simple method to calculate the confidence interval of a standardized mortality ratio. "
    "Am J Epidemiol 1990;131(2):373-375."
)
RATE_RATIO_REFS = (
    "Rothman KJ, Greenland S, Lash TL. Modern Epidemiology, 3rd ed., ch. 14 (Wald interval for the "
    "log rate ratio, variance 1/a + 1/b); Breslow NE, Day NE. Statistical Methods in Cancer Research "
    "Vol. II (IARC 1987), §2.4 (exact conditional interval: a | a + b is binomial); Clopper CJ, "
    "Pearson ES. Biometrika 1934;26:404-413."
)

RATES_METHODS = f"""\
Crude rate = events / denominator × per, for each group (rows of one group are pooled: events and
denominators summed, the denominators read as person-time). Confidence interval: exact Poisson
(Garwood) limits for the count, from chi-square quantiles — lower = χ²(α/2; 2x)/2, upper =
χ²(1 − α/2; 2x + 2)/2, lower = 0 when x = 0 — divided by the denominator. A group with a zero or
missing denominator, or a missing (e.g. suppressed) count, gets no rate and a note.
References: {GARWOOD}
"""

RATIOS_METHODS = f"""\
Rate ratio of each group against the reference group: (a / N_a) / (b / N_b), with a, b events and
N_a, N_b denominators. Default interval ("wald"): exp(log RR ± z·√(1/a + 1/b)) with a two-sided Wald
z-test p-value. Alternative ("exact"): conditional on a + b, a is binomial with proportion
π = RR·N_a / (RR·N_a + N_b); the Clopper–Pearson interval for π is mapped to RR = π/(1 − π) · N_b/N_a,
with the exact binomial test of π = N_a/(N_a + N_b) (as R's poisson.test for two rates). The two agree
for large counts; use "exact" when a group has fewer than {SMALL_COUNT} events. A group with no events
gets no ratio (a plain note instead of 0 with an infinite interval); the reference group must have
events. Rates and their intervals are as in group_rates.
References: {RATE_RATIO_REFS}; {GARWOOD}
"""

CHANGE_METHODS = """\
Change in the rate ratio of a group against the reference group from before to after go-live:
a controlled interrupted time series (mhin_eval.analysis.its.fit_its) with the group of interest as
the treated series and the reference group as the comparison, each group's population denominator
as the offset (log scale). The group × post interaction is the ratio of rate ratios at go-live
(difference in level change: the rate ratio just after go-live divided by the rate ratio just
before), and the group × post × time interaction the ratio of the monthly change in the rate ratio
(difference in slope change). A ratio of rate ratios below 1 means the gap narrowed when the group's
rate is the higher one. Model, scale and standard errors follow the ITS options (see its.py methods).
Reference: Lopez Bernal J, Cummins S, Gasparrini A. The use of controls in interrupted time series
studies of public health interventions. Int J Epidemiol 2018;47(6):2082-2093.
"""


def poisson_exact_ci(count: float, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) confidence limits for a Poisson count, from chi-square quantiles (Ulm 1990)."""
    _check_conf_level(conf_level)
    if not math.isfinite(count) or count < 0:
        raise ValueError(f"a Poisson count must be a non-negative number, not {count!r}")
    alpha = 1 - conf_level
    lower = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count) / 2)
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2)
    return lower, upper


@dataclass(frozen=True)
class GroupRates:
    """Rates per ``per`` of each group with exact Poisson intervals.

    ``table`` columns: group, count, denominator, rate, ci_low, ci_high, note (empty when fine).
    """

    table: pd.DataFrame
    per: float
    conf_level: float
    warnings: tuple[str, ...]
    methods: str = RATES_METHODS


@dataclass(frozen=True)
class RateRatios:
    """Rate ratio of each group against ``reference``, with interval and p-value.

    ``table`` columns: group, is_reference, count, denominator, rate, rate_ci_low, rate_ci_high,
    rate_ratio, ci_low, ci_high, p_value, note. The reference row has ratio 1 and no interval.
    """

    table: pd.DataFrame
    reference: str
    method: RatioMethod
    per: float
    conf_level: float
    warnings: tuple[str, ...]
    methods: str = RATIOS_METHODS

    def estimate(self, group) -> Estimate | None:
        """The rate ratio of ``group`` as an Estimate (None when it has no ratio, see its note)."""
        rows = self.table[self.table["group"] == group]
        if rows.empty:
            raise KeyError(f"group {group!r} not in the table; groups are {self.table['group'].tolist()}")
        row = rows.iloc[0]
        if row["is_reference"] or pd.isna(row["rate_ratio"]):
            return None
        se = math.sqrt(1 / row["count"] + 1 / self._reference_count)
        return Estimate(
            estimate=float(row["rate_ratio"]),
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
            p_value=float(row["p_value"]),
            scale="ratio",
            conf_level=self.conf_level,
            se=se,
        )

    @property
    def _reference_count(self) -> float:
        return float(self.table.loc[self.table["is_reference"], "count"].iloc[0])


def group_rates(
    data: pd.DataFrame,
    *,
    count: str = "value",
    denominator: str = "denominator",
    group: str = "group",
    per: float = 100_000,
    conf_level: float = 0.95,
) -> GroupRates:
    """Crude event rate per ``per`` for each group with exact Poisson (Garwood) confidence intervals."""
    _check_conf_level(conf_level)
    if not (isinstance(per, (int, float)) and math.isfinite(per) and per > 0):
        raise ValueError(f"per must be a positive number, not {per!r}")
    pooled, warnings = _pool_groups(data, count=count, denominator=denominator, group=group)
    rows = []
    for _, row in pooled.iterrows():
        x, n, note = row["count"], row["denominator"], row["note"]
        rate = low = high = math.nan
        if not note:
            low_count, high_count = poisson_exact_ci(x, conf_level)
            rate, low, high = x / n * per, low_count / n * per, high_count / n * per
        rows.append(
            {"group": row["group"], "count": x, "denominator": n, "rate": rate, "ci_low": low, "ci_high": high,
             "note": note}
        )
    return GroupRates(table=pd.DataFrame(rows), per=float(per), conf_level=conf_level, warnings=tuple(warnings))


def rate_ratios(
    data: pd.DataFrame,
    reference,
    *,
    count: str = "value",
    denominator: str = "denominator",
    group: str = "group",
    per: float = 100_000,
    conf_level: float = 0.95,
    method: RatioMethod = DEFAULT_RATIO_METHOD,
) -> RateRatios:
    """Rate ratio of each group against the reference group (log-scale Wald by default, or exact).

    Wald: Rothman, Modern Epidemiology ch. 14; exact: conditional binomial (Breslow & Day 1987, §2.4).
    """
    if method not in RATIO_METHODS:
        raise ValueError(f"method must be one of {RATIO_METHODS}, not {method!r}")
    rates = group_rates(data, count=count, denominator=denominator, group=group, per=per, conf_level=conf_level)
    table = rates.table
    groups = table["group"].tolist()
    matches = [g for g in groups if g == reference or str(g) == str(reference)]
    if not matches:
        raise AnalysisError(f"reference group {reference!r} is not in the data; groups are {groups}")
    reference = matches[0]
    ref = table[table["group"] == reference].iloc[0]
    if ref["note"]:
        raise AnalysisError(f"the reference group {reference!r} has no usable rate ({ref['note']}): choose another")
    if ref["count"] == 0:
        raise AnalysisError(
            f"the reference group {reference!r} has no events, so no rate ratio against it exists: choose another"
        )
    warnings = list(rates.warnings)
    b, n_b = float(ref["count"]), float(ref["denominator"])
    out = []
    for _, row in table.iterrows():
        is_reference = row["group"] == reference
        ratio = low = high = p_value = math.nan
        note = row["note"]
        if is_reference:
            ratio = 1.0
            note = "reference group"
        elif not note and row["count"] == 0:
            note = "no events in this group: no rate ratio (it would be 0 with an unbounded interval)"
        elif not note:
            a, n_a = float(row["count"]), float(row["denominator"])
            ratio = (a / n_a) / (b / n_b)
            if method == "wald":
                low, high, p_value = _wald_ratio(a, b, ratio, conf_level)
            else:
                low, high, p_value = _exact_ratio(a, b, n_a, n_b, conf_level)
        out.append(
            {
                "group": row["group"],
                "is_reference": is_reference,
                "count": row["count"],
                "denominator": row["denominator"],
                "rate": row["rate"],
                "rate_ci_low": row["ci_low"],
                "rate_ci_high": row["ci_high"],
                "rate_ratio": ratio,
                "ci_low": low,
                "ci_high": high,
                "p_value": p_value,
                "note": note,
            }
        )
    result = pd.DataFrame(out)
    small = result[~result["is_reference"] & (result["count"] > 0) & (result["count"] < SMALL_COUNT)]
    if method == "wald" and (len(small) or b < SMALL_COUNT):
        names = small["group"].tolist() + ([reference] if b < SMALL_COUNT else [])
        warnings.append(
            f"fewer than {SMALL_COUNT} events in {names}: the Wald interval is rough; use method='exact'"
        )
    for _, row in result[~result["is_reference"] & (result["count"] == 0)].iterrows():
        warnings.append(f"group {row['group']!r} has no events: no rate ratio")
    return RateRatios(
        table=result,
        reference=reference,
        method=method,
        per=float(per),
        conf_level=conf_level,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True)
class RateRatioChange:
    """Change in a group's rate ratio against the reference group at go-live (controlled ITS).

    ``level_change``: ratio of rate ratios just after vs just before go-live; ``slope_change``: ratio
    of the per-period change in the rate ratio after vs before (None without a slope term or data).
    ``before`` and ``after``: the crude rate ratios of the pooled pre and post periods (descriptive;
    None when a period has no usable data). ``its``: the full ITSResult (fitted lines, diagnostics).
    """

    group: str
    reference: str
    go_live: object
    level_change: Estimate | None
    slope_change: Estimate | None
    before: RateRatios | None
    after: RateRatios | None
    its: object
    warnings: tuple[str, ...]
    methods: str = CHANGE_METHODS


def rate_ratio_change(
    series: pd.DataFrame,
    reference,
    go_live,
    *,
    group_of_interest=None,
    time: str = "period",
    count: str = "value",
    denominator: str = "denominator",
    group: str = "group",
    options=None,
) -> RateRatioChange:
    """Before-vs-after change in the group-vs-reference rate ratio: ITS with a group interaction.

    The group of interest is the treated series and the reference group the comparison in
    ``its.fit_its`` (Lopez Bernal, Cummins & Gasparrini 2018), with the population as offset.
    ``group_of_interest`` may be omitted when the data hold exactly two groups.
    """
    from mhin_eval.analysis.its import ITSOptions, fit_its

    for column in (time, count, denominator, group):
        if column not in series.columns:
            raise AnalysisError(f"column {column!r} not in the data; columns are {list(series.columns)}")
    groups = list(pd.unique(series[group]))
    reference = _match_group(reference, groups, "reference group")
    if group_of_interest is None:
        others = [g for g in groups if g != reference]
        if len(others) != 1:
            raise AnalysisError(
                f"the data hold {len(others)} groups besides the reference {reference!r} ({others}): "
                "say which one with group_of_interest"
            )
        group_of_interest = others[0]
    group_of_interest = _match_group(group_of_interest, groups, "group of interest")
    if group_of_interest == reference:
        raise AnalysisError("the group of interest and the reference group are the same")

    pair = series[series[group].isin([group_of_interest, reference])].copy()
    if pd.api.types.is_datetime64_any_dtype(pair[time]) or not pd.api.types.is_numeric_dtype(pair[time]):
        try:
            pair[time] = column_dates(pair[time], time)
            go_live = as_timestamp(go_live)
        except PeriodError as exc:
            raise AnalysisError(str(exc)) from exc
    else:
        try:
            go_live = float(go_live)
        except (TypeError, ValueError) as exc:
            raise AnalysisError(f"go-live {go_live!r} must be a number like the {time!r} column") from exc
    bad_denominator = pair[denominator].isna() | (pd.to_numeric(pair[denominator], errors="coerce") <= 0)
    if bad_denominator.any():
        raise AnalysisError(
            f"{int(bad_denominator.sum())} row(s) have a zero or missing {denominator!r}: every period of both "
            "groups needs a population to use as the offset"
        )
    options = options if options is not None else ITSOptions()
    fit = fit_its(
        pair,
        go_live,
        time=time,
        value=count,
        offset=denominator,
        group=group,
        treated=group_of_interest,
        options=options,
    )
    if pd.api.types.is_datetime64_any_dtype(pair[time]):
        is_post = pair[time].dt.to_period("M") >= go_live.to_period("M")
    else:
        is_post = pair[time] >= go_live
    warnings = list(fit.warnings)
    crude = {}
    for label, rows in (("before", pair[~is_post]), ("after", pair[is_post])):
        try:
            crude[label] = rate_ratios(rows, reference, count=count, denominator=denominator, group=group)
        except AnalysisError as exc:
            crude[label] = None
            warnings.append(f"no crude rate ratio {label} go-live: {exc}")
            continue
        warnings.extend(f"{label} go-live: {w}" for w in crude[label].warnings)
    return RateRatioChange(
        group=group_of_interest,
        reference=reference,
        go_live=go_live,
        level_change=fit.difference_in_level_change,
        slope_change=fit.difference_in_slope_change,
        before=crude["before"],
        after=crude["after"],
        its=fit,
        warnings=tuple(warnings),
        methods=CHANGE_METHODS + "\n" + fit.methods,
    )


def _match_group(value, groups: list, what: str):
    for g in groups:
        if g == value or str(g) == str(value):
            return g
    raise AnalysisError(f"{what} {value!r} is not in the data; groups are {groups}")


def _wald_ratio(a: float, b: float, ratio: float, conf_level: float) -> tuple[float, float, float]:
    se = math.sqrt(1 / a + 1 / b)
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    log_ratio = math.log(ratio)
    p_value = float(2 * stats.norm.sf(abs(log_ratio) / se))
    return math.exp(log_ratio - z * se), math.exp(log_ratio + z * se), p_value


def _exact_ratio(a: float, b: float, n_a: float, n_b: float, conf_level: float) -> tuple[float, float, float]:
    if a != int(a) or b != int(b):
        raise AnalysisError("the exact rate-ratio interval needs whole-number counts; use method='wald'")
    a, b = int(a), int(b)
    test = stats.binomtest(a, a + b, n_a / (n_a + n_b))
    ci = test.proportion_ci(confidence_level=conf_level, method="exact")

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * n_b / n_a

    return to_ratio(ci.low), to_ratio(ci.high), float(test.pvalue)


def _pool_groups(data: pd.DataFrame, *, count: str, denominator: str, group: str) -> tuple[pd.DataFrame, list[str]]:
    """One row per group: summed events and denominators, with a note when no rate can be given."""
    missing = [c for c in (count, denominator, group) if c not in data.columns]
    if missing:
        raise AnalysisError(f"column(s) {missing} not in the data; columns are {list(data.columns)}")
    if len(data) == 0:
        raise AnalysisError("no rows: rates need data")
    frame = pd.DataFrame(
        {
            "group": data[group].to_numpy(),
            "count": _numeric(data[count], count),
            "denominator": _numeric(data[denominator], denominator),
        }
    )
    if frame["group"].isna().any():
        raise AnalysisError(f"{int(frame['group'].isna().sum())} row(s) have no {group!r}")
    if (frame["count"] < 0).any():
        raise AnalysisError(f"column {count!r} has negative counts")
    if (frame["denominator"] < 0).any():
        raise AnalysisError(f"column {denominator!r} has negative denominators")
    observed = frame["count"].dropna()
    warnings = []
    if not np.allclose(observed, np.round(observed)):
        warnings.append(f"{count!r} holds non-whole numbers: exact Poisson intervals assume counts of events")
    rows = []
    for name, rows_of_group in frame.groupby("group", sort=False):
        x = rows_of_group["count"].sum(min_count=1) if rows_of_group["count"].notna().all() else math.nan
        n = rows_of_group["denominator"].sum() if rows_of_group["denominator"].notna().all() else math.nan
        if math.isnan(x):
            note = "count missing (suppressed or not recorded): no rate"
        elif math.isnan(n):
            note = "denominator missing: no rate"
        elif n == 0:
            note = "denominator is zero: no rate"
        else:
            note = ""
        if note:
            warnings.append(f"group {name!r}: {note}")
        rows.append({"group": name, "count": x, "denominator": n, "note": note})
    if len(rows) > 0 and len(rows) < len(frame):
        warnings.append(
            "several rows per group: events and denominators were summed (denominators read as person-time)"
        )
    return pd.DataFrame(rows), warnings


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna() & (column.astype(str).str.strip() != "*")
    if bad.any():
        raise AnalysisError(f"column {name!r} has non-numeric value(s), e.g. {column[bad].iloc[0]!r}")
    values = values.astype(float).to_numpy()
    if np.isinf(values).any():
        raise AnalysisError(f"column {name!r} has infinite values")
    return values


def _check_conf_level(conf_level: float) -> None:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, not {conf_level!r}")


__all__ = [
    "DEFAULT_RATIO_METHOD",
    "GroupRates",
    "RATIO_METHODS",
    "RateRatioChange",
    "RateRatios",
    "group_rates",
    "poisson_exact_ci",
    "rate_ratio_change",
    "rate_ratios",
]
