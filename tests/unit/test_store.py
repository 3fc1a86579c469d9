"""The store on both backends (DuckDB and PostgreSQL): ingest, replacement, idempotence, history, exact
rollback, scope, concurrency."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.store import KINDS, IngestRefused, RollbackRefused, Store, seed

PYTHON = sys.executable


@dataclass
class FrameExtract:
    """Stand-in for loaders.Extract: a validated frame, its file name and the file's sha256."""

    kind: str
    frame: pd.DataFrame
    file_name: str
    sha256: str = ""
    source_format: str = "csv"
    notes: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not self.sha256:
            text = self.frame.to_csv(index=False).encode()
            self.sha256 = hashlib.sha256(text).hexdigest()


def series_frame(sites=("hull", "greater-manchester"), months=24, start="2020-01-01", offset=0.0):
    rows = []
    for site_number, site in enumerate(sites):
        for indicator in ("ae_attendances", "unplanned_admissions"):
            for month, period in enumerate(pd.date_range(start, periods=months, freq="MS")):
                rows.append(
                    {
                        "project": "aaot",
                        "site": site,
                        "indicator": indicator,
                        "period": period,
                        "value": float(10 * site_number + month) + offset,
                        "denominator": np.nan if month % 5 else 100.0,
                        "breakdown": "all",
                        "group": "all",
                    }
                )
    return pd.DataFrame(rows)


def series_extract(name="series.csv", **kwargs) -> FrameExtract:
    return FrameExtract("series", series_frame(**kwargs), name)


def participants_frame():
    return pd.DataFrame(
        {
            "project": "parent-cbt",
            "site": ["east-of-england"] * 4 + ["northwest-coast"] * 2,
            "participant_id": ["p1", "p1", "p2", "p2", "p3", "p3"],
            "measure": "scas_p",
            "timepoint": ["pre", "post"] * 3,
            "value": [40.0, 30.0, 35.0, np.nan, 50.0, 41.0],
            "delivery_mode": ["online", "online", "face-to-face", "face-to-face", "online", "online"],
        }
    )


def published_frame():
    return pd.DataFrame(
        {
            "source": "mha-annual-2023-24",
            "period_start": pd.Timestamp("2023-04-01"),
            "period_end": pd.Timestamp("2024-03-31"),
            "period_type": "annual",
            "breakdown": "ethnicity",
            "org_code": ["TAH", "TAH", "RXV", "RXV"],
            "org_name": ["Sheffield", "Sheffield", "GMMH", "GMMH"],
            "secondary_code": ["", "", "", ""],
            "secondary_name": ["", "", "", ""],
            "measure_id": "detention_rate",
            "measure_name": "Detentions per 100,000",
            "demographic": "ethnicity",
            "group": ["Black or Black British", "White", "Black or Black British", "White"],
            "statistic": "crude_rate",
            "value": [239.0, np.nan, 310.5, 71.2],
            "published_value": ["239.0", "*", "310.5", "71.2"],
        }
    )


def test_empty_store(store):
    assert store.is_empty()
    assert store.series().empty
    assert store.history().empty
    assert store.version() == 0
    assert not store.has_demo_data()
    assert store.coverage().empty


def test_ingest_stores_rows_and_records_history(store):
    extract = series_extract()
    result = store.ingest(extract, user="alice")
    assert (result.ingest_id, result.rows_added, result.rows_replaced, result.rows_unchanged) == (1, 96, 0, 0)
    assert not result.no_op
    stored = store.series()
    assert len(stored) == 96
    assert stored["period"].dtype.kind == "M"
    expected = extract.frame.sort_values(["project", "site", "indicator", "period"]).reset_index(drop=True)
    pdt.assert_series_equal(stored["value"], expected["value"], check_names=False)
    assert stored["denominator"].isna().sum() == expected["denominator"].isna().sum()
    history = store.history()
    assert len(history) == 1
    row = history.iloc[0]
    assert row["user"] == "alice" and row["file_name"] == "series.csv" and row["kind"] == "series"
    assert row["sha256"] == extract.sha256
    assert (row["rows_added"], row["rows_replaced"]) == (96, 0)
    assert str(history["time"].dt.tz) == "UTC"
    assert pd.isna(row["rolled_back_at"])
    assert not store.is_empty()


