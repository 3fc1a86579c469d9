"""A site's donor pool as a panel for mhin_eval.analysis.synth (DESIGN.md item 8 "Donor pools").

The catalogue's ``[sites.donor_pool]`` names the source of the donors and the organisations to include
or exclude; this module puts the site's own series and its donors' series side by side on one scale
(count per denominator x ``rate_per``, or the monthly count when there is no denominator).

Sources: ``demo`` (the demo's synthetic donors, mhin_eval.demo_donors), ``published:<measure id>``
(every other organisation in that published measure held in the store, with the site's own
organisations, catalogue ``acute_trusts`` and ``trust_code``, as the treated unit) and ``sites`` (the
project's other sites, comparison sites included, from their own extracts). Merged trusts follow
data/organisations.csv as the recipes do: a predecessor's rows count until its merger month and are
added to its successor's, a successor's rows count from it.

Each donor carries a provenance (mhin_eval.analysis.synth.PUBLIC or PARTNER): donors from public
published statistics may be named; donors from partner sites' own extracts are shown to a site user
only anonymised. Published and demo donors are public; ``sites`` donors are partners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.synth import PARTNER, PUBLIC, SynthResult, synth
from mhin_eval.catalogue import PROJECT_ROOT, Catalogue, Indicator, Site
from mhin_eval.loaders import PublishedMapping, published_mappings
from mhin_eval.recipes import load_organisations, succession_mask, successors
from mhin_eval.schema import month_start

DEMO_DONORS = PROJECT_ROOT / "data" / "demo" / "donors" / "donor_series.csv"
SITE_UNIT = "this site"
ENGLAND_BREAKDOWNS = ("England", "National")


@dataclass(frozen=True)
class DonorPanel:
    """A site's synthetic-control panel (long: ``unit, period, value``; the site is ``SITE_UNIT``).

    ``provenance`` (donor -> "public"/"partner"), ``names`` (donor -> organisation name, where known),
    ``donor_go_lives`` (donors that are another catalogue site's organisation -> that site's go-live,
    warned about by synth) and ``notes`` (what was left out and why).
    """

    indicator: Indicator
    panel: pd.DataFrame
    provenance: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)
    donor_go_lives: dict[str, str] = field(default_factory=dict)
    treated_codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def donors(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.panel["unit"]) - {SITE_UNIT}))


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
    if _has_denominator(indicator):
        value = value / rows["denominator"].astype(float) * float(indicator.rate_per or 1)
    return pd.DataFrame({"period": pd.to_datetime(rows["period"]).to_numpy(), "value": value.to_numpy()})


def _has_denominator(indicator: Indicator) -> bool:
    return bool(indicator.denominator) or indicator.kind == "proportion"


def donor_panel(catalogue: Catalogue, site: Site, series: pd.DataFrame | None, donors: pd.DataFrame | None = None,
                published: pd.DataFrame | None = None) -> tuple[Indicator, pd.DataFrame]:
    """(indicator, long panel ``unit, period, value``) with the site as unit ``SITE_UNIT``: :func:`pool_panel`."""
    pool = pool_panel(catalogue, site, series, donors=donors, published=published)
    return pool.indicator, pool.panel


def pool_panel(catalogue: Catalogue, site: Site, series: pd.DataFrame | None = None, *,
               donors: pd.DataFrame | None = None, published: pd.DataFrame | None = None,
               organisations: pd.DataFrame | None = None) -> DonorPanel:
    """The site's donor pool as a panel. ``series`` (the store's site series) gives the site's own values for a
    demo pool; ``published`` (the store's published rows, e.g. ``store.published(measure_ids=[...])``) gives
    both the site's and the donors' values for a published pool."""
    pool = site.donor_pool
    if pool is None:
        raise AnalysisError(f"{site.name} has no donor pool in the catalogue.")
    indicator = catalogue.indicator(site.project, pool.indicator)
    if pool.source == "demo":
        return _demo_panel(site, indicator, series, read_demo_donors() if donors is None else donors)
    if pool.source == "sites":
        return _sites_panel(catalogue, site, indicator, series)
    if published is None:
        raise AnalysisError(f"{site.name}'s donor pool is the published measure {pool.published_measure}: load "
                            "the published statistics (store.published) to build it.")
    return _published_panel(catalogue, site, indicator, published,
                            load_organisations() if organisations is None else organisations)


def site_synth(catalogue: Catalogue, site: Site, method: str, series: pd.DataFrame | None = None, *,
               donors: pd.DataFrame | None = None, published: pd.DataFrame | None = None, **options) -> SynthResult:
    """synth() of the site against its donor pool, with the donors' provenance and own go-lives passed on."""
    pool = pool_panel(catalogue, site, series, donors=donors, published=published)
    return synth(pool.panel, unit="unit", time="period", value="value", treated=SITE_UNIT,
                 intervention=str(site.go_live), method=method, donor_provenance=pool.provenance,
                 donor_go_lives=pool.donor_go_lives or None, **options)


def _demo_panel(site: Site, indicator: Indicator, series: pd.DataFrame | None, donors: pd.DataFrame) -> DonorPanel:
    if series is None:
        raise AnalysisError(f"{site.name}'s demo donor pool needs the site series.")
    pool = site.donor_pool
    rows = donors[(donors["site"] == site.id) & (donors["indicator"] == indicator.id)]
    if pool.include:
        rows = rows[rows["donor"].isin(pool.include)]
    if pool.exclude:
        rows = rows[~rows["donor"].isin(pool.exclude)]
    if rows.empty:
        raise AnalysisError(f"No donor series for {site.name} ({indicator.label}).")
    own = site_values(series, site, indicator).assign(unit=SITE_UNIT)
    panel = pd.concat([own, rows.rename(columns={"donor": "unit"})[["unit", "period", "value"]]],
                      ignore_index=True)[["unit", "period", "value"]]
    return DonorPanel(indicator, panel, {d: PUBLIC for d in sorted(rows["donor"].unique())})


def _sites_panel(catalogue: Catalogue, site: Site, indicator: Indicator, series: pd.DataFrame | None) -> DonorPanel:
    """The project's other sites with this indicator, from their own extracts: partner donors."""
    if series is None:
        raise AnalysisError(f"{site.name}'s donor pool is the project's other sites: it needs the site series.")
    pool = site.donor_pool
    others = [s for s in catalogue.sites_of(site.project, include_comparison=True) if s.id != site.id
              and (not pool.include or s.id in pool.include) and s.id not in pool.exclude]
    pieces, names, go_lives = [], {}, {}
    for other in others:
        try:
            values = site_values(series, other, indicator)
        except AnalysisError:
            continue
        pieces.append(values.assign(unit=other.id))
        names[other.id] = other.name
        if other.go_live is not None and other.role == "intervention":
            go_lives[other.id] = f"{other.name}, {other.go_live.isoformat()}"
    if not pieces:
        raise AnalysisError(f"No other site of the project has a {indicator.label} series to be {site.name}'s donor.")
    panel = pd.concat([site_values(series, site, indicator).assign(unit=SITE_UNIT), *pieces],
                      ignore_index=True)[["unit", "period", "value"]]
    return DonorPanel(indicator, panel, {d: PARTNER for d in names}, names, go_lives)


# --- published measures --------------------------------------------------------------------------


def _mapping(catalogue: Catalogue, site: Site, measure: str) -> PublishedMapping | None:
    """The catalogue's mapping of this measure onto the pool's indicator, whose breakdown, period type, statistic
    and denominator measure the donors are read with (None: read the measure as it is)."""
    for mapping in published_mappings(catalogue):
        if (mapping.measure_id == measure and mapping.project == site.project
                and mapping.indicator == site.donor_pool.indicator):
            return mapping
    return None


def site_organisations(site: Site, successor: dict[str, str]) -> tuple[str, ...]:
    """The site's own organisation codes as they count today: acute trusts, then the trust."""
    codes = [*site.acute_trusts, *([site.trust_code] if site.trust_code else [])]
    return tuple(dict.fromkeys(successor.get(c, c) for c in codes))


def _one(rows: pd.DataFrame, column: str, preferred: str | None, measure: str) -> pd.DataFrame:
    values = sorted(rows[column].dropna().unique())
    if preferred is not None:
        return rows[rows[column] == preferred]
    if len(values) > 1:
        raise AnalysisError(f"The published measure {measure} has more than one {column.replace('_', ' ')} "
                            f"({', '.join(map(str, values))}): map it in the catalogue's [[published_measures]] "
                            "to say which one the donor pool reads.")
    return rows


def _published_panel(catalogue: Catalogue, site: Site, indicator: Indicator, published: pd.DataFrame,
                     organisations: pd.DataFrame) -> DonorPanel:
    pool = site.donor_pool
    measure = pool.published_measure
    mapping = _mapping(catalogue, site, measure)
    successor = successors(organisations)
    own = site_organisations(site, successor)
    if not own:
        raise AnalysisError(f"{site.name} has no trust_code or acute_trusts in the catalogue: the donor pool cannot "
                            "tell which organisation in the published measure is the site.")
    selected = published[~published["breakdown"].isin(ENGLAND_BREAKDOWNS) & published["org_code"].notna()]
    if mapping is not None and mapping.source:
        selected = selected[selected["source"] == mapping.source]
    rows = selected[selected["measure_id"] == measure]
    if rows.empty:
        raise AnalysisError(f"The store holds no organisation rows of the published measure {measure}: ingest its "
                            f"file first (Data page), or change {site.name}'s donor_pool.")
    current = rows["org_code"].map(lambda c: successor.get(c, c))
    if mapping is not None:
        rows = rows[rows["breakdown"] == mapping.breakdown]
    else:
        holding = sorted(rows.loc[current.isin(own), "breakdown"].unique())
        if not holding:
            raise AnalysisError(f"{site.name}'s organisation ({', '.join(own)}) is not in the published measure "
                                f"{measure}.")
        rows = _one(rows[rows["breakdown"].isin(holding)], "breakdown", None, measure)
    rows = _one(rows, "period_type", mapping.period_type if mapping else None, measure)
    rows = _one(rows, "statistic", mapping.statistic if mapping else None, measure)
    notes = []
    value = _values(rows, selected, mapping, indicator, measure)
    value, left = _follow_mergers(value, organisations, successor)
    if left:
        notes.append(f"{left:,} row(s) left out: an organisation's row from after it merged, or a successor's "
                     "row from before the merger (each month counts one or the other).")
    wide = value.groupby(["code", "period"], as_index=False)[["value", "denominator"]].sum(min_count=1)
    treated = (wide[wide["code"].isin(own)].groupby("period", as_index=False)[["value", "denominator"]]
               .sum(min_count=1).assign(unit=SITE_UNIT))
    wide, treated = _on_scale(wide, indicator), _on_scale(treated, indicator)
    if treated.empty:
        raise AnalysisError(f"{site.name}'s organisation ({', '.join(own)}) has no values in the published "
                            f"measure {measure}.")
    donors = wide[~wide["code"].isin(own)]
    include = {successor.get(c, c) for c in pool.include}
    exclude = {successor.get(c, c) for c in pool.exclude}
    if include:
        donors = donors[donors["code"].isin(include)]
    if exclude:
        donors = donors[~donors["code"].isin(exclude)]
    if donors.empty:
        raise AnalysisError(f"No donors left in the published measure {measure} for {site.name} after the "
                            "include/exclude lists.")
    panel = pd.concat([treated[["unit", "period", "value"]],
                       donors.rename(columns={"code": "unit"})[["unit", "period", "value"]]], ignore_index=True)
    codes = sorted(donors["code"].unique())
    return DonorPanel(indicator, panel, {c: PUBLIC for c in codes}, _names(rows, organisations, codes, successor),
                      _partner_go_lives(catalogue, site, codes, successor), own, tuple(notes))


def _on_scale(frame: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """Count per denominator x rate_per where the indicator has a denominator; rows without a value left out."""
    if _has_denominator(indicator):
        frame = frame.assign(value=frame["value"] / frame["denominator"] * float(indicator.rate_per or 1))
    return frame[np.isfinite(frame["value"].astype(float))]


def _values(rows: pd.DataFrame, selected: pd.DataFrame, mapping: PublishedMapping | None, indicator: Indicator,
            measure: str) -> pd.DataFrame:
    """code, period (month the published period ends), value and denominator (the mapping's measure)."""
    out = pd.DataFrame({"code": rows["org_code"].astype(str).to_numpy(),
                        "period": month_start(pd.to_datetime(rows["period_end"].fillna(rows["period_start"]))).to_numpy(),
                        "value": pd.to_numeric(rows["value"], errors="coerce").to_numpy(),
                        "source": rows["source"].to_numpy(), "start": rows["period_start"].to_numpy()})
    if _has_denominator(indicator):
        if mapping is None or not mapping.denominator_measure_id:
            raise AnalysisError(f"{indicator.label} is a rate: map the published measure {measure} in the "
                                "catalogue's [[published_measures]] with its denominator_measure_id.")
        den = selected[(selected["measure_id"] == mapping.denominator_measure_id)
                       & (selected["breakdown"] == mapping.breakdown)
                       & (selected["period_type"] == mapping.period_type)
                       & (selected["statistic"] == mapping.statistic)]
        den = pd.DataFrame({"code": den["org_code"].astype(str).to_numpy(), "source": den["source"].to_numpy(),
                            "start": den["period_start"].to_numpy(),
                            "denominator": pd.to_numeric(den["value"], errors="coerce").to_numpy()})
        out = out.merge(den, how="left", on=["code", "source", "start"])
    else:
        out["denominator"] = np.nan
    out = out[out["value"].notna()]
    # if two sources publish the same organisation and month, the later ingest's row wins
    return out.drop_duplicates(["code", "period"], keep="last")[["code", "period", "value", "denominator"]]


def _follow_mergers(values: pd.DataFrame, organisations: pd.DataFrame, successor: dict[str, str]
                    ) -> tuple[pd.DataFrame, int]:
    """Rows on the wrong side of a merger left out; predecessors' codes replaced by their successor's."""
    wrong = succession_mask(values["code"].str.lower(), values["period"], organisations)
    kept = values[~wrong.to_numpy()].copy()
    kept["code"] = kept["code"].map(lambda c: successor.get(c, c))
    return kept, int(wrong.sum())


def _names(rows: pd.DataFrame, organisations: pd.DataFrame, codes, successor: dict[str, str]) -> dict[str, str]:
    names = dict(zip(organisations["code"], organisations["name"], strict=False))
    published = rows.dropna(subset=["org_name"]).drop_duplicates("org_code", keep="last")
    names.update({successor.get(c, c): n for c, n in zip(published["org_code"], published["org_name"], strict=True)
                  if c == successor.get(c, c) or successor.get(c, c) not in names})
    return {c: names.get(c, c) for c in codes}


def _partner_go_lives(catalogue: Catalogue, site: Site, codes, successor: dict[str, str]) -> dict[str, str]:
    """Donors that are another catalogue site's organisation with a go-live: their own intervention."""
    out = {}
    for other in catalogue.sites:
        if other.id == site.id or other.go_live is None or other.role != "intervention":
            continue
        for code in site_organisations(other, successor):
            if code in codes:
                out.setdefault(code, f"{other.name}, {other.go_live.isoformat()}")
    return out
