"""XmR chart rules, point types, icons, rebasing and edge cases on hand-built series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.spc import POINT_TYPES, RULES, VARIATION_ICONS, xmr

# 20 alternating values: mean 0.5, every moving range 1, so with these points as the baseline
# the limits are 0.5 ± 2.66 = (-2.16, 3.16) and the 2σ band is 0.5 ± 1.7733 = (-1.2733, 2.2733).
BASE = [0.0, 1.0] * 10


def series(values, start="2022-01-01", freq="MS") -> pd.DataFrame:
    return pd.DataFrame({"period": pd.date_range(start, periods=len(values), freq=freq), "value": values})


def chart_after_base(tail, **kwargs):
    """Chart BASE followed by ``tail`` with limits fixed on BASE; returns the tail's rows."""
    result = xmr(series(BASE + list(tail)), baseline=len(BASE), **kwargs)
    return result, result.points.iloc[len(BASE) :].reset_index(drop=True)


def test_baseline_series_is_common_cause_with_expected_limits():
    result = xmr(series(BASE))
    row = result.summary.iloc[0]
    assert row["mean"] == pytest.approx(0.5)
    assert row["mrbar"] == pytest.approx(1.0)
    assert (row["lpl"], row["upl"]) == pytest.approx((0.5 - 2.66, 0.5 + 2.66))
    assert (row["lower_2s"], row["upper_2s"]) == pytest.approx((0.5 - 2 * 2.66 / 3, 0.5 + 2 * 2.66 / 3))
    assert not result.points["special_cause"].any()
    assert set(result.points["point_type"]) == {"common_cause"}
    assert result.warnings == ()


def test_points_frame_has_documented_columns():
    result = xmr(series(BASE), improvement="increase")
    for column in ["time", "value", "mean", "lpl", "upl", "lower_2s", "upper_2s", "moving_range", "segment"]:
        assert column in result.points.columns
    for rule in RULES:
        assert f"special_cause_{rule}" in result.points.columns
    assert set(result.points["point_type"]) <= set(POINT_TYPES)
    assert result.variation_icon in VARIATION_ICONS


@pytest.mark.parametrize("value, direction", [(3.5, 1), (-2.5, -1)])
def test_outside_limits(value, direction):
    _, tail = chart_after_base([0.5, value, 0.5])
    assert tail["special_cause_outside_limits"].tolist() == [False, True, False]
    assert tail.loc[1, "special_cause_rule"] == "outside_limits"
    assert tail.loc[1, "direction"] == direction


def test_on_the_limit_is_not_outside():
    result = xmr(series(BASE + [0.5, 3.16, 0.5]), baseline=20)
    upl = result.summary.iloc[0]["upl"]
    tail = xmr(series(BASE + [0.5, upl, 0.5]), baseline=20).points.iloc[20:]
    assert not tail["special_cause_outside_limits"].any()


def test_trend_of_seven_strictly_increasing_points():
    rising = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    _, tail = chart_after_base(rising + [0.5])
    assert tail["special_cause_trend"].tolist() == [True] * 7 + [False]
    assert (tail.loc[:6, "direction"] == 1).all()


def test_six_rising_points_are_not_a_trend():
    _, tail = chart_after_base([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.5])
    assert not tail["special_cause_trend"].any()


def test_decreasing_trend():
    _, tail = chart_after_base([1.2, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.5])
    assert tail["special_cause_trend"].tolist() == [True] * 7 + [False]
    assert (tail.loc[:6, "direction"] == -1).all()


def test_a_tie_breaks_a_trend():
    _, tail = chart_after_base([0.0, 0.2, 0.4, 0.4, 0.6, 0.8, 1.0, 1.2, 0.5])
    assert not tail["special_cause_trend"].any()


def test_trend_direction_decides_point_type_even_below_the_mean():
    # rising points 0.0 .. 0.4 lie below the mean 0.5 but belong to an increasing trend; NHSRplotthedots'
    # ptd_point_type reads "7 Point Trend (Increasing)" as high whichever side (fixed in 0.2, issue #171)
    rising = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    _, up_good = chart_after_base(rising, improvement="increase")
    _, down_good = chart_after_base(rising, improvement="decrease")
    assert set(up_good["point_type"]) == {"special_cause_improvement"}
    assert set(down_good["point_type"]) == {"special_cause_concern"}


