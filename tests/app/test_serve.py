"""The server's warm-up (mhin_eval.ui.serve): every page is rendered once before the first visitor comes."""

from __future__ import annotations

import pytest
import streamlit as st

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue
from mhin_eval.ui import serve


@pytest.fixture
def seeded_copy(tmp_path, monkeypatch):
    from mhin_eval.store import Store, seed

    path = tmp_path / "store"
    seed(Store(path))
    monkeypatch.setenv("MHIN_DATA_DIR", str(path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def test_warm_up_views_cover_every_page_project_and_site():
    catalogue = load_catalogue()
    views = serve.warm_up_views()
    assert {page for page, _ in views} == {f"pages/{p.name}" for p in (PROJECT_ROOT / "pages").glob("*.py")}
    assert {q["project"] for p, q in views if p == "pages/project.py" and q} == set(catalogue.project_ids)
    assert {q["site"] for p, q in views if p == "pages/site.py" and q} == {
        s.id for s in catalogue.sites if not s.is_comparison}
    pages = len(list((PROJECT_ROOT / "pages").glob("*.py")))
    assert all(not query for _, query in views[:pages]), "every page's default view is warmed before any site's"


def test_after_the_warm_up_a_visitor_fits_nothing(seeded_copy, monkeypatch, capsys):
    from streamlit.testing.v1 import AppTest

    from mhin_eval import evaluate

    serve.warm_up()
    err = capsys.readouterr().err
    assert "pages prepared in" in err and "failed" not in err
    fits = []
    real_fit = evaluate.fit_its
    monkeypatch.setattr(evaluate, "fit_its", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["project"] = "pcref"
    at.run()
    at.switch_page("pages/project.py")
    at.run()
    assert not at.exception and at.get("plotly_chart")
    assert fits == [], "the project page's models were fitted by the warm-up"


def test_a_page_that_fails_during_the_warm_up_is_reported_not_raised(seeded_copy, monkeypatch, capsys):
    monkeypatch.setattr(serve, "warm_up_views", lambda: [("pages/no-such-page.py", {})])
    serve.warm_up()
    err = capsys.readouterr().err
    assert "pages prepared in" in err and "failed:" in err


def test_a_page_out_of_time_is_reported_and_leaves_no_stand_in_runtime(seeded_copy, monkeypatch, capsys):
    from streamlit.runtime import Runtime

    monkeypatch.setattr(serve, "warm_up_views", lambda: [("pages/overview.py", {}), ("pages/methods.py", {})])
    serve.warm_up(budget=60, page_timeout=0.001)
    err = capsys.readouterr().err
    assert "pages prepared in" in err and "failed:" in err and "pages/overview.py" in err
    assert Runtime._instance is None, "a timed-out AppTest run left its runtime: the server could not start"


def test_the_warm_up_stops_when_its_time_is_spent(seeded_copy, capsys):
    serve.warm_up(budget=0)
    err = capsys.readouterr().err
    assert f"{len(serve.warm_up_views())} view(s) left to their first visitor" in err


def test_the_server_listens_and_serves_when_every_warm_up_page_runs_out_of_time(seeded_copy):
    import urllib.request

    from tests.browser.serving import start_app, stop_app

    proc, url = start_app(seeded_copy, extra_env={"MHIN_WARM_UP_PAGE_S": "0.001"})
    try:
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
    finally:
        stop_app(proc)
    output = proc.stdout.read().decode(errors="replace")
    assert "pages prepared in" in output and "failed:" in output


def test_a_page_busy_past_the_budget_is_left_behind_and_the_runtime_is_free(seeded_copy, monkeypatch, capsys):
    """AppTest's timeout cannot stop a page busy in Python: the warm-up stops waiting when its time is up, and
    the page finishes later without touching the server's runtime."""
    import threading
    import time

    from streamlit.runtime import Runtime
    from streamlit.testing.v1 import app_test

    from mhin_eval import record

    monkeypatch.setattr(app_test, "Runtime", app_test.Runtime)  # restored for the tests that follow
    real = record.filter_records
    monkeypatch.setattr(record, "filter_records", lambda *a, **k: time.sleep(6) or real(*a, **k))
    monkeypatch.setattr(serve, "warm_up_views", lambda: [("pages/overview.py", {}), ("pages/methods.py", {})])
    started = time.perf_counter()
    serve.warm_up(budget=2, page_timeout=20)
    assert time.perf_counter() - started < 5
    assert "still running when the time was up" in capsys.readouterr().err
    assert Runtime._instance is None
    for thread in threading.enumerate():
        if thread.name == "mhin-warm-up":
            thread.join(30)
    assert Runtime._instance is None, "the page left behind cleared or set the server's runtime when it ended"
