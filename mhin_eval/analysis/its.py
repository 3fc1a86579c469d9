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

import math
import warnings as pywarnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.periods import as_timestamp, column_dates

FAMILIES = ("gaussian", "poisson", "quasipoisson", "negbin")
AUTOCORRELATION_MODELS = ("ar1",)
AR1_RHO_BOUNDS = (-0.9, 0.95)
AR1_MIN_RESIDUAL_DF = 3
COUNT_FAMILIES = ("poisson", "quasipoisson", "negbin")
OVERDISPERSION_THRESHOLD = 1.5
MAX_NAMED_GAPS = 12

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
    "prais_winsten_1954": (
        "Prais SJ, Winsten CB. Trend estimators and serial correlation. Cowles Commission Discussion "
        "Paper No. 383, Chicago, 1954."
    ),
}


@dataclass(frozen=True)
class ITSOptions:
    """Model choices for :func:`fit_its`; the module docstring states each convention."""

    family: str = "quasipoisson"
    harmonics: int = 0
    period: int = 12
    hac_lags: int | None = None
    small_sample: bool = False
    slope_change: bool = True
    prais_winsten: bool = False
    autocorrelation: str | None = None  # None (independent errors) or "ar1"
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
        if self.prais_winsten and self.family != "gaussian":
            raise AnalysisError("Prais-Winsten applies to the gaussian family only.")
        if self.prais_winsten and self.hac_lags is not None:
            raise AnalysisError(
                "Choose either Prais-Winsten (which models the autocorrelation) or Newey-West standard "
                "errors, not both."
            )
        if self.autocorrelation is not None:
            if self.autocorrelation not in AUTOCORRELATION_MODELS:
                raise AnalysisError(
                    f"Unknown autocorrelation model '{self.autocorrelation}'; choose "
                    f"{', '.join(AUTOCORRELATION_MODELS)} or leave it empty for independent errors."
                )
            if self.hac_lags is not None:
                raise AnalysisError(
                    "Choose either the AR(1) autocorrelation model or Newey-West standard errors, not both."
                )
            if self.prais_winsten:
                raise AnalysisError(
                    "Choose either the AR(1) autocorrelation model (which keeps the least-squares "
                    "estimates) or Prais-Winsten, not both."
                )
        if self.horizon < 1:
            raise AnalysisError("The horizon must be at least 1 period after go-live.")
        if not 0 < self.conf_level < 1:
            raise AnalysisError("The confidence level must lie between 0 and 1.")
        if self.min_points < 2:
            raise AnalysisError("At least 2 points on each side of go-live are needed (min_points >= 2).")


@dataclass(frozen=True)
class ITSResult:
    """Estimates, fitted and counterfactual lines, diagnostics and a methods paragraph.

    ``n`` counts every row in the model; ``n_pre`` and ``n_post`` count the treated series (the
    only series without ``group``). For controlled ITS, ``level_change``/``slope_change`` are the
    treated series' own changes and the ``difference_in_*`` fields are the treated-minus-comparison
    contrasts (ratio of rate ratios for counts). ``relative_effect``, ``absolute_effect`` and
    ``cumulative_effect`` compare the treated series with its counterfactual: the pre-period trend
    extended (plus, when controlled, the comparison group's change).
    """

    options: ITSOptions
    family: str
    scale: str
    n: int
    n_pre: int
    n_post: int
    level_change: Estimate | None
    slope_change: Estimate | None
    difference_in_level_change: Estimate | None
    difference_in_slope_change: Estimate | None
    relative_effect: Estimate | None
    absolute_effect: Estimate | None
    cumulative_effect: Estimate | None
    coefficients: dict[str, float]
    fitted: pd.DataFrame
    diagnostics: dict
    warnings: tuple[str, ...]
    methods: str

    @property
    def has_estimates(self) -> bool:
        return self.level_change is not None


@dataclass(frozen=True)
class NestedComparison:
    """F test of a smaller model nested in a larger one (R ``anova(small, large, test="F")``)."""

    f_statistic: float
    df_numerator: int
    df_denominator: int
    p_value: float


# ---------------------------------------------------------------------------------------------
# data preparation


@dataclass
class _Prepared:
    frame: pd.DataFrame  # columns: t, period, observed, offset, series, is_treated
    intervention_t: int
    dates: bool
    controlled: bool
    treated_label: object
    comparison_labels: list
    warnings: list[str] = field(default_factory=list)


def _month_index(values: pd.Series, origin_year: int) -> pd.Series:
    return (values.dt.year - origin_year) * 12 + values.dt.month


