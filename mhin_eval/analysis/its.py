"""Interrupted time series (segmented regression) for one series or against comparison series.

Level and slope change at go-live for counts (Poisson, quasi-Poisson, negative binomial GLM with a
log-denominator offset) and continuous outcomes (OLS, optionally Prais-Winsten AR(1)), optional
Fourier seasonality, and Newey-West or AR(1) working-correlation standard errors (Lopez Bernal,
Cummins & Gasparrini 2017).

Conventions (decide whether numbers match published ones):

- Time: integer time values are used as given; month-start dates become a calendar-month index
  (months since January of the first year, plus one), so gaps stay gaps.
- The slope-change term is ``(t - t_last_pre) * post`` with ``t_last_pre = intervention - 1``
  (the period just before go-live, the last pre-period point in a series without gaps); the
  level-change term is therefore the step at the interruption. ``slope_origin="first-post"``
  counts from go-live instead, so the level change is the change at the first post-period point,
  as Stata ``itsa`` reports it (Linden 2015); fitted lines and effects are the same either way.
- Controlled ITS: the comparison series share trend, seasonality and changes and have an intercept
  each (``comparison_intercepts="each"``) or one shared intercept (``"shared"``, Stata ``itsa``).
  With model-based (and Prais-Winsten) standard errors each series has its own residual scale,
  Pearson chi2 over n_s minus the leverages of its rows, and a contrast's t reference has
  Welch-Satterthwaite degrees of freedom combining the series' (Welch 1947). Why: the treated
  series' own changes then have exactly the standard error and df of the treated series fitted
  alone, and the difference adds the comparison group's own uncertainty; a single pooled scale let
  38 noisy comparison series set the interval of a 31-point treated series with 1,164 df.
  (Averaging the comparison series into one gives the same point estimates for balanced OLS but
  not for counts with offsets or unbalanced series, so the per-series scale is used instead.)
  With ``standard_errors="ar1"`` the scale is per series as well and the df is capped at the
  treated series' own residual df less one; Newey-West needs no scale and keeps ``newey``'s n - k.
- Quasi-Poisson scale = Pearson chi2 / residual df; negative binomial (NB2) dispersion alpha is
  estimated by maximum likelihood, never fixed.
- Standard errors (``standard_errors``): "model"; "newey-west" with lag ``hac_lags`` gives HAC
  with Bartlett weights ``1 - l/(L+1)``, no prewhitening, lags counted in time units within
  each series (gaps contribute nothing, comparison series never borrow autocorrelation terms from
  one another). ``small_sample=False`` is R's ``sandwich::NeweyWest(adjust=FALSE)`` with z
  inference; ``small_sample=True`` multiplies by n/(n-k) and uses t(n-k), as Stata's ``newey``.
- ``standard_errors="ar1"`` (any family) keeps the point
  estimates and replaces the covariance by an AR(1) working-correlation sandwich
  ``scale * B^-1 X'W^1/2 R(rho) W^1/2 X B^-1`` (B = X'WX, W the GLM working weights, R the AR(1)
  correlation ``rho**|t_i - t_j|`` within each series, zero between series; Liang & Zeger 1986).
  rho is the lag-1 autocorrelation of the Pearson residuals (consecutive periods within a series,
  one rho shared by all series) corrected for its small-sample bias by matching moments: rho solves
  ``r1 = tr(M A M R) / tr(M R)`` with M = I - W^1/2 X B^-1 X'W^1/2 the residual projection and A
  the lag-1 pairs. This ratio-of-expectations correction equals Marriott & Pope's (1954) bias
  -(1 + 3 rho)/n at rho = 0 for a mean-only model and, unlike it, accounts for the trend, step,
  slope and seasonal terms, which cause most of the bias in an ITS design (Turner et al. 2021 found
  every usual estimator underestimates rho in short series); rho is kept within [-0.9, 0.95].
  The scale (quasi-Poisson, gaussian) is Pearson chi2 / tr(M R), unbiased under R; Poisson and
  negative binomial keep scale 1. Inference is t with Satterthwaite degrees of freedom for each
  contrast (Satterthwaite 1946, as Giesbrecht & Burns 1985 use it for estimated covariance
  parameters): ``2 v^2 / Var(v)``, Var(v) by the delta method from the Gaussian moments of the two
  quadratic forms (sum of squares and lag-1 products of residuals) that determine rho and the
  scale, capped at n - k - 1. ``small_sample`` has no effect with this option. Measured coverage:
  the table below and docs/its-coverage.md (``bench/its_coverage.py``).
- Inference: z (Wald) for count families, t(n-k) for ordinary and Prais-Winsten least squares
  and whenever ``small_sample`` is set; t(Satterthwaite) with ``standard_errors="ar1"``. Ratio CIs
  are exp of the log-scale CI.
- Too little data (fewer than ``min_points`` on either side of go-live in the treated series, or
  in the comparison group), an all-zero or a constant treated series: a result with every
  estimate ``None`` and a warning saying why (no exception), so pages can show the warning.
  With ``standard_errors="ar1"`` the model must also leave at least 3 residual degrees of freedom.

Coverage of the nominal 95% CI of the level change (bench/its_coverage.py, 500 seeded series each;
72 months, go-live at month 37, 2 Fourier pairs; counts: quasi-Poisson fit of Poisson counts around
200 a month with AR(1) log-scale noise, sd 0.06; gaussian: OLS fit, AR(1) noise, sd 2):

    ===================================  =====================  ==============
    family                               quasi-Poisson          gaussian
    noise rho                            0.0    0.4    0.6      0.0    0.4    0.6
    ===================================  =====================  ==============
    model-based                          0.956  0.898  0.824    0.934  0.772  0.680
    Newey-West lag 3, n/(n-k), t(n-k)    0.904  0.868  0.828    0.880  0.826  0.758
    NW, Andrews bandwidth, fixed-b       0.950  0.934  0.886    0.946  0.884  0.864
    AR(1), uncorrected rho, t(n-k-1)     0.938  0.916  0.866    0.906  0.862  0.838
    AR(1), moment-matched, t(n-k-1)      0.952  0.938  0.906    0.930  0.924  0.914
    standard_errors="ar1" (Satterthw.)   0.960  0.948  0.924    0.942  0.952  0.946
    ===================================  =====================  ==============

The acceptance setting is quasi-Poisson at rho = 0.4 (tests/unit/test_its_simulation.py); the
Monte Carlo standard error of each figure is about 0.01. For counts the AR(1) working model
understates the longer-lag correlation of latent AR(1) noise diluted by Poisson noise, hence 0.924
at rho = 0.6. Newey-West stays available for reproducing published analyses (Newey & West 1987).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mhin_eval.analysis.its_data import COUNT_FAMILIES, _design, _effect_terms, _prepare, _Prepared
from mhin_eval.analysis.its_effects import _average_effect, _cumulative_effect, _horizon_effects
from mhin_eval.analysis.its_inference import _diagnostics, _fit, _Inference, _term_vector
from mhin_eval.analysis.its_methods import _methods
from mhin_eval.analysis.results import AnalysisError, Estimate

FAMILIES = ("gaussian", "poisson", "quasipoisson", "negbin")
STANDARD_ERRORS = ("ar1", "newey-west", "model", "prais-winsten")
DEFAULT_HAC_LAGS = 3
SLOPE_ORIGINS = ("last-pre", "first-post")
COMPARISON_INTERCEPTS = ("each", "shared")
AR1_MIN_RESIDUAL_DF = 3
OVERDISPERSION_THRESHOLD = 1.5



@dataclass(frozen=True)
class ITSOptions:
    """Model choices for :func:`fit_its`; the module docstring states each convention.

    ``standard_errors``: "model" (model-based; a scale per series when controlled), "ar1" (AR(1)
    working-correlation sandwich), "newey-west" (lag ``hac_lags``, default 3) or "prais-winsten"
    (gaussian AR(1) GLS). Left empty it is "newey-west" when ``hac_lags`` is given, else "model".
    ``small_sample`` applies to Newey-West only: Stata ``newey``'s n/(n-k) and t(n-k).
    ``hac_across_series`` lets Newey-West lag products run across series laid end to end in label
    order, only to reproduce Stata ``itsa`` 3.x (``glm, vce(hac nwest)`` on a stacked panel); it
    treats the last period of one series and the first of the next as neighbours, so it is off.
    ``slope_origin``: the slope-change term counts periods from the "last-pre" point (the step is the
    level change just before go-live) or from the "first-post" point (Stata ``itsa``: the step is the
    change at the first post-period point). ``comparison_intercepts``: "each" comparison series its
    own intercept, or one "shared" intercept for the comparison group (Stata ``itsa``).
    """

    family: str = "quasipoisson"
    harmonics: int = 0
    period: int = 12
    standard_errors: str | None = None
    hac_lags: int | None = None
    small_sample: bool = False
    hac_across_series: bool = False
    slope_change: bool = True
    slope_origin: str = "last-pre"
    comparison_intercepts: str = "each"
    horizon: int = 12
    conf_level: float = 0.95
    min_points: int = 3
    low_power_points: int = 8

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise AnalysisError(f"Unknown family '{self.family}'; choose one of {', '.join(FAMILIES)}.")
        if self.period < 2:
            raise AnalysisError("The seasonal period must be at least 2.")
        if self.harmonics < 0 or 2 * self.harmonics >= self.period:
            raise AnalysisError(
                f"Use between 0 and {(self.period - 1) // 2} Fourier pairs for period {self.period}; "
                f"{self.harmonics} were asked for."
            )
        if self.hac_lags is not None and self.hac_lags < 0:
            raise AnalysisError("The Newey-West lag must be 0 or more.")
        if self.standard_errors is None:
            object.__setattr__(self, "standard_errors", "newey-west" if self.hac_lags is not None else "model")
        if self.standard_errors not in STANDARD_ERRORS:
            raise AnalysisError(
                f"Unknown standard errors '{self.standard_errors}'; choose one of {', '.join(STANDARD_ERRORS)}."
            )
        if self.standard_errors == "newey-west" and self.hac_lags is None:
            object.__setattr__(self, "hac_lags", DEFAULT_HAC_LAGS)
        if self.hac_across_series and self.standard_errors != "newey-west":
            raise AnalysisError("hac_across_series applies to Newey-West standard errors only.")
        if self.standard_errors == "prais-winsten" and self.family != "gaussian":
            raise AnalysisError("Prais-Winsten applies to the gaussian family only.")
        if self.slope_origin not in SLOPE_ORIGINS:
            raise AnalysisError(f"slope_origin must be one of {', '.join(SLOPE_ORIGINS)}, not '{self.slope_origin}'.")
        if self.comparison_intercepts not in COMPARISON_INTERCEPTS:
            raise AnalysisError(
                f"comparison_intercepts must be one of {', '.join(COMPARISON_INTERCEPTS)}, "
                f"not '{self.comparison_intercepts}'."
            )
        if self.horizon < 1:
            raise AnalysisError("The horizon must be at least 1 period after go-live.")
        if not 0 < self.conf_level < 1:
            raise AnalysisError("The confidence level must lie between 0 and 1.")
        if self.min_points < 2:
            raise AnalysisError("At least 2 points on each side of go-live are needed (min_points >= 2).")

    @property
    def newey_west(self) -> bool:
        return self.standard_errors == "newey-west"

    @property
    def ar1(self) -> bool:
        return self.standard_errors == "ar1"

    @property
    def prais_winsten(self) -> bool:
        return self.standard_errors == "prais-winsten"


@dataclass(frozen=True)
class ITSResult:
    """Estimates, fitted and counterfactual lines, diagnostics and a methods paragraph.

    ``n_pre`` and ``n_post`` count the treated series' own periods; ``n_comparison`` the comparison
    series' rows (0 without a comparison); ``n`` every row in the model. For controlled ITS,
    ``level_change``/``slope_change`` are the treated series' own changes and the ``difference_in_*``
    fields the treated-minus-comparison contrasts (ratios of rate ratios for counts).

    ``average_effect`` is the headline: the effect averaged over the first ``horizon`` months after
    go-live (months 1..H, month 1 = go-live), what "in the first 12 months" promises. For counts it is
    sum(fitted) / sum(counterfactual) over those months (scale "ratio", ``se`` on the log scale so it
    can be pooled); for gaussian the mean of fitted minus counterfactual (scale "difference").
    ``relative_effect`` and ``absolute_effect`` are the effect *at* month ``horizon`` (a single
    point on the lines, which grows with a slope change), ``cumulative_effect`` the sum over all
    observed post months. Each compares the treated series with its counterfactual: the pre-period
    trend extended, plus, when controlled, the comparison group's change (a controlled contrast).
    """

    options: ITSOptions
    family: str
    scale: str
    n: int
    n_pre: int
    n_post: int
    n_comparison: int
    level_change: Estimate | None
    slope_change: Estimate | None
    difference_in_level_change: Estimate | None
    difference_in_slope_change: Estimate | None
    relative_effect: Estimate | None
    absolute_effect: Estimate | None
    cumulative_effect: Estimate | None
    average_effect: Estimate | None
    coefficients: dict[str, float]
    fitted: pd.DataFrame
    diagnostics: dict
    warnings: tuple[str, ...]
    methods: str

    @property
    def has_estimates(self) -> bool:
        return self.level_change is not None

    @property
    def treated_label(self):
        """The treated series' label in ``fitted["group"]`` of a controlled fit (named in the diagnostics,
        else the first rows: fit_its orders them first); None for a single series."""
        if "group" not in self.fitted:
            return None
        named = (self.diagnostics or {}).get("residual_series")
        labels = list(pd.unique(self.fitted["group"]))
        return next((label for label in labels if named is not None and str(label) == str(named)), labels[0])

    @property
    def treated_fitted(self) -> pd.DataFrame:
        """The rows of ``fitted`` that belong to the treated series (all of them for a single series)."""
        label = self.treated_label
        if label is None:
            return self.fitted
        return self.fitted[self.fitted["group"].astype(str) == str(label)]

    def tidy(self) -> pd.DataFrame:
        """One row per reported quantity: quantity, estimate, ci_low, ci_high, p_value, se, scale, description."""
        horizon = self.options.horizon
        level_at = "first post-period point" if self.options.slope_origin == "first-post" else "interruption"
        versus = " against the comparison group" if self.n_comparison else ""
        described = {
            "average_effect": f"average effect over months 1-{horizon} after go-live{versus}",
            "level_change": f"level change at the {level_at} (treated series)",
            "slope_change": "slope change per period (treated series)",
            "difference_in_level_change": "treated minus comparison level change",
            "difference_in_slope_change": "treated minus comparison slope change",
            "relative_effect": f"relative effect at month {horizon}{versus}",
            "absolute_effect": f"absolute effect at month {horizon}{versus}",
            "cumulative_effect": f"cumulative effect over the observed post-period{versus}",
        }
        rows = []
        for quantity, description in described.items():
            value = getattr(self, quantity)
            if value is None:
                continue
            rows.append(
                {
                    "quantity": quantity,
                    "estimate": value.estimate,
                    "ci_low": value.ci_low,
                    "ci_high": value.ci_high,
                    "p_value": value.p_value,
                    "se": value.se,
                    "scale": value.scale,
                    "description": description,
                }
            )
        columns = ["quantity", "estimate", "ci_low", "ci_high", "p_value", "se", "scale", "description"]
        return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class NestedComparison:
    """F test of a smaller model nested in a larger one (R ``anova(small, large, test="F")``)."""

    f_statistic: float
    df_numerator: int
    df_denominator: int
    p_value: float


# ---------------------------------------------------------------------------------------------
# public API


def fit_its(
    data: pd.DataFrame,
    intervention,
    *,
    time: str = "time",
    value: str = "value",
    offset: str | None = None,
    group: str | None = None,
    treated=None,
    options: ITSOptions = ITSOptions(),  # noqa: B008 - frozen dataclass, safe as a default
) -> ITSResult:
    """Segmented regression ITS with level and slope change at ``intervention`` (the first post period).

    With ``group``/``treated``, a controlled ITS: the treated series against one or several pooled
    comparison series (own intercepts, shared trend, seasonality and changes), with group
    interactions giving the differences in level and slope change (Lopez Bernal et al. 2018).
    Raises AnalysisError for data a count model cannot take (negative or fractional counts,
    duplicated periods); returns a result without estimates, and a warning, when there are too
    few points or the series is all zero or constant.
    """
    prepared = _prepare(data, intervention, time, value, offset, group, treated, options)
    frame = prepared.frame
    notes = prepared.warnings
    count = options.family in COUNT_FAMILIES
    treated_rows = frame.loc[frame["is_treated"]]
    n_pre = int((~treated_rows["post"]).sum())
    n_post = int(treated_rows["post"].sum())

    reason = _no_estimate_reason(prepared, options, n_pre, n_post)
    if reason is None:
        notes.extend(_low_power_notes(prepared, options, n_pre, n_post))
    if reason is not None:
        notes.append(reason)
        return _empty_result(prepared, options, count, n_pre, n_post, notes)

    X = _design(frame["t"], frame["post"], frame["is_treated"], frame["series"], prepared, options)
    y = frame["observed"].to_numpy(dtype=float)
    offset_values = frame["offset"].to_numpy(dtype=float)
    t = frame["t"].to_numpy(dtype=int)
    series = frame["series"].to_numpy(dtype=object)
    reason = _ar1_no_estimate_reason(options, X.shape, t, series)
    if reason is not None:
        notes.append(reason)
        return _empty_result(prepared, options, count, n_pre, n_post, notes)
    fit = _fit(y, X, offset_values, t, series, options)
    notes.extend(fit.notes)
    inference = _Inference(fit, options, count)
    columns = list(X.columns)

    if options.family == "poisson" and fit.dispersion > OVERDISPERSION_THRESHOLD:
        notes.append(
            f"The counts are overdispersed (Pearson chi2/df = {fit.dispersion:.2f}), so Poisson standard "
            "errors are too small; use quasi-Poisson or negative binomial."
        )

    level_term, slope_term = _effect_terms(prepared, options)
    if prepared.controlled:
        own_level = {"level_change": 1.0, "treated_level_change": 1.0}
        own_slope = {"slope_change": 1.0, "treated_slope_change": 1.0}
        level_change = inference.linear(_term_vector(columns, own_level))
        slope_change = inference.linear(_term_vector(columns, own_slope)) if slope_term else None
        difference_in_level = inference.linear(_term_vector(columns, {level_term: 1.0}))
        difference_in_slope = (
            inference.linear(_term_vector(columns, {slope_term: 1.0})) if slope_term else None
        )
    else:
        level_change = inference.linear(_term_vector(columns, {level_term: 1.0}))
        slope_change = inference.linear(_term_vector(columns, {slope_term: 1.0})) if slope_term else None
        difference_in_level = difference_in_slope = None

    counterfactual_X = X.copy()
    treated_mask = frame["is_treated"].to_numpy()
    for term in (level_term, slope_term):
        if term is not None:
            counterfactual_X.loc[treated_mask, term] = 0.0
    fitted_mean, fitted_low, fitted_high = inference.band(X.to_numpy(), offset_values)
    cf_mean, cf_low, cf_high = inference.band(counterfactual_X.to_numpy(), offset_values)
    fitted_frame = pd.DataFrame(
        {
            "time": frame["t"],
            "period": frame["period"],
            "observed": frame["observed"],
            "fitted": fitted_mean,
            "fitted_low": fitted_low,
            "fitted_high": fitted_high,
            "counterfactual": cf_mean,
            "counterfactual_low": cf_low,
            "counterfactual_high": cf_high,
            "post": frame["post"].astype(bool),
        }
    )
    if prepared.controlled:
        fitted_frame["group"] = frame["series"]

    relative, absolute = _horizon_effects(prepared, options, inference, X.columns, frame, notes)
    average = _average_effect(prepared, options, inference, X.columns, frame, notes)
    post_treated = treated_mask & frame["post"].to_numpy()
    cumulative = _cumulative_effect(
        inference,
        X.to_numpy()[post_treated],
        counterfactual_X.to_numpy()[post_treated],
        offset_values[post_treated],
        count,
    )

    level_df = float(fit.df_for(_term_vector(columns, {level_term: 1.0}))[0])
    treated_residuals = fit.pearson[treated_mask]
    lags = max(1, min(options.period, len(treated_residuals) // 4))
    diagnostics = {
        "dispersion": fit.dispersion,
        **_diagnostics(treated_residuals, t[treated_mask], lags),
        "aic": fit.aic,
        "deviance": fit.deviance,
        "df_residual": fit.df_resid,
        "scale": fit.scale_used,
        "n_parameters": len(columns),
        "residuals": "Pearson"
        if count
        else ("Prais-Winsten transformed" if options.prais_winsten else "raw"),
        "residual_series": str(prepared.treated_label) if prepared.controlled else None,
        "df_level_change": level_df if fit.use_t else None,
        **fit.extra,
    }
    return ITSResult(
        options=options,
        family=options.family,
        scale="ratio" if count else "difference",
        n=len(frame),
        n_pre=n_pre,
        n_post=n_post,
        n_comparison=int((~frame["is_treated"]).sum()),
        level_change=level_change,
        slope_change=slope_change,
        difference_in_level_change=difference_in_level,
        difference_in_slope_change=difference_in_slope,
        relative_effect=relative,
        absolute_effect=absolute,
        cumulative_effect=cumulative,
        average_effect=average,
        coefficients={name: float(v) for name, v in zip(columns, fit.params, strict=True)},
        fitted=fitted_frame,
        diagnostics=diagnostics,
        warnings=tuple(notes),
        methods=_methods(prepared, options, value, offset if count else None, fit, count, level_df),
    )


def _no_estimate_reason(prepared: _Prepared, options: ITSOptions, n_pre: int, n_post: int) -> str | None:
    frame = prepared.frame
    if n_pre < options.min_points or n_post < options.min_points:
        return (
            f"No estimate: the series has {n_pre} point{'s' if n_pre != 1 else ''} before and {n_post} "
            f"after go-live, and at least {options.min_points} are needed on each side."
        )
    if prepared.controlled:
        comparison = frame.loc[~frame["is_treated"]]
        c_pre = comparison.loc[~comparison["post"], "t"].nunique()
        c_post = comparison.loc[comparison["post"], "t"].nunique()
        if c_pre < options.min_points or c_post < options.min_points:
            return (
                f"No estimate: the comparison series cover {c_pre} period{'s' if c_pre != 1 else ''} "
                f"before and {c_post} after go-live, and at least {options.min_points} are needed on each side."
            )
    observed = frame.loc[frame["is_treated"], "observed"]
    if options.family in COUNT_FAMILIES and (observed == 0).all():
        return "No estimate: every count in the series is zero, so there is no rate to model."
    if observed.nunique() == 1:
        return (
            f"No estimate: every value in the series is {observed.iloc[0]:g}, so there is no variation "
            "from which to estimate a change."
        )
    return None


def _ar1_no_estimate_reason(options: ITSOptions, shape, t: np.ndarray, series: np.ndarray) -> str | None:
    if not options.ar1:
        return None
    n, k = shape
    if n - k < AR1_MIN_RESIDUAL_DF:
        return (
            f"No estimate: the AR(1) autocorrelation model needs at least {AR1_MIN_RESIDUAL_DF} more data "
            f"points than model terms, and there are {n} points for {k} terms; use model-based standard "
            "errors or fewer seasonal terms."
        )
    consecutive = any(np.any(np.diff(np.sort(t[series == label])) == 1) for label in pd.unique(series))
    if not consecutive:
        return (
            "No estimate: no two consecutive periods were observed, so the AR(1) autocorrelation cannot "
            "be estimated; use model-based standard errors."
        )
    return None


def _low_power_notes(prepared, options, n_pre, n_post) -> list[str]:
    if n_pre < options.low_power_points or n_post < options.low_power_points:
        return [
            f"Low power: with {n_pre} points before and {n_post} after go-live (fewer than "
            f"{options.low_power_points} on a side), estimates are imprecise and autocorrelation and "
            "seasonality cannot be checked reliably."
        ]
    return []


def _empty_result(prepared, options, count, n_pre, n_post, notes) -> ITSResult:
    frame = prepared.frame
    fitted = pd.DataFrame(
        {
            "time": frame["t"],
            "period": frame["period"],
            "observed": frame["observed"],
            **{
                name: np.nan
                for name in (
                    "fitted",
                    "fitted_low",
                    "fitted_high",
                    "counterfactual",
                    "counterfactual_low",
                    "counterfactual_high",
                )
            },
            "post": frame["post"].astype(bool),
        }
    )
    if prepared.controlled:
        fitted["group"] = frame["series"]
    return ITSResult(
        options=options, family=options.family, scale="ratio" if count else "difference",
        n=len(frame), n_pre=n_pre, n_post=n_post, n_comparison=int((~frame["is_treated"]).sum()),
        level_change=None, slope_change=None,
        difference_in_level_change=None, difference_in_slope_change=None,
        relative_effect=None, absolute_effect=None, cumulative_effect=None, average_effect=None,
        coefficients={}, fitted=fitted, diagnostics={}, warnings=tuple(notes),
        methods="No model was fitted: " + notes[-1],
    )  # fmt: skip


def compare_nested(smaller: ITSResult, larger: ITSResult) -> NestedComparison:
    """F test for extra terms: F = (deviance drop / df drop) / scale of the larger model (R ``anova.glm``).

    Meant for quasi-Poisson (scale = Pearson chi2/df) and gaussian (scale = RSS/df) fits of the same data.
    """
    for result in (smaller, larger):
        if not result.has_estimates:
            raise AnalysisError("Both models must have been fitted to compare them.")
        if result.family not in ("quasipoisson", "gaussian"):
            raise AnalysisError(
                f"The F test is for quasi-Poisson and gaussian fits; for {result.family} use a "
                "likelihood-ratio test."
            )
    if smaller.family != larger.family or smaller.n != larger.n:
        raise AnalysisError("The two models must use the same family and the same data.")
    if not set(smaller.coefficients) < set(larger.coefficients):
        raise AnalysisError("The smaller model's terms must all appear in the larger model.")
    df_num = int(smaller.diagnostics["df_residual"] - larger.diagnostics["df_residual"])
    df_den = int(larger.diagnostics["df_residual"])
    drop = smaller.diagnostics["deviance"] - larger.diagnostics["deviance"]
    f_statistic = float(drop / df_num / larger.diagnostics["scale"])
    return NestedComparison(f_statistic, df_num, df_den, float(stats.f.sf(f_statistic, df_num, df_den)))


__all__ = ["ITSOptions", "ITSResult", "NestedComparison", "compare_nested", "fit_its"]
