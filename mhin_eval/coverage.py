"""Data coverage (the store's months with data per site and indicator) labelled, and summarised for a roll-out
with many sites: how many sites have data in each month of each indicator, and which site series miss months.

The per-site heatmap (mhin_eval.charts.coverage_heatmap) has a row per site and indicator, which is right for
a few sites; with hundreds it is thousands of rows, megabytes sent and seconds drawn on every view of the
home page. Months are missing as the heatmap counts them: months of the project's range (its first to its
last month with any data) in which a site has no row for the indicator.
"""

from __future__ import annotations

import pandas as pd

from mhin_eval.catalogue import Catalogue

GAP_COLUMNS = ["Site", "Indicator", "Months missing", "Months with data", "Latest month"]


def labelled(coverage: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """``coverage`` with ``site_label`` (the site's name) and ``indicator_label`` (the catalogue's label), ids
    where the catalogue has none."""
    names = {s.id: s.name for s in catalogue.sites}
    labels = {(i.project, i.id): i.label for i in catalogue.indicators}
    keys = pd.MultiIndex.from_frame(coverage[["project", "indicator"]])
    indicator_label = pd.Series(keys.map(lambda k: labels.get(k, k[1])), index=coverage.index, dtype=object)
    return coverage.assign(site_label=coverage["site"].map(names).fillna(coverage["site"]),
                           indicator_label=indicator_label)


def _months(coverage: pd.DataFrame) -> pd.DatetimeIndex:
    periods = pd.to_datetime(coverage["period"])
    return pd.date_range(periods.min(), periods.max(), freq="MS")


def sites_reporting(coverage: pd.DataFrame) -> pd.DataFrame:
    """Per indicator (``indicator_label``) and month of the range: ``sites`` with data that month, of
    ``of_sites`` (the sites with any data for the indicator), and their ``share``. Empty for no coverage."""
    if coverage.empty:
        return pd.DataFrame(columns=["indicator_label", "period", "sites", "of_sites", "share"])
    frame = coverage.assign(period=pd.to_datetime(coverage["period"]))
    months = _months(frame)
    counts = frame.groupby(["indicator_label", "period"])["site"].nunique().unstack("period")
    counts = counts.reindex(columns=months).fillna(0).astype(int)
    of_sites = frame.groupby("indicator_label")["site"].nunique()
    long = counts.stack().rename("sites").reset_index()
    long.columns = ["indicator_label", "period", "sites"]
    long["of_sites"] = long["indicator_label"].map(of_sites).astype(int)
    long["share"] = long["sites"] / long["of_sites"]
    return long


def missing_months(coverage: pd.DataFrame) -> pd.DataFrame:
    """Each site series (site and indicator) with months missing in the range, most missing first: the
    columns of ``GAP_COLUMNS``."""
    if coverage.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    frame = coverage.assign(period=pd.to_datetime(coverage["period"]))
    n_months = len(_months(frame))
    per_series = frame.groupby(["site_label", "indicator_label"]).agg(with_data=("period", "nunique"),
                                                                      latest=("period", "max")).reset_index()
    per_series["missing"] = n_months - per_series["with_data"]
    gaps = per_series[per_series["missing"] > 0].sort_values(["missing", "site_label", "indicator_label"],
                                                             ascending=[False, True, True], kind="stable")
    return pd.DataFrame({
        "Site": gaps["site_label"], "Indicator": gaps["indicator_label"], "Months missing": gaps["missing"],
        "Months with data": gaps["with_data"], "Latest month": gaps["latest"].dt.strftime("%b %Y"),
    }).reset_index(drop=True)
