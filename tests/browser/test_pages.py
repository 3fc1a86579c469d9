"""Every page in a real headless Chromium: charts drawn, no exception box, no console error, a screenshot each."""

import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.serving import open_tab, wait_until_drawn

pytestmark = pytest.mark.browser

# page -> charts it must draw on the demo data (project, site and sustainability: those of their first tab)
PAGES = {"overview": 0, "project": 2, "site": 1, "compare": 1, "published": 0, "sustainability": 1, "present": 1,
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


@pytest.mark.parametrize(("path", "tabs"), [
    ("project?project=parent-cbt", {"Outcomes over time": 2, "Uptake": 2, "Before and after": 2,
                                    "Facilitators and barriers": 0}),
    ("site?site=manchester", {"Change at go-live (time series)": 1, "Statistical process control": 1,
                              "Equity by ethnicity": 2, "Against similar sites": 2, "Trust context": 0,
                              "Facilitators and barriers": 0}),
])
def test_each_tab_draws_its_charts_when_opened_and_the_url_keeps_it(app_url, page, artifacts_dir, path, tabs):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, min_charts=next(iter(tabs.values())))
    assert page.get_by_role("tab").all_inner_texts() == list(tabs)
    for label, charts in list(tabs.items())[1:]:
        open_tab(page, label, min_charts=charts)
        assert_no_exception(page)
        assert "section=" + label.split(" ")[0] in page.url
        panel = page.get_by_role("tabpanel").filter(visible=True)
        assert panel.locator('[data-testid="stPlotlyChart"] .main-svg').count() >= charts
        screenshot(page, artifacts_dir / f"tab-{path.split('?')[0]}-{label.split(' ')[0].lower()}.png")
    page.reload()  # a copied link opens the same tab
    wait_for_app(page, min_charts=0)
    assert page.get_by_role("tab", selected=True).inner_text() == list(tabs)[-1]
    assert page.errors == []


def test_every_menu_link_goes_where_it_says_and_home_opens_home(app_url, page):
    """The sidebar's links point at their own pages from any page (Home at the app's root, not at the page
    being shown), and a click on Home from a site page shows the home page."""
    from tests.browser.views import menu

    page.goto(f"{app_url}/site?site=manchester")
    wait_for_app(page, min_charts=1)
    links = page.get_by_test_id("stPageLink-NavLink")
    labels = [text.split("\n")[-1] for text in links.all_inner_texts()]  # the icon's ligature name comes first
    hrefs = dict(zip(labels, links.evaluate_all("els => els.map(e => e.href)"), strict=True))
    assert hrefs == {title: f"{app_url}/{'' if path == 'home' else path}" for path, title in menu()}
    links.nth(labels.index("Home")).click()
    wait_until_drawn(page, min_charts=1, not_title="Manchester")
    assert page.locator("h1").first.inner_text().strip() == "MHIN evaluation dashboard"
    assert page.get_by_text("Projects and sites").is_visible()
    assert page.url.rstrip("/") == app_url
    assert page.errors == []
