"""ITS model fitting and inference: GLM/OLS fits, Newey-West, AR(1) and Prais-Winsten covariances,
per-series scales for controlled designs, Wald estimates and residual diagnostics (see its.py)."""

from __future__ import annotations

import math
import warnings as pywarnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import optimize, sparse, stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from mhin_eval.analysis.results import AnalysisError, Estimate

if TYPE_CHECKING:
    from mhin_eval.analysis.its import ITSOptions

AR1_RHO_BOUNDS = (-0.9, 0.95)

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
    series_scales: _SeriesScales | None = None

    def df_for(self, vectors: np.ndarray) -> np.ndarray:
        """Degrees of freedom of the t reference for each row of ``vectors`` (contrasts or gradients)."""
        vectors = np.atleast_2d(vectors)
        if self.ar1 is not None:
            return self.ar1.satterthwaite_df(vectors)
        if self.series_scales is not None:
            return self.series_scales.satterthwaite_df(vectors)
        return np.full(len(vectors), float(self.df_resid))


@dataclass
class _SeriesScales:
    """Model-based covariance with one residual scale per series, for controlled ITS.

    ``parts[s]`` is series s's share of the covariance, ``phi_s B^-1 X_s'W_s X_s B^-1``; ``df[s]`` its
    residual degrees of freedom, n_s minus the leverages of its rows (the parameters it uses). A
    contrast's degrees of freedom combine them by Welch-Satterthwaite (Welch 1947), so a short, noisy
    treated series sets the df of its own changes however many comparison series there are.
    """

    cov: np.ndarray
    parts: np.ndarray
    df: np.ndarray
    scales: dict
    labels: list

    def satterthwaite_df(self, vectors: np.ndarray) -> np.ndarray:
        shares = np.einsum("ij,sjk,ik->is", vectors, self.parts, vectors)
        spread = np.sum(shares**2 / self.df, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(spread > 0, shares.sum(axis=1) ** 2 / spread, self.df[0])
        return np.clip(np.nan_to_num(df, nan=float(self.df[0])), 1.0, None)


def _leverages(scaled: np.ndarray, bread: np.ndarray) -> np.ndarray:
    return np.einsum("ij,jk,ik->i", scaled, bread, scaled)


def _series_scales(X: np.ndarray, weights: np.ndarray, residuals: np.ndarray, series: np.ndarray) -> _SeriesScales:
    """Per-series Pearson scale ``sum(r_s^2) / (n_s - sum(h_s))`` and the covariance it implies.

    ``residuals`` are Pearson residuals (raw for least squares), ``weights`` the GLM working weights.
    The treated series comes first in the model rows, so it is the first series here.
    """
    scaled = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(scaled.T @ scaled)
    leverage = _leverages(scaled, bread)
    labels = list(pd.unique(series))
    parts, dfs, scales = [], [], {}
    for label in labels:
        rows = series == label
        df = max(float(rows.sum() - leverage[rows].sum()), 1.0)
        phi = float(residuals[rows] @ residuals[rows]) / df
        block = scaled[rows]
        parts.append(phi * bread @ (block.T @ block) @ bread)
        dfs.append(df)
        scales[label] = phi
    parts_array = np.array(parts)
    return _SeriesScales(parts_array.sum(axis=0), parts_array, np.array(dfs), scales, labels)


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
    per_series: bool = False,
) -> _AR1Covariance:
    """Sandwich covariance under an AR(1) working correlation with a moment-matched rho (module docstring).

    ``residuals`` are Pearson residuals (raw residuals for least squares) and ``weights`` the GLM
    working weights, so ``Var(score) = scale * X'W^1/2 R W^1/2 X`` (Liang & Zeger 1986).
    The correlation is a polynomial in rho over the time lags, so each trace the moment equation needs is
    a sum over lags of precomputed per-lag sums, and every product with the residual maker ``M = I - H``
    goes through the rank-k hat matrix (no n-by-n-by-n product).
    """
    n, k = X.shape
    scaled = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(scaled.T @ scaled)
    hat_left = scaled @ bread
    residual_maker = np.eye(n) - hat_left @ scaled.T

    def project(matrix: np.ndarray) -> np.ndarray:
        return matrix - hat_left @ (scaled.T @ matrix)

    codes = pd.factorize(series)[0]
    same_series = codes[:, None] == codes[None, :]
    lags = np.abs(t[:, None] - t[None, :])
    max_lag = int(lags[same_series].max())
    lag_index = np.where(same_series, lags, max_lag + 1)  # max_lag + 1: rows of different series
    lag_one = lag_index == 1
    lag_pairs = lag_one / 2.0
    pair_rows, pair_cols = np.nonzero(lag_one)
    lag_pairs_sparse = sparse.csr_matrix((np.full(len(pair_rows), 0.5), (pair_rows, pair_cols)), shape=(n, n))
    projected_lags = project(np.asarray(lag_pairs_sparse @ residual_maker))
    sum_squares = float(residuals @ residuals)
    lag_products = float(residuals @ lag_pairs @ residuals)
    raw_rho = lag_products / sum_squares if sum_squares > 0 else 0.0

    flat_index = lag_index.ravel()
    lag_sums_projected = np.bincount(flat_index, weights=projected_lags.ravel(), minlength=max_lag + 2)[: max_lag + 1]
    lag_sums_maker = np.bincount(flat_index, weights=residual_maker.ravel(), minlength=max_lag + 2)[: max_lag + 1]
    exponents = np.arange(max_lag + 1, dtype=float)

    def correlation(rho: float) -> np.ndarray:
        return np.append(np.power(rho, exponents), 0.0)[lag_index]

    def expected_ratio(rho: float) -> float:
        powers = np.power(rho, exponents)
        return float((powers @ lag_sums_projected) / (powers @ lag_sums_maker))

    def trace_mr(rho: float) -> float:
        return float(np.power(rho, exponents) @ lag_sums_maker)

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
    middle_at_rho = middle(rho)
    cov = scale * middle_at_rho
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
    d_sum_squares = d_cov_d_rho * d_rho_d_q0 + (middle_at_rho / trace if estimate_scale else 0.0)
    d_lag_products = d_cov_d_rho * d_rho_d_q1

    correlation_at_rho = correlation(rho)
    squares_part = project(scale * correlation_at_rho)  # M E, E = scale R
    lags_part = project(np.asarray(lag_pairs_sparse @ squares_part))  # M A M E
    q_cov = 2 * np.array(
        [
            [np.sum(squares_part * squares_part.T), np.sum(squares_part * lags_part.T)],
            [np.sum(lags_part * squares_part.T), np.sum(lags_part * lags_part.T)],
        ]
    )
    max_df = float(n - k - 1)
    if per_series and estimate_scale and sum_squares > 0:
        error_rows = np.sum(residual_maker * correlation_at_rho.T, axis=1)
        leverage = _leverages(scaled, bread)
        spread = np.ones(n)
        for label in pd.unique(series):
            rows = series == label
            spread[rows] = float(residuals[rows] @ residuals[rows]) / max(float(error_rows[rows].sum()), 1e-12)
        root = np.sqrt(spread)
        cov = bread @ (scaled.T @ (correlation_at_rho * np.outer(root, root)) @ scaled) @ bread
        treated = series == series[0]
        max_df = max(float(treated.sum() - leverage[treated].sum()) - 1.0, 1.0)
        scale = float(spread[0])
    return _AR1Covariance(
        cov=cov,
        d_sum_squares=d_sum_squares,
        d_lag_products=d_lag_products,
        q_cov=q_cov,
        rho=float(rho),
        raw_rho=float(raw_rho),
        scale=float(scale),
        at_bound=at_bound,
        max_df=max_df,
    )


