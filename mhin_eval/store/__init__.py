"""The store: one DuckDB file (the embedded default) or one PostgreSQL database, holding every ingested row
version, the audit trail and the current values that pages read.

Backend: ``MHIN_DATABASE_URL=postgresql://...`` (or ``Store(url=...)``) selects PostgreSQL (postgres_backend);
otherwise the store is the file ``mhin.duckdb`` in the data directory (duckdb_backend), which needs no server.
Both hold the same tables, written and read by the same SQL (base, readers; sql.py names what differs), and
their schema is brought up to date on open by versioned migrations (migrations/). ``python -m mhin_eval store
copy --to postgresql://...`` copies a DuckDB store into an empty PostgreSQL database exactly (copy.py).

Layout:

- ``ingests``: one row per ingest (id, UTC time, user, file, sha256, kind, counts, demo flag,
  rollback time and user).
- ``<kind>_versions``: append-only; every row of every applied ingest, tagged with its ingest id.
  Nothing here is ever updated or deleted, so any earlier value can be recovered.
- ``<kind>_current``: the latest version per key among ingests that are not rolled back. It is
  derived from ``<kind>_versions`` inside the same transaction as each ingest or rollback and is
  what the readers query, which keeps reads fast.

Ingest and rollback each run in one transaction, so a failure or a SIGKILL part-way leaves
the store exactly as it was; one writer at a time (DuckDB: a file lock; PostgreSQL: an advisory transaction
lock), and readers only ever see whole ingests.

An ingest whose rows all equal the current values (for example the same file twice) is recorded in
the history as a no-op: it writes no row versions and changes no value. Re-ingesting an older file
after a newer one is an ordinary ingest: its values become current again.

An ingest of published statistics also writes the site series that the catalogue's
``[[published_measures]]`` map them onto (mhin_eval.published), in the same transaction and under the
same ingest id, so rolling the file back removes those series rows too.

Every reader takes an optional site scope (``sites``); an empty scope returns no rows.
"""

from mhin_eval.store.base import Store, _pause_for_tests
from mhin_eval.store.seed import _extract_files, seed
from mhin_eval.store.specs import (
    DATABASE_URL_ENV,
    DATE_COLUMNS,
    DATETIME_DTYPE,
    DB_FILE,
    DEFAULT_DATA_DIR,
    DEFAULT_DEMO_DIR,
    DEFAULT_PUBLISHED_DIR,
    EXTRACT_SUFFIXES,
    KINDS,
    PAUSE_HOOK_ENV,
    REPLACE_RANGES,
    REQUIRED,
    SCHEMA_VERSION,
    SEED_USERS,
    SITE_KINDS,
    IngestRefused,
    IngestResult,
    KindSpec,
    RollbackRefused,
    RollbackResult,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    database_url,
    resolve_data_dir,
)

__all__ = [
    "DATABASE_URL_ENV", "DATE_COLUMNS", "DATETIME_DTYPE", "DB_FILE", "DEFAULT_DATA_DIR", "DEFAULT_DEMO_DIR",
    "DEFAULT_PUBLISHED_DIR", "EXTRACT_SUFFIXES", "KINDS", "PAUSE_HOOK_ENV", "REPLACE_RANGES", "REQUIRED",
    "SCHEMA_VERSION", "SEED_USERS", "SITE_KINDS", "IngestRefused", "IngestResult", "KindSpec", "RollbackRefused",
    "RollbackResult", "Store", "StoreBusy", "StoreError", "StoreUnavailable", "_extract_files", "_pause_for_tests",
    "database_url", "resolve_data_dir", "seed",
]
