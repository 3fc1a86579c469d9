"""A room opening the dashboard at once, without browsers: simulated viewers replay Streamlit's websocket protocol.

Each viewer does what the browser does when a link is opened: GET the page (nginx's route cookie), GET
``/_stcore/health`` (Streamlit's XSRF cookie) and ``/_stcore/host-config``, open ``/_stcore/stream`` with
those cookies and the XSRF token (Streamlit's subprotocol header), send the ``rerun_script`` BackMsg of the page (query string, page name,
no widget states; Streamlit's own protobufs) and read ForwardMsgs until ``script_finished``. The time is from
the first GET to the finished script. An error is anything a viewer would see as one: an HTTP error, a socket
that dies for good, an ``Exception`` element or an error alert, a compile error, "page not found".
With ``--assets`` a viewer also fetches, gzipped, the scripts and styles index.html names (a browser with a cold
cache does; the chunks it loads later, such as plotly's, are not fetched).

Viewers arrive uniformly at random within ``--arrival-seconds`` (seeded), for each of ``--viewers``, against
``--url`` or against ``--replicas`` started here behind nginx (deploy/replicas.py) on a copy of the demo store.
Server CPU per view is the replica processes' user+system CPU time (/proc, with their worker processes) over
the run divided by the views that finished; ``--url`` runs report it only with ``--pids``. Before measuring,
each replica serves every page once (not timed), so the figures are those of warm servers.

``--kill-one`` kills one replica (SIGKILL) halfway through the arrivals, as soon as it holds a viewer's socket
(within the rest of the arrivals). Viewers then keep their page's socket open until the arrivals end, as a room
keeps the dashboard open; a viewer whose socket dies polls ``/_stcore/health`` until it answers (nginx sends it
to a live replica), as Streamlit's front end does, reopens the socket with its session id and runs the page
again (the front end reruns a page that was running; an idle one reruns on its next click). The table counts
the viewers that reconnected and those that then failed; their second runs count in the CPU per view.

The store is the environment's, as for the app: with ``MHIN_DATABASE_URL=postgresql://...`` every replica
shares that PostgreSQL database (seeded with the demo data when empty); otherwise they share a copy of a
DuckDB store.

Figures only; tests/browser/test_replicas.py asserts behaviour (every viewer finishes, no errors).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus  # noqa: E402

from deploy.replicas import Replicas, process_cpu_seconds  # noqa: E402

DEFAULT_PAGES = ("home", "overview", "project", "site")
XSRF_COOKIE = "_streamlit_xsrf"
MAX_RECONNECTS = 5
RECONNECT_GIVE_UP_S = 60.0


@dataclass
class View:
    """One viewer's outcome."""

    page: str
    seconds: float | None = None
    error: str | None = None
    reconnects: int = 0
    received: int = 0  # bytes of ForwardMsgs, a check that the page was drawn
    started: float = 0.0
    arrival: float = 0.0  # seconds after the room opened


@dataclass
class Run:
    replicas: int | None
    viewers: int
    views: list[View]
    cpu_seconds: float | None
    client_cpu_seconds: float
    killed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def finished(self) -> list[float]:
        return sorted(v.seconds for v in self.views if v.seconds is not None and v.error is None)

    @property
    def errors(self) -> int:
        return sum(v.error is not None for v in self.views)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (Hyndman & Fan 1996, type 7)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def http_get(url: str, cookies: dict[str, str], timeout: float, encoding: str = "identity") -> tuple[int, bytes]:
    """GET ``url`` with ``cookies`` (HTTP/1.1, connection closed after), keeping the cookies the response sets;
    ``encoding`` is the Accept-Encoding (browsers ask for gzip: the server then compresses)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80), timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
                f"Accept-Encoding: {encoding}"]
        if cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    header_blob, _, body = data.partition(b"\r\n\r\n")
    lines = header_blob.decode("latin-1").split("\r\n")
    if not lines or len(lines[0].split()) < 2:
        raise ConnectionError(f"no HTTP response from {url}")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "set-cookie":
            key, _, rest = value.strip().partition("=")
            cookies[key] = rest.split(";", 1)[0]
    return int(lines[0].split()[1]), body


def rerun_message(page: str, query: str) -> bytes:
    """The BackMsg the front end sends when a page is opened: no page hash yet, the page's url path, no widgets."""
    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    msg.rerun_script.widget_states.SetInParent()
    msg.rerun_script.context_info.timezone = "Europe/London"
    msg.rerun_script.context_info.locale = "en-GB"
    return msg.SerializeToString()


