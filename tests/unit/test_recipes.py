"""Recipes bring real NHS files into the series data model (mhin_eval.recipes).

Expected numbers are computed from the real files themselves (../shared/real-data), never copied.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from mhin_eval.recipes import (
    RecipeError,
    apply_recipe,
    apply_recipe_files,
    load_organisations,
    load_recipe,
    recipe_names,
)
from mhin_eval.schema import ValidationFailed


@pytest.fixture(scope="module")
def ae_files(real_data_dir) -> list[Path]:
    files = sorted((real_data_dir / "ae_attendances_nhsrdatasets").glob("*.csv"))
    assert len(files) == 36
    return files


@pytest.fixture(scope="module")
def ae_type1(ae_files) -> pd.DataFrame:
    frame = pd.concat([pd.read_csv(f, dtype={"type": str}) for f in ae_files], ignore_index=True)
    return frame[frame["type"] == "1"]


@pytest.fixture(scope="module")
def ae_extract(ae_files, catalogue):
    return apply_recipe_files(ae_files, "nhs-ae-attendances", catalogue)


def _series(extract, site: str, indicator: str) -> pd.Series:
    frame = extract.frame
    rows = frame[(frame["site"] == site) & (frame["indicator"] == indicator)]
    return rows.set_index(rows["period"].dt.strftime("%Y-%m-%d"))["value"].sort_index()


def test_shipped_recipes_are_listed_and_load(catalogue):
    assert {"nhs-ae-attendances", "iapt-monthly-wide", "iapt-monthly-wide-csv"} <= set(recipe_names())
    for name in recipe_names():
        assert load_recipe(name, catalogue).name == name


def test_all_36_ae_files_ingest_in_one_transaction(ae_files, ae_extract, store):
    result = store.ingest(ae_extract, user="test")
    stored = store.series(project="aaot")
    assert len(stored) == len(ae_extract.frame) == 2 * 2 * 36
    assert result.rows_added == len(stored) and len(store.history()) == 1
    assert set(stored["indicator"]) == {"acute-ae-attendances-type1", "acute-ae-admissions-type1"}


def test_hull_matches_the_files_rwa_type1_totals(ae_extract, ae_type1):
    expected = ae_type1[ae_type1["org_code"] == "RWA"].set_index("period")["attendances"].astype(float).sort_index()
    got = _series(ae_extract, "hull", "acute-ae-attendances-type1")
    assert len(got) == 36
    pd.testing.assert_series_equal(got, expected, check_names=False, check_index_type=False)
    admissions = ae_type1[ae_type1["org_code"] == "RWA"].set_index("period")["admissions"].astype(float)
    assert _series(ae_extract, "hull", "acute-ae-admissions-type1").equals(admissions.sort_index().rename("value"))


def test_greater_manchester_follows_the_merger_without_double_counting(ae_extract, ae_type1):
    codes = ae_type1[ae_type1["org_code"].isin(["R0A", "RW3", "RM2"])]
    before = codes[codes["period"] < "2017-10-01"]
    after = codes[codes["period"] >= "2017-10-01"]
    assert set(before["org_code"]) == {"RW3", "RM2"} and set(after["org_code"]) == {"R0A"}
    expected = pd.concat([before.groupby("period")["attendances"].sum(),
                          after.set_index("period")["attendances"]]).astype(float).sort_index()
    got = _series(ae_extract, "greater-manchester", "acute-ae-attendances-type1")
    assert len(got) == 36 and got.index.is_unique
    pd.testing.assert_series_equal(got, expected, check_names=False, check_index_type=False)
    assert got["2017-09-01"] == 12539 + 8227 and got["2017-10-01"] == 22392


def test_a_month_with_both_predecessor_and_successor_counts_one_side_only(tmp_path, catalogue):
    path = tmp_path / "both.csv"
    path.write_text("period,org_code,type,attendances,breaches,admissions\n"
                    "2017-10-01,RW3,1,100,1,10\n2017-10-01,R0A,1,500,1,50\n"
                    "2017-09-01,RW3,1,100,1,10\n2017-09-01,RM2,1,200,1,20\n2017-09-01,R0A,1,999,1,99\n")
    extract = apply_recipe(path, "nhs-ae-attendances", catalogue)
    got = _series(extract, "greater-manchester", "acute-ae-attendances-type1")
    assert got.to_dict() == {"2017-09-01": 300.0, "2017-10-01": 500.0}
    assert any("merged" in note for note in extract.notes)


def test_suppression_codes_become_missing_never_zero(tmp_path, catalogue):
    path = tmp_path / "suppressed.csv"
    path.write_text("period,org_code,type,attendances,breaches,admissions\n"
                    "2018-01-01,RWA,1,*,1,..\n2018-02-01,RWA,1,-,1,7\n")
    extract = apply_recipe(path, "nhs-ae-attendances", catalogue)
    values = extract.frame.set_index(["indicator", "period"])["value"]
    assert values.isna().sum() == 3 and (values.dropna() == 7).all()


def test_a_predecessor_suppressed_in_a_month_makes_the_site_month_missing(tmp_path, catalogue):
    path = tmp_path / "partial.csv"
    path.write_text("period,org_code,type,attendances,breaches,admissions\n"
                    "2017-09-01,RW3,1,100,1,10\n2017-09-01,RM2,1,*,1,20\n")
    got = _series(apply_recipe(path, "nhs-ae-attendances", catalogue), "greater-manchester",
                  "acute-ae-attendances-type1")
    assert got.isna().all()


def test_text_in_a_value_names_the_file_row_and_source_column(tmp_path, catalogue):
    path = tmp_path / "bad.csv"
    path.write_text("period,org_code,type,attendances,breaches,admissions\n"
                    "2018-01-01,RWA,1,100,1,10\n2018-02-01,RWA,1,lots,1,10\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(path, "nhs-ae-attendances", catalogue)
    problem = info.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == ("bad.csv", 3, "attendances", "lots")


def test_a_period_outside_the_window_is_reported_at_its_file_row(tmp_path, catalogue):
    path = tmp_path / "old.csv"
    path.write_text("period,org_code,type,attendances,breaches,admissions\n"
                    "2018-01-01,RXX,1,1,1,1\n2018-01-01,RWA,1,100,1,10\n1999-02-01,RWA,1,100,1,10\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(path, "nhs-ae-attendances", catalogue)
    assert [(p.row, p.column) for p in info.value.problems] == [(4, "period")]


def test_a_file_without_the_recipes_columns_is_refused(tmp_path, catalogue):
    path = tmp_path / "other.csv"
    path.write_text("month,trust,attendances\n2018-01-01,RWA,1\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(path, "nhs-ae-attendances", catalogue)
    problem = info.value.problems[0]
    assert problem.row == 1 and problem.column == "type" and "'type' (nhs-ae-attendances.toml line" in problem.message
    recipe_lines = load_recipe("nhs-ae-attendances").text.splitlines()
    line = next(n for n, text in enumerate(recipe_lines, start=1) if text == 'column = "period"')
    assert f"'period' (nhs-ae-attendances.toml line {line}, period.column)" in problem.message


def test_a_title_block_above_the_header_and_too_few_rows(tmp_path, catalogue):
    recipe = tmp_path / "titled.toml"
    recipe.write_text(GOOD.replace("header_row = 1", "header_row = 3"))
    data = tmp_path / "titled.csv"
    data.write_text("Monthly extract\n\nperiod,site,n,notes\n2019-02-01,hull,5,\n2019-03-01,hull,lots,\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(data, load_recipe(recipe, catalogue), catalogue)
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [(5, "n", "lots")]
    short = tmp_path / "short.csv"
    short.write_text("Monthly extract\n")
    with pytest.raises(ValidationFailed, match="fewer than the recipe's header_row"):
        apply_recipe(short, load_recipe(recipe, catalogue), catalogue)


def test_the_same_month_in_two_files_is_refused(tmp_path, ae_files, catalogue):
    with pytest.raises(ValidationFailed, match="more than one file"):
        apply_recipe_files([ae_files[0], ae_files[0]], "nhs-ae-attendances", catalogue)


def _recipe(tmp_path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


GOOD = """name = "mine"
[read]
header_row = 1
[constants]
project = "aaot"
[period]
column = "period"
[site]
column = "site"
[[measures]]
column = "n"
indicator = "acute-ae-attendances-type1"
"""


@pytest.mark.parametrize(("change", "line", "key", "fix"), [
    (("header_row = 1", "header_row = 1\ncolour = \"red\""), 4, "read.colour", "header_row"),
    (('column = "period"', 'column = "period"\nformat = "%Q"'), 8, "period.format", "%d/%m/%Y"),
    (('indicator = "acute-ae-attendances-type1"', 'indicator = "ae-visits"'), 12, "measures[0].indicator",
     "acute-ae-attendances-type1"),
    (('column = "site"', 'column = "site"\nmatch = "postcode"'), 10, "site.match", "trust_code"),
    (('project = "aaot"', 'project = "nope"'), 5, "constants.project", "pcref"),
])
def test_a_recipe_with_a_mistake_is_refused_with_its_line_and_a_fix(tmp_path, catalogue, change, line, key, fix):
    path = _recipe(tmp_path, GOOD.replace(*change))
    with pytest.raises(RecipeError) as info:
        load_recipe(path, catalogue)
    assert (info.value.line, info.value.key) == (line, key)
    assert fix in info.value.fix and "mine.toml" in str(info.value)


def test_a_good_user_recipe_maps_sites_by_catalogue_id(tmp_path, catalogue):
    data = tmp_path / "mine.csv"
    data.write_text("period,site,n\n01/02/2019,hull,5\n01/03/2019,hull,*\n")
    extract = apply_recipe(data, load_recipe(_recipe(tmp_path, GOOD), catalogue), catalogue)
    assert extract.frame["period"].dt.strftime("%Y-%m").tolist() == ["2019-02", "2019-03"]
    assert extract.frame["value"].iloc[0] == 5 and pd.isna(extract.frame["value"].iloc[1])


def test_unknown_organisation_is_refused_unless_the_recipe_drops_it(tmp_path, catalogue):
    data = tmp_path / "mine.csv"
    data.write_text("period,site,n\n2019-02-01,atlantis,5\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(data, load_recipe(_recipe(tmp_path, GOOD), catalogue), catalogue)
    assert (info.value.problems[0].row, info.value.problems[0].column) == (2, "site")


def test_sites_by_trust_name_and_the_organisation_table(tmp_path, catalogue):
    recipe = GOOD.replace('column = "site"', 'column = "trust"\nmatch = "trust_name"')
    data = tmp_path / "mine.csv"
    data.write_text("period,trust,n\n2019-02-01,Humber Teaching NHS Foundation Trust,5\n")
    extract = apply_recipe(data, load_recipe(_recipe(tmp_path, recipe), catalogue), catalogue)
    assert extract.frame["site"].tolist() == ["hull"]
    organisations = load_organisations().set_index("code")
    assert organisations.loc["RW3", "successor"] == "R0A" and organisations.loc["TAH", "name"].startswith("SHEFFIELD")


def _iapt_expected(real_data_dir, code: str) -> list[tuple[str, float, float, float]]:
    path = real_data_dir / "iapt_monthly_timeseries" / "iapt_table1_feb2019_feb2020.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["Group Type"] == "Provider" and r["Provider Code"] == code]
    return sorted((r["Month / Year (ISO, converted from Excel serial)"][:10], float(r["Referrals Received"]),
                   float(r["First Treatment"]), float(r["Recovery rate"])) for r in rows)


def test_iapt_workbook_ingests_from_table_1_and_matches_the_file(real_data_dir, catalogue, store):
    workbook = real_data_dir / "iapt_monthly_timeseries" / "feb2019_feb2020.xlsx"
    assert openpyxl.load_workbook(workbook, read_only=True).sheetnames[0] == "Title sheet"
    extract = apply_recipe(workbook, "iapt-monthly-wide", catalogue)
    store.ingest(extract, user="test")
    stored = store.series(project="pcref")
    for site, code in (("sheffield", "TAH"), ("manchester", "RXV")):
        rows = stored[stored["site"] == site].pivot(index="period", columns="indicator", values="value")
        got = sorted((f"{p:%Y-%m-%d}", r["iapt-referrals"], r["iapt-first-treatment"], r["iapt-recovery-rate"])
                     for p, r in rows.iterrows())
        expected = _iapt_expected(real_data_dir, code)
        assert len(expected) == 13 and got == expected


def test_iapt_csv_and_workbook_give_the_same_rows(real_data_dir, catalogue):
    folder = real_data_dir / "iapt_monthly_timeseries"
    from_csv = apply_recipe(folder / "iapt_table1_feb2019_feb2020.csv", "iapt-monthly-wide-csv", catalogue).frame
    from_xlsx = apply_recipe(folder / "feb2019_feb2020.xlsx", "iapt-monthly-wide", catalogue).frame
    pd.testing.assert_frame_equal(from_csv, from_xlsx)


def test_known_layouts_are_recognised_by_their_header(real_data_dir, catalogue):
    from mhin_eval import uploads

    folder = real_data_dir / "iapt_monthly_timeseries"
    workbook = (folder / "feb2019_feb2020.xlsx").read_bytes()
    counts = uploads.sheet_rows(workbook)
    assert uploads.data_sheet(counts) == "Table 1" and list(counts)[0] == "Title sheet"
    assert uploads.known_layout(workbook, "w.xlsx", catalogue, "Table 1") == "iapt-monthly-wide"
    csv_bytes = (folder / "iapt_table1_feb2019_feb2020.csv").read_bytes()
    assert uploads.known_layout(csv_bytes, "t.csv", catalogue) == "iapt-monthly-wide-csv"
    plain = b"project,site,indicator,period,value\naaot,hull,ae-attendances,2018-01-01,4\n"
    assert uploads.known_layout(plain, "s.csv", catalogue) is None


def test_a_series_file_naming_a_site_by_trust_code_says_which_site_and_how(catalogue):
    from mhin_eval.schema import prepare_series

    raw = pd.DataFrame({"project": ["aaot", "aaot"], "site": ["RV9", "Nowhere"], "indicator": ["ae-attendances"] * 2,
                        "period": ["2021-01-01", "2021-02-01"], "value": ["4", "5"]})
    problems = {p.value: p for p in prepare_series(raw, catalogue, "f.csv").problems}
    assert "site(s) hull" in problems["RV9"].fix and "trust_code" in problems["RV9"].fix
    assert "trust" not in problems["Nowhere"].fix


def test_a_drafted_recipe_reads_the_file_and_is_saved_once(tmp_path, catalogue):
    from mhin_eval.recipe_drafts import Draft, draft_recipe, draft_text, save_recipe

    data = tmp_path / "trust.csv"
    data.write_text("Month,Trust,Attends,Admits\n01/04/2018,RWA,100,*\n01/04/2018,XYZ,5,5\n")
    draft = Draft("trust-extract", "aaot", "Month", "Trust", "acute_trust",
                  {"Attends": "acute-ae-attendances-type1", "Admits": "acute-ae-admissions-type1"},
                  drop_other_sites=True)
    extract = apply_recipe(data, draft_recipe(draft, catalogue, tmp_path), catalogue)
    assert sorted(extract.frame["value"].fillna(-1)) == [-1, 100]
    saved = save_recipe(draft, catalogue, tmp_path / "recipes")
    assert saved.read_text() == draft_text(draft)
    with pytest.raises(RecipeError, match="already a recipe"):
        save_recipe(draft, catalogue, tmp_path / "recipes")
    with pytest.raises(RecipeError, match="already a recipe"):
        save_recipe(Draft("nhs-ae-attendances", "aaot", "Month", "Trust"), catalogue, tmp_path / "recipes")
    with pytest.raises(RecipeError) as info:
        draft_recipe(Draft("x-y", "aaot", "Month", "Trust", measures={"Attends": "nope"}), catalogue, tmp_path)
    assert info.value.key == "measures[0].indicator"


def test_a_long_file_maps_its_measure_codes_and_scales_values(tmp_path, catalogue):
    recipe = tmp_path / "long.toml"
    recipe.write_text('name = "long"\n[constants]\nproject = "aaot"\n[period]\ncolumn = "month"\n'
                      '[site]\ncolumn = "site"\n[indicator]\ncolumn = "measure"\n'
                      'map = { ATT = "acute-ae-attendances-type1", ADM = "acute-ae-admissions-type1" }\n'
                      '[value]\ncolumn = "thousands"\nscale = 1000\n')
    data = tmp_path / "long.csv"
    data.write_text("month,site,measure,thousands\nApr 2019,hull,ATT,1.5\nApr 2019,hull,ADM,0.25\n"
                    "Apr 2019,hull,XYZ,1\n")
    with pytest.raises(ValidationFailed) as info:
        apply_recipe(data, load_recipe(recipe, catalogue), catalogue)
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [(4, "measure", "XYZ")]
    data.write_text("month,site,measure,thousands\nApr 2019,hull,ATT,1.5\nApr 2019,hull,ADM,0.25\n")
    frame = apply_recipe(data, load_recipe(recipe, catalogue), catalogue).frame
    assert dict(zip(frame["indicator"], frame["value"], strict=True)) == {
        "acute-ae-attendances-type1": 1500.0, "acute-ae-admissions-type1": 250.0}


def test_a_saved_recipe_lives_beside_the_store_and_is_proposed_before_a_shipped_one(
        tmp_path, monkeypatch, catalogue, ae_files, ae_type1):
    from mhin_eval.recipe_drafts import Draft, save_recipe
    from mhin_eval.recipes import recognise, saved_recipes_dir

    monkeypatch.setenv("MHIN_DATA_DIR", str(tmp_path / "store"))
    january, february = (f for f in ae_files if f.name in ("2018-01-01.csv", "2018-02-01.csv"))
    assert recognise(february, catalogue) == "nhs-ae-attendances"
    draft = Draft("my-ae-type1", "aaot", "period", "org_code", "acute_trust",
                  {"attendances": "acute-ae-attendances-type1"}, drop_other_sites=True, filters={"type": "1"})
    saved = save_recipe(draft, catalogue)
    assert saved.parent == saved_recipes_dir() == (tmp_path / "store" / "recipes").resolve()
    assert recipe_names()[0] == "my-ae-type1" and "nhs-ae-attendances" in recipe_names()
    assert recognise(february, catalogue) == "my-ae-type1"
    rows = apply_recipe(january, "my-ae-type1", catalogue).frame
    expected = ae_type1[(ae_type1["period"] == "2018-01-01") & (ae_type1["org_code"] == "RWA")]["attendances"]
    assert rows.set_index("site").loc["hull", "value"] == float(expected.iloc[0])
    assert set(rows["site"]) == {"hull", "greater-manchester"}, "type 1 only, so one row per site and month"


def test_a_saved_recipe_the_catalogue_no_longer_fits_is_never_proposed(tmp_path, monkeypatch, catalogue, ae_files):
    from mhin_eval.recipes import recognise, saved_recipes_dir

    monkeypatch.setenv("MHIN_DATA_DIR", str(tmp_path / "store"))
    saved_recipes_dir().mkdir(parents=True)
    (saved_recipes_dir() / "old.toml").write_text(
        'name = "old"\n[constants]\nproject = "aaot"\n[period]\ncolumn = "period"\n[site]\ncolumn = "org_code"\n'
        'match = "acute_trust"\n[[measures]]\ncolumn = "attendances"\nindicator = "retired-indicator"\n')
    with pytest.raises(RecipeError, match="retired-indicator"):
        load_recipe("old", catalogue)
    assert recognise(ae_files[0], catalogue) == "nhs-ae-attendances"
