"""Paired before/after analyses of participant outcomes: scores, per-person counts and binary outcomes.

Input is the long participant layout (``project, site, participant_id, measure, timepoint, value`` plus
optional attributes). Every function pairs each participant's ``before`` and ``after`` rows, counts who is
missing, and returns a frozen dataclass that pages, charts, exports and the CLI share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from mhin_eval.analysis.results import AnalysisError, Estimate

MIN_PAIRS = 3
LOW_PRECISION_PAIRS = 10
EXACT_MCNEMAR_BELOW = 25
EXACT_WILCOXON_BELOW = 50
NOT_RECORDED = "(not recorded)"


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class WilcoxonResult:
    """Wilcoxon signed-rank test reported as R's ``wilcox.test(after, before, paired = TRUE)`` does."""

    statistic: float  # V: sum of the ranks of the positive differences (after − before)
    n_nonzero: int
    n_zero: int
    has_ties: bool
    z: float | None
    p_value: float
    method: str


@dataclass(frozen=True)
class ChangeCategories:
    """How many participants reliably improved, worsened or did not change."""

    threshold: float
    better: str
    n_improved: int
    n_worsened: int
    n_unchanged: int
    proportion_improved: float
    proportion_worsened: float
    proportion_unchanged: float


@dataclass(frozen=True)
class BaselineComparison:
    """Baseline values of completers (with a follow-up) against non-completers (baseline only)."""

    n_completers: int
    n_noncompleters: int
    mean_completers: float | None
    mean_noncompleters: float | None
    sd_completers: float | None
    sd_noncompleters: float | None
    difference: Estimate | None  # completers − non-completers, Welch t interval and p
    t_statistic: float | None
    df: float | None


@dataclass(frozen=True)
class PrePostResult:
    """Paired before/after comparison of one continuous measure."""

    measure: str | None
    before: str
    after: str
    n_pairs: int
    n_baseline: int
    n_missing_followup: int
    n_missing_baseline: int
    n_missing_values_dropped: int
    mean_before: float | None
    mean_after: float | None
    sd_before: float | None
    sd_after: float | None
    sd_difference: float | None
    mean_difference: Estimate | None  # after − before, t interval, paired-t p
    t_statistic: float | None
    t_df: int | None
    t_p_value: float | None
    wilcoxon: WilcoxonResult | None
    cohens_dz: Estimate | None
    hedges_gav: Estimate | None
    change: ChangeCategories | None
    baseline_comparison: BaselineComparison | None
    warnings: tuple[str, ...]
    methods: str


@dataclass(frozen=True)
class CountPrePostResult:
    """Per-person event counts before and after (for example A&E attendances in the six months either side)."""

    measure: str | None
    before: str
    after: str
    n_pairs: int
    n_baseline: int
    n_missing_followup: int
    n_missing_baseline: int
    n_missing_values_dropped: int
    total_before: float
    total_after: float
    mean_before: float | None
    mean_after: float | None
    rate_ratio: Estimate | None  # after / before; se on the log scale
    mean_difference: Estimate | None  # events per person, after − before, t interval
    wilcoxon: WilcoxonResult | None
    warnings: tuple[str, ...]
    methods: str


@dataclass(frozen=True)
class McNemarResult:
    """Paired binary outcome (1 = present) before and after."""

    measure: str | None
    before: str
    after: str
    n_pairs: int
    n_baseline: int
    n_missing_followup: int
    n_missing_baseline: int
    n_missing_values_dropped: int
    table: pd.DataFrame  # first column: the before value 1/0; then counts with after = 1 and after = 0
    n_positive_to_negative: int  # 1 before, 0 after
    n_negative_to_positive: int  # 0 before, 1 after
    proportion_before: float | None
    proportion_after: float | None
    difference: Estimate | None  # proportion after − before, Wald interval
    chi_square: float | None
    chi_square_p_value: float | None
    exact_p_value: float | None
    p_value: float | None
    test_used: str | None
    odds_ratio: Estimate | None  # discordant pairs: (0→1) / (1→0), exact conditional interval
    warnings: tuple[str, ...]
    methods: str


# --------------------------------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class _Pairs:
    frame: pd.DataFrame  # key columns, before, after (complete pairs only)
    baseline_only: np.ndarray  # baseline values of participants without a follow-up
    key_columns: tuple[str, ...]
    n_baseline: int
    n_missing_followup: int
    n_missing_baseline: int
    n_dropped: int
    measure: str | None
    warnings: tuple[str, ...]


def _key_columns(data: pd.DataFrame, id_col: str) -> list[str]:
    """Participant identity: the id within its project and site (pseudonymised ids may repeat across sites)."""
    return [c for c in ("project", "site") if c in data.columns and c != id_col] + [id_col]


def _describe_key(row, key_columns) -> str:
    values = [str(row[c]) for c in key_columns]
    if len(values) == 1:
        return f"participant '{values[0]}'"
    return f"participant '{values[-1]}' (" + ", ".join(f"{c} {v}" for c, v in zip(key_columns[:-1], values[:-1], strict=True)) + ")"