def forward_error(msg: ForwardMsg) -> str | None:
    """What a viewer would see as an error in this ForwardMsg, or None."""
    kind = msg.WhichOneof("type")
    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
        element = msg.delta.new_element
        if element.WhichOneof("type") == "exception":
            return f"exception: {element.exception.type}: {element.exception.message[:200]}"
        if element.WhichOneof("type") == "alert" and element.alert.format == Alert.ERROR:
            return f"error alert: {element.alert.body[:200]}"
    if kind == "page_not_found":
        return f"page not found: {msg.page_not_found.page_name}"
    if kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
        return "script compilation exception"
    if kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
        return "script finished with a compile error"
    return None


async def run_page(ws_url: str, origin: str, cookies: dict[str, str], page: str, query: str,
                   session: dict, result: View, hold: asyncio.Event | None = None) -> str | None:
    """Open the socket, rerun the page and read until the script has finished; return an error or None.
    ``session`` keeps the session id across reconnections (the front end offers it back). With ``hold``, the
    socket then stays open, as a browser's does, until ``hold`` is set; if it dies first, ConnectionError."""
    protocols = ["streamlit", cookies.get(XSRF_COOKIE, "")]
    if session.get("id"):
        protocols.append(session["id"])
    headers = {"Origin": origin, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    async with connect(ws_url, subprotocols=protocols, additional_headers=headers, max_size=None,
                       open_timeout=30, ping_interval=None) as ws:
        await ws.send(rerun_message(page, query))
        error = None
        async for data in ws:
            result.received += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                session["id"] = msg.new_session.initialize.session_id
            error = error or forward_error(msg)
            if kind == "script_finished" and msg.script_finished in (
                    ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
                if result.seconds is None:
                    result.seconds = time.perf_counter() - result.started
                if hold is not None and error is None:
                    await _held_open(ws, hold)
                return error
        raise ConnectionError("socket closed before the script finished")


async def _held_open(ws, hold: asyncio.Event) -> None:
    """Keep ``ws`` open until ``hold`` is set; ConnectionError when the server side dies first."""
    closed, released = asyncio.ensure_future(ws.wait_closed()), asyncio.ensure_future(hold.wait())
    await asyncio.wait({closed, released}, return_when=asyncio.FIRST_COMPLETED)
    for waiting in (closed, released):
        waiting.cancel()
    if not hold.is_set():
        raise ConnectionError("socket closed while the page was open")


async def wait_for_health(base: str, cookies: dict[str, str], timeout: float) -> None:
    """Poll /_stcore/health as the front end does after a lost connection (backing off to 1 s)."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            status, _ = await http_get(base + "/_stcore/health", cookies, 5)
            if status == 200:
                return
        except OSError:  # refused, reset, timed out
            pass
        if time.monotonic() > deadline:
            raise ConnectionError(f"server not healthy again within {timeout:.0f} s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


def split_page(spec: str) -> tuple[str, str]:
    """``project?project=ABC`` -> ("project", "project=ABC"); ``home`` and ``""`` -> the default page."""
    page, _, query = spec.partition("?")
    return ("" if page == "home" else page), query


async def view(base: str, spec: str, assets: bool, timeout: float, hold: asyncio.Event | None = None) -> View:
    """One viewer opening ``spec`` on ``base`` (keeping it open until ``hold`` is set, when given). A socket that
    dies is reopened and the page run again, as Streamlit's front end does when it dies mid-run; the time is
    that of the first finished run."""
    page, query = split_page(spec)
    result = View(spec)
    cookies: dict[str, str] = {}
    session: dict = {}
    parts = urlsplit(base)
    ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{parts.path}/_stcore/stream"
    result.started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            status, body = await http_get(f"{base}/{page}" + (f"?{query}" if query else ""), cookies, 30)
            if status != 200:
                result.error = f"GET /{page}: HTTP {status}"
                return result
            if assets:
                for asset in sorted(set(re.findall(rb'(?:src|href)="\.?/?(static/[^"]+)"', body))):
                    await http_get(f"{base}/{asset.decode()}", cookies, 30, "gzip, deflate")
            for probe in ("/_stcore/health", "/_stcore/host-config"):  # the front end's first two requests
                await http_get(base + probe, cookies, 30)
            while True:
                try:
                    result.error = await run_page(ws_url, base, cookies, page, query, session, result, hold)
                    break
                except (ConnectionClosed, ConnectionError, InvalidHandshake, OSError) as exc:
                    if isinstance(exc, InvalidStatus) and exc.response.status_code < 500:
                        raise
                    if result.reconnects >= MAX_RECONNECTS:
                        raise
                    result.reconnects += 1
                    await wait_for_health(base, cookies, RECONNECT_GIVE_UP_S)
    except Exception as exc:  # every failure is counted and named in the table's notes
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    return result


async def room(base: str, viewers: int, arrival_s: float, pages: list[str], assets: bool, timeout: float,
               seed: int, halfway=None) -> list[View]:
    """``viewers`` viewers arriving uniformly at random within ``arrival_s``; ``halfway()`` (a coroutine function)
    is awaited from arrival_s/2 on."""
    rng = random.Random(seed)
    offsets = sorted(rng.uniform(0, arrival_s) for _ in range(viewers)) if viewers > 1 else [0.0]
    start = time.monotonic()
    hold = asyncio.Event() if halfway is not None else None  # with a kill, pages stay open until the arrivals end

    async def arrive(index: int, offset: float) -> View:
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
        arrived = time.monotonic() - start
        result = await view(base, pages[index % len(pages)], assets, timeout, hold)
        result.arrival = arrived
        return result

    async def kill_later() -> None:
        await asyncio.sleep(arrival_s / 2)
        await halfway()
        await asyncio.sleep(max(0.0, start + arrival_s - time.monotonic()))
        hold.set()

    tasks = [asyncio.create_task(arrive(i, offset)) for i, offset in enumerate(offsets)]
    if halfway is not None:
        tasks.append(asyncio.create_task(kill_later()))
    done = await asyncio.gather(*tasks)
    return [v for v in done if isinstance(v, View)]


def measured(base: str, replicas: Replicas | None, pids: list[int], viewers: int, args, kill_one: bool) -> Run:
    """One row of the table: the room against ``base``, with the replicas' CPU time before and after."""
    live = replicas.pids if replicas is not None else pids
    before = {pid: process_cpu_seconds(pid) for pid in live}
    last_seen = dict(before)
    notes = []

    async def kill() -> None:
        """Kill replica 0 once it holds a viewer's open socket (waiting at most the rest of the arrivals): a
        connection open for 30 ms, longer than a proxied GET takes."""
        waited, held_since = time.monotonic(), None
        while time.monotonic() - waited < args.arrival_seconds / 2:
            if replicas.connections()[0] == 0:
                held_since = None
            elif held_since is None:
                held_since = time.monotonic()
            elif time.monotonic() - held_since > 0.03:
                break
            await asyncio.sleep(0.005)
        victim = replicas.processes[0].pid
        last_seen[victim] = process_cpu_seconds(victim)
        sockets = replicas.connections()[0]
        replicas.kill(0)
        notes.append(f"replica 0 (pid {victim}) killed {time.monotonic() - started:.1f} s into the run, "
                     f"holding {sockets} viewer socket(s)")

    client_before = time.process_time()
    started = time.monotonic()
    views = asyncio.run(room(base, viewers, args.arrival_seconds, args.pages, args.assets, args.timeout,
                             args.seed, kill if kill_one else None))
    client = time.process_time() - client_before
    for pid in before:
        now = process_cpu_seconds(pid)
        if now:
            last_seen[pid] = now
    cpu = sum(last_seen[pid] - before[pid] for pid in before) if before else None
    return Run(replicas.count if replicas is not None else None, viewers, views, cpu, client, kill_one, notes)


def warm(replicas: Replicas, pages: list[str], timeout: float) -> None:
    """Every page once on every replica directly (not timed), so that the rows measure warm servers."""
    for index in range(replicas.count):
        for spec in pages:
            result = asyncio.run(view(replicas.replica_url(index), spec, False, timeout))
            if result.error:
                print(f"warning: warming {spec} on replica {index}: {result.error}", file=sys.stderr)


def table(runs: list[Run]) -> str:
    lines = ["replicas  viewers  finished  p50 s  p95 s  max s  errors  server CPU s/view  KB/view  client CPU s"
             + ("  reconnected  failed" if any(r.killed for r in runs) else "")]
    for run in runs:
        done = run.finished
        p50, p95, top = (f"{percentile(done, 0.5):5.2f}", f"{percentile(done, 0.95):5.2f}",
                         f"{done[-1]:5.2f}") if done else ("    -",) * 3
        cpu = f"{run.cpu_seconds / len(done):17.3f}" if run.cpu_seconds is not None and done else f"{'n/a':>17}"
        kb = sum(v.received for v in run.views) / 1024 / max(len(run.views), 1)
        line = (f"{run.replicas if run.replicas is not None else 'url':>8}  {run.viewers:7d}  {len(done):8d}  {p50}  "
                f"{p95}  {top}  {run.errors:6d}  {cpu}  {kb:7.0f}  {run.client_cpu_seconds:12.1f}")
        if any(r.killed for r in runs):
            reconnected = sum(v.reconnects > 0 for v in run.views)
            failed = sum(v.reconnects > 0 and v.error is not None for v in run.views)
            line += f"  {reconnected:11d}  {failed:6d}" if run.killed else f"  {'-':>11}  {'-':>6}"
        lines.append(line)
    return "\n".join(lines)


def error_notes(runs: list[Run]) -> list[str]:
    notes = []
    for run in runs:
        notes += run.notes
        seen: dict[str, int] = {}
        for v in run.views:
            if v.error:
                seen[f"{v.page}: {v.error}"] = seen.get(f"{v.page}: {v.error}", 0) + 1
        notes += [f"{run.replicas} replica(s), {run.viewers} viewers: {n} x {e}" for e, n in seen.items()]
    return notes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="1,50,100,200", help="comma-separated room sizes")
    parser.add_argument("--arrival-seconds", type=float, default=60.0, help="viewers arrive within this time")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="a running dashboard (nginx or one replica); default: start --replicas")
    target.add_argument("--replicas", default="1,2", help="comma-separated replica counts to start behind nginx")
    parser.add_argument("--pids", default="", help="with --url: comma-separated server pids whose CPU to count")
    parser.add_argument("--pages", default=",".join(DEFAULT_PAGES),
                        help="pages the viewers open in turn (url paths, query allowed: site?site=X)")
    parser.add_argument("--assets", action="store_true", help="also fetch the scripts and styles index.html names")
    parser.add_argument("--kill-one", action="store_true", help="kill one replica halfway through the arrivals")
    parser.add_argument("--data-dir", type=Path, help="a seeded store to copy (default: seed the demo store)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a viewer waits before failing")
    parser.add_argument("--seed", type=int, default=0, help="arrival times' random seed")
    parser.add_argument("--no-warm", dest="warm", action="store_false", help="skip the unmeasured first views")
    parser.add_argument("--views-csv", type=Path, help="also write every view (arrival, seconds, reconnects, error)")
    args = parser.parse_args(argv)
    args.viewers = [int(v) for v in args.viewers.split(",") if v.strip()]
    args.replicas = [int(r) for r in args.replicas.split(",") if r.strip()]
    args.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    args.pids = [int(p) for p in args.pids.split(",") if p.strip()]
    if args.kill_one and not args.url and min(args.replicas) < 2:
        parser.error("--kill-one needs at least 2 replicas")
    return args


