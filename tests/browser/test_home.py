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
