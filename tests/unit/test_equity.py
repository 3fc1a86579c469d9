"""Equity analyses: exact Poisson rates, rate ratios against a reference group, change at go-live."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mhin_eval.analysis.equity import (
    DEFAULT_RATIO_METHOD,
    group_rates,
    poisson_exact_ci,
    rate_ratio_change,
    rate_ratios,
)
from mhin_eval.analysis.results import AnalysisError

# ------------------------------------------------------------------------------------ exact Poisson CI


@pytest.mark.parametrize("count", [0, 1, 10])
def test_exact_poisson_ci_matches_the_chi_square_formula(count):
    # Garwood (1936) / Ulm (1990): lower = chi2(0.025; 2x)/2, upper = chi2(0.975; 2x + 2)/2
    lower, upper = poisson_exact_ci(count)
    expected_lower = 0.0 if count == 0 else stats.chi2.ppf(0.025, 2 * count) / 2
    assert lower == pytest.approx(expected_lower, rel=1e-12, abs=0)
    assert upper == pytest.approx(stats.chi2.ppf(0.975, 2 * count + 2) / 2, rel=1e-12)
    # and the defining tail probabilities: P(X >= x | lower) = P(X <= x | upper) = 2.5%
    assert stats.poisson.cdf(count, upper) == pytest.approx(0.025, rel=1e-9)
    if count:
        assert stats.poisson.sf(count - 1, lower) == pytest.approx(0.025, rel=1e-9)


def test_exact_poisson_ci_published_values():
    # x = 0: upper limit 3.689 — R epitools::pois.exact documentation ("for the upper confidence limit
    # pois.exact returns 3.689" when x = 0), the classic "rule of 3.69"
    assert poisson_exact_ci(0) == (0.0, pytest.approx(3.689, abs=5e-4))
    # x = 10: 4.80 to 18.39 (exact Garwood limits as tabulated, e.g. calculatorhub.com Poisson CI notes)
    low, high = poisson_exact_ci(10)
    assert (round(low, 2), round(high, 2)) == (4.80, 18.39)
    # x = 137 over 24.19893 expected (SMR of Welsh nickel workers; R stats::poisson.test help example):
    # R prints 95 percent confidence interval 4.753125 6.692709
    low, high = poisson_exact_ci(137)
    assert low / 24.19893 == pytest.approx(4.753125, abs=5e-7)
    assert high / 24.19893 == pytest.approx(6.692709, abs=5e-7)


def test_exact_poisson_ci_conf_level_and_bad_input():
    narrow = poisson_exact_ci(10, conf_level=0.90)
    wide = poisson_exact_ci(10, conf_level=0.99)
    assert wide[0] < narrow[0] < 10 < narrow[1] < wide[1]
    with pytest.raises(ValueError, match="non-negative"):
        poisson_exact_ci(-1)
    with pytest.raises(ValueError, match="conf_level"):
        poisson_exact_ci(3, conf_level=95)


# ------------------------------------------------------------------------------------------- rates


def rates_frame(counts, denominators, groups=("A", "B", "C")):
    return pd.DataFrame({"group": list(groups), "value": counts, "denominator": denominators})


def test_group_rates_per_100000_with_exact_ci():
    result = group_rates(rates_frame([10, 0, 25], [50_000, 20_000, 100_000]))
    table = result.table.set_index("group")
    assert table.loc["A", "rate"] == pytest.approx(20.0)
    assert table.loc["A", "ci_low"] == pytest.approx(4.7953887 / 50_000 * 1e5, rel=1e-6)
    assert table.loc["A", "ci_high"] == pytest.approx(18.3903560 / 50_000 * 1e5, rel=1e-6)
    assert table.loc["B", "rate"] == 0 and table.loc["B", "ci_low"] == 0
    assert table.loc["B", "ci_high"] == pytest.approx(3.6888795 / 20_000 * 1e5, rel=1e-6)
    assert table.loc["C", "rate"] == pytest.approx(25.0)
    assert result.per == 100_000 and result.warnings == ()
    assert "Garwood" in result.methods and "Ulm" in result.methods


def test_group_rates_per_and_column_names():
    frame = pd.DataFrame({"eth": ["X", "Y"], "n": [3, 6], "pop": [1000, 1000]})
    result = group_rates(frame, count="n", denominator="pop", group="eth", per=1000)
    assert result.table["rate"].tolist() == pytest.approx([3.0, 6.0])


@pytest.mark.parametrize("denominator, note", [(0, "zero"), (np.nan, "denominator missing")])
def test_zero_or_missing_denominator_warns_and_gives_no_rate(denominator, note):
    result = group_rates(rates_frame([10, 5, 3], [1000, denominator, 1000]))
    row = result.table.set_index("group").loc["B"]
    assert math.isnan(row["rate"]) and math.isnan(row["ci_high"])
    assert note in row["note"]
    assert any("'B'" in w and note in w for w in result.warnings)


def test_suppressed_count_gives_no_rate():
    frame = rates_frame(["12", "*", "7"], [1000, 1000, 1000])
    result = group_rates(frame)
    row = result.table.set_index("group").loc["B"]
    assert math.isnan(row["rate"]) and "suppressed" in row["note"]


def test_several_rows_per_group_are_summed_with_a_warning():
    frame = pd.DataFrame({"group": ["A", "A", "B"], "value": [2, 3, 4], "denominator": [100, 100, 100]})
    result = group_rates(frame)
    table = result.table.set_index("group")
    assert table.loc["A", "count"] == 5 and table.loc["A", "denominator"] == 200
    assert any("summed" in w for w in result.warnings)


def test_rates_input_errors():
    with pytest.raises(AnalysisError, match="not in the data"):
        group_rates(rates_frame([1, 2, 3], [10, 10, 10]), count="events")
    with pytest.raises(AnalysisError, match="negative"):
        group_rates(rates_frame([1, -2, 3], [10, 10, 10]))
    with pytest.raises(AnalysisError, match="non-numeric"):
        group_rates(rates_frame([1, "two", 3], [10, 10, 10]))
    with pytest.raises(ValueError, match="per"):
        group_rates(rates_frame([1, 2, 3], [10, 10, 10]), per=0)


# ------------------------------------------------------------------------------------- rate ratios


def test_rate_ratio_hand_example_wald():
    # a = 30 / 1000 vs b = 10 / 1000: RR = 3, SE(log RR) = sqrt(1/30 + 1/10) = 0.365148,
    # 95% CI exp(log 3 ± 1.959964 × 0.365148) = 1.46658 to 6.13672, z = 3.00866, p = 0.002624
    result = rate_ratios(rates_frame([30, 10, 20], [1000, 1000, 1000]), "B")
    assert result.method == DEFAULT_RATIO_METHOD == "wald"
    table = result.table.set_index("group")
    assert table.loc["A", "rate_ratio"] == pytest.approx(3.0)
    assert table.loc["A", "ci_low"] == pytest.approx(1.46658, abs=1e-5)
    assert table.loc["A", "ci_high"] == pytest.approx(6.13672, abs=1e-5)
    assert table.loc["A", "p_value"] == pytest.approx(0.002624, abs=1e-6)
    assert table.loc["B", "is_reference"] and table.loc["B", "rate_ratio"] == 1.0
    assert table.loc["C", "rate_ratio"] == pytest.approx(2.0)
    estimate = result.estimate("A")
    assert estimate.scale == "ratio" and estimate.excludes_null
    assert estimate.se == pytest.approx(math.sqrt(1 / 30 + 1 / 10))
    assert result.estimate("B") is None


def test_rate_ratio_exact_matches_r_poisson_test():
    # R stats::poisson.test help example (ISwR eba1977, lung cancer, Fredericia vs the other three
    # cities, ages 55-59): poisson.test(c(11, 6+8+7), c(800, 1083+1050+878)) prints
    # rate ratio 1.971488, 95 percent CI 0.8584264 4.2772659, p-value = 0.07967
    frame = pd.DataFrame(
        {"group": ["Fredericia", "Others"], "value": [11, 21], "denominator": [800, 1083 + 1050 + 878]}
    )
    row = rate_ratios(frame, "Others", method="exact").table.set_index("group").loc["Fredericia"]
    assert row["rate_ratio"] == pytest.approx(1.971488, abs=5e-7)
    assert row["ci_low"] == pytest.approx(0.8584264, abs=5e-8)
    assert row["ci_high"] == pytest.approx(4.2772659, abs=5e-8)
    assert row["p_value"] == pytest.approx(0.07967, abs=5e-6)


def test_exact_and_wald_agree_for_large_counts():
    frame = rates_frame([3000, 1000, 1500], [1e6, 1e6, 1e6])
    wald = rate_ratios(frame, "B").table.set_index("group")
    exact = rate_ratios(frame, "B", method="exact").table.set_index("group")
    for column in ("ci_low", "ci_high"):
        assert wald.loc["A", column] == pytest.approx(exact.loc["A", column], rel=2e-3)


def test_zero_count_group_gets_a_note_not_a_ratio():
    for method in ("wald", "exact"):
        result = rate_ratios(rates_frame([0, 10, 20], [1000, 1000, 1000]), "B", method=method)
        row = result.table.set_index("group").loc["A"]
        assert math.isnan(row["rate_ratio"]) and math.isnan(row["ci_high"])
        assert "no events" in row["note"]
        assert result.estimate("A") is None
        assert any("'A' has no events" in w for w in result.warnings)


def test_reference_problems_are_errors():
    with pytest.raises(AnalysisError, match="no events"):
        rate_ratios(rates_frame([5, 0, 3], [100, 100, 100]), "B")
    with pytest.raises(AnalysisError, match="not in the data"):
        rate_ratios(rates_frame([5, 1, 3], [100, 100, 100]), "White")
    with pytest.raises(AnalysisError, match="no usable rate"):
        rate_ratios(rates_frame([5, 1, 3], [100, 0, 100]), "B")
    with pytest.raises(ValueError, match="method"):
        rate_ratios(rates_frame([5, 1, 3], [100, 100, 100]), "B", method="score")


def test_small_counts_suggest_the_exact_interval():
    result = rate_ratios(rates_frame([4, 12, 20], [1000, 1000, 1000]), "B")
    assert any("method='exact'" in w for w in result.warnings)
    assert not any("method='exact'" in w for w in rate_ratios(rates_frame([40, 12, 20], [1] * 3), "B").warnings)


def test_group_without_denominator_has_no_ratio():
    result = rate_ratios(rates_frame([5, 10, 3], [np.nan, 100, 100]), "B")
    row = result.table.set_index("group").loc["A"]
    assert math.isnan(row["rate_ratio"]) and "denominator" in row["note"]


# ------------------------------------------------------- real data: MHA 2023-24 detentions by ethnicity


@pytest.fixture(scope="module")
def mha_ethnicity(real_data_dir) -> pd.DataFrame:
    path = real_data_dir / "mha_annual_2023_24" / "mha_annual_suppressed_2023_24_sheet1.csv"
    frame = pd.read_csv(path)
    rows = frame[
        (frame["Measure"] == "All detentions")
        & (frame["Demographic"] == "Ethnicity")
        & (frame["OrgName"] == "All providers")
    ]
    return rows.set_index("DemographicBreakdown")


def test_mha_2023_24_crude_rates_and_rate_ratio(mha_ethnicity):
    # NHS England, Mental Health Act Statistics, Annual Figures 2023-24: crude detention rates per
    # 100,000 of 239.0 (Black or Black British, 5,693 detentions) and 69.5 (White, 31,735).
    # The file gives counts and rates but not the populations, so each population is backed out as
    # count / rate × 100,000; rates are printed to 0.1, so each population is known to ±0.02%.
    black = mha_ethnicity.loc["Black or Black British"]
    white = mha_ethnicity.loc["White"]
    assert (black["Total_Count"], black["CrudeRate"]) == (5693, 239.0)
    assert (white["Total_Count"], white["CrudeRate"]) == (31735, 69.5)
    data = pd.DataFrame(
        {
            "group": ["Black or Black British", "White"],
            "value": [black["Total_Count"], white["Total_Count"]],
            "denominator": [
                round(black["Total_Count"] / black["CrudeRate"] * 1e5),
                round(white["Total_Count"] / white["CrudeRate"] * 1e5),
            ],
        }
    )
    # the backed-out populations are those of England's 2021 Census scale (about 2.38 and 45.7 million)
    assert 2.3e6 < data["denominator"].iloc[0] < 2.45e6 and 45e6 < data["denominator"].iloc[1] < 46.5e6

    rates = group_rates(data).table.set_index("group")
    assert round(rates.loc["Black or Black British", "rate"], 1) == 239.0
    assert round(rates.loc["White", "rate"], 1) == 69.5
    # exact 95% CI for the Black or Black British crude rate: about ±6.2 per 100,000 (√5693 × 1.96)
    assert rates.loc["Black or Black British", "ci_low"] == pytest.approx(232.8, abs=0.2)
    assert rates.loc["Black or Black British", "ci_high"] == pytest.approx(245.3, abs=0.2)

    ratios = rate_ratios(data, "White")
    estimate = ratios.estimate("Black or Black British")
    # RR from the published rates: 239.0 / 69.5 = 3.4388; with their rounding 3.4357 to 3.4421
    assert 238.95 / 69.55 <= estimate.estimate <= 239.05 / 69.45
    # Wald on the log scale: SE = sqrt(1/5693 + 1/31735) = 0.014393 -> 3.343 to 3.537
    assert estimate.se == pytest.approx(0.014393, abs=1e-6)
    assert estimate.ci_low == pytest.approx(3.343, abs=2e-3)
    assert estimate.ci_high == pytest.approx(3.537, abs=2e-3)
    assert estimate.p_value < 1e-300 or estimate.p_value == 0.0
    exact = rate_ratios(data, "White", method="exact").estimate("Black or Black British")
    assert exact.ci_low == pytest.approx(estimate.ci_low, rel=1e-3)
    assert exact.ci_high == pytest.approx(estimate.ci_high, rel=1e-3)


def test_mha_backed_out_populations_add_up_to_england(mha_ethnicity):
    # consistency of the backing out: the five top-level ethnic groups' populations sum to within 0.5%
    # of the population behind the "All" rate (45,525 detentions at 80.7 per 100,000)
    top_level = ["White", "Black or Black British", "Asian or Asian British", "Mixed", "Other Ethnic Groups"]
    populations = mha_ethnicity.loc[top_level, "Total_Count"] / mha_ethnicity.loc[top_level, "CrudeRate"] * 1e5
    everyone = mha_ethnicity.loc["All", "Total_Count"] / mha_ethnicity.loc["All", "CrudeRate"] * 1e5
    assert populations.sum() == pytest.approx(everyone, rel=5e-3)


# ------------------------------------------------------------------- change in rate ratio at go-live


def two_group_series(rr_before, rr_after, *, months_pre=24, months_post=24, noise=True, seed=7):
    """Monthly detentions for a group and a reference with a known rate-ratio step at go-live."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2021-01-01", periods=months_pre + months_post, freq="MS")
    post = np.arange(len(periods)) >= months_pre
    rows = []
    for group, population, ratio in (
        ("Black or Black British", 2_400_000, np.where(post, rr_after, rr_before)),
        ("White", 45_700_000, np.ones(len(periods))),
    ):
        monthly_rate = 70 / 100_000 / 12 * ratio
        expected = population * monthly_rate
        counts = rng.poisson(expected) if noise else np.round(expected)
        rows.append(pd.DataFrame({"period": periods, "group": group, "value": counts, "denominator": population}))
    return pd.concat(rows, ignore_index=True), periods[months_pre]


