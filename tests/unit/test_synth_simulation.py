"""Coverage of the placebo intervals and size of the placebo test, by simulation (issue 17, item 6).

The panel is shaped like the demo donor pools: 12 donors and one treated site, 24 months before and
24 after go-live, unit levels and trends, a seasonal cycle and common random-walk shocks with unit
loadings, AR(1) noise (rho 0.4). The treated site is drawn like the donors (the exchangeability the
placebo methods assume) plus a known effect of 5.

Seeds are fresh on every run (printed in each assertion message; set MHIN_SYNTH_SEED to replay one).

Replicates: R = 8000 per method. A coverage estimated from R replicates has standard error
sqrt(c (1 - c) / R), 0.27 points at c = 0.94. Measured with the interval of
mhin_eval.analysis.synth.placebo_spread (placebo effects rescaled by their pre-period RMSPE, t on 11
degrees of freedom): SDID 94.0%, SC 95.9%, DID 95.5% on 20,000 replicates each, and SDID 94.0/93.8%,
SC 95.2/95.7%, DID 96.0/95.8% on two fresh runs of 5,000; so the band 93-97% fails by chance with
probability about 0.05% (SDID, about 3.5 standard errors above 93%) and far less for SC and DID. The same
replicates with Arkhangelsky et al.'s Algorithm 4 as published (divisor 12, normal quantile) cover
SDID 90.1%, SC 92.0%, DID 92.5%, and with the unscaled spread and a t(11) quantile 93.7%, 93.4%, 95.9%:
test_algorithm_4_with_a_normal_quantile_undercovers keeps that on record. The weights are found with the
exact solver (the same objectives as synthdid's Frank-Wolfe, 100-1000 times faster). About 50 s of CPU
for the module (measured on a loaded 2-core machine: 2 minutes wall).
"""

from __future__ import annotations

import os
import secrets

import numpy as np
import pytest

from mhin_eval.analysis.synth import estimate_matrix

pytestmark = pytest.mark.slow

DONORS, PRE, POST, EFFECT, REPLICATES = 12, 24, 24, 5.0, 8000
Z = 1.959963984540054
SEED = int(os.environ.get("MHIN_SYNTH_SEED") or secrets.randbits(32))


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


def _simulate(method: str, effect: float, stream: int) -> np.ndarray:
    """Columns: estimate, ci_low, ci_high, p-value, Algorithm 4 se."""
    rng = np.random.default_rng([SEED, stream])
    rows = []
    for _ in range(REPLICATES):
        r = estimate_matrix(_panel(rng, effect), DONORS, PRE, method, solver="exact")
        rows.append((r.estimate, r.ci_low, r.ci_high, r.p_value, r.spread.algorithm4_se))
    return np.array(rows)


@pytest.fixture(scope="module")
def runs():
    return {method: _simulate(method, EFFECT, stream) for stream, method in enumerate(("sdid", "sc", "did"))}


def _seed_note(method: str) -> str:
    return f"{method}, R = {REPLICATES}, seed MHIN_SYNTH_SEED={SEED}"


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_estimates_are_unbiased(runs, method):
    estimates = runs[method][:, 0]
    assert abs(estimates.mean() - EFFECT) < 3 * estimates.std() / np.sqrt(REPLICATES), _seed_note(method)


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_placebo_intervals_cover_the_true_effect_93_to_97_percent(runs, method):
    low, high = runs[method][:, 1], runs[method][:, 2]
    coverage = np.mean((low <= EFFECT) & (EFFECT <= high))
    assert 0.93 <= coverage <= 0.97, f"coverage {coverage:.4f} ({_seed_note(method)})"


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_misses_fall_on_both_sides(runs, method):
    """Each tail misses 2.5% nominally; neither side takes (nearly) all the misses."""
    low, high = runs[method][:, 1], runs[method][:, 2]
    below, above = np.mean(high < EFFECT), np.mean(low > EFFECT)
    assert 0.01 <= below <= 0.05 and 0.01 <= above <= 0.05, f"{below:.4f} {above:.4f} ({_seed_note(method)})"


def test_algorithm_4_with_a_normal_quantile_undercovers(runs):
    """The published interval (Algorithm 4, normal quantile) on the same replicates covers less than the
    shown one for every method, and below 93% over the three (measured 90.1%, 92.0%, 92.5% on 20,000
    replicates each): why the shown interval corrects it."""
    published = {}
    for method in ("sdid", "sc", "did"):
        estimate, low, high, se = runs[method][:, 0], runs[method][:, 1], runs[method][:, 2], runs[method][:, 4]
        published[method] = np.mean(np.abs(estimate - EFFECT) <= Z * se)
        shown = np.mean((low <= EFFECT) & (EFFECT <= high))
        assert published[method] < shown, f"{published[method]:.4f} vs {shown:.4f} ({_seed_note(method)})"
    assert np.mean(list(published.values())) < 0.93, f"{published} ({_seed_note('all')})"


def test_placebo_test_has_its_nominal_size_without_an_effect():
    """Under exchangeability the rank test is exact, P(p <= 2/13) = 2/13, because each unit's ratio is fitted
    from all 12 others (the treated unit shifted into the donors' pools, as Abadie et al. 2010 do). Measured on
    48,000 replicates (6 seeds): 0.1543 (0.0766 at 1/13); with the treated unit left out of the pools it had
    one donor more than each placebo and rejected 0.1628 (0.0849 at 1/13), which this test caught."""
    p_values = _simulate("sdid", 0.0, 3)[:, 3]
    rejected = np.mean(p_values <= 2 / 13 + 1e-12)
    se = np.sqrt((2 / 13) * (11 / 13) / REPLICATES)
    assert abs(rejected - 2 / 13) < 3 * se, f"rejected {rejected:.4f} ({_seed_note('sdid')})"