def _person_codes(frame: pd.DataFrame, key_columns: list[str]) -> np.ndarray:
    """A number per row for its participant, numbered in the sorted order of their key values (as a pivot
    on the key columns orders them)."""
    codes = np.zeros(len(frame), dtype=np.int64)
    for column in key_columns:
        column_codes, uniques = pd.factorize(frame[column], sort=True)
        codes = codes * len(uniques) + column_codes
    return np.unique(codes, return_inverse=True)[1].reshape(-1)


def _pair(
    data: pd.DataFrame,
    *,
    measure: str | None,
    before: str,
    after: str,
    id_col: str,
    value_col: str,
    timepoint_col: str = "timepoint",
) -> _Pairs:
    """Select one measure, check one value per participant and timepoint, and pair before with after."""
    missing_cols = [c for c in (id_col, value_col, timepoint_col) if c not in data.columns]
    if missing_cols:
        raise AnalysisError(
            f"the data has no column(s) {', '.join(missing_cols)}; columns present: {', '.join(map(str, data.columns))}"
        )
    frame = data
    if measure is not None:
        if "measure" not in frame.columns:
            raise AnalysisError(f"measure '{measure}' was requested but the data has no 'measure' column")
        frame = frame[frame["measure"] == measure]
        if frame.empty:
            known = ", ".join(sorted(map(str, data["measure"].dropna().unique())))
            raise AnalysisError(f"no rows for measure '{measure}'; measures present: {known}")
    elif "measure" in frame.columns:
        measures = frame["measure"].dropna().unique()
        if len(measures) > 1:
            raise AnalysisError(
                "the data holds several measures (" + ", ".join(sorted(map(str, measures))) + "); choose one with measure="
            )
        if len(measures) == 1:
            measure = str(measures[0])

    timepoints = frame[timepoint_col].astype(str)
    for label in (before, after):
        if not (timepoints == label).any():
            present = ", ".join(sorted(timepoints.unique()))
            raise AnalysisError(f"no rows with {timepoint_col} '{label}'; timepoints present: {present}")
    frame = frame[timepoints.isin([before, after])]

    key_columns = _key_columns(frame, id_col)
    no_id = frame[key_columns].isna().any(axis=1)
    if no_id.any():
        raise AnalysisError(
            f"{int(no_id.sum())} row(s) have no {' / '.join(key_columns)}; every row needs to say whose value it is"
        )
    raw = frame[value_col]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        first = frame[bad].iloc[0]
        raise AnalysisError(
            f"{value_col} '{first[value_col]}' of {_describe_key(first, key_columns)} is not a number"
        )
    frame = frame.assign(_value=values.astype(float), _timepoint=frame[timepoint_col].astype(str))
    warnings: list[str] = []
    n_dropped = int(frame["_value"].isna().sum())
    if n_dropped:
        warnings.append(f"{n_dropped} row(s) with a missing {value_col} were left out.")
        frame = frame[frame["_value"].notna()]

    person = _person_codes(frame, key_columns)
    is_after = (frame["_timepoint"] == after).to_numpy()
    slot = person * 2 + is_after
    if len(np.unique(slot)) < len(slot):
        duplicated = frame.duplicated(subset=[*key_columns, "_timepoint"], keep=False)
        first = frame[duplicated].iloc[0]
        raise AnalysisError(
            f"{_describe_key(first, key_columns)} has more than one '{first['_timepoint']}' value"
            + (f" for measure '{measure}'" if measure else "")
            + "; keep one row per participant and timepoint"
        )

    people = int(person.max()) + 1 if len(person) else 0
    wide = np.full((people, 2), np.nan)
    wide[person, is_after.astype(int)] = frame["_value"].to_numpy(dtype=float)
    has_before, has_after = ~np.isnan(wide[:, 0]), ~np.isnan(wide[:, 1])
    example = np.zeros(people, dtype=int)
    example[person] = np.arange(len(person))
    both = has_before & has_after
    complete = frame[key_columns].iloc[example[both]].reset_index(drop=True)
    complete = complete.assign(before=wide[both, 0], after=wide[both, 1])
    return _Pairs(
        frame=complete,
        baseline_only=wide[has_before & ~has_after, 0],
        key_columns=tuple(key_columns),
        n_baseline=int(has_before.sum()),
        n_missing_followup=int((has_before & ~has_after).sum()),
        n_missing_baseline=int((~has_before & has_after).sum()),
        n_dropped=n_dropped,
        measure=measure,
        warnings=tuple(warnings),
    )


def _size_warnings(n_pairs: int, pairs: _Pairs, before: str, after: str) -> list[str]:
    warnings = list(pairs.warnings)
    if n_pairs < MIN_PAIRS:
        warnings.append(
            f"Only {n_pairs} participant(s) have both a '{before}' and a '{after}' value; at least {MIN_PAIRS} are needed, so no estimate is given."
        )
    elif n_pairs < LOW_PRECISION_PAIRS:
        warnings.append(
            f"Only {n_pairs} complete pairs: estimates are imprecise and the intervals wide; read them with care."
        )
    if pairs.n_missing_followup:
        share = pairs.n_missing_followup / pairs.n_baseline
        warnings.append(
            f"{pairs.n_missing_followup} of {pairs.n_baseline} participants with a baseline value "
            f"({share:.0%}) have no follow-up and are not in the paired analysis."
        )
    return warnings


