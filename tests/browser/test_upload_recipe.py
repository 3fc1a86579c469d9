"""The upload page in Chromium with a real NHS A&E file: map its columns in the mapping step, save the recipe,
store the rows, see the acute trust's series on the site page; the next month's file is then proposed the
saved recipe. The app has its own store, so the saved recipe and the stored rows touch no other test."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_exception, screenshot
from tests.browser.serving import open_tab, start_app, stop_app, wait_for_app

OWN_COLUMNS = "its own columns (series, participant or NHS published layout)"


@pytest.fixture(scope="module")
def own_app(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("upload-recipe-store")
    proc, url = start_app(data_dir)
    yield url, data_dir
    stop_app(proc)


def _idle(pg) -> None:
    pg.wait_for_function(
        """() => document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')""")


def _select(pg, label: str, option: str) -> None:
    """Choose ``option`` in the select box labelled ``label`` (a combobox), then wait for the rerun."""
    box = pg.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)  # a long list shows only the options that match what is typed
    pg.get_by_role("option", name=option, exact=True).click()
    pg.get_by_role("combobox", name=label, exact=True).and_(pg.locator(f'[value="{option}"]')).wait_for()
    _idle(pg)


def _upload(pg, url: str, path) -> None:
    pg.goto(f"{url}/upload")
    wait_for_app(pg)
    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    pg.get_by_role("combobox", name="Read the file with", exact=True).wait_for()
    _idle(pg)


def test_an_ae_file_is_mapped_saved_stored_and_its_recipe_proposed_next_month(
        own_app, page, real_data_dir, artifacts_dir):
    url, data_dir = own_app
    folder = real_data_dir / "ae_attendances_nhsrdatasets"
    pg = page
    _upload(pg, url, folder / "2018-01-01.csv")
    _select(pg, "Read the file with", OWN_COLUMNS)
    pg.get_by_text("Map this file's columns (make a recipe)").click()
    pg.get_by_role("combobox", name="Column with the month", exact=True).wait_for()
    _select(pg, "Project", "Alcohol assertive outreach treatment")
    _select(pg, "Column with the month", "period")
    _select(pg, "Column naming the site", "org_code")
    _select(pg, "The site column holds", "the code of the site's acute trust (A&E data)")
    pg.get_by_text("Leave out rows of organisations that are no site").click()
    _idle(pg)
    _select(pg, "Keep only rows where the column", "type")
    pg.get_by_label("equals", exact=True).fill("1")
    pg.get_by_label("equals", exact=True).press("Enter")
    _idle(pg)
    pg.get_by_role("combobox", name="Columns holding a measure (one indicator each)").click()
    pg.get_by_role("option", name="attendances", exact=True).click()
    pg.keyboard.press("Escape")
    pg.get_by_text("Column attendances holds:").wait_for()
    _idle(pg)
    _select(pg, "Indicator", "Type 1 A&E attendances at the site's acute trust (context)")
    pg.get_by_label("Recipe name", exact=True).fill("my-ae-type1")
    pg.get_by_label("Recipe name", exact=True).press("Enter")
    pg.get_by_role("button", name="Save the recipe for next time").click()
    pg.get_by_text("Saved as my-ae-type1.toml").wait_for()
    assert (data_dir / "recipes" / "my-ae-type1.toml").is_file()
    pg.get_by_text("Read the file with this mapping").click()
    pg.get_by_text("2018-01-01.csv passed every check (series, 2 rows)").wait_for()
    screenshot(pg, artifacts_dir / "upload-mapped-ae.png")
    pg.get_by_role("button", name="Store 2018-01-01.csv").click()
    pg.get_by_text("Ingested 2018-01-01.csv as #").wait_for()
    _idle(pg)
    assert_no_exception(pg)

    pg.goto(f"{url}/site?site=hull")
    wait_for_app(pg)
    open_tab(pg, "Trust context", min_charts=1)
    panel = pg.locator('[role="tabpanel"]:visible')
    title = panel.locator('[data-testid="stPlotlyChart"] .gtitle').first.text_content()
    assert title.startswith("Type 1 A&E attendances at the site's acute trust"), title
    assert "Hull University Teaching Hospitals" in panel.inner_text() and "(RWA)" in panel.inner_text()
    assert "From 1 uploaded file(s): 2018-01-01.csv." in panel.inner_text()
    screenshot(pg, artifacts_dir / "site-trust-context.png")
    assert_no_exception(pg)

    _upload(pg, url, folder / "2018-02-01.csv")
    pg.get_by_text("This file has the layout of a recipe saved here before").wait_for()
    chosen = pg.get_by_role("combobox", name="Read the file with", exact=True).input_value()
    assert chosen.startswith("recipe my-ae-type1 (saved here)"), chosen
    pg.get_by_text("2018-02-01.csv passed every check (series, 2 rows)").wait_for()
    assert not pg.errors, pg.errors