def test_point_in_two_opposite_trends_takes_the_later_one():
    peak = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0]
    _, tail = chart_after_base(peak)
    assert tail["special_cause_trend"].all()
    assert tail["direction"].tolist() == [1] * 6 + [-1] * 7


def test_point_ending_a_rise_before_a_tie_that_starts_a_fall_reads_as_decreasing():
    # ptd_special_cause_type: a trend point whose next point is in a trend takes the step to it, and a flat
    # step is not "In"creasing, so the top of this rise is labelled as part of the fall
    rise, fall = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2], [1.2, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0]
    _, tail = chart_after_base(rise + fall, improvement="increase")
    assert tail["special_cause_trend"].all()
    assert tail["special_cause_type"].tolist() == (
        ["7 Point Trend (Increasing)"] * 6 + ["7 Point Trend (Decreasing)"] * 8
    )
    assert tail["point_type"].tolist() == ["special_cause_improvement"] * 6 + ["special_cause_concern"] * 8


def test_summary_counts_point_types_per_segment_like_ptd_summary():
    values = BASE + [v + 10 for v in BASE]
    frame = series(values)
    result = xmr(frame, improvement="increase", baseline=20)
    row = result.summary.iloc[0]
    # the last baseline value 1.0 is above the mean 0.5 and joins the run of 20 high values (a shift)
    assert (row["n"], row["common_cause"], row["special_cause_improvement"], row["special_cause_concern"]) == (
        40, 19, 21, 0)
    assert row["variation_type"] == "special_cause_improvement"


def test_two_of_three_beyond_two_sigma_on_the_same_side():
    _, tail = chart_after_base([0.5, 2.5, 0.6, 2.6, 0.5])
    assert tail["special_cause_two_of_three"].tolist() == [False, True, False, True, False]
    assert not tail["special_cause_outside_limits"].any()
    assert tail.loc[[1, 3], "direction"].tolist() == [1, 1]


def test_a_point_on_the_mean_breaks_two_of_three():
    # NHSRplotthedots asks all three points to lie on one side: the middle 0.5 is on the mean
    _, tail = chart_after_base([0.5, 2.5, 0.5, 2.6, 0.5])
    assert not tail["special_cause_two_of_three"].any()


def test_two_of_three_below():
    _, tail = chart_after_base([-1.5, -1.6, 0.4])
    assert tail["special_cause_two_of_three"].tolist() == [True, True, False]
    assert tail.loc[[0, 1], "direction"].tolist() == [-1, -1]


def test_two_of_three_needs_the_same_side_and_three_consecutive_points():
    _, opposite = chart_after_base([2.5, -1.5, 0.5])
    _, too_far_apart = chart_after_base([2.5, 0.5, 0.0, 2.6, 0.5])
    _, single = chart_after_base([0.5, 2.5, 0.5, 0.0])
    assert not opposite["special_cause_two_of_three"].any()
    assert not too_far_apart["special_cause_two_of_three"].any()
    assert not single["special_cause_two_of_three"].any()


def test_point_beyond_the_limit_does_not_count_towards_two_of_three():
    # NHSRplotthedots (ptd_spc_standard): close_to_limits = !outside_limits & beyond 2σ
    _, tail = chart_after_base([4.0, 2.5, 0.6])
    assert tail["special_cause_rule"].tolist() == ["outside_limits", "", ""]
    assert not tail["special_cause_two_of_three"].any()
    _, two = chart_after_base([4.0, 2.5, 2.4, 0.6])
    assert two["special_cause_rule"].tolist() == ["outside_limits", "two_of_three", "two_of_three", ""]
    assert two["special_cause_type"].tolist() == ["Above UCL", "2 in 3 Above CL", "2 in 3 Above CL", "Common Cause"]


def shift_series(above, below):
    """14 points, 7 above and 7 below, whose mean is exactly 10."""
    values = list(above) + list(below)
    assert np.mean(values) == 10.0
    return series(values)


def test_seven_points_on_one_side_of_the_mean_is_a_shift():
    result = xmr(shift_series([11, 12, 11.5, 12.5, 11, 12, 11.5], [9, 8, 8.5, 7.5, 9, 8, 8.5]))
    points = result.points
    assert points["special_cause_shift"].all()
    assert points["direction"].tolist() == [1] * 7 + [-1] * 7


