"""XmR limits reproduce NHSRplotthedots' published results (shared/reference/README.md, SPC table).

Source of every expected number: the table "spc_ptd_rnorm20.csv, spc_ptd_outlier18.csv — Making Data
Count XmR charts" in shared/reference/README.md, taken from the test data and a vignette of the NHS-R
Community package NHSRplotthedots (the reference implementation of NHS England's Making Data Count).
Each number is compared to the decimals printed there: |actual - printed| <= half a unit in the last place.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from mhin_eval.analysis.spc import xmr


def assert_printed(actual: float, printed: str) -> None:
    """Equal to the published number as printed: within half a unit of its last decimal."""
    half_unit = Decimal(1).scaleb(Decimal(printed).as_tuple().exponent) / 2
    assert abs(Decimal(repr(float(actual))) - Decimal(printed)) <= half_unit, (actual, printed)


@pytest.fixture(scope="module")
def rnorm20(reference_dir) -> pd.DataFrame:
    frame = pd.read_csv(reference_dir / "spc_ptd_rnorm20.csv", parse_dates=["date"])
    assert len(frame) == 20
    return frame


@pytest.fixture(scope="module")
def outlier18(reference_dir) -> pd.DataFrame:
    frame = pd.read_csv(reference_dir / "spc_ptd_outlier18.csv", parse_dates=["date"])
    assert len(frame) == 18
    return frame


def limits(result) -> tuple[float, float, float]:
    assert len(result.summary) == 1
    row = result.summary.iloc[0]
    return row["mean"], row["lpl"], row["upl"]


def test_rnorm20_screened(rnorm20):
    # README: rnorm20 (column y), screened — mean 0.1416238, lower −3.01138, upper 3.294627
    mean, lower, upper = limits(xmr(rnorm20, time="date", value="y"))
    assert_printed(mean, "0.1416238")
    assert_printed(lower, "-3.01138")
    assert_printed(upper, "3.294627")


@pytest.fixture(scope="module")
def rnorm20_with_outlier(rnorm20) -> pd.DataFrame:
    frame = rnorm20.copy()
    frame.loc[14, "y"] = 10.0  # the 15th value set to 10 (README)
    return frame


def test_rnorm20_15th_value_10_screened(rnorm20_with_outlier):
    # README: rnorm20 with the 15th value set to 10, screened — 0.6694159, −2.383666, 3.722497
    result = xmr(rnorm20_with_outlier, time="date", value="y")
    mean, lower, upper = limits(result)
    assert_printed(mean, "0.6694159")
    assert_printed(lower, "-2.383666")
    assert_printed(upper, "3.722497")
    # the two moving ranges either side of the 10 are the ones screened out
    screened = result.points.loc[result.points["mr_screened_out"], "time"]
    assert list(screened.dt.day) == [16, 17]


def test_rnorm20_15th_value_10_unscreened(rnorm20_with_outlier):
    # README: the same, unscreened — 0.6694159, −4.596625, 5.935457
    mean, lower, upper = limits(xmr(rnorm20_with_outlier, time="date", value="y", screen_outliers=False))
    assert_printed(mean, "0.6694159")
    assert_printed(lower, "-4.596625")
    assert_printed(upper, "5.935457")


def test_rnorm20_by_facet(rnorm20):
    # README: rnorm20 split by facet 0 / 1 — mean 0.0746 / 0.209, lower −2.60 / −3.28, upper 2.75 / 3.70
    result = xmr(rnorm20, time="date", value="y", facet="facet")
    summary = result.summary.set_index("facet")
    expected = {0: ("0.0746", "-2.60", "2.75"), 1: ("0.209", "-3.28", "3.70")}
    for facet, (mean, lower, upper) in expected.items():
        assert_printed(summary.loc[facet, "mean"], mean)
        assert_printed(summary.loc[facet, "lpl"], lower)
        assert_printed(summary.loc[facet, "upl"], upper)
    assert sorted(result.icons["facet"]) == [0, 1]


def test_outlier18_screened(outlier18):
    # README: outlier18, screened — mean 1.94, lower −0.72, upper 4.60
    result = xmr(outlier18, time="date", value="data")
    mean, lower, upper = limits(result)
    assert_printed(mean, "1.94")
    assert_printed(lower, "-0.72")
    assert_printed(upper, "4.60")
    assert result.summary.iloc[0]["n_mr_screened_out"] == 2
    assert result.points.loc[result.points["value"] == 10, "special_cause_rule"].item() == "outside_limits"


def test_outlier18_unscreened(outlier18):
    # README: outlier18, unscreened — mean 1.94, lower −3.06, upper 6.95
    mean, lower, upper = limits(xmr(outlier18, time="date", value="data", screen_outliers=False))
    assert_printed(mean, "1.94")
    assert_printed(lower, "-3.06")
    assert_printed(upper, "6.95")