# ------------------------------------------------------------------------------------------ statistics


def signed_rank_test(differences: np.ndarray) -> WilcoxonResult | None:
    """Wilcoxon signed-rank test with R's conventions (``wilcox.test``, default arguments).

    V is the sum of ranks of positive differences; zeros are dropped and tied |differences| share mid-ranks.
    With fewer than 50 non-zero differences and no ties or zeros the exact null distribution is used,
    otherwise the normal approximation with continuity correction and tie-corrected variance
    (Hollander, Wolfe & Chicken 2014, Nonparametric Statistical Methods, ch. 3).
    Differences are compared at 10 significant digits so floating-point noise does not hide ties or zeros.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    rounded = np.array([float(f"{x:.10g}") for x in d])
    nonzero = rounded[rounded != 0]
    n_zero = int(len(rounded) - len(nonzero))
    n = len(nonzero)
    if n == 0:
        return None
    ranks = stats.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    _, tie_counts = np.unique(np.abs(nonzero), return_counts=True)
    has_ties = bool((tie_counts > 1).any())
    if n < EXACT_WILCOXON_BELOW and not has_ties and n_zero == 0:
        counts = _signed_rank_distribution(n)
        total = counts.sum()
        v_int = int(round(v))
        if v > n * (n + 1) / 4:
            tail = counts[v_int:].sum() / total
        else:
            tail = counts[: v_int + 1].sum() / total
        return WilcoxonResult(v, n, n_zero, has_ties, None, float(min(1.0, 2 * tail)), "exact")
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - float((tie_counts**3 - tie_counts).sum()) / 48
    if variance <= 0:
        return WilcoxonResult(v, n, n_zero, has_ties, None, float("nan"), "not computable (zero variance)")
    centred = v - mean
    z = (centred - 0.5 * np.sign(centred)) / math.sqrt(variance)
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return WilcoxonResult(
        v, n, n_zero, has_ties, float(z), float(min(1.0, p)), "normal approximation with continuity correction"
    )


def _signed_rank_distribution(n: int) -> np.ndarray:
    """Number of subsets of {1..n} with each rank sum 0..n(n+1)/2: the exact null distribution of V."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for k in range(1, n + 1):
        shifted = np.zeros_like(counts)
        shifted[k:] = counts[:-k]
        counts = counts + shifted
    return counts


def _noncentral_t_limits(t_obs: float, df: float, conf_level: float) -> tuple[float, float]:
    """Confidence limits for the noncentrality parameter of a t statistic by pivoting the noncentral t cdf
    (Steiger & Fouladi 1997; Cumming & Finch 2001)."""
    alpha = 1 - conf_level
    spread = 3 * float(stats.norm.ppf(1 - alpha / 2)) * math.sqrt(1 + t_obs**2 / (2 * df)) + 1

    def cdf(ncp: float) -> float:
        value = float(stats.nct.cdf(t_obs, df, ncp))
        if math.isnan(value):  # scipy returns NaN far in the tails
            return 0.0 if ncp > t_obs else 1.0
        return value

    def limit(target: float) -> float:
        lo, hi = t_obs - spread, t_obs + spread
        while cdf(lo) < target:
            lo -= spread
        while cdf(hi) > target:
            hi += spread
        return float(optimize.brentq(lambda ncp: cdf(ncp) - target, lo, hi, xtol=1e-12))

    return limit(1 - alpha / 2), limit(alpha / 2)


def _hedges_correction(df: float) -> float:
    """Exact small-sample bias correction J(df) = Γ(df/2) / (√(df/2) Γ((df−1)/2)) (Hedges 1981)."""
    return float(math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2))


def _t_interval(mean: float, se: float, df: float, conf_level: float) -> tuple[float, float]:
    q = float(stats.t.ppf(0.5 + conf_level / 2, df))
    return mean - q * se, mean + q * se


def _change_categories(diff: np.ndarray, threshold: float | None, better: str) -> ChangeCategories:
    """Improved / worsened / unchanged: a change of at least ``threshold`` in the better / worse direction
    (Jacobson & Truax 1991's reliable change, with the threshold in score units)."""
    signed = -diff if better == "lower" else diff
    limit = 0.0 if threshold is None else float(threshold)
    rounded = np.array([float(f"{x:.10g}") for x in signed])
    if limit == 0:
        improved, worsened = rounded > 0, rounded < 0
    else:
        improved, worsened = rounded >= limit, rounded <= -limit
    n = len(diff)
    n_improved, n_worsened = int(improved.sum()), int(worsened.sum())
    n_unchanged = n - n_improved - n_worsened
    return ChangeCategories(
        threshold=limit,
        better=better,
        n_improved=n_improved,
        n_worsened=n_worsened,
        n_unchanged=n_unchanged,
        proportion_improved=n_improved / n,
        proportion_worsened=n_worsened / n,
        proportion_unchanged=n_unchanged / n,
    )