def test_later_extract_replaces_values_and_counts_changes(store):
    store.ingest(series_extract(months=24))
    second = series_frame(months=30)
    second.loc[second["period"] >= "2021-07-01", "value"] += 0.5
    result = store.ingest(FrameExtract("series", second, "update.csv"))
    assert result.rows_added == 4 * 6
    assert result.rows_replaced == 4 * 6
    assert result.rows_unchanged == 4 * 18
    stored = store.series(sites=["hull"], indicator="ae_attendances").set_index("period")["value"]
    assert stored[pd.Timestamp("2021-08-01")] == 19.5
    assert stored[pd.Timestamp("2020-01-01")] == 0.0
    assert len(stored) == 30


def test_same_file_twice_is_a_recorded_no_op(store):
    extract = series_extract()
    store.ingest(extract)
    before = (store.checksum(), store.series())
    again = store.ingest(extract, user="bob")
    assert again.no_op and again.same_as == 1
    assert (again.rows_added, again.rows_replaced, again.rows_unchanged) == (0, 0, 96)
    assert "No change" in again.summary() and "#1" in again.summary()
    assert store.checksum() == before[0]
    pdt.assert_frame_equal(store.series(), before[1])
    history = store.history()
    assert list(history["no_op"]) == [False, True]
    # A no-op holds no row versions: rolling it back changes nothing.
    result = store.rollback(again.ingest_id)
    assert (result.rows_restored, result.rows_removed) == (0, 0)
    assert store.checksum() == before[0]


def test_rollback_restores_exactly(store):
    store.ingest(series_extract(months=24))
    before_frame, before_sum = store.series(), store.checksum()
    changed = series_frame(months=36, offset=0.25)
    changed.loc[0, "denominator"] = 7.0
    result = store.ingest(FrameExtract("series", changed, "changed.csv"))
    assert store.checksum() != before_sum
    rollback = store.rollback(result.ingest_id, user="eve")
    assert (rollback.rows_restored, rollback.rows_removed, rollback.rows_kept_newer) == (96, 48, 0)
    pdt.assert_frame_equal(store.series(), before_frame)
    assert store.checksum() == before_sum
    history = store.history().set_index("ingest_id")
    assert history.loc[result.ingest_id, "rolled_back_by"] == "eve"
    assert not pd.isna(history.loc[result.ingest_id, "rolled_back_at"])


def test_rollback_of_latest_of_two_brings_back_first_values(store):
    first = series_extract(offset=1.0)
    store.ingest(first)
    first_values = store.series()
    second = store.ingest(series_extract(name="second.csv", offset=2.0))
    assert second.rows_replaced == 96
    assert (store.series()["value"] == first_values["value"] + 1.0).all()
    store.rollback(second.ingest_id)
    pdt.assert_frame_equal(store.series(), first_values)


def test_rollback_of_an_earlier_ingest_keeps_later_values(store):
    first = store.ingest(series_extract(months=12, offset=1.0))
    store.ingest(series_extract(name="later.csv", months=6, offset=5.0))
    later_values = store.series().query("period < '2020-07-01'")
    result = store.rollback(first.ingest_id)
    assert (result.rows_removed, result.rows_kept_newer) == (4 * 6, 4 * 6)
    pdt.assert_frame_equal(store.series(), later_values.reset_index(drop=True))


def test_rollback_of_middle_ingest_falls_back_to_the_one_before(store):
    store.ingest(series_extract(offset=1.0))
    expected = store.series()
    middle = store.ingest(series_extract(name="b.csv", offset=2.0))
    store.ingest(series_extract(name="c.csv", months=12, offset=3.0))
    store.rollback(middle.ingest_id)
    stored = store.series()
    late = stored["period"] >= "2021-01-01"
    pdt.assert_frame_equal(stored[late], expected[late])
    assert (stored.loc[~late, "value"] == expected.loc[~late, "value"] + 2.0).all()


