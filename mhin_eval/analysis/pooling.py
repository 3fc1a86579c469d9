"""Pooling one estimate per site: fixed-effect and random-effects meta-analysis with heterogeneity.

Sites' estimates are pooled on their model scale (log for ratios) with inverse-variance weights, and
shown back on the scale users read. Used for the forest plot and the across-site summaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mhin_eval.analysis.results import AnalysisError, Estimate

METHODS = ("DL", "PM", "REML", "FE")
METHOD_NAMES = {
    "DL": "DerSimonian–Laird random effects",
    "PM": "Paule–Mandel random effects",
    "REML": "REML random effects",
    "FE": "fixed effect (inverse variance)",
}
SCALES = ("difference", "ratio")


@dataclass(frozen=True)
class SiteEstimate:
    """One site's estimate on the model scale (the log ratio when ``scale == "ratio"``) with its SE."""

    label: str
    estimate: float
    se: float
    scale: str = "difference"


def from_estimate(label: str, estimate: Estimate) -> SiteEstimate:
    """A site's entry from an analysis result: the model-scale estimate and SE it carries."""
    if estimate.scale not in SCALES:
        raise AnalysisError(f"{label}: cannot pool estimates on the '{estimate.scale}' scale; use difference or ratio")
    if estimate.se is None:
        raise AnalysisError(f"{label}: the estimate carries no standard error, so it cannot be pooled")
    value, se = estimate.model_scale
    return SiteEstimate(str(label), float(value), float(se), estimate.scale)


def from_ci(
    label: str, estimate: float, ci_low: float, ci_high: float, scale: str = "difference", conf_level: float = 0.95
) -> SiteEstimate:
    """A site's entry from a published estimate and its symmetric (on the model scale) Wald interval."""
    if scale not in SCALES:
        raise AnalysisError(f"scale must be one of {', '.join(SCALES)}, not '{scale}'")
    if scale == "ratio":
        if min(estimate, ci_low, ci_high) <= 0:
            raise AnalysisError(f"{label}: a ratio and its interval must be positive")
        estimate, ci_low, ci_high = math.log(estimate), math.log(ci_low), math.log(ci_high)
    if not ci_low < ci_high:
        raise AnalysisError(f"{label}: the lower limit {ci_low} is not below the upper limit {ci_high}")
    z = stats.norm.ppf(0.5 + conf_level / 2)
    return SiteEstimate(str(label), float(estimate), float((ci_high - ci_low) / (2 * z)), scale)


def from_two_by_two(
    label: str, events_1: float, n_1: float, events_0: float, n_0: float, measure: str = "RR"
) -> SiteEstimate:
    """Log risk ratio or log odds ratio of group 1 vs group 0 with its large-sample variance
    (RR: 1/a − 1/n1 + 1/c − 1/n0; OR: 1/a + 1/b + 1/c + 1/d). A table with a zero cell gets 0.5 added
    to every cell, as metafor's ``escalc`` does by default."""
    a, b, c, d = float(events_1), float(n_1 - events_1), float(events_0), float(n_0 - events_0)
    if min(a, b, c, d) < 0:
        raise AnalysisError(f"{label}: events cannot exceed the group size or be negative")
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    if measure == "RR":
        n1, n0 = a + b, c + d
        value = math.log((a / n1) / (c / n0))
        variance = 1 / a - 1 / n1 + 1 / c - 1 / n0
    elif measure == "OR":
        value = math.log((a * d) / (b * c))
        variance = 1 / a + 1 / b + 1 / c + 1 / d
    else:
        raise AnalysisError(f"measure must be 'RR' or 'OR', not '{measure}'")
    return SiteEstimate(str(label), value, math.sqrt(variance), "ratio")


