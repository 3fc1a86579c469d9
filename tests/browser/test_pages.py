"""Every page in a real headless Chromium: charts drawn, no exception box, no console error, a screenshot each."""

import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser

# page -> charts it must draw on the demo data
PAGES = {"overview": 0, "project": 4, "site": 2, "compare": 1, "published": 1, "sustainability": 2, "present": 1,
         "explorer": 1, "methods": 0, "upload": 0}


def test_every_page_file_is_opened_here_or_in_test_home():
    assert set(PAGES) | {"home"} == {p.stem for p in (PROJECT_ROOT / "pages").glob("*.py")}


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_with_charts_and_no_errors(app_url, page, artifacts_dir, page_name):
    page.goto(f"{app_url}/{page_name}")
    wait_for_app(page, min_charts=PAGES[page_name])
    assert_no_exception(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Synthetic demo data" in body
    screenshot(page, artifacts_dir / f"page-{page_name}.png")
    assert page.errors == []


def test_deep_link_opens_the_chosen_site_and_indicator(app_url, page, artifacts_dir):
    page.goto(f"{app_url}/site?site=manchester&indicator=seclusion")
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    assert page.locator("h1").first.inner_text().strip() == "Manchester"
    chart_titles = page.locator('[data-testid="stPlotlyChart"] .gtitle').evaluate_all("els => els.map(e => e.textContent)")
    assert "Seclusion: Manchester" in chart_titles
    assert "site=manchester" in page.url and "indicator=seclusion" in page.url
    screenshot(page, artifacts_dir / "deep-link-site.png")
    assert page.errors == []