def test_reingest_after_rollback_applies_again(store):
    extract = series_extract()
    first = store.ingest(extract)
    store.rollback(first.ingest_id)
    assert store.is_empty()
    again = store.ingest(extract)
    assert not again.no_op and again.rows_added == 96
    assert len(store.series()) == 96


def test_rollback_refusals(store):
    result = store.ingest(series_extract())
    with pytest.raises(RollbackRefused, match="no ingest #99"):
        store.rollback(99)
    store.rollback(result.ingest_id)
    checksum = store.checksum()
    with pytest.raises(RollbackRefused, match="already rolled back"):
        store.rollback(result.ingest_id)
    assert store.checksum() == checksum


def test_duplicate_keys_refused_and_nothing_stored(store):
    store.ingest(series_extract())
    before = (store.checksum(), store.version(), len(store.history()))
    frame = series_frame(sites=("manchester",))
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    with pytest.raises(IngestRefused, match="repeat the key"):
        store.ingest(FrameExtract("series", frame, "dupes.csv"))
    assert (store.checksum(), store.version(), len(store.history())) == before


@pytest.mark.parametrize(
    ("kind", "frame", "message"),
    [
        ("series", series_frame().iloc[:0], "no rows"),
        ("series", series_frame().drop(columns=["value"]), "lacks column"),
        ("fidelity", series_frame(), "Unknown extract kind"),
    ],
)
def test_unusable_extracts_refused(store, kind, frame, message):
    with pytest.raises(IngestRefused, match=message):
        store.ingest(FrameExtract(kind, frame, "bad.csv", sha256="x"))
    assert store.history().empty