@dataclass(frozen=True)
class PoolingResult:
    """Pooled estimate across sites with heterogeneity statistics and per-site weights.

    ``pooled`` and ``fixed`` are on the reader's scale (ratios back-transformed; their ``se`` is on the model
    scale); ``pooled_model`` and ``fixed_model`` are on the model scale (log ratio for ratios).
    """

    method: str
    k: int
    scale: str
    conf_level: float
    pooled: Estimate | None
    pooled_model: Estimate | None
    fixed: Estimate | None
    fixed_model: Estimate | None
    tau2: float | None
    tau: float | None
    q: float | None
    q_df: int | None
    q_p_value: float | None
    i2: float | None  # percent, as metafor reports it
    h2: float | None
    prediction_low: float | None
    prediction_high: float | None
    prediction_model_low: float | None
    prediction_model_high: float | None
    sites: pd.DataFrame  # label, estimate, ci_low, ci_high (reader's scale), model_estimate, se, weights (%)
    warnings: tuple[str, ...]
    methods: str


def _estimate_pair(mu: float, se: float, scale: str, conf_level: float) -> tuple[Estimate, Estimate]:
    z = stats.norm.ppf(0.5 + conf_level / 2)
    low, high = mu - z * se, mu + z * se
    p = float(2 * stats.norm.sf(abs(mu / se)))
    model_scale = "log ratio" if scale == "ratio" else "difference"
    model = Estimate(float(mu), float(low), float(high), p, model_scale, conf_level, float(se))
    if scale == "ratio":
        reader = Estimate(math.exp(mu), math.exp(low), math.exp(high), p, "ratio", conf_level, float(se))
    else:
        reader = model
    return reader, model


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * y) / np.sum(w))


def tau2_dersimonian_laird(y: np.ndarray, v: np.ndarray) -> float:
    """Method-of-moments τ² = max(0, (Q − (k − 1)) / (Σw − Σw²/Σw)) (DerSimonian & Laird 1986)."""
    w = 1 / v
    q = float(np.sum(w * (y - _weighted_mean(y, w)) ** 2))
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / c)


def tau2_paule_mandel(y: np.ndarray, v: np.ndarray) -> float:
    """τ² solving the generalised Q equation Σ (y − μ̂)² / (v + τ²) = k − 1 (Paule & Mandel 1982)."""

    def excess(tau2: float) -> float:
        w = 1 / (v + tau2)
        return float(np.sum(w * (y - _weighted_mean(y, w)) ** 2)) - (len(y) - 1)

    if excess(0.0) <= 0:
        return 0.0
    upper = max(float(np.var(y, ddof=1)), float(np.max(v)), 1e-8)
    while excess(upper) > 0:
        upper *= 2
    return float(optimize.brentq(excess, 0.0, upper, xtol=1e-14, rtol=1e-12))


def tau2_reml(y: np.ndarray, v: np.ndarray, tol: float = 1e-12, max_iter: int = 10_000) -> tuple[float, bool]:
    """Restricted maximum likelihood τ² by the fixed-point iteration
    τ² = Σw²((y − μ̂)² − v) / Σw² + 1/Σw, truncated at 0 (Viechtbauer 2005). Returns (τ², converged)."""
    tau2 = tau2_dersimonian_laird(y, v)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        mu = _weighted_mean(y, w)
        new = max(0.0, float(np.sum(w**2 * ((y - mu) ** 2 - v)) / np.sum(w**2) + 1 / np.sum(w)))
        if abs(new - tau2) < tol * max(1.0, tau2):
            return new, True
        tau2 = new
    return tau2, False