def _prepare(data, intervention, time, value, offset, group, treated, options) -> _Prepared:
    notes: list[str] = []
    for column in [time, value] + [c for c in (offset, group) if c is not None]:
        if column not in data.columns:
            raise AnalysisError(f"The data have no column '{column}'.")
    if group is not None and treated is None:
        raise AnalysisError(f"Say which value of '{group}' is the treated series (treated=...).")
    if offset is not None and options.family == "gaussian":
        notes.append(
            f"The denominator '{offset}' was ignored: an offset applies to count models only; "
            "for a continuous outcome, analyse the rate itself."
        )
        offset = None

    frame = pd.DataFrame({"raw_time": data[time].to_numpy(), "observed": _numeric(data[value], value)})
    frame["denominator"] = _numeric(data[offset], offset) if offset is not None else 1.0
    frame["series"] = data[group].to_numpy(dtype=object) if group is not None else "all"

    raw_time = frame["raw_time"]
    dates = pd.api.types.is_datetime64_any_dtype(raw_time)
    if not dates and not pd.api.types.is_numeric_dtype(raw_time):
        try:
            raw_time = column_dates(raw_time, time)
        except (ValueError, TypeError) as exc:
            raise AnalysisError(
                f"The time column '{time}' must hold integers or month-start dates ({exc})."
            ) from exc
        dates = True
    frame["raw_time"] = raw_time

    missing = frame["raw_time"].isna() | frame["observed"].isna() | frame["denominator"].isna()
    if group is not None:
        missing |= pd.isna(frame["series"])
    if missing.any():
        fields = ["time", "value"] + [c for c, given in (("denominator", offset), ("group", group)) if given]
        what = ", ".join(fields[:-1]) + " or " + fields[-1]
        count = int(missing.sum())
        notes.append(
            f"{count} row{'s' if count != 1 else ''} with a missing {what} "
            f"{'were' if count != 1 else 'was'} dropped."
        )
        frame = frame.loc[~missing].reset_index(drop=True)
    if frame.empty:
        raise AnalysisError("No rows with both a time and a value remain.")

    if dates:
        periods = pd.to_datetime(frame["raw_time"])
        if not (periods.dt.day == 1).all():
            notes.append("Some dates were not the first of a month; each was read as its calendar month.")
        periods = periods.dt.to_period("M").dt.to_timestamp()
        origin_year = int(periods.dt.year.min())
        frame["period"] = periods
        frame["t"] = _month_index(periods, origin_year).astype(int)
        try:
            go_live = as_timestamp(intervention).to_period("M").to_timestamp()
        except (ValueError, TypeError) as exc:
            raise AnalysisError(f"The go-live '{intervention}' is not a date ({exc}).") from exc
        intervention_t = int((go_live.year - origin_year) * 12 + go_live.month)
    else:
        numeric = frame["raw_time"].astype(float)
        if not np.allclose(numeric, np.round(numeric)):
            raise AnalysisError(f"The time column '{time}' must hold whole numbers or dates.")
        frame["t"] = np.round(numeric).astype(int)
        frame["period"] = frame["t"]
        try:
            intervention_value = float(intervention)
        except (ValueError, TypeError) as exc:
            raise AnalysisError(
                f"The go-live '{intervention}' must be a time value like those in '{time}'."
            ) from exc
        if intervention_value != round(intervention_value):
            raise AnalysisError(f"The go-live '{intervention}' must be a whole number.")
        intervention_t = int(round(intervention_value))

    duplicated = frame.duplicated(["series", "t"], keep=False)
    if duplicated.any():
        example = frame.loc[duplicated].iloc[0]
        where = f" in series '{example['series']}'" if group is not None else ""
        raise AnalysisError(
            f"Time point {_label(example['period'], dates)} appears more than once{where}; "
            "each series needs one value per period."
        )

    if options.family in COUNT_FAMILIES:
        if (frame["observed"] < 0).any():
            raise AnalysisError(
                f"The {options.family} family needs counts, but '{value}' has negative values."
            )
        if not np.allclose(frame["observed"], np.round(frame["observed"])):
            raise AnalysisError(
                f"The {options.family} family needs whole-number counts, but '{value}' has fractions; "
                "use the gaussian family for a continuous outcome, or give counts with a denominator."
            )
        if offset is not None and (frame["denominator"] <= 0).any():
            raise AnalysisError(f"The denominator '{offset}' must be positive in every row.")

    controlled = group is not None
    if controlled:
        labels = list(pd.unique(frame["series"]))
        matches = [label for label in labels if _same_label(label, treated)]
        if not matches:
            raise AnalysisError(f"No rows have {group} = '{treated}' (the treated series).")
        treated_label = matches[0]
        comparison_labels = [label for label in labels if label != treated_label]
        if not comparison_labels:
            raise AnalysisError(f"Controlled ITS needs at least one comparison series besides '{treated}'.")
    else:
        treated_label, comparison_labels = "all", []
    frame["is_treated"] = frame["series"] == treated_label
    frame = frame.sort_values(["is_treated", "series", "t"], ascending=[False, True, True])
    frame = frame.reset_index(drop=True)
    frame["offset"] = np.log(frame["denominator"]) if offset is not None else 0.0
    frame["post"] = frame["t"] >= intervention_t

    for label, rows in frame.groupby("series", sort=False):
        gaps = _gaps(rows["t"].to_numpy(), dates, rows["period"])
        if gaps:
            shown = ", ".join(gaps[:MAX_NAMED_GAPS])
            more = f" and {len(gaps) - MAX_NAMED_GAPS} more" if len(gaps) > MAX_NAMED_GAPS else ""
            where = f" for '{label}'" if controlled else ""
            notes.append(
                f"No data{where} for {shown}{more}; gaps are left as gaps and the time index still "
                "counts every period."
            )
    return _Prepared(frame, intervention_t, dates, controlled, treated_label, comparison_labels, notes)


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """Numbers from a column; text that is not a number is refused rather than treated as missing."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        raise AnalysisError(
            f"Column '{name}' holds text that is not a number (for example '{column[bad].iloc[0]}'); "
            "leave missing values blank."
        )
    return values.to_numpy(dtype=float)


def _same_label(label, treated) -> bool:
    return label == treated or str(label) == str(treated)


def _label(period, dates: bool) -> str:
    return pd.Timestamp(period).strftime("%Y-%m") if dates else str(period)


def _gaps(t: np.ndarray, dates: bool, periods: pd.Series) -> list[str]:
    t = np.sort(t)
    if len(t) < 2:
        return []
    step = int(np.gcd.reduce(np.diff(t))) if not dates else 1
    if step == 0:
        return []
    expected = np.arange(t[0], t[-1] + 1, step)
    missing = np.setdiff1d(expected, t)
    if dates:
        first = pd.Timestamp(periods.min())
        first_t = int(t[0])
        return [(first + pd.DateOffset(months=int(m - first_t))).strftime("%Y-%m") for m in missing]
    return [str(int(m)) for m in missing]


# ---------------------------------------------------------------------------------------------
# design


def _design(t, post, is_treated, series, prepared: _Prepared, options: ITSOptions) -> pd.DataFrame:
    """Segmented-regression design; ``post`` and ``is_treated`` are 0/1 arrays."""
    t = np.asarray(t, dtype=float)
    post = np.asarray(post, dtype=float)
    since = (t - (prepared.intervention_t - 1)) * post
    columns: dict[str, np.ndarray] = {"intercept": np.ones_like(t), "trend": t, "level_change": post}
    if options.slope_change:
        columns["slope_change"] = since
    for k in range(1, options.harmonics + 1):
        angle = 2 * np.pi * k * t / options.period
        columns[f"sin_{k}"] = np.sin(angle)
        columns[f"cos_{k}"] = np.cos(angle)
    if prepared.controlled:
        treated = np.asarray(is_treated, dtype=float)
        columns["treated"] = treated
        columns["treated_trend"] = treated * t
        columns["treated_level_change"] = treated * post
        if options.slope_change:
            columns["treated_slope_change"] = treated * since
        series = np.asarray(series, dtype=object)
        for label in prepared.comparison_labels[1:]:
            columns[f"series[{label}]"] = (series == label).astype(float)
    return pd.DataFrame(columns)


def _effect_terms(prepared: _Prepared, options: ITSOptions) -> tuple[str, str | None]:
    prefix = "treated_" if prepared.controlled else ""
    return f"{prefix}level_change", (f"{prefix}slope_change" if options.slope_change else None)


# ---------------------------------------------------------------------------------------------
# fitting


@dataclass
class _Fit:
    params: np.ndarray
    cov: np.ndarray
    mean: np.ndarray  # fitted mean of each row (count units for counts)
    pearson: np.ndarray  # residuals used for diagnostics, in model row order
    dispersion: float  # Pearson chi2 / df
    scale_used: float
    deviance: float
    df_resid: int
    aic: float | None
    use_t: bool
    extra: dict
    notes: list[str]
    ar1: _AR1Covariance | None = None

    def df_for(self, vectors: np.ndarray) -> np.ndarray:
        """Degrees of freedom of the t reference for each row of ``vectors`` (contrasts or gradients)."""
        vectors = np.atleast_2d(vectors)
        if self.ar1 is not None:
            return self.ar1.satterthwaite_df(vectors)
        return np.full(len(vectors), float(self.df_resid))


@dataclass
class _AR1Covariance:
    """AR(1) working-correlation sandwich and what Satterthwaite's degrees of freedom need.

    ``cov`` is the covariance at the estimated rho and scale; ``d_sum_squares`` and ``d_lag_products``
    its derivatives with respect to the two residual quadratic forms Q0 = e'e and Q1 = e'Ae that
    determine rho and the scale; ``q_cov`` the 2x2 covariance of (Q0, Q1) under the fitted model.
    """

    cov: np.ndarray
    d_sum_squares: np.ndarray
    d_lag_products: np.ndarray
    q_cov: np.ndarray
    rho: float
    raw_rho: float
    scale: float
    at_bound: bool
    max_df: float

    def satterthwaite_df(self, vectors: np.ndarray) -> np.ndarray:
        variance = np.einsum("ij,jk,ik->i", vectors, self.cov, vectors)
        gradient = np.column_stack(
            [
                np.einsum("ij,jk,ik->i", vectors, self.d_sum_squares, vectors),
                np.einsum("ij,jk,ik->i", vectors, self.d_lag_products, vectors),
            ]
        )
        spread = np.einsum("ij,jk,ik->i", gradient, self.q_cov, gradient)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(spread > 0, 2 * variance**2 / spread, self.max_df)
        return np.clip(np.nan_to_num(df, nan=self.max_df), 1.0, self.max_df)


def _ar1_covariance(
    X: np.ndarray,
    weights: np.ndarray,
    residuals: np.ndarray,
    t: np.ndarray,
    series: np.ndarray,
    estimate_scale: bool,
) -> _AR1Covariance:
    """Sandwich covariance under an AR(1) working correlation with a moment-matched rho (module docstring).

    ``residuals`` are Pearson residuals (raw residuals for least squares) and ``weights`` the GLM
    working weights, so ``Var(score) = scale * X'W^1/2 R W^1/2 X`` (Liang & Zeger 1986).
    """
    n, k = X.shape
    scaled = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(scaled.T @ scaled)
    residual_maker = np.eye(n) - scaled @ bread @ scaled.T
    same_series = series[:, None] == series[None, :]
    distance = np.where(same_series, np.abs(t[:, None] - t[None, :]).astype(float), np.inf)
    lag_pairs = (distance == 1) / 2.0
    projected_lags = residual_maker @ lag_pairs @ residual_maker
    sum_squares = float(residuals @ residuals)
    lag_products = float(residuals @ lag_pairs @ residuals)
    raw_rho = lag_products / sum_squares if sum_squares > 0 else 0.0

    finite = np.isfinite(distance)
    exponents = np.where(finite, distance, 0.0)

    def correlation(rho: float) -> np.ndarray:
        return np.where(finite, np.power(rho, exponents), 0.0)

    def expected_ratio(rho: float) -> float:
        R = correlation(rho)
        return float(np.sum(projected_lags * R) / np.sum(residual_maker * R))

    def trace_mr(rho: float) -> float:
        return float(np.sum(residual_maker * correlation(rho)))

    def middle(rho: float) -> np.ndarray:
        return bread @ (scaled.T @ correlation(rho) @ scaled) @ bread

    low, high = AR1_RHO_BOUNDS
    at_bound = True
    if sum_squares == 0:
        rho, at_bound = 0.0, False
    elif raw_rho <= expected_ratio(low):
        rho = low
    elif raw_rho >= expected_ratio(high):
        rho = high
    else:
        rho = float(optimize.brentq(lambda r: expected_ratio(r) - raw_rho, low, high, xtol=1e-10))
        at_bound = False

    trace = trace_mr(rho)
    scale = sum_squares / trace if estimate_scale else 1.0
    cov = scale * middle(rho)
    step = 1e-5
    d_cov_d_rho = scale * (middle(rho + step) - middle(rho - step)) / (2 * step)
    if estimate_scale:
        d_log_trace = (trace_mr(rho + step) - trace_mr(rho - step)) / (2 * step) / trace
        d_cov_d_rho = d_cov_d_rho - d_log_trace * cov
    if at_bound or sum_squares == 0:
        d_rho_d_q0 = d_rho_d_q1 = 0.0
    else:
        slope = (expected_ratio(rho + step) - expected_ratio(rho - step)) / (2 * step)
        d_rho_d_q1 = 1 / (sum_squares * slope)
        d_rho_d_q0 = -raw_rho / (sum_squares * slope)
    d_sum_squares = d_cov_d_rho * d_rho_d_q0 + (middle(rho) / trace if estimate_scale else 0.0)
    d_lag_products = d_cov_d_rho * d_rho_d_q1

    error_cov = scale * correlation(rho)
    squares_part = residual_maker @ error_cov
    lags_part = projected_lags @ error_cov
    q_cov = 2 * np.array(
        [
            [np.sum(squares_part * squares_part.T), np.sum(squares_part * lags_part.T)],
            [np.sum(lags_part * squares_part.T), np.sum(lags_part * lags_part.T)],
        ]
    )
    return _AR1Covariance(
        cov=cov,
        d_sum_squares=d_sum_squares,
        d_lag_products=d_lag_products,
        q_cov=q_cov,
        rho=float(rho),
        raw_rho=float(raw_rho),
        scale=float(scale),
        at_bound=at_bound,
        max_df=float(n - k - 1),
    )


def _newey_west_meat(scores: np.ndarray, t: np.ndarray, series: np.ndarray, lags: int) -> np.ndarray:
    """Sum of Bartlett-weighted score cross-products at time lags 0..L within each series (Newey & West 1987)."""
    k = scores.shape[1]
    meat = np.zeros((k, k))
    for label in pd.unique(series):
        rows = series == label
        times = t[rows] - t[rows].min()
        grid = np.zeros((int(times.max()) + 1, k))
        grid[times] = scores[rows]
        meat += grid.T @ grid
        for lag in range(1, min(lags, len(grid) - 1) + 1):
            weight = 1 - lag / (lags + 1)
            gamma = grid[lag:].T @ grid[:-lag]
            meat += weight * (gamma + gamma.T)
    return meat


def _prais_winsten(y, X, t, series, max_iter=200, tol=1e-10):
    """Iterated Prais-Winsten AR(1) GLS keeping each series' first observation (Prais & Winsten 1954).

    rho is the regression of residuals on their lag-1 values (Stata ``prais`` default); gaps of g
    periods use rho**g with the exact AR(1) innovation scaling.
    """
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    rho = 0.0
    for _ in range(max_iter):
        resid = y - X @ beta
        current, lagged = _lag_one_pairs(resid, t, series)
        new_rho = float(np.dot(current, lagged) / np.dot(lagged, lagged)) if len(lagged) else 0.0
        new_rho = max(min(new_rho, 0.999), -0.999)
        y_star, X_star = _prais_transform(y, X, t, series, new_rho)
        beta = np.linalg.lstsq(X_star, y_star, rcond=None)[0]
        converged = abs(new_rho - rho) < tol
        rho = new_rho
        if converged:
            break
    y_star, X_star = _prais_transform(y, X, t, series, rho)
    return rho, y_star, X_star


def _lag_one_pairs(values, t, series):
    current, lagged = [], []
    for label in pd.unique(series):
        rows = np.flatnonzero(series == label)
        times = t[rows]
        consecutive = np.diff(times) == 1
        current.append(values[rows[1:][consecutive]])
        lagged.append(values[rows[:-1][consecutive]])
    return np.concatenate(current), np.concatenate(lagged)


def _prais_transform(y, X, t, series, rho):
    y_star = np.empty_like(y, dtype=float)
    X_star = np.empty_like(X, dtype=float)
    for label in pd.unique(series):
        rows = np.flatnonzero(series == label)
        first = rows[0]
        y_star[first] = math.sqrt(1 - rho**2) * y[first]
        X_star[first] = math.sqrt(1 - rho**2) * X[first]
        for previous, row in zip(rows[:-1], rows[1:], strict=True):
            gap = int(t[row] - t[previous])
            factor = rho**gap
            scale = math.sqrt((1 - rho**2) / (1 - rho ** (2 * gap)))
            y_star[row] = scale * (y[row] - factor * y[previous])
            X_star[row] = scale * (X[row] - factor * X[previous])
    return y_star, X_star


def _fit(y, X: pd.DataFrame, offset, t, series, options: ITSOptions) -> _Fit:
    Xv = X.to_numpy(dtype=float)
    n, k = Xv.shape
    df_resid = n - k
    notes: list[str] = []
    extra: dict = {}
    if np.linalg.matrix_rank(Xv) < k:
        raise AnalysisError(
            "The model terms cannot all be estimated from these data (for example a comparison series "
            "with no points on one side of go-live, or too few points for the seasonal terms)."
        )
    if df_resid < 1:
        raise AnalysisError(f"The model has {k} terms but only {n} data points.")

    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        if options.family == "gaussian":
            if options.prais_winsten:
                rho, y_fit, X_fit = _prais_winsten(y, Xv, t, series)
                extra["rho"] = rho
            else:
                y_fit, X_fit = y, Xv
            ols = sm.OLS(y_fit, X_fit).fit()
            params = ols.params
            cov = ols.cov_params()
            mean = Xv @ params
            pearson = ols.resid
            scale_used = float(ols.scale)
            dispersion = scale_used
            deviance = float(ols.ssr)
            aic = None if options.prais_winsten else float(ols.aic)
            bread = np.linalg.inv(X_fit.T @ X_fit)
            scores = X_fit * ols.resid[:, None]
            working_weights = np.ones(n)
        elif options.family in ("poisson", "quasipoisson"):
            scale = "X2" if options.family == "quasipoisson" else 1.0
            glm = sm.GLM(y, Xv, family=sm.families.Poisson(), offset=offset).fit(scale=scale, tol=1e-12)
            params = glm.params
            cov = glm.cov_params()
            mean = glm.fittedvalues
            pearson = glm.resid_pearson
            scale_used = float(glm.scale)
            dispersion = float(glm.pearson_chi2 / df_resid)
            deviance = float(glm.deviance)
            aic = float(glm.aic) if options.family == "poisson" else None
            bread = np.linalg.inv(Xv.T @ (Xv * mean[:, None]))
            scores = Xv * (y - mean)[:, None]
            working_weights = np.asarray(mean, dtype=float)
        else:
            params, cov, mean, alpha, aic = _fit_negbin(y, Xv, offset, notes)
            variance = mean + alpha * mean**2
            pearson = (y - mean) / np.sqrt(variance)
            dispersion = float(np.sum(pearson**2) / df_resid)
            scale_used = 1.0
            deviance = float(_negbin_deviance(y, mean, alpha))
            extra["alpha"] = alpha
            working_weights = mean / (1 + alpha * mean)
            bread = np.linalg.inv(Xv.T @ (Xv * working_weights[:, None]))
            scores = Xv * ((y - mean) / (1 + alpha * mean))[:, None]
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(
                f"The model fit reported a convergence problem ({warning.message}); treat it with caution."
            )

    if options.hac_lags is not None:
        meat = _newey_west_meat(scores, t, series, options.hac_lags)
        cov = bread @ meat @ bread
        if options.small_sample:
            cov = cov * n / (n - k)
    ar1 = None
    if options.autocorrelation == "ar1":
        ar1 = _ar1_covariance(
            Xv, working_weights, np.asarray(pearson, dtype=float), t, series,
            estimate_scale=options.family in ("gaussian", "quasipoisson"),
        )  # fmt: skip
        cov = ar1.cov
        extra.update(ar1_rho=ar1.rho, ar1_lag1_autocorrelation=ar1.raw_rho, ar1_scale=ar1.scale)
        if ar1.at_bound:
            notes.append(
                f"The residual autocorrelation (lag-1 {ar1.raw_rho:.2f}) lies at the edge of what the AR(1) "
                f"model covers, so rho was set to {ar1.rho:g}; a trend or shift the model misses can cause "
                "this, and the intervals may still be too narrow."
            )
    use_t = (
        options.small_sample or ar1 is not None or (options.family == "gaussian" and options.hac_lags is None)
    )
    return _Fit(
        params=np.asarray(params, dtype=float),
        cov=np.asarray(cov, dtype=float),
        mean=np.asarray(mean, dtype=float),
        pearson=np.asarray(pearson, dtype=float),
        dispersion=dispersion,
        scale_used=scale_used,
        deviance=deviance,
        df_resid=df_resid,
        aic=aic,
        use_t=use_t,
        extra=extra,
        notes=notes,
        ar1=ar1,
    )


def _fit_negbin(y, X, offset, notes):
    """NB2 by maximum likelihood, alpha estimated jointly (statsmodels discrete NegativeBinomial)."""
    k = X.shape[1]
    start_glm = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    model = NegativeBinomial(y, X, loglike_method="nb2", offset=offset)
    start = np.append(start_glm.params, 0.1)
    result = None
    for method in ("newton", "bfgs", "nm"):
        try:
            candidate = model.fit(start_params=start, method=method, maxiter=2000, disp=0)
        except (np.linalg.LinAlgError, ValueError):
            continue
        if candidate.mle_retvals.get("converged", False) and np.all(np.isfinite(candidate.bse)):
            result = candidate
            break
    if result is None:
        raise AnalysisError(
            "The negative binomial model did not converge; try quasi-Poisson, which handles "
            "overdispersion without estimating a dispersion parameter by maximum likelihood."
        )
    alpha = float(result.params[-1])
    if alpha < 1e-6:
        notes.append(
            "The estimated negative binomial dispersion is essentially zero, so the model reduces to "
            "Poisson; the data show no overdispersion."
        )
    mean = np.exp(X @ result.params[:k] + offset)
    return result.params[:k], result.cov_params()[:k, :k], mean, alpha, float(result.aic)


def _negbin_deviance(y, mean, alpha):
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mean), 0.0)
    inv = 1 / alpha if alpha > 0 else np.inf
    if not np.isfinite(inv):
        return 2 * np.sum(term - (y - mean))
    return 2 * np.sum(term - (y + inv) * np.log((1 + alpha * y) / (1 + alpha * mean)))


# ---------------------------------------------------------------------------------------------
# estimates


class _Inference:
    def __init__(self, fit: _Fit, options: ITSOptions, count: bool):
        self.fit = fit
        self.count = count
        self.conf_level = options.conf_level
        self.tail = 1 - (1 - options.conf_level) / 2

    def _critical(self, vectors: np.ndarray) -> np.ndarray:
        if not self.fit.use_t:
            return np.full(len(np.atleast_2d(vectors)), float(stats.norm.ppf(self.tail)))
        return stats.t.ppf(self.tail, self.fit.df_for(vectors))

    def _p_value(self, statistic: float, vector: np.ndarray) -> float:
        if not np.isfinite(statistic):
            return float("nan")
        if self.fit.use_t:
            return float(2 * stats.t.sf(abs(statistic), self.fit.df_for(vector)[0]))
        return float(2 * stats.norm.sf(abs(statistic)))

    def linear(self, vector: np.ndarray) -> Estimate:
        """Linear combination of coefficients; exponentiated (ratio) for count families."""
        value = float(vector @ self.fit.params)
        se = float(math.sqrt(max(vector @ self.fit.cov @ vector, 0.0)))
        crit = float(self._critical(vector)[0])
        low, high = value - crit * se, value + crit * se
        p = self._p_value(value / se if se > 0 else float("nan"), vector)
        if self.count:
            return Estimate(math.exp(value), math.exp(low), math.exp(high), p, "ratio", self.conf_level, se)
        return Estimate(value, low, high, p, "difference", self.conf_level, se)

    def delta(self, value: float, gradient: np.ndarray, scale: str = "difference") -> Estimate:
        se = float(math.sqrt(max(gradient @ self.fit.cov @ gradient, 0.0)))
        crit = float(self._critical(gradient)[0])
        p = self._p_value(value / se if se > 0 else float("nan"), gradient)
        return Estimate(value, value - crit * se, value + crit * se, p, scale, self.conf_level, se)

    def band(self, X: np.ndarray, offset: np.ndarray):
        eta = X @ self.fit.params + offset
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X, self.fit.cov, X), 0.0))
        crit = self._critical(X)
        low, high = eta - crit * se, eta + crit * se
        if self.count:
            return np.exp(eta), np.exp(low), np.exp(high)
        return eta, low, high


def _term_vector(columns, weights: dict[str, float]) -> np.ndarray:
    vector = np.zeros(len(columns))
    for name, weight in weights.items():
        vector[list(columns).index(name)] = weight
    return vector


# ---------------------------------------------------------------------------------------------
# diagnostics


def _diagnostics(residuals: np.ndarray, t: np.ndarray, lags: int) -> dict:
    """Durbin-Watson, time-lag autocorrelations and Ljung-Box over pairs of observed periods."""
    times = t - t.min()
    grid = np.full(int(times.max()) + 1, np.nan)
    grid[times] = residuals
    total = float(np.nansum(grid**2))
    n = len(residuals)
    acf = []
    for lag in range(1, lags + 1):
        products = grid[lag:] * grid[:-lag]
        acf.append(float(np.nansum(products) / total) if total > 0 else float("nan"))
    differences = np.diff(grid)
    durbin_watson = float(np.nansum(differences**2) / total) if total > 0 else float("nan")
    q = n * (n + 2) * sum(r**2 / (n - lag) for lag, r in enumerate(acf, start=1))
    return {
        "durbin_watson": durbin_watson,
        "acf": acf,
        "ljung_box_lags": lags,
        "ljung_box_q": float(q),
        "ljung_box_p": float(stats.chi2.sf(q, lags)),
    }


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
        level_change=level_change,
        slope_change=slope_change,
        difference_in_level_change=difference_in_level,
        difference_in_slope_change=difference_in_slope,
        relative_effect=relative,
        absolute_effect=absolute,
        cumulative_effect=cumulative,
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
    if options.autocorrelation != "ar1":
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
        n=len(frame), n_pre=n_pre, n_post=n_post,
        level_change=None, slope_change=None,
        difference_in_level_change=None, difference_in_slope_change=None,
        relative_effect=None, absolute_effect=None, cumulative_effect=None,
        coefficients={}, fitted=fitted, diagnostics={}, warnings=tuple(notes),
        methods="No model was fitted: " + notes[-1],
    )  # fmt: skip


def _horizon_effects(prepared, options, inference: _Inference, columns, frame, notes):
    """Relative and absolute effect in the treated series ``horizon`` periods after the last pre-period point."""
    t_h = prepared.intervention_t - 1 + options.horizon
    treated = frame.loc[frame["is_treated"]]
    last_post = int(treated["t"].max())
    if t_h > last_post:
        notes.append(
            f"The horizon of {options.horizon} periods lies beyond the last observed period, so the "
            "relative and absolute effects there are extrapolated from the fitted lines."
        )
    nearest = treated.iloc[int(np.argmin(np.abs(treated["t"].to_numpy() - t_h)))]
    offset_h = float(nearest["offset"])
    row_args = ([t_h], [1], [1], [prepared.treated_label], prepared, options)
    x_h = _design(*row_args).reindex(columns=columns).to_numpy()[0]
    level_term, slope_term = _effect_terms(prepared, options)
    x_cf = x_h.copy()
    difference = np.zeros_like(x_h)
    for term in (level_term, slope_term):
        if term is not None:
            index = list(columns).index(term)
            x_cf[index] = 0.0
            difference[index] = x_h[index]
    params = inference.fit.params
    if inference.count:
        ratio = inference.linear(difference)
        relative = Estimate(
            ratio.estimate - 1, ratio.ci_low - 1, ratio.ci_high - 1, ratio.p_value,
            "proportion", options.conf_level, ratio.estimate * ratio.se,
        )  # fmt: skip
        fitted_h = math.exp(x_h @ params + offset_h)
        cf_h = math.exp(x_cf @ params + offset_h)
        absolute = inference.delta(fitted_h - cf_h, fitted_h * x_h - cf_h * x_cf)
        return relative, absolute
    absolute = inference.linear(difference)
    cf_h = float(x_cf @ params)
    if cf_h <= 0:
        notes.append(
            "The relative effect is not reported because the counterfactual at the horizon is not positive."
        )
        return None, absolute
    change = float(difference @ params)
    gradient = difference / cf_h - change * x_cf / cf_h**2
    return inference.delta(change / cf_h, gradient, "proportion"), absolute


def _cumulative_effect(inference: _Inference, X_post, X_cf, offset, count) -> Estimate:
    params = inference.fit.params
    if count:
        fitted = np.exp(X_post @ params + offset)
        cf = np.exp(X_cf @ params + offset)
        gradient = (fitted[:, None] * X_post - cf[:, None] * X_cf).sum(axis=0)
        return inference.delta(float(np.sum(fitted - cf)), gradient)
    gradient = (X_post - X_cf).sum(axis=0)
    return inference.delta(float(gradient @ params), gradient)


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
            " and a slope change centred at the last pre-period point, so the level change is the step at "
            "the interruption."
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
                f"{count_comparison} pooled comparison series (own intercepts; shared trend, level and slope change)"
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
    if options.harmonics:
        parts.append(
            f"Seasonality was modelled by {options.harmonics} Fourier pair{'s' if options.harmonics > 1 else ''} "
            f"(sine and cosine) with period {options.period}."
        )
    else:
        parts.append("No seasonal terms were included.")
    if options.hac_lags is not None:
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
    elif options.autocorrelation == "ar1":
        within = " within each series and independent between series" if prepared.controlled else ""
        scale_text = (
            f"the scale re-estimated as the Pearson chi-squared over its expectation under that correlation "
            f"({fit.extra['ar1_scale']:.3g})"
            if options.family in ("gaussian", "quasipoisson")
            else "the scale fixed at 1 by the family"
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
            f"the {'difference in ' if prepared.controlled else ''}level change, at most {fit.df_resid - 1})"
        )
        refs += [REFERENCES["satterthwaite_1946"], REFERENCES["giesbrecht_burns_1985"]]
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
        f"Relative and absolute effects are reported {options.horizon} periods after the last pre-period point "
        "against the counterfactual (the pre-period trend extended"
        + (", plus the comparison group's change" if prepared.controlled else "")
        + "), with delta-method intervals for absolute and cumulative effects."
    )
    return " ".join(parts) + "\n\nReferences: " + " ".join(refs)


__all__ = ["ITSOptions", "ITSResult", "NestedComparison", "compare_nested", "fit_its"]