def test_failure_inside_the_transaction_leaves_store_unchanged(store, monkeypatch):
    store.ingest(series_extract())
    before = (store.checksum(), store.version(), store.history())

    def fail():
        raise RuntimeError("disk full")

    monkeypatch.setattr("mhin_eval.store.base._pause_for_tests", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest(series_extract(name="new.csv", sites=("hull", "manchester"), offset=9.0))
    assert store.checksum() == before[0]
    assert store.version() == before[1]
    pdt.assert_frame_equal(store.history(), before[2])
    monkeypatch.undo()
    assert store.ingest(series_extract(name="new.csv", offset=9.0)).rows_replaced == 96


def test_participants_and_published_round_trip(store):
    store.ingest(FrameExtract("participants", participants_frame(), "p.csv"))
    stored = store.participants(project="parent-cbt")
    assert len(stored) == 6
    assert set(stored.columns) >= {"participant_id", "delivery_mode", "ethnicity", "date"}
    assert stored["ethnicity"].isna().all()
    assert stored["value"].isna().sum() == 1
    assert list(store.participants(sites=["northwest-coast"])["participant_id"].unique()) == ["p3"]

    store.ingest(FrameExtract("published", published_frame(), "mha.csv"))
    published = store.published(org_codes=["TAH"])
    assert len(published) == 2
    suppressed = published.set_index("group").loc["White"]
    assert np.isnan(suppressed["value"]) and suppressed["published_value"] == "*"
    assert len(store.published(source="mha-annual-2023-24", measure_ids=["detention_rate"])) == 4


def test_missing_and_empty_key_parts_are_distinct_keys(store):
    frame = published_frame().iloc[:2].copy()
    frame["group"] = "all"
    frame.loc[0, "secondary_code"] = None
    result = store.ingest(FrameExtract("published", frame, "keys.csv"))
    assert result.rows_added == 2


def test_site_scope_applies_to_every_reader(store):
    store.ingest(series_extract(sites=("hull", "greater-manchester")))
    store.ingest(FrameExtract("participants", participants_frame(), "p.csv"))
    assert set(store.series(sites=["hull"])["site"]) == {"hull"}
    assert store.series(sites=[]).empty
    assert store.participants(sites=[]).empty
    assert store.coverage(sites=[]).empty
    assert store.freshness(sites=[]).empty
    assert set(store.coverage(sites=("hull",))["site"]) == {"hull"}
    fresh = store.freshness(sites=["hull", "east-of-england"])
    assert set(zip(fresh["site"], fresh["kind"], strict=True)) == {
        ("hull", "series"),
        ("east-of-england", "participants"),
    }
    assert set(store.freshness()["site"].dropna()) == {
        "hull",
        "greater-manchester",
        "east-of-england",
        "northwest-coast",
    }


def test_coverage_and_freshness(store):
    frame = series_frame(months=12)
    frame = frame[frame["period"] != pd.Timestamp("2020-03-01")]
    store.ingest(FrameExtract("series", frame, "gappy.csv"), user="carol")
    coverage = store.coverage(project="aaot", sites=["hull"])
    assert list(coverage.columns) == ["project", "site", "indicator", "breakdown", "period", "n_rows"]
    assert len(coverage) == 2 * 11 and (coverage["n_rows"] == 1).all()
    assert pd.Timestamp("2020-03-01") not in set(coverage["period"])
    fresh = store.freshness().set_index("site").loc["hull"]
    assert fresh["latest_period"] == pd.Timestamp("2020-12-01")
    assert fresh["last_file"] == "gappy.csv" and fresh["last_user"] == "carol"


def test_checksum_is_order_independent_and_content_sensitive(make_store):
    frame = series_frame()
    a, b = make_store("a"), make_store("b")
    a.ingest(FrameExtract("series", frame, "x.csv"))
    b.ingest(FrameExtract("series", frame.sample(frac=1.0, random_state=3), "y.csv", sha256="other"))
    assert a.checksum() == b.checksum()
    changed = frame.copy()
    changed.loc[5, "value"] += 1e-9
    c = make_store("c")
    c.ingest(FrameExtract("series", changed, "x.csv"))
    assert c.checksum() != a.checksum()


def test_version_rises_on_every_ingest_and_rollback(store):
    versions = [store.version()]
    first = store.ingest(series_extract())
    versions.append(store.version())
    store.ingest(series_extract())
    versions.append(store.version())
    store.rollback(first.ingest_id)
    versions.append(store.version())
    assert versions == sorted(set(versions))


def test_demo_flag_follows_current_rows(store):
    demo = store.ingest(series_extract(), user="demo", demo=True)
    assert store.has_demo_data()
    store.ingest(series_extract(name="real.csv", offset=1.0))
    assert not store.has_demo_data(), "every demo row has been replaced by real data"
    store.rollback(demo.ingest_id)
    assert not store.has_demo_data()
    assert bool(store.history().set_index("ingest_id").loc[demo.ingest_id, "demo"])


def test_preview_lists_changes_without_storing(store):
    store.ingest(series_extract(months=2))
    frame = series_frame(months=3)
    frame.loc[0, "value"] = 42.0
    before = store.checksum()
    preview = store.preview(FrameExtract("series", frame, "next.csv"))
    assert store.checksum() == before
    assert preview["change"].value_counts().to_dict() == {"unchanged": 7, "added": 4, "replaced": 1}
    replaced = preview[preview["change"] == "replaced"].iloc[0]
    assert (replaced["old_value"], replaced["new_value"]) == (0.0, 42.0)
    added = preview[preview["change"] == "added"]
    assert added["old_value"].isna().all() and (added["period"] == pd.Timestamp("2020-03-01")).all()


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MHIN_DATA_DIR", str(tmp_path / "env-store"))
    store = Store()
    assert store.path == (tmp_path / "env-store" / "mhin.duckdb").resolve()
    store.ingest(series_extract())
    assert len(Store(tmp_path / "env-store").series()) == 96


def test_concurrent_thread_ingests_both_land_and_readers_see_whole_ingests(store, make_store):
    store.ingest(series_extract(sites=("hull",)))
    states = {store.checksum()}
    extracts = [
        series_extract(name=f"t{n}.csv", sites=(site,), months=120, offset=n)
        for n, site in enumerate(("greater-manchester", "manchester"))
    ]
    results, errors, seen = [], [], set()
    stop = threading.Event()

    def write(extract):
        try:
            results.append(store.ingest(extract))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    def read():
        while not stop.is_set():
            seen.add(store.checksum())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(e,)) for e in extracts]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert not errors
    assert sorted(r.rows_added for r in results) == [240, 240]
    assert len(store.series()) == 48 + 2 * 240
    # Every state a reader saw is a whole number of ingests: compute them all sequentially.
    sequential = make_store("sequential")
    sequential.ingest(series_extract(sites=("hull",)))
    order = sorted(results, key=lambda r: r.ingest_id)
    by_name = {e.file_name: e for e in extracts}
    for r in order:
        sequential.ingest(by_name[r.file_name])
        states.add(sequential.checksum())
    assert store.checksum() == sequential.checksum()
    assert seen <= states, "a reader saw a partly applied ingest"