def pool(
    estimates: Sequence[SiteEstimate],
    method: str = "DL",
    conf_level: float = 0.95,
    prediction: bool = True,
) -> PoolingResult:
    """Fixed-effect and random-effects pooling of site estimates with Q, I², τ² and a prediction interval."""
    method = method.upper()
    if method not in METHODS:
        raise AnalysisError(f"method must be one of {', '.join(METHODS)}, not '{method}'")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, not {conf_level}")
    estimates = list(estimates)
    scales = {e.scale for e in estimates}
    if len(scales) > 1:
        raise AnalysisError(
            "all sites must be on the same scale to be pooled; found " + ", ".join(sorted(scales))
        )
    scale = scales.pop() if scales else "difference"
    if scale not in SCALES:
        raise AnalysisError(f"scale must be one of {', '.join(SCALES)}, not '{scale}'")
    for e in estimates:
        if not math.isfinite(e.estimate):
            raise AnalysisError(f"site '{e.label}': the estimate is not a finite number")
        if not (math.isfinite(e.se) and e.se > 0):
            raise AnalysisError(f"site '{e.label}': the standard error must be a positive number, not {e.se}")

    k = len(estimates)
    y = np.array([e.estimate for e in estimates], dtype=float)
    v = np.array([e.se for e in estimates], dtype=float) ** 2
    labels = [e.label for e in estimates]
    methods_text = _methods(method, conf_level, scale)
    warnings: list[str] = []
    if k < 2:
        warnings.append(
            f"Only {k} site estimate(s): pooling needs at least 2, so no pooled estimate is given."
        )
        return PoolingResult(
            method, k, scale, conf_level, None, None, None, None, None, None, None, None, None, None, None,
            None, None, None, None, _site_table(labels, y, v, scale, conf_level, None, None), tuple(warnings),
            methods_text,
        )
    if k == 2:
        warnings.append(
            "Only 2 sites: the between-site variance τ² is very imprecise, and so is the random-effects interval."
        )

    w_fixed = 1 / v
    mu_fixed = _weighted_mean(y, w_fixed)
    se_fixed = math.sqrt(1 / np.sum(w_fixed))
    q = float(np.sum(w_fixed * (y - mu_fixed) ** 2))
    q_df = k - 1
    q_p = float(stats.chi2.sf(q, q_df))
    fixed, fixed_model = _estimate_pair(mu_fixed, se_fixed, scale, conf_level)

    if method == "FE":
        tau2 = None
        i2 = max(0.0, (q - q_df) / q) * 100 if q > 0 else 0.0
        h2 = q / q_df
        pooled, pooled_model = fixed, fixed_model
        w_chosen = w_fixed
        pred = (None, None, None, None)
    else:
        if method == "DL":
            tau2 = tau2_dersimonian_laird(y, v)
        elif method == "PM":
            tau2 = tau2_paule_mandel(y, v)
        else:
            tau2, converged = tau2_reml(y, v)
            if not converged:
                warnings.append("The REML estimate of τ² did not converge; prefer DerSimonian–Laird here.")
        w_chosen = 1 / (v + tau2)
        mu = _weighted_mean(y, w_chosen)
        se = math.sqrt(1 / np.sum(w_chosen))
        pooled, pooled_model = _estimate_pair(mu, se, scale, conf_level)
        typical_v = q_df * np.sum(w_fixed) / (np.sum(w_fixed) ** 2 - np.sum(w_fixed**2))
        i2 = float(100 * tau2 / (tau2 + typical_v))
        h2 = float((tau2 + typical_v) / typical_v)
        pred = (None, None, None, None)
        if prediction:
            if k < 3:
                warnings.append("A prediction interval needs at least 3 sites, so none is given.")
            else:
                half = stats.t.ppf(0.5 + conf_level / 2, k - 2) * math.sqrt(tau2 + se**2)
                lo, hi = mu - half, mu + half
                pred = (
                    math.exp(lo) if scale == "ratio" else lo,
                    math.exp(hi) if scale == "ratio" else hi,
                    float(lo),
                    float(hi),
                )
    return PoolingResult(
        method=method,
        k=k,
        scale=scale,
        conf_level=conf_level,
        pooled=pooled,
        pooled_model=pooled_model,
        fixed=fixed,
        fixed_model=fixed_model,
        tau2=tau2,
        tau=None if tau2 is None else math.sqrt(tau2),
        q=q,
        q_df=q_df,
        q_p_value=q_p,
        i2=i2,
        h2=h2,
        prediction_low=None if pred[0] is None else float(pred[0]),
        prediction_high=None if pred[1] is None else float(pred[1]),
        prediction_model_low=pred[2],
        prediction_model_high=pred[3],
        sites=_site_table(labels, y, v, scale, conf_level, w_fixed, w_chosen),
        warnings=tuple(warnings),
        methods=methods_text,
    )


