"""Meta-analytic pooling on hand-computable examples, against statsmodels, and its edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from mhin_eval.analysis.pooling import (
    SiteEstimate,
    from_ci,
    from_estimate,
    from_two_by_two,
    pool,
    tau2_reml,
    tidy,
)
from mhin_eval.analysis.results import AnalysisError, Estimate, to_jsonable


def sites(y, se, scale="difference"):
    return [SiteEstimate(f"site {i}", float(a), float(b), scale) for i, (a, b) in enumerate(zip(y, se, strict=True))]


@pytest.fixture(scope="module")
def bcg_log_rr(reference_dir):
    """BCG trials (Colditz et al. 1994; metafor dat.bcg) as log risk ratios."""
    bcg = pd.read_csv(reference_dir / "bcg.csv")
    return [
        from_two_by_two(r.author, r.tpos, r.tpos + r.tneg, r.cpos, r.cpos + r.cneg) for r in bcg.itertuples()
    ]


def test_equal_variances_by_hand_all_estimators_agree():
    # y = 0, 2, 4 with v = 1: μ = 2, Q = 8, C = 3 − 3/3 = 2, τ²_DL = (8 − 2)/2 = 3. With equal variances
    # PM solves 8/(1 + τ²) = 2 and REML gives Σ(y − ȳ)²/(k − 1) − v = 3: all three are 3.
    for method in ("DL", "PM", "REML"):
        result = pool(sites([0, 2, 4], [1, 1, 1]), method=method)
        assert result.tau2 == pytest.approx(3, abs=1e-9), method
        assert result.pooled.estimate == pytest.approx(2)
        assert result.pooled.se == pytest.approx(math.sqrt(4 / 3))
        assert result.pooled.ci_low == pytest.approx(2 - 1.959964 * math.sqrt(4 / 3), abs=1e-6)
        assert result.q == pytest.approx(8) and result.q_df == 2
        assert result.q_p_value == pytest.approx(math.exp(-4))  # χ²₂ survival = exp(−Q/2)
        assert result.i2 == pytest.approx(75)
        assert result.h2 == pytest.approx(4)
        half = stats.t.ppf(0.975, 1) * math.sqrt(3 + 4 / 3)
        assert result.prediction_low == pytest.approx(2 - half)
        assert result.prediction_high == pytest.approx(2 + half)
    fixed = pool(sites([0, 2, 4], [1, 1, 1]), method="FE")
    assert fixed.pooled.estimate == pytest.approx(2) and fixed.pooled.se == pytest.approx(1 / math.sqrt(3))
    assert fixed.tau2 is None and fixed.prediction_low is None


def test_fixed_effect_unequal_weights_by_hand():
    # y = 1, 3 with SE 1, 2: w = 1, 1/4; μ = (1 + 3/4)/(5/4) = 1.4; SE = √(1/1.25); Q = 0.16 + 2.56/4 = 0.8
    result = pool(sites([1, 3], [1, 2]), method="FE")
    assert result.pooled.estimate == pytest.approx(1.4)
    assert result.pooled.se == pytest.approx(math.sqrt(0.8))
    assert result.q == pytest.approx(0.8)
    assert result.sites["weight_percent"].tolist() == pytest.approx([80, 20])


def test_no_heterogeneity_truncates_tau2_at_zero():
    result = pool(sites([1.0, 1.1, 0.9], [1, 1, 1]), method="DL")
    assert result.tau2 == 0 and result.i2 == 0
    assert result.pooled.estimate == pytest.approx(result.fixed.estimate)
    assert pool(sites([1.0, 1.1, 0.9], [1, 1, 1]), method="PM").tau2 == 0


def test_dersimonian_laird_against_statsmodels(bcg_log_rr):
    y = np.array([s.estimate for s in bcg_log_rr])
    v = np.array([s.se for s in bcg_log_rr]) ** 2
    reference = combine_effects(y, v, method_re="chi2")
    result = pool(bcg_log_rr, method="DL")
    assert result.tau2 == pytest.approx(reference.tau2, rel=1e-10)
    assert result.pooled_model.estimate == pytest.approx(reference.mean_effect_re, rel=1e-10)


def test_paule_mandel_against_statsmodels_iterated(bcg_log_rr):
    y = np.array([s.estimate for s in bcg_log_rr])
    v = np.array([s.se for s in bcg_log_rr]) ** 2
    reference = combine_effects(y, v, method_re="iterated")
    result = pool(bcg_log_rr, method="PM")
    assert result.tau2 == pytest.approx(reference.tau2, rel=1e-6)
    assert result.pooled_model.estimate == pytest.approx(reference.mean_effect_re, rel=1e-8)
    # the defining equation: generalised Q equals k − 1 at the PM τ²
    w = 1 / (v + result.tau2)
    mu = np.sum(w * y) / np.sum(w)
    assert np.sum(w * (y - mu) ** 2) == pytest.approx(len(y) - 1, abs=1e-8)


def test_reml_maximises_restricted_likelihood_and_matches_metafor(bcg_log_rr):
    y = np.array([s.estimate for s in bcg_log_rr])
    v = np.array([s.se for s in bcg_log_rr]) ** 2

    def negative_restricted_loglik(tau2):
        w = 1 / (v + tau2)
        mu = np.sum(w * y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    direct = optimize.minimize_scalar(negative_restricted_loglik, bounds=(0, 5), method="bounded",
                                      options={"xatol": 1e-10})
    tau2, converged = tau2_reml(y, v)
    assert converged
    assert tau2 == pytest.approx(direct.x, abs=1e-6)
    result = pool(bcg_log_rr, method="REML")
    # metafor rma(yi, vi, data = dat.bcg) with its default REML (Viechtbauer 2010, J Stat Softw 36(3)):
    # τ² = 0.3132, estimate −0.7145, SE 0.1798, 95% CI −1.0669 to −0.3622, I² = 92.22%
    assert result.tau2 == pytest.approx(0.3132, abs=5e-5)
    assert result.pooled_model.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert result.pooled_model.se == pytest.approx(0.1798, abs=5e-5)
    assert result.pooled_model.ci_low == pytest.approx(-1.0669, abs=5e-5)
    assert result.pooled_model.ci_high == pytest.approx(-0.3622, abs=5e-5)
    assert result.i2 == pytest.approx(92.22, abs=5e-3)


def test_ratio_scale_back_transformed_and_weights(bcg_log_rr):
    result = pool(bcg_log_rr, method="DL")
    assert result.pooled.estimate == pytest.approx(math.exp(result.pooled_model.estimate))
    assert result.pooled.ci_low == pytest.approx(math.exp(result.pooled_model.ci_low))
    assert result.pooled.se == result.pooled_model.se
    assert result.prediction_low == pytest.approx(math.exp(result.prediction_model_low))
    table = result.sites
    assert len(table) == 13
    assert table["weight_percent"].sum() == pytest.approx(100)
    assert table["weight_fixed_percent"].sum() == pytest.approx(100)
    # random effects spread the weight: the largest trial's share falls
    assert table["weight_percent"].max() < table["weight_fixed_percent"].max()
    assert table["estimate"].tolist() == pytest.approx(np.exp(table["model_estimate"]).tolist())
    assert "log scale" in result.methods and "DerSimonian & Laird (1986)" in result.methods


def test_fewer_than_two_sites_no_pooling():
    one = pool(sites([1.0], [0.5]))
    assert one.pooled is None and one.tau2 is None and one.q is None
    assert any("at least 2" in w for w in one.warnings)
    assert len(one.sites) == 1
    assert pool([]).k == 0


def test_two_sites_warn_and_have_no_prediction_interval():
    result = pool(sites([0.1, 0.9], [0.2, 0.3]))
    assert result.pooled is not None
    assert result.prediction_low is None
    assert any("very imprecise" in w for w in result.warnings)
    assert any("prediction interval needs at least 3" in w for w in result.warnings)
    assert pool(sites([0.1, 0.9, 0.4], [0.2, 0.3, 0.2]), prediction=False).prediction_low is None


def test_invalid_inputs_are_explained():
    with pytest.raises(AnalysisError, match="same scale"):
        pool([SiteEstimate("a", 0.1, 0.1, "ratio"), SiteEstimate("b", 0.1, 0.1, "difference")])
    with pytest.raises(AnalysisError, match="site 'b'.*positive"):
        pool([SiteEstimate("a", 0.1, 0.1), SiteEstimate("b", 0.1, 0.0)])
    with pytest.raises(AnalysisError, match="method"):
        pool(sites([0, 1], [1, 1]), method="HS")


def test_from_estimate_uses_model_scale():
    ratio = Estimate(0.8, 0.6, 1.07, 0.1, "ratio", se=0.15)
    site = from_estimate("Hull", ratio)
    assert site == SiteEstimate("Hull", math.log(0.8), 0.15, "ratio")
    diff = from_estimate("Manchester", Estimate(-3.0, -5.0, -1.0, 0.01, "difference", se=1.02))
    assert (diff.estimate, diff.se, diff.scale) == (-3.0, 1.02, "difference")
    with pytest.raises(AnalysisError, match="no standard error"):
        from_estimate("Hull", Estimate(0.8, 0.6, 1.07, scale="ratio"))


def test_from_ci_recovers_se():
    site = from_ci("Hull", 0.5, 0.5 * math.exp(-1.959964 * 0.2), 0.5 * math.exp(1.959964 * 0.2), "ratio")
    assert site.estimate == pytest.approx(math.log(0.5)) and site.se == pytest.approx(0.2, rel=1e-6)
    with pytest.raises(AnalysisError, match="positive"):
        from_ci("Hull", 0.5, 0.0, 1.0, "ratio")


def test_from_two_by_two_by_hand_and_zero_cells():
    # 4/123 vs 11/139 (Aronson 1948): log RR = log((4/123)/(11/139)), var = 1/4 − 1/123 + 1/11 − 1/139
    site = from_two_by_two("Aronson", 4, 123, 11, 139)
    assert site.estimate == pytest.approx(math.log((4 / 123) / (11 / 139)))
    assert site.se == pytest.approx(math.sqrt(1 / 4 - 1 / 123 + 1 / 11 - 1 / 139))
    odds = from_two_by_two("Aronson", 4, 123, 11, 139, "OR")
    assert odds.estimate == pytest.approx(math.log((4 * 128) / (119 * 11)))
    zero = from_two_by_two("zero", 0, 50, 5, 50, "OR")  # 0.5 added to each cell
    assert zero.estimate == pytest.approx(math.log((0.5 * 45.5) / (50.5 * 5.5)))


def test_tidy_and_json():
    result = pool(sites([0, 2, 4], [1, 1, 1]))
    frame = tidy(result)
    assert frame.set_index("statistic").loc["tau²", "value"] == pytest.approx(3)
    assert frame.set_index("statistic").loc["I² (%)", "value"] == pytest.approx(75)
    document = to_jsonable(result)
    assert document["pooled"]["estimate"] == pytest.approx(2)
    assert len(document["sites"]) == 3
