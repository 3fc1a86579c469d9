"""Shared test fixtures: paths to the shared reference and real-data folders, the catalogue."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue


def _shared_dir() -> Path:
    """The workspace's shared folder (reference datasets, real NHS files): ``MHIN_SHARED_DIR``, else the
    ``shared`` folder beside the checkout or beside any folder above it."""
    if os.environ.get("MHIN_SHARED_DIR"):
        return Path(os.environ["MHIN_SHARED_DIR"])
    for folder in PROJECT_ROOT.parents:
        if (folder / "shared" / "reference").is_dir():
            return folder / "shared"
    return PROJECT_ROOT.parent / "shared"


SHARED_DIR = _shared_dir()
REFERENCE_DIR = SHARED_DIR / "reference"
REAL_DATA_DIR = SHARED_DIR / "real-data"
ARTIFACTS_DIR = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    assert REFERENCE_DIR.is_dir(), f"reference datasets not found at {REFERENCE_DIR} (set MHIN_SHARED_DIR)"
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    assert REAL_DATA_DIR.is_dir(), f"real NHS files not found at {REAL_DATA_DIR} (set MHIN_SHARED_DIR)"
    return REAL_DATA_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture
def store(tmp_path, catalogue):
    """An empty embedded store in this test's own data directory."""
    from mhin_eval.store import Store

    return Store(tmp_path / "store", catalogue=catalogue)
