"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a fresh cluster in a temp
folder, a free port on 127.0.0.1 and its unix socket in that folder; one database per test.

When the binaries are missing or the server does not start, the caller fails (never skips): the store must be
tested on both backends. As root, ``initdb`` and ``postgres`` run as the ``postgres`` user (they refuse root).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The test server could not be started; the message says what to install or check."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found and shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin: "
            "install Debian's package with `apt-get install -y postgresql` (scripts/ensure-system-packages.sh "
            "does it for `make test`).")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One cluster: ``start()``, ``create_database()`` -> URL, ``restart(mode)``, ``stop()``."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="mhin-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and done.returncode != 0:
            raise PostgresUnavailable(
                f"The test PostgreSQL server failed: `{' '.join(argv)}` exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}\nLog: {self.root / 'server.log'}")
        return done

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\nsynchronous_commit = off\n"
                       "full_page_writes = off\nshared_buffers = 64MB\nmax_connections = 60\n")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-t", "60", *extra)

    def restart(self, mode: str = "fast") -> None:
        """Restart the server (``-m fast`` or ``immediate``), waiting until it accepts connections again."""
        self._pg_ctl("restart", "-m", mode)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database of this server; its URL."""
        import psycopg

        name = f"t{next(self._names)}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy_database(self, url: str) -> str:
        """A new database holding a copy of the one at ``url`` (CREATE DATABASE ... TEMPLATE); its URL. Other
        sessions on the source are ended first, as the copy requires."""
        import psycopg

        source = url.rsplit("/", 1)[1]
        copy = f"{source}_c{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [source])
            con.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
        return self.url(copy)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """A running throw-away server, or PostgresUnavailable with what to do."""
    server = PostgresServer()
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise
