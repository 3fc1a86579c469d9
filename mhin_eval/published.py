"""Published statistics as site series: the catalogue's ``[[published_measures]]`` mappings applied.

An ingest of published rows (mhin_eval.store) also stores the site series the mappings derive from them, under
the same ingest, so a store holding only NHS England's files has site series that the site, project and
published pages draw, and a rollback of the file removes them again. The published page shows the same
mapped measures for the site's trust beside England's figure (``mapped_measures``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mhin_eval.catalogue import Catalogue
from mhin_eval.loaders import ENGLAND_BREAKDOWNS, PublishedMapping, published_mappings, published_to_series
from mhin_eval.schema import month_start

ENGLAND = "England"
TRUST = "NHS Trust"
MEASURE_COLUMNS = (
    "indicator", "label", "measure_id", "denominator_measure_id", "period_type", "level", "org_code", "org_name",
    "period", "period_start", "period_end", "value", "denominator", "share", "published_value",
    "denominator_published_value", "source",
)  # fmt: skip


def derived_series(published: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """The site series rows that the catalogue's mappings make of these published rows (empty when none map).

    Monthly and rolling 3-month rows never mix: a mapping reads one period type only. Suppressed values
    (``*``) are left out, never set to zero.
    """
    return published_to_series(published, catalogue)


def mappings_for_site(catalogue: Catalogue, site_id: str) -> tuple[PublishedMapping, ...]:
    """The mappings that give ``site_id`` a series, in catalogue order."""
    return tuple(m for m in published_mappings(catalogue) if site_id in m.sites)


def _measure_rows(published: pd.DataFrame, mapping: PublishedMapping, breakdowns, org_code: str | None) -> pd.DataFrame:
    """Numerator rows of one mapping for one organisation (or England), with the denominator measure beside them."""
    selected = published[
        published["breakdown"].isin(breakdowns)
        & (published["period_type"] == mapping.period_type)
        & (published["statistic"] == mapping.statistic)
    ]
    if mapping.source:
        selected = selected[selected["source"] == mapping.source]
    if org_code is not None:
        selected = selected[selected["org_code"] == org_code]
    rows = selected[selected["measure_id"] == mapping.measure_id]
    on = ["source", "period_start", "period_end", "org_code"]
    if mapping.denominator_measure_id:
        den = selected[selected["measure_id"] == mapping.denominator_measure_id][[*on, "value", "published_value"]]
        rows = rows.merge(den.rename(columns={"value": "denominator", "published_value": "denominator_published_value"}),
                          how="left", on=on)
    else:
        rows = rows.assign(denominator=np.nan, denominator_published_value="")
    return rows.reset_index(drop=True)


def mapped_measures(published: pd.DataFrame, catalogue: Catalogue, site_id: str) -> pd.DataFrame:
    """Each mapped measure of a site over time: its trust's published values beside England's.

    One row per indicator, level ("NHS Trust" or "England") and period; ``period`` is the month the value is
    labelled by (the last month of a rolling window), ``share`` is value over denominator in per cent when the
    mapping names a denominator measure. Suppressed values stay missing, with ``published_value`` "*".
    """
    site = catalogue.site(site_id)
    pieces = []
    for mapping in mappings_for_site(catalogue, site_id):
        indicator = catalogue.indicator(mapping.project, mapping.indicator)
        code = mapping.code_for(catalogue, site_id)
        for level, breakdowns, org_code in ((TRUST, (mapping.breakdown,), code), (ENGLAND, ENGLAND_BREAKDOWNS, None)):
            if level == TRUST and not code:
                continue
            rows = _measure_rows(published, mapping, breakdowns, org_code)
            if rows.empty:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                share = rows["value"] / rows["denominator"] * 100
            pieces.append(pd.DataFrame({
                "indicator": indicator.id, "label": indicator.label, "measure_id": mapping.measure_id,
                "denominator_measure_id": mapping.denominator_measure_id, "period_type": mapping.period_type,
                "level": level, "org_code": rows["org_code"],
                "org_name": rows["org_name"] if level == ENGLAND else (site.trust_name or rows["org_name"]),
                "period": month_start(rows["period_end"]), "period_start": rows["period_start"],
                "period_end": rows["period_end"], "value": rows["value"], "denominator": rows["denominator"],
                "share": share.where(np.isfinite(share)), "published_value": rows["published_value"],
                "denominator_published_value": rows["denominator_published_value"].fillna(""),
                "source": rows["source"],
            }))
    if not pieces:
        return pd.DataFrame({c: [] for c in MEASURE_COLUMNS})
    out = pd.concat(pieces, ignore_index=True)
    out = out.assign(_level=out["level"].map({TRUST: 0, ENGLAND: 1}))
    out = out.sort_values(["indicator", "_level", "period", "source"], kind="stable")
    out = out.drop_duplicates(["indicator", "level", "period"], keep="last")
    return out[list(MEASURE_COLUMNS)].reset_index(drop=True)