def test_rate_ratio_change_recovers_a_known_narrowing():
    from mhin_eval.analysis.its import ITSOptions

    data, go_live = two_group_series(3.4, 2.4)
    result = rate_ratio_change(
        data, "White", go_live, options=ITSOptions(family="quasipoisson", slope_change=True)
    )
    assert result.group == "Black or Black British" and result.reference == "White"
    level = result.level_change
    assert level.scale == "ratio"
    assert level.ci_low < 2.4 / 3.4 < level.ci_high
    assert level.estimate == pytest.approx(2.4 / 3.4, rel=0.05)
    assert level.excludes_null
    assert result.slope_change.ci_low < 1 < result.slope_change.ci_high
    assert result.before.estimate("Black or Black British").estimate == pytest.approx(3.4, rel=0.02)
    assert result.after.estimate("Black or Black British").estimate == pytest.approx(2.4, rel=0.02)
    assert "Lopez Bernal" in result.methods


def test_rate_ratio_change_on_noiseless_counts():
    from mhin_eval.analysis.its import ITSOptions

    data, go_live = two_group_series(3.0, 2.0, noise=False)
    data["value"] = data["value"].astype(int)
    result = rate_ratio_change(data, "White", go_live, options=ITSOptions(family="poisson"))
    # rounding the expected counts to whole numbers moves the ratio of rate ratios a little off 2/3
    assert result.level_change.estimate == pytest.approx(2 / 3, rel=2e-3)
    assert result.slope_change.estimate == pytest.approx(1.0, abs=1e-3)


