"""What only the PostgreSQL backend does (the shared behaviour is tested on both backends in test_store.py and
others): backend choice, versioned migrations, the DuckDB-to-PostgreSQL copy, the writer lock, and faults: the
server restarted in the middle of an ingest, a writer process killed in the middle of one."""

from __future__ import annotations

import signal
import threading

import pandas as pd
import pandas.testing as pdt
import pytest

from mhin_eval import cli
from mhin_eval.store import PAUSE_HOOK_ENV, Store, StoreBusy, StoreError, StoreUnavailable, migrations
from mhin_eval.store.duckdb_backend import DuckDBStore
from mhin_eval.store.postgres_backend import PostgresStore
from tests.unit.test_store import (
    FrameExtract,
    participants_frame,
    published_frame,
    series_extract,
    series_frame,
)
from tests.unit.test_store_kill import base_frame, spawn, wait_for


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.create_database()


def snapshot(store: Store) -> tuple:
    return store.checksum(), store.version(), store.history()


def assert_unchanged(store: Store, before: tuple) -> None:
    assert store.checksum() == before[0]
    assert store.version() == before[1]
    pdt.assert_frame_equal(store.history(), before[2])


def test_backend_is_chosen_in_one_place(tmp_path, pg_url, monkeypatch):
    monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)
    assert isinstance(Store(tmp_path / "a"), DuckDBStore)
    assert isinstance(Store(tmp_path / "b", url=pg_url), PostgresStore)
    monkeypatch.setenv("MHIN_DATABASE_URL", pg_url)
    store = Store(tmp_path / "c")
    assert isinstance(store, PostgresStore) and isinstance(store, Store)
    assert not (tmp_path / "c").exists(), "a PostgreSQL store writes nothing in the data folder"
    monkeypatch.setenv("MHIN_DATABASE_URL", "mysql://somewhere/db")
    with pytest.raises(StoreError, match="must be a PostgreSQL URL"):
        Store(tmp_path / "d")


def test_unreachable_server_is_a_plain_message(tmp_path, pg_server):
    url = pg_server.url("no_such_database")
    with pytest.raises(StoreUnavailable, match="could not be read.*MHIN_DATABASE_URL"):
        Store(tmp_path, url=url)


def test_migrations_run_once_and_are_recorded(make_store):
    store = make_store()
    with store._read() as con:
        rows = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [v for v, _ in migrations.STEPS]
    store.ingest(series_extract())
    again = make_store()  # opening again applies nothing and changes nothing
    with again._read() as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(migrations.STEPS)
    assert again.checksum() == store.checksum() and again.version() == 1


def test_a_duckdb_store_made_before_migrations_still_opens(tmp_path, monkeypatch):
    """A store written by the code before migrations (no schema_migrations, no record_cache) opens with its
    data unchanged and gains what it lacked."""
    monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)
    store = Store(tmp_path)
    store.ingest(series_extract())
    before = snapshot(store)
    with store._write() as con:
        con.execute("DROP TABLE schema_migrations")
        con.execute("DROP TABLE record_cache")
    reopened = Store(tmp_path)
    assert_unchanged(reopened, before)
    with reopened._read() as con:
        assert migrations.applied(con) == {v for v, _ in migrations.STEPS}
        assert con.execute("SELECT count(*) FROM record_cache").fetchone()[0] == 0


def rich_duckdb_store(folder) -> Store:
    """A DuckDB store with every kind, a rollback, a replaced range, audit lines and results of record."""
    store = DuckDBStore(folder)
    store.ingest(series_extract(months=24), user="alice")
    changed = series_frame(months=30, offset=0.5)
    changed.loc[3, "denominator"] = 1 / 3
    second = store.ingest(FrameExtract("series", changed, "second.csv"), user="bob")
    store.ingest(FrameExtract("participants", participants_frame(), "p.csv"), demo=True, user="demo")
    store.ingest(FrameExtract("published", published_frame(), "mha.csv"))
    narrow = series_frame(sites=("hull",), months=6, start="2020-03-01", offset=7.0)
    narrow = narrow[narrow["period"] != pd.Timestamp("2020-05-01")]
    store.ingest(FrameExtract("series", narrow, "fix.csv"), replace_range=True)
    store.rollback(second.ingest_id, user="carol")
    store.record_event("login", "alice", "from the test")
    store.record_results(store.version(), "full", "aaot", 3, '{"records": []}')
    return store


def test_copy_moves_a_duckdb_store_exactly(tmp_path, pg_url, capsys):
    source = rich_duckdb_store(tmp_path / "duck")
    assert cli.main(["--data-dir", str(tmp_path / "duck"), "store", "copy", "--to", pg_url]) == 0
    assert "Checksum and history match" in capsys.readouterr().out
    target = Store(url=pg_url)
    assert target.checksum() == source.checksum()
    assert target.version() == source.version()
    pdt.assert_frame_equal(target.history(), source.history(), check_dtype=False)
    pdt.assert_frame_equal(target.audit_log(), source.audit_log(), check_dtype=False)
    pdt.assert_frame_equal(target.series(), source.series())
    pdt.assert_frame_equal(target.participants(), source.participants())
    pdt.assert_frame_equal(target.published(), source.published())
    assert target.recorded_results(source.version(), "full", "aaot", 3) == '{"records": []}'
    # Versions and removed rows came too: rolling back the correction restores the same rows on both.
    fix = int(source.history().query("file_name == 'fix.csv'")["ingest_id"].iloc[0])
    assert target.rollback(fix).summary() == source.rollback(fix).summary()
    assert target.checksum() == source.checksum()
    # The ingest counter continues where the source's stopped.
    assert target.ingest(series_extract(name="next.csv", offset=9.0)).ingest_id == len(source.history()) + 1


