"""Special causes, point types and icons reproduce NHSRplotthedots' own tests.

Every expected value below is copied from a testthat file (or its snapshot) of the NHS-R Community
package NHSRplotthedots, repository nhs-r-community/NHSRplotthedots, at the commit named beside it.
Random test data (``set.seed(123); rnorm(...)``) are replayed with R's generator (tests/reference/r_rnorm.py),
checked first against the published rnorm20 series in shared/reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.spc import assurance_icon, xmr
from mhin_eval.analysis.spc_rules import (
    part_of_seven_trend,
    part_of_two_in_three,
    seven_point_one_side_mean,
    seven_point_trend,
    special_cause_type,
    two_in_three,
)
from tests.reference.r_rnorm import RRandom
from tests.reference.test_spc_ptd import assert_printed

POINT_TYPE_TESTS = "tests/testthat/test-ptd_calculate_point_type.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225"
STANDARD_TESTS = "tests/testthat/test-ptd_spc_standard.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225"
STANDARD_SNAPSHOT = "tests/testthat/_snaps/ptd_spc_standard.md @ ea2177d4ccfed7dc14d8f57d20f1114d9b235295"
SPC_SNAPSHOT = "tests/testthat/_snaps/ptd_spc.md @ 174380d653d7a169a76f99deebb9fc21ed5fbbd6 (test-ptd_spc.R)"
ICON_TESTS = "tests/testthat/test-geom_ptd_icon.R @ 24745e755877791489fd8783710bb84f8937d8c4"
ASSURANCE_TESTS = "tests/testthat/test-ptd_calculate_assurance_type.R @ 7ed6ae9006d4a5bc8f9839c9eb0afeb34fba4d81"
SHORT_GROUP_TESTS = "tests/testthat/test-ptd_add_short_group_warnings.R @ 8aac3239e90ce9ebeb9c3e61f56c207dfc37b225"


def r_dates(n: int) -> pd.DatetimeIndex:
    """R's ``as.Date("2020-01-01") + 1:n``."""
    return pd.date_range("2020-01-02", periods=n, freq="D")


def test_r_generator_replays_the_published_rnorm20(reference_dir):
    # shared/reference README: spc_ptd_rnorm20.csv column y is NHSRplotthedots' set.seed(123); rnorm(20)
    published = pd.read_csv(reference_dir / "spc_ptd_rnorm20.csv")["y"].to_numpy()
    assert RRandom(123).rnorm(20) == pytest.approx(published, abs=5e-9)


# --- helpers of ptd_calculate_point_type.R, source: POINT_TYPE_TESTS -------------------------------------


@pytest.mark.parametrize(
    "v, expected",
    [
        ([], []),
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
        ([-1] * 8 + [1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    ],
)
def test_ptd_seven_point_one_side_mean(v, expected):
    assert seven_point_one_side_mean(v).tolist() == expected


@pytest.mark.parametrize(
    "v, expected",
    [
        ([], []),
        ([0] * 6, [0] * 6),
        ([0] * 6 + [1, 0], [1] * 7 + [0]),
        ([0] * 7 + [1, 0], [0] + [1] * 7 + [0]),
        ([0] * 6 + [-1, 0], [1] * 7 + [0]),
        ([0] * 7 + [-1, 0], [0] + [1] * 7 + [0]),
    ],
)
def test_ptd_part_of_seven_trend(v, expected):
    assert part_of_seven_trend(v).tolist() == expected


@pytest.mark.parametrize(
    "y, expected",
    [
        ([], []),
        (list(range(1, 7)), [0] * 6),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),
        (list(range(1, 8)), [0, 0, 0, 0, 0, 0, 1]),
        ([2, *range(1, 8), 3], [0, 0, 0, 0, 0, 0, 0, 1, 0]),
        (list(range(7, 0, -1)), [0, 0, 0, 0, 0, 0, -1]),
        ([2, *range(7, 0, -1), 3], [0, 0, 0, 0, 0, 0, 0, -1, 0]),
    ],
)
def test_ptd_seven_point_trend(y, expected):
    assert seven_point_trend(y).tolist() == expected


@pytest.mark.parametrize(
    "v, rtm, expected",
    [
        ([], [], []),
        ([0, 0, 0], [0], [0, 0, 0]),
        ([1, 0, 1], [1, 1, 1], [1, 1, 1]),
        ([0, 1, 1], [1, 1, 1], [1, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 1]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 1, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 1, 1, 1, 1, 0, 0]),
        # "ptd_two_in_three works as expected when points are on opposite sides of the mean"
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
        ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ],
)
def test_ptd_two_in_three(v, rtm, expected):
    assert two_in_three(v, rtm).tolist() == expected


