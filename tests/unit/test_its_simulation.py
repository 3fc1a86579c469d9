"""Coverage of the 95% CI of the ITS level change on simulated monthly series (seeded).

Design: 72 months, go-live at month 37, baseline 200 events a month, trend +0.2% a month, true
level change RR 0.85 with a slope change of +0.2% a month, annual seasonality (two harmonics),
log-scale multiplicative noise, Poisson counts. Fitted with quasi-Poisson and 2 Fourier pairs.
The issue 3 acceptance setting is AR(1) noise with rho = 0.4; bench/its_coverage.py compares every
candidate on these series (docs/its-coverage.md). Gaussian series: the same months, level about 50,
true level change -4, AR(1) noise with sd 2, fitted by least squares.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.its import ITSOptions, fit_its

pytestmark = pytest.mark.slow

N_MONTHS, GO_LIVE, TRUE_LEVEL_RATIO, REPLICATES = 72, 37, 0.85, 500
TRUE_LEVEL_DIFFERENCE = -4.0
NEWEY_WEST_LAG = math.floor(4 * (N_MONTHS / 100) ** (2 / 9))  # Newey & West (1994) rule: 3 for 72 months


def _ar1_noise(rng: np.random.Generator, rho: float, sd: float) -> np.ndarray:
    noise = np.empty(N_MONTHS)
    noise[0] = rng.normal(0, sd)
    innovations = rng.normal(0, sd * math.sqrt(1 - rho**2), N_MONTHS)
    for i in range(1, N_MONTHS):
        noise[i] = rho * noise[i - 1] + innovations[i]
    return noise


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
        counts = rng.poisson(np.exp(log_mean + _ar1_noise(rng, rho, noise_sd))).astype(float)
        level = fit_its(pd.DataFrame({"time": t, "value": counts}), GO_LIVE, options=options).level_change
        covered += level.ci_low <= TRUE_LEVEL_RATIO <= level.ci_high
    return covered / REPLICATES


def _gaussian_coverage(options: ITSOptions, rho: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    t = np.arange(1, N_MONTHS + 1)
    post = t >= GO_LIVE
    mean = (
        50
        + 0.1 * t
        + np.where(post, TRUE_LEVEL_DIFFERENCE + 0.05 * (t - (GO_LIVE - 1)), 0.0)
        + 3 * np.sin(2 * np.pi * t / 12)
        + 1.5 * np.cos(2 * np.pi * t / 12)
    )
    covered = 0
    for _ in range(REPLICATES):
        values = mean + _ar1_noise(rng, rho, 2.0)
        level = fit_its(pd.DataFrame({"time": t, "value": values}), GO_LIVE, options=options).level_change
        covered += level.ci_low <= TRUE_LEVEL_DIFFERENCE <= level.ci_high
    return covered / REPLICATES


def test_ar1_option_covers_level_change_under_ar1_noise():
    """Issue 3 acceptance: quasi-Poisson, 2 harmonics, AR(1) noise rho = 0.4, 500 series, 93-97%.

    Measured 0.948 (seed 20240611; the same series give 0.868 for Newey-West below).
    """
    options = ITSOptions(family="quasipoisson", harmonics=2, standard_errors="ar1")
    coverage = _coverage(options, rho=0.4, noise_sd=0.06, seed=20240611)
    print(f"AR(1) sandwich, moment-matched rho, Satterthwaite df: coverage {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


def test_ar1_option_does_not_over_cover_without_autocorrelation():
    """Independent noise: the AR(1) option must not buy coverage with needlessly wide intervals (measured 0.960)."""
    options = ITSOptions(family="quasipoisson", harmonics=2, standard_errors="ar1")
    coverage = _coverage(options, rho=0.0, noise_sd=0.06, seed=20240612)
    print(f"AR(1) option, independent noise: coverage {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


def test_ar1_option_covers_gaussian_level_change_under_ar1_noise():
    """Least squares with AR(1) noise rho = 0.4 (measured 0.952; model-based OLS gives 0.772 on these series)."""
    options = ITSOptions(family="gaussian", harmonics=2, standard_errors="ar1")
    coverage = _gaussian_coverage(options, rho=0.4, seed=20240613)
    print(f"AR(1) option, gaussian: coverage {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Measured coverage 0.868 (seed 20240611, 500 replicates): Newey-West standard errors are too small "
        "in a 72-point series even with the n/(n-k) adjustment and t(n-k) inference (independent noise "
        "gives 0.904 with seed 20240612; model-based SEs give 0.898 under this AR(1) noise), a known "
        "small-sample bias of HAC estimators with trending, high-leverage regressors (Turner et al. 2021). "
        "Not tuned; kept as the measured comparison for autocorrelation='ar1' (0.948 on the same series)."
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
