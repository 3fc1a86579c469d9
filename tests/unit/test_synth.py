"""Synthetic control family (mhin_eval.analysis.synth): hand-computed placebos, recovery, warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.synth import placebo_p_value, synth


def _long(rows: dict[str, list[float]], periods) -> pd.DataFrame:
    return pd.DataFrame([{"unit": u, "t": p, "y": v} for u, values in rows.items()
                         for p, v in zip(periods, values, strict=True)])


# Four donors and a treated unit over periods 1-4, go-live 3. By hand, for DiD (equal weights, the
# pre-period mean difference as intercept):
#   treated: donor mean (.75, .75, .75, 1.75); T - mean = (1.25, -.75, 2.25, 1.25); intercept .25;
#            gaps (1, -1, 2, 1): pre RMSPE 1, post RMSPE sqrt(2.5); effect 1.5
# Rank test: each donor treated in turn with T shifted into its pool (Abadie et al. 2010, section 2.4):
#   A (B, C, D, T): mean (1.25, .75, 1.5, 2.5); gaps (-.25, .25, -.5, -1.5): ratio sqrt(1.25)/.25;  effect -1
#   B (A, C, D, T): mean (1.25, .25, 1.25, 2.25); gaps (-1.5, 1.5, -.5, -1.5): ratio sqrt(1.25)/1.5; effect -1
#   C (A, B, D, T): mean (.75, .75, 1.25, 1.25); gaps (1, -1, -.5, 3.5): ratio 2.5;                effect 1.5
#   D (A, B, C, T): mean (1, .5, 1.25, 2.25); gaps (-.25, .25, -.5, -1.5): ratio sqrt(1.25)/.25;   effect -1
# Ratios at least the treated sqrt(2.5): A, C, D -> p = (1 + 3) / 5 = 0.8.
# Placebo spread (Algorithm 4: the treated unit left out of the pools):
#   A (B, C, D): gaps (0, 0, 0, -4/3): pre RMSPE 0;           effect -2/3
#   B (A, C, D): gaps (-4/3, 4/3, 0, -4/3);                   effect -2/3
#   C (A, B, D): gaps (4/3, -4/3, 0, 4);                      effect 2
#   D (A, B, C): gaps (0, 0, 0, -4/3): pre RMSPE 0;           effect -2/3
# A and D fit their pre-periods exactly (RMSPE 0), so the effects are not divided by their fits; mean 0,
# sum of squares 3 * 4/9 + 4 = 16/3: Algorithm 4 (divisor 4) variance 4/3, unbiased (divisor 3) 16/9,
# se 4/3, and the interval uses t with 4 - 1 = 3 degrees of freedom (t = 3.182446).
HAND = {"A": [0, 0, 0, 0], "B": [0, 2, 1, 1], "C": [2, 0, 1, 5], "D": [1, 1, 1, 1], "T": [2, 0, 3, 3]}


def test_placebo_p_value_against_a_hand_computation():
    result = synth(_long(HAND, [1, 2, 3, 4]), unit="unit", time="t", value="y", treated="T", intervention=3,
                   method="did")
    assert result.estimate == pytest.approx(1.5)
    assert result.gaps == pytest.approx((1, -1, 2, 1))
    assert result.rmspe_ratio == pytest.approx(math.sqrt(2.5))
    ratios = {p.unit: p.rmspe_ratio for p in result.placebos}
    assert ratios == pytest.approx({"A": math.sqrt(20), "B": math.sqrt(1.25) / 1.5, "C": 2.5, "D": math.sqrt(20)})
    assert {p.unit: p.estimate for p in result.placebos} == pytest.approx({"A": -1, "B": -1, "C": 1.5, "D": -1})
    assert result.placebos[2].gaps == pytest.approx((1, -1, -0.5, 3.5))
    assert result.p_value == pytest.approx(0.8)
    assert result.algorithm4_se == pytest.approx(math.sqrt(4 / 3))
    assert result.effect.se == pytest.approx(4 / 3)
    assert result.ci_df == 3
    assert result.effect.ci_low == pytest.approx(1.5 - 3.182446305284263 * 4 / 3)
    assert result.effect.ci_high == pytest.approx(1.5 + 3.182446305284263 * 4 / 3)
    assert "unscaled" in result.methods


def test_placebo_spread_divides_each_placebo_by_its_pre_period_fit_by_hand():
    """Ferman & Pinto (2019)'s rescaling with pre-period RMSPEs as the scale, by hand: placebo effects
    (2, -1, 4) with pre RMSPEs (1, 0.5, 2) give ratios (2, -2, 2), mean 2/3, unbiased variance
    (16/9 + 64/9 + 16/9) / 2 = 16/3; the treated pre RMSPE 3 scales it back: se = 3 * 4 / sqrt(3)."""
    from mhin_eval.analysis.synth import interval, placebo_spread

    spread = placebo_spread([2, -1, 4], [1, 0.5, 2], 3.0, df=2)
    assert spread.studentised and spread.df == 2
    assert spread.se == pytest.approx(3 * 4 / math.sqrt(3))
    assert spread.algorithm4_se == pytest.approx(np.std([2, -1, 4]))
    low, high = interval(10.0, spread)
    assert (low, high) == pytest.approx((10 - 4.302652729911275 * spread.se, 10 + 4.302652729911275 * spread.se))
    assert not placebo_spread([2, -1, 4], [1, 0.0, 2], 3.0, df=2).studentised


def test_placebo_p_value_counts_ties_and_the_treated_unit():
    assert placebo_p_value(3.0, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(3 / 5)
    assert placebo_p_value(10.0, [1.0, 2.0]) == pytest.approx(1 / 3)


def _convex_panel(effect: float, seed: int = 1, donors: int = 10, pre: int = 24, post: int = 12):
    """Donors with their own trends; the treated unit is 0.5 A + 0.3 B + 0.2 C plus ``effect`` after go-live."""
    rng = np.random.default_rng(seed)
    t = np.arange(pre + post)
    rows = {f"D{j}": list(50 + rng.normal(0, 5) + rng.normal(0, 0.3) * t + 3 * np.sin(t / (2 + j)))
            for j in range(donors)}
    treated = 0.5 * np.array(rows["D0"]) + 0.3 * np.array(rows["D1"]) + 0.2 * np.array(rows["D2"])
    treated[pre:] += effect
    rows["site"] = list(treated)
    return _long(rows, list(t + 1)), pre + 1


def test_synthetic_control_recovers_an_exact_convex_combination():
    data, go_live = _convex_panel(effect=-4.0)
    result = synth(data, unit="unit", time="t", value="y", treated="site", intervention=go_live, method="sc")
    assert result.estimate == pytest.approx(-4.0, abs=0.05)
    assert result.pre_rmspe < 0.05
    top = sorted(result.unit_weights.items(), key=lambda kv: -kv[1])[:3]
    assert [k for k, _ in top] == ["D0", "D1", "D2"]
    assert not any("Poor fit" in w for w in result.warnings)
    assert result.p_value == pytest.approx(1 / 11)
    assert result.effect.ci_low < -4.0 < result.effect.ci_high


def _factor_panel(effect: float, seed: int = 2, donors: int = 12, pre: int = 24, post: int = 12):
    """Unit levels, a shared trend and seasonal factor with unit loadings, small noise (SDID's model)."""
    rng = np.random.default_rng(seed)
    t = np.arange(pre + post)
    common, season = -0.2 * t, np.sin(2 * np.pi * t / 12)
    rows = {f"D{j}": list(rng.normal(50, 8) + common + rng.uniform(0.5, 1.5) * 3 * season + rng.normal(0, 0.3, t.size))
            for j in range(donors)}
    treated = 60 + common + 3 * season + rng.normal(0, 0.3, t.size)
    treated[pre:] += effect
    rows["site"] = list(treated)
    return _long(rows, list(t + 1)), pre + 1


def test_sdid_recovers_the_effect_and_the_placebo_in_time_is_near_zero():
    data, go_live = _factor_panel(effect=6.0)
    result = synth(data, unit="unit", time="t", value="y", treated="site", intervention=go_live, method="sdid")
    assert result.estimate == pytest.approx(6.0, abs=0.3)
    assert abs(result.placebo_in_time.estimate) < 0.5
    assert result.placebo_in_time.n_pre + result.placebo_in_time.n_post == 24
    assert {lo.dropped for lo in result.leave_one_out} == {k for k, v in result.unit_weights.items() if v > 0}


def test_several_treated_units_sharing_a_go_live_are_averaged():
    data, go_live = _convex_panel(effect=2.0)
    twin = data[data["unit"] == "site"].assign(unit="site2")
    twin.loc[twin["t"] >= go_live, "y"] += 2.0
    result = synth(pd.concat([data, twin]), unit="unit", time="t", value="y", treated=["site", "site2"],
                   intervention=go_live, method="sc", replications=20)
    assert result.treated == ("site", "site2")
    assert result.estimate == pytest.approx(3.0, abs=0.05)
    assert result.effect.se is not None and result.effect.se > 0


def test_warnings_few_donors_short_history_poor_fit_and_a_treated_donor():
    rows = {"A": [1, 2, 3, 4, 5, 6], "B": [2, 3, 4, 5, 6, 7], "C": [5, 5, 5, 5, 5, 5],
            "T": [20, 21, 22, 23, 9, 9]}
    result = synth(_long(rows, [1, 2, 3, 4, 5, 6]), unit="unit", time="t", value="y", treated="T",
                   intervention=5, method="sc", donor_go_lives={"B": "3"})
    text = " ".join(result.warnings)
    assert "Only 3 donor(s)" in text
    assert "Only 4 periods before go-live" in text
    assert "Poor fit before go-live" in text
    assert "Donor B had its own intervention" in text


def test_incomplete_donors_are_left_out_with_a_note_and_dates_are_months():
    data, _ = _convex_panel(effect=1.0, donors=6, pre=10, post=4)
    data["t"] = pd.Timestamp("2023-01-01") + pd.to_timedelta((data["t"] - 1) * 31, unit="D")
    data["t"] = data["t"].dt.to_period("M").dt.to_timestamp().dt.strftime("%Y-%m-%d")
    data = data[~((data["unit"] == "D5") & (data["t"] == "2023-03-01"))]
    result = synth(data, unit="unit", time="t", value="y", treated="site", intervention="2023-11", method="did")
    assert "D5" not in result.unit_weights
    assert any("missing periods: D5" in w for w in result.warnings)
    assert result.go_live == "2023-11"
    assert result.periods[0] == "2023-01"


def test_unknown_treated_unit_and_method_are_refused():
    data, go_live = _convex_panel(effect=0.0, donors=4)
    with pytest.raises(AnalysisError, match="No unit nowhere"):
        synth(data, unit="unit", time="t", value="y", treated="nowhere", intervention=go_live)
    with pytest.raises(AnalysisError, match="Unknown method"):
        synth(data, unit="unit", time="t", value="y", treated="site", intervention=go_live, method="its")


def test_the_exact_solver_agrees_with_frank_wolfe_where_the_problem_is_strongly_convex():
    """SDID's ridge makes the unit weights unique; Frank-Wolfe (synthdid) and NNLS then give one estimate.
    (The coverage simulation uses the exact solver for speed.)"""
    from mhin_eval.analysis.synth import estimate_matrix

    data, go_live = _factor_panel(effect=3.0)
    wide = data.pivot(index="unit", columns="t", values="y")
    Y = wide.loc[[u for u in wide.index if u != "site"] + ["site"]].to_numpy()
    fw = estimate_matrix(Y, 12, go_live - 1, "sdid")
    exact = estimate_matrix(Y, 12, go_live - 1, "sdid", solver="exact")
    assert exact.estimate == pytest.approx(fw.estimate, abs=0.02)
    assert exact.spread.se == pytest.approx(fw.spread.se, rel=0.05)


def test_noise_alone_is_not_called_a_poor_fit():
    """A zigzag the donors cannot follow is month-to-month noise, not a misfit of the level or trend."""
    rows = {"A": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "B": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            "C": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "T": [3, 1, 5, 3, 7, 5, 9, 7, 9, 10]}
    result = synth(_long(rows, list(range(1, 11))), unit="unit", time="t", value="y", treated="T",
                   intervention=9, method="sc", inference=False)
    assert not any("Poor fit" in w for w in result.warnings)
