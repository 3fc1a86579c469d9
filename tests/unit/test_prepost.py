"""Paired pre/post analyses on small hand-computable examples, their edge cases and stratification."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from mhin_eval.analysis.prepost import (
    NOT_RECORDED,
    CountPrePostResult,
    McNemarResult,
    PrePostResult,
    count_prepost,
    mcnemar_prepost,
    paired_prepost,
    signed_rank_test,
    stratified,
    tidy,
)
from mhin_eval.analysis.results import AnalysisError, to_jsonable


def records(before, after, *, measure="score", site="Hull", ids=None, **attributes) -> pd.DataFrame:
    """Long participant records; ``None`` in before/after means that row is absent."""
    ids = ids or [f"P{i:02d}" for i in range(len(before))]
    rows = []
    for i, pid in enumerate(ids):
        for timepoint, values in (("baseline", before), ("follow-up", after)):
            if values[i] is None:
                continue
            row = dict(project="aaot", site=site, participant_id=pid, measure=measure, timepoint=timepoint,
                       value=values[i])
            row.update({k: v[i] for k, v in attributes.items()})
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------- paired means


def test_hand_computed_paired_difference():
    # differences −2, −1, −3, −2: mean −2, SD √(2/3), SE √(2/3)/2, t = −2/SE on 3 df
    result = paired_prepost(records([10, 12, 14, 16], [8, 11, 11, 14]))
    se = math.sqrt(2 / 3) / 2
    q = stats.t.ppf(0.975, 3)
    assert result.n_pairs == 4
    assert result.mean_before == pytest.approx(13)
    assert result.mean_after == pytest.approx(11)
    assert result.sd_difference == pytest.approx(math.sqrt(2 / 3))
    assert result.mean_difference.estimate == pytest.approx(-2)
    assert result.mean_difference.ci_low == pytest.approx(-2 - q * se)
    assert result.mean_difference.ci_high == pytest.approx(-2 + q * se)
    assert result.t_statistic == pytest.approx(-2 / se)
    assert result.t_df == 3
    assert result.t_p_value == pytest.approx(2 * stats.t.sf(2 / se, 3))
    assert result.mean_difference.p_value == result.t_p_value


def test_effect_sizes_by_definition_and_interval_pivot():
    result = paired_prepost(records([10, 12, 14, 16, 15, 9], [8, 11, 11, 14, 15, 6]))
    diff = np.array([-2, -1, -3, -2, 0, -3])
    n = 6
    d_z = diff.mean() / diff.std(ddof=1)
    assert result.cohens_dz.estimate == pytest.approx(d_z)
    # Lakens (2013) eq. 10: d_av = M_diff / ((SD1 + SD2)/2); g_av = d_av × J, J ≈ 1 − 3/(4·df − 1)
    sd_av = (np.std([10, 12, 14, 16, 15, 9], ddof=1) + np.std([8, 11, 11, 14, 15, 6], ddof=1)) / 2
    assert result.hedges_gav.estimate == pytest.approx(diff.mean() / sd_av * (1 - 3 / (4 * 5 - 1)), rel=2e-3)
    # the d_z limits are the noncentrality limits of t / √n: P(T ≤ t_obs | λ) = 0.975 and 0.025
    t_obs = result.t_statistic
    lam_low = result.cohens_dz.ci_low * math.sqrt(n)
    lam_high = result.cohens_dz.ci_high * math.sqrt(n)
    assert stats.nct.cdf(t_obs, n - 1, lam_low) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t_obs, n - 1, lam_high) == pytest.approx(0.025, abs=1e-9)
    assert result.cohens_dz.ci_low < d_z < result.cohens_dz.ci_high
    assert result.hedges_gav.ci_low < result.hedges_gav.estimate < result.hedges_gav.ci_high


def test_effect_size_interval_close_to_large_sample_formula():
    # for large n, SE(d_z) ≈ √(1/n + d²/(2n)) (Hedges & Olkin 1985); the exact interval must agree closely
    rng = np.random.default_rng(3)
    before = rng.normal(50, 10, 400)
    after = before - 3 + rng.normal(0, 8, 400)
    result = paired_prepost(records(list(before), list(after)))
    d = result.cohens_dz.estimate
    half = 1.96 * math.sqrt(1 / 400 + d**2 / 800)
    assert result.cohens_dz.ci_low == pytest.approx(d - half, abs=0.01)
    assert result.cohens_dz.ci_high == pytest.approx(d + half, abs=0.01)


def test_reliable_change_categories_respect_direction_and_boundary():
    # changes: −6, −5, −2, 0, +5, +7 with threshold 5: a change of exactly 5 counts
    before = [20, 20, 20, 20, 20, 20]
    after = [14, 15, 18, 20, 25, 27]
    lower = paired_prepost(records(before, after), reliable_change=5, better="lower").change
    assert (lower.n_improved, lower.n_worsened, lower.n_unchanged) == (2, 2, 2)
    assert lower.proportion_improved == pytest.approx(2 / 6)
    higher = paired_prepost(records(before, after), reliable_change=6, better="higher").change
    assert (higher.n_improved, higher.n_worsened, higher.n_unchanged) == (1, 1, 4)
    any_change = paired_prepost(records(before, after), better="higher").change
    assert (any_change.n_improved, any_change.n_worsened, any_change.n_unchanged) == (2, 3, 1)


def test_missing_followup_counts_and_baseline_comparison():
    before = [10, 12, 14, 16, 20, 22, 30]
    after = [8, 11, 11, 14, None, None, None]
    result = paired_prepost(records(before, after))
    assert (result.n_baseline, result.n_pairs, result.n_missing_followup) == (7, 4, 3)
    bc = result.baseline_comparison
    assert bc.mean_completers == pytest.approx(13)
    assert bc.mean_noncompleters == pytest.approx(24)
    welch = stats.ttest_ind([10, 12, 14, 16], [20, 22, 30], equal_var=False)
    assert bc.t_statistic == pytest.approx(welch.statistic)
    assert bc.difference.p_value == pytest.approx(welch.pvalue)
    assert bc.difference.estimate == pytest.approx(-11)
    v1, v2 = np.var([10, 12, 14, 16], ddof=1) / 4, np.var([20, 22, 30], ddof=1) / 3
    df = (v1 + v2) ** 2 / (v1**2 / 3 + v2**2 / 2)
    assert bc.df == pytest.approx(df)
    assert bc.difference.ci_high == pytest.approx(-11 + stats.t.ppf(0.975, df) * math.sqrt(v1 + v2))
    assert any("3 of 7" in w and "no follow-up" in w for w in result.warnings)


def test_missing_baseline_counted_separately():
    result = paired_prepost(records([10, 12, 14, None], [8, 11, 11, 9]))
    assert (result.n_pairs, result.n_baseline, result.n_missing_baseline) == (3, 3, 1)


def test_nan_values_dropped_with_a_count():
    result = paired_prepost(records([10, 12, 14, 16, float("nan")], [8, 11, 11, 14, 12]))
    assert result.n_missing_values_dropped == 1
    assert result.n_pairs == 4
    assert any("1 row(s) with a missing value" in w for w in result.warnings)


def test_fewer_than_three_pairs_gives_no_estimate():
    result = paired_prepost(records([10, 12], [8, 11]))
    assert result.n_pairs == 2
    assert result.mean_difference is None and result.t_statistic is None and result.cohens_dz is None
    assert result.wilcoxon is None
    assert any("at least 3" in w for w in result.warnings)


def test_fewer_than_ten_pairs_warns_of_low_precision():
    result = paired_prepost(records([10, 12, 14, 16], [8, 11, 11, 14]))
    assert any("imprecise" in w for w in result.warnings)
    ten = paired_prepost(records(list(range(10)), [v + (i % 3) for i, v in enumerate(range(10))]))
    assert not any("imprecise" in w for w in ten.warnings)


def test_all_differences_equal_gives_plain_warning_and_no_test():
    result = paired_prepost(records([10, 12, 14, 16], [7, 9, 11, 13]))
    assert result.sd_difference == 0
    assert result.mean_difference is None
    assert result.t_statistic is None and result.t_p_value is None
    assert result.cohens_dz is None and result.hedges_gav is None
    assert result.mean_after - result.mean_before == pytest.approx(-3)
    assert any("exactly the same amount (-3)" in w for w in result.warnings)


def test_two_baseline_values_raise_naming_the_participant():
    data = records([10, 12, 14], [8, 11, 11])
    extra = data[(data["participant_id"] == "P02") & (data["timepoint"] == "baseline")].assign(value=99.0)
    with pytest.raises(AnalysisError, match="P02.*more than one 'baseline' value"):
        paired_prepost(pd.concat([data, extra]))


def test_same_id_at_two_sites_are_two_participants():
    data = pd.concat([records([10, 12, 14], [8, 11, 11], site="Hull"),
                      records([20, 22, 24], [18, 21, 21], site="Manchester")])
    assert paired_prepost(data).n_pairs == 6


def test_several_measures_need_a_choice():
    data = pd.concat([records([10, 12, 14], [8, 11, 11], measure="AUDIT"),
                      records([1, 2, 3], [1, 1, 1], measure="PHQ-9")])
    with pytest.raises(AnalysisError, match="several measures.*AUDIT.*PHQ-9"):
        paired_prepost(data)
    assert paired_prepost(data, measure="AUDIT").mean_before == pytest.approx(12)
    with pytest.raises(AnalysisError, match="no rows for measure 'GAD-7'"):
        paired_prepost(data, measure="GAD-7")


def test_unknown_timepoint_and_bad_values_are_explained():
    data = records([10, 12, 14], [8, 11, 11])
    with pytest.raises(AnalysisError, match="no rows with timepoint '6 months'.*baseline, follow-up"):
        paired_prepost(data, after="6 months")
    bad = data.astype({"value": object})
    bad.loc[1, "value"] = "n/a"
    with pytest.raises(AnalysisError, match="'n/a' of participant 'P00'.*not a number"):
        paired_prepost(bad)
    with pytest.raises(AnalysisError, match="better"):
        paired_prepost(data, better="up")
    no_id = data.astype({"participant_id": object})
    no_id.loc[0, "participant_id"] = None
    with pytest.raises(AnalysisError, match="1 row.*no project / site / participant_id"):
        paired_prepost(no_id)


def test_custom_columns_and_timepoints():
    data = records([10, 12, 14, 16], [8, 11, 11, 14]).rename(columns={"participant_id": "pid", "value": "score"})
    data["timepoint"] = data["timepoint"].map({"baseline": "t0", "follow-up": "t6"})
    result = paired_prepost(data, before="t0", after="t6", id_col="pid", value_col="score")
    assert result.mean_difference.estimate == pytest.approx(-2)


# ------------------------------------------------------------------------------------------- Wilcoxon


def test_wilcoxon_ties_normal_approximation_by_hand():
    # |d| = 2, 1, 3, 2 -> ranks 2.5, 1, 4, 2.5; V = 0; var = 4·5·9/24 − (2³ − 2)/48 = 7.375
    w = signed_rank_test(np.array([-2.0, -1.0, -3.0, -2.0]))
    z = (0 - 5 + 0.5) / math.sqrt(7.375)
    assert w.statistic == 0
    assert w.z == pytest.approx(z)
    assert w.p_value == pytest.approx(2 * stats.norm.cdf(z))


def test_wilcoxon_zero_dropped_by_hand():
    # zero dropped: n = 3, V = 1 + 2 + 3 = 6, mean 3, var 3·4·7/24 = 3.5, continuity 0.5
    w = signed_rank_test(np.array([0.0, 1.0, 2.0, 3.0]))
    assert (w.n_nonzero, w.n_zero, w.statistic) == (3, 1, 6)
    assert w.p_value == pytest.approx(2 * stats.norm.sf(2.5 / math.sqrt(3.5)))


def test_wilcoxon_exact_without_ties_or_zeros():
    # d = 1, 2, 3, −4, 5: V = 11; P(V ≥ 11) = P(V ≤ 4) = 7/32 by counting subsets of {1..5}; p = 14/32
    d = np.array([1.0, 2.0, 3.0, -4.0, 5.0])
    w = signed_rank_test(d)
    assert w.method == "exact" and w.statistic == 11
    assert w.p_value == pytest.approx(14 / 32)
    assert w.p_value == pytest.approx(stats.wilcoxon(d, method="exact").pvalue)


def test_wilcoxon_floating_point_noise_is_a_tie():
    w = signed_rank_test(np.array([0.1 + 0.2, 0.3, 1.0, 2.0]))
    assert w.has_ties and w.method.startswith("normal")


# -------------------------------------------------------------------------------------- count outcomes


def _count_records(before, after):
    return records(before, after, measure="ae_attendances")


def test_rate_ratio_by_hand_and_against_gee():
    before, after = [2, 0, 3, 1, 4], [1, 0, 1, 1, 2]
    result = count_prepost(_count_records(before, after))
    assert isinstance(result, CountPrePostResult)
    assert (result.total_before, result.total_after) == (10, 5)
    assert result.mean_before == pytest.approx(2) and result.mean_after == pytest.approx(1)
    assert result.rate_ratio.estimate == pytest.approx(0.5)
    # Poisson GEE with person clusters, independence working correlation and robust SE; ours adds n/(n − 1)
    y = np.r_[before, after].astype(float)
    period = sm.add_constant(np.r_[np.zeros(5), np.ones(5)])
    gee = sm.GEE(y, period, groups=np.r_[np.arange(5), np.arange(5)], family=sm.families.Poisson(),
                 cov_struct=sm.cov_struct.Independence()).fit()
    assert math.log(result.rate_ratio.estimate) == pytest.approx(gee.params[1])
    assert result.rate_ratio.se == pytest.approx(gee.bse[1] * math.sqrt(5 / 4))
    q = stats.t.ppf(0.975, 4)
    assert result.rate_ratio.ci_low == pytest.approx(0.5 * math.exp(-q * result.rate_ratio.se))
    assert result.rate_ratio.ci_high == pytest.approx(0.5 * math.exp(q * result.rate_ratio.se))
    assert result.mean_difference.estimate == pytest.approx(-1)
    assert result.wilcoxon.statistic == 0 and result.wilcoxon.n_zero == 2


def test_rate_ratio_delta_method_hand_formula():
    # var(log R) = [s_a²/ā² + s_b²/b̄² − 2 s_ab/(ā b̄)] / n with sample (co)variances
    before, after = [4, 2, 6, 0, 3, 5], [2, 2, 3, 1, 0, 4]
    a, b = np.array(after, float), np.array(before, float)
    s_a, s_b = a.var(ddof=1), b.var(ddof=1)
    s_ab = np.cov(a, b, ddof=1)[0, 1]
    var = (s_a / a.mean() ** 2 + s_b / b.mean() ** 2 - 2 * s_ab / (a.mean() * b.mean())) / 6
    result = count_prepost(_count_records(before, after))
    assert result.rate_ratio.estimate == pytest.approx(12 / 20)
    assert result.rate_ratio.se == pytest.approx(math.sqrt(var))


def test_all_zero_before_gives_no_ratio():
    result = count_prepost(_count_records([0, 0, 0, 0], [1, 0, 2, 0]))
    assert result.rate_ratio is None
    assert any("no rate ratio" in w for w in result.warnings)


def test_all_zero_after_gives_no_interval():
    result = count_prepost(_count_records([1, 2, 0, 3], [0, 0, 0, 0]))
    assert result.rate_ratio is None and result.total_after == 0
    assert any("ratio is 0" in w for w in result.warnings)


def test_counts_must_be_whole_numbers():
    with pytest.raises(AnalysisError, match="whole numbers"):
        count_prepost(_count_records([1.5, 2, 0], [0, 1, 0]))
    with pytest.raises(AnalysisError, match="whole numbers"):
        count_prepost(_count_records([-1, 2, 0], [0, 1, 0]))


# ------------------------------------------------------------------------------------ binary outcomes


def _binary_from_table(a, b, c, d):
    """Pairs with (before, after) = (1,1)×a, (1,0)×b, (0,1)×c, (0,0)×d."""
    before = [1] * a + [1] * b + [0] * c + [0] * d
    after = [1] * a + [0] * b + [1] * c + [0] * d
    return records(before, after, measure="approve")


def test_mcnemar_agresti_presidential_approval():
    # Agresti, Categorical Data Analysis (2nd ed. 2002, Table 10.1; 1990 p. 350, the example of R's
    # mcnemar.test): 1600 people, approve at both surveys 794, approve then disapprove 150, disapprove then
    # approve 86, disapprove at both 570. Agresti: difference 0.550 − 0.590 = −0.04, SE 0.0095, 95% CI
    # (−0.06, −0.02), z = (86 − 150)/√236 = −4.17. With continuity correction χ² = (|86 − 150| − 1)²/236.
    result = mcnemar_prepost(_binary_from_table(794, 150, 86, 570))
    assert isinstance(result, McNemarResult)
    assert result.table.to_numpy().tolist() == [[1, 794, 150], [0, 86, 570]]
    assert list(result.table.columns) == ["baseline", "follow-up = 1", "follow-up = 0"]
    assert (result.n_positive_to_negative, result.n_negative_to_positive) == (150, 86)
    assert result.proportion_before == pytest.approx(0.590)
    assert result.proportion_after == pytest.approx(0.550)
    assert result.difference.estimate == pytest.approx(-0.04)
    assert result.difference.se == pytest.approx(0.0095, abs=5e-5)
    assert result.difference.ci_low == pytest.approx(-0.06, abs=5e-3)
    assert result.difference.ci_high == pytest.approx(-0.02, abs=5e-3)
    assert result.chi_square == pytest.approx(63**2 / 236)
    assert result.chi_square == pytest.approx(16.82, abs=5e-3)
    assert result.test_used == "chi-square with continuity correction"
    assert result.p_value == pytest.approx(stats.chi2.sf(63**2 / 236, 1))
    assert result.odds_ratio.estimate == pytest.approx(86 / 150)
    # exact conditional limits: Clopper–Pearson for 86 of 236, transformed by π/(1 − π)
    lo, hi = stats.beta.ppf(0.025, 86, 151), stats.beta.ppf(0.975, 87, 150)
    assert result.odds_ratio.ci_low == pytest.approx(lo / (1 - lo))
    assert result.odds_ratio.ci_high == pytest.approx(hi / (1 - hi))


def test_mcnemar_few_discordant_pairs_uses_exact_binomial():
    # b = 1, c = 7: exact two-sided p = 2·(C(8,0) + C(8,1))/2⁸ = 18/256
    result = mcnemar_prepost(_binary_from_table(3, 1, 7, 4))
    assert result.test_used == "exact binomial"
    assert result.p_value == pytest.approx(18 / 256)
    assert result.chi_square == pytest.approx(25 / 8)


def test_mcnemar_without_change_and_one_way_change():
    none = mcnemar_prepost(_binary_from_table(3, 0, 0, 4))
    assert none.p_value is None and none.odds_ratio is None
    assert any("No participant changed" in w for w in none.warnings)
    one_way = mcnemar_prepost(_binary_from_table(3, 0, 5, 4))
    assert one_way.odds_ratio is None and one_way.p_value == pytest.approx(2 / 32)
    assert any("one way" in w for w in one_way.warnings)


def test_mcnemar_rejects_non_binary_values():
    with pytest.raises(AnalysisError, match="0 .* and 1 .*found 2"):
        mcnemar_prepost(records([0, 1, 2], [1, 1, 0]))


# -------------------------------------------------------------------------------------- stratification


def test_stratified_matches_each_subset():
    before = [10, 12, 14, 16, 20, 22, 24, 26]
    after = [8, 11, 11, 14, 21, 22, 26, 25]
    ethnicity = ["White"] * 4 + ["Black or Black British"] * 4
    data = records(before, after, ethnicity=ethnicity)
    groups = stratified(paired_prepost, data, "ethnicity", reliable_change=2)
    assert list(groups) == ["Black or Black British", "White"]
    direct = paired_prepost(data[data["ethnicity"] == "White"], reliable_change=2)
    assert groups["White"].mean_difference == direct.mean_difference
    assert groups["White"].change == direct.change
    assert groups["Black or Black British"].mean_difference.estimate == pytest.approx(0.5)


def test_stratified_takes_attribute_from_baseline_and_keeps_unrecorded():
    data = records([10, 12, 14, 16], [8, 11, 11, 14], age_band=["18-25", "18-25", "26-40", None])
    follow_up = data["timepoint"] == "follow-up"
    data.loc[follow_up & (data["participant_id"] == "P00"), "age_band"] = "26-40"
    data.loc[follow_up & (data["participant_id"] == "P01"), "age_band"] = None
    groups = stratified(paired_prepost, data, "age_band")
    assert list(groups) == ["18-25", "26-40", NOT_RECORDED]
    assert groups["18-25"].n_pairs == 2
    assert groups["26-40"].n_pairs == 1 and groups["26-40"].mean_difference is None
    assert groups[NOT_RECORDED].n_pairs == 1
    with pytest.raises(AnalysisError, match="no such column"):
        stratified(paired_prepost, data, "sex")


def test_stratified_counts():
    data = records([2, 0, 3, 1, 4, 1], [1, 0, 1, 1, 2, 0], measure="ae", delivery_mode=["a", "a", "a", "b", "b", "b"])
    groups = stratified(count_prepost, data, "delivery_mode")
    assert groups["a"].total_before == 5 and groups["b"].total_after == 3


# ------------------------------------------------------------------------------------------------ tidy


def test_tidy_one_row_per_statistic_and_json_safe():
    result = paired_prepost(records([10, 12, 14, 16, 20], [8, 11, 11, 14, None]), reliable_change=2)
    frame = tidy(result)
    assert list(frame.columns) == ["statistic", "value", "ci_low", "ci_high", "df", "p_value", "n", "method"]
    assert frame["statistic"].is_unique
    row = frame.set_index("statistic").loc["mean difference (follow-up − baseline)"]
    assert row["value"] == pytest.approx(-2) and row["ci_low"] == result.mean_difference.ci_low
    assert "baseline difference, completers − non-completers" in set(frame["statistic"])
    document = to_jsonable(result)
    assert document["mean_difference"]["estimate"] == pytest.approx(-2)
    assert isinstance(result, PrePostResult)


def test_tidy_of_stratified_and_other_results():
    data = records([1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 1, 0], measure="binary", sex=["F", "F", "F", "M", "M", "M"])
    frame = tidy(stratified(mcnemar_prepost, data, "sex"))
    assert list(frame.columns)[0] == "group" and set(frame["group"]) == {"F", "M"}
    assert "odds ratio of discordant pairs" in set(frame["statistic"])
    counts = tidy(count_prepost(records([2, 0, 3], [1, 0, 1])))
    assert "rate ratio (follow-up / baseline)" in set(counts["statistic"])
    with pytest.raises(TypeError):
        tidy(object())