@pytest.mark.parametrize(
    "v, rtm, expected",
    [
        ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
        ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
        ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    ],
)
def test_ptd_part_of_two_in_three(v, rtm, expected):
    # as in the R test: ptd_part_of_two_in_three(ptd_two_in_three(v, rtm), v)
    assert part_of_two_in_three(two_in_three(v, rtm), v).tolist() == expected


def test_ptd_part_of_two_in_three_degenerate_calls():
    # the R test's "b" and "g" cases call it with the raw vectors: ptd_part_of_two_in_three(bv, bt), (gv, gv)
    assert part_of_two_in_three([0, 0, 0], two_in_three([0, 0, 0], [0])).tolist() == [0, 0, 0]
    gv = [0, 0, 1, 1, 0, 0, 0]
    assert part_of_two_in_three(gv, gv).tolist() == gv


def test_ptd_special_cause_type():
    # the R test mocks the rule helpers: part of a trend c(1, -1, 0, ...), part of a shift c(0, 0, 1, -1, 0, ...),
    # part of two-in-three c(0, 0, 0, 0, 1, 0, 0, 0); y = 1:8, relative_to_mean = c(rep(1, 4), rep(-1, 4))
    labels = special_cause_type(
        y=list(range(1, 9)),
        relative_to_mean=[1] * 4 + [-1] * 4,
        outside_limits=[0, 0, 0, 0, 0, 1, -1, 0],
        part_trend=[1, -1, 0, 0, 0, 0, 0, 0],
        part_two_in_three=[0, 0, 0, 0, 1, 0, 0, 0],
        part_one_side=[0, 0, 1, -1, 0, 0, 0, 0],
    )
    assert labels.tolist() == [
        "7 Point Trend (Increasing)",
        "7 Point Trend (Increasing)",
        "7 Points Above CL",
        "7 Points Above CL",
        "2 in 3 Below CL",
        "Below LCL",
        "Below LCL",
        "Common Cause",
    ]


# --- ptd_spc_standard and ptd_spc on data ---------------------------------------------------------------


def test_two_of_three_on_opposite_sides_of_the_mean_is_common_cause():
    # source: STANDARD_TESTS, "it only reports special cause for 2of3 points close to limits when they are
    # on the same side of the mean": rep(c(1, -1), times = 8) with the 15th and 16th values 5.5 and -5.5
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5
    result = xmr(pd.DataFrame({"date": r_dates(16), "data": data}), time="date", value="data", improvement="increase")
    assert result.points["point_type"].tail(2).tolist() == ["common_cause", "common_cause"]


def test_relative_to_mean_as_in_the_snapshot():
    # source: STANDARD_SNAPSHOT, pillar::glimpse(r1) and (r2) (the 15th value set to 10), as far as printed
    y = RRandom(123).rnorm(20)
    frame = pd.DataFrame({"x": r_dates(20), "y": y})
    r1 = xmr(frame, time="x", value="y").points
    assert np.sign(r1["value"] - r1["mean"]).head(15).tolist() == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    assert not r1["special_cause_outside_limits"].head(8).any()
    frame.loc[14, "y"] = 10.0
    r2 = xmr(frame, time="x", value="y").points
    assert np.sign(r2["value"] - r2["mean"]).head(14).tolist() == [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]


def test_summary_counts_as_in_the_snapshot():
    # source: SPC_SNAPSHOT, "it outputs expected content": s1 (no facet) and s3 (facet_field = "facet")
    d = pd.DataFrame({"x": r_dates(20), "y": RRandom(123).rnorm(20), "facet": [0] * 10 + [1] * 10})
    s1 = xmr(d, time="x", value="y", improvement="increase").summary.iloc[0]
    for value, printed in zip(s1[["mean", "lpl", "upl"]], ["0.142", "-3.01", "3.29"], strict=True):
        assert_printed(value, printed)
    assert (s1["n"], s1["common_cause"], s1["special_cause_improvement"]) == (20, 20, 0)
    s3 = xmr(d, time="x", value="y", improvement="increase", facet="facet").summary
    assert s3["n"].tolist() == [10, 10]
    assert s3["common_cause"].tolist() == [10, 10]
    assert s3["special_cause_improvement"].tolist() == [0, 0]
    for mean, printed in zip(s3["mean"], ["0.0746", "0.209"], strict=True):
        assert_printed(mean, printed)


# --- icons: ptd_get_icons, source: ICON_TESTS ------------------------------------------------------------


@pytest.fixture(scope="module")
def icon_data():
    """The R test's data: set.seed(123), 24 days of rnorm, facet f = 0 for the first 12 and 1 for the rest;
    then f == 1 redrawn from rnorm(12, 5) and, later, from rnorm(12, -5), continuing the same stream."""
    rng = RRandom(123)
    base = pd.DataFrame({"x": r_dates(24), "y": rng.rnorm(24), "f": [0] * 12 + [1] * 12})
    high = base.assign(y=np.where(base["f"] == 1, np.nan, base["y"]))
    high.loc[high["f"] == 1, "y"] = rng.rnorm(12, 5)
    low = high.copy()
    low.loc[low["f"] == 1, "y"] = rng.rnorm(12, -5)
    return {"base": base, "high": high, "low": low}


