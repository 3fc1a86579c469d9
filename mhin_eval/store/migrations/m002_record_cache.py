"""Results of record kept per series key (mhin_eval.store_results), so a new data version refits only what
changed. Derived rows: never audited, never copied as history."""

from __future__ import annotations

from mhin_eval.store.sql import Dialect

NAME = "record cache"


def apply(con, d: Dialect) -> None:
    text = d.type("VARCHAR")
    con.execute(f"CREATE TABLE IF NOT EXISTS record_cache (project {text} NOT NULL, key {text} NOT NULL, "
                f"view {text} NOT NULL, format INTEGER NOT NULL, record {text} NOT NULL)")
