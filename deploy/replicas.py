"""Several app replicas behind nginx on this machine: `python -m deploy.replicas up --replicas 2 --port 8080`.

Starts N processes of `python -m mhin_eval.ui.serve` (what `make run` serves) on consecutive ports, all on one
store, and nginx in front of them (deploy/mhin-eval.conf.template: websocket upgrade, sticky sessions by
cookie, failover to a live replica), each with its pid and log in a run directory. `up` stays in the
foreground until Ctrl-C or SIGTERM and then stops everything; `stop --run-dir DIR` stops a run started
elsewhere from its pid files.

The store is chosen by the environment, passed unchanged to every replica: ``MHIN_DATA_DIR`` (the embedded
DuckDB store, which several processes read at once; an ingest takes its file lock) or, once available,
``MHIN_DATABASE_URL`` (PostgreSQL). The store is seeded once (`python -m mhin_eval seed`, as `make run`
does) before the replicas start, so they never race to seed it. All replicas share one
``server.cookieSecret`` (``MHIN_COOKIE_SECRET``, else a random one per run) so that cookies one replica
signs are valid on the others.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("mhin-eval.conf.template")
NGINX = os.environ.get("MHIN_NGINX", shutil.which("nginx") or "/usr/sbin/nginx")
START_TIMEOUT_S = 240.0  # each replica renders every page once before it listens (serve.py's warm-up)

#: The main nginx.conf of a local run: everything in the run directory, the site config included.
MAIN_CONF = """# Written by deploy/replicas.py for a local run; on a server use the distribution's nginx.conf.
{user}worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    include {run}/mhin-eval.conf;
}}
"""


def streamlit_static_dir() -> Path:
    """The folder of Streamlit's front-end files (``/static/...``) in this environment, found without importing
    Streamlit."""
    spec = importlib.util.find_spec("streamlit")
    if spec is None or spec.origin is None:
        raise RuntimeError("Streamlit is not installed in this environment")
    return Path(spec.origin).parent / "static" / "static"


def render_site_config(listen: str, ports: list[int], host: str = "127.0.0.1", static_dir: Path | None = None) -> str:
    """deploy/mhin-eval.conf.template with nginx listening on ``listen``, one upstream server per port, and
    Streamlit's front-end files served from ``static_dir`` (default: this environment's)."""
    servers = "\n    ".join(f"server {host}:{port} max_fails=1 fail_timeout=10s;" for port in ports)
    return (TEMPLATE.read_text().replace("@LISTEN@", listen).replace("@UPSTREAM_SERVERS@", servers)
            .replace("@STREAMLIT_STATIC@", str(static_dir or streamlit_static_dir())))


def nginx_missing() -> str | None:
    """None when nginx is installed, else what to do about it."""
    if Path(NGINX).exists():
        return None
    return (f"nginx not found at {NGINX}: install it with `apt-get install nginx-light` "
            "(`make test` does, as root, via scripts/ensure-system-packages.sh) or set MHIN_NGINX.")


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports (tried from a random start, so parallel runs rarely meet)."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a live process and every live descendant (from /proc; 0 once gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        children.setdefault(int(fields[1]), []).append(child)  # fields[1] is the parent pid
        times[child] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def established_connections(port: int) -> int:
    """Open TCP connections to a local ``port`` (from /proc/net/tcp): a replica's live websockets, since nginx
    keeps no other connection to it open."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Replicas:
    """N app processes and nginx in front of them; ``url`` is nginx's. Use as a context manager or call
    :meth:`start` and :meth:`stop`."""

    def __init__(self, count: int, run_dir: Path | str, *, data_dir: Path | str | None = None, port: int | None = None,
                 base_port: int | None = None, host: str = "127.0.0.1", extra_env: dict | None = None,
                 seed: bool = True):
        self.count = count
        self.run_dir = Path(run_dir).resolve()
        self.host = host
        self.base_port = base_port or free_port_block(count, host)
        self.ports = [self.base_port + i for i in range(count)]
        self.port = port or free_port_block(1, host)
        while self.port in self.ports:  # nothing listens on the replicas' ports yet
            self.port = free_port_block(1, host)
        self.env = dict(os.environ, **(extra_env or {}))
        if data_dir is not None:
            self.env["MHIN_DATA_DIR"] = str(Path(data_dir).resolve())
        self.env.setdefault("MHIN_COOKIE_SECRET", secrets.token_hex(32))
        self.env["STREAMLIT_SERVER_COOKIE_SECRET"] = self.env["MHIN_COOKIE_SECRET"]
        self.seed = seed
        self.processes: list[subprocess.Popen | None] = []
        self.nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def replica_url(self, index: int) -> str:
        return f"http://{self.host}:{self.ports[index]}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p is not None and p.poll() is None]

    def connections(self) -> list[int]:
        """Open connections (live websockets) per replica, in replica order."""
        return [established_connections(port) for port in self.ports]

    def cpu_seconds(self) -> float:
        """CPU seconds so far of the live replicas (with their worker processes)."""
        return sum(process_cpu_seconds(pid) for pid in self.pids)

    def __enter__(self) -> Replicas:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        problem = nginx_missing()
        if problem:
            raise RuntimeError(problem)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        command = self._nginx_config()
        try:
            if self.seed:
                self._seed()
            for index, port in enumerate(self.ports):
                self.processes.append(self._start_replica(index, port))
            self.nginx = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _seed(self) -> None:
        done = subprocess.run([sys.executable, "-m", "mhin_eval", "seed"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"seeding the store failed:\n{done.stdout}{done.stderr}")

    def _start_replica(self, index: int, port: int) -> subprocess.Popen:
        with open(self.run_dir / f"replica-{index}.log", "wb") as log:  # the process keeps its own copy
            proc = subprocess.Popen(
                [sys.executable, "-m", "mhin_eval.ui.serve", "--server.port", str(port), "--server.address",
                 self.host, "--server.headless", "true"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.run_dir / f"replica-{index}.pid").write_text(f"{proc.pid}\n")
        return proc

    def _nginx_config(self) -> list[str]:
        """Write nginx's configuration into the run directory, check it, and return the command that runs it."""
        (self.run_dir / "nginx-tmp").mkdir(exist_ok=True)
        (self.run_dir / "mhin-eval.conf").write_text(
            render_site_config(f"{self.host}:{self.port}", self.ports, self.host))
        user = "user root;\n" if os.geteuid() == 0 else ""  # the workers write temp files in this run directory
        (self.run_dir / "nginx.conf").write_text(MAIN_CONF.format(run=self.run_dir, user=user))
        command = [NGINX, "-p", str(self.run_dir), "-c", str(self.run_dir / "nginx.conf"), "-e",
                   str(self.run_dir / "nginx-error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx rejected the configuration:\n{checked.stderr}")
        return command

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = set(range(self.count))
        while waiting:
            for index in sorted(waiting):
                proc = self.processes[index]
                if proc.poll() is not None:
                    log = (self.run_dir / f"replica-{index}.log").read_text(errors="replace")
                    raise RuntimeError(f"replica {index} exited early:\n{log[-4000:]}")
                if _healthy(self.replica_url(index)):
                    waiting.discard(index)
            if self.nginx.poll() is not None:
                raise RuntimeError("nginx exited: " + (self.run_dir / "nginx-error.log").read_text(errors="replace"))
            if time.monotonic() > deadline:
                raise RuntimeError(f"replicas {sorted(waiting)} not healthy within {START_TIMEOUT_S:.0f} s "
                                   f"(logs in {self.run_dir})")
            if waiting:
                time.sleep(0.3)
        while not _healthy(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx on {self.url} does not reach the replicas (logs in {self.run_dir})")
            time.sleep(0.2)

    def kill(self, index: int) -> None:
        """Kill replica ``index`` at once (SIGKILL to its process group), as a crash would."""
        proc = self.processes[index]
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Stop nginx and every replica: SIGTERM (nginx: SIGQUIT, a graceful stop), SIGKILL after 10 s."""
        group = [(self.nginx, signal.SIGQUIT)] + [(p, signal.SIGTERM) for p in self.processes]
        for proc, sig in group:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, sig)
        for proc, _ in group:
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for pid_file in self.run_dir.glob("replica-*.pid"):
            pid_file.unlink()


def stop_run(run_dir: Path) -> int:
    """Stop a run from its pid files (replicas, then nginx): for `up` started in another terminal."""
    stopped = 0
    for pid_file in sorted(run_dir.glob("replica-*.pid")) + [run_dir / "nginx.pid"]:
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGQUIT if pid_file.name == "nginx.pid" else signal.SIGTERM)
            stopped += 1
        except (OSError, ValueError):
            continue
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.replicas", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start N replicas and nginx; stop them all on Ctrl-C or SIGTERM")
    up.add_argument("--replicas", type=int, default=2)
    up.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    up.add_argument("--base-port", type=int, default=8501, help="the first replica's port (default 8501)")
    up.add_argument("--host", default="127.0.0.1", help="the address nginx and the replicas listen on")
    up.add_argument("--run-dir", type=Path, default=ROOT / "data" / "run", help="pids, logs, nginx config")
    up.add_argument("--data-dir", type=Path, default=None, help="the DuckDB store (default: MHIN_DATA_DIR or data/store)")
    stop = sub.add_parser("stop", help="stop the run recorded in --run-dir")
    stop.add_argument("--run-dir", type=Path, default=ROOT / "data" / "run")
    args = parser.parse_args(argv)
    if args.command == "stop":
        print(f"signalled {stop_run(args.run_dir)} process(es)")
        return 0
    replicas = Replicas(args.replicas, args.run_dir, data_dir=args.data_dir, port=args.port,
                        base_port=args.base_port, host=args.host)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with replicas:
        print(f"mhin-eval: {args.replicas} replica(s) on ports {replicas.ports[0]}-{replicas.ports[-1]} behind "
              f"nginx at {replicas.url} (logs in {replicas.run_dir}); Ctrl-C stops them", flush=True)
        try:
            while any(p.poll() is None for p in replicas.processes) and replicas.nginx.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
