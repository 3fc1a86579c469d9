"""Presentation mode in Chromium: each of the first five slides of every project fits a 1366x768 and a
1920x1080 screen without scrolling, chart inside the viewport; the right arrow moves to the next slide."""

import pytest

from mhin_eval.catalogue import load_catalogue
from tests.browser.conftest import assert_no_exception, wait_for_app

pytestmark = pytest.mark.browser

SIZES = [(1366, 768), (1920, 1080)]

#: The slide's title once the script is idle and the chart has drawn, with how the page fits the viewport.
_SLIDE = """() => {
  const title = document.querySelector('.st-key-present-slide h1');
  const chart = document.querySelector('.st-key-present-slide [data-testid="stPlotlyChart"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const box = chart.getBoundingClientRect();
  const controls = document.querySelector('.st-key-present-controls').getBoundingClientRect();
  return {title: title.textContent.trim(), viewport: [innerWidth, innerHeight],
          document: document.documentElement.scrollHeight, main: [main.scrollHeight, main.clientHeight],
          chart: [box.left, box.top, box.right, box.bottom], controls: controls.bottom,
          sidebar: document.querySelector('[data-testid="stSidebar"]').getBoundingClientRect().right};
}"""

_SHOWS = """(title) => {
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')) return false;
  const h1 = document.querySelector('.st-key-present-slide h1');
  const chart = document.querySelector('.st-key-present-slide [data-testid="stPlotlyChart"] .main-svg');
  return Boolean(h1 && chart && h1.textContent.trim() === title);
}"""


def first_titles(project_id: str, count: int = 5) -> list[str]:
    """The first slides of a project as the export orders them: each indicator at every site, then its
    forest plot across sites (every analysis of the first indicators has a result on the demo data)."""
    cat = load_catalogue()
    sites = [s for s in cat.sites_of(project_id)]
    titles = []
    for indicator in cat.indicators_of(project_id, "series"):
        titles += [f"{indicator.label}: {site.name}" for site in sites]
        if len(sites) >= 2:
            titles.append(f"{indicator.label}: each site's headline and the pooled estimate")
    return titles[:count]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("project_id", load_catalogue().project_ids)
def test_first_five_slides_fit_the_screen_and_the_right_arrow_moves_on(browser, app_url, artifacts_dir,
                                                                        project_id, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        titles = first_titles(project_id)
        page.goto(f"{app_url}/present?project={project_id}&slide=1")
        wait_for_app(page, min_charts=1)
        assert_no_exception(page)
        for number, title in enumerate(titles, start=1):
            page.wait_for_function(_SHOWS, arg=title, polling="raf", timeout=60_000)
            shown = page.evaluate(_SLIDE)
            where = f"{project_id} slide {number} at {width}x{height}"
            assert shown["sidebar"] <= 0, f"{where}: sidebar collapsed (out of sight)"
            assert shown["document"] <= height, f"{where}: the document scrolls ({shown['document']} px)"
            assert shown["main"][0] <= shown["main"][1], f"{where}: the main area scrolls ({shown['main']})"
            left, top, right, bottom = shown["chart"]
            assert 0 <= left and 0 <= top and right <= width and bottom <= height, f"{where}: chart {shown['chart']}"
            assert bottom - top >= 0.4 * height, f"{where}: the chart is the slide's largest part"
            assert shown["controls"] <= height, f"{where}: Previous/Next inside the screen"
            assert page.locator(".st-key-present-slide").inner_text().count("Synthetic demo data") == 1
            page.screenshot(path=str(artifacts_dir / f"present-{project_id}-{width}x{height}-{number}.png"))
            if number < len(titles):
                page.locator(".st-key-present-slide h1").click()  # the keys act wherever the presenter clicked
                page.keyboard.press("ArrowRight")
        assert f"slide={len(titles)}" in page.url, "the URL holds the slide"
        page.keyboard.press("PageUp")
        page.wait_for_function(_SHOWS, arg=titles[-2], polling="raf", timeout=60_000)
        assert errors == []
    finally:
        context.close()


def test_a_link_opens_its_slide_and_left_arrow_goes_back(browser, app_url):
    titles = first_titles("pcref")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/present?project=pcref&sites=all&slide=4")
        page.wait_for_function(_SHOWS, arg=titles[3], polling="raf", timeout=60_000)
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(_SHOWS, arg=titles[2], polling="raf", timeout=60_000)
        assert "slide=3" in page.url
        page.reload()
        page.wait_for_function(_SHOWS, arg=titles[2], polling="raf", timeout=60_000)
    finally:
        context.close()
