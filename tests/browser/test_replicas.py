"""Several replicas behind nginx (deploy/replicas.py) on one store: a page through nginx, a replica killed under
an open page, an upload through one replica seen by another, and a short bench/load.py run.

The store comes from the ``store_env`` fixture (the environment every replica gets), so the same tests run on
each backend in ``STORES``."""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy.replicas import ROOT, Replicas, nginx_missing
from tests.browser.conftest import assert_no_exception
from tests.browser.serving import wait_until_drawn

pytestmark = pytest.mark.browser

#: Store backends the replicas run on: one DuckDB folder they share, or one PostgreSQL database (MHIN_DATABASE_URL).
STORES = ["duckdb", "postgres"]
#: Replicas start without serve.py's warm-up (each first view is cold); nothing here asserts a page's time.
FAST_START = {"MHIN_WARM_UP": "0"}
CONTENT_MS = 90_000


def wait_for(condition, timeout: float, what: str):
    """Poll ``condition()`` until it returns something truthy (returned) or ``timeout`` seconds pass (fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def seeded_duckdb(tmp_path_factory, worker_id) -> Path:
    """A demo-seeded DuckDB store (`python -m mhin_eval seed`), seeded once per test run: xdist workers share
    it under a file lock, and each use copies it."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if worker_id != "master" else base  # the run's folder, shared by its workers
    store, marker = root / "replicas-seeded-store", root / "replicas-seeded-store.done"
    with open(root / "replicas-seeded-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            done = subprocess.run([sys.executable, "-m", "mhin_eval", "seed", "--data-dir", str(store)], cwd=ROOT,
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"seeding the demo store failed:\n{done.stdout}{done.stderr}"
            marker.write_text("")
    return store


@pytest.fixture(scope="module", params=STORES)
def store_env(request, tmp_path_factory) -> dict[str, str]:
    """The environment that selects a seeded store for every replica and command of a test."""
    data_dir = tmp_path_factory.mktemp("replicas-store")
    shutil.copytree(request.getfixturevalue("seeded_duckdb"), data_dir, dirs_exist_ok=True)
    if request.param == "duckdb":
        return {"MHIN_DATA_DIR": str(data_dir)}
    url = request.getfixturevalue("pg_server").create_database()
    copied = subprocess.run([sys.executable, "-m", "mhin_eval", "store", "copy", "--to", url, "--data-dir", str(data_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert copied.returncode == 0, f"store copy into PostgreSQL failed:\n{copied.stdout}\n{copied.stderr}"
    return {"MHIN_DATA_DIR": str(data_dir), "MHIN_DATABASE_URL": url}


def started(store_env: dict[str, str], run_dir: Path, count: int = 2) -> Replicas:
    """``count`` replicas and nginx, started (nginx missing fails the test with what to install)."""
    missing = nginx_missing()
    if missing:
        pytest.fail(missing)
    replicas = Replicas(count, run_dir, extra_env={**store_env, **FAST_START}, seed=False)
    replicas.start()
    return replicas


@pytest.fixture(scope="module")
def replicas(store_env, tmp_path_factory):
    """Two replicas behind nginx, shared by the tests of this module that do not kill one."""
    running = started(store_env, tmp_path_factory.mktemp("replicas-run"))
    yield running
    running.stop()


def holder(replicas: Replicas) -> int | None:
    """The replica holding the one open websocket, or None while there is not exactly one."""
    connections = replicas.connections()
    return connections.index(1) if sorted(connections) == [0] * (len(connections) - 1) + [1] else None


def title(pg) -> str:
    return pg.locator('[data-testid="stMain"] h1').first.inner_text().strip()


def test_page_through_nginx_stays_on_its_replica(replicas, page):
    page.goto(replicas.url + "/overview")
    wait_until_drawn(page, timeout=CONTENT_MS)
    assert title(page) == "Overview of results"
    assert_no_exception(page)
    assert not page.errors, page.errors  # e.g. a script nginx serves from Streamlit's folder with the wrong type
    assert any(c["name"] == "mhin_route" for c in page.context.cookies()), "nginx set no route cookie"
    first = wait_for(lambda: holder(replicas) is not None and [holder(replicas)], 10, "one replica holds the socket")
    for _ in range(3):  # every reload of this browser comes back to the same replica
        page.reload()
        wait_until_drawn(page, timeout=CONTENT_MS)
        assert title(page) == "Overview of results"
        assert wait_for(lambda: holder(replicas) is not None and [holder(replicas)], 10, "one socket") == first


def test_killed_replica_page_reconnects_to_the_other(store_env, tmp_path, page):
    replicas = started(store_env, tmp_path / "run")
    try:
        page.goto(replicas.url + "/overview")
        wait_until_drawn(page, timeout=CONTENT_MS)
        serving = wait_for(lambda: holder(replicas) is not None and [holder(replicas)], 10, "one socket")[0]
        # Streamlit's front end shows a "Connecting" status (stConnectionStatus) while its socket is down and,
        # when it cannot reconnect, a "Connection error" dialog: record whether either ever appears.
        page.evaluate("""() => {
            window.mhinSeen = {connecting: false, error: false};
            new MutationObserver(() => {
                if (document.querySelector('[data-testid="stConnectionStatus"]')) window.mhinSeen.connecting = true;
                if ([...document.querySelectorAll('[role="dialog"]')].some((d) => /Connection error/i.test(d.textContent)))
                    window.mhinSeen.error = true;
            }).observe(document.body, {childList: true, subtree: true, characterData: true});
        }""")
        stream = lambda ws: ws.url.endswith("/_stcore/stream")  # noqa: E731
        with page.expect_event("websocket", predicate=stream, timeout=CONTENT_MS):
            replicas.kill(serving)
        other = 1 - serving
        wait_for(lambda: replicas.connections()[other] == 1, 30, "the page's new socket on the other replica")
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stConnectionStatus\"]')",
                               timeout=CONTENT_MS)
        # The same session goes on working, now on the other replica: a click in the menu runs a page there.
        page.locator('[data-testid="stSidebar"] a[href="methods"]').click()
        wait_until_drawn(page, timeout=CONTENT_MS, not_title="Overview of results")
        assert title(page) == "Methods and assumptions"
        assert_no_exception(page)
        seen = page.evaluate("() => window.mhinSeen")
        assert not seen["error"], "Streamlit showed its connection error dialog"
        assert page.locator('[data-testid="stConnectionStatus"]').count() == 0
        assert replicas.connections() == ([0, 1] if other == 1 else [1, 0])
    finally:
        replicas.stop()


def test_upload_through_one_replica_is_seen_by_the_other_within_5_s(replicas, browser, tmp_path):
    extract = tmp_path / "replica-findings.csv"
    extract.write_text(
        "project,site,date,kind,domain,summary,source,quote\n"
        f"aaot,greater-manchester,2022-08-01,barrier,inner setting,(Synthetic) Replica check {time.time_ns()},"
        "survey,(Synthetic) Seen by every replica.\n")
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        uploader, viewer = (context.new_page() for context in contexts)
        uploader.goto(replicas.url + "/upload")
        wait_until_drawn(uploader, timeout=CONTENT_MS)
        through = wait_for(lambda: holder(replicas) is not None and [holder(replicas)], 10, "one socket")[0]
        viewer.goto(replicas.replica_url(1 - through) + "/upload")  # the other replica, directly
        wait_until_drawn(viewer, timeout=CONTENT_MS)
        viewer.get_by_role("button", name="Roll back upload #").wait_for()

        uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(extract))
        uploader.get_by_role("button", name=f"Store {extract.name}").click(timeout=CONTENT_MS)
        done = uploader.get_by_text(f"Ingested {extract.name} as #")
        done.wait_for(timeout=CONTENT_MS)
        assert_no_exception(uploader)
        ingest_id = re.search(r"as #(\d+)", done.inner_text()).group(1)

        deadline = time.monotonic() + 5.0
        viewer.reload(wait_until="commit")
        viewer.get_by_role("button", name=f"Roll back upload #{ingest_id}", exact=True).wait_for(
            timeout=max(0.0, deadline - time.monotonic()) * 1000)
        assert_no_exception(viewer)
    finally:
        for context in contexts:
            context.close()


def test_load_run_every_viewer_finishes(replicas):
    from bench import load

    args = load.parse_args(["--url", replicas.url, "--pids", ",".join(map(str, replicas.pids)),
                            "--viewers", "1,5", "--arrival-seconds", "3"])
    with ThreadPoolExecutor(1) as pool:  # its own thread: Playwright's event loop runs in this one
        runs = pool.submit(load.run, args).result()
    notes = "\n".join(load.error_notes(runs))
    assert [run.viewers for run in runs] == [1, 5]
    for run in runs:
        assert run.errors == 0, notes
        assert len(run.finished) == run.viewers, notes
        assert all(v.received > 10_000 for v in run.views), "a viewer received no page"


def test_load_run_with_a_replica_killed_every_viewer_finishes(store_env, tmp_path):
    from bench import load

    replicas = started(store_env, tmp_path / "run")
    try:
        args = load.parse_args(["--url", replicas.url, "--viewers", "16", "--arrival-seconds", "6", "--kill-one"])
        with ThreadPoolExecutor(1) as pool:
            runs = pool.submit(load.measured, replicas.url, replicas, [], 16, args, True).result()
    finally:
        replicas.stop()
    notes = "\n".join(load.error_notes([runs]))
    assert replicas.processes[0].returncode == -9, "replica 0 was not killed"
    assert runs.errors == 0, notes
    assert len(runs.finished) == 16, notes
    assert any(v.reconnects for v in runs.views), f"no viewer was on the killed replica: {notes}"
