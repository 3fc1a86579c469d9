"""A site's donor pool as a panel for mhin_eval.analysis.synth (DESIGN.md item 8 "Donor pools").

The catalogue's ``[sites.donor_pool]`` names the source of the donors and the organisations to include
or exclude; this module puts the site's own series and its donors' series side by side on one scale
(count per denominator x ``rate_per``, or the monthly count when there is no denominator).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.catalogue import PROJECT_ROOT, Catalogue, Indicator, Site

DEMO_DONORS = PROJECT_ROOT / "data" / "demo" / "donors" / "donor_series.csv"
SITE_UNIT = "this site"


def read_demo_donors(path: Path | str = DEMO_DONORS) -> pd.DataFrame:
    """The demo's synthetic donor series (mhin_eval.demo_donors); empty when the file is absent."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=["project", "site", "indicator", "donor", "period", "value"])
    frame = pd.read_csv(path, dtype={"donor": str})
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


def site_values(series: pd.DataFrame, site: Site, indicator: Indicator) -> pd.DataFrame:
    """The site's total series (``period``, ``value``) on the donors' scale."""
    rows = series[(series["site"] == site.id) & (series["indicator"] == indicator.id)
                  & (series["breakdown"] == "all") & (series["group"] == "all")]
    if rows.empty:
        raise AnalysisError(f"No {indicator.label} series for {site.name}.")
    value = rows["value"].astype(float)
    if indicator.denominator or indicator.kind == "proportion":
        value = value / rows["denominator"].astype(float) * float(indicator.rate_per or 1)
    return pd.DataFrame({"period": pd.to_datetime(rows["period"]).to_numpy(), "value": value.to_numpy()})


def donor_panel(catalogue: Catalogue, site: Site, series: pd.DataFrame, donors: pd.DataFrame | None = None
                ) -> tuple[Indicator, pd.DataFrame]:
    """(indicator, long panel ``unit, period, value``) with the site as unit ``SITE_UNIT``."""
    pool = site.donor_pool
    if pool is None:
        raise AnalysisError(f"{site.name} has no donor pool in the catalogue.")
    indicator = catalogue.indicator(site.project, pool.indicator)
    if pool.source != "demo":
        raise AnalysisError(f"Donor pools from published measures ({pool.published_measure}) are not loaded yet; "
                            "only the demo's synthetic donors are.")
    donors = read_demo_donors() if donors is None else donors
    rows = donors[(donors["site"] == site.id) & (donors["indicator"] == indicator.id)]
    if pool.include:
        rows = rows[rows["donor"].isin(pool.include)]
    if pool.exclude:
        rows = rows[~rows["donor"].isin(pool.exclude)]
    if rows.empty:
        raise AnalysisError(f"No donor series for {site.name} ({indicator.label}).")
    own = site_values(series, site, indicator).assign(unit=SITE_UNIT)
    panel = pd.concat([own, rows.rename(columns={"donor": "unit"})[["unit", "period", "value"]]],
                      ignore_index=True)
    return indicator, panel[["unit", "period", "value"]]
