"""The sustainability page and the facilitators-and-barriers sections in a real headless Chromium:
charts drawn, suppression message, findings beside the outcomes, no errors; screenshots in test-artifacts/."""

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.serving import open_tab

pytestmark = pytest.mark.browser


def chart_titles(page) -> list[str]:
    return page.locator('[data-testid="stPlotlyChart"] .gtitle').evaluate_all("els => els.map(e => e.textContent)")


def test_sustainability_page_draws_profile_and_change(app_url, page, artifacts_dir):
    page.goto(f"{app_url}/sustainability?instrument=psat&site=hull")
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Synthetic demo data" in body
    assert "Where to act first" in body and "Facilitators and barriers" in body
    assert chart_titles(page) == ["PSAT domain profile: Hull"]
    ticks = page.locator('[data-testid="stPlotlyChart"] .ytick text').evaluate_all("els => els.map(e => e.textContent)")
    assert "Funding Stability" in ticks and "Total score" in ticks
    open_tab(page, "Change between rounds", min_charts=1, titles=("Change by domain: Hull",))
    assert chart_titles(page) == ["Change by domain: Hull"]
    assert "section=Change" in page.url
    screenshot(page, artifacts_dir / "page-sustainability-change.png")
    page.get_by_text("The PSAT's domains and items").click()
    page.locator('[data-testid="stExpander"] [data-testid="stDataFrame"]').first.wait_for(timeout=20_000)
    # the grid draws on a canvas; its accessible cells carry the text
    page.get_by_text("Environmental Support item 1").first.wait_for(state="attached", timeout=20_000)
    screenshot(page, artifacts_dir / "page-sustainability.png")
    assert page.errors == []


def test_small_round_shows_the_suppression_message(app_url, page, artifacts_dir):
    page.goto(f"{app_url}/sustainability?instrument=psat&site=east-of-england")
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Mar 2023: 5 respondents answered, fewer than 8, so this round's scores are not shown." in body
    legend = page.locator('[data-testid="stPlotlyChart"] .legendtext').evaluate_all("els => els.map(e => e.textContent)")
    assert not any("Mar 2023" in text for text in legend)
    screenshot(page, artifacts_dir / "page-sustainability-suppressed.png")
    assert page.errors == []


@pytest.mark.parametrize(("path", "name"), [("site?site=sheffield", "site"), ("project?project=parent-cbt", "project")])
def test_findings_section_beside_outcomes(app_url, page, artifacts_dir, path, name):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    tabs = page.get_by_role("tab").all_inner_texts()
    assert tabs.index("Facilitators and barriers") > 0, "after the outcome sections"
    open_tab(page, "Facilitators and barriers")
    page.get_by_role("tabpanel").filter(visible=True).get_by_text("Barriers (").first.wait_for()
    assert_no_exception(page)
    section = page.get_by_role("tabpanel").filter(visible=True).inner_text()
    assert "Barriers (" in section and "Facilitators (" in section and "(Synthetic)" in section
    screenshot(page, artifacts_dir / f"findings-{name}.png")
    assert page.errors == []
