"""Controlled ITS: California's Proposition 99 (first post year 1989) against the 38 other states pooled.

Data: Abadie, Diamond & Hainmueller (2010), shared/reference/cigsales_prop99.csv. No published
controlled-ITS numbers exist for this design, so these tests check facts that a wrong design matrix,
wrong counterfactual or pooled (cross-series) autocorrelation would break.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mhin_eval.analysis.its import ITSOptions, fit_its

CALIFORNIA = 3
GO_LIVE = 1989


@pytest.fixture(scope="module")
def cigsales(reference_dir):
    return pd.read_csv(reference_dir / "cigsales_prop99.csv")


def _fit(data, **options):
    return fit_its(
        data,
        GO_LIVE,
        time="year",
        value="cigsale",
        group="state_id",
        treated=CALIFORNIA,
        options=ITSOptions(family="gaussian", **options),
    )


def _hand_design(data: pd.DataFrame):
    """The controlled segmented-regression design built independently, California rows first."""
    data = pd.concat(
        [data[data.state_id == CALIFORNIA].sort_values("year"), data[data.state_id != CALIFORNIA]]
    ).reset_index(drop=True)
    data = pd.concat([data.iloc[:31], data.iloc[31:].sort_values(["state_id", "year"])]).reset_index(
        drop=True
    )
    year = data.year.to_numpy(float)
    post = (year >= GO_LIVE).astype(float)
    since = (year - (GO_LIVE - 1)) * post
    treated = (data.state_id == CALIFORNIA).to_numpy(float)
    columns = [
        np.ones(len(data)),
        year,
        post,
        since,
        treated,
        treated * year,
        treated * post,
        treated * since,
    ]
    others = sorted(set(data.state_id) - {CALIFORNIA})
    columns += [(data.state_id == state).to_numpy(float) for state in others[1:]]
    return data, np.column_stack(columns)


def test_coefficients_and_model_based_ses_match_hand_built_ols(cigsales):
    result = _fit(cigsales)
    data, X = _hand_design(cigsales)
    ols = sm.OLS(data.cigsale.to_numpy(float), X).fit()
    assert np.array(list(result.coefficients.values())) == pytest.approx(ols.params, abs=1e-8)
    assert result.difference_in_level_change.estimate == pytest.approx(ols.params[6], abs=1e-8)
    assert result.difference_in_slope_change.estimate == pytest.approx(ols.params[7], abs=1e-8)
    assert result.level_change.estimate == pytest.approx(ols.params[2] + ols.params[6], abs=1e-8)
    assert (result.n, result.n_pre, result.n_post, result.n_comparison) == (39 * 31, 19, 12, 38 * 31)


def test_treated_changes_have_the_se_and_df_of_california_fitted_alone(cigsales):
    """With a scale per series, California's own changes depend on California's residuals only:
    their intervals are those of an OLS fit to California's 31 years (t on 31 - 4 = 27 df), not
    of a pooled fit with 1,164 residual df dominated by 38 noisier states."""
    result = _fit(cigsales)
    alone = cigsales[cigsales.state_id == CALIFORNIA].sort_values("year")
    year = alone.year.to_numpy(float)
    post = (year >= GO_LIVE).astype(float)
    X = np.column_stack([np.ones_like(year), year, post, (year - (GO_LIVE - 1)) * post])
    ols = sm.OLS(alone.cigsale.to_numpy(float), X).fit()
    assert ols.df_resid == 27
    assert result.level_change.se == pytest.approx(ols.bse[2], rel=1e-9)
    assert (result.level_change.ci_low, result.level_change.ci_high) == pytest.approx(
        tuple(ols.conf_int()[2]), rel=1e-9
    )
    assert (result.slope_change.ci_low, result.slope_change.ci_high) == pytest.approx(
        tuple(ols.conf_int()[3]), rel=1e-9
    )
    assert result.diagnostics["series_df_treated"] == pytest.approx(27)
    assert 27 < result.diagnostics["df_level_change"] < 40
    assert "a residual scale for each series" in result.methods


def test_newey_west_stays_within_each_series(cigsales):
    result = _fit(cigsales, hac_lags=2)
    data, X = _hand_design(cigsales)
    y = data.cigsale.to_numpy(float)
    groups = pd.factorize(data.state_id)[0]
    within = sm.OLS(y, X).fit(
        cov_type="hac-panel", cov_kwds={"groups": groups, "maxlags": 2, "use_correction": False}
    )
    across = sm.OLS(y, X).fit(
        cov_type="hac-groupsum", cov_kwds={"time": data.year.to_numpy(int) - 1970, "maxlags": 2}
    )
    assert result.difference_in_level_change.se == pytest.approx(within.bse[6], rel=1e-8)
    assert result.difference_in_slope_change.se == pytest.approx(within.bse[7], rel=1e-8)
    # Driscoll-Kraay sums scores across series at each year, i.e. lets states share error terms
    assert abs(result.difference_in_level_change.se / across.bse[6] - 1) > 0.05
    assert "within each series" in result.methods


def test_pooled_comparison_equals_comparison_mean_series_for_balanced_ols(cigsales):
    pooled = _fit(cigsales)
    mean_of_others = (
        cigsales[cigsales.state_id != CALIFORNIA]
        .groupby("year", as_index=False)
        .cigsale.mean()
        .assign(state_id=0)
    )
    two_series = pd.concat([cigsales[cigsales.state_id == CALIFORNIA], mean_of_others])
    single = _fit(two_series)
    assert single.difference_in_level_change.estimate == pytest.approx(
        pooled.difference_in_level_change.estimate, abs=1e-8
    )
    assert single.difference_in_slope_change.estimate == pytest.approx(
        pooled.difference_in_slope_change.estimate, abs=1e-8
    )


def test_prop99_effect_direction(cigsales):
    result = _fit(cigsales, hac_lags=2)
    assert result.difference_in_slope_change.estimate < 0
    assert result.difference_in_slope_change.ci_high < 0
    assert result.difference_in_level_change.estimate < 0
    assert result.relative_effect.estimate < 0
    assert result.relative_effect.ci_high < 0
    assert result.absolute_effect.estimate == pytest.approx(
        result.difference_in_level_change.estimate + 12 * result.difference_in_slope_change.estimate, abs=1e-8
    )


def test_counterfactual_only_changes_treated_post_rows(cigsales):
    fitted = _fit(cigsales).fitted
    treated_post = (fitted["group"] == CALIFORNIA) & fitted["post"]
    assert np.allclose(fitted.loc[~treated_post, "counterfactual"], fitted.loc[~treated_post, "fitted"])
    california_2000 = fitted[(fitted["group"] == CALIFORNIA) & (fitted["time"] == 2000)].iloc[0]
    assert california_2000.observed < california_2000.counterfactual
    assert california_2000.fitted < california_2000.counterfactual
    assert (
        california_2000.counterfactual_low
        < california_2000.counterfactual
        < california_2000.counterfactual_high
    )


def test_prais_winsten_controlled_keeps_every_row(cigsales):
    result = _fit(cigsales, standard_errors="prais-winsten")
    assert result.n == 39 * 31
    assert 0 < result.diagnostics["rho"] < 1
    assert "Prais-Winsten" in result.methods
