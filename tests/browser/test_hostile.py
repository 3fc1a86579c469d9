"""Hostile text in a real headless Chromium: findings, a site name and a group label that carry markdown
images and links, HTML anchors, <style>, javascript: and spreadsheet formulas are shown as text on the site,
project and sustainability pages. The page holds no <img> or <a> pointing outside the app, and the strings
read back exactly as they were stored."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, load_catalogue
from mhin_eval.store import Store, seed
from mhin_eval.text import WORD_JOINER
from tests.browser.conftest import assert_no_exception, screenshot, start_app, wait_for_app
from tests.browser.serving import open_tab, stop_app
from tests.hostile import EVIL, HOSTILE, findings_csv

pytestmark = pytest.mark.browser

SITE_NAME = f"Hull [site](http://{EVIL}/s) <b>bold</b>"
GROUP = f'<a href="http://{EVIL}/g">online</a> <i>mode</i>'


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    """The app on a store seeded with the demo data plus a hostile findings file, under a catalogue whose
    Hull site and online delivery mode carry markup in their names."""
    folder = tmp_path_factory.mktemp("hostile")
    text = DEFAULT_CATALOGUE.read_text(encoding="utf-8")
    text = text.replace('name = "Hull"\n', f"name = '{SITE_NAME}'\n", 1)
    text = text.replace('label = "online"\naliases = [', f"label = '{GROUP}'\naliases = [\"online\", ", 1)
    catalogue_path = folder / "catalogue.toml"
    catalogue_path.write_text(text, encoding="utf-8")
    catalogue = load_catalogue(catalogue_path)
    assert catalogue.site("hull").name == SITE_NAME and GROUP in catalogue.breakdown("delivery_mode").labels
    store = Store(folder / "store", catalogue=catalogue)
    seed(store)
    store.ingest_file(findings_csv(folder))
    proc, url = start_app(store.data_dir, extra_env={"MHIN_CATALOGUE": str(catalogue_path), "MHIN_WARM_UP": "0"})
    yield url
    stop_app(proc)


def outside_references(page, base: str) -> list[str]:
    """Addresses of <img>, <a>, <link>, <iframe>, <script> and <source> elements that leave the app."""
    host = urlparse(base).netloc
    found = page.evaluate("""() => [...document.querySelectorAll(
        'img[src], a[href], link[href], iframe[src], script[src], source[src], image[href]')]
        .map(e => e.getAttribute('src') || e.getAttribute('href'))""")
    refs = [r for r in found if r and not r.startswith(("data:", "blob:", "#", "/", "./"))]
    return [r for r in refs if urlparse(r).netloc not in ("", host) or urlparse(r).scheme == "javascript"]


def assert_inert(page, url: str) -> str:
    assert_no_exception(page)
    assert outside_references(page, url) == []
    assert page.locator('[data-testid="stMain"] style').count() == 0
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert page.locator('[data-testid="stMain"]').is_visible()  # a <style> from the data would hide it
    return body.replace(WORD_JOINER, "")  # the invisible joiner that keeps an address from being a link


def test_site_page_shows_the_findings_and_the_site_name_as_text(hostile_url, page, artifacts_dir):
    page.goto(f"{hostile_url}/site?site=hull")
    wait_for_app(page, min_charts=0)
    body = assert_inert(page, hostile_url)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip().replace(WORD_JOINER, "") == SITE_NAME
    open_tab(page, "Facilitators and barriers")
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.get_by_text("Barriers (").first.wait_for()
    body = assert_inert(page, hostile_url)
    for name, text in HOSTILE.items():
        assert f"{name}: {text}" in body, name
        assert f"{name} quote {text}" in body, name
    assert panel.locator("strong", has_text="bold").count() == 0
    # The grid's own toolbar offers no CSV download: every download is formula-safe and audited.
    panel.get_by_text("All findings as a table").click()
    grid = panel.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    grid.hover()
    toolbar = panel.locator('[data-testid="stElementToolbar"]').first
    toolbar.get_by_role("button").first.wait_for()
    labels = toolbar.get_by_role("button").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert labels and not any("download" in (label or "").lower() for label in labels), labels
    screenshot(page, artifacts_dir / "page-site-hostile.png")
    assert page.errors == []


def test_project_page_draws_the_group_label_as_text_in_the_funnel(hostile_url, page, artifacts_dir):
    page.goto(f"{hostile_url}/project?project=parent-cbt&section=Uptake")
    wait_for_app(page, min_charts=1)
    open_tab(page, "Uptake", min_charts=2)
    assert_inert(page, hostile_url)
    legend = page.locator('[data-testid="stPlotlyChart"] .legendtext').evaluate_all("els => els.map(e => e.textContent)")
    assert GROUP in legend
    assert page.locator('[data-testid="stPlotlyChart"] a').count() == 0
    open_tab(page, "Facilitators and barriers")
    assert_inert(page, hostile_url)
    screenshot(page, artifacts_dir / "page-project-hostile.png")
    assert page.errors == []


def test_sustainability_page_shows_the_site_name_and_findings_as_text(hostile_url, page, artifacts_dir):
    page.goto(f"{hostile_url}/sustainability?instrument=psat&site=hull")
    wait_for_app(page, min_charts=1)
    body = assert_inert(page, hostile_url)
    assert f"{SITE_NAME}, PSAT round of" in body
    titles = page.locator('[data-testid="stPlotlyChart"] .gtitle').evaluate_all("els => els.map(e => e.textContent)")
    assert any(re.sub(r"\s+", "", SITE_NAME) in re.sub(r"\s+", "", t) for t in titles), titles  # wrapped lines
    open_tab(page, "Facilitators and barriers")
    page.get_by_role("tabpanel").filter(visible=True).get_by_text("Barriers (").first.wait_for()
    body = assert_inert(page, hostile_url)
    assert f"formula: {HOSTILE['formula']}" in body and f"image: {HOSTILE['image']}" in body
    screenshot(page, artifacts_dir / "page-sustainability-hostile.png")
    assert page.errors == []