def test_a_point_on_the_mean_breaks_a_shift():
    result = xmr(shift_series([11, 12, 11.5, 10, 11, 12, 11.5], [9, 8, 8.5, 10, 9, 8, 8.5]))
    assert result.points.loc[3, "value"] == result.points.loc[3, "mean"] == 10.0
    assert not result.points["special_cause_shift"].any()


def test_six_points_on_one_side_are_not_a_shift():
    _, tail = chart_after_base([0.0, 1.0, 1.2, 0.9, 1.1, 0.8, 1.3, 0.0])
    assert not tail["special_cause_shift"].any()


def test_shift_of_more_than_seven_flags_every_point():
    _, tail = chart_after_base([0.0] + [1.0, 1.2, 0.9, 1.1, 0.8, 1.3, 0.95, 1.05, 0.85] + [0.0])
    assert tail["special_cause_shift"].tolist() == [False] + [True] * 9 + [False]


def test_precedence_trend_before_two_of_three_and_shift():
    # a falling run of 7 high values: all above the mean (shift up), the first two beyond 2σ
    # (two of three up), but the trend comes first, so every point is a downward special cause
    falling = [3.0, 2.9, 2.2, 2.0, 1.5, 1.0, 0.6]
    _, tail = chart_after_base(falling, improvement="increase")
    assert tail["special_cause_shift"].all()
    assert tail["special_cause_two_of_three"].tolist() == [True, True] + [False] * 5
    assert tail["special_cause_trend"].all()
    assert set(tail["special_cause_rule"]) == {"trend"}
    assert set(tail["direction"]) == {-1}
    assert set(tail["point_type"]) == {"special_cause_concern"}


def test_precedence_outside_limits_first():
    _, tail = chart_after_base([0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 3.5])
    assert tail["special_cause_trend"].all()
    assert tail.loc[6, "special_cause_outside_limits"]
    assert tail["special_cause_rule"].tolist() == ["trend"] * 6 + ["outside_limits"]


@pytest.mark.parametrize(
    "improvement, last_value, point_type, icon",
    [
        ("increase", 3.5, "special_cause_improvement", "improvement_high"),
        ("increase", -2.5, "special_cause_concern", "concern_low"),
        ("decrease", 3.5, "special_cause_concern", "concern_high"),
        ("decrease", -2.5, "special_cause_improvement", "improvement_low"),
        (None, 3.5, "special_cause_neutral_high", "neutral_high"),
        (None, -2.5, "special_cause_neutral_low", "neutral_low"),
        ("neutral", 3.5, "special_cause_neutral_high", "neutral_high"),
        ("increase", 0.5, "common_cause", "common_cause"),
        ("decrease", 0.5, "common_cause", "common_cause"),
    ],
)
def test_variation_icon_from_the_last_point(improvement, last_value, point_type, icon):
    result, tail = chart_after_base([0.5, last_value], improvement=improvement)
    assert tail["point_type"].iloc[-1] == point_type
    assert result.variation_icon == icon
    assert result.icons["last_time"].iloc[0] == tail["time"].iloc[-1]


def test_variation_icon_ignores_earlier_special_causes():
    result, tail = chart_after_base([3.5, 0.5], improvement="increase")
    assert tail.loc[0, "point_type"] == "special_cause_improvement"
    assert result.variation_icon == "common_cause"


@pytest.mark.parametrize(
    "improvement, target, icon",
    [
        ("increase", 5.0, "consistent_fail"),  # target above the upper limit: the process cannot reach it
        ("decrease", 5.0, "consistent_pass"),  # ...and can never exceed it
        ("increase", -3.0, "consistent_pass"),
        ("decrease", -3.0, "consistent_fail"),
        ("increase", 1.0, "inconsistent"),
        ("decrease", 1.0, "inconsistent"),
        ("increase", None, None),
        ("neutral", 5.0, None),
    ],
)
def test_assurance_icon(improvement, target, icon):
    result = xmr(series(BASE), improvement=improvement, target=target)
    assert result.assurance_icon == icon


def test_assurance_on_the_limit_is_inconsistent():
    upl = xmr(series(BASE)).summary.iloc[0]["upl"]
    assert xmr(series(BASE), improvement="increase", target=upl).assurance_icon == "inconsistent"


def test_assurance_needs_a_direction():
    result = xmr(series(BASE), target=5.0)
    assert result.assurance_icon is None
    assert any("improvement direction" in w for w in result.warnings)


