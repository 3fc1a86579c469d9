"""The PostgreSQL backend (``MHIN_DATABASE_URL=postgresql://...``): the same tables and SQL as the embedded
store, for several app processes on one shared database.

- Writers (ingest, rollback, results of record, migrations) run in one transaction each, after taking the
  store's writer lock, ``pg_advisory_xact_lock``: released by the commit or rollback, or when the connection
  dies, so a killed writer never leaves the store locked.
- Readers are single statements: PostgreSQL shows each a committed snapshot, never half an ingest, and they
  do not wait for a writer.
- Frames are loaded with COPY into a temporary table, then moved by set-based SQL.
- A short pool of idle connections per Store keeps ``version()`` (asked on every page) to one round trip.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from mhin_eval.store import migrations
from mhin_eval.store.base import Store
from mhin_eval.store.specs import (
    DATABASE_URL_ENV,
    IngestRefused,
    StoreBusy,
    StoreUnavailable,
    database_url,
    resolve_data_dir,
)
from mhin_eval.store.sql import POSTGRES, _q

#: The key of the store's writer lock (pg_advisory_xact_lock): "mhin" in ASCII.
WRITER_LOCK = 0x6D68696E
#: Idle connections kept per Store for reuse.
POOL_SIZE = 4
#: Every session reads and writes dates as ISO text and times in UTC (row keys hash a row's text form).
SESSION_SETTINGS = ("SET datestyle = 'ISO, YMD'", "SET timezone = 'UTC'")

_OID_DATES = {1082, 1114}
_OID_FLOATS = {700, 701, 1700}
_OID_INTS = {21: "int16", 23: "int32", 20: "int64"}
_OID_BOOL = 16


def _param(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


class _Result:
    """A finished statement's rows, read like DuckDB's: fetchone, fetchall, df."""

    def __init__(self, cursor: psycopg.Cursor):
        self.cursor = cursor

    def fetchone(self):
        return self.cursor.fetchone()

    def fetchall(self):
        return self.cursor.fetchall()

    def df(self) -> pd.DataFrame:
        """The rows as a frame with the dtypes DuckDB gives: dates as datetimes, NULL as NaN or NaT."""
        columns = [d.name for d in self.cursor.description]
        frame = pd.DataFrame.from_records(self.cursor.fetchall(), columns=columns, coerce_float=True)
        for d in self.cursor.description:
            column = frame[d.name]
            if d.type_code in _OID_DATES:
                frame[d.name] = pd.to_datetime(column)
            elif d.type_code in _OID_FLOATS:
                frame[d.name] = pd.to_numeric(column, errors="coerce").astype("float64")
            elif d.type_code in _OID_INTS:
                frame[d.name] = column.astype(_OID_INTS[d.type_code] if column.notna().all() else "float64")
            elif d.type_code == _OID_BOOL and column.notna().all():
                frame[d.name] = column.astype(bool)
        return frame


def _copy_values(frame: pd.DataFrame, columns) -> list[list]:
    """Each column as Python values for COPY: NaN and NaT as None, dates as ``datetime.date``."""
    out = []
    for column, sql_type in columns:
        values = frame[column]
        if sql_type == "DATE":
            values = pd.to_datetime(values)
            out.append([None if pd.isna(v) else v.date() for v in values])
            continue
        values = values.astype(object)
        out.append(values.where(values.notna(), None).tolist())
    return out


class PostgresConnection:
    """A psycopg connection (autocommit; transactions are explicit) as the shared store code uses it."""

    def __init__(self, raw: psycopg.Connection, lock_timeout: float, reconnect: Callable | None = None):
        self.raw = raw
        self.lock_timeout = lock_timeout
        self._reconnect = reconnect

    def execute(self, sql: str, params=None) -> _Result:
        """Run one statement (``?`` placeholders). The first statement on a pooled connection that the server
        dropped meanwhile (a restart) is sent again once on a new connection: it never reached the server."""
        reconnect, self._reconnect = self._reconnect, None
        try:
            return self._execute(sql, params)
        except psycopg.OperationalError:
            if reconnect is None or not self.raw.broken:
                raise
        self.raw.close()
        self.raw = reconnect()
        return self._execute(sql, params)

    def _execute(self, sql: str, params) -> _Result:
        cursor = self.raw.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), [_param(p) for p in params])
        return _Result(cursor)

    def count(self, sql: str, params=None) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it changed."""
        return self.execute(sql, params).cursor.rowcount

    def begin(self) -> None:
        """Start a transaction holding the store's writer lock (waiting at most the store's write timeout)."""
        self.execute("BEGIN")
        self.raw.execute(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK])
        self.raw.execute("SET LOCAL lock_timeout = 0")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.raw.execute("ROLLBACK")

    def stage(self, name: str, frame: pd.DataFrame, columns, key_sql: str | None = None) -> None:
        """Temp table ``name``: the frame's ``columns`` ((name, SQL type), ...) loaded by COPY, after the row
        key computed by ``key_sql`` over alias ``s`` when given."""
        typed = ", ".join(f"{_q(c)} {POSTGRES.type(t)}" for c, t in columns)
        names = ", ".join(_q(c) for c, _ in columns)
        target = "incoming" if key_sql else name
        self.execute(f"DROP TABLE IF EXISTS {target}")
        self.raw.execute(f"CREATE TEMP TABLE {target} ({typed})")
        try:
            with self.raw.cursor().copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in zip(*_copy_values(frame, columns), strict=True):
                    copy.write_row(row)
        except psycopg.DataError as exc:  # e.g. a NUL character, which PostgreSQL text cannot hold
            raise IngestRefused(f"a value cannot be kept by the PostgreSQL store ({str(exc).strip()}); remove that "
                                "character from the file and try again. Nothing was stored.") from exc
        if key_sql:
            self.raw.execute(f"DROP TABLE IF EXISTS {name}")
            self.raw.execute(f"CREATE TEMP TABLE {name} AS SELECT {key_sql} AS row_key, s.* FROM incoming s")
            self.raw.execute("DROP TABLE incoming")
        self.raw.execute(f"ANALYZE {name}")


