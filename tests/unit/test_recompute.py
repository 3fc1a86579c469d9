"""Results of record after an ingest (mhin_eval.recompute): only the series whose rows changed are refitted,
the rest carried forward to the new data version; fits in worker processes equal fits in one process."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mhin_eval import evaluate, recompute, record, store_results, uploads
from mhin_eval.access import Access, Role
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.catalogue import load_catalogue
from mhin_eval.store import seed
from tests.conftest import BACKENDS, prepared_store, private_copy

EVALUATOR = Access(user="eve@mhin.nhs.uk", role=Role.EVALUATOR)


@pytest.fixture(scope="module", params=BACKENDS)
def refreshed_dir(request, tmp_path_factory):
    """A seeded store whose results of record are computed (once per module and backend; copied per test):
    its folder and, on PostgreSQL, its database URL."""
    catalogue = load_catalogue()
    store = prepared_store(request, tmp_path_factory.mktemp("refreshed") / "store", catalogue)
    seed(store)
    recompute.refresh(store, catalogue, workers=1)
    return store.data_dir, getattr(store, "url", None)


@pytest.fixture
def store(refreshed_dir, tmp_path, request, monkeypatch):
    return private_copy(refreshed_dir, tmp_path, request, monkeypatch, load_catalogue())


@pytest.fixture
def fitted(monkeypatch):
    """Every (site, indicator) fitted from now on, in this process."""
    calls = []
    real = recompute._fit_chunk
    monkeypatch.setattr(recompute, "_fit_chunk", lambda cat, items, *a: calls.extend(items) or real(cat, items, *a))
    return calls


def _changed_upload(store, site="hull", indicator="ae-attendances", delta=40):
    rows = store.series(project="aaot", sites=[site], indicator=indicator)
    rows = rows[(rows["breakdown"] == "all")].tail(3)
    frame = rows.assign(value=rows["value"] + delta, period=rows["period"].dt.strftime("%Y-%m-%d"))
    data = frame[["project", "site", "indicator", "period", "value", "denominator", "breakdown", "group"]]
    check = uploads.check_upload(data.to_csv(index=False).encode(), "fix.csv", access=EVALUATOR, store=store,
                                 catalogue=store.catalogue)
    assert check.ok, check.problems
    return check


def _stored(store, project, view="full"):
    payload = store.recorded_results(store.version(), view, project, record.RECORD_FORMAT)
    return None if payload is None else [record.ResultOfRecord.from_json(r) for r in json.loads(payload)]


def test_an_ingest_stores_results_for_exactly_the_changed_keys(store, fitted):
    catalogue = store.catalogue
    before = {p: _stored(store, p) for p in catalogue.project_ids}
    kept_before = store_results.cached_records(store, "aaot", "full", record.RECORD_FORMAT)

    uploads.confirm_upload(_changed_upload(store), access=EVALUATOR, store=store, catalogue=catalogue)

    assert fitted == [("hull", "ae-attendances")]
    kept_after = store_results.cached_records(store, "aaot", "full", record.RECORD_FORMAT)
    assert len(kept_after) == len(kept_before)
    assert set(kept_after) - set(kept_before) == {
        recompute.record_keys(store.series(project="aaot"), store.participants(project="aaot"), catalogue,
                              "aaot")[("hull", "ae-attendances")]}
    for project in catalogue.project_ids:
        after = _stored(store, project)
        assert after is not None, f"{project}'s records were not stored for the new version"
        assert {r.data_version for r in after} == {store.version()}
        changed = [(a.site, a.indicator) for a, b in zip(after, before[project], strict=True)
                   if a.estimate != b.estimate]
        assert changed == ([("hull", "ae-attendances")] if project == "aaot" else [])


def test_a_rollback_reuses_the_records_kept_for_the_earlier_rows(store, fitted):
    catalogue = store.catalogue
    before = _stored(store, "aaot")
    result = uploads.confirm_upload(_changed_upload(store), access=EVALUATOR, store=store, catalogue=catalogue)
    fitted.clear()
    uploads.rollback_ingest(result.ingest_id, access=EVALUATOR, store=store, catalogue=catalogue)
    assert fitted == [("hull", "ae-attendances")]
    assert [r.estimate for r in _stored(store, "aaot")] == [r.estimate for r in before]


def test_a_change_to_a_comparison_series_refits_the_site_it_controls(store, fitted):
    catalogue = store.catalogue
    uploads.confirm_upload(_changed_upload(store, site="aaot-comparison"), access=EVALUATOR, store=store,
                           catalogue=catalogue)
    assert fitted == [("greater-manchester", "ae-attendances")]


def test_the_key_of_a_series_ignores_row_order_and_sees_any_change():
    catalogue = load_catalogue()
    series = pd.DataFrame({"project": "aaot", "site": "hull", "indicator": "ae-attendances",
                           "period": pd.date_range("2020-01-01", periods=6, freq="MS"), "value": range(6),
                           "denominator": None, "breakdown": "all", "group": "all"})
    empty = pd.DataFrame(columns=["project", "site", "measure"])
    keys = recompute.record_keys(series, empty, catalogue, "aaot")
    assert recompute.record_keys(series.iloc[::-1], empty, catalogue, "aaot") == keys
    changed = recompute.record_keys(series.assign(value=[0, 1, 2, 3, 4, 6]), empty, catalogue, "aaot")
    assert {item for item in keys if keys[item] != changed[item]} == {("hull", "ae-attendances")}


def test_the_lazy_path_computes_the_same_records_as_the_refresh(store):
    catalogue = store.catalogue
    counts = Counts(True, SuppressionRule.from_catalogue(catalogue))
    refreshed = _stored(store, "pcref", "suppressed")
    with store._write() as con:
        con.execute("DELETE FROM results_of_record")
        con.execute(f"DELETE FROM {store_results.TABLE}")
    lazy = record.results_of_record(store, catalogue, "pcref", counts)
    assert [r.to_json() for r in lazy] == [r.to_json() for r in refreshed]


def test_fits_in_worker_processes_equal_fits_in_one(store, monkeypatch):
    catalogue = store.catalogue
    monkeypatch.setattr(recompute, "MIN_PARALLEL_FITS", 0)
    for project in ("aaot", "pcref"):
        series, participants = store.series(project=project), store.participants(project=project)
        items = [(s.id, i.id) for s in catalogue.sites_of(project) for i in catalogue.indicators_of(project)]
        single = recompute.fit_records(catalogue, items, series, participants, workers=1)
        batched = recompute.fit_records(catalogue, items, series, participants, workers=2)
        assert set(single) == set(batched) == set(items)
        for item in items:
            for view in record.VIEWS:
                one, two = json.loads(single[item][view]), json.loads(batched[item][view])
                est_one, est_two = one.pop("estimate"), two.pop("estimate")
                assert one == two
                assert (est_one is None) == (est_two is None)
                if est_one is not None:
                    for field in ("estimate", "ci_low", "ci_high", "se", "p_value"):
                        if est_one.get(field) is None:
                            assert est_two.get(field) is None
                        else:
                            assert est_two[field] == pytest.approx(est_one[field], rel=1e-8, abs=1e-12), field


def _close(one, two, path=""):
    """Every number of two record JSONs within 1e-8 of each other (relative; 1e-12 absolute), all else equal."""
    if isinstance(one, dict):
        assert one.keys() == two.keys(), path
        for key in one:
            _close(one[key], two[key], f"{path}/{key}")
    elif isinstance(one, list):
        assert len(one) == len(two), path
        for i, (a, b) in enumerate(zip(one, two, strict=True)):
            _close(a, b, f"{path}[{i}]")
    elif isinstance(one, float) and isinstance(two, float):
        assert two == pytest.approx(one, rel=1e-8, abs=1e-12, nan_ok=True), path
    else:
        assert one == two, path


def test_batched_and_single_fits_agree(store, monkeypatch):
    """The records fitted in batches (worker processes, each given only its sites' rows) equal each site's
    single fit on the whole project's rows, as a page computes it, to 1e-8."""
    catalogue = store.catalogue
    rule = SuppressionRule.from_catalogue(catalogue)
    monkeypatch.setattr(recompute, "MIN_PARALLEL_FITS", 0)
    for project in catalogue.project_ids:
        series, participants = store.series(project=project), store.participants(project=project)
        items = [(s.id, i.id) for s in catalogue.sites_of(project) for i in catalogue.indicators_of(project)]
        batched = recompute.fit_records(catalogue, items, series, participants, workers=2)
        for site_id, indicator_id in items:
            site = catalogue.site(site_id)
            indicator = catalogue.indicator(project, indicator_id)
            try:
                result = evaluate.site_result(series, participants, catalogue, site, indicator)
            except AnalysisError as exc:
                result = exc
            for view in record.VIEWS:
                single = record.describe(result, site, indicator, Counts(view == "suppressed", rule), 0)
                _close(json.loads(recompute._json(single)), json.loads(batched[(site_id, indicator_id)][view]),
                       f"{site_id}/{indicator_id}/{view}")


def test_worker_processes_never_run_the_page_script_that_started_them(tmp_path, monkeypatch):
    """Under Streamlit ``__main__`` is the page script: a worker that imported it would run the app."""
    import os
    import sys
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page script ran in a worker')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    pool = recompute.WorkerPool(2)
    try:
        pids = {pool.get().submit(os.getpid).result() for _ in range(4)}
    finally:
        pool.close()
    assert os.getpid() not in pids and pids
    assert not marker.exists()
    assert sys.modules["__main__"] is page
