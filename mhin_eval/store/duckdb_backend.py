"""The embedded backend: one DuckDB file (``mhin.duckdb``) in the data directory, the default and what
``make run`` uses. Connections are opened per operation and closed straight after (DuckDB allows a single
read-write process per file); writers are serialised by a file lock plus a thread lock, readers share a lock,
and a waiting writer stops new readers from starving it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from mhin_eval.store import migrations
from mhin_eval.store.base import Store
from mhin_eval.store.specs import DB_FILE, StoreBusy, StoreUnavailable, resolve_data_dir
from mhin_eval.store.sql import DUCKDB, _q

#: A writer's DuckDB settings: an ingest of millions of rows spills its staged rows to disk beyond this
#: memory instead of holding them all (DuckDB's default is 80% of the machine's memory).
WRITE_CONFIG = {"memory_limit": "192MB", "preserve_insertion_order": "false"}
#: DuckDB's file headers before the first block (three 4 KiB headers).
DB_HEADER_BYTES = 3 * 4096

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




class DuckDBConnection:
    """A DuckDB connection as the shared store code uses it (other attributes pass through to DuckDB's)."""

    def __init__(self, raw: duckdb.DuckDBPyConnection):
        self.raw = raw

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def execute(self, sql: str, params=None):
        return self.raw.execute(sql) if params is None else self.raw.execute(sql, params)

    def count(self, sql: str, params=None) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it changed."""
        return int(self.execute(sql, params).fetchone()[0])

    def begin(self) -> None:
        self.raw.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.raw.execute("ROLLBACK")

    def stage(self, name: str, frame: pd.DataFrame, columns, key_sql: str | None = None) -> None:
        """Temp table ``name``: the frame's ``columns`` ((name, SQL type), ...) cast to their types, after the
        row key computed by ``key_sql`` over alias ``s`` when given."""
        self.raw.register("incoming", frame)
        casts = ", ".join(f"CAST(i.{_q(c)} AS {t}) AS {_q(c)}" for c, t in columns)
        key = f"{key_sql} AS row_key, " if key_sql else ""
        self.raw.execute(f"DROP TABLE IF EXISTS {name}")
        self.raw.execute(f"CREATE TEMP TABLE {name} AS SELECT {key}s.* FROM (SELECT {casts} FROM incoming i) s")
        self.raw.unregister("incoming")


class DuckDBStore(Store):
    """The embedded DuckDB store of one data directory (``MHIN_DATA_DIR`` or ``data/store`` by default)."""

    dialect = DUCKDB

    def __init__(self, data_dir: Path | str | None = None, catalogue=None, *, url: str | None = None):
        self.data_dir = resolve_data_dir(data_dir)
        self.catalogue = catalogue
        with _storage_faults(self.data_dir, writing=True):
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        self._gate = self.data_dir / (DB_FILE + ".gate.lock")
        self._lockfile = self.data_dir / (DB_FILE + ".lock")
        self._thread_lock = _thread_lock(self.path)
        self._version_cache: tuple[tuple, int] | None = None
        self._migrate()

    def __repr__(self) -> str:
        return f"Store({str(self.data_dir)!r})"

    @property
    def location(self) -> str:
        return str(self.data_dir)

    # ----------------------------------------------------------------------- connections

    @contextlib.contextmanager
    def _read(self) -> Iterator[DuckDBConnection]:
        """A short-lived read-only connection under a shared lock."""
        with contextlib.ExitStack() as held, _storage_faults(self.data_dir, writing=False):
            with _flock(self._gate, fcntl.LOCK_SH, self.read_timeout):
                held.enter_context(_flock(self._lockfile, fcntl.LOCK_SH, self.read_timeout))
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                yield DuckDBConnection(con)
            finally:
                con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[DuckDBConnection]:
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
                    yield DuckDBConnection(con)
                finally:
                    con.close()
        finally:
            self._thread_lock.release()

    def _migrate(self) -> None:
        """Create the file, or bring an existing store's schema up to date (a store made before migrations
        existed gains ``schema_migrations`` and any missing table). A store in a folder that cannot be written
        stays readable as it is."""
        if self.path.exists():
            with self._read() as con:
                done = migrations.applied(con)
                has_tables = bool(con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ingests'").fetchone()[0])
            if done >= {v for v, _ in migrations.STEPS}:
                self._reclaim_space()
                return
            try:
                with self._write() as con:
                    migrations.migrate(con, self.dialect)
            except StoreUnavailable:
                if not has_tables:
                    raise
            self._reclaim_space()
            return
        with self._write() as con:
            migrations.migrate(con, self.dialect)

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