def test_assurance_uses_the_last_segment():
    values = BASE + [v + 10 for v in BASE]
    frame = series(values)
    go_live = frame["period"].iloc[20]
    result = xmr(frame, improvement="increase", target=5.0, rebase_at=[go_live])
    assert result.assurance_icon == "consistent_pass"  # after go-live the lower limit 7.84 is above the target
    assert xmr(frame, improvement="increase", target=5.0, baseline=20).assurance_icon == "consistent_fail"


def test_rebase_at_go_live_gives_separate_limits():
    values = BASE + [v + 10 for v in BASE]
    frame = series(values)
    go_live = frame["period"].iloc[20]
    result = xmr(frame, rebase_at=[go_live])
    summary = result.summary
    assert summary["segment"].tolist() == [1, 2]
    assert summary["mean"].tolist() == pytest.approx([0.5, 10.5])
    assert summary["mrbar"].tolist() == pytest.approx([1.0, 1.0])
    assert summary["start"].tolist() == [frame["period"].iloc[0], go_live]
    assert summary["n"].tolist() == [20, 20]
    points = result.points
    assert points["segment"].tolist() == [1] * 20 + [2] * 20
    assert np.isnan(points.loc[20, "moving_range"])  # no moving range across the rebase
    assert not points["special_cause"].any()

    unsplit = xmr(frame)
    assert unsplit.summary.iloc[0]["mean"] == pytest.approx(5.5)
    assert unsplit.points["special_cause"].any()


def test_rebase_accepts_a_date_string_and_a_single_value():
    frame = series(BASE + BASE)
    result = xmr(frame, rebase_at="2023-09-01")
    assert result.summary["n"].tolist() == [20, 20]


def test_rebase_outside_the_series_is_an_error():
    frame = series(BASE)
    with pytest.raises(AnalysisError, match="outside the series"):
        xmr(frame, rebase_at=["2030-01-01"])
    with pytest.raises(AnalysisError, match="outside the series"):
        xmr(frame, rebase_at=[frame["period"].iloc[0]])


def test_rebase_leaving_one_point_is_an_error():
    frame = series(BASE)
    with pytest.raises(AnalysisError, match="at least 2"):
        xmr(frame, rebase_at=[frame["period"].iloc[-1]])


def test_fixed_baseline_sets_limits_on_the_first_points_only():
    tail = [5.0, 6.0, 5.5, 6.5, 5.0, 6.0]
    fixed = xmr(series(BASE + tail), baseline=20)
    row = fixed.summary.iloc[0]
    assert row["mean"] == pytest.approx(0.5)
    assert row["mrbar"] == pytest.approx(1.0)
    assert row["n"] == 26 and row["n_baseline"] == 20
    assert fixed.points["in_baseline"].tolist() == [True] * 20 + [False] * 6
    assert fixed.points.iloc[20:]["special_cause_outside_limits"].all()

    free = xmr(series(BASE + tail)).summary.iloc[0]
    assert free["mean"] > 1.0


def test_baseline_longer_than_the_series_warns():
    result = xmr(series(BASE), baseline=30)
    assert any("baseline of 30" in w for w in result.warnings)
    assert result.summary.iloc[0]["n_baseline"] == 20


@pytest.mark.parametrize("bad", [1, 0, 2.5, True])
def test_bad_baseline(bad):
    with pytest.raises(ValueError, match="baseline"):
        xmr(series(BASE), baseline=bad)


def test_screening_is_default_and_switchable():
    values = [1.0, 2.0] * 6 + [10.0] + [1.0, 2.0] * 6
    screened = xmr(series(values))
    unscreened = xmr(series(values), screen_outliers=False)
    assert screened.summary.iloc[0]["n_mr_screened_out"] == 2
    assert unscreened.summary.iloc[0]["n_mr_screened_out"] == 0
    assert screened.summary.iloc[0]["mrbar"] < unscreened.summary.iloc[0]["mrbar"]
    assert screened.summary.iloc[0]["mean"] == unscreened.summary.iloc[0]["mean"]


def test_fewer_than_twelve_points_warns():
    result = xmr(series([1.0, 2.0, 1.5, 2.5, 1.0, 2.0, 1.5, 2.5, 1.0, 2.0, 1.5]))
    assert any("fewer than 12" in w for w in result.warnings)
    assert not any("fewer than 12" in w for w in xmr(series(BASE[:12])).warnings)