def _site_table(labels, y, v, scale, conf_level, w_fixed, w_chosen) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + conf_level / 2)
    se = np.sqrt(v)
    low, high = y - z * se, y + z * se
    back = np.exp if scale == "ratio" else (lambda x: x)
    frame = pd.DataFrame(
        {
            "label": pd.Series(labels, dtype=object),
            "estimate": back(y),
            "ci_low": back(low),
            "ci_high": back(high),
            "model_estimate": y,
            "se": se,
        }
    )
    frame["weight_fixed_percent"] = np.nan if w_fixed is None else 100 * w_fixed / np.sum(w_fixed)
    frame["weight_percent"] = np.nan if w_chosen is None else 100 * w_chosen / np.sum(w_chosen)
    return frame


def _methods(method: str, conf_level: float, scale: str) -> str:
    pct = f"{conf_level:.0%}"
    tau = {
        "DL": "τ² was estimated by the method of moments of DerSimonian & Laird (1986)",
        "PM": "τ² was estimated by the Paule & Mandel (1982) generalised-Q method",
        "REML": "τ² was estimated by restricted maximum likelihood (Viechtbauer 2005)",
        "FE": "a common (fixed) effect was assumed, so no between-site variance was estimated",
    }[method]
    log = (
        "Ratios were pooled on the log scale and transformed back. " if scale == "ratio" else ""
    )
    return (
        f"Site estimates were pooled with inverse-variance weights ({METHOD_NAMES[method]}). {log}"
        f"The fixed-effect estimate weights each site by 1/SE² (Hedges & Olkin 1985); for random effects {tau}, "
        f"and each site is weighted by 1/(SE² + τ²). Intervals are {pct} Wald intervals with z. "
        "Heterogeneity: Cochran's Q on k − 1 df, I² = τ²/(τ² + s²) with s² the typical within-site variance "
        "(equal to (Q − df)/Q for DerSimonian–Laird; Higgins & Thompson 2002). The prediction interval for a "
        "new site's effect is μ̂ ± t(k − 2)·√(τ² + SE(μ̂)²) (Higgins, Thompson & Spiegelhalter 2009), given from "
        "3 sites up."
    )


def tidy(result: PoolingResult) -> pd.DataFrame:
    """One row per statistic (``statistic, value, ci_low, ci_high, df, p_value, method``)."""
    rows = []

    def add(statistic, value=None, low=None, high=None, df=None, p=None, method=""):
        rows.append(dict(statistic=statistic, value=value, ci_low=low, ci_high=high, df=df, p_value=p, method=method))

    def add_estimate(statistic, est: Estimate | None, method):
        if est is None:
            add(statistic, method=method)
        else:
            add(statistic, est.estimate, est.ci_low, est.ci_high, p=est.p_value, method=method)

    add("sites", result.k)
    add_estimate("pooled estimate", result.pooled, METHOD_NAMES[result.method])
    add_estimate("fixed-effect estimate", result.fixed, METHOD_NAMES["FE"])
    add("prediction interval", None, result.prediction_low, result.prediction_high,
        df=result.k - 2 if result.prediction_low is not None else None, method="Higgins et al. 2009")
    add("tau²", result.tau2, method=result.method)
    add("tau", result.tau, method=result.method)
    add("Cochran's Q", result.q, df=result.q_df, p=result.q_p_value, method="chi-square test of homogeneity")
    add("I² (%)", result.i2)
    add("H²", result.h2)
    return pd.DataFrame(rows, columns=["statistic", "value", "ci_low", "ci_high", "df", "p_value", "method"])


__all__ = [
    "METHODS",
    "PoolingResult",
    "SiteEstimate",
    "from_ci",
    "from_estimate",
    "from_two_by_two",
    "pool",
    "tau2_dersimonian_laird",
    "tau2_paule_mandel",
    "tau2_reml",
    "tidy",
]
