"""Versioned schema migrations, run when a store opens: each step once, in order, recorded in
``schema_migrations`` (version, name, time applied) in the same transaction as the step itself.

A step is a module ``mNNN_<what>.py`` with ``NAME`` and ``apply(con, dialect)``. Steps use
``CREATE ... IF NOT EXISTS`` so a DuckDB store made before migrations existed (its tables already there, no
``schema_migrations``) is brought up to date without change to its data. Add a step; never edit an applied one.
"""

from __future__ import annotations

from types import ModuleType

from mhin_eval.store.migrations import m001_store_tables, m002_record_cache, m003_indexes
from mhin_eval.store.sql import Dialect, _utc_now

STEPS: tuple[tuple[int, ModuleType], ...] = ((1, m001_store_tables), (2, m002_record_cache), (3, m003_indexes))
LATEST = STEPS[-1][0]

CREATE_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
                "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")


def applied(con) -> set[int]:
    """Versions already applied (none when the table does not exist yet)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
                         ).fetchone()[0]
    if not exists:
        return set()
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con, dialect: Dialect) -> list[int]:
    """Apply every step not yet applied, in one transaction (the writer lock held); the versions applied."""
    con.begin()
    try:
        con.execute(CREATE_TABLE)
        done = applied(con)
        ran = []
        for version, step in STEPS:
            if version in done:
                continue
            step.apply(con, dialect)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, step.NAME, _utc_now()])
            ran.append(version)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return ran
