"""Upload page (AppTest) with real NHS files: the data sheet of a workbook is chosen first (sheets listed with
their rows), a known layout is read with its proposed recipe, and the rows it makes are stored."""

from __future__ import annotations

import json

from tests.app.conftest import all_text
from tests.app.test_upload import open_upload, store


def test_iapt_workbook_picks_table_1_proposes_its_recipe_and_stores(app, real_data_dir):
    data = (real_data_dir / "iapt_monthly_timeseries" / "feb2019_feb2020.xlsx").read_bytes()
    at = open_upload(app)
    at.file_uploader(key="upload-file").upload("feb2019_feb2020.xlsx", data,
                                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sheet = next(s for s in at.selectbox if s.label == "Sheet")
    assert sheet.value == "Table 1"
    assert sheet.options == ["Title sheet (48 rows)", "Table 1 (32,105 rows)", "Constructions (32 rows)"]
    recipe = next(s for s in at.selectbox if s.label == "Read the file with")
    assert recipe.value == "iapt-monthly-wide"
    assert "passed every check** (series, 78 rows)" in all_text(at)
    at.button(key="upload-confirm").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    stored = store().series(project="pcref")
    assert len(stored[stored["indicator"].str.startswith("iapt-")]) == 78


def test_an_ae_file_is_recognised_and_read_with_its_recipe(app, real_data_dir):
    at = open_upload(app)
    at.file_uploader(key="upload-file").upload(
        "2018-01-01.csv", (real_data_dir / "ae_attendances_nhsrdatasets" / "2018-01-01.csv").read_bytes(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert next(s for s in at.selectbox if s.label == "Read the file with").value == "nhs-ae-attendances"
    assert "passed every check** (series, 4 rows)" in all_text(at)


def test_pages_still_open_with_real_context_series_stored(app, real_data_dir):
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.recipes import apply_recipe_files
    from tests.app.conftest import open_page

    files = sorted((real_data_dir / "ae_attendances_nhsrdatasets").glob("*.csv"))
    store().ingest(apply_recipe_files(files, "nhs-ae-attendances", load_catalogue()), user="test")
    for page, query in (("overview", {}), ("site", {"site": "hull"}), ("project", {"project": "aaot"}),
                        ("explorer", {"project": "aaot", "site": "hull", "indicator": "acute-ae-attendances-type1"})):
        open_page(app, page, **query)


def test_a_file_of_unknown_layout_is_mapped_on_the_page_and_read(app):
    at = open_upload(app)
    at.file_uploader(key="upload-file").upload(
        "trust.csv", b"Month,Trust,Attends\n01/04/2018,RWA,100\n01/05/2018,RWA,*\n", "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "trust.csv was refused" in all_text(at)

    def pick(label, value):
        next(s for s in at.selectbox if s.label == label).set_value(value)

    pick("Project", "aaot")
    pick("Column with the month", "Month")
    pick("Column naming the site", "Trust")
    pick("The site column holds", "acute_trust")
    next(m for m in at.multiselect if m.label.startswith("Columns holding a measure")).set_value(["Attends"])
    at.run()
    pick("Indicator", "acute-ae-attendances-type1")
    at.run()
    next(t for t in at.toggle if t.label == "Read the file with this mapping").set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "passed every check** (series, 2 rows)" in all_text(at)


def test_the_site_page_draws_its_acute_trusts_context_series_with_their_source(app, real_data_dir):
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.recipes import apply_recipe_files
    from tests.app.conftest import open_page

    at = open_page(app, "site", site="hull", section="Trust context")
    assert "No context series is stored for this site yet" in all_text(at)
    files = sorted((real_data_dir / "ae_attendances_nhsrdatasets").glob("*.csv"))
    store().ingest(apply_recipe_files(files, "nhs-ae-attendances", load_catalogue()), user="test")
    at = open_page(app, "site", site="hull", section="Trust context")
    text = all_text(at)
    assert "Hull University Teaching Hospitals NHS Trust (RWA)" in text
    charts = at.get("plotly_chart")
    assert len(charts) == 2, "type 1 attendances and admissions"
    spec = json.loads(charts[0].proto.spec)
    title = spec["layout"]["title"]
    assert title["text"].startswith("Type 1 A&amp;E attendances"), "escaped once: shown as A&E"
    assert title["subtitle"]["text"] == "Apr 2016 to Mar 2019, 36 month(s)"
    line = spec["data"][0]
    shown = dict(zip(line["x"], line["customdata"], strict=True))
    assert shown[next(x for x in shown if x.startswith("2018-01-01"))] == "10,867", "RWA's type 1 total of January 2018 in the file"
    assert "uploaded file(s)" in text
