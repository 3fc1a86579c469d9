"""Donor pools from published measures (``source = "published:<measure id>"``): the other organisations in
a measure held in the store are the donors, the site's own organisation is the treated unit, mergers follow
data/organisations.csv, and every published donor is marked public.

Real files (shared/real-data, see its SOURCES.md): NHS England's monthly A&E attendances as tidied by
NHSRdatasets (every acute trust, 2016-04 to 2019-03) and MHSDS "4 week waits" provider files (April to
September 2024). No MHIN site went live inside either range (the go-lives are 2021-2022), so the A&E
example moves Greater Manchester's go-live to April 2018 to have a real panel with enough months either side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mhin_eval import donor_pools
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.synth import PARTNER, PUBLIC
from mhin_eval.catalogue import DonorPool
from mhin_eval.loaders import read_nhs_long

AE_MEASURE = "AE_TYPE1_ATTENDANCES"


def _published(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["org_code", "period", "value"])
    start = pd.to_datetime(frame["period"])
    return frame.assign(source="test", period_start=start, period_end=start + pd.offsets.MonthEnd(0),
                        period_type="month", breakdown="Provider", org_name=None, measure_id="M1",
                        statistic="value", published_value=frame["value"].astype(str))


def _with_pool(catalogue, site_id: str, source: str, indicator: str, go_live=None, **lists):
    site = catalogue.site(site_id)
    return dataclasses.replace(site, donor_pool=DonorPool(source, indicator, **lists),
                               go_live=go_live or site.go_live)


MONTHS = ["2017-07-01", "2017-08-01", "2017-09-01", "2017-10-01", "2017-11-01"]


def test_a_published_pool_treats_the_site_organisation_and_follows_a_merger(catalogue):
    """Greater Manchester's acute trust R0A formed from RW3 and RM2 in October 2017 (data/organisations.csv):
    their rows are added up before the merger, R0A's counts from it, and rows on the wrong side are left out."""
    rows = []
    for month in MONTHS:
        merged = month >= "2017-10-01"
        rows += [("RW3", month, 100.0), ("RM2", month, 50.0), ("R0A", month, 400.0 if merged else 999.0),
                 ("RWA", month, 80.0), ("RXX", month, 10.0), ("RYY", month, 20.0)]
    site = _with_pool(catalogue, "greater-manchester", "published:M1", "acute-ae-attendances-type1")
    pool = donor_pools.pool_panel(catalogue, site, published=_published(rows))
    treated = pool.panel[pool.panel["unit"] == donor_pools.SITE_UNIT].set_index("period")["value"]
    assert list(treated) == [150.0, 150.0, 150.0, 400.0, 400.0]
    assert pool.treated_codes == ("R0A", "RXV")
    assert pool.donors == ("RWA", "RXX", "RYY")
    assert pool.provenance == {"RWA": PUBLIC, "RXX": PUBLIC, "RYY": PUBLIC}
    assert any("left out" in n for n in pool.notes)
    assert pool.donor_go_lives == {"RWA": "Hull, 2021-04-01"}


def test_include_and_exclude_lists_apply_to_published_donors(catalogue):
    rows = [(code, month, 10.0 + i) for month in MONTHS for i, code in enumerate(("R0A", "RWA", "RXX", "RYY"))]
    site = _with_pool(catalogue, "greater-manchester", "published:M1", "acute-ae-attendances-type1",
                      exclude=("RXX",))
    assert donor_pools.pool_panel(catalogue, site, published=_published(rows)).donors == ("RWA", "RYY")
    site = _with_pool(catalogue, "greater-manchester", "published:M1", "acute-ae-attendances-type1",
                      include=("RXX", "RYY"))
    assert donor_pools.pool_panel(catalogue, site, published=_published(rows)).donors == ("RXX", "RYY")


def test_a_published_pool_says_what_is_missing(catalogue):
    site = _with_pool(catalogue, "greater-manchester", "published:M1", "acute-ae-attendances-type1")
    with pytest.raises(AnalysisError, match="load the published statistics"):
        donor_pools.pool_panel(catalogue, site)
    with pytest.raises(AnalysisError, match="no organisation rows of the published measure M1"):
        donor_pools.pool_panel(catalogue, site, published=_published([("RWA", "2017-07-01", 1.0)]).assign(
            measure_id="OTHER"))
    with pytest.raises(AnalysisError, match=r"organisation \(R0A, RXV\) is not in the published measure M1"):
        donor_pools.pool_panel(catalogue, site, published=_published([("RWA", "2017-07-01", 1.0)]))


def test_synth_result_carries_each_donor_provenance():
    """Donors not named in ``donor_provenance`` count as a partner's: anonymised unless known to be public."""
    from mhin_eval.analysis.synth import synth

    t = np.arange(12)
    data = pd.DataFrame([{"unit": u, "t": int(k), "y": float(base + 0.5 * k + (3 if u == "T" and k >= 8 else 0))}
                         for u, base in (("A", 1), ("B", 3), ("C", 5), ("T", 3)) for k in t])
    result = synth(data, unit="unit", time="t", value="y", treated="T", intervention=8, method="did",
                   donor_provenance={"A": PUBLIC, "B": PARTNER})
    assert result.donor_provenance == {"A": PUBLIC, "B": PARTNER, "C": PARTNER}
    assert result.public_donors() == ("A",)
    with pytest.raises(AnalysisError, match="public or partner"):
        synth(data, unit="unit", time="t", value="y", treated="T", intervention=8, donor_provenance={"A": "x"})


