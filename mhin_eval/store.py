"""The embedded store: one DuckDB file holding every ingested row version, the audit trail and the
current values that pages read.

Layout (one database file ``mhin.duckdb`` in the data directory):

- ``ingests``: one row per ingest (id, UTC time, user, file, sha256, kind, counts, demo flag,
  rollback time and user).
- ``<kind>_versions``: append-only; every row of every applied ingest, tagged with its ingest id.
  Nothing here is ever updated or deleted, so any earlier value can be recovered.
- ``<kind>_current``: the latest version per key among ingests that are not rolled back. It is
  derived from ``<kind>_versions`` inside the same transaction as each ingest or rollback and is
  what the readers query, which keeps reads fast.

Ingest and rollback each run in one DuckDB transaction, so a failure or a SIGKILL part-way leaves
the store exactly as it was. Connections are opened per operation and closed straight after (DuckDB
allows a single read-write process per file); writers are serialised by a file lock plus a thread
lock, readers share a lock, and a waiting writer stops new readers from starving it.

An ingest whose rows all equal the current values (for example the same file twice) is recorded in
the history as a no-op: it writes no row versions and changes no value. Re-ingesting an older file
after a newer one is an ordinary ingest: its values become current again.

An ingest of published statistics also writes the site series that the catalogue's
``[[published_measures]]`` map them onto (mhin_eval.published), in the same transaction and under the
same ingest id, so rolling the file back removes those series rows too.

Every reader takes an optional site scope (``sites``); an empty scope returns no rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd

from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.columns import is_categorical

DB_FILE = "mhin.duckdb"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "store"


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The store's folder: the one given, else ``MHIN_DATA_DIR``, else data/store."""
    return Path(data_dir or os.environ.get("MHIN_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
DEFAULT_DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_PUBLISHED_DIR = PROJECT_ROOT / "data" / "published"
SCHEMA_VERSION = 1
SEED_USERS = ("demo", "seed")
#: Dates come back in the frames' datetime resolution (as ``schema.DATETIME_DTYPE``).
DATETIME_DTYPE = "datetime64[ns]"
EXTRACT_SUFFIXES = (".csv", ".xlsx", ".parquet")

#: A writer's DuckDB settings: an ingest of millions of rows spills its staged rows to disk beyond this
#: memory instead of holding them all (DuckDB's default is 80% of the machine's memory).
WRITE_CONFIG = {"memory_limit": "192MB", "preserve_insertion_order": "false"}

#: Test hook only: when set to a file path, an ingest creates that file after writing its rows and
#: then sleeps inside the open transaction, so a test can SIGKILL the process deterministically.
PAUSE_HOOK_ENV = "MHIN_TEST_PAUSE_INGEST"


@dataclass(frozen=True)
class KindSpec:
    """Storage layout of one frame kind: ordered columns with DuckDB types, and the key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    value_label: str = "value"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def payload(self) -> tuple[str, ...]:
        return tuple(c for c in self.column_names if c not in self.key)

    def type_of(self, column: str) -> str:
        return dict(self.columns)[column]


KINDS: dict[str, KindSpec] = {
    "series": KindSpec(
        "series",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("indicator", "VARCHAR"),
            ("period", "DATE"),
            ("breakdown", "VARCHAR"),
            ("group", "VARCHAR"),
            ("value", "DOUBLE"),
            ("denominator", "DOUBLE"),
        ),
        ("project", "site", "indicator", "period", "breakdown", "group"),
    ),
    "participants": KindSpec(
        "participants",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("participant_id", "VARCHAR"),
            ("measure", "VARCHAR"),
            ("timepoint", "VARCHAR"),
            ("value", "DOUBLE"),
            ("date", "DATE"),
            ("delivery_mode", "VARCHAR"),
            ("ethnicity", "VARCHAR"),
            ("age_band", "VARCHAR"),
            ("sex", "VARCHAR"),
        ),
        ("project", "site", "participant_id", "measure", "timepoint"),
    ),
    "published": KindSpec(
        "published",
        (
            ("source", "VARCHAR"),
            ("period_start", "DATE"),
            ("period_end", "DATE"),
            ("period_type", "VARCHAR"),
            ("breakdown", "VARCHAR"),
            ("org_code", "VARCHAR"),
            ("org_name", "VARCHAR"),
            ("secondary_code", "VARCHAR"),
            ("secondary_name", "VARCHAR"),
            ("measure_id", "VARCHAR"),
            ("measure_name", "VARCHAR"),
            ("demographic", "VARCHAR"),
            ("group", "VARCHAR"),
            ("statistic", "VARCHAR"),
            ("value", "DOUBLE"),
            ("published_value", "VARCHAR"),
        ),
        (
            "source",
            "period_start",
            "period_end",
            "period_type",
            "breakdown",
            "org_code",
            "org_name",
            "secondary_code",
            "secondary_name",
            "measure_id",
            "measure_name",
            "demographic",
            "group",
            "statistic",
        ),
    ),
    "sustainability": KindSpec(
        "sustainability",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("instrument", "VARCHAR"),
            ("assessment_date", "DATE"),
            ("respondent", "VARCHAR"),
            ("item", "VARCHAR"),
            ("score", "DOUBLE"),
        ),
        ("project", "site", "instrument", "assessment_date", "respondent", "item"),
        value_label="score",
    ),
    "findings": KindSpec(
        "findings",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("date", "DATE"),
            ("kind", "VARCHAR"),
            ("domain", "VARCHAR"),
            ("summary", "VARCHAR"),
            ("source", "VARCHAR"),
            ("quote", "VARCHAR"),
        ),
        ("project", "site", "date", "kind", "domain", "summary"),
        value_label="summary",
    ),
}
#: Columns a frame of each kind must carry; the others are optional and stored as missing.
REQUIRED = {
    "series": ("project", "site", "indicator", "period", "value"),
    "participants": ("project", "site", "participant_id", "measure", "timepoint", "value"),
    "published": ("source", "period_start", "measure_id", "value"),
    "sustainability": ("project", "site", "instrument", "assessment_date", "respondent", "item", "score"),
    "findings": ("project", "site", "date", "kind", "domain", "summary", "source"),
}
#: Kinds whose rows belong to a site (history, freshness and site scope apply to them).
SITE_KINDS = ("series", "participants", "sustainability", "findings")
#: The column holding each site kind's date, for freshness.
DATE_COLUMNS = {"series": "period", "participants": "date", "sustainability": "assessment_date", "findings": "date"}
#: A correction (``ingest(..., replace_range=True)``) replaces, per scope, the rows between the first and
#: last date the file gives: (scope columns, date column) per kind.
REPLACE_RANGES = {
    "series": (("project", "site", "indicator"), "period"),
    "sustainability": (("project", "site", "instrument"), "assessment_date"),
    "findings": (("project", "site"), "date"),
}


#: DuckDB's file headers before the first block (three 4 KiB headers).
DB_HEADER_BYTES = 3 * 4096


class StoreError(RuntimeError):
    """Base class of store failures; the message says what happened and what to do."""


class IngestRefused(StoreError, ValueError):
    """The extract cannot be stored as it is (nothing was written)."""


class RollbackRefused(StoreError, ValueError):
    """The rollback cannot be done (unknown or already rolled-back ingest; nothing was written)."""


class StoreBusy(StoreError):
    """Another process held the store longer than the wait allowed; try again."""


class StoreUnavailable(StoreError):
    """The store's folder or database cannot be read or written (missing, read-only, disk full); the message
    names the folder, the reason and the fix. Nothing was changed: every write is one transaction."""


def _unavailable(data_dir: Path, exc: BaseException, writing: bool) -> StoreUnavailable:
    """The plain message of a storage fault, from the operating system's or DuckDB's own error."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    low = detail.lower()
    code = getattr(exc, "errno", None)
    where = f"The data store in {data_dir} could not be {'written' if writing else 'read'}"
    setting = "the --data-dir option or MHIN_DATA_DIR"
    if code == errno.ENOSPC or "no space left" in low or "disk full" in low:
        return StoreUnavailable(f"{where}: the disk is full ({detail}). Nothing was changed. Free space on that "
                                f"disk, or move the store elsewhere with {setting}, then try again.")
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or "permission denied" in low or "read-only" in low:
        return StoreUnavailable(f"{where}: the folder or its files may not be written by this user ({detail}). "
                                f"Nothing was changed. Give the user that runs the dashboard write access to "
                                f"{data_dir}, or point {setting} at a folder it can write.")
    if code == errno.ENOENT or "no such file" in low:
        return StoreUnavailable(f"{where}: a folder on the way does not exist ({detail}). Create it, or point "
                                f"{setting} at an existing folder.")
    return StoreUnavailable(f"{where}: {detail}. Nothing was changed. Check the folder and its disk, then try "
                            "again; the server log has the details.")


#: DuckDB errors of other kinds (transaction, fatal) that were caused by a file that could not be written.
_IO_WORDS = re.compile(r"no space left|disk full|could not write|permission denied|read-only file system", re.I)


@contextlib.contextmanager
def _storage_faults(data_dir: Path, writing: bool) -> Iterator[None]:
    """Operating-system and DuckDB input/output errors as a StoreUnavailable naming the folder and the fix."""
    try:
        yield
    except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
        raise _unavailable(data_dir, exc, writing) from exc
    except duckdb.Error as exc:  # e.g. a commit whose write-ahead log could not be written
        if not _IO_WORDS.search(str(exc)):
            raise
        raise _unavailable(data_dir, exc, writing) from exc


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did. ``no_op`` is True when every row already held its value."""

    ingest_id: int
    kind: str
    file_name: str
    sha256: str
    rows_added: int
    rows_replaced: int
    rows_unchanged: int
    demo: bool = False
    no_op: bool = False
    same_as: int | None = None
    rows_removed: int = 0
    series_mapped: int = 0

    @property
    def rows(self) -> int:
        return self.rows_added + self.rows_replaced + self.rows_unchanged

    def _mapped_text(self) -> str:
        if not self.series_mapped:
            return ""
        return f" {self.series_mapped:,} site-series rows mapped from published measures were added or updated."

    def summary(self) -> str:
        if self.no_op:
            earlier = f" (same content as ingest #{self.same_as})" if self.same_as else ""
            return (
                f"No change: all {self.rows:,} {self.kind} rows of {self.file_name} are already stored"
                f"{earlier}; recorded as no-op ingest #{self.ingest_id}."
            )
        removed = f", {self.rows_removed:,} removed (replaced range)" if self.rows_removed else ""
        return (
            f"Ingested {self.file_name} as #{self.ingest_id} ({self.kind}): {self.rows_added:,} rows added, "
            f"{self.rows_replaced:,} replaced, {self.rows_unchanged:,} unchanged{removed}."
        ) + self._mapped_text()


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did: values restored to an earlier version, rows removed, rows a later ingest keeps."""

    ingest_id: int
    kind: str
    rows_restored: int
    rows_removed: int
    rows_kept_newer: int
    series_mapped: int = 0

    def summary(self) -> str:
        mapped = (f" {self.series_mapped:,} site-series rows mapped from its published measures were undone too."
                  if self.series_mapped else "")
        return (
            f"Rolled back ingest #{self.ingest_id} ({self.kind}): {self.rows_restored:,} rows restored to "
            f"their earlier values, {self.rows_removed:,} rows removed, {self.rows_kept_newer:,} rows keep "
            f"the values of a later ingest."
        ) + mapped


# --------------------------------------------------------------------------- locking

_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(path, threading.Lock())


@contextlib.contextmanager
def _flock(path: Path, mode: int, timeout: float) -> Iterator[None]:
    """Hold an flock on ``path`` (its own open file description, so threads contend too).

    In a folder nobody may write, a shared (reading) lock is taken on the existing lock file opened for
    reading, or skipped when there is none: no writer can change such a store, so reading it stays possible."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if mode != fcntl.LOCK_SH or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        if not path.exists():
            yield
            return
        fd = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"The store at {path.parent} stayed locked by another upload for {timeout:.0f} s; "
                        "try again in a moment."
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- SQL helpers


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_expr(spec: KindSpec, alias: str) -> str:
    """A 128-bit hash of the key columns; NULL and '' hash differently."""
    parts = [f"coalesce(CAST({alias}.{_q(c)} AS VARCHAR), chr(0))" for c in spec.key]
    return "md5_number(" + " || chr(31) || ".join(parts) + ")"


def _row_text(spec: KindSpec, alias: str) -> str:
    parts = [f"coalesce(CAST({alias}.{_q(c)} AS VARCHAR), chr(0))" for c in spec.column_names]
    return f"'{spec.name}' || chr(30) || " + " || chr(31) || ".join(parts)


def _same_payload(spec: KindSpec, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{_q(c)} IS NOT DISTINCT FROM {right}.{_q(c)}" for c in spec.payload)


def _cols(spec: KindSpec, alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + _q(c) for c in spec.column_names)


def _in_list(values: Iterable[str]) -> tuple[str, list[str]]:
    values = [str(v) for v in values]
    return ", ".join("?" for _ in values), values


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Store:
    """The embedded DuckDB store of one data directory (``MHIN_DATA_DIR`` or ``data/store`` by default)."""

    read_timeout = 60.0
    write_timeout = 300.0

    def __init__(self, data_dir: Path | str | None = None, catalogue=None):
        self.data_dir = resolve_data_dir(data_dir)
        self.catalogue = catalogue
        with _storage_faults(self.data_dir, writing=True):
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        self._gate = self.data_dir / (DB_FILE + ".gate.lock")
        self._lockfile = self.data_dir / (DB_FILE + ".lock")
        self._thread_lock = _thread_lock(self.path)
        self._version_cache: tuple[tuple, int] | None = None
        if not self._initialised():
            with self._write() as con:
                self._create_schema(con)
        else:
            self._reclaim_space()

    def __repr__(self) -> str:
        return f"Store({str(self.data_dir)!r})"

    # ----------------------------------------------------------------------- connections

    @contextlib.contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection under a shared lock."""
        with contextlib.ExitStack() as held, _storage_faults(self.data_dir, writing=False):
            with _flock(self._gate, fcntl.LOCK_SH, self.read_timeout):
                held.enter_context(_flock(self._lockfile, fcntl.LOCK_SH, self.read_timeout))
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-write connection; the only writer in any thread or process."""
        if not self._thread_lock.acquire(timeout=self.write_timeout):
            raise StoreBusy(
                f"The store at {self.data_dir} is busy with another upload; try again in a moment."
            )
        try:
            with (
                _storage_faults(self.data_dir, writing=True),
                _flock(self._gate, fcntl.LOCK_EX, self.write_timeout),
                _flock(self._lockfile, fcntl.LOCK_EX, self.write_timeout),
            ):
                con = duckdb.connect(str(self.path), config=WRITE_CONFIG)
                try:
                    yield con
                finally:
                    con.close()
        finally:
            self._thread_lock.release()

    def _initialised(self) -> bool:
        """True when every table exists (a store made by an older version gains new tables on open)."""
        if not self.path.exists():
            return False
        wanted = {"meta", "ingests", "audit", "results_of_record"} | {
            f"{k}_{t}" for k in KINDS for t in ("versions", "current", "removed")}
        with self._read() as con:
            found = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            return wanted <= found

    def _reclaim_space(self) -> None:
        """Give back the space an interrupted ingest left in the database file.

        DuckDB writes a large ingest's blocks to the file before it commits; a process killed before the
        commit leaves them beyond the blocks the database uses, and the file stays that large until a later
        write happens to truncate it. At open, a file larger than its used blocks is trimmed by a write that
        changes no data and a checkpoint. A store that cannot be written (read-only folder) is left as it is."""
        with self._read() as con:
            block_size, total_blocks = con.execute(
                "SELECT block_size, total_blocks FROM pragma_database_size()").fetchone()
        if self.path.stat().st_size <= DB_HEADER_BYTES + (total_blocks + 1) * block_size:
            return
        try:
            with self._write() as con:
                con.execute("CREATE TABLE _reclaim (x INTEGER)")
                con.execute("DROP TABLE _reclaim")
                con.execute("CHECKPOINT")
        except StoreUnavailable:
            pass

    @staticmethod
    def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            """
            CREATE TABLE IF NOT EXISTS ingests (
                ingest_id INTEGER NOT NULL,
                time TIMESTAMP NOT NULL,
                "user" VARCHAR NOT NULL,
                file_name VARCHAR NOT NULL,
                sha256 VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                rows_added INTEGER NOT NULL,
                rows_replaced INTEGER NOT NULL,
                rows_unchanged INTEGER NOT NULL,
                demo BOOLEAN NOT NULL,
                no_op BOOLEAN NOT NULL,
                rolled_back_at TIMESTAMP,
                rolled_back_by VARCHAR
            )"""
        )
        for spec in KINDS.values():
            columns = ", ".join(f"{_q(c)} {t}" for c, t in spec.columns)
            for table in (f"{spec.name}_versions", f"{spec.name}_current"):
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (ingest_id INTEGER NOT NULL, "
                    f"row_key UHUGEINT NOT NULL, {columns})"
                )
            keys = ", ".join(f"{_q(c)} {spec.type_of(c)}" for c in spec.key)
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {spec.name}_removed (ingest_id INTEGER NOT NULL, "
                f"row_key UHUGEINT NOT NULL, {keys})"
            )
        con.execute(
            'CREATE TABLE IF NOT EXISTS audit (time TIMESTAMP NOT NULL, "user" VARCHAR NOT NULL, '
            "event VARCHAR NOT NULL, detail VARCHAR NOT NULL)"
        )
        con.execute("CREATE TABLE IF NOT EXISTS meta (name VARCHAR NOT NULL, value BIGINT NOT NULL)")
        con.execute(
            "CREATE TABLE IF NOT EXISTS results_of_record (version BIGINT NOT NULL, view VARCHAR NOT NULL, "
            "project VARCHAR NOT NULL, format INTEGER NOT NULL, records VARCHAR NOT NULL)"
        )
        con.execute(
            "INSERT INTO meta SELECT * FROM (VALUES ('version', 0), ('schema', ?)) v(name, value) "
            "WHERE NOT EXISTS (SELECT 1 FROM meta)",
            [SCHEMA_VERSION],
        )
        con.execute("COMMIT")

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

    def _stage(
        self, con: duckdb.DuckDBPyConnection, spec: KindSpec, frame: pd.DataFrame, file_name: str
    ) -> None:
        """Create temp table ``staged`` (typed rows with their key hash) and check keys are unique."""
        con.register("incoming", frame)
        casts = ", ".join(f"CAST(i.{_q(c)} AS {t}) AS {_q(c)}" for c, t in spec.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {_key_expr(spec, 's')} AS row_key, s.* "
                    f"FROM (SELECT {casts} FROM incoming i) s")
        con.unregister("incoming")
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
            JOIN (SELECT {cols}, min({_q(column)}) AS lo, max({_q(column)}) AS hi FROM staged GROUP BY ALL) r
              ON {join} AND c.{_q(column)} BETWEEN r.lo AND r.hi
            WHERE c.row_key NOT IN (SELECT row_key FROM staged)
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
            sql = f"SELECT {key}, change, {old}, {new} FROM ({self._diff_sql(spec)})"
            if replace_range:
                gone_old = ", ".join(f"{_q(p)} AS {_q('old_' + p)}" for p in spec.payload)
                gone_new = ", ".join(f"NULL AS {_q('new_' + p)}" for p in spec.payload)
                sql += f" UNION ALL BY NAME SELECT {key}, 'removed' AS change, {gone_old}, {gone_new} " \
                       f"FROM ({self._removed_sql(spec)})"
            out = con.execute(f"SELECT * FROM ({sql}) ORDER BY {key}").df()
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
            con.execute("BEGIN TRANSACTION")
            try:
                result = self._ingest_in_transaction(con, spec, frame, file_name, sha, user, demo, replace_range)
                if mapped is not None:
                    result = self._write_mapped(con, result, mapped)
                _pause_for_tests()
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        return result

    def _ingest_in_transaction(self, con, spec, frame, file_name, sha, user, demo, replace_range=False) -> IngestResult:
        self._stage(con, spec, frame, file_name)
        counts = dict(con.execute(f"SELECT change, count(*) FROM ({self._diff_sql(spec)}) GROUP BY change").fetchall())
        added, replaced, unchanged = (int(counts.get(k, 0)) for k in ("added", "replaced", "unchanged"))
        removed = 0
        if replace_range:
            con.execute(f"CREATE OR REPLACE TEMP TABLE gone AS {self._removed_sql(spec)}")
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
        changed = int(con.execute(f"SELECT count(*) FROM ({self._diff_sql(spec)}) WHERE change <> 'unchanged'")
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

    def rollback(self, ingest_id: int, *, user: str = "local") -> RollbackResult:
        """Undo one ingest: keys it added disappear, keys it replaced get their earlier values back
        exactly; keys a later (live) ingest wrote keep that later value."""
        ingest_id = int(ingest_id)
        with self._write() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                result = self._rollback_in_transaction(con, ingest_id, user)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
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
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE affected AS
            SELECT row_key FROM {table} WHERE ingest_id = ?
            UNION ALL
            SELECT row_key FROM {removed} WHERE ingest_id = ? AND row_key NOT IN (SELECT row_key FROM {table})""",
            [ingest_id, ingest_id],
        )
        touched = con.execute(
            f"SELECT (SELECT count(*) FROM {spec.name}_versions WHERE ingest_id = ?) "
            f"+ (SELECT count(*) FROM {removed} WHERE ingest_id = ?)", [ingest_id, ingest_id]
        ).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [ingest_id])
        cols = _cols(spec, "v")
        restored = con.execute(
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
        ).fetchone()[0]
        affected = con.execute("SELECT count(*) FROM affected").fetchone()[0]
        con.execute("DROP TABLE affected")
        return int(restored), int(affected - restored), int(touched - affected)

    # ----------------------------------------------------------------------- readers

    def _select(
        self, spec: KindSpec, filters: list[tuple[str, object]], order: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        """Current rows of one kind; each filter is (column, value or list of values); an empty list
        matches nothing (a user with no sites sees no rows)."""
        where, params = [], []
        for column, value in filters:
            if value is None:
                continue
            if isinstance(value, str):
                where.append(f"{_q(column)} = ?")
                params.append(value)
                continue
            values = list(value)
            if not values:
                where.append("FALSE")
                continue
            marks, vals = _in_list(values)
            where.append(f"{_q(column)} IN ({marks})")
            params.extend(vals)
        sql = f"SELECT {_cols(spec)} FROM {spec.name}_current"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY " + ", ".join(_q(c) for c in (order or spec.key))
        with self._read() as con:
            return _with_frame_dates(con.execute(sql, params).df())

    @staticmethod
    def _scope(sites: Iterable[str] | str | None):
        if sites is None or isinstance(sites, str):
            return sites
        return list(sites)

    def series(self, *, project=None, sites=None, indicator=None, breakdown=None) -> pd.DataFrame:
        """Current indicator-series rows, optionally for one project, some sites, one indicator or breakdown."""
        return self._select(
            KINDS["series"],
            [
                ("project", project),
                ("site", self._scope(sites)),
                ("indicator", indicator),
                ("breakdown", breakdown),
            ],
        )

    def series_sources(self, site: str, indicator: str) -> list[str]:
        """The file names of the live ingests that supplied a site's current rows of one indicator."""
        with self._read() as con:
            rows = con.execute(
                "SELECT DISTINCT i.file_name FROM series_current c JOIN ingests i USING (ingest_id) "
                "WHERE c.site = ? AND c.indicator = ? ORDER BY 1", [site, indicator]).fetchall()
        return [r[0] for r in rows if r[0]]

    def participants(self, *, project=None, sites=None, measure=None) -> pd.DataFrame:
        """Current participant-outcome rows, optionally for one project, some sites, one measure."""
        return self._select(
            KINDS["participants"], [("project", project), ("site", self._scope(sites)), ("measure", measure)]
        )

    def sustainability(self, *, project=None, sites=None, instrument=None) -> pd.DataFrame:
        """Current sustainability-assessment rows, optionally for one project, some sites, one instrument."""
        return self._select(
            KINDS["sustainability"],
            [("project", project), ("site", self._scope(sites)), ("instrument", instrument)],
        )

    def findings(self, *, project=None, sites=None, kind=None) -> pd.DataFrame:
        """Current implementation findings (facilitators and barriers), optionally for one project, some
        sites, one kind."""
        return self._select(
            KINDS["findings"], [("project", project), ("site", self._scope(sites)), ("kind", kind)]
        )

    def published(self, *, source=None, org_codes=None, measure_ids=None, breakdown=None) -> pd.DataFrame:
        """Current published-statistics rows, optionally for one source, some organisations and measures."""
        return self._select(
            KINDS["published"],
            [
                ("source", source),
                ("org_code", self._scope(org_codes)),
                ("measure_id", self._scope(measure_ids)),
                ("breakdown", breakdown),
            ],
        )

    def history(self, *, sites=None) -> pd.DataFrame:
        """Every ingest, oldest first, with its counts, the sites its rows touched and any rollback
        (times in UTC). With ``sites``, only ingests that wrote rows for those sites, and ``sites`` and
        ``rows_in_scope`` (row versions written for those sites) name nothing outside the scope."""
        scope = self._scope(sites)
        scope = [scope] if isinstance(scope, str) else scope
        in_scope, params = "TRUE", []
        if scope is not None:
            if not scope:
                in_scope = "FALSE"
            else:
                marks, params = _in_list(scope)
                in_scope = f"site IN ({marks})"
        versions = " UNION ALL ".join(f"SELECT ingest_id, site FROM {k}_versions" for k in SITE_KINDS)
        removals = " UNION ALL ".join(f"SELECT ingest_id, site FROM {k}_removed" for k in SITE_KINDS)
        sql = f"""
            WITH written AS (SELECT ingest_id, site FROM ({versions}) v WHERE {in_scope}),
            gone AS (
                SELECT ingest_id, count(*) AS rows_removed FROM ({removals}) r WHERE {in_scope} GROUP BY ingest_id
            ),
            sites AS (
                SELECT ingest_id, string_agg(DISTINCT site, ', ' ORDER BY site) AS sites, count(*) AS rows_in_scope
                FROM written GROUP BY ingest_id
            )
            SELECT i.ingest_id, i.time, i."user", i.file_name, i.sha256, i.kind, i.rows_added, i.rows_replaced,
                   i.rows_unchanged, i.demo, i.no_op, i.rolled_back_at, i.rolled_back_by, s.sites,
                   coalesce(s.rows_in_scope, 0) AS rows_in_scope, coalesce(g.rows_removed, 0) AS rows_removed
            FROM ingests i LEFT JOIN sites s USING (ingest_id) LEFT JOIN gone g USING (ingest_id)
            {"" if scope is None else "WHERE s.ingest_id IS NOT NULL"}
            ORDER BY i.ingest_id
        """
        with self._read() as con:
            out = con.execute(sql, params * 2).df()
        for column in ("time", "rolled_back_at"):
            out[column] = pd.to_datetime(out[column]).dt.tz_localize("UTC")
        return out

    def record_event(self, event: str, user: str, detail: str = "") -> None:
        """Append one line to the audit log (logins, uploads, refused uploads, rollbacks, downloads).

        Appending does not raise the data version: nothing a page shows changes."""
        with self._write() as con:
            con.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", [_utc_now(), user, event, detail])

    def audit_log(self, *, limit: int | None = None) -> pd.DataFrame:
        """The audit log, newest first (times in UTC)."""
        sql = 'SELECT time, "user", event, detail FROM audit ORDER BY time DESC'
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._read() as con:
            out = con.execute(sql).df()
        out["time"] = pd.to_datetime(out["time"]).dt.tz_localize("UTC")
        return out

    def _file_signature(self) -> tuple:
        """Size and modification time of the database file and its write-ahead log: any commit changes them."""
        signature = []
        for path in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                stat = path.stat()
                signature.append((stat.st_mtime_ns, stat.st_size))
            except FileNotFoundError:
                signature.append(None)
        return tuple(signature)

    def version(self) -> int:
        """A counter raised by every ingest and rollback: the cache key of anything read from the store.

        Pages ask for it on every read, so it is re-read from the database only when the database files
        changed since the last read (a commit by any process changes them); otherwise it costs one stat."""
        signature = self._file_signature()
        cached = self._version_cache
        if cached is not None and cached[0] == signature:
            return cached[1]
        with self._read() as con:
            value = int(con.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0])
        self._version_cache = (signature, value)
        return value

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
            con.execute("BEGIN TRANSACTION")
            current = int(con.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0])
            if current == version:
                con.execute("DELETE FROM results_of_record WHERE version <> ? OR (view = ? AND project = ?)",
                            [version, view, project])
                con.execute("INSERT INTO results_of_record VALUES (?, ?, ?, ?, ?)",
                            [version, view, project, record_format, records])
            con.execute("COMMIT")

    def checksum(self) -> str:
        """sha256 over every current row of every kind, independent of row order and of ingest ids."""
        parts = " UNION ALL ".join(
            f"SELECT md5({_row_text(spec, 't')}) AS h FROM {spec.name}_current t" for spec in KINDS.values()
        )
        with self._read() as con:
            return con.execute(
                f"SELECT sha256(coalesce(string_agg(h, ',' ORDER BY h), '')) FROM ({parts})"
            ).fetchone()[0]

    def coverage(self, *, project=None, sites=None) -> pd.DataFrame:
        """Rows per project, site, indicator, breakdown and month: the data-coverage heatmap."""
        where, params = [], []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        scope = self._scope(sites)
        if scope is not None:
            scope = [scope] if isinstance(scope, str) else scope
            if not scope:
                where.append("FALSE")
            else:
                marks, vals = _in_list(scope)
                where.append(f"site IN ({marks})")
                params.extend(vals)
        sql = "SELECT project, site, indicator, breakdown, period, count(*) AS n_rows FROM series_current"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY ALL ORDER BY project, site, indicator, breakdown, period"
        with self._read() as con:
            return _with_frame_dates(con.execute(sql, params).df())

    def freshness(self, *, sites=None) -> pd.DataFrame:
        """Per project, site and kind: rows and latest period held, when the newest ingest still shown
        landed and from which file. Published context has no site: it is listed per ``source``, and
        only when no site scope is given."""
        scope = self._scope(sites)
        scope = [scope] if isinstance(scope, str) else scope
        site_filter, params = "", []
        if scope is not None:
            if not scope:
                site_filter = "WHERE FALSE"
            else:
                marks, vals = _in_list(scope)
                site_filter = f"WHERE site IN ({marks})"
                params = vals * len(SITE_KINDS)
        site_held = " UNION ALL ".join(
            f"SELECT '{kind}' AS kind, project, site, NULL AS source, max({_q(DATE_COLUMNS[kind])}) AS latest_period, "
            f"max(ingest_id) AS last_ingest_id, count(*) AS n_rows FROM {kind}_current {site_filter} "
            "GROUP BY project, site"
            for kind in SITE_KINDS
        )
        published = (
            ""
            if scope is not None
            else """
            UNION ALL
            SELECT 'published', NULL, NULL, source, max(coalesce(period_end, period_start)), max(ingest_id),
                   count(*)
            FROM published_current GROUP BY source"""
        )
        sql = f"""
            WITH held AS (
                {site_held}
                {published}
            )
            SELECT h.project, h.site, h.kind, h.source, h.latest_period, h.n_rows, i.time AS last_ingest_time,
                   i.file_name AS last_file, i."user" AS last_user, i.demo
            FROM held h JOIN ingests i ON i.ingest_id = h.last_ingest_id
            ORDER BY h.kind = 'published', h.project, h.site, list_position({list(SITE_KINDS)}, h.kind), h.source
        """
        with self._read() as con:
            out = con.execute(sql, params).df()
        out["last_ingest_time"] = pd.to_datetime(out["last_ingest_time"]).dt.tz_localize("UTC")
        return _with_frame_dates(out)

    def has_demo_data(self) -> bool:
        """True while any current row comes from a demo ingest (pages then show the synthetic-data notice)."""
        parts = " UNION ALL ".join(f"SELECT ingest_id FROM {s}_current" for s in KINDS)
        with self._read() as con:
            return bool(
                con.execute(
                    f"SELECT EXISTS (SELECT 1 FROM ({parts}) c JOIN ingests i USING (ingest_id) WHERE i.demo)"
                ).fetchone()[0]
            )

    def has_real_published_series(self) -> bool:
        """True while any current series row was mapped from a published-statistics ingest that is not demo data
        (pages then say which of their numbers are real)."""
        with self._read() as con:
            return bool(con.execute(
                "SELECT EXISTS (SELECT 1 FROM series_current c JOIN ingests i USING (ingest_id) "
                "WHERE i.kind = 'published' AND NOT i.demo)"
            ).fetchone()[0])

    def is_empty(self) -> bool:
        """True when no current row of any kind is held."""
        parts = " UNION ALL ".join(f"SELECT 1 FROM {s}_current" for s in KINDS)
        with self._read() as con:
            return not con.execute(f"SELECT EXISTS ({parts})").fetchone()[0]

    def ingested_sha256s(self) -> set[str]:
        """sha256 of every file ever ingested (rolled back or not)."""
        with self._read() as con:
            return {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM ingests").fetchall()}


def _with_frame_dates(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        dtype = frame[column].dtype
        if dtype.kind == "M" and getattr(dtype, "tz", None) is None:
            frame[column] = frame[column].astype(DATETIME_DTYPE)
    return frame


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_HOOK_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(3600)


def _extract_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTRACT_SUFFIXES)


def seed(
    store: Store,
    *,
    demo_dir: Path | str = DEFAULT_DEMO_DIR,
    published_dir: Path | str = DEFAULT_PUBLISHED_DIR,
    results: bool = True,
    synth: bool = True,
) -> list[IngestResult]:
    """Fill a new store with the demo extracts (``demo=True``, user "demo"; written by
    ``mhin_eval.demo.write_demo`` when the folder is empty) and the shipped published statistics
    (user "seed"), then (with ``results``) compute the results of record, as after any ingest
    (mhin_eval.recompute; ``synth=False`` leaves the slower synthetic-control records to the caller). Does nothing once anyone else has ingested; a file whose sha256 was ever ingested
    is skipped, so it is idempotent and an interrupted seed resumes."""
    history = store.history()
    if (~history["user"].isin(SEED_USERS)).any():
        return []
    demo_dir, published_dir = Path(demo_dir), Path(published_dir)
    demo_files = _extract_files(demo_dir)
    if not demo_files and history.empty:
        from mhin_eval.demo import write_demo

        write_demo(demo_dir)
        demo_files = _extract_files(demo_dir)
    done = set(history["sha256"])
    ingested = []
    for files, user, demo in ((demo_files, "demo", True), (_extract_files(published_dir), "seed", False)):
        for path in files:
            from mhin_eval.loaders import load_extract

            extract = load_extract(path, catalogue=store.catalogue)
            if extract.sha256 in done:
                continue
            ingested.append(store.ingest(extract, user=user, demo=demo))
            done.add(extract.sha256)
    if ingested and results:
        from mhin_eval import recompute
        from mhin_eval.catalogue import load_catalogue

        recompute.refresh(store, store.catalogue or load_catalogue(), synth=synth)
    return ingested
