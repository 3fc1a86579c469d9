"""Coverage of the placebo-variance intervals and size of the placebo test, by simulation.

The panel is shaped like the demo donor pools: 12 donors and one treated site, 24 months before and
24 after go-live, unit levels and trends, a seasonal cycle and common random-walk shocks with unit
loadings, AR(1) noise (rho 0.4). The treated site is drawn like the donors (the exchangeability the
placebo methods assume) plus a known effect of 5.

Replicates: a 95% interval's coverage estimated from R replicates has standard error
sqrt(0.95 * 0.05 / R); for the 93-97% band to hold a truly nominal method with probability 0.99 the
band's half-width (2 points) must be 2.58 standard errors, so R >= 0.0475 / (0.02 / 2.58)^2 = 791.
R = 1000 (standard error 0.69 points). The weights are found with the exact solver (the same
objectives as synthdid's Frank-Wolfe, which is 100-1000 times slower and stops early only in the
last decimals).

Measured (seeds below): SDID 89.1%, SC 92.1%, DID 92.6% — below 93% (misses split about evenly
between the two tails). With one treated unit Algorithm 4
is the spread of the 12 donor placebos, and a normal quantile on a spread from 12 units undercovers
(about 91% if the placebo estimates were normal: P(|t_11| < 1.96 sqrt(11/12))). These stay strict
xfails with the numbers; the band is not loosened. (For the record: a t(11) quantile with the
unbiased spread would give 93.3%, 93.1% and 95.7% on the same replicates; that is not Algorithm 4.)
"""

from __future__ import annotations

import numpy as np
import pytest

from mhin_eval.analysis.synth import estimate_matrix

pytestmark = pytest.mark.slow

DONORS, PRE, POST, EFFECT, REPLICATES = 12, 24, 24, 5.0, 1000
Z = 1.959963984540054


def _panel(rng: np.random.Generator, effect: float) -> np.ndarray:
    n, periods = DONORS + 1, PRE + POST
    t = np.arange(periods)
    level = rng.normal(100, 15, n)
    trend = rng.normal(-0.1, 0.05, n)
    loading = rng.uniform(0.5, 1.5, n)
    shared = 8 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 1.0, periods))
    noise = np.zeros((n, periods))
    noise[:, 0] = rng.normal(0, 3, n)
    for k in range(1, periods):
        noise[:, k] = 0.4 * noise[:, k - 1] + rng.normal(0, 3, n)
    Y = level[:, None] + trend[:, None] * t + loading[:, None] * shared + noise
    Y[DONORS:, PRE:] += effect
    return Y


def _simulate(method: str, effect: float, seed: int):
    rng = np.random.default_rng(seed)
    rows = [estimate_matrix(_panel(rng, effect), DONORS, PRE, method, solver="exact") for _ in range(REPLICATES)]
    return np.array(rows)


@pytest.fixture(scope="module")
def runs():
    return {method: _simulate(method, EFFECT, seed) for method, seed in
            (("sdid", 170401), ("sc", 170402), ("did", 170403))}


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_estimates_are_unbiased(runs, method):
    estimates = runs[method][:, 0]
    assert abs(estimates.mean() - EFFECT) < 3 * estimates.std() / np.sqrt(REPLICATES)


@pytest.mark.xfail(strict=True, reason="measured coverage SDID 89.1%, SC 92.1%, DID 92.6% (R = 1000): "
                   "the placebo variance from 12 donors with a normal quantile undercovers")
@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_placebo_intervals_cover_the_true_effect_93_to_97_percent(runs, method):
    estimate, se = runs[method][:, 0], runs[method][:, 1]
    coverage = np.mean(np.abs(estimate - EFFECT) <= Z * se)
    assert 0.93 <= coverage <= 0.97


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_misses_fall_on_both_sides(runs, method):
    """Each tail misses 2.5% nominally; neither side takes (nearly) all the misses."""
    estimate, se = runs[method][:, 0], runs[method][:, 1]
    below, above = np.mean(estimate + Z * se < EFFECT), np.mean(estimate - Z * se > EFFECT)
    assert 0.01 <= below <= 0.08 and 0.01 <= above <= 0.08


def test_placebo_test_has_its_nominal_size_without_an_effect():
    """Under exchangeability the rank test is exact: P(p <= 2/13) = 2/13."""
    p_values = _simulate("sdid", 0.0, 170404)[:, 2]
    rejected = np.mean(p_values <= 2 / 13 + 1e-12)
    se = np.sqrt((2 / 13) * (11 / 13) / REPLICATES)
    assert abs(rejected - 2 / 13) < 3 * se