def seeded_store(work: Path, source: Path | None) -> Path:
    """A demo-seeded store of our own (copied from ``source`` when given), so no run touches data/store."""
    store = work / "store"
    if source is not None:
        shutil.copytree(source, store)
        return store
    done = subprocess.run([sys.executable, "-m", "mhin_eval", "seed"], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "MHIN_DATA_DIR": str(store)})
    if done.returncode != 0:
        raise SystemExit(f"seeding the demo store failed:\n{done.stdout}{done.stderr}")
    return store


def run(args: argparse.Namespace) -> list[Run]:
    runs: list[Run] = []
    if args.url:
        for viewers in args.viewers:
            runs.append(measured(args.url.rstrip("/"), None, args.pids, viewers, args, args.kill_one))
            print(table(runs[-1:]), flush=True)
        return runs
    with tempfile.TemporaryDirectory(prefix="mhin-load-") as tmp:
        work = Path(tmp)
        store = seeded_store(work, args.data_dir)
        for count in args.replicas:
            for position, viewers in enumerate(args.viewers):
                if position and not args.kill_one:
                    continue  # one set of replicas serves every room size
                with Replicas(count, work / f"run-{count}-{viewers}", data_dir=store, seed=False) as replicas:
                    if args.warm:
                        warm(replicas, args.pages, args.timeout)
                    sizes = [viewers] if args.kill_one else args.viewers
                    for size in sizes:
                        runs.append(measured(replicas.url, replicas, [], size, args, args.kill_one))
                        print(table(runs[-1:]), flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = run(args)
    print()
    print(f"Viewers arriving uniformly at random within {args.arrival_seconds:.0f} s; pages {', '.join(args.pages)}"
          + ("; with assets" if args.assets else "") + ("; one replica killed halfway" if args.kill_one else ""))
    print(table(runs))
    for note in error_notes(runs):
        print(f"  {note}")
    if args.views_csv:
        with open(args.views_csv, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["replicas", "viewers", "page", "arrival_s", "seconds", "reconnects", "kb", "error"])
            for row in runs:
                for v in row.views:
                    writer.writerow([row.replicas, row.viewers, v.page, f"{v.arrival:.2f}",
                                     "" if v.seconds is None else f"{v.seconds:.3f}", v.reconnects,
                                     round(v.received / 1024), v.error or ""])
    return 1 if any(r.errors or len(r.finished) < r.viewers for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