CHILD = """
import sys
import numpy as np, pandas as pd
from dataclasses import dataclass
from mhin_eval.store import Store

@dataclass
class E:
    kind: str
    frame: pd.DataFrame
    file_name: str
    sha256: str

site, n = sys.argv[2], int(sys.argv[3])
frame = pd.DataFrame({"project": "pcref", "site": site, "indicator": "detentions",
    "period": pd.date_range("1900-01-01", periods=n, freq="MS"), "value": np.arange(n, dtype=float),
    "denominator": np.nan, "breakdown": "all", "group": "all"})
print(Store(sys.argv[1]).ingest(E("series", frame, site + ".csv", site)).summary())
"""


def test_concurrent_process_ingests_both_land(store):
    env = {"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"}
    if "MHIN_DATABASE_URL" in os.environ:
        env["MHIN_DATABASE_URL"] = os.environ["MHIN_DATABASE_URL"]
    children = [
        subprocess.Popen(
            [PYTHON, "-c", CHILD, str(store.data_dir), site, "1500"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for site in ("sheffield", "manchester")
    ]
    outputs = [c.communicate(timeout=120) for c in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "1,500 rows added" in out
    history = store.history()
    assert sorted(history["ingest_id"]) == [1, 2]
    assert sorted(history["file_name"]) == ["manchester.csv", "sheffield.csv"]
    stored = store.series()
    assert stored.groupby("site").size().to_dict() == {"manchester": 1500, "sheffield": 1500}


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    from mhin_eval.demo import write_demo

    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder)
    return folder


def test_ingest_file_stores_exactly_the_loaded_frame(store, demo_files):
    from mhin_eval.loaders import load_extract

    extract = load_extract(demo_files / "series.csv", catalogue=store.catalogue)
    result = store.ingest_file(demo_files / "series.csv", user="demo", demo=True)
    assert result.sha256 == extract.sha256 and result.rows_added == len(extract.frame)
    expected = extract.frame.sort_values(list(KINDS["series"].key)).reset_index(drop=True)
    pdt.assert_frame_equal(store.series()[list(expected.columns)], expected)


def test_ingest_file_refusing_a_bad_file_stores_nothing(store, tmp_path, demo_files):
    from mhin_eval.schema import ValidationFailed

    store.ingest_file(demo_files / "series.csv")
    before = (store.checksum(), store.version())
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(demo_files / "series.csv", dtype=str, keep_default_na=False)
    frame.loc[7, "site"] = "leeds"
    frame.to_csv(bad, index=False)
    with pytest.raises(ValidationFailed, match="leeds"):
        store.ingest_file(bad)
    assert (store.checksum(), store.version()) == before


def test_seed_ingests_demo_and_published_once(store, demo_files):
    published_dir = PROJECT_ROOT / "data" / "published"
    results = seed(store, demo_dir=demo_files, published_dir=published_dir)
    shipped = sorted(p.name for p in published_dir.glob("*.csv"))
    demo_names = ["findings.csv", "participants.csv", "series.csv", "sustainability.csv"]
    assert [r.file_name for r in results] == [*demo_names, *shipped]
    assert [r.demo for r in results] == [True] * len(demo_names) + [False] * len(shipped)
    assert set(store.history()["user"]) == ({"demo", "seed"} if shipped else {"demo"})
    assert store.has_demo_data()
    assert not store.published().empty or not shipped
    checksum = store.checksum()
    assert seed(store, demo_dir=demo_files, published_dir=published_dir) == []
    assert store.checksum() == checksum


def test_seed_resumes_an_interrupted_seed(store, demo_files, tmp_path):
    store.ingest_file(demo_files / "participants.csv", user="demo", demo=True)
    results = seed(store, demo_dir=demo_files, published_dir=tmp_path / "none")
    assert [r.file_name for r in results] == ["findings.csv", "series.csv", "sustainability.csv"]


def test_seed_leaves_a_store_in_real_use_alone(store, demo_files, tmp_path):
    store.ingest(series_extract(), user="alice")
    assert seed(store, demo_dir=demo_files, published_dir=tmp_path / "none") == []
    assert not store.has_demo_data()


def test_seed_writes_demo_files_when_the_folder_is_empty(store, tmp_path):
    demo_dir = tmp_path / "fresh-demo"
    results = seed(store, demo_dir=demo_dir, published_dir=tmp_path / "none")
    assert (demo_dir / "series.csv").exists()
    assert {r.kind for r in results} == {"series", "participants", "sustainability", "findings"}


def test_real_mhsds_files_reconcile_in_the_store(store, real_data_dir):
    """The six MHSDS 4-week-wait files of 2024 (NHS England, real-data/mhsds_4ww_2024) go into the store
    row for row, suppressed cells ('*') stay missing and monthly and rolling periods stay apart."""
    import csv

    files = sorted((real_data_dir / "mhsds_4ww_2024").glob("*.csv"))
    assert len(files) == 6
    rows = suppressed = 0
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            values = [r["MEASURE_VALUE"].strip() for r in csv.DictReader(handle)]
        rows += len(values)
        suppressed += sum(v == "*" for v in values)
        result = store.ingest_file(path, user="analyst")
        assert result.rows_added == len(values) and result.rows_replaced == 0
    published = store.published()
    assert len(published) == rows
    assert published["value"].isna().sum() == suppressed
    assert (published.loc[published["published_value"] == "*", "value"].isna()).all()
    assert set(published["period_type"]) == {"month", "rolling-3-month"}
    assert {"TAH", "RXV", "RV9"} <= set(published["org_code"])
    checksum = store.checksum()
    assert store.ingest_file(files[0]).no_op
    assert store.checksum() == checksum


def test_history_lists_touched_sites_and_takes_a_site_scope(store):
    store.ingest(series_extract(sites=("hull",)), user="hull-analyst")
    store.ingest(series_extract(name="gm.csv", sites=("greater-manchester", "hull"), offset=1.0))
    store.ingest(FrameExtract("published", published_frame(), "mha.csv"))
    history = store.history()
    assert list(history["sites"].fillna("")) == ["hull", "greater-manchester, hull", ""]
    assert list(store.history(sites=["greater-manchester"])["ingest_id"]) == [2]
    assert list(store.history(sites=["hull"])["ingest_id"]) == [1, 2]
    assert store.history(sites=[]).empty


def test_version_seen_by_another_store_object_after_an_ingest_or_rollback(make_store):
    """A write through another Store object on the same store (as another process would) is seen at once (on
    DuckDB, version() is re-read when the database files change; on PostgreSQL, it is read each time)."""
    reader, writer = make_store(), make_store()
    first = reader.version()
    assert reader.version() == first
    result = writer.ingest(series_extract())
    assert reader.version() == first + 1
    writer.rollback(result.ingest_id)
    assert reader.version() == first + 2
    writer.record_event("login", "someone")
    assert reader.version() == first + 2, "the audit log does not change the data version"
