"""PostgreSQL indexes for the joins an ingest and a rollback make (by row key and by ingest id), and one row
per key among the current rows. DuckDB scans its columns fast without them and its stores stay as they are."""

from __future__ import annotations

from mhin_eval.store.specs import KINDS
from mhin_eval.store.sql import Dialect

NAME = "indexes"


def apply(con, d: Dialect) -> None:
    if d.name != "postgres":
        return
    con.execute("CREATE UNIQUE INDEX IF NOT EXISTS ingests_id ON ingests (ingest_id)")
    con.execute("CREATE INDEX IF NOT EXISTS record_cache_project ON record_cache (project, view)")
    for kind in KINDS:
        con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {kind}_current_key ON {kind}_current (row_key)")
        con.execute(f"CREATE INDEX IF NOT EXISTS {kind}_current_ingest ON {kind}_current (ingest_id)")
        for table in (f"{kind}_versions", f"{kind}_removed"):
            con.execute(f"CREATE INDEX IF NOT EXISTS {table}_key ON {table} (row_key)")
            con.execute(f"CREATE INDEX IF NOT EXISTS {table}_ingest ON {table} (ingest_id)")
