"""Coverage of the 95% CI of the ITS level change on simulated monthly counts (seeded).

Design: 72 months, go-live at month 37, baseline 200 events a month, trend +0.2% a month, true
level change RR 0.85 with a slope change of +0.2% a month, annual seasonality (two harmonics),
log-scale multiplicative noise, Poisson counts. Fitted with quasi-Poisson and 2 Fourier pairs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.its import ITSOptions, fit_its

pytestmark = pytest.mark.slow

N_MONTHS, GO_LIVE, TRUE_LEVEL_RATIO, REPLICATES = 72, 37, 0.85, 500
NEWEY_WEST_LAG = math.floor(4 * (N_MONTHS / 100) ** (2 / 9))  # Newey & West (1994) rule: 3 for 72 months


def _coverage(options: ITSOptions, rho: float, noise_sd: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    t = np.arange(1, N_MONTHS + 1)
    post = t >= GO_LIVE
    log_mean = (
        math.log(200)
        + 0.002 * t
        + np.where(post, math.log(TRUE_LEVEL_RATIO) + 0.002 * (t - (GO_LIVE - 1)), 0.0)
        + 0.10 * np.sin(2 * np.pi * t / 12)
        + 0.05 * np.cos(2 * np.pi * t / 12)
        + 0.03 * np.sin(4 * np.pi * t / 12)
    )
    covered = 0
    for _ in range(REPLICATES):
        noise = np.empty(N_MONTHS)
        noise[0] = rng.normal(0, noise_sd)
        innovations = rng.normal(0, noise_sd * math.sqrt(1 - rho**2), N_MONTHS)
        for i in range(1, N_MONTHS):
            noise[i] = rho * noise[i - 1] + innovations[i]
        counts = rng.poisson(np.exp(log_mean + noise)).astype(float)
        level = fit_its(pd.DataFrame({"time": t, "value": counts}), GO_LIVE, options=options).level_change
        covered += level.ci_low <= TRUE_LEVEL_RATIO <= level.ci_high
    return covered / REPLICATES


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Measured coverage 0.868 (seed 20240611, 500 replicates): Newey-West standard errors are too small "
        "in a 72-point series even with the n/(n-k) adjustment and t(n-k) inference (independent noise "
        "gives 0.904 with seed 20240612; model-based SEs give 0.898 under this AR(1) noise), a known small-sample bias of HAC estimators with trending, "
        "high-leverage regressors. Not tuned; reported."
    ),
)
def test_newey_west_covers_level_change_under_ar1_noise():
    options = ITSOptions(family="quasipoisson", harmonics=2, hac_lags=NEWEY_WEST_LAG, small_sample=True)
    coverage = _coverage(options, rho=0.4, noise_sd=0.06, seed=20240611)
    print(f"Newey-West lag {NEWEY_WEST_LAG}, small-sample: coverage {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


def test_model_based_quasi_poisson_covers_level_change_without_autocorrelation():
    options = ITSOptions(family="quasipoisson", harmonics=2)
    coverage = _coverage(options, rho=0.0, noise_sd=0.06, seed=20240612)
    print(f"model-based quasi-Poisson, independent noise: coverage {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97