def test_copy_refuses_a_target_that_is_not_empty(tmp_path, pg_url, capsys):
    rich_duckdb_store(tmp_path / "duck")
    target = Store(url=pg_url)
    target.ingest(series_extract())
    before = snapshot(target)
    assert cli.main(["--data-dir", str(tmp_path / "duck"), "store", "copy", "--to", pg_url]) == 1
    err = capsys.readouterr().err
    assert "already holds a store (1 ingests" in err and "nothing was copied" in err
    assert_unchanged(target, before)
    assert cli.main(["--data-dir", str(tmp_path / "none"), "store", "copy", "--to", pg_url]) == 1
    assert "no store to copy" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_server_restarted_mid_ingest_leaves_nothing_half_written(tmp_path, pg_server, pg_url, monkeypatch, mode):
    store = Store(tmp_path, url=pg_url)
    store.ingest(FrameExtract("series", base_frame(), "base.csv", "base"))
    before = snapshot(store)
    reader = Store(tmp_path, url=pg_url)  # another process's store, holding idle connections across the restart
    rows_before = reader.series()
    paused, resume = threading.Event(), threading.Event()

    def pause():
        paused.set()
        assert resume.wait(120)

    monkeypatch.setattr("mhin_eval.store.base._pause_for_tests", pause)
    outcome = {}

    def ingest():
        big = pd.concat([base_frame(offset=2.0).assign(site=lambda f, n=n: f["site"] + f"-{n}") for n in range(20)],
                        ignore_index=True)
        try:
            outcome["result"] = store.ingest(FrameExtract("series", big, "big.csv", "big"))
        except BaseException as exc:  # noqa: BLE001 - the test asserts what it was
            outcome["error"] = exc

    writer = threading.Thread(target=ingest)
    writer.start()
    while not paused.wait(0.1):
        assert writer.is_alive(), f"the ingest ended before its pause point: {outcome}"
    pg_server.restart(mode)
    resume.set()
    writer.join(120)
    error = outcome.get("error")
    assert isinstance(error, StoreUnavailable), outcome
    assert "could not be written" in str(error) and "Nothing was half-written" in str(error)
    assert "MHIN_DATABASE_URL" in str(error)
    monkeypatch.undo()
    pdt.assert_frame_equal(reader.series(), rows_before)  # reconnects at once: no error after the restart
    assert_unchanged(store, before)
    after = store.ingest(FrameExtract("series", base_frame(offset=1.0), "after.csv", "after"))
    assert (after.ingest_id, after.rows_replaced) == (2, 240)


def test_killed_writer_leaves_nothing_and_never_blocks_readers(tmp_path, pg_url):
    """A writer process SIGKILLed inside its transaction: while it held the writer lock, readers saw the old
    rows at once and another writer waited (StoreBusy after its timeout); after it died, nothing of it stays
    and the lock is free."""
    store = Store(tmp_path, url=pg_url)
    store.ingest(FrameExtract("series", base_frame(), "base.csv", "base"))
    before, rows_before = snapshot(store), store.series()
    marker = tmp_path / "rows-written"
    child = spawn(tmp_path, 50, 500, 0.25, {PAUSE_HOOK_ENV: str(marker), "MHIN_DATABASE_URL": pg_url})
    try:
        wait_for(marker, child)
        pdt.assert_frame_equal(store.series(), rows_before)
        assert store.checksum() == before[0]
        store.write_timeout = 0.5
        with pytest.raises(StoreBusy, match="locked by another upload"):
            store.ingest(FrameExtract("series", base_frame(offset=3.0), "waits.csv", "waits"))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    store.write_timeout = 30
    assert_unchanged(store, before)
    result = store.ingest(FrameExtract("series", base_frame(offset=1.0), "after.csv", "after"))
    assert (result.ingest_id, result.rows_replaced) == (2, 240)


def test_a_character_postgresql_cannot_hold_is_refused_plainly(make_store, backend):
    store = make_store()
    store.ingest(series_extract())
    before = snapshot(store)
    frame = series_frame(sites=("hull",), months=2)
    frame["breakdown"] = "bad\x00value"
    extract = FrameExtract("series", frame, "nul.csv")
    if backend == "duckdb":
        assert store.ingest(extract).rows_added == 4  # DuckDB keeps it as it is
        return
    with pytest.raises(StoreError, match="nul.csv: a value cannot be kept by the PostgreSQL store.*Nothing was"):
        store.ingest(extract)
    assert_unchanged(store, before)
