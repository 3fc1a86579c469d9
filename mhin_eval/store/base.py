"""The store's writes, the same SQL on both backends: all-or-nothing ingest, preview, exact rollback, the audit
log and the results of record. A backend (duckdb_backend, postgres_backend) supplies the connections, the
writer lock and the staging of a frame as a temporary table."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from mhin_eval.columns import is_categorical
from mhin_eval.store.readers import StoreReaders, _with_frame_dates
from mhin_eval.store.specs import (
    KINDS,
    PAUSE_HOOK_ENV,
    REPLACE_RANGES,
    REQUIRED,
    IngestRefused,
    IngestResult,
    KindSpec,
    RollbackRefused,
    RollbackResult,
    database_url,
)
from mhin_eval.store.sql import Dialect, _cols, _q, _same_payload, _utc_now


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_HOOK_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(3600)


class Store(StoreReaders):
    """The store: ``Store(data_dir)`` is the embedded DuckDB file of that folder (``MHIN_DATA_DIR`` or
    data/store by default); with ``url=`` or ``MHIN_DATABASE_URL`` set to ``postgresql://...`` it is that
    PostgreSQL database. Both give the same guarantees; see mhin_eval.store."""

    read_timeout = 60.0
    write_timeout = 300.0
    dialect: Dialect

    def __new__(cls, data_dir: Path | str | None = None, catalogue=None, *, url: str | None = None):
        if cls is Store:
            if database_url(url):
                from mhin_eval.store.postgres_backend import PostgresStore as cls
            else:
                from mhin_eval.store.duckdb_backend import DuckDBStore as cls
        return super().__new__(cls)

    # A backend provides: _read() and _write() (context managers of a connection with execute(sql, params)
    # returning fetchone/fetchall/df, count(sql, params) -> rows changed, begin/commit/rollback, and
    # stage(name, frame, columns, key_sql) creating a temporary table), version() and location.

    # ----------------------------------------------------------------------- ingest

    @staticmethod
    def _spec(kind: str) -> KindSpec:
        try:
            return KINDS[kind]
        except KeyError:
            raise IngestRefused(
                f"Unknown extract kind '{kind}'; expected one of {', '.join(KINDS)}."
            ) from None


    @staticmethod
    def _normalised(spec: KindSpec, frame: pd.DataFrame, file_name: str) -> pd.DataFrame:
        """The frame with exactly the stored columns (optional ones filled as missing)."""
        if frame is None or len(frame) == 0:
            raise IngestRefused(f"{file_name}: the extract has no rows; nothing was stored.")
        missing = [c for c in REQUIRED[spec.name] if c not in frame.columns]
        if missing:
            raise IngestRefused(
                f"{file_name}: {spec.name} extract lacks column(s) {', '.join(missing)}; nothing was stored."
            )
        out = pd.DataFrame(index=range(len(frame)))
        for column, sql_type in spec.columns:
            if column in frame.columns:
                values = frame[column].array if is_categorical(frame[column]) else frame[column].to_numpy()
                if sql_type == "DATE":
                    values = pd.to_datetime(frame[column]).to_numpy()
                out[column] = values
            elif column in ("breakdown", "group") and spec.name == "series":
                out[column] = "all"
            elif sql_type == "DOUBLE":
                out[column] = float("nan")
            elif sql_type == "DATE":
                out[column] = pd.NaT
            else:
                out[column] = pd.Series([None] * len(frame), dtype="object")
        return out


    def _stage(self, con, spec: KindSpec, frame: pd.DataFrame, file_name: str) -> None:
        """Create temp table ``staged`` (typed rows with their key hash) and check keys are unique."""
        try:
            con.stage("staged", frame, spec.columns, self.dialect.key_expr(spec, "s"))
        except IngestRefused as exc:
            raise IngestRefused(f"{file_name}: {exc}") from exc
        dupes = con.execute("SELECT count(*) - count(DISTINCT row_key) FROM staged").fetchone()[0]
        if dupes:
            raise IngestRefused(
                f"{file_name}: {dupes} row(s) repeat the key ({', '.join(spec.key)}) of an earlier row; "
                "keep one row per key. Nothing was stored."
            )

    def _diff_sql(self, spec: KindSpec) -> str:
        return f"""
            SELECT s.*, c.ingest_id AS old_ingest_id,
                   CASE WHEN c.row_key IS NULL THEN 'added'
                        WHEN {_same_payload(spec, "s", "c")} THEN 'unchanged'
                        ELSE 'replaced' END AS change,
                   {", ".join(f"c.{_q(p)} AS {_q('old_' + p)}" for p in spec.payload)}
            FROM staged s LEFT JOIN {spec.name}_current c USING (row_key)
        """

    @staticmethod
    def _range_spec(spec: KindSpec) -> tuple[tuple[str, ...], str]:
        try:
            return REPLACE_RANGES[spec.name]
        except KeyError:
            raise IngestRefused(
                f"Replacing a range applies to {', '.join(REPLACE_RANGES)} extracts, not {spec.name}; "
                "ingest the file without it."
            ) from None

    def _removed_sql(self, spec: KindSpec) -> str:
        """Current rows inside the ranges the staged rows cover (same scope columns, dates between the
        first and last the file gives for that scope) that the file does not give again."""
        scope, column = self._range_spec(spec)
        cols = ", ".join(_q(c) for c in scope)
        join = " AND ".join(f"c.{_q(c)} = r.{_q(c)}" for c in scope)
        return f"""
            SELECT c.* FROM {spec.name}_current c
            JOIN (SELECT {cols}, min({_q(column)}) AS lo, max({_q(column)}) AS hi FROM staged GROUP BY {cols}) r
              ON {join} AND c.{_q(column)} BETWEEN r.lo AND r.hi
            WHERE NOT EXISTS (SELECT 1 FROM staged s WHERE s.row_key = c.row_key)
        """

    def preview(self, extract, *, replace_range: bool = False) -> pd.DataFrame:
        """What ingesting ``extract`` would change, one row per extract row: its key, ``change``
        (added / replaced / unchanged) and old and new payload values (``old_value``, ``new_value``...).
        With ``replace_range``, stored rows the ingest would remove follow as ``change = "removed"``."""
        spec = self._spec(extract.kind)
        frame = self._normalised(spec, extract.frame, extract.file_name)
        with self._read() as con:
            self._stage(con, spec, frame, extract.file_name)
            key = ", ".join(_q(c) for c in spec.key)
            new = ", ".join(f"{_q(p)} AS {_q('new_' + p)}" for p in spec.payload)
            old = ", ".join(_q("old_" + p) for p in spec.payload)
            sql = f"SELECT {key}, change, {old}, {new} FROM ({self._diff_sql(spec)}) AS diff"
            if replace_range:
                gone_old = ", ".join(f"{_q(p)} AS {_q('old_' + p)}" for p in spec.payload)
                gone_new = ", ".join(f"CAST(NULL AS {self.dialect.type(spec.type_of(p))}) AS {_q('new_' + p)}"
                                     for p in spec.payload)
                sql += f" UNION ALL SELECT {key}, 'removed' AS change, {gone_old}, {gone_new} " \
                       f"FROM ({self._removed_sql(spec)}) AS gone"
            out = con.execute(f"SELECT * FROM ({sql}) AS preview ORDER BY {key}").df()
            con.execute("DROP TABLE staged")
        return _with_frame_dates(out)

    def ingest(self, extract, *, user: str = "local", demo: bool = False, replace_range: bool = False) -> IngestResult:
        """Store a validated extract in one transaction; a failure anywhere stores nothing.

        ``replace_range``: the file replaces, as a whole, each site's indicator (instrument, findings)
        over the months it covers: stored rows in that range the file does not give again are removed
        (kept in ``<kind>_removed`` so a rollback brings them back exactly).
        """
        spec = self._spec(extract.kind)
        if replace_range:
            self._range_spec(spec)
        file_name = str(extract.file_name or "unnamed extract")
        sha = str(extract.sha256 or "")
        frame = self._normalised(spec, extract.frame, file_name)
        mapped = self._mapped_series(spec, extract.frame, file_name)
        with self._write() as con:
            con.begin()
            try:
                result = self._ingest_in_transaction(con, spec, frame, file_name, sha, user, demo, replace_range)
                if mapped is not None:
                    result = self._write_mapped(con, result, mapped)
                _pause_for_tests()
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return result

    def _ingest_in_transaction(self, con, spec, frame, file_name, sha, user, demo, replace_range=False) -> IngestResult:
        self._stage(con, spec, frame, file_name)
        counts = dict(con.execute(f"SELECT change, count(*) FROM ({self._diff_sql(spec)}) AS diff GROUP BY change")
                      .fetchall())
        added, replaced, unchanged = (int(counts.get(k, 0)) for k in ("added", "replaced", "unchanged"))
        removed = 0
        if replace_range:
            con.execute("DROP TABLE IF EXISTS gone")
            con.execute(f"CREATE TEMP TABLE gone AS {self._removed_sql(spec)}")
            removed = int(con.execute("SELECT count(*) FROM gone").fetchone()[0])
        no_op = added == 0 and replaced == 0 and removed == 0
        same_as = None
        if sha:
            row = con.execute(
                "SELECT max(ingest_id) FROM ingests WHERE sha256 = ? AND kind = ? AND rolled_back_at IS NULL "
                "AND NOT no_op",
                [sha, spec.name],
            ).fetchone()
            same_as = row[0] if row and row[0] is not None else None
        ingest_id = con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0]
        con.execute(
            "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            [ingest_id, _utc_now(), user, file_name, sha, spec.name, added, replaced, unchanged, demo, no_op],
        )
        if not no_op:
            cols = _cols(spec)
            con.execute(
                f"INSERT INTO {spec.name}_versions SELECT ?, row_key, {cols} FROM staged", [ingest_id]
            )
            if replaced or unchanged:
                con.execute(f"DELETE FROM {spec.name}_current WHERE row_key IN (SELECT row_key FROM staged)")
            con.execute(f"INSERT INTO {spec.name}_current SELECT ?, row_key, {cols} FROM staged", [ingest_id])
        if removed:
            keys = ", ".join(_q(c) for c in spec.key)
            con.execute(f"INSERT INTO {spec.name}_removed SELECT ?, row_key, {keys} FROM gone", [ingest_id])
            con.execute(f"DELETE FROM {spec.name}_current WHERE row_key IN (SELECT row_key FROM gone)")
        if replace_range:
            con.execute("DROP TABLE gone")
        con.execute("DROP TABLE staged")
        con.execute("UPDATE meta SET value = value + 1 WHERE name = 'version'")
        return IngestResult(
            ingest_id=int(ingest_id),
            kind=spec.name,
            file_name=file_name,
            sha256=sha,
            rows_added=added,
            rows_replaced=replaced,
            rows_unchanged=unchanged,
            demo=demo,
            no_op=no_op,
            same_as=same_as if no_op else None,
            rows_removed=removed,
        )

    def _mapped_series(self, spec: KindSpec, frame: pd.DataFrame, file_name: str) -> pd.DataFrame | None:
        """Site series rows the catalogue's published-measure mappings make of a published extract, or None."""
        if spec.name != "published":
            return None
        from mhin_eval.catalogue import load_catalogue
        from mhin_eval.published import derived_series

        rows = derived_series(frame, self.catalogue or load_catalogue())
        return self._normalised(KINDS["series"], rows, file_name) if len(rows) else None

    def _write_mapped(self, con, result: IngestResult, frame: pd.DataFrame) -> IngestResult:
        """Store mapped series rows under the published ingest's id (all of them, when any is new or changed)."""
        spec = KINDS["series"]
        self._stage(con, spec, frame, result.file_name)
        changed = int(con.execute(f"SELECT count(*) FROM ({self._diff_sql(spec)}) AS diff WHERE change <> 'unchanged'")
                      .fetchone()[0])
        if changed:
            cols = _cols(spec)
            con.execute(f"INSERT INTO series_versions SELECT ?, row_key, {cols} FROM staged", [result.ingest_id])
            con.execute("DELETE FROM series_current WHERE row_key IN (SELECT row_key FROM staged)")
            con.execute(f"INSERT INTO series_current SELECT ?, row_key, {cols} FROM staged", [result.ingest_id])
        con.execute("DROP TABLE staged")
        if not changed:
            return result
        if result.no_op:
            con.execute("UPDATE ingests SET no_op = false WHERE ingest_id = ?", [result.ingest_id])
        return replace(result, no_op=False, same_as=None, series_mapped=changed)

    def ingest_file(self, path, *, user: str = "local", sheet=None, demo: bool = False) -> IngestResult:
        """Load and validate ``path`` (raises ``ValidationFailed`` listing every problem), then ingest it."""
        from mhin_eval.loaders import load_extract

        extract = load_extract(path, catalogue=self.catalogue, sheet=sheet)
        return self.ingest(extract, user=user, demo=demo)

    # ----------------------------------------------------------------------- rollback
    # ----------------------------------------------------------------------- rollback

    def rollback(self, ingest_id: int, *, user: str = "local") -> RollbackResult:
        """Undo one ingest: keys it added disappear, keys it replaced get their earlier values back
        exactly; keys a later (live) ingest wrote keep that later value."""
        ingest_id = int(ingest_id)
        with self._write() as con:
            con.begin()
            try:
                result = self._rollback_in_transaction(con, ingest_id, user)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return result

    def _rollback_in_transaction(self, con, ingest_id: int, user: str) -> RollbackResult:
        row = con.execute(
            "SELECT kind, rolled_back_at, rolled_back_by FROM ingests WHERE ingest_id = ?", [ingest_id]
        ).fetchone()
        if row is None:
            raise RollbackRefused(f"There is no ingest #{ingest_id}; `history` lists the ingests.")
        kind, rolled_back_at, rolled_back_by = row
        if rolled_back_at is not None:
            raise RollbackRefused(
                f"Ingest #{ingest_id} was already rolled back on {rolled_back_at:%Y-%m-%d %H:%M} UTC by "
                f"{rolled_back_by}."
            )
        spec = KINDS[kind]
        con.execute(
            "UPDATE ingests SET rolled_back_at = ?, rolled_back_by = ? WHERE ingest_id = ?",
            [_utc_now(), user, ingest_id],
        )
        restored, removed, kept_newer = self._rollback_rows(con, spec, ingest_id)
        mapped = 0
        if spec.name == "published":
            mapped_restored, mapped_removed, _ = self._rollback_rows(con, KINDS["series"], ingest_id)
            mapped = mapped_restored + mapped_removed
        con.execute("UPDATE meta SET value = value + 1 WHERE name = 'version'")
        return RollbackResult(
            ingest_id=ingest_id,
            kind=spec.name,
            rows_restored=restored,
            rows_removed=removed,
            rows_kept_newer=kept_newer,
            series_mapped=mapped,
        )

    @staticmethod
    def _rollback_rows(con, spec: KindSpec, ingest_id: int) -> tuple[int, int, int]:
        """Undo one ingest's rows of one kind: (rows restored, rows removed, rows a later ingest keeps)."""
        table, removed = f"{spec.name}_current", f"{spec.name}_removed"
        con.execute("DROP TABLE IF EXISTS affected")
        con.execute(
            f"""CREATE TEMP TABLE affected AS
            SELECT row_key FROM {table} WHERE ingest_id = ?
            UNION ALL
            SELECT r.row_key FROM {removed} r WHERE r.ingest_id = ?
              AND NOT EXISTS (SELECT 1 FROM {table} c WHERE c.row_key = r.row_key)""",
            [ingest_id, ingest_id],
        )
        touched = con.execute(
            f"SELECT (SELECT count(*) FROM {spec.name}_versions WHERE ingest_id = ?) "
            f"+ (SELECT count(*) FROM {removed} WHERE ingest_id = ?)", [ingest_id, ingest_id]
        ).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [ingest_id])
        cols = _cols(spec, "v")
        restored = con.count(
            f"""
            INSERT INTO {table}
            WITH events AS (
                SELECT ingest_id, row_key FROM {spec.name}_versions WHERE row_key IN (SELECT row_key FROM affected)
                UNION ALL
                SELECT ingest_id, row_key FROM {removed} WHERE row_key IN (SELECT row_key FROM affected)
            ),
            latest AS (
                SELECT e.row_key, max(e.ingest_id) AS ingest_id
                FROM events e JOIN ingests i ON i.ingest_id = e.ingest_id AND i.rolled_back_at IS NULL
                GROUP BY e.row_key
            )
            SELECT v.ingest_id, v.row_key, {cols}
            FROM {spec.name}_versions v JOIN latest l ON l.row_key = v.row_key AND l.ingest_id = v.ingest_id
            """
        )
        affected = con.execute("SELECT count(*) FROM affected").fetchone()[0]
        con.execute("DROP TABLE affected")
        return int(restored), int(affected - restored), int(touched - affected)

    # ----------------------------------------------------------------------- audit and results of record

    def record_event(self, event: str, user: str, detail: str = "") -> None:
        """Append one line to the audit log (logins, uploads, refused uploads, rollbacks, downloads).

        Appending does not raise the data version: nothing a page shows changes."""
        with self._write() as con:
            con.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", [_utc_now(), user, event, detail])

    def recorded_results(self, version: int, view: str, project: str, record_format: int) -> str | None:
        """The stored results of record (JSON) of a project for a data version and view, or None."""
        with self._read() as con:
            row = con.execute(
                "SELECT records FROM results_of_record WHERE version = ? AND view = ? AND project = ? AND format = ?",
                [version, view, project, record_format],
            ).fetchone()
        return None if row is None else row[0]

    def record_results(self, version: int, view: str, project: str, record_format: int, records: str) -> None:
        """Keep a project's results of record for a data version and view (mhin_eval.record); those of older
        versions go. Not an ingest: the data version does not change, and a newer version already stored
        (another process ingested meanwhile) is left alone."""
        with self._write() as con:
            con.begin()
            try:
                current = int(con.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0])
                if current == version:
                    con.execute("DELETE FROM results_of_record WHERE version <> ? OR (view = ? AND project = ?)",
                                [version, view, project])
                    con.execute("INSERT INTO results_of_record VALUES (?, ?, ?, ?, ?)",
                                [version, view, project, record_format, records])
                con.commit()
            except BaseException:
                con.rollback()
                raise