def test_all_values_equal_warns_and_limits_collapse():
    result = xmr(series([4.0] * 15))
    row = result.summary.iloc[0]
    assert row["mrbar"] == 0
    assert row["lpl"] == row["upl"] == row["mean"] == 4.0
    assert any("all values are equal" in w for w in result.warnings)
    assert not result.points["special_cause"].any()


def test_zero_mean_moving_range_after_screening_warns():
    result = xmr(series([1.0] * 12 + [5.0]))
    assert result.summary.iloc[0]["mrbar"] == 0
    assert any("every moving range is 0" in w for w in result.warnings)


def test_missing_value_is_left_out_warned_and_breaks_runs():
    values = BASE + [0.0, 0.2, 0.4, np.nan, 0.6, 0.8, 1.0, 1.2]
    result = xmr(series(values), baseline=20)
    assert any("1 missing value" in w for w in result.warnings)
    assert len(result.points) == len(values) - 1
    assert not result.points["special_cause_trend"].any()
    after_gap = result.points.iloc[23]
    assert after_gap["value"] == 0.6 and np.isnan(after_gap["moving_range"])


def test_missing_month_is_warned_and_breaks_runs():
    frame = series(BASE + [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    frame = frame.drop(index=23).reset_index(drop=True)  # 0.6 is gone: no row at all for that month
    frame.loc[len(frame) - 3 :, "value"] = [0.8, 1.0, 1.2]
    result = xmr(frame, baseline=20)
    assert any("gap" in w for w in result.warnings)
    assert np.isnan(result.points.iloc[23]["moving_range"])
    assert not result.points["special_cause_trend"].any()


def test_regular_quarterly_series_has_no_gap_warning():
    result = xmr(series(BASE, freq="QS"))
    assert result.warnings == ()


def test_every_value_missing_is_an_error():
    with pytest.raises(AnalysisError, match="every value is missing"):
        xmr(series([np.nan] * 5))


def test_single_point_is_an_error():
    with pytest.raises(AnalysisError, match="at least 2"):
        xmr(series([1.0]))


def test_duplicated_periods_are_an_error():
    frame = pd.concat([series(BASE), series(BASE)])
    with pytest.raises(AnalysisError, match="duplicated"):
        xmr(frame)


def test_missing_column_and_non_numeric_values_are_errors():
    with pytest.raises(AnalysisError, match="not in the data"):
        xmr(series(BASE), value="rate")
    frame = series(BASE).astype({"value": object})
    frame.loc[3, "value"] = "n/a"
    with pytest.raises(AnalysisError, match="non-numeric"):
        xmr(frame)


def test_bad_improvement_direction():
    with pytest.raises(ValueError, match="improvement"):
        xmr(series(BASE), improvement="up")


def test_unsorted_rows_and_string_dates_are_handled():
    frame = series(BASE)
    shuffled = frame.sample(frac=1, random_state=3)
    shuffled["period"] = shuffled["period"].dt.strftime("%Y-%m-%d")
    result = xmr(shuffled)
    assert pd.api.types.is_datetime64_any_dtype(result.points["time"])
    assert result.points["value"].tolist() == BASE


def test_numeric_time_column():
    frame = pd.DataFrame({"t": range(1, 21), "y": BASE})
    result = xmr(frame, time="t", value="y", rebase_at=[11])
    assert result.summary["n"].tolist() == [10, 10]


def test_facets_chart_separately():
    frame = pd.concat(
        [series(BASE).assign(site="A"), series([v + 10 for v in BASE]).assign(site="B")], ignore_index=True
    )
    result = xmr(frame, facet="site", improvement="increase", target=5.0)
    assert result.summary.set_index("site")["mean"].to_dict() == pytest.approx({"A": 0.5, "B": 10.5})
    icons = result.icons.set_index("site")
    assert icons["assurance_icon"].to_dict() == {"A": "consistent_fail", "B": "consistent_pass"}
    assert "site" in result.points.columns
    with pytest.raises(AnalysisError, match="facets"):
        _ = result.variation_icon


def test_methods_text_cites_references():
    methods = xmr(series(BASE)).methods
    for reference in ("Making Data Count", "Wheeler", "NHSRplotthedots"):
        assert reference in methods


def test_month_end_dates_over_years_have_no_false_gaps():
    frame = series([0.0, 1.0] * 30, start="2020-01-31", freq="ME")
    assert xmr(frame).warnings == ()
    gappy = frame.drop(index=40)
    assert any("1 gap" in w for w in xmr(gappy).warnings)
