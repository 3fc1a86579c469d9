"""A DuckDB store copied into an empty PostgreSQL database exactly: every ingest (same ids), row version,
current row, removed key, audit line, result of record and the data version counter. Row keys are recomputed
by PostgreSQL from the key columns (each backend hashes keys its own way); everything else is copied as is.

The copy is one transaction on the target, under its writer lock, while the source is held under a reading
lock; then the two stores' checksums and histories are compared."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mhin_eval.store.specs import DB_FILE, KINDS, StoreError, resolve_data_dir
from mhin_eval.store.sql import _q

#: DuckDB vectors (2,048 rows each) read and sent by COPY at a time: about 100,000 rows.
CHUNK_VECTORS = 50

PLAIN_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ingests": (("ingest_id", "INTEGER"), ("time", "TIMESTAMP"), ("user", "VARCHAR"), ("file_name", "VARCHAR"),
                ("sha256", "VARCHAR"), ("kind", "VARCHAR"), ("rows_added", "INTEGER"),
                ("rows_replaced", "INTEGER"), ("rows_unchanged", "INTEGER"), ("demo", "BOOLEAN"),
                ("no_op", "BOOLEAN"), ("rolled_back_at", "TIMESTAMP"), ("rolled_back_by", "VARCHAR")),
    "audit": (("time", "TIMESTAMP"), ("user", "VARCHAR"), ("event", "VARCHAR"), ("detail", "VARCHAR")),
    "results_of_record": (("version", "BIGINT"), ("view", "VARCHAR"), ("project", "VARCHAR"), ("format", "INTEGER"),
                          ("records", "VARCHAR")),
    "record_cache": (("project", "VARCHAR"), ("key", "VARCHAR"), ("view", "VARCHAR"), ("format", "INTEGER"),
                     ("record", "VARCHAR")),
}


@dataclass(frozen=True)
class CopyResult:
    """What a copy moved, and the checksum both stores now share."""

    target: str
    ingests: int
    row_versions: int
    audit_lines: int
    version: int
    checksum: str

    def summary(self) -> str:
        return (f"Copied the store into {self.target}: {self.ingests:,} ingests, {self.row_versions:,} row versions, "
                f"{self.audit_lines:,} audit lines; data version {self.version}. Checksum and history match the "
                f"source (checksum {self.checksum[:12]}).")


def _tables():
    """(table, columns, key spec or None) of everything a copy moves."""
    for table, columns in PLAIN_TABLES.items():
        yield table, columns, None
    for spec in KINDS.values():
        data = (("ingest_id", "INTEGER"), *spec.columns)
        yield f"{spec.name}_versions", data, spec
        yield f"{spec.name}_current", data, spec
        keys = (("ingest_id", "INTEGER"), *((c, spec.type_of(c)) for c in spec.key))
        yield f"{spec.name}_removed", keys, spec


def _chunks(src, table: str, columns) -> Iterator[pd.DataFrame]:
    names = ", ".join(_q(c) for c, _ in columns)
    result = src.raw.execute(f"SELECT {names} FROM {table}")
    while len(chunk := result.fetch_df_chunk(CHUNK_VECTORS)):
        yield chunk


def _target_holdings(dst) -> tuple[int, int, int]:
    ingests = dst.execute("SELECT count(*) FROM ingests").fetchone()[0]
    audit = dst.execute("SELECT count(*) FROM audit").fetchone()[0]
    version = dst.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0]
    return int(ingests), int(audit), int(version)


def copy_store(url: str, data_dir: Path | str | None = None) -> CopyResult:
    """Copy the DuckDB store of ``data_dir`` (default: MHIN_DATA_DIR, else data/store) into the empty PostgreSQL
    database at ``url``. Refuses (StoreError, nothing written) a target that already holds anything."""
    from mhin_eval.store.duckdb_backend import DuckDBStore
    from mhin_eval.store.postgres_backend import PostgresStore

    folder = resolve_data_dir(data_dir)
    if not (folder / DB_FILE).exists():
        raise StoreError(f"There is no store to copy in {folder} (no {DB_FILE}); give its folder with --data-dir.")
    source = DuckDBStore(folder)
    target = PostgresStore(url=url)
    key_of = target.dialect.key_expr
    with source._read() as src, target._write() as dst:
        dst.begin()
        try:
            ingests, audit, version = _target_holdings(dst)
            if ingests or audit or version:
                raise StoreError(
                    f"{target.location} already holds a store ({ingests:,} ingests, {audit:,} audit lines, data "
                    f"version {version}); nothing was copied. Copy only into an empty database: create one "
                    "(for example `createdb mhin`) and give its URL to --to.")
            versions = 0
            for table, columns, spec in _tables():
                names = ", ".join(_q(c) for c, _ in columns)
                for chunk in _chunks(src, table, columns):
                    dst.stage("copied", chunk, columns, key_of(spec, "s") if spec else None)
                    row_key = "row_key, " if spec else ""
                    moved = dst.count(f"INSERT INTO {table} ({row_key}{names}) SELECT {row_key}{names} FROM copied")
                    versions += moved if table.endswith("_versions") else 0
                    dst.execute("DROP TABLE copied")
            source_version = int(src.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0])
            dst.execute("UPDATE meta SET value = ? WHERE name = 'version'", [source_version])
            dst.commit()
        except BaseException:
            dst.rollback()
            raise
        audit_lines = int(src.execute("SELECT count(*) FROM audit").fetchone()[0])
    with target._write() as dst:
        dst.execute("ANALYZE")
    checksum = source.checksum()
    if target.checksum() != checksum or not _same_history(source.history(), target.history()):
        raise StoreError(f"The copy in {target.location} does not match the source in {folder} (checksum or "
                         "history differ); drop that database, and report this with the store's folder.")
    history = source.history()
    return CopyResult(target.location, len(history), versions, audit_lines, source_version, checksum)


def _same_history(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    except AssertionError:
        return False
    return True
