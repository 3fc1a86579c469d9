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
  level-change term is therefore the step at the interruption.
- Quasi-Poisson scale = Pearson chi2 / residual df; negative binomial (NB2) dispersion alpha is
  estimated by maximum likelihood, never fixed.
- Standard errors: ``hac_lags=None`` gives model-based standard errors; an integer gives Newey-West
  HAC with Bartlett weights ``1 - l/(L+1)``, no prewhitening, lags counted in time units within
  each series (gaps contribute nothing, comparison series never borrow autocorrelation terms from
  one another). ``small_sample=False`` is R's ``sandwich::NeweyWest(adjust=FALSE)`` with z
  inference; ``small_sample=True`` multiplies by n/(n-k) and uses t(n-k), as Stata's ``newey``.
- ``autocorrelation="ar1"`` (any family; not with Newey-West or Prais-Winsten) keeps the point
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
  and whenever ``small_sample`` is set; t(Satterthwaite) with ``autocorrelation="ar1"``. Ratio CIs
  are exp of the log-scale CI.
- Too little data (fewer than ``min_points`` on either side of go-live in the treated series, or
  in the comparison group), an all-zero or a constant treated series: a result with every
  estimate ``None`` and a warning saying why (no exception), so pages can show the warning.
  With ``autocorrelation="ar1"`` the model must also leave at least 3 residual degrees of freedom.

Coverage of the nominal 95% CI of the level change (bench/its_coverage.py, 500 seeded series each;
72 months, go-live at month 37, 2 Fourier pairs; counts: quasi-Poisson fit of Poisson counts around
200 a month with AR(1) log-scale noise, sd 0.06; gaussian: OLS fit, AR(1) noise, sd 2):

    ===================================  =====================  =====================
    family                               quasi-Poisson          gaussian
    noise rho                            0.0    0.4    0.6      0.0    0.4    0.6
    ===================================  =====================  =====================
    model-based                          0.956  0.898  0.824    0.934  0.772  0.680
    Newey-West lag 3, n/(n-k), t(n-k)    0.904  0.868  0.828    0.880  0.826  0.758
    NW, Andrews bandwidth, fixed-b       0.950  0.934  0.886    0.946  0.884  0.864
    AR(1), uncorrected rho, t(n-k-1)     0.938  0.916  0.866    0.906  0.862  0.838
    AR(1), moment-matched, t(n-k-1)      0.952  0.938  0.906    0.930  0.924  0.914
    autocorrelation="ar1" (Satterthw.)   0.960  0.948  0.924    0.942  0.952  0.946
    ===================================  =====================  =====================

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

from mhin_eval.analysis.its_data import COUNT_FAMILIES, _design, _effect_terms, _label, _prepare, _Prepared
from mhin_eval.analysis.its_effects import _average_effect, _cumulative_effect, _horizon_effects
from mhin_eval.analysis.its_inference import _diagnostics, _Fit, _fit, _Inference, _term_vector
from mhin_eval.analysis.results import AnalysisError, Estimate

FAMILIES = ("gaussian", "poisson", "quasipoisson", "negbin")
STANDARD_ERRORS = ("ar1", "newey-west", "model", "prais-winsten")
DEFAULT_HAC_LAGS = 3
SLOPE_ORIGINS = ("last-pre", "first-post")
COMPARISON_INTERCEPTS = ("each", "shared")
AR1_MIN_RESIDUAL_DF = 3
OVERDISPERSION_THRESHOLD = 1.5

REFERENCES = {
    "lopez_bernal_2017": (
        "Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the evaluation "
        "of public health interventions: a tutorial. Int J Epidemiol 2017;46(1):348-355."
    ),
    "lopez_bernal_2018": (
        "Lopez Bernal J, Cummins S, Gasparrini A. The use of controls in interrupted time series studies "
        "of public health interventions. Int J Epidemiol 2018;47(6):2082-2093."
    ),
    "newey_west_1987": (
        "Newey WK, West KD. A simple, positive semi-definite, heteroskedasticity and autocorrelation "
        "consistent covariance matrix. Econometrica 1987;55(3):703-708."
    ),
    "liang_zeger_1986": (
        "Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models. Biometrika "
        "1986;73(1):13-22."
    ),
    "marriott_pope_1954": (
        "Marriott FHC, Pope JA. Bias in the estimation of autocorrelations. Biometrika 1954;41(3/4):390-402."
    ),
    "satterthwaite_1946": (
        "Satterthwaite FE. An approximate distribution of estimates of variance components. Biometrics "
        "Bulletin 1946;2(6):110-114."
    ),
    "giesbrecht_burns_1985": (
        "Giesbrecht FG, Burns JC. Two-stage analysis based on a mixed model: large-sample asymptotic "
        "theory and small-sample simulation results. Biometrics 1985;41(2):477-486."
    ),
    "turner_2021": (
        "Turner SL, Forbes AB, Karahalios A, Taljaard M, McKenzie JE. Evaluation of statistical methods "
        "used in the analysis of interrupted time series studies: a simulation study. BMC Med Res "
        "Methodol 2021;21:181."
    ),
    "welch_1947": (
        "Welch BL. The generalization of 'Student's' problem when several different population variances are "
        "involved. Biometrika 1947;34(1/2):28-35."
    ),
    "linden_2015": (
        "Linden A. Conducting interrupted time-series analysis for single- and multiple-group comparisons. "
        "Stata Journal 2015;15(2):480-500."
    ),
    "prais_winsten_1954": (
        "Prais SJ, Winsten CB. Trend estimators and serial correlation. Cowles Commission Discussion "
        "Paper No. 383, Chicago, 1954."
    ),
}


