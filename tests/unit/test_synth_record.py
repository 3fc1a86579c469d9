"""Synthetic-control results of record (mhin_eval.synth_record): computed once per data version and reused for
unchanged rows, stored for both views, and shown to a site user with partner-extract donors anonymised."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd

from mhin_eval import recompute, synth_record
from mhin_eval.access import Access, Role
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.synth import synth
from mhin_eval.catalogue import PROJECT_ROOT, DonorPool
from mhin_eval.shares import rate_unit

DEMO = PROJECT_ROOT / "data" / "demo"


def _panel(seed: int = 3, donors: int = 8, periods: int = 24, t0: int = 16, effect: float = -2.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.normal(10, 1, donors)[:, None] + np.linspace(0, 2, periods)[None, :]
    y = base + rng.normal(0, 0.2, (donors, periods))
    treated = base[:3].mean(axis=0) + rng.normal(0, 0.2, periods)
    treated[t0:] += effect
    rows = [{"unit": f"hull-donor-{d + 1:02d}", "period": p, "value": y[d, p]} for d in range(donors)
            for p in range(periods)]
    rows += [{"unit": "this site", "period": p, "value": treated[p]} for p in range(periods)]
    return pd.DataFrame(rows)


def _record(catalogue, suppressed: bool = False, site_id: str = "hull", public: bool = False):
    site = catalogue.site(site_id)
    if public:
        site = replace(site, donor_pool=DonorPool("published:ae-type1", site.donor_pool.indicator))
    indicator = catalogue.indicator(site.project, site.donor_pool.indicator)
    panel = _panel()
    results = {m: synth(panel, unit="unit", time="period", value="value", treated="this site", intervention=16,
                        method=m) for m in synth_record.METHODS}
    rule = SuppressionRule.from_catalogue(catalogue)
    return synth_record.describe(site, indicator, results, Counts(suppressed, rule), 7), results


def test_a_rate_per_one_reads_per_one_of_the_denominator(catalogue):
    assert rate_unit(catalogue.indicator("aaot", "ae-attendances")) == "attendances per patient in the outreach cohort"
    assert rate_unit(catalogue.indicator("pcref", "mha-detentions")) == "detentions per 100,000 resident population"
    assert rate_unit(catalogue.indicator("parent-cbt", "referrals")) == "families"


def test_the_record_is_the_fit_and_survives_the_store(catalogue):
    rec, results = _record(catalogue)
    for method in synth_record.METHODS:
        assert rec.effect(method).estimate == results[method].effect
        assert dict(rec.effect(method).weights) == results[method].unit_weights
    assert rec.path.observed == results["sc"].observed and len(rec.path.placebos) == 8
    assert rec.n_pre == 16 and rec.n_post == 8 and rec.view == "full"
    assert "fell by" in rec.effect("sc").sentence and "attendances per patient" in rec.effect("sc").sentence
    assert synth_record.SynthRecord.from_json(json.loads(json.dumps(rec.to_json()))) == rec
    suppressed, _ = _record(catalogue, suppressed=True)
    assert suppressed.path is None, "the monthly path stays with the evaluation team"
    assert [e.estimate for e in suppressed.effects] == [e.estimate for e in rec.effects]


def test_partner_donors_are_anonymised_everywhere_in_the_record(catalogue):
    rec, results = _record(catalogue)
    hidden = synth_record.anonymised(rec)
    assert re.findall(r"hull-donor-\d+", json.dumps(hidden.to_json())) == []
    ranked = sorted(results["sc"].unit_weights.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [d for d, _ in hidden.effect("sc").weights][:2] == ["Donor A", "Donor B"]
    assert [w for _, w in hidden.effect("sc").weights] == [w for _, w in ranked]
    assert sorted(p.unit for p in hidden.path.placebos) == sorted(f"Donor {c}" for c in "ABCDEFGH")
    assert hidden.effect("sc").weights_text.startswith(("Built mostly from Donor A (", "Built from a spread of donors: Donor A ("))
    site_user = Access(user="pat@hey.nhs.uk", role=Role.SITE, sites=("hull",))
    lead = Access(user="lee@mhin.nhs.uk", role=Role.LEAD)
    assert synth_record.for_access((rec,), site_user) == (hidden,)
    assert synth_record.for_access((rec,), lead) == (rec,)


def test_donors_from_published_statistics_keep_their_names(catalogue):
    rec, _ = _record(catalogue, public=True)
    assert set(rec.public) == set(rec.donors)
    assert synth_record.anonymised(rec) == rec


def test_records_are_fitted_once_and_reused_while_their_rows_do_not_change(tmp_path, store, catalogue, monkeypatch):
    series = pd.read_csv(DEMO / "series.csv")
    aaot = series[series["project"] == "aaot"]
    (tmp_path / "aaot.csv").write_text(aaot.to_csv(index=False))
    store.ingest_file(tmp_path / "aaot.csv", demo=True)
    fitted = []
    real = synth_record.fit_site
    monkeypatch.setattr(synth_record, "fit_site", lambda cat, site, *a: fitted.append(site) or real(cat, site, *a))
    recompute.refresh(store, catalogue, projects=["aaot"], workers=1)
    assert sorted(fitted) == ["greater-manchester", "hull"]
    counts = Counts(False, SuppressionRule.from_catalogue(catalogue))
    first = synth_record.synth_of_record(store, catalogue, "aaot", counts)
    assert [r.site for r in first] == ["hull", "greater-manchester"] and all(r.effects for r in first)

    other = series[(series["project"] == "aaot") & (series["indicator"] != "ae-attendances")].copy()
    other["value"] = other["value"] + 1
    (tmp_path / "other.csv").write_text(other.to_csv(index=False))
    store.ingest_file(tmp_path / "other.csv", demo=True)
    fitted.clear()
    recompute.refresh(store, catalogue, projects=["aaot"], workers=1)
    assert fitted == [], "the donor-pool indicator's rows did not change"
    again = synth_record.synth_of_record(store, catalogue, "aaot", counts)
    assert [replace(r, data_version=0) for r in again] == [replace(r, data_version=0) for r in first]
    assert again[0].data_version == store.version() > first[0].data_version

    hull = series[(series["site"] == "hull") & (series["indicator"] == "ae-attendances")].copy()
    hull.loc[hull.index[-1], "value"] += 50
    (tmp_path / "hull.csv").write_text(hull.to_csv(index=False))
    store.ingest_file(tmp_path / "hull.csv", demo=True)
    recompute.refresh(store, catalogue, projects=["aaot"], workers=1)
    assert fitted == ["hull"], "only the site whose rows changed is refitted"


def test_a_demo_pool_without_demo_data_says_so(tmp_path, store, catalogue):
    series = pd.read_csv(DEMO / "series.csv")
    (tmp_path / "aaot.csv").write_text(series[series["project"] == "aaot"].to_csv(index=False))
    store.ingest_file(tmp_path / "aaot.csv")  # not marked as demo data
    counts = Counts(False, SuppressionRule.from_catalogue(catalogue))
    records = synth_record.synth_of_record(store, catalogue, "aaot", counts)
    assert [r.reason for r in records] == [synth_record.DEMO_ONLY] * 2 and not any(r.effects for r in records)