def _baseline_comparison(completers: np.ndarray, noncompleters: np.ndarray, conf_level: float) -> BaselineComparison:
    """Welch's t comparison of baseline values, completers − non-completers (Welch 1947)."""
    n1, n2 = len(completers), len(noncompleters)
    m1 = float(completers.mean()) if n1 else None
    m2 = float(noncompleters.mean()) if n2 else None
    s1 = float(completers.std(ddof=1)) if n1 > 1 else None
    s2 = float(noncompleters.std(ddof=1)) if n2 > 1 else None
    difference = t_stat = df = None
    if n1 >= 2 and n2 >= 2:
        v1, v2 = s1**2 / n1, s2**2 / n2
        se = math.sqrt(v1 + v2)
        if se > 0:
            df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
            t_stat = (m1 - m2) / se
            p = float(2 * stats.t.sf(abs(t_stat), df))
            low, high = _t_interval(m1 - m2, se, df, conf_level)
            difference = Estimate(m1 - m2, low, high, p, "difference", conf_level, se)
    return BaselineComparison(n1, n2, m1, m2, s1, s2, difference, t_stat, df)


def _check_options(better: str, conf_level: float, reliable_change: float | None = None) -> None:
    if better not in ("lower", "higher"):
        raise AnalysisError(f"better must be 'lower' or 'higher', not '{better}'")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, not {conf_level}")
    if reliable_change is not None and not (np.isfinite(reliable_change) and reliable_change >= 0):
        raise AnalysisError(f"reliable_change must be a non-negative number of score units, not {reliable_change}")


# ------------------------------------------------------------------------------------------- analyses


def paired_prepost(
    data: pd.DataFrame,
    *,
    measure: str | None = None,
    before: str = "baseline",
    after: str = "follow-up",
    id_col: str = "participant_id",
    value_col: str = "value",
    reliable_change: float | None = None,
    better: str = "lower",
    conf_level: float = 0.95,
    timepoint_col: str = "timepoint",
) -> PrePostResult:
    """Paired mean difference (after − before) with t interval, paired t, Wilcoxon signed-rank, standardised
    effect sizes, reliable-change categories and a completers vs non-completers baseline comparison."""
    _check_options(better, conf_level, reliable_change)
    pairs = _pair(
        data, measure=measure, before=before, after=after, id_col=id_col, value_col=value_col,
        timepoint_col=timepoint_col,
    )
    x0 = pairs.frame["before"].to_numpy(dtype=float)
    x1 = pairs.frame["after"].to_numpy(dtype=float)
    diff = x1 - x0
    n = len(diff)
    warnings = _size_warnings(n, pairs, before, after)
    baseline = _baseline_comparison(x0, pairs.baseline_only, conf_level) if pairs.n_missing_followup else None

    empty = dict(
        measure=pairs.measure, before=before, after=after, n_pairs=n, n_baseline=pairs.n_baseline,
        n_missing_followup=pairs.n_missing_followup, n_missing_baseline=pairs.n_missing_baseline,
        n_missing_values_dropped=pairs.n_dropped,
    )
    if n < MIN_PAIRS:
        return PrePostResult(
            **empty, mean_before=None, mean_after=None, sd_before=None, sd_after=None, sd_difference=None,
            mean_difference=None, t_statistic=None, t_df=None, t_p_value=None, wilcoxon=None, cohens_dz=None,
            hedges_gav=None, change=None, baseline_comparison=baseline, warnings=tuple(warnings),
            methods=_prepost_methods(conf_level, reliable_change, better, before, after),
        )

    mean_diff = float(diff.mean())
    sd_diff = float(diff.std(ddof=1))
    sd0, sd1 = float(x0.std(ddof=1)), float(x1.std(ddof=1))
    df = n - 1
    if _all_equal(diff):
        warnings.append(
            f"Every participant changed by exactly the same amount ({mean_diff:g}), so the differences have "
            "no spread: no confidence interval, t test or standardised effect size can be given."
        )
        mean_difference = cohens_dz = hedges_gav = None
        t_stat = t_p = None
        t_df = None
    else:
        se = sd_diff / math.sqrt(n)
        t_stat = mean_diff / se
        t_p = float(2 * stats.t.sf(abs(t_stat), df))
        t_df = df
        low, high = _t_interval(mean_diff, se, df, conf_level)
        mean_difference = Estimate(mean_diff, low, high, t_p, "difference", conf_level, se)
        ncp_low, ncp_high = _noncentral_t_limits(t_stat, df, conf_level)
        cohens_dz = Estimate(
            mean_diff / sd_diff, ncp_low / math.sqrt(n), ncp_high / math.sqrt(n), t_p, "difference", conf_level
        )
        sd_av = (sd0 + sd1) / 2
        if sd_av > 0:
            j = _hedges_correction(df)
            scale = sd_diff / (math.sqrt(n) * sd_av)
            hedges_gav = Estimate(
                j * mean_diff / sd_av, j * ncp_low * scale, j * ncp_high * scale, t_p, "difference", conf_level
            )
        else:
            hedges_gav = None
            warnings.append("Before and after values have no spread, so Hedges' g_av cannot be given.")

    return PrePostResult(
        **empty,
        mean_before=float(x0.mean()),
        mean_after=float(x1.mean()),
        sd_before=sd0,
        sd_after=sd1,
        sd_difference=sd_diff,
        mean_difference=mean_difference,
        t_statistic=None if t_stat is None else float(t_stat),
        t_df=t_df,
        t_p_value=t_p,
        wilcoxon=signed_rank_test(diff),
        cohens_dz=cohens_dz,
        hedges_gav=hedges_gav,
        change=_change_categories(diff, reliable_change, better),
        baseline_comparison=baseline,
        warnings=tuple(warnings),
        methods=_prepost_methods(conf_level, reliable_change, better, before, after),
    )