def icons_of(frame, **kwargs) -> list[tuple]:
    result = xmr(frame, time="x", value="y", **kwargs)
    return list(result.icons[["variation_icon", "assurance_icon"]].itertuples(index=False, name=None))


@pytest.mark.parametrize(
    "data, kwargs, expected",
    [
        ("base", {}, [("common_cause", None)]),  # s1
        ("base", {"target": 0.5}, [("common_cause", "inconsistent")]),  # s2
        ("base", {"facet": "f"}, [("common_cause", None), ("common_cause", None)]),  # s3
        ("base", {"facet": "f", "target": 0.5}, [("common_cause", "inconsistent")] * 2),  # s4
        ("high", {"target": -3}, [("improvement_high", "consistent_pass")]),  # s5
        ("high", {"target": -3, "improvement": "decrease"}, [("concern_high", "consistent_fail")]),  # s6
        ("low", {"target": 3}, [("concern_low", "consistent_fail")]),  # s7
        ("low", {"target": 3, "improvement": "decrease"}, [("improvement_low", "consistent_pass")]),  # s8
        ("low", {"target": 3, "improvement": "neutral"}, [("neutral_low", None)]),  # s9
    ],
)
def test_ptd_get_icons(icon_data, data, kwargs, expected):
    # ptd_spc's default direction is "increase"; ours is neutral, so "increase" is passed unless the test sets one
    kwargs = {"improvement": "increase", **kwargs}
    assert icons_of(icon_data[data], **kwargs) == expected


# --- assurance: ptd_calculate_assurance_type, source: ASSURANCE_TESTS --------------------------------------

LIMITS = [(1, 3), (5, 7), (1, 5)]  # (lpl, upl) of facets a, b, c; target 4


@pytest.mark.parametrize(
    "improvement, expected",
    [
        ("increase", ["consistent_fail", "consistent_pass", "inconsistent"]),
        ("decrease", ["consistent_pass", "consistent_fail", "inconsistent"]),
        ("neutral", [None, None, None]),
    ],
)
def test_ptd_calculate_assurance_type(improvement, expected):
    assert [assurance_icon(lpl, upl, improvement, 4) for lpl, upl in LIMITS] == expected


def test_ptd_calculate_assurance_type_without_a_target():
    assert assurance_icon(1, 3, "increase", None) is None


def test_ptd_calculate_assurance_type_uses_the_last_row():
    # "it returns correct values for assurance when rebase": rows in the order 1-2-3, 2-3-1, 3-1-2; the last decides
    orders = {(0, 1, 2): "inconsistent", (1, 2, 0): "consistent_pass", (2, 0, 1): "consistent_fail"}
    for order, expected in orders.items():
        lpl, upl = LIMITS[order[-1]]
        assert assurance_icon(lpl, upl, "decrease", 4) == expected


# --- short groups: ptd_add_short_group_warnings, source: SHORT_GROUP_TESTS ----------------------------------


def short_group_warnings(lengths_by_facet: dict[str, list[int]]) -> list[str]:
    frames = []
    for facet, lengths in lengths_by_facet.items():
        n = sum(lengths)
        frames.append(pd.DataFrame({"x": range(1, n + 1), "y": [1.0, 2.0] * (n // 2) + [1.5] * (n % 2), "f": facet}))
    frame = pd.concat(frames, ignore_index=True)
    rebase = sorted({1 + sum(lengths[:k]) for lengths in lengths_by_facet.values() for k in range(1, len(lengths))})
    if len(lengths_by_facet) == 1:
        return list(xmr(frame, time="x", value="y", rebase_at=rebase).warnings)
    out = []
    for facet, lengths in lengths_by_facet.items():
        cuts = [1 + sum(lengths[:k]) for k in range(1, len(lengths))]
        result = xmr(frame[frame["f"] == facet], time="x", value="y", rebase_at=cuts)
        out.extend(f"{facet}: {w}" for w in result.warnings)
    return out


def test_short_group_of_eleven_warns_and_twelve_does_not():
    assert any("fewer than 12" in w for w in short_group_warnings({"no facet": [11]}))
    assert short_group_warnings({"no facet": [12]}) == []
    assert short_group_warnings({"no facet": [20]}) == []


def test_short_group_warning_per_facet_and_rebase_group():
    # "it handles facets and rebase groups": no warning with groups of 20; a warning for facet a's group of 5 only
    assert short_group_warnings({"a": [20, 20], "b": [20, 20]}) == []
    warnings = short_group_warnings({"a": [35, 5], "b": [20, 20]})
    assert len(warnings) == 1
    assert warnings[0].startswith("a: segment 2") and "rest on 5 points" in warnings[0]