# --- real files ------------------------------------------------------------------------------------


def _ae_as_nhs_long(folder, path) -> None:
    """The NHSRdatasets A&E files' type 1 attendances of every trust, written in NHS England's long layout."""
    frames = []
    for file in sorted(folder.glob("*.csv")):
        raw = pd.read_csv(file, dtype=str)
        raw = raw[raw["type"] == "1"]
        start = pd.to_datetime(raw["period"])
        frames.append(pd.DataFrame({
            "REPORTING_PERIOD_START": start.dt.strftime("%d/%m/%Y"),
            "REPORTING_PERIOD_END": (start + pd.offsets.MonthEnd(0)).dt.strftime("%d/%m/%Y"),
            "STATUS": "Performance", "BREAKDOWN": "Provider", "PRIMARY_LEVEL": raw["org_code"],
            "PRIMARY_LEVEL_DESCRIPTION": raw["org_code"], "SECONDARY_LEVEL": "NONE",
            "SECONDARY_LEVEL_DESCRIPTION": "NONE", "MEASURE_ID": AE_MEASURE,
            "MEASURE_NAME": "Type 1 A&E attendances", "MEASURE_VALUE": raw["attendances"]}))
    pd.concat(frames).to_csv(path, index=False)


@pytest.fixture
def ae_store(store, real_data_dir, tmp_path, catalogue):
    path = tmp_path / "ae_type1_2016_2019.csv"
    _ae_as_nhs_long(real_data_dir / "ae_attendances_nhsrdatasets", path)
    store.ingest(read_nhs_long(path, catalogue=catalogue))
    return store


def test_real_ae_attendances_give_every_acute_trust_as_donor_and_a_synthetic_control(ae_store, catalogue,
                                                                                    real_data_dir):
    """Greater Manchester's acute trust (R0A; RW3 + RM2 before October 2017) against every other acute trust's
    type 1 attendances, 2016-04 to 2019-03, with a go-live moved to April 2018 (24 months before, 12 after)."""
    site = _with_pool(catalogue, "greater-manchester", f"published:{AE_MEASURE}", "acute-ae-attendances-type1",
                      go_live=dt.date(2018, 4, 1))
    published = ae_store.published(measure_ids=[AE_MEASURE])
    pool = donor_pools.pool_panel(catalogue, site, published=published)
    raw = pd.read_csv(real_data_dir / "ae_attendances_nhsrdatasets" / "2016-04-01.csv", dtype={"type": str})
    type1 = raw[raw["type"] == "1"].set_index("org_code")["attendances"]
    treated = pool.panel[pool.panel["unit"] == donor_pools.SITE_UNIT].set_index("period")["value"]
    assert treated[pd.Timestamp("2016-04-01")] == type1["RW3"] + type1["RM2"]
    assert len(treated) == 36
    assert not {"RW3", "RM2", "R0A"} & set(pool.donors)
    assert len(pool.donors) > 100 and set(pool.provenance.values()) == {PUBLIC}
    assert pool.donor_go_lives.get("RWA") == "Hull, 2021-04-01"

    result = donor_pools.site_synth(catalogue, site, "sc", published=published, solver="exact")
    assert result.n_pre == 24 and len(result.periods) - result.n_pre == 12
    assert len(result.unit_weights) >= 100
    assert sum(result.unit_weights.values()) == pytest.approx(1.0)
    assert result.public_donors() == tuple(result.unit_weights)
    assert result.pre_rmspe < 0.05 * float(treated.mean())
    assert np.isfinite(result.effect.ci_low) and result.p_value is not None
    assert any("Donor RWA had its own intervention" in w for w in result.warnings)


def test_real_mhsds_providers_give_mental_health_trusts_as_donors(store, real_data_dir, catalogue):
    """Manchester's trust (RXV) against the other providers' CMH referrals started (MRS04, rolling 3 months, as
    the catalogue maps it). Six months of 2024 only: a panel, not yet a synthetic control (no go-live inside).
    Suppression thins the pool: Sheffield's TAH is published for 2 of the 6 windows (300, 145; the rest '*')."""
    for file in sorted((real_data_dir / "mhsds_4ww_2024").glob("*.csv")):
        store.ingest(read_nhs_long(file, catalogue=catalogue))
    published = store.published(measure_ids=["MRS04"])
    site = _with_pool(catalogue, "manchester", "published:MRS04", "cmh-referrals-started")
    pool = donor_pools.pool_panel(catalogue, site, published=published)
    assert pool.treated_codes == ("RXV",)
    treated = pool.panel[pool.panel["unit"] == donor_pools.SITE_UNIT].set_index("period")["value"]
    assert treated.to_dict() == {pd.Timestamp(f"2024-{m:02d}-01"): v for m, v in
                                 zip(range(4, 10), (5880, 5775, 5625, 5525, 5360, 5545), strict=True)}
    assert "RXV" not in pool.donors and len(pool.donors) > 50
    assert pool.panel[pool.panel["unit"] == "TAH"]["value"].tolist() == [300, 145]
    assert pool.names["TAH"].upper().startswith("SHEFFIELD HEALTH")
    assert pool.donor_go_lives["TAH"] == "Sheffield, 2022-04-01"
    with pytest.raises(AnalysisError, match="before go-live"):
        donor_pools.site_synth(catalogue, site, "sc", published=published)
