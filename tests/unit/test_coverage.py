"""Coverage in summary (mhin_eval.coverage): sites with data per indicator and month, series missing months."""

from __future__ import annotations

import pandas as pd

from mhin_eval.catalogue import load_catalogue
from mhin_eval.coverage import GAP_COLUMNS, labelled, missing_months, sites_reporting


def _coverage() -> pd.DataFrame:
    """Hull has Jan to Apr 2023; Sheffield misses Feb and Mar; Leeds starts in Mar; one indicator."""
    rows = [("hull", m) for m in ("2023-01", "2023-02", "2023-03", "2023-04")]
    rows += [("sheffield", m) for m in ("2023-01", "2023-04")]
    rows += [("leeds", m) for m in ("2023-03", "2023-04")]
    return pd.DataFrame({
        "project": "aaot", "site": [s for s, _ in rows], "indicator": "ae-attendances", "breakdown": "all",
        "period": pd.to_datetime([f"{m}-01" for _, m in rows]), "n_rows": 1,
        "site_label": [s.title() for s, _ in rows], "indicator_label": "A&E attendances",
    })


def test_sites_reporting_counts_the_sites_with_data_each_month():
    shares = sites_reporting(_coverage())
    assert list(shares["period"].dt.strftime("%Y-%m")) == ["2023-01", "2023-02", "2023-03", "2023-04"]
    assert list(shares["sites"]) == [2, 1, 2, 3]
    assert set(shares["of_sites"]) == {3}
    assert shares["share"].tolist() == [2 / 3, 1 / 3, 2 / 3, 1.0]


def test_a_month_no_site_reports_is_a_zero_not_left_out():
    frame = _coverage()
    frame = frame[frame["period"] != pd.Timestamp("2023-02-01")]
    shares = sites_reporting(frame)
    assert shares.set_index("period").loc[pd.Timestamp("2023-02-01"), "sites"] == 0


def test_missing_months_lists_series_with_gaps_most_missing_first():
    gaps = missing_months(_coverage())
    assert list(gaps.columns) == GAP_COLUMNS
    assert gaps[["Site", "Months missing", "Months with data", "Latest month"]].values.tolist() == [
        ["Leeds", 2, 2, "Apr 2023"], ["Sheffield", 2, 2, "Apr 2023"]]


def test_empty_coverage_gives_empty_tables():
    empty = _coverage().iloc[0:0]
    assert sites_reporting(empty).empty and missing_months(empty).empty
    assert list(missing_months(empty).columns) == GAP_COLUMNS


def test_labelled_uses_catalogue_names_and_keeps_unknown_ids():
    catalogue = load_catalogue()
    frame = _coverage().drop(columns=["site_label", "indicator_label"])
    frame.loc[0, "site"] = "not-a-site"
    frame.loc[1, "indicator"] = "not-an-indicator"
    out = labelled(frame, catalogue)
    assert out.loc[0, "site_label"] == "not-a-site" and out.loc[2, "site_label"] == catalogue.site("hull").name
    assert out.loc[1, "indicator_label"] == "not-an-indicator"
    assert out.loc[2, "indicator_label"] == catalogue.indicator("aaot", "ae-attendances").label
