"""Placebo inference for mhin_eval.analysis.synth: the permutation p-value and the interval's standard error.

The p-value ranks the treated unit's post/pre RMSPE ratio among the donors treated in turn, the treated unit
shifted into their pools (Abadie, Diamond & Hainmueller 2010). The interval is the spread of the placebo effects (Arkhangelsky et al. 2021, Algorithm 4)
with two small-sample corrections, each published: see :func:`placebo_spread`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def placebo_p_value(treated_ratio: float, donor_ratios) -> float:
    """Share of units (treated included) whose post/pre RMSPE ratio is at least the treated unit's.

    Abadie, Diamond & Hainmueller (2010), section 2.4 and Figure 8: with J donors the smallest possible
    p-value is 1/(J+1).
    """
    ratios = np.asarray(list(donor_ratios), dtype=float)
    return float((1 + np.sum(ratios >= treated_ratio)) / (len(ratios) + 1))


@dataclass(frozen=True)
class PlaceboSpread:
    """The placebo standard errors and the t degrees of freedom of the interval (see :func:`placebo_spread`)."""

    se: float
    df: int
    algorithm4_se: float
    studentised: bool


def placebo_spread(estimates, pre_rmspes, treated_pre_rmspe: float, df: int) -> PlaceboSpread:
    """Standard error of the effect from placebo estimates, for an interval with a t(``df``) quantile.

    Algorithm 4 of Arkhangelsky et al. (2021) takes the spread of the placebo estimates as the treated
    estimate's standard error with a normal quantile; with a dozen donors that interval covers about 89-92%
    (tests/unit/test_synth_simulation.py), for two small-sample reasons, each met by a published remedy:

    - the spread is estimated from few placebos: a t quantile with (placebo groups - 1) degrees of freedom
      and the unbiased (n - 1) spread, as for inference with few groups (Donald & Lang 2007, "Inference
      with difference-in-differences and other panel data", Review of Economics and Statistics 89:221-233);
    - placebo units differ in how noisy their estimates are (a donor the others cannot reproduce has a
      wide placebo estimate, and so does a treated unit at the edge of the donors): each placebo estimate is
      divided by its own pre-period RMSPE and the spread of these ratios is scaled back by the treated
      unit's pre-period RMSPE. This adapts the heteroskedasticity correction of placebo inference of
      Ferman & Pinto (2019), "Inference in differences-in-differences with few treated groups and
      heteroskedasticity", Review of Economics and Statistics 101:452-467 (rescale each unit's placebo
      by an estimate of its own variance from pre-treatment residuals), taking the pre-period RMSPE as that
      estimate, the normalisation Abadie, Diamond & Hainmueller (2010) use for their placebo ranks.

    With 12 donors, 24 months either side, the interval covers 94-96% for SDID, SC and DiD in simulation
    (tests/unit/test_synth_simulation.py); Algorithm 4 with a normal quantile 90-92%.

    Where a pre-period RMSPE is zero (a perfect fit) the ratios are undefined and the unscaled spread is
    used (``studentised`` False). ``algorithm4_se`` is Algorithm 4 itself (divisor n), for comparison with
    published tables.
    """
    estimates = np.asarray(list(estimates), dtype=float)
    pre = np.asarray(list(pre_rmspes), dtype=float)
    n = len(estimates)
    algorithm4 = float(np.std(estimates, ddof=0))
    if n < 2:
        return PlaceboSpread(math.nan, max(df, 1), algorithm4, False)
    scale = max(float(np.max(np.abs(estimates))), float(np.max(pre, initial=0.0)), treated_pre_rmspe, 1.0)
    tiny = 1e-9 * scale
    if treated_pre_rmspe > tiny and np.all(pre > tiny):
        se = treated_pre_rmspe * float(np.std(estimates / pre, ddof=1))
        return PlaceboSpread(se, max(df, 1), algorithm4, True)
    return PlaceboSpread(float(np.std(estimates, ddof=1)), max(df, 1), algorithm4, False)


def interval(estimate: float, spread: PlaceboSpread, conf_level: float = 0.95) -> tuple[float, float]:
    """estimate -/+ t(df) quantile x se (NaN where there is no placebo spread)."""
    if not math.isfinite(spread.se):
        return math.nan, math.nan
    q = float(stats.t.ppf(0.5 + conf_level / 2, spread.df))
    return estimate - q * spread.se, estimate + q * spread.se