def _all_equal(values: np.ndarray) -> bool:
    return bool(np.allclose(values, values[0], rtol=1e-12, atol=1e-12))


def _prepost_methods(conf_level, reliable_change, better, before, after) -> str:
    pct = f"{conf_level:.0%}"
    change = (
        f"A participant counts as improved when the score moved by at least {reliable_change:g} in the better "
        f"direction ({better} is better) and as worsened when it moved as far the other way (reliable change, "
        "Jacobson & Truax 1991)."
        if reliable_change
        else f"Improved / worsened means any change in the better / worse direction ({better} is better); "
        "no reliable-change threshold was set."
    )
    return (
        f"Each participant's '{after}' value was paired with their '{before}' value; only complete pairs enter "
        f"the paired analysis. The mean difference ({after} − {before}) has a {pct} t confidence interval and "
        "a paired t test (Student 1908). The Wilcoxon signed-rank test reports V, the sum of the ranks of the "
        "positive differences, as R's wilcox.test does: zero differences are dropped, ties share mid-ranks, and "
        "the p-value is exact for fewer than 50 differences without ties or zeros and otherwise uses the normal "
        "approximation with continuity correction and tie-corrected variance (Hollander, Wolfe & Chicken 2014). "
        "Cohen's d_z is the mean difference over the SD of the differences; Hedges' g_av is the mean difference "
        "over the average of the before and after SDs, with Hedges' (1981) small-sample correction (Lakens 2013). "
        f"Their {pct} intervals pivot the noncentral t distribution of the paired t statistic (Cumming & Finch "
        "2001); for g_av the limits are rescaled by SD(difference)/SD_av, the approximation of Algina & "
        "Keselman (2003) (see Goulet-Pelletier & Cousineau 2018). "
        + change
        + " Completers' baseline values are compared with those of participants without a follow-up by "
        "Welch's t test, to show whether drop-out may bias the paired result."
    )


