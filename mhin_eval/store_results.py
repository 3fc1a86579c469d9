"""Results of record kept per series in the store, so that a new data version reuses every record whose rows
did not change (mhin_eval.recompute).

One row per (key, view): ``key`` is a hash of everything one site's record for one indicator depends on (its
rows and those of its comparison series, the catalogue entries and the analysis options), so a record found
under the same key is the record a refit would give. Kept apart from the ingest tables of
:class:`mhin_eval.store.Store`: these rows are derived, never audited, and can always be recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mhin_eval.store import Store

TABLE = "record_cache"  # made by the store's migration 2 (mhin_eval/store/migrations)


def cached_records(store: Store, project: str, view: str, record_format: int) -> dict[str, str]:
    """{key: record JSON} of a project's records kept for this view and record format."""
    with store._read() as con:
        rows = con.execute(f"SELECT key, record FROM {TABLE} WHERE project = ? AND view = ? AND format = ?",
                           [project, view, record_format]).fetchall()
    return dict(rows)


def keep_records(store: Store, project: str, view: str, record_format: int, records: dict[str, str],
                 current: Iterable[str]) -> None:
    """Add ``records`` ({key: JSON}) for a project and view, and drop its kept records whose key is not among
    ``current`` (the keys of the data as it now is), so the table holds one data version's worth per project."""
    keep = pd.DataFrame({"key": list(dict.fromkeys(current))}, dtype=object)
    new = pd.DataFrame(list(records.items()), columns=["key", "record"], dtype=object)
    with store._write() as con:
        con.begin()
        try:
            con.stage("keep_keys", keep, (("key", "VARCHAR"),))
            con.stage("new_records", new, (("key", "VARCHAR"), ("record", "VARCHAR")))
            con.execute(f"DELETE FROM {TABLE} WHERE project = ? AND view = ? AND (format <> ? OR key NOT IN "
                        "(SELECT key FROM keep_keys) OR key IN (SELECT key FROM new_records))",
                        [project, view, record_format])
            con.execute(f"INSERT INTO {TABLE} SELECT ?, key, ?, ?, record FROM new_records",
                        [project, view, record_format])
            con.execute("DROP TABLE keep_keys")
            con.execute("DROP TABLE new_records")
            con.commit()
        except BaseException:
            con.rollback()
            raise