def _newey_west_meat(
    scores: np.ndarray, t: np.ndarray, series: np.ndarray, lags: int, across_series: bool = False
) -> np.ndarray:
    """Sum of Bartlett-weighted score cross-products at time lags 0..L within each series (Newey & West 1987).

    ``across_series`` instead lays the series end to end in label order, as Stata's ``glm, vce(hac
    nwest)`` does with a stacked panel (``itsa`` 3.x), so lag products also pair the last period of one
    series with the first of the next.
    """
    k = scores.shape[1]
    grids = []
    for label in sorted(pd.unique(series), key=_label_order) if across_series else pd.unique(series):
        rows = series == label
        times = t[rows] - t[rows].min()
        grid = np.zeros((int(times.max()) + 1, k))
        grid[times] = scores[rows]
        grids.append(grid)
    meat = np.zeros((k, k))
    for grid in [np.vstack(grids)] if across_series else grids:
        meat += grid.T @ grid
        for lag in range(1, min(lags, len(grid) - 1) + 1):
            weight = 1 - lag / (lags + 1)
            gamma = grid[lag:].T @ grid[:-lag]
            meat += weight * (gamma + gamma.T)
    return meat


def _label_order(label) -> tuple:
    try:
        return (0, float(label), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(label))


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
            X_fit = Xv
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
            X_fit = Xv
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            notes.append(
                f"The model fit reported a convergence problem ({warning.message}); treat it with caution."
            )

    if options.newey_west:
        meat = _newey_west_meat(scores, t, series, options.hac_lags, options.hac_across_series)
        cov = bread @ meat @ bread
        if options.small_sample:
            cov = cov * n / (n - k)
    controlled = len(pd.unique(series)) > 1
    scaled_family = options.family in ("gaussian", "quasipoisson")
    series_scales = None
    if controlled and scaled_family and options.standard_errors in ("model", "prais-winsten"):
        X_scaled = X_fit if options.family == "gaussian" else Xv
        series_scales = _series_scales(X_scaled, working_weights, np.asarray(pearson, dtype=float), series)
        cov = series_scales.cov
        extra["series_scale_treated"] = series_scales.scales[series_scales.labels[0]]
        extra["series_df_treated"] = float(series_scales.df[0])
    ar1 = None
    if options.ar1:
        ar1 = _ar1_covariance(
            Xv, working_weights, np.asarray(pearson, dtype=float), t, series,
            estimate_scale=scaled_family, per_series=controlled,
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
        options.small_sample or ar1 is not None or (options.family == "gaussian" and not options.newey_west)
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
        series_scales=series_scales,
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