@dataclass(frozen=True)
class ITSOptions:
    """Model choices for :func:`fit_its`; the module docstring states each convention.

    ``standard_errors``: "model" (model-based; a scale per series when controlled), "ar1" (AR(1)
    working-correlation sandwich), "newey-west" (lag ``hac_lags``, default 3) or "prais-winsten"
    (gaussian AR(1) GLS). Left empty it is "newey-west" when ``hac_lags`` is given, else "model".
    ``small_sample`` applies to Newey-West only: Stata ``newey``'s n/(n-k) and t(n-k).
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


def _methods(
    prepared: _Prepared,
    options: ITSOptions,
    value: str,
    offset: str | None,
    fit: _Fit,
    count: bool,
    level_df: float,
) -> str:
    go_live = _label(
        pd.Timestamp(prepared.frame["period"].iloc[0])
        + pd.DateOffset(months=prepared.intervention_t - int(prepared.frame["t"].iloc[0]))
        if prepared.dates
        else prepared.intervention_t,
        prepared.dates,
    )
    refs = [REFERENCES["lopez_bernal_2017"]]
    parts = [
        f"Interrupted time series analysis by segmented regression of {value} on time (Lopez Bernal et al. 2017), "
        f"with a level change at go-live ({go_live})"
        + (
            (
                " and a slope change centred at the last pre-period point, so the level change is the step at "
                "the interruption."
                if options.slope_origin == "last-pre"
                else " and a slope change counted from the first post-period point, so the level change is the "
                "change at that point (Linden 2015, Stata itsa)."
            )
            if options.slope_change
            else "; no slope change was modelled."
        )
    ]
    family_text = {
        "gaussian": "Ordinary least squares (gaussian)",
        "poisson": "A Poisson generalised linear model with log link",
        "quasipoisson": (
            "A quasi-Poisson generalised linear model with log link, its scale set to the Pearson "
            f"chi-squared divided by the residual degrees of freedom ({fit.scale_used:.3g})"
        ),
        "negbin": (
            "A negative binomial (NB2) model with log link, its dispersion estimated by maximum "
            f"likelihood (alpha = {fit.extra.get('alpha', float('nan')):.3g})"
        ),
    }[options.family]
    if options.prais_winsten:
        family_text = (
            "Prais-Winsten regression with AR(1) errors, keeping the first observation of each series "
            f"(Prais & Winsten 1954; iterated rho = {fit.extra['rho']:.3f})"
        )
        refs.append(REFERENCES["prais_winsten_1954"])
    parts.append(
        family_text + (f", with log({offset}) as offset, was fitted." if offset else ", was fitted.")
    )
    if prepared.controlled:
        count_comparison = len(prepared.comparison_labels)
        parts.append(
            f"The treated series ({prepared.treated_label}) was compared with "
            + (
                f"{count_comparison} pooled comparison series ("
                + ("own intercepts" if options.comparison_intercepts == "each" else "one shared intercept")
                + "; shared trend, level and slope change)"
                if count_comparison > 1
                else f"the comparison series {prepared.comparison_labels[0]}"
            )
            + "; treated-by-period interactions give the difference in level"
            + (" and slope" if options.slope_change else "")
            + " change"
            + (
                " as ratios of rate ratios (Lopez Bernal et al. 2018)."
                if count
                else " (Lopez Bernal et al. 2018)."
            )
        )
        refs.append(REFERENCES["lopez_bernal_2018"])
    if options.slope_origin == "first-post" or (prepared.controlled and options.comparison_intercepts == "shared"):
        refs.append(REFERENCES["linden_2015"])
    if options.harmonics:
        parts.append(
            f"Seasonality was modelled by {options.harmonics} Fourier pair{'s' if options.harmonics > 1 else ''} "
            f"(sine and cosine) with period {options.period}."
        )
    else:
        parts.append("No seasonal terms were included.")
    if options.newey_west:
        convention = (
            "with the n/(n-k) small-sample adjustment and t inference on n-k degrees of freedom (Stata newey)"
            if options.small_sample
            else "without small-sample adjustment and with normal (z) inference (R sandwich::NeweyWest)"
        )
        within = ", autocorrelation terms kept within each series" if prepared.controlled else ""
        parts.append(
            f"Standard errors are Newey-West (Newey & West 1987) with lag {options.hac_lags}, Bartlett weights, "
            f"no prewhitening{within}, {convention}."
        )
        refs.append(REFERENCES["newey_west_1987"])
    elif options.ar1:
        within = " within each series and independent between series" if prepared.controlled else ""
        if options.family not in ("gaussian", "quasipoisson"):
            scale_text = "the scale fixed at 1 by the family"
        elif prepared.controlled:
            scale_text = (
                "a scale for each series, its Pearson chi-squared over its expectation under that correlation "
                f"({fit.extra['ar1_scale']:.3g} for the treated series), so noisy comparison series do not set the "
                "precision of the treated series' changes"
            )
        else:
            scale_text = (
                f"the scale re-estimated as the Pearson chi-squared over its expectation under that correlation "
                f"({fit.extra['ar1_scale']:.3g})"
            )
        parts.append(
            "Standard errors allow for first-order autocorrelation: the estimates are unchanged and their "
            "covariance is a sandwich with an AR(1) working correlation"
            f"{within} (Liang & Zeger 1986), its rho ({fit.extra['ar1_rho']:.3f}) estimated from the lag-1 "
            f"autocorrelation of the {'Pearson ' if count else ''}residuals ({fit.extra['ar1_lag1_autocorrelation']:.3f}) "
            "corrected for small-sample bias by matching its expectation under the fitted design (Marriott & "
            f"Pope 1954; Turner et al. 2021 on the underestimation of autocorrelation in short series), and {scale_text}."
        )
        refs += [REFERENCES[key] for key in ("liang_zeger_1986", "marriott_pope_1954", "turner_2021")]
    elif fit.series_scales is not None:
        parts.append(
            "Standard errors are model-based with a residual scale for each series (its Pearson chi-squared over "
            "its own residual degrees of freedom, the number of its periods minus the leverages of its rows), so "
            "the treated series' changes take their precision from the treated series alone and noisy comparison "
            "series cannot narrow or widen them."
        )
        refs.append(REFERENCES["welch_1947"])
    else:
        parts.append(
            "Standard errors are model-based"
            + (" (scaled by the quasi-Poisson dispersion)." if options.family == "quasipoisson" else ".")
        )
    level = f"{options.conf_level:.0%}"
    if fit.ar1 is not None:
        distribution = (
            "t distribution with Satterthwaite degrees of freedom for each estimate, allowing for the "
            f"estimation of rho and the scale (Satterthwaite 1946; Giesbrecht & Burns 1985; {level_df:.1f} for "
            f"the {'difference in ' if prepared.controlled else ''}level change, at most {fit.ar1.max_df:.0f}"
            + (", the treated series' own residual degrees of freedom less one)" if prepared.controlled else ")")
        )
        refs += [REFERENCES["satterthwaite_1946"], REFERENCES["giesbrecht_burns_1985"]]
    elif fit.use_t and fit.series_scales is not None:
        distribution = (
            "t distribution with Welch-Satterthwaite degrees of freedom combining each series' residual "
            f"degrees of freedom (Welch 1947; {level_df:.1f} for the "
            f"{'difference in ' if prepared.controlled else ''}level change; the treated series alone has "
            f"{fit.series_scales.df[0]:.0f})"
        )
    elif fit.use_t:
        distribution = f"t distribution on {fit.df_resid} degrees of freedom"
    else:
        distribution = "normal distribution"
    parts.append(
        f"{level} Wald confidence intervals use the "
        + distribution
        + ("; ratios and their intervals are exponentiated from the log scale." if count else ".")
    )
    parts.append(
        f"The headline effect is averaged over the first {options.horizon} months after go-live"
        + (
            " (the sum of the fitted counts over the sum of the counterfactual counts, its interval by the delta "
            "method on the log scale)."
            if count
            else " (the mean of fitted minus counterfactual values)."
        )
    )
    parts.append(
        f"Relative and absolute effects are reported {options.horizon} periods after the last pre-period point "
        "against the counterfactual (the pre-period trend extended"
        + (", plus the comparison group's change" if prepared.controlled else "")
        + "), with delta-method intervals for absolute and cumulative effects."
    )
    return " ".join(parts) + "\n\nReferences: " + " ".join(refs)


__all__ = ["ITSOptions", "ITSResult", "NestedComparison", "compare_nested", "fit_its"]
