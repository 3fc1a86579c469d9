"""Storage faults are plain messages that name the folder and the fix, and leave the store as it was.

Disk full and a read-only folder are real here where the tests run as root: a small tmpfs that fills up,
and a tmpfs remounted read-only (which binds root too, unlike chmod). Elsewhere, and for a folder that
cannot be made, the same faults are raised by the operating system or by a DuckDB connection that fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import duckdb
import pytest

from mhin_eval import cli
from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.store import Store, StoreUnavailable
from tests.unit.test_store_kill import FrameExtract, base_frame

SERIES = PROJECT_ROOT / "data" / "demo" / "series.csv"


def run_cli(*args, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "mhin_eval", "--data-dir", str(data_dir), *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(autouse=True)
def embedded_store_only(monkeypatch):
    """DuckDB only: these faults are of the database file and its locks (PostgreSQL's own are in
    test_store_postgres.py)."""
    monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)


@pytest.fixture
def tmpfs(tmp_path):
    """A 3 MB tmpfs, unmounted afterwards (skipped where mounting is not allowed)."""
    folder = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def small_store(folder) -> tuple[Store, tuple]:
    store = Store(folder / "store")
    store.ingest(FrameExtract("series", base_frame(), "base.csv", "base"))
    return store, (store.checksum(), store.version(), len(store.history()))


def as_before(folder, before) -> bool:
    store = Store(folder / "store")
    return (store.checksum(), store.version(), len(store.history())) == before


def test_disk_full_during_an_ingest(tmpfs):
    store, before = small_store(tmpfs)
    filler = tmpfs / "filler"
    free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
    filler.write_bytes(b"\0" * max(free - 64 * 1024, 0))
    done = run_cli("ingest", str(SERIES), data_dir=store.data_dir)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"The data store in {store.data_dir} could not be written: the disk is full" in done.stderr
    assert "Free space on that disk, or move the store elsewhere with the --data-dir option or MHIN_DATA_DIR" in done.stderr
    filler.unlink()
    assert as_before(tmpfs, before)


def test_a_read_only_folder_can_be_read_not_written(tmpfs):
    store, before = small_store(tmpfs)
    assert subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True).returncode == 0
    history = run_cli("history", data_dir=store.data_dir)
    assert history.returncode == 0, history.stderr
    assert "base.csv" in history.stdout
    done = run_cli("ingest", str(SERIES), data_dir=store.data_dir)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"The data store in {store.data_dir} could not be written: the folder or its files may not be written" \
        in done.stderr
    assert "Give the user that runs the dashboard write access" in done.stderr
    assert as_before(tmpfs, before)


def test_a_connection_that_fails_for_want_of_space(tmp_path, monkeypatch, capsys):
    store, before = small_store(tmp_path)
    real = duckdb.connect

    def failing(database, read_only=False, **kwargs):
        if not read_only:
            raise duckdb.IOException("Could not write file: No space left on device")
        return real(database, read_only=read_only, **kwargs)

    monkeypatch.setattr(duckdb, "connect", failing)
    assert cli.main(["--data-dir", str(store.data_dir), "ingest", str(SERIES)]) == 1
    err = capsys.readouterr().err
    assert "the disk is full (Could not write file: No space left on device)" in err and "Traceback" not in err
    assert cli.main(["--data-dir", str(store.data_dir), "history"]) == 0
    monkeypatch.setattr(duckdb, "connect", real)
    assert as_before(tmp_path, before)


def test_a_data_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match=f"The data store in {blocker / 'store'} could not be written"):
        Store(blocker / "store")
    assert cli.main(["--data-dir", str(blocker / "store"), "history"]) == 1
    err = capsys.readouterr().err
    assert f"error: The data store in {blocker / 'store'} could not be written" in err and "Traceback" not in err