def _count_values(pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
    before = pairs.frame["before"].to_numpy(dtype=float)
    after = pairs.frame["after"].to_numpy(dtype=float)
    both = np.concatenate([before, after, pairs.baseline_only])
    if (both < 0).any() or not np.allclose(both, np.round(both)):
        raise AnalysisError(
            "count analysis needs whole numbers of events (0, 1, 2, ...); the values include negative or "
            "fractional numbers — use the paired mean analysis for scores"
        )
    return before, after


def count_prepost(
    data: pd.DataFrame,
    *,
    measure: str | None = None,
    before: str = "baseline",
    after: str = "follow-up",
    id_col: str = "participant_id",
    value_col: str = "value",
    conf_level: float = 0.95,
    timepoint_col: str = "timepoint",
) -> CountPrePostResult:
    """Rate ratio of per-person event counts after vs before over equal-length windows (ratio of totals).

    The interval uses the delta-method variance of the log ratio of paired means, which keeps each
    person's before/after correlation and any overdispersion (Cochran 1977, ratio estimator; the same as a
    Poisson GEE with person clusters and a robust sandwich SE, Zeger & Liang 1986, up to the factor
    n/(n − 1)), with a t quantile on n − 1 df.
    """
    _check_options("lower", conf_level)
    pairs = _pair(
        data, measure=measure, before=before, after=after, id_col=id_col, value_col=value_col,
        timepoint_col=timepoint_col,
    )
    x0, x1 = _count_values(pairs)
    n = len(x0)
    warnings = _size_warnings(n, pairs, before, after)
    total0, total1 = float(x0.sum()), float(x1.sum())
    rate_ratio = mean_difference = wilcoxon = None
    if n >= MIN_PAIRS:
        wilcoxon = signed_rank_test(x1 - x0)
        diff = x1 - x0
        if _all_equal(diff):
            warnings.append(
                f"Every participant's count changed by exactly {diff[0]:g}: no interval for the mean difference."
            )
        else:
            se = float(diff.std(ddof=1)) / math.sqrt(n)
            t_stat = diff.mean() / se
            low, high = _t_interval(float(diff.mean()), se, n - 1, conf_level)
            mean_difference = Estimate(
                float(diff.mean()), low, high, float(2 * stats.t.sf(abs(t_stat), n - 1)), "difference",
                conf_level, se,
            )
        if total0 == 0:
            warnings.append(
                f"No participant had any events in the '{before}' period, so no rate ratio can be given."
            )
        elif total1 == 0:
            warnings.append(
                f"No participant had any events in the '{after}' period: the ratio is 0 and has no interval "
                "on the log scale, so none is given."
            )
        else:
            m0, m1 = x0.mean(), x1.mean()
            cov = np.cov(np.vstack([x1, x0]), ddof=1)
            var_log = (cov[0, 0] / m1**2 + cov[1, 1] / m0**2 - 2 * cov[0, 1] / (m0 * m1)) / n
            ratio = total1 / total0
            if var_log <= 1e-15:
                warnings.append(
                    "Every participant's after/before ratio is identical, so the rate ratio has no spread "
                    "and no interval."
                )
            else:
                se_log = math.sqrt(var_log)
                z = math.log(ratio) / se_log
                q = stats.t.ppf(0.5 + conf_level / 2, n - 1)
                rate_ratio = Estimate(
                    ratio,
                    math.exp(math.log(ratio) - q * se_log),
                    math.exp(math.log(ratio) + q * se_log),
                    float(2 * stats.t.sf(abs(z), n - 1)),
                    "ratio",
                    conf_level,
                    se_log,
                )
    pct = f"{conf_level:.0%}"
    methods = (
        f"Events per person in the '{before}' and '{after}' windows (assumed equal in length) for participants "
        f"with both. The rate ratio is total events {after} over total events {before}. Its {pct} interval "
        "uses the delta-method variance of the log ratio of the two paired means, with each person as a "
        "cluster so that the correlation between a person's two counts and any overdispersion are respected "
        "(Cochran 1977; equivalent to a Poisson GEE with a robust sandwich SE, Zeger & Liang 1986), and a t "
        "quantile on n − 1 degrees of freedom. The mean difference in events per person has a t interval; the "
        "Wilcoxon signed-rank test follows R's wilcox.test conventions (Hollander, Wolfe & Chicken 2014)."
    )
    return CountPrePostResult(
        measure=pairs.measure, before=before, after=after, n_pairs=n, n_baseline=pairs.n_baseline,
        n_missing_followup=pairs.n_missing_followup, n_missing_baseline=pairs.n_missing_baseline,
        n_missing_values_dropped=pairs.n_dropped, total_before=total0, total_after=total1,
        mean_before=float(x0.mean()) if n else None, mean_after=float(x1.mean()) if n else None,
        rate_ratio=rate_ratio, mean_difference=mean_difference, wilcoxon=wilcoxon,
        warnings=tuple(warnings), methods=methods,
    )


def mcnemar_prepost(
    data: pd.DataFrame,
    *,
    measure: str | None = None,
    before: str = "baseline",
    after: str = "follow-up",
    id_col: str = "participant_id",
    value_col: str = "value",
    conf_level: float = 0.95,
    timepoint_col: str = "timepoint",
) -> McNemarResult:
    """McNemar's test for a paired binary outcome (McNemar 1947), exact binomial p with few discordant pairs,
    and the conditional odds ratio of the discordant pairs with an exact (Clopper–Pearson based) interval."""
    _check_options("lower", conf_level)
    pairs = _pair(
        data, measure=measure, before=before, after=after, id_col=id_col, value_col=value_col,
        timepoint_col=timepoint_col,
    )
    x0 = pairs.frame["before"].to_numpy(dtype=float)
    x1 = pairs.frame["after"].to_numpy(dtype=float)
    observed = np.concatenate([x0, x1, pairs.baseline_only])
    if not np.isin(observed, (0.0, 1.0)).all():
        odd = sorted({float(v) for v in observed if v not in (0.0, 1.0)})[:5]
        raise AnalysisError(
            "McNemar's test needs binary values coded 0 (absent) and 1 (present); found "
            + ", ".join(f"{v:g}" for v in odd)
        )
    n = len(x0)
    warnings = _size_warnings(n, pairs, before, after)
    a = int(((x0 == 1) & (x1 == 1)).sum())
    b = int(((x0 == 1) & (x1 == 0)).sum())
    c = int(((x0 == 0) & (x1 == 1)).sum())
    d = int(((x0 == 0) & (x1 == 0)).sum())
    table = pd.DataFrame({before: [1, 0], f"{after} = 1": [a, c], f"{after} = 0": [b, d]})
    discordant = b + c
    chi2 = chi2_p = exact_p = p = test_used = None
    odds_ratio = difference = None
    p_before = p_after = None
    if n >= MIN_PAIRS:
        p_before, p_after = (a + b) / n, (a + c) / n
        diff = (c - b) / n
        se = math.sqrt(max(discordant - (c - b) ** 2 / n, 0.0)) / n
        if discordant == 0:
            warnings.append(
                "No participant changed status, so McNemar's test and the odds ratio cannot be computed."
            )
        else:
            chi2 = (abs(b - c) - 1) ** 2 / discordant
            chi2_p = float(stats.chi2.sf(chi2, 1))
            exact_p = float(min(1.0, 2 * stats.binom.cdf(min(b, c), discordant, 0.5)))
            if discordant < EXACT_MCNEMAR_BELOW:
                p, test_used = exact_p, "exact binomial"
            else:
                p, test_used = chi2_p, "chi-square with continuity correction"
            if se > 0:
                z = stats.norm.ppf(0.5 + conf_level / 2)
                difference = Estimate(diff, diff - z * se, diff + z * se, p, "difference", conf_level, se)
            if b == 0 or c == 0:
                warnings.append(
                    "All changes went one way, so the odds ratio of discordant pairs is 0 or infinite "
                    "and is not given."
                )
            else:
                alpha = 1 - conf_level
                lo_pi = stats.beta.ppf(alpha / 2, c, b + 1)
                hi_pi = stats.beta.ppf(1 - alpha / 2, c + 1, b)
                odds_ratio = Estimate(
                    c / b, lo_pi / (1 - lo_pi), hi_pi / (1 - hi_pi), p, "ratio", conf_level,
                    math.sqrt(1 / b + 1 / c),
                )
    pct = f"{conf_level:.0%}"
    methods = (
        f"Participants with a 0/1 value at both '{before}' and '{after}' form a 2×2 table. McNemar's test "
        "(McNemar 1947) compares the two kinds of change: chi-square with continuity correction, "
        "(|b − c| − 1)² / (b + c); when fewer than 25 participants changed, the exact two-sided binomial test "
        "of the discordant pairs is used instead (both are reported). The odds ratio of the discordant pairs, "
        f"(0→1) / (1→0), is the conditional odds of the outcome {after} vs {before}; its {pct} interval is "
        "exact, from the Clopper–Pearson interval for the share of discordant pairs that went 0→1 "
        "(Breslow & Day 1980). The difference in proportions has a Wald interval (Agresti 2013, 11.1)."
    )
    return McNemarResult(
        measure=pairs.measure, before=before, after=after, n_pairs=n, n_baseline=pairs.n_baseline,
        n_missing_followup=pairs.n_missing_followup, n_missing_baseline=pairs.n_missing_baseline,
        n_missing_values_dropped=pairs.n_dropped, table=table, n_positive_to_negative=b,
        n_negative_to_positive=c, proportion_before=p_before, proportion_after=p_after, difference=difference,
        chi_square=chi2, chi_square_p_value=chi2_p, exact_p_value=exact_p, p_value=p, test_used=test_used,
        odds_ratio=odds_ratio, warnings=tuple(warnings), methods=methods,
    )


# -------------------------------------------------------------------------------------- stratification


def stratified(
    func: Callable[..., object], data: pd.DataFrame, by: str, **kwargs
) -> dict[str, object]:
    """Run one of the analyses above separately for each value of a participant attribute.

    A participant belongs to the group recorded on their ``before`` row (the attribute at entry), or on any
    of their rows if the before row lacks it; participants with no value form the group "(not recorded)".
    """
    if by not in data.columns:
        raise AnalysisError(f"cannot stratify by '{by}': no such column; columns present: {', '.join(map(str, data.columns))}")
    id_col = kwargs.get("id_col", "participant_id")
    before = kwargs.get("before", "baseline")
    timepoint_col = kwargs.get("timepoint_col", "timepoint")
    if id_col not in data.columns:
        raise AnalysisError(f"the data has no column '{id_col}'")
    keys = _key_columns(data, id_col)
    recorded = data[data[by].notna()]
    if timepoint_col in recorded.columns:
        order = (recorded[timepoint_col].astype(str) != before).astype(int)
        recorded = recorded.assign(_order=order.to_numpy()).sort_values("_order", kind="stable")
    group_of = recorded.drop_duplicates(subset=keys)[[*keys, by]].rename(columns={by: "_group"})
    merged = data.merge(group_of, on=keys, how="left")
    merged["_group"] = merged["_group"].astype(object).where(merged["_group"].notna(), NOT_RECORDED).astype(str)
    results: dict[str, object] = {}
    for group in sorted(merged["_group"].unique(), key=lambda g: (g == NOT_RECORDED, g)):
        subset = merged[merged["_group"] == group].drop(columns="_group")
        results[group] = func(subset, **kwargs)
    return results


# ----------------------------------------------------------------------------------------------- tidy


_TIDY_COLUMNS = ["statistic", "value", "ci_low", "ci_high", "df", "p_value", "n", "method"]


def _row(statistic, value=None, ci_low=None, ci_high=None, df=None, p_value=None, n=None, method=""):
    return dict(statistic=statistic, value=value, ci_low=ci_low, ci_high=ci_high, df=df, p_value=p_value, n=n,
                method=method)


def _estimate_row(statistic, est: Estimate | None, n=None, df=None, method=""):
    if est is None:
        return _row(statistic, n=n, method=method)
    return _row(statistic, est.estimate, est.ci_low, est.ci_high, df, est.p_value, n, method)


def _wilcoxon_row(w: WilcoxonResult | None):
    if w is None:
        return _row("Wilcoxon signed-rank V")
    return _row("Wilcoxon signed-rank V", w.statistic, p_value=w.p_value, n=w.n_nonzero, method=w.method)


def _common_rows(r) -> list[dict]:
    return [
        _row("participants with baseline", r.n_baseline, n=r.n_baseline),
        _row("complete pairs", r.n_pairs, n=r.n_pairs),
        _row("missing follow-up", r.n_missing_followup, n=r.n_missing_followup),
        _row("missing baseline", r.n_missing_baseline, n=r.n_missing_baseline),
    ]


def tidy(result) -> pd.DataFrame:
    """One row per statistic (``statistic, value, ci_low, ci_high, df, p_value, n, method``) for tables and
    downloads; a dict from :func:`stratified` gives the rows of every group with a leading ``group`` column."""
    if isinstance(result, dict):
        frames = [tidy(r).assign(group=g) for g, r in result.items()]
        if not frames:
            return pd.DataFrame(columns=["group", *_TIDY_COLUMNS])
        frame = pd.concat(frames, ignore_index=True)
        return frame[["group", *_TIDY_COLUMNS]]
    if not isinstance(result, (PrePostResult, CountPrePostResult, McNemarResult)):
        raise TypeError(f"tidy() does not know {type(result).__name__}")
    rows = _common_rows(result)
    if isinstance(result, PrePostResult):
        n = result.n_pairs
        rows += [
            _row(f"mean {result.before}", result.mean_before, n=n),
            _row(f"mean {result.after}", result.mean_after, n=n),
            _estimate_row(f"mean difference ({result.after} − {result.before})", result.mean_difference, n,
                          result.t_df, "paired t interval"),
            _row("paired t", result.t_statistic, df=result.t_df, p_value=result.t_p_value, n=n,
                 method="Student's paired t test"),
            _wilcoxon_row(result.wilcoxon),
            _estimate_row("Cohen's d_z", result.cohens_dz, n, method="noncentral t interval"),
            _estimate_row("Hedges' g_av", result.hedges_gav, n,
                          method="noncentral t interval (Algina & Keselman approximation)"),
        ]
        if result.change is not None:
            ch = result.change
            rule = f"change of at least {ch.threshold:g}" if ch.threshold else "any change"
            rows += [
                _row("proportion improved", ch.proportion_improved, n=ch.n_improved, method=rule),
                _row("proportion worsened", ch.proportion_worsened, n=ch.n_worsened, method=rule),
                _row("proportion unchanged", ch.proportion_unchanged, n=ch.n_unchanged, method=rule),
            ]
        if result.baseline_comparison is not None:
            bc = result.baseline_comparison
            rows.append(
                _estimate_row("baseline difference, completers − non-completers", bc.difference,
                              bc.n_completers + bc.n_noncompleters, bc.df, "Welch t test")
            )
    elif isinstance(result, CountPrePostResult):
        n = result.n_pairs
        rows += [
            _row(f"total events {result.before}", result.total_before, n=n),
            _row(f"total events {result.after}", result.total_after, n=n),
            _row(f"mean per person {result.before}", result.mean_before, n=n),
            _row(f"mean per person {result.after}", result.mean_after, n=n),
            _estimate_row(f"rate ratio ({result.after} / {result.before})", result.rate_ratio, n,
                          n - 1 if result.rate_ratio else None, "ratio of totals, delta-method (cluster) SE"),
            _estimate_row("mean difference per person", result.mean_difference, n,
                          n - 1 if result.mean_difference else None, "paired t interval"),
            _wilcoxon_row(result.wilcoxon),
        ]
    else:
        n = result.n_pairs
        rows += [
            _row(f"proportion {result.before}", result.proportion_before, n=n),
            _row(f"proportion {result.after}", result.proportion_after, n=n),
            _estimate_row("difference in proportions", result.difference, n, method="Wald interval"),
            _row("McNemar chi-square", result.chi_square, df=1 if result.chi_square is not None else None,
                 p_value=result.chi_square_p_value, n=n, method="continuity corrected"),
            _row("McNemar exact p", None, p_value=result.exact_p_value, n=n, method="exact binomial"),
            _estimate_row("odds ratio of discordant pairs", result.odds_ratio, n, method="exact conditional"),
        ]
    return pd.DataFrame(rows, columns=_TIDY_COLUMNS)


__all__ = [
    "BaselineComparison",
    "ChangeCategories",
    "CountPrePostResult",
    "McNemarResult",
    "PrePostResult",
    "WilcoxonResult",
    "count_prepost",
    "mcnemar_prepost",
    "paired_prepost",
    "signed_rank_test",
    "stratified",
    "tidy",
]
