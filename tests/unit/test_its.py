"""Unit tests of interrupted time series: estimators against hand computations, conventions, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.optimize import brentq
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson
from statsmodels.tsa.stattools import acf

from mhin_eval.analysis.its import ITSOptions, compare_nested, fit_its
from mhin_eval.analysis.results import AnalysisError

GO_LIVE = 25


def _counts(n=48, seed=1, level=0.8, slope=1.01, base=120.0, noise=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    post = t >= GO_LIVE
    mean = base * np.exp(0.004 * t) * np.where(post, level * slope ** (t - (GO_LIVE - 1)), 1.0)
    mean = mean * np.exp(noise * rng.standard_normal(n))
    return pd.DataFrame({"time": t, "value": rng.poisson(mean).astype(float)})


def _continuous(n=60, seed=2, rho=0.0, sd=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    post = (t >= GO_LIVE).astype(float)
    errors = np.empty(n)
    errors[0] = rng.normal(0, sd / math.sqrt(1 - rho**2))
    for i in range(1, n):
        errors[i] = rho * errors[i - 1] + rng.normal(0, sd)
    value = 50 + 0.2 * t - 4 * post - 0.1 * (t - (GO_LIVE - 1)) * post + errors
    return pd.DataFrame({"time": t, "value": value})


def _design(t, go_live=GO_LIVE):
    post = (t >= go_live).astype(float)
    return np.column_stack([np.ones(len(t)), t, post, (t - (go_live - 1)) * post])


# --- Prais-Winsten --------------------------------------------------------------------------------


def _hand_prais_winsten(y, X):
    """Iterated Prais-Winsten written out step by step: rho from regressing e_t on e_{t-1}."""
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    rho = 0.0
    for _ in range(500):
        e = y - X @ beta
        new_rho = sum(e[i] * e[i - 1] for i in range(1, len(e))) / sum(
            e[i - 1] ** 2 for i in range(1, len(e))
        )
        y_star = [math.sqrt(1 - new_rho**2) * y[0]] + [y[i] - new_rho * y[i - 1] for i in range(1, len(y))]
        X_star = [math.sqrt(1 - new_rho**2) * X[0]] + [X[i] - new_rho * X[i - 1] for i in range(1, len(y))]
        y_star, X_star = np.array(y_star), np.array(X_star)
        beta = np.linalg.solve(X_star.T @ X_star, X_star.T @ y_star)
        if abs(new_rho - rho) < 1e-12:
            break
        rho = new_rho
    resid = y_star - X_star @ beta
    sigma2 = resid @ resid / (len(y) - X.shape[1])
    return rho, beta, np.sqrt(np.diag(sigma2 * np.linalg.inv(X_star.T @ X_star)))


def test_prais_winsten_matches_hand_computation():
    data = _continuous(rho=0.6)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="prais-winsten"))
    rho, beta, se = _hand_prais_winsten(data.value.to_numpy(), _design(data.time.to_numpy(float)))
    assert result.diagnostics["rho"] == pytest.approx(rho, abs=1e-8)
    assert [result.coefficients[k] for k in ("intercept", "trend", "level_change", "slope_change")] == (
        pytest.approx(beta, abs=1e-7)
    )
    assert result.level_change.se == pytest.approx(se[2], rel=1e-6)
    assert result.slope_change.se == pytest.approx(se[3], rel=1e-6)
    assert result.n == len(data)
    critical = stats.t.ppf(0.975, len(data) - 4)
    assert result.level_change.ci_high - result.level_change.estimate == pytest.approx(
        critical * se[2], rel=1e-6
    )


def test_prais_winsten_keeps_first_observation_unlike_glsar():
    data = _continuous(rho=0.6)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="prais-winsten"))
    glsar = sm.GLSAR(data.value.to_numpy(), _design(data.time.to_numpy(float)), rho=1).iterative_fit(50)
    assert glsar.nobs == len(data) - 1
    assert result.level_change.estimate != pytest.approx(glsar.params[2], abs=1e-6)


def test_prais_winsten_recovers_autocorrelation_of_long_series():
    data = _continuous(n=1500, rho=0.6, seed=5)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="prais-winsten"))
    assert result.diagnostics["rho"] == pytest.approx(0.6, abs=0.05)
    assert abs(result.diagnostics["acf"][0]) < 0.1


def test_prais_winsten_bridges_a_gap_with_rho_to_the_power_of_the_gap():
    data = _continuous(rho=0.5).drop(index=[10, 11])
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="prais-winsten"))
    rho = result.diagnostics["rho"]
    y, t = data.value.to_numpy(), data.time.to_numpy(float)
    X = _design(t)
    rows = []
    for i in range(len(y)):
        if i == 0:
            rows.append((math.sqrt(1 - rho**2) * y[0], math.sqrt(1 - rho**2) * X[0]))
            continue
        gap = int(t[i] - t[i - 1])
        scale = math.sqrt((1 - rho**2) / (1 - rho ** (2 * gap)))
        rows.append((scale * (y[i] - rho**gap * y[i - 1]), scale * (X[i] - rho**gap * X[i - 1])))
    y_star = np.array([r[0] for r in rows])
    X_star = np.array([r[1] for r in rows])
    beta = np.linalg.lstsq(X_star, y_star, rcond=None)[0]
    assert result.coefficients["level_change"] == pytest.approx(beta[2], abs=1e-8)


# --- negative binomial ----------------------------------------------------------------------------


def test_negative_binomial_dispersion_is_estimated_not_fixed():
    rng = np.random.default_rng(11)
    n, alpha = 72, 0.08
    t = np.arange(1, n + 1)
    post = t >= 37
    mean = 60 * np.exp(0.003 * t) * np.where(post, 0.8, 1.0)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mean))
    denominator = np.full(n, 1000.0) + 10 * t
    data = pd.DataFrame({"time": t, "value": y.astype(float), "pop": denominator})
    result = fit_its(data, 37, offset="pop", options=ITSOptions(family="negbin", slope_change=False))
    estimated = result.diagnostics["alpha"]
    assert estimated != pytest.approx(1.0, abs=0.5)
    assert 0.02 < estimated < 0.2
    X = np.column_stack([np.ones(n), t, post.astype(float)])
    reference = NegativeBinomial(y, X, loglike_method="nb2", offset=np.log(denominator)).fit(
        disp=0, maxiter=500
    )
    assert estimated == pytest.approx(reference.params[-1], rel=1e-4)
    assert math.log(result.level_change.estimate) == pytest.approx(reference.params[2], abs=1e-5)
    assert result.level_change.se == pytest.approx(reference.bse[2], rel=1e-3)
    assert "alpha" in result.methods and result.diagnostics["aic"] is not None


# --- Newey-West -----------------------------------------------------------------------------------


def test_newey_west_matches_statsmodels_and_small_sample_adjustment_scales_it():
    data = _counts(noise=0.08)
    n, k = len(data), 4
    plain = fit_its(data, GO_LIVE, options=ITSOptions(hac_lags=3))
    adjusted = fit_its(data, GO_LIVE, options=ITSOptions(hac_lags=3, small_sample=True))
    X = _design(data.time.to_numpy(float))
    glm = sm.GLM(data.value.to_numpy(), X, family=sm.families.Poisson()).fit(
        cov_type="HAC", cov_kwds={"maxlags": 3, "use_correction": False}
    )
    assert plain.level_change.se == pytest.approx(glm.bse[2], rel=1e-7)
    assert adjusted.level_change.se == pytest.approx(
        plain.level_change.se * math.sqrt(n / (n - k)), rel=1e-10
    )
    assert adjusted.level_change.estimate == plain.level_change.estimate
    z = abs(math.log(plain.level_change.estimate)) / plain.level_change.se
    assert plain.level_change.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-10)
    t_stat = abs(math.log(adjusted.level_change.estimate)) / adjusted.level_change.se
    assert adjusted.level_change.p_value == pytest.approx(2 * stats.t.sf(t_stat, n - k), rel=1e-10)
    assert adjusted.level_change.ci_high > plain.level_change.ci_high
    assert "lag 3" in plain.methods and "R sandwich" in plain.methods
    assert "n/(n-k)" in adjusted.methods and "Stata newey" in adjusted.methods


def test_newey_west_quasi_poisson_equals_poisson_sandwich():
    data = _counts(noise=0.1)
    quasi = fit_its(data, GO_LIVE, options=ITSOptions(family="quasipoisson", hac_lags=2))
    poisson = fit_its(data, GO_LIVE, options=ITSOptions(family="poisson", hac_lags=2))
    assert quasi.level_change.se == pytest.approx(poisson.level_change.se, rel=1e-10)


def test_newey_west_lag_zero_is_the_robust_sandwich():
    data = _continuous()
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", hac_lags=0))
    ols = sm.OLS(data.value.to_numpy(), _design(data.time.to_numpy(float))).fit(cov_type="HC0")
    assert result.level_change.se == pytest.approx(ols.bse[2], rel=1e-10)


def test_newey_west_lags_count_time_not_rows():
    """Dropping a month must not make the months either side of the gap look adjacent."""
    data = _counts(noise=0.1).drop(index=[30])
    result = fit_its(data, GO_LIVE, options=ITSOptions(hac_lags=1))
    X = _design(data.time.to_numpy(float))
    y = data.value.to_numpy()
    glm = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    scores = X * (y - glm.fittedvalues)[:, None]
    bread = np.linalg.inv(X.T @ (X * glm.fittedvalues[:, None]))
    t = data.time.to_numpy()
    meat = scores.T @ scores
    for i in range(1, len(t)):
        if t[i] - t[i - 1] == 1:
            gamma = 0.5 * np.outer(scores[i], scores[i - 1])
            meat += gamma + gamma.T
    expected = np.sqrt(np.diag(bread @ meat @ bread))
    assert result.level_change.se == pytest.approx(expected[2], rel=1e-8)


# --- dates, gaps, effects -------------------------------------------------------------------------


def test_dates_with_missing_months_warn_and_keep_calendar_spacing():
    data = _counts(noise=0.05)
    data["month"] = pd.date_range("2019-04-01", periods=len(data), freq="MS")
    gappy = data.drop(index=[3, 4, 40])
    result = fit_its(gappy, data.month.iloc[GO_LIVE - 1], time="month", options=ITSOptions(harmonics=1))
    gap_warning = [w for w in result.warnings if "No data" in w]
    assert len(gap_warning) == 1
    assert "2019-07" in gap_warning[0] and "2019-08" in gap_warning[0] and "2022-08" in gap_warning[0]
    assert np.diff(result.fitted["time"].to_numpy()).max() == 3
    integer = fit_its(gappy.assign(time=gappy.time + 3), GO_LIVE + 3, options=ITSOptions(harmonics=1))
    assert result.level_change.estimate == pytest.approx(integer.level_change.estimate, rel=1e-10)
    assert result.fitted["period"].iloc[0] == pd.Timestamp("2019-04-01")
    assert result.n == len(gappy)


def test_dates_as_strings_are_read_as_months():
    data = _counts()
    data["month"] = pd.date_range("2020-01-01", periods=len(data), freq="MS").strftime("%Y-%m-%d")
    result = fit_its(data, "2022-01-01", time="month")
    assert result.n_pre == 24 and result.n_post == 24
    assert result.level_change is not None


def test_relative_absolute_and_cumulative_effects_for_counts():
    data = _counts(noise=0.05)
    result = fit_its(data, GO_LIVE, options=ITSOptions(horizon=6))
    expected_ratio = result.level_change.estimate * result.slope_change.estimate**6
    assert result.relative_effect.estimate == pytest.approx(expected_ratio - 1, rel=1e-10)
    log_low = math.log(result.relative_effect.ci_low + 1)
    log_high = math.log(result.relative_effect.ci_high + 1)
    assert (log_low + log_high) / 2 == pytest.approx(math.log(expected_ratio), rel=1e-10)
    row = result.fitted[result.fitted.time == GO_LIVE - 1 + 6].iloc[0]
    assert result.absolute_effect.estimate == pytest.approx(row.fitted - row.counterfactual, rel=1e-10)
    post = result.fitted[result.fitted.post]
    assert result.cumulative_effect.estimate == pytest.approx(
        (post.fitted - post.counterfactual).sum(), rel=1e-10
    )
    pre = result.fitted[~result.fitted.post]
    assert np.allclose(pre.fitted, pre.counterfactual)
    assert (result.fitted.fitted_low < result.fitted.fitted).all()
    assert (result.fitted.fitted < result.fitted.fitted_high).all()


def test_gaussian_effects_and_t_inference():
    data = _continuous()
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", horizon=10))
    ols = sm.OLS(data.value.to_numpy(), _design(data.time.to_numpy(float))).fit()
    assert result.scale == "difference"
    assert result.level_change.estimate == pytest.approx(ols.params[2], abs=1e-10)
    assert (result.level_change.ci_low, result.level_change.ci_high) == pytest.approx(
        tuple(ols.conf_int()[2])
    )
    assert result.level_change.p_value == pytest.approx(ols.pvalues[2], rel=1e-8)
    assert result.absolute_effect.estimate == pytest.approx(ols.params[2] + 10 * ols.params[3], abs=1e-10)
    row = result.fitted[result.fitted.time == GO_LIVE - 1 + 10].iloc[0]
    assert result.relative_effect.estimate == pytest.approx(
        (row.fitted - row.counterfactual) / row.counterfactual, rel=1e-10
    )
    assert result.diagnostics["aic"] == pytest.approx(ols.aic)


def test_horizon_beyond_data_warns():
    result = fit_its(_counts(n=30), GO_LIVE, options=ITSOptions(horizon=12))
    assert any("extrapolated" in w for w in result.warnings)


def test_diagnostics_match_statsmodels_ljung_box_and_durbin_watson():
    data = _continuous(n=60, seed=4, rho=0.5)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian"))
    residuals = (result.fitted["observed"] - result.fitted["fitted"]).to_numpy()
    d = result.diagnostics
    lags = d["ljung_box_lags"]
    assert lags == 12
    expected = acorr_ljungbox(residuals, lags=[lags])
    assert d["ljung_box_q"] == pytest.approx(float(expected["lb_stat"].iloc[0]), rel=1e-9)
    assert d["ljung_box_p"] == pytest.approx(float(expected["lb_pvalue"].iloc[0]), rel=1e-9)
    assert d["acf"] == pytest.approx(list(acf(residuals, nlags=lags, fft=False)[1:]), rel=1e-9)
    assert d["durbin_watson"] == pytest.approx(durbin_watson(residuals), rel=1e-12)


def test_count_diagnostics_use_pearson_residuals():
    data = _counts(noise=0.1)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="quasipoisson"))
    fitted = result.fitted
    pearson = ((fitted["observed"] - fitted["fitted"]) / np.sqrt(fitted["fitted"])).to_numpy()
    d = result.diagnostics
    assert d["dispersion"] == pytest.approx(pearson @ pearson / (len(pearson) - 4), rel=1e-6)
    assert d["dispersion"] > 1
    assert d["durbin_watson"] == pytest.approx(durbin_watson(pearson), rel=1e-6)
    assert d["aic"] is None


def test_compare_nested_refuses_poisson_and_mismatched_models():
    data = _counts()
    poisson = fit_its(data, GO_LIVE, options=ITSOptions(family="poisson"))
    with pytest.raises(AnalysisError, match="likelihood-ratio"):
        compare_nested(poisson, poisson)
    small = fit_its(data, GO_LIVE, options=ITSOptions(slope_change=False))
    large = fit_its(data, GO_LIVE, options=ITSOptions())
    with pytest.raises(AnalysisError, match="terms"):
        compare_nested(large, small)
    assert 0 <= compare_nested(small, large).p_value <= 1


def test_methods_paragraph_follows_options():
    data = _counts().assign(pop=1000.0)
    result = fit_its(data, GO_LIVE, offset="pop", options=ITSOptions(harmonics=2, hac_lags=3))
    text = result.methods
    for phrase in (
        "quasi-Poisson",
        "log(pop)",
        "2 Fourier pairs",
        "period 12",
        "lag 3",
        "centred at the last",
    ):
        assert phrase in text
    assert "Lopez Bernal" in text and "Newey" in text and "Prais" not in text


def test_controlled_count_its_gives_ratio_of_rate_ratios():
    treated = _counts(seed=3, level=0.7, slope=1.0).assign(site="A")
    comparison = _counts(seed=4, level=1.0, slope=1.0).assign(site="B")
    data = pd.concat([treated, comparison])
    result = fit_its(data, GO_LIVE, group="site", treated="A", options=ITSOptions(family="poisson"))
    c = result.coefficients
    assert result.difference_in_level_change.estimate == pytest.approx(math.exp(c["treated_level_change"]))
    assert result.level_change.estimate == pytest.approx(
        math.exp(c["level_change"] + c["treated_level_change"])
    )
    assert result.difference_in_level_change.ci_low < 0.7 < result.difference_in_level_change.ci_high
    assert set(result.fitted["group"]) == {"A", "B"}
    assert (result.n, result.n_pre, result.n_post) == (96, 24, 24)


# --- edge cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_pre", "n_post"), [(2, 10), (10, 2), (0, 10)])
def test_too_few_points_gives_no_estimate_and_says_why(n_pre, n_post):
    data = _counts(n=60).query(f"time >= {GO_LIVE - n_pre} and time < {GO_LIVE + n_post}")
    result = fit_its(data, GO_LIVE)
    assert not result.has_estimates
    for name in (
        "level_change",
        "slope_change",
        "difference_in_level_change",
        "difference_in_slope_change",
        "relative_effect",
        "absolute_effect",
        "cumulative_effect",
    ):
        assert getattr(result, name) is None
    assert any("at least 3 are needed" in w for w in result.warnings)
    assert result.fitted["fitted"].isna().all() and len(result.fitted) == len(data)


def test_few_points_give_low_power_warning():
    data = _counts(n=60).query(f"time >= {GO_LIVE - 5} and time < {GO_LIVE + 20}")
    result = fit_its(data, GO_LIVE)
    assert result.has_estimates
    assert any(w.startswith("Low power") for w in result.warnings)
    assert not any("Low power" in w for w in fit_its(_counts(), GO_LIVE).warnings)


def test_poisson_overdispersion_suggests_quasi_poisson_or_negative_binomial():
    overdispersed = fit_its(_counts(noise=0.2), GO_LIVE, options=ITSOptions(family="poisson"))
    assert any("quasi-Poisson or negative binomial" in w for w in overdispersed.warnings)
    clean = fit_its(_counts(noise=0.0), GO_LIVE, options=ITSOptions(family="poisson"))
    assert not any("overdispersed" in w for w in clean.warnings)


@pytest.mark.parametrize("family", ["poisson", "quasipoisson", "negbin"])
def test_negative_or_fractional_counts_are_refused(family):
    negative = _counts().assign(value=lambda d: d.value.where(d.time != 5, -1.0))
    with pytest.raises(AnalysisError, match="negative"):
        fit_its(negative, GO_LIVE, options=ITSOptions(family=family))
    fractional = _counts().assign(value=lambda d: d.value + 0.5)
    with pytest.raises(AnalysisError, match="whole-number"):
        fit_its(fractional, GO_LIVE, options=ITSOptions(family=family))


def test_fractional_values_are_fine_for_gaussian():
    assert fit_its(_continuous(), GO_LIVE, options=ITSOptions(family="gaussian")).has_estimates


def test_all_zero_series_gives_no_estimate():
    result = fit_its(_counts().assign(value=0.0), GO_LIVE)
    assert not result.has_estimates
    assert any("every count in the series is zero" in w for w in result.warnings)


@pytest.mark.parametrize("family", ["gaussian", "quasipoisson"])
def test_constant_series_gives_no_estimate(family):
    result = fit_its(_counts().assign(value=7.0), GO_LIVE, options=ITSOptions(family=family))
    assert not result.has_estimates
    assert any("every value in the series is 7" in w for w in result.warnings)


def test_missing_values_are_dropped_with_a_count():
    data = _counts()
    data.loc[[2, 30, 31], "value"] = np.nan
    result = fit_its(data, GO_LIVE)
    assert result.n == len(data) - 3
    assert any(w.startswith("3 rows with a missing") for w in result.warnings)
    assert any("No data for 3, 31, 32" in w for w in result.warnings)


def test_duplicate_time_points_are_refused():
    data = pd.concat([_counts(), _counts().iloc[[5]]])
    with pytest.raises(AnalysisError, match="appears more than once"):
        fit_its(data, GO_LIVE)


def test_duplicates_within_one_comparison_series_are_refused_but_not_across_series():
    a, b = _counts(seed=1).assign(site="A"), _counts(seed=2).assign(site="B")
    assert fit_its(pd.concat([a, b]), GO_LIVE, group="site", treated="A").has_estimates
    with pytest.raises(AnalysisError, match="series 'B'"):
        fit_its(pd.concat([a, b, b.iloc[[3]]]), GO_LIVE, group="site", treated="A")


def test_offset_with_gaussian_is_ignored_with_a_warning():
    data = _continuous().assign(pop=500.0)
    result = fit_its(data, GO_LIVE, offset="pop", options=ITSOptions(family="gaussian"))
    plain = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian"))
    assert any("'pop' was ignored" in w for w in result.warnings)
    assert result.level_change.estimate == plain.level_change.estimate


def test_offset_enters_as_log_denominator():
    data = _counts().assign(pop=lambda d: 1000.0 + 5 * d.time)
    result = fit_its(data, GO_LIVE, offset="pop", options=ITSOptions(family="poisson"))
    glm = sm.GLM(
        data.value.to_numpy(),
        _design(data.time.to_numpy(float)),
        family=sm.families.Poisson(),
        offset=np.log(data["pop"]),
    ).fit()
    assert math.log(result.level_change.estimate) == pytest.approx(glm.params[2], abs=1e-8)
    with pytest.raises(AnalysisError, match="positive"):
        fit_its(data.assign(pop=0.0), GO_LIVE, offset="pop")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": "site", "treated": "Z"}, "No rows have site = 'Z'"),
        ({"group": "site"}, "treated"),
        ({"value": "missing"}, "no column 'missing'"),
    ],
)
def test_bad_arguments_are_explained(kwargs, message):
    data = _counts().assign(site="A")
    with pytest.raises(AnalysisError, match=message):
        fit_its(data, GO_LIVE, **kwargs)


def test_controlled_without_comparison_series_is_refused():
    with pytest.raises(AnalysisError, match="comparison series"):
        fit_its(_counts().assign(site="A"), GO_LIVE, group="site", treated="A")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"family": "binomial"}, "Unknown family"),
        ({"family": "poisson", "standard_errors": "prais-winsten"}, "gaussian family only"),
        ({"standard_errors": "ar2"}, "Unknown standard errors 'ar2'"),
        ({"slope_origin": "go-live"}, "slope_origin must be one of last-pre, first-post"),
        ({"comparison_intercepts": "none"}, "comparison_intercepts must be one of each, shared"),
        ({"standard_errors": "ar1", "hac_across_series": True}, "Newey-West standard errors only"),
        ({"harmonics": 6}, "Fourier pairs"),
        ({"horizon": 0}, "horizon"),
    ],
)
def test_invalid_options_are_refused(options, message):
    with pytest.raises(AnalysisError, match=message):
        ITSOptions(**options)


def test_text_in_value_column_is_refused_not_dropped():
    data = _counts().astype({"value": object})
    data.loc[4, "value"] = "n/a"
    with pytest.raises(AnalysisError, match="'n/a'"):
        fit_its(data, GO_LIVE)


def test_rows_without_a_series_label_are_dropped_with_a_count():
    a, b = _counts(seed=1).assign(site="A"), _counts(seed=2).assign(site="B")
    data = pd.concat([a, b], ignore_index=True).astype({"site": object})
    data.loc[[50, 51], "site"] = None
    result = fit_its(data, GO_LIVE, group="site", treated="A")
    assert result.n == len(data) - 2
    assert any("2 rows with a missing time, value or group were dropped." == w for w in result.warnings)


# --- AR(1) autocorrelation option -----------------------------------------------------------------


def _ols_residuals(data, X):
    y = data["value"].to_numpy(dtype=float)
    return y - X @ np.linalg.lstsq(X, y, rcond=None)[0]


def _ar1_by_hand(residuals, X, t, weights=None, estimate_scale=True):
    """The AR(1) option written out with explicit matrices: moment-matched rho, sandwich, and
    Satterthwaite df of the level change (column 2) from numerically differentiating the variance
    as a function of the two residual quadratic forms."""
    n, k = X.shape
    weights = np.ones(n) if weights is None else weights
    Xs = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(Xs.T @ Xs)
    M = np.eye(n) - Xs @ bread @ Xs.T
    distance = np.abs(t[:, None] - t[None, :])
    A = (distance == 1) / 2.0

    def rho_and_variance(q0, q1):
        def gap(rho):
            R = rho**distance
            return np.trace(M @ A @ M @ R) / np.trace(M @ R) - q1 / q0

        rho = brentq(gap, -0.9, 0.95, xtol=1e-12)
        R = rho**distance
        scale = q0 / np.trace(M @ R) if estimate_scale else 1.0
        cov = scale * bread @ Xs.T @ R @ Xs @ bread
        return rho, scale, cov

    q0, q1 = residuals @ residuals, residuals @ A @ residuals
    rho, scale, cov = rho_and_variance(q0, q1)
    h0, h1 = 1e-5 * q0, 1e-5 * q0
    g0 = (rho_and_variance(q0 + h0, q1)[2][2, 2] - rho_and_variance(q0 - h0, q1)[2][2, 2]) / (2 * h0)
    g1 = (rho_and_variance(q0, q1 + h1)[2][2, 2] - rho_and_variance(q0, q1 - h1)[2][2, 2]) / (2 * h1)
    S = scale * rho**distance
    P0, P1 = M @ S, M @ A @ M @ S
    V = 2 * np.array([[np.trace(P0 @ P0), np.trace(P0 @ P1)], [np.trace(P1 @ P0), np.trace(P1 @ P1)]])
    gradient = np.array([g0, g1])
    df = 2 * cov[2, 2] ** 2 / (gradient @ V @ gradient)
    return rho, scale, cov, min(df, n - k - 1)


def test_ar1_option_keeps_estimates_and_matches_hand_computation():
    data = _continuous(n=60, seed=7, rho=0.5)
    t = data["time"].to_numpy(dtype=float)
    X = _design(t)
    rho, scale, cov, df = _ar1_by_hand(_ols_residuals(data, X), X, t)
    plain = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian"))
    ar1 = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="ar1"))
    assert ar1.coefficients == pytest.approx(plain.coefficients, rel=1e-12)
    assert ar1.level_change.estimate == pytest.approx(plain.level_change.estimate, rel=1e-12)
    assert ar1.diagnostics["ar1_rho"] == pytest.approx(rho, abs=1e-8)
    assert ar1.diagnostics["ar1_scale"] == pytest.approx(scale, rel=1e-8)
    assert ar1.level_change.se == pytest.approx(math.sqrt(cov[2, 2]), rel=1e-8)
    assert ar1.diagnostics["df_level_change"] == pytest.approx(df, rel=1e-4)
    half_width = stats.t.ppf(0.975, df) * math.sqrt(cov[2, 2])
    assert ar1.level_change.ci_high - ar1.level_change.estimate == pytest.approx(half_width, rel=1e-4)
    assert ar1.slope_change.se == pytest.approx(math.sqrt(cov[3, 3]), rel=1e-8)


def test_ar1_rho_corrects_the_downward_bias_of_the_residual_autocorrelation():
    rng = np.random.default_rng(11)
    raw, corrected = [], []
    for seed in rng.integers(0, 2**31, size=40):
        data = _continuous(n=60, seed=int(seed), rho=0.5, sd=1.0)
        result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="ar1"))
        raw.append(result.diagnostics["ar1_lag1_autocorrelation"])
        corrected.append(result.diagnostics["ar1_rho"])
    assert np.mean(raw) < 0.43
    assert abs(np.mean(corrected) - 0.5) < abs(np.mean(raw) - 0.5) / 2


def test_ar1_poisson_keeps_scale_one_and_uses_working_weights():
    data = _counts(n=48, seed=3, noise=0.05)
    t = data["time"].to_numpy(dtype=float)
    X = _design(t)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="poisson", standard_errors="ar1"))
    glm = sm.GLM(data["value"].to_numpy(), X, family=sm.families.Poisson()).fit(tol=1e-12)
    mean = glm.fittedvalues
    residuals = (data["value"].to_numpy() - mean) / np.sqrt(mean)
    rho, scale, cov, df = _ar1_by_hand(residuals, X, t, weights=mean, estimate_scale=False)
    assert result.diagnostics["ar1_lag1_autocorrelation"] == pytest.approx(
        np.sum(residuals[1:] * residuals[:-1]) / np.sum(residuals**2), rel=1e-6
    )
    assert scale == 1.0 and result.diagnostics["ar1_scale"] == 1.0
    assert result.level_change.se == pytest.approx(math.sqrt(cov[2, 2]), rel=1e-5)
    assert result.diagnostics["df_level_change"] == pytest.approx(df, rel=1e-3)


def test_ar1_correlation_decays_across_a_gap_and_pairs_only_consecutive_periods():
    data = _continuous(n=60, seed=9, rho=0.4).drop(index=[10, 40]).reset_index(drop=True)
    t = data["time"].to_numpy(dtype=float)
    X = _design(t)
    rho, _, cov, _ = _ar1_by_hand(_ols_residuals(data, X), X, t)
    result = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", standard_errors="ar1"))
    assert result.diagnostics["ar1_rho"] == pytest.approx(rho, abs=1e-8)
    assert result.level_change.se == pytest.approx(math.sqrt(cov[2, 2]), rel=1e-8)


def test_ar1_controlled_its_keeps_series_independent():
    a = _counts(seed=1, noise=0.05).assign(site="A")
    b = _counts(seed=2, noise=0.05, level=1.0, slope=1.0).assign(site="B")
    data = pd.concat([a, b], ignore_index=True)
    result = fit_its(
        data,
        GO_LIVE,
        group="site",
        treated="A",
        options=ITSOptions(family="quasipoisson", standard_errors="ar1"),
    )
    plain = fit_its(data, GO_LIVE, group="site", treated="A", options=ITSOptions(family="quasipoisson"))
    fitted = plain.fitted["fitted"].to_numpy()
    residuals = (plain.fitted["observed"].to_numpy() - fitted) / np.sqrt(fitted)
    within = [r[1:] @ r[:-1] for r in (residuals[plain.fitted["group"] == s] for s in ("A", "B"))]
    assert result.diagnostics["ar1_lag1_autocorrelation"] == pytest.approx(
        sum(within) / (residuals @ residuals)
    )
    assert result.difference_in_level_change.estimate == pytest.approx(
        plain.difference_in_level_change.estimate
    )
    assert result.difference_in_level_change.se != pytest.approx(plain.difference_in_level_change.se)
    assert "working correlation within each series and independent between series (Liang" in result.methods


def test_ar1_methods_text_names_the_method_and_its_references():
    result = fit_its(_counts(noise=0.05), GO_LIVE, options=ITSOptions(standard_errors="ar1"))
    for phrase in (
        "AR(1) working correlation",
        "Liang & Zeger 1986",
        "Satterthwaite",
        "Marriott & Pope 1954",
    ):
        assert phrase in result.methods
    assert f"{result.diagnostics['ar1_rho']:.3f}" in result.methods
    assert "Newey-West" not in result.methods.split("References:")[0]


def test_ar1_with_too_few_residual_degrees_of_freedom_gives_no_estimate():
    data = pd.DataFrame({"time": range(1, 7), "value": [10.0, 12, 11, 7, 6, 8]})
    result = fit_its(data, 4, options=ITSOptions(family="gaussian", standard_errors="ar1"))
    assert not result.has_estimates
    assert "AR(1)" in result.warnings[-1] and "6 points for 4 terms" in result.warnings[-1]


def test_ar1_without_consecutive_periods_gives_no_estimate():
    data = pd.DataFrame({"time": range(1, 40, 2), "value": np.arange(20.0) + np.tile([0.0, 1.0], 10)})
    result = fit_its(data, 21, options=ITSOptions(family="gaussian", standard_errors="ar1"))
    assert not result.has_estimates
    assert "consecutive" in result.warnings[-1]


def test_ar1_strong_trend_misfit_hits_the_rho_bound_with_a_warning():
    t = np.arange(1, 61)
    data = pd.DataFrame({"time": t, "value": 50 + 0.02 * (t - 30) ** 2 + 0.01 * np.sin(t)})
    result = fit_its(data, 31, options=ITSOptions(family="gaussian", standard_errors="ar1"))
    assert result.diagnostics["ar1_rho"] == pytest.approx(0.95)
    assert any("edge of what the AR(1)" in w for w in result.warnings)
    assert result.diagnostics["df_level_change"] >= 1


@pytest.mark.parametrize(
    ("options", "expected", "lags"),
    [
        ({}, "model", None),
        ({"hac_lags": 2}, "newey-west", 2),
        ({"standard_errors": "newey-west"}, "newey-west", 3),
        ({"standard_errors": "ar1", "hac_lags": 3}, "ar1", 3),
    ],
)
def test_standard_errors_default_from_the_newey_west_lag(options, expected, lags):
    chosen = ITSOptions(**options)
    assert (chosen.standard_errors, chosen.hac_lags) == (expected, lags)


# --- issue 11: itsa conventions, per-series scales, headline average effect, tidy -------------------


def test_first_post_slope_origin_moves_the_step_by_one_slope_change():
    data = _continuous(n=60, seed=3)
    last_pre = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian"))
    first_post = fit_its(data, GO_LIVE, options=ITSOptions(family="gaussian", slope_origin="first-post"))
    assert first_post.level_change.estimate == pytest.approx(
        last_pre.level_change.estimate + last_pre.slope_change.estimate, rel=1e-10
    )
    assert first_post.slope_change.estimate == pytest.approx(last_pre.slope_change.estimate, rel=1e-10)
    assert first_post.fitted["fitted"].to_numpy() == pytest.approx(last_pre.fitted["fitted"].to_numpy())
    assert first_post.average_effect.estimate == pytest.approx(last_pre.average_effect.estimate, rel=1e-10)
    t = data["time"].to_numpy(dtype=float)
    post = (t >= GO_LIVE).astype(float)
    X = np.column_stack([np.ones_like(t), t, post, (t - GO_LIVE) * post])
    ols = sm.OLS(data["value"].to_numpy(), X).fit()
    assert first_post.level_change.se == pytest.approx(ols.bse[2], rel=1e-9)


def test_shared_comparison_intercept_drops_the_series_terms():
    sites = [_counts(seed=s, base=100.0 + 40 * s).assign(site=name) for s, name in enumerate("ABC", start=1)]
    data = pd.concat(sites, ignore_index=True)
    each = fit_its(data, GO_LIVE, group="site", treated="A")
    shared = fit_its(data, GO_LIVE, group="site", treated="A", options=ITSOptions(comparison_intercepts="shared"))
    assert "series[C]" in each.coefficients and not any(k.startswith("series[") for k in shared.coefficients)
    assert len(each.coefficients) == len(shared.coefficients) + 1
    assert (each.n_pre, each.n_post, each.n_comparison, each.n) == (24, 24, 96, 144)


def test_controlled_model_based_errors_use_each_series_own_scale():
    quiet = _continuous(n=48, seed=5, sd=0.2).assign(site="B")
    noisy = _continuous(n=48, seed=6, sd=5.0).assign(site="A")
    data = pd.concat([noisy, quiet], ignore_index=True)
    result = fit_its(data, GO_LIVE, group="site", treated="A", options=ITSOptions(family="gaussian"))
    alone = fit_its(noisy, GO_LIVE, options=ITSOptions(family="gaussian"))
    assert result.level_change.se == pytest.approx(alone.level_change.se, rel=1e-9)
    assert result.level_change.ci_low == pytest.approx(alone.level_change.ci_low, rel=1e-9)
    assert result.diagnostics["series_df_treated"] == pytest.approx(44)
    assert 44 <= result.diagnostics["df_level_change"] < 46


def test_average_effect_is_the_headline_and_relative_effect_is_at_the_horizon():
    result = fit_its(_counts(n=60, level=0.8, slope=1.01), GO_LIVE, options=ITSOptions(horizon=12))
    level, slope = result.level_change.estimate, result.slope_change.estimate
    trend = math.exp(result.coefficients["trend"])
    months = np.arange(1, 13)
    expected = np.sum(trend**months * level * slope**months) / np.sum(trend**months)
    assert result.average_effect.estimate == pytest.approx(expected, rel=1e-9)
    assert result.relative_effect.estimate + 1 == pytest.approx(level * slope**12, rel=1e-9)
    assert result.average_effect.scale == "ratio" and result.average_effect.se > 0
    assert "averaged over the first 12 months" in result.methods


def test_tidy_lists_each_reported_quantity_once():
    sites = [_counts(seed=1).assign(site="A"), _counts(seed=2, level=1.0, slope=1.0).assign(site="B")]
    result = fit_its(pd.concat(sites, ignore_index=True), GO_LIVE, group="site", treated="A")
    table = result.tidy()
    assert list(table.columns) == ["quantity", "estimate", "ci_low", "ci_high", "p_value", "se", "scale", "description"]
    assert table["quantity"].tolist() == [
        "average_effect", "level_change", "slope_change", "difference_in_level_change",
        "difference_in_slope_change", "relative_effect", "absolute_effect", "cumulative_effect",
    ]  # fmt: skip
    row = table.set_index("quantity").loc["difference_in_level_change"]
    assert row["estimate"] == result.difference_in_level_change.estimate and row["scale"] == "ratio"
    assert "against the comparison group" in table.set_index("quantity").loc["average_effect", "description"]
    empty = fit_its(_counts(n=6), 5)
    assert not empty.has_estimates and empty.average_effect is None and empty.tidy().empty


def test_ar1_controlled_gives_each_series_its_scale_and_the_treated_series_df():
    treated = _continuous(n=48, seed=12, rho=0.4, sd=3.0).assign(site="A")
    comparison = _continuous(n=48, seed=13, rho=0.4, sd=0.5).assign(site="B")
    data = pd.concat([treated, comparison], ignore_index=True)
    result = fit_its(data, GO_LIVE, group="site", treated="A", options=ITSOptions(family="gaussian", standard_errors="ar1"))
    t = data["time"].to_numpy(dtype=float)
    z = (data["site"] == "A").to_numpy(dtype=float)
    X = _design(t)
    X = np.column_stack([X, z, z * X[:, 1], z * X[:, 2], z * X[:, 3]])
    e = data["value"].to_numpy() - X @ np.linalg.lstsq(X, data["value"].to_numpy(), rcond=None)[0]
    bread = np.linalg.inv(X.T @ X)
    M = np.eye(len(t)) - X @ bread @ X.T
    same = z[:, None] == z[None, :]
    distance = np.where(same, np.abs(t[:, None] - t[None, :]), np.inf)
    A = (distance == 1) / 2.0

    def correlation(rho):
        return np.where(same, rho ** np.where(same, distance, 0.0), 0.0)

    rho = brentq(lambda r: np.trace(M @ A @ M @ correlation(r)) / np.trace(M @ correlation(r)) - (e @ A @ e) / (e @ e),
                 -0.9, 0.95, xtol=1e-12)  # fmt: skip
    MR = np.diag(M @ correlation(rho))
    scales = np.where(z == 1, e[z == 1] @ e[z == 1] / MR[z == 1].sum(), e[z == 0] @ e[z == 0] / MR[z == 0].sum())
    root = np.sqrt(scales)
    cov = bread @ X.T @ (correlation(rho) * np.outer(root, root)) @ X @ bread
    assert result.diagnostics["ar1_rho"] == pytest.approx(rho, abs=1e-8)
    assert result.diagnostics["ar1_scale"] == pytest.approx(scales[0], rel=1e-8)
    assert result.difference_in_level_change.se == pytest.approx(math.sqrt(cov[6, 6]), rel=1e-8)
    assert result.diagnostics["df_level_change"] <= 48 - 4 - 1
    assert "a scale for each series" in result.methods


@pytest.mark.parametrize(
    ("settings", "overrides", "expected"),
    [
        ({}, {}, ("ar1", 3)),
        ({"standard_errors": "model"}, {}, ("model", 3)),
        ({"standard_errors": None, "autocorrelation": "ar1"}, {}, ("ar1", 3)),
        ({}, {"hac_lags": 2}, ("newey-west", 2)),
        ({}, {"standard_errors": "prais-winsten", "family": "gaussian"}, ("prais-winsten", 3)),
    ],
)
def test_default_its_options_read_the_catalogue_standard_errors(catalogue, settings, overrides, expected):
    from dataclasses import replace

    from mhin_eval import evaluate

    changed = replace(catalogue, settings={**catalogue.settings, **settings})
    options = evaluate.default_its_options(changed, changed.indicators[0], **overrides)
    assert (options.standard_errors, options.hac_lags) == expected
