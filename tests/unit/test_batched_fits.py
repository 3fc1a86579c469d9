"""The fast paths of the ITS fit give the numbers of the plain computations they replace.

Each reference below is the straightforward version the fast code replaced (dense n-by-n AR(1) algebra,
a model frame built column by column with pandas, site totals aggregated month by month, before/after pairs
from a pivot); the fast code must agree with it to 1e-8 on random designs with gaps, several series and
missing rows. The records computed in batches of worker processes are compared with single fits in tests/unit/test_recompute.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from mhin_eval import evaluate
from mhin_eval.analysis.its import ITSOptions
from mhin_eval.analysis.its_data import _gaps, _prepare
from mhin_eval.analysis.its_inference import AR1_RHO_BOUNDS, _ar1_covariance, _AR1Covariance, _leverages
from mhin_eval.analysis.prepost import _pair
from mhin_eval.periods import as_timestamp


def _dense_ar1(X, weights, residuals, t, series, estimate_scale, per_series=False) -> _AR1Covariance:
    """The AR(1) sandwich with every trace and product formed from n-by-n matrices."""
    n, k = X.shape
    scaled = X * np.sqrt(weights)[:, None]
    bread = np.linalg.inv(scaled.T @ scaled)
    maker = np.eye(n) - scaled @ bread @ scaled.T
    distance = np.where(series[:, None] == series[None, :], np.abs(t[:, None] - t[None, :]).astype(float), np.inf)
    lags = (distance == 1) / 2.0
    projected = maker @ lags @ maker
    q0, q1 = float(residuals @ residuals), float(residuals @ lags @ residuals)
    raw = q1 / q0
    finite = np.isfinite(distance)

    def corr(rho):
        return np.where(finite, np.power(rho, np.where(finite, distance, 0.0)), 0.0)

    def ratio(rho):
        return float(np.sum(projected * corr(rho)) / np.sum(maker * corr(rho)))

    def trace(rho):
        return float(np.sum(maker * corr(rho)))

    def middle(rho):
        return bread @ (scaled.T @ corr(rho) @ scaled) @ bread

    low, high = AR1_RHO_BOUNDS
    at_bound = True
    if raw <= ratio(low):
        rho = low
    elif raw >= ratio(high):
        rho = high
    else:
        rho, at_bound = float(optimize.brentq(lambda r: ratio(r) - raw, low, high, xtol=1e-10)), False
    tr = trace(rho)
    scale = q0 / tr if estimate_scale else 1.0
    cov = scale * middle(rho)
    step = 1e-5
    d_cov = scale * (middle(rho + step) - middle(rho - step)) / (2 * step)
    if estimate_scale:
        d_cov = d_cov - (trace(rho + step) - trace(rho - step)) / (2 * step) / tr * cov
    slope = (ratio(rho + step) - ratio(rho - step)) / (2 * step)
    d_q1, d_q0 = (0.0, 0.0) if at_bound else (1 / (q0 * slope), -raw / (q0 * slope))
    error = scale * corr(rho)
    sq, lg = maker @ error, projected @ error
    q_cov = 2 * np.array([[np.sum(sq * sq.T), np.sum(sq * lg.T)], [np.sum(lg * sq.T), np.sum(lg * lg.T)]])
    max_df = float(n - k - 1)
    if per_series and estimate_scale:
        rows_error = np.sum(maker * corr(rho).T, axis=1)
        spread = np.ones(n)
        for label in pd.unique(series):
            rows = series == label
            spread[rows] = float(residuals[rows] @ residuals[rows]) / float(rows_error[rows].sum())
        cov = bread @ (scaled.T @ (corr(rho) * np.outer(np.sqrt(spread), np.sqrt(spread))) @ scaled) @ bread
        treated = series == series[0]
        max_df = max(float(treated.sum() - _leverages(scaled, bread)[treated].sum()) - 1.0, 1.0)
        scale = float(spread[0])
    d_squares = d_cov * d_q0 + (middle(rho) / tr if estimate_scale else 0.0)
    return _AR1Covariance(cov, d_squares, d_cov * d_q1, q_cov, rho, raw, scale, at_bound, max_df)


def _random_design(seed: int):
    rng = np.random.default_rng(seed)
    n_series, length = int(rng.integers(1, 4)), int(rng.integers(24, 72))
    t = np.concatenate([np.sort(rng.choice(length, size=int(length * 0.9), replace=False))
                        for _ in range(n_series)])
    series = np.repeat(np.array([f"s{i}" for i in range(n_series)], dtype=object), int(length * 0.9))
    n = len(t)
    X = np.column_stack([np.ones(n), t, t >= length // 2, np.sin(t / 2), np.cos(t / 2), rng.normal(size=n)])
    if n_series > 1:
        X = np.column_stack([X, series == "s0"])
    errors = np.zeros(n)
    for i in range(n):
        errors[i] = rng.normal() + (rng.uniform(-0.5, 0.8) * errors[i - 1] if i else 0.0)
    return X, rng.uniform(0.5, 3.0, n), errors, t, series


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("estimate_scale", [True, False])
def test_the_ar1_covariance_equals_the_dense_computation(seed, estimate_scale):
    X, weights, residuals, t, series = _random_design(seed)
    per_series = len(pd.unique(series)) > 1
    fast = _ar1_covariance(X, weights, residuals, t, series, estimate_scale, per_series)
    dense = _dense_ar1(X, weights, residuals, t, series, estimate_scale, per_series)
    assert fast.rho == pytest.approx(dense.rho, rel=1e-10, abs=1e-12)
    assert fast.raw_rho == pytest.approx(dense.raw_rho, rel=1e-12)
    assert fast.scale == pytest.approx(dense.scale, rel=1e-10)
    np.testing.assert_allclose(fast.cov, dense.cov, rtol=1e-10, atol=1e-14 * np.abs(dense.cov).max())
    np.testing.assert_allclose(fast.q_cov, dense.q_cov, rtol=1e-10)
    contrasts = np.random.default_rng(seed).normal(size=(4, X.shape[1]))
    np.testing.assert_allclose(fast.satterthwaite_df(contrasts), dense.satterthwaite_df(contrasts), rtol=1e-8)


def _pandas_prepare(data, intervention, time, value, offset, group, treated):
    """The model frame built column by column (dates, no checks that raise), and its notes."""
    frame = pd.DataFrame({"raw_time": data[time].to_numpy(), "observed": data[value].to_numpy(dtype=float)})
    frame["denominator"] = data[offset].to_numpy(dtype=float) if offset else 1.0
    frame["series"] = data[group].to_numpy(dtype=object) if group else "all"
    missing = frame["raw_time"].isna() | frame["observed"].isna() | frame["denominator"].isna()
    notes = [f"{int(missing.sum())} rows with a missing ..."] if missing.any() else []
    frame = frame.loc[~missing].reset_index(drop=True)
    periods = pd.to_datetime(frame["raw_time"]).dt.to_period("M").dt.to_timestamp()
    origin = int(periods.dt.year.min())
    frame["period"] = periods
    frame["t"] = ((periods.dt.year - origin) * 12 + periods.dt.month).astype(int)
    go_live = as_timestamp(intervention).to_period("M").to_timestamp()
    label = treated if group else "all"
    frame["is_treated"] = frame["series"] == label
    frame = frame.sort_values(["is_treated", "series", "t"], ascending=[False, True, True]).reset_index(drop=True)
    frame["offset"] = np.log(frame["denominator"]) if offset else 0.0
    frame["post"] = frame["t"] >= (go_live.year - origin) * 12 + go_live.month
    for _, rows in frame.groupby("series", sort=False):
        notes += ["gap"] if _gaps(rows["t"].to_numpy(), True, rows["period"]) else []
    return frame, notes


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("controlled", [False, True])
def test_the_model_frame_equals_the_one_built_column_by_column(seed, controlled):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2019-01-01", periods=48, freq="MS")
    parts = []
    for name in (["Treated", "Zed", "Alpha"] if controlled else ["Treated"]):
        keep = np.sort(rng.choice(48, size=int(rng.integers(40, 49)), replace=False))
        parts.append(pd.DataFrame({"period": months[keep], "value": rng.poisson(50, len(keep)).astype(float),
                                   "denominator": rng.integers(900, 1100, len(keep)).astype(float), "site": name}))
    data = pd.concat(parts).sample(frac=1, random_state=seed).reset_index(drop=True)
    data.loc[data.index[:2], "value"] = np.nan
    group, treated = ("site", "Treated") if controlled else (None, None)
    prepared = _prepare(data, "2021-01-01", "period", "value", "denominator", group, treated,
                        ITSOptions(family="quasipoisson"))
    expected, notes = _pandas_prepare(data, "2021-01-01", "period", "value", "denominator", group, treated)
    pd.testing.assert_frame_equal(prepared.frame, expected)
    assert len(prepared.warnings) == len(notes)


def _monthly_sums(rows: pd.DataFrame, skip: set) -> pd.DataFrame:
    """Each month's sum over the breakdown's groups, in months where every group has a value."""
    expected = set(rows["group"])
    rows = rows[~rows["period"].isin(skip)]
    valued = rows.dropna(subset=["value"]).groupby("period")["group"].agg(set)
    complete = [p for p in sorted(rows["period"].unique()) if valued.get(p, set()) == expected]
    part = rows[rows["period"].isin(complete)]
    return part.groupby("period", as_index=False).agg(
        value=("value", "sum"), denominator=("denominator", lambda d: d.sum(min_count=len(d))))


@pytest.mark.parametrize("seed", range(4))
def test_site_totals_from_groups_equal_the_month_by_month_sums(seed):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=24, freq="MS")
    rows = pd.DataFrame([(m, g) for m in months for g in ("a", "b", "c")], columns=["period", "group"])
    rows["value"] = rng.poisson(30, len(rows)).astype(float)
    rows["denominator"] = rng.uniform(100, 200, len(rows))
    rows.loc[rng.choice(len(rows), 4, replace=False), "value"] = np.nan
    rows.loc[rng.choice(len(rows), 3, replace=False), "denominator"] = np.nan
    rows = rows.drop(index=rng.choice(len(rows), 3, replace=False)).assign(breakdown="sex")
    summed, warnings = evaluate._summed_groups(rows, "sex", skip={months[0]})
    expected = _monthly_sums(rows, {months[0]})
    pd.testing.assert_frame_equal(summed.reset_index(drop=True), expected, rtol=1e-12)
    assert warnings and all("left out of the total" in w for w in warnings)


@pytest.mark.parametrize("seed", range(4))
def test_pairs_equal_the_pivot_of_before_and_after(seed):
    rng = np.random.default_rng(seed)
    rows = [(site, f"p{i}", point, float(rng.integers(0, 27)))
            for site in ("york", "hull") for i in rng.permutation(40)
            for point in ("baseline", "follow-up") if rng.uniform() < 0.85]
    data = pd.DataFrame(rows, columns=["site", "participant_id", "timepoint", "value"]).assign(measure="phq9")
    pairs = _pair(data, measure=None, before="baseline", after="follow-up", id_col="participant_id",
                  value_col="value")
    wide = data.pivot(index=["site", "participant_id"], columns="timepoint", values="value")
    complete = wide.dropna()
    np.testing.assert_array_equal(pairs.frame["before"], complete["baseline"])
    np.testing.assert_array_equal(pairs.frame["after"], complete["follow-up"])
    assert list(zip(pairs.frame["site"], pairs.frame["participant_id"], strict=True)) == list(complete.index)
    np.testing.assert_array_equal(pairs.baseline_only, wide.loc[wide["follow-up"].isna(), "baseline"].dropna())
    assert pairs.n_missing_baseline == int((wide["baseline"].isna() & wide["follow-up"].notna()).sum())
