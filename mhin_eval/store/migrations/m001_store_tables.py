"""The store's tables: ingests, each kind's row versions, current rows and removed keys, the audit log, the
data version and the results of record (the layout mhin_eval.store's docstring describes)."""

from __future__ import annotations

from mhin_eval.store.specs import KINDS, SCHEMA_VERSION
from mhin_eval.store.sql import Dialect, _q

NAME = "store tables"


def apply(con, d: Dialect) -> None:
    text, key = d.type("VARCHAR"), d.row_key_type
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS ingests (
            ingest_id INTEGER NOT NULL,
            time TIMESTAMP NOT NULL,
            "user" {text} NOT NULL,
            file_name {text} NOT NULL,
            sha256 {text} NOT NULL,
            kind {text} NOT NULL,
            rows_added INTEGER NOT NULL,
            rows_replaced INTEGER NOT NULL,
            rows_unchanged INTEGER NOT NULL,
            demo BOOLEAN NOT NULL,
            no_op BOOLEAN NOT NULL,
            rolled_back_at TIMESTAMP,
            rolled_back_by {text}
        )""")
    for spec in KINDS.values():
        columns = ", ".join(f"{_q(c)} {d.type(t)}" for c, t in spec.columns)
        for table in (f"{spec.name}_versions", f"{spec.name}_current"):
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} (ingest_id INTEGER NOT NULL, "
                        f"row_key {key} NOT NULL, {columns})")
        keys = ", ".join(f"{_q(c)} {d.type(spec.type_of(c))}" for c in spec.key)
        con.execute(f"CREATE TABLE IF NOT EXISTS {spec.name}_removed (ingest_id INTEGER NOT NULL, "
                    f"row_key {key} NOT NULL, {keys})")
    con.execute(f'CREATE TABLE IF NOT EXISTS audit (time TIMESTAMP NOT NULL, "user" {text} NOT NULL, '
                f"event {text} NOT NULL, detail {text} NOT NULL)")
    con.execute(f"CREATE TABLE IF NOT EXISTS meta (name {text} NOT NULL, value BIGINT NOT NULL)")
    con.execute(f"CREATE TABLE IF NOT EXISTS results_of_record (version BIGINT NOT NULL, view {text} NOT NULL, "
                f"project {text} NOT NULL, format INTEGER NOT NULL, records {text} NOT NULL)")
    if not con.execute("SELECT count(*) FROM meta").fetchone()[0]:
        con.execute("INSERT INTO meta VALUES ('version', 0)")
        con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
