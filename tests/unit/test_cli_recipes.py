"""`python -m mhin_eval recipes`, and `validate` / `ingest` with `--recipe` on the real NHS files."""

from __future__ import annotations

from mhin_eval.store import Store
from tests.unit.test_cli import run


def test_recipes_lists_the_shipped_ones():
    result = run("recipes")
    assert result.returncode == 0, result.stderr
    names = [line.split(" ")[0].rstrip(":") for line in result.stdout.splitlines()]
    assert {"nhs-ae-attendances", "iapt-monthly-wide", "iapt-monthly-wide-csv"} <= set(names)


def test_ingest_of_36_ae_files_is_one_ingest(real_data_dir, tmp_path):
    files = sorted((real_data_dir / "ae_attendances_nhsrdatasets").glob("*.csv"))
    result = run("ingest", *files, "--recipe", "nhs-ae-attendances", data_dir=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    history = Store(tmp_path / "store").history()
    assert len(history) == 1 and "144 rows added" in result.stdout


def test_one_bad_file_among_several_stores_nothing(real_data_dir, tmp_path):
    bad = tmp_path / "2019-04-01.csv"
    bad.write_text("period,org_code,type,attendances,breaches,admissions\n2019-04-01,RWA,1,many,1,1\n")
    good = real_data_dir / "ae_attendances_nhsrdatasets" / "2019-03-01.csv"
    result = run("ingest", good, bad, "--recipe", "nhs-ae-attendances", data_dir=tmp_path / "store")
    assert result.returncode == 1
    assert "2019-04-01.csv, row 2, column 'attendances'" in result.stderr
    assert Store(tmp_path / "store").history().empty


def test_validate_workbook_with_recipe_reads_table_1(real_data_dir, tmp_path):
    workbook = real_data_dir / "iapt_monthly_timeseries" / "feb2019_feb2020.xlsx"
    result = run("validate", workbook, "--recipe", "iapt-monthly-wide", data_dir=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    assert "78 series rows; 2 site(s): manchester, sheffield; 2019-02 to 2020-02" in result.stdout


def test_an_unknown_recipe_is_refused_with_the_shipped_names(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = run("validate", path, "--recipe", "no-such-recipe", data_dir=tmp_path / "store")
    assert result.returncode == 1 and "nhs-ae-attendances" in result.stderr


def test_several_files_without_a_recipe_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = run("validate", path, path, data_dir=tmp_path / "store")
    assert result.returncode == 1 and "--recipe" in result.stderr


def test_sheet_overrides_the_recipes_sheet(real_data_dir, tmp_path):
    workbook = real_data_dir / "iapt_monthly_timeseries" / "feb2019_feb2020.xlsx"
    result = run("validate", workbook, "--recipe", "iapt-monthly-wide", "--sheet", "Title sheet",
                 data_dir=tmp_path / "store")
    assert result.returncode == 1 and "Title sheet" not in result.stdout
    assert "names column(s) the file does not have" in result.stderr