def test_rate_ratio_change_without_change_includes_one():
    data, go_live = two_group_series(3.4, 3.4, seed=11)
    result = rate_ratio_change(data, "White", go_live)
    assert result.level_change.ci_low < 1 < result.level_change.ci_high


def test_rate_ratio_change_input_errors():
    data, go_live = two_group_series(3.4, 2.4)
    three = pd.concat([data, data[data["group"] == "White"].assign(group="Asian")], ignore_index=True)
    with pytest.raises(AnalysisError, match="group_of_interest"):
        rate_ratio_change(three, "White", go_live)
    assert rate_ratio_change(three, "White", go_live, group_of_interest="Asian").group == "Asian"
    with pytest.raises(AnalysisError, match="not in the data"):
        rate_ratio_change(data, "Irish", go_live)
    with pytest.raises(AnalysisError, match="same"):
        rate_ratio_change(data, "White", go_live, group_of_interest="White")
    broken = data.copy()
    broken.loc[3, "denominator"] = 0
    with pytest.raises(AnalysisError, match="zero or missing"):
        rate_ratio_change(broken, "White", go_live)


def test_rate_ratio_change_with_too_few_points_warns_without_estimate():
    data, go_live = two_group_series(3.4, 2.4, months_pre=2, months_post=12)
    result = rate_ratio_change(data, "White", go_live)
    assert result.level_change is None
    assert result.warnings


def test_rate_ratio_change_with_integer_time_and_text_go_live():
    data, go_live = two_group_series(3.4, 2.4)
    data["t"] = data.groupby("group").cumcount() + 1
    result = rate_ratio_change(data.drop(columns="period"), "White", "25", time="t")
    assert result.level_change.ci_low < 2.4 / 3.4 < result.level_change.ci_high
    assert result.before.table["count"].sum() == data.loc[data["t"] < 25, "value"].sum()
    with pytest.raises(AnalysisError, match="must be a number"):
        rate_ratio_change(data.drop(columns="period"), "White", "June", time="t")
