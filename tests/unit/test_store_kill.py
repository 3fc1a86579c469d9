"""A process killed with SIGKILL in the middle of an ingest leaves the store as it was and usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.store import PAUSE_HOOK_ENV, Store, StoreBusy

PYTHON = sys.executable

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

n_sites, n_months, offset = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
periods = pd.date_range("1950-01-01", periods=n_months, freq="MS")
frame = pd.DataFrame({
    "project": "pcref",
    "site": np.repeat([f"site-{i}" for i in range(n_sites)], n_months),
    "indicator": "detentions",
    "period": np.tile(periods, n_sites),
    "value": np.arange(n_sites * n_months, dtype=float) + offset,
    "denominator": 1e6, "breakdown": "all", "group": "all"})
print("ready", flush=True)
print(Store(sys.argv[1]).ingest(E("series", frame, "big.csv", "big")).summary(), flush=True)
"""


@dataclass
class FrameExtract:
    kind: str
    frame: pd.DataFrame
    file_name: str
    sha256: str


def base_frame(offset: float = 0.0) -> pd.DataFrame:
    periods = pd.date_range("1950-01-01", periods=120, freq="MS")
    return pd.DataFrame(
        {
            "project": "pcref",
            "site": np.repeat(["site-0", "site-1"], 120),
            "indicator": "detentions",
            "period": np.tile(periods, 2),
            "value": np.arange(240, dtype=float) * 0.5 + offset,
            "denominator": 1e6,
            "breakdown": "all",
            "group": "all",
        }
    )


def spawn(data_dir, n_sites, n_months, offset, extra_env=None) -> subprocess.Popen:
    env = {"PYTHONPATH": str(PROJECT_ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(extra_env or {})
    return subprocess.Popen(
        [PYTHON, "-c", CHILD, str(data_dir), str(n_sites), str(n_months), str(offset)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, child: subprocess.Popen, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert child.poll() is None, child.communicate()[1]
        assert time.monotonic() < deadline, "the ingest never reached its pause point"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def embedded_store_only(monkeypatch):
    """DuckDB only: these faults are of the database file and its locks (PostgreSQL's own are in
    test_store_postgres.py)."""
    monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)


@pytest.fixture
def seeded(tmp_path):
    store = Store(tmp_path / "store")
    store.ingest(FrameExtract("series", base_frame(), "base.csv", "base"))
    return store


def assert_as_before(store: Store, frame_before, checksum_before, history_before):
    pdt.assert_frame_equal(store.series(), frame_before)
    assert store.checksum() == checksum_before
    pdt.assert_frame_equal(store.history(), history_before)


def test_sigkill_inside_the_transaction_leaves_the_store_as_it_was(seeded, tmp_path):
    before = (seeded.series(), seeded.checksum(), seeded.history())
    size_before = seeded.path.stat().st_size
    marker = tmp_path / "rows-written"
    # 400 sites x 500 months = 200,000 rows that replace the 240 base rows and add the rest.
    child = spawn(seeded.data_dir, 400, 500, 0.25, {PAUSE_HOOK_ENV: str(marker)})
    wait_for(marker, child)
    seeded.read_timeout = 0.3
    with pytest.raises(StoreBusy, match="locked"):
        seeded.series()  # readers wait for the writer rather than see half an ingest
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    assert seeded.path.stat().st_size > 4 * size_before, "the paused ingest had not written its blocks yet"

    reopened = Store(seeded.data_dir)
    assert_as_before(reopened, *before)
    assert reopened.version() == 1
    # The blocks the killed ingest wrote are given back at the next open, not at the next write.
    assert seeded.path.stat().st_size <= size_before + 2**20

    result = reopened.ingest(FrameExtract("series", base_frame(offset=1.0), "after.csv", "after"))
    assert (result.ingest_id, result.rows_replaced) == (2, 240)
    reopened.rollback(result.ingest_id)
    assert reopened.checksum() == before[1]


def test_sigkill_at_any_moment_leaves_a_whole_state(seeded, tmp_path):
    """Without the hook: kill at spread-out moments of a real ingest; each time the store holds either
    the earlier data or the whole new ingest, and stays writable."""
    base_checksum = seeded.checksum()
    reference = Store(tmp_path / "reference")
    reference.ingest(FrameExtract("series", base_frame(), "base.csv", "base"))
    child = spawn(reference.data_dir, 300, 500, 0.75)
    assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    assert child.wait(timeout=300) == 0, child.communicate()[1]
    duration = time.monotonic() - started
    complete_checksum = reference.checksum()

    outcomes = []
    for delay in duration * np.array([0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.5]):
        child = spawn(seeded.data_dir, 300, 500, 0.75)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        store = Store(seeded.data_dir)
        checksum = store.checksum()
        assert checksum in (base_checksum, complete_checksum), f"half an ingest visible after {delay}s"
        outcomes.append(checksum == complete_checksum)
        if outcomes[-1]:
            last = int(store.history()["ingest_id"].max())
            store.rollback(last)
            assert store.checksum() == base_checksum
    assert not outcomes[0], "killed before it could start, the ingest must not have landed"
