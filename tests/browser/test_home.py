"""The served app's home page in a real headless Chromium: projects listed, demo notice shown, charts drawn."""

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_home_page_lists_projects_and_demo_notice(app_url, page, artifacts_dir, catalogue):
    page.goto(app_url)
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Synthetic demo data" in body
    for project in catalogue.projects:
        assert project.short_name in body
    for site in catalogue.sites_of("aaot"):
        assert site.name in body
    assert page.locator('[data-testid="stPlotlyChart"] .main-svg').count() >= 1
    screenshot(page, artifacts_dir / "home.png")
    assert page.errors == []


def test_the_readme_run_command_serves_the_demo_dashboard(tmp_path, browser, catalogue, artifacts_dir):
    """`make run` (the README's first command) on an empty data folder: seeds the demo data and serves the
    app on the given port; the home page lists the projects and says the data is synthetic."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from mhin_eval.catalogue import PROJECT_ROOT
    from tests.browser.serving import free_port

    port = free_port()
    env = dict(os.environ, MHIN_DATA_DIR=str(tmp_path / "store"))
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.time() < deadline, "make run did not serve the app within 180 s"
                time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://localhost:{port}/")
        wait_for_app(page, min_charts=1)
        assert_no_exception(page)
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "Synthetic demo data" in body
        assert all(p.short_name in body for p in catalogue.projects)
        screenshot(page, artifacts_dir / "make-run-home.png")
        page.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