class PostgresStore(Store):
    """The store in a PostgreSQL database; ``data_dir`` still names the folder of files kept beside it."""

    dialect = POSTGRES

    def __init__(self, data_dir: Path | str | None = None, catalogue=None, *, url: str | None = None):
        self.url = database_url(url)
        self.data_dir = resolve_data_dir(data_dir)
        self.catalogue = catalogue
        self._idle: list[psycopg.Connection] = []
        self._idle_lock = threading.Lock()
        with self._read() as con:
            pending = {v for v, _ in migrations.STEPS} - migrations.applied(con)
        if pending:
            with self._write() as con:
                migrations.migrate(con, self.dialect)

    @property
    def location(self) -> str:
        info = conninfo_to_dict(self.url)
        return (f"the PostgreSQL database {info.get('dbname', '?')} on {info.get('host', 'localhost')}:"
                f"{info.get('port', 5432)}")

    def __repr__(self) -> str:
        return f"Store(url={self.location!r})"

    # ----------------------------------------------------------------------- connections

    def _connect(self) -> psycopg.Connection:
        raw = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        for setting in SESSION_SETTINGS:
            raw.execute(setting)
        return raw

    def _checkout(self) -> tuple[psycopg.Connection, bool]:
        """A connection, and whether it was reused from the pool."""
        with self._idle_lock:
            while self._idle:
                raw = self._idle.pop()
                if not raw.closed:
                    return raw, True
        return self._connect(), False

    def _checkin(self, raw: psycopg.Connection) -> None:
        usable = not raw.closed and not raw.broken and \
            raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._idle_lock:
            if usable and len(self._idle) < POOL_SIZE:
                self._idle.append(raw)
                return
        raw.close()

    def _drop_idle(self) -> None:
        """Close every idle connection (after the server went away they are all dead)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()

    @contextlib.contextmanager
    def _connection(self, writing: bool) -> Iterator[PostgresConnection]:
        try:
            raw, reused = self._checkout()
        except psycopg.OperationalError as exc:
            self._drop_idle()
            raise self._unavailable(exc, writing) from exc
        con = PostgresConnection(raw, self.write_timeout, self._reconnect_after_restart if reused else None)
        try:
            yield con
        except pg_errors.LockNotAvailable as exc:
            raise StoreBusy(f"The store in {self.location} stayed locked by another upload for "
                            f"{self.write_timeout:.0f} s; try again in a moment.") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._drop_idle()
            raise self._unavailable(exc, writing) from exc
        finally:
            self._checkin(con.raw)

    def _reconnect_after_restart(self) -> psycopg.Connection:
        self._drop_idle()
        return self._connect()

    def _read(self):
        return self._connection(writing=False)

    def _write(self):
        return self._connection(writing=True)

    def _unavailable(self, exc: BaseException, writing: bool) -> StoreUnavailable:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"The data store in {self.location} could not be {'written' if writing else 'read'}"
        if isinstance(exc, pg_errors.DiskFull):
            fix = "Free space on the database server's disk, then try again."
        else:
            fix = (f"Check that the database server is running and reachable at the address in {DATABASE_URL_ENV}, "
                   "then look at the history and try again.")
        return StoreUnavailable(f"{where}: {detail}. Nothing was half-written: each write is one transaction. {fix}")

    def version(self) -> int:
        """A counter raised by every ingest and rollback: the cache key of anything read from the store. Read
        from the database each time (one indexed row), so every app process sharing it agrees at once."""
        with self._read() as con:
            return int(con.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()[0])


