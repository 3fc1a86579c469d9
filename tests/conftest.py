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


#: The store's backends: every test taking ``store`` or ``make_store`` runs on each.
BACKENDS = ("duckdb", "postgres")


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL server for this test session (or xdist worker), stopped at the end. Fails, never
    skips, when it cannot start: the store must be tested on both backends."""
    from tests.pg import PostgresUnavailable, start_server

    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(backend, tmp_path, catalogue, request):
    """``make_store(name="store")``: a new Store object on this test's store called ``name`` (empty when first
    made) of this test's backend: a folder under tmp_path, or a database of its own on the test server."""
    from mhin_eval.store import Store

    urls: dict[str, str] = {}

    def make(name: str = "store", **kwargs):
        folder = tmp_path / name
        if backend == "duckdb":
            return Store(folder, catalogue=catalogue, **kwargs)
        if name not in urls:
            urls[name] = request.getfixturevalue("pg_server").create_database()
        return Store(folder, catalogue=catalogue, url=urls[name], **kwargs)

    return make


@pytest.fixture
def store(make_store, backend, monkeypatch):
    """An empty store of this test's backend. On PostgreSQL, MHIN_DATABASE_URL names its database for the rest
    of the test, so ``Store(store.data_dir)``, the CLI and child processes open the same store."""
    store = make_store("store")
    if backend == "postgres":
        monkeypatch.setenv("MHIN_DATABASE_URL", store.url)
    else:
        monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)
    return store


def prepared_store(request, folder: Path, catalogue=None):
    """For a module-scoped fixture parametrized over BACKENDS: a new empty store of ``request.param`` in
    ``folder`` (on PostgreSQL, a database of its own). Pass the returned store's ``(folder, url)`` to
    ``private_copy`` per test."""
    from mhin_eval.store import Store

    url = request.getfixturevalue("pg_server").create_database() if request.param == "postgres" else None
    return Store(folder, catalogue=catalogue, url=url)


def private_copy(prepared, tmp_path: Path, request, monkeypatch, catalogue=None):
    """A copy of a prepared store for one test (a copied folder, or a database made from it as a template); on
    PostgreSQL, MHIN_DATABASE_URL names the copy for the rest of the test."""
    import shutil

    from mhin_eval.store import Store

    folder, url = prepared
    if url is None:
        shutil.copytree(folder, tmp_path / "store")
        monkeypatch.delenv("MHIN_DATABASE_URL", raising=False)
        return Store(tmp_path / "store", catalogue=catalogue)
    copy = request.getfixturevalue("pg_server").copy_database(url)
    monkeypatch.setenv("MHIN_DATABASE_URL", copy)
    return Store(tmp_path / "store", catalogue=catalogue, url=copy)
