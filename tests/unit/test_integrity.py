"""Data integrity (issue 12): implausible periods, mixed encodings, misnamed binary files and swapped day/month
are refused with the file, row, column and fix, and a refused ingest leaves the store exactly as it was."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json

import openpyxl
import pandas as pd
import pytest

from mhin_eval import periods, uploads
from mhin_eval.access import Access, Role
from mhin_eval.catalogue import Catalogue, CatalogueError
from mhin_eval.cli import main
from mhin_eval.loaders import load_extract
from mhin_eval.schema import ValidationFailed

HEADER = "project,site,indicator,period,value,denominator,breakdown,group\n"
FINDINGS_HEADER = b"project,site,date,kind,domain,summary,source,quote\n"
EVALUATOR = Access(user="eve@mhin.nhs.uk", role=Role.EVALUATOR)
TODAY = dt.date(2026, 12, 4)


def series_csv(periods_: list[str], site: str = "hull") -> bytes:
    rows = "".join(f"aaot,{site},ae-attendances,{p},{10 + i},,all,all\n" for i, p in enumerate(periods_))
    return (HEADER + rows).encode()


@pytest.fixture(autouse=True)
def fixed_today():
    with periods.today_is(TODAY):
        yield


@pytest.fixture
def store(store, catalogue):
    """The conftest store (each backend) after one good upload."""
    good = uploads.check_upload(series_csv(["2023-01-01", "2023-02-01", "2023-03-01"]), "good.csv",
                                access=EVALUATOR, store=store, catalogue=catalogue)
    uploads.confirm_upload(good, access=EVALUATOR, store=store)
    return store


def refused(path, catalogue, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        load_extract(path, catalogue=catalogue, **kwargs)
    return info.value


def refused_upload(store, catalogue, data: bytes, name: str):
    """Problems of an upload that must be refused, checking the store is byte-for-byte unchanged."""
    before = (store.checksum(), store.version(), len(store.series()))
    check = uploads.check_upload(data, name, access=EVALUATOR, store=store, catalogue=catalogue)
    assert not check.ok and check.extract is None
    assert (store.checksum(), store.version(), len(store.series())) == before
    return check.problems


# --------------------------------------------------------------------------- 1. plausible periods


def test_periods_outside_the_evaluation_window_are_refused_with_row_and_window(tmp_path, store, catalogue):
    data = series_csv(["2023-04-01", "1899-01-01", "2023-05-01", "2027-01-01", "2031-04-01"])
    problems = refused_upload(store, catalogue, data, "hull-ae.csv")
    located = [(p.file, p.row, p.column, p.value) for p in problems]
    assert located == [
        ("hull-ae.csv", 3, "period", "1899-01-01"),
        ("hull-ae.csv", 5, "period", "2027-01-01"),
        ("hull-ae.csv", 6, "period", "2031-04-01"),
    ]
    early, late, later = problems
    assert early.message == "The period 1899-01 is before the evaluation window, which starts Jan 2015"
    assert "Fix the date" in early.fix and "earliest_period in data/catalogue.toml" in early.fix
    assert late.message.startswith("The period 2027-01 is after the current month (Dec 2026)")
    assert later.message.startswith("The period 2031-04 is after the current month")
    assert "Fix the date" in late.fix
    assert str(early).startswith("hull-ae.csv, row 3, column 'period': The period 1899-01 is before")


def test_window_runs_to_the_current_month_from_the_clock(tmp_path, catalogue):
    path = tmp_path / "now.csv"
    path.write_bytes(series_csv(["2026-12-01"]))
    assert len(load_extract(path, catalogue=catalogue).frame) == 1
    with periods.today_is(dt.date(2026, 11, 30)):
        problem = refused(path, catalogue).problems[0]
    assert "after the current month (Nov 2026)" in problem.message
    window = periods.evaluation_window(catalogue, dt.date(2024, 7, 15))
    assert (window.earliest, window.latest) == (pd.Timestamp("2015-01-01"), pd.Timestamp("2024-07-01"))


def test_earliest_period_setting_is_checked(catalogue):
    assert catalogue.setting("earliest_period") == "2015-01"
    broken = Catalogue(projects=(), sites=(), indicators=(), settings={"earliest_period": "soon"})
    with pytest.raises(CatalogueError, match="earliest_period"):
        periods.evaluation_window(broken)


def test_window_applies_to_participant_findings_and_published_dates(tmp_path, catalogue):
    findings = tmp_path / "findings.csv"
    findings.write_bytes(FINDINGS_HEADER + b"aaot,hull,2031-04-09,barrier,process,Staff time,survey,\n")
    problem = refused(findings, catalogue).problems[0]
    assert (problem.row, problem.column) == (2, "date")
    assert problem.message.startswith("The date 2031-04-09 is after the current month")


def test_demo_and_shipped_files_are_inside_the_window(catalogue):
    from mhin_eval.catalogue import PROJECT_ROOT

    for path in sorted((PROJECT_ROOT / "data" / "demo").glob("*.csv")):
        load_extract(path, catalogue=catalogue)


# --------------------------------------------------------------------------- 2. encodings and file types


def findings_rows(*summaries: bytes) -> bytes:
    rows = b"".join(b"aaot,hull,2022-0%d-01,barrier,process,%s,survey,\n" % (n + 1, s) for n, s in enumerate(summaries))
    return FINDINGS_HEADER + rows


def test_a_file_mixing_utf8_and_windows_1252_is_refused_naming_the_row(store, catalogue):
    data = findings_rows(b"Staff at Ynys M\xc3\xb4n", b"Rota gaps", b"Cover at Ynys M\xf4n")
    problems = refused_upload(store, catalogue, data, "findings.csv")
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.row, problem.column) == ("findings.csv", 4, "summary")
    assert problem.value == "Cover at Ynys Môn"
    assert "mixes two text encodings" in problem.message and "row 2 is saved as UTF-8 (e.g. 'ô')" in problem.message
    assert "0xF4" in problem.message
    assert problem.fix.startswith("Save the file as UTF-8")


def test_a_whole_windows_1252_file_is_read_with_its_accents(tmp_path, catalogue):
    path = tmp_path / "findings.csv"
    path.write_bytes(findings_rows(b"Staff at Ynys M\xf4n", b"Caf\xe9 meetings"))
    extract = load_extract(path, catalogue=catalogue)
    assert list(extract.frame["summary"]) == ["Staff at Ynys Môn", "Café meetings"]
    assert any("Windows-1252" in n for n in extract.notes)


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused(tmp_path, catalogue):
    path = tmp_path / "findings.csv"
    path.write_bytes(findings_rows(b"Rota gaps", b"Odd \x81 byte"))
    problem = refused(path, catalogue).problems[0]
    assert (problem.row, problem.column) == (3, "summary")
    assert "not text in UTF-8 or Windows-1252" in problem.message and "Save the file as UTF-8" in problem.fix


def test_utf8_bom_file_with_a_windows_1252_byte_is_mixed(tmp_path, catalogue):
    path = tmp_path / "findings.csv"
    path.write_bytes(b"\xef\xbb\xbf" + findings_rows(b"Ynys M\xf4n"))
    problem = refused(path, catalogue).problems[0]
    assert problem.row == 2 and "mixes two text encodings" in problem.message


def workbook_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["project", "site", "indicator", "period", "value"])
    book.active.append(["aaot", "hull", "ae-attendances", "2023-04-01", 10])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message", "fix"),
    [
        ("hull.csv", gzip.compress(series_csv(["2023-04-01"])), "This is a gzip-compressed file, not a CSV",
         "Decompress it first"),
        ("hull.csv", workbook_bytes(), "This is an Excel workbook saved with a .csv name, not a CSV",
         "upload it as .xlsx"),
        ("hull.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "This is a PDF document, not a CSV",
         "A PDF table cannot be read"),
        ("hull.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is a PNG image, not a CSV", "Export the table"),
        ("hull.csv", b"PAR1\x15\x04\x15\x10", "This is a Parquet file saved with a .csv name, not a CSV",
         "Name it .parquet"),
        ("hull.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64,
         "This is an old-style Excel workbook (.xls) saved with a .csv name, not a CSV", "save it as an .xlsx"),
        ("hull.csv", HEADER.encode() + b"aaot,hull,ae\x00\x00\x00\x01,2023-04-01,1,,all,all\n",
         "This is not a text file: it holds binary data (byte 0x00 in row 2)", "CSV UTF-8"),
        ("hull.xlsx", b"PK\x03\x04\x14\x00\x00\x00broken", "This is not a valid Excel workbook",
         "save it again as .xlsx"),
        ("hull.xlsx", series_csv(["2023-04-01"]), "The file is named .xlsx but holds text", "Rename it to .csv"),
        ("hull.parquet", workbook_bytes(), "This is an Excel workbook saved with a .parquet name", "upload it as .xlsx"),
        ("hull.csv", b"", "The file is empty", "Export the data again"),
        ("hull.csv", b" \r\n\n", "The file is empty", "Export the data again"),
        ("hull.csv", HEADER.encode(), "The file has column names but no rows of data", "Add the data rows"),
    ],
    ids=["gzip", "xlsx-as-csv", "pdf", "png", "parquet-as-csv", "xls-as-csv", "nul-bytes", "broken-xlsx",
         "text-as-xlsx", "xlsx-as-parquet", "empty", "blank", "header-only"],
)
def test_files_that_are_not_what_their_name_says_are_refused_as_such(store, catalogue, name, data, message, fix):
    problems = refused_upload(store, catalogue, data, name)
    assert len(problems) == 1
    assert problems[0].file == name
    assert problems[0].message.startswith(message), problems[0].message
    assert fix in problems[0].fix


def test_the_upload_named_xlsx_is_read_from_the_same_bytes(tmp_path, catalogue):
    path = tmp_path / "hull.xlsx"
    path.write_bytes(workbook_bytes())
    assert load_extract(path, catalogue=catalogue).source_format == "xlsx"


# --------------------------------------------------------------------------- 3. one period parser


def test_iso_and_day_first_periods_load_the_same_frame(tmp_path, catalogue):
    iso = tmp_path / "iso.csv"
    iso.write_bytes(series_csv(["2023-04-01", "2023-05", "Jun 2023"]))
    uk = tmp_path / "uk.csv"
    uk.write_bytes(series_csv(["01/04/2023", "1/5/2023", "01-06-2023"]))
    pd.testing.assert_frame_equal(load_extract(iso, catalogue=catalogue).frame, load_extract(uk, catalogue=catalogue).frame)


def test_excel_datetime_cells_are_periods(tmp_path, catalogue):
    book = openpyxl.Workbook()
    book.active.append(["project", "site", "indicator", "period", "value"])
    book.active.append(["aaot", "hull", "ae-attendances", dt.datetime(2023, 4, 1), 10])
    book.active.append(["aaot", "hull", "ae-attendances", dt.datetime(2023, 5, 1, 9, 30), 11])
    path = tmp_path / "hull.xlsx"
    book.save(path)
    frame = load_extract(path, catalogue=catalogue).frame
    assert list(frame["period"]) == [pd.Timestamp("2023-04-01"), pd.Timestamp("2023-05-01")]


def test_a_lone_us_date_is_refused_not_read_as_january(store, catalogue):
    data = series_csv(["2021-07-01", "2021-08-01", "9/1/2021"])
    problems = refused_upload(store, catalogue, data, "hull.csv")
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == ("hull.csv", 4, "period", "9/1/2021")
    assert "day and month may be swapped" in problem.message and "9 January 2021" in problem.message
    assert "1 September 2021" in problem.message
    assert "year-month-day, e.g. 2021-09-01" in problem.fix


def test_a_month_first_column_is_refused_as_a_whole(tmp_path, catalogue):
    path = tmp_path / "hull.csv"
    path.write_bytes(series_csv(["9/1/2021", "10/1/2021", "11/1/2021", "12/1/2021"]))
    problems = refused(path, catalogue).problems
    assert len(problems) == 1 and problems[0].row == 2 and "may be swapped" in problems[0].message


def test_a_date_valid_only_month_first_is_refused_with_its_row(tmp_path, catalogue):
    path = tmp_path / "hull.csv"
    path.write_bytes(series_csv(["01/08/2021", "9/13/2021", "01/10/2021"]))
    problems = refused(path, catalogue).problems
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "period", "9/13/2021")]
    assert "reads only month first" in problems[0].message
    assert problems[0].fix.startswith("Write it day first (13/09/2021) or as year-month-day (2021-09-13)")


def test_day_first_dates_that_are_not_month_starts_are_fine():
    reading = periods.read_dates(pd.Series(["05/03/2023", "07/04/2023", "2023-05-09"]))
    assert not reading.swapped and not reading.problems.any()
    assert list(reading.values) == [pd.Timestamp("2023-03-05"), pd.Timestamp("2023-04-07"), pd.Timestamp("2023-05-09")]


def test_single_values_are_read_day_first():
    assert periods.parse_period("01/04/2021") == pd.Timestamp("2021-04-01")
    assert periods.as_timestamp("2021-04") == pd.Timestamp("2021-04-01")
    with pytest.raises(periods.PeriodError, match="reads only month first"):
        periods.parse_period("4/13/2021")


def its_inputs(tmp_path) -> tuple[str, str]:
    months = pd.date_range("2019-01-01", periods=36, freq="MS")
    values = [40 + (i % 5) + (6 if m >= pd.Timestamp("2020-07-01") else 0) for i, m in enumerate(months)]
    iso, uk = tmp_path / "iso.csv", tmp_path / "uk.csv"
    pd.DataFrame({"period": months.strftime("%Y-%m-%d"), "value": values}).to_csv(iso, index=False)
    pd.DataFrame({"period": months.strftime("%d/%m/%Y"), "value": values}).to_csv(uk, index=False)
    return str(iso), str(uk)


def run_json(capsys, *args) -> dict:
    assert main(list(args)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_analyse_its_gives_the_same_output_for_iso_and_day_first_periods(tmp_path, capsys):
    iso, uk = its_inputs(tmp_path)
    common = ["--time", "period", "--family", "gaussian"]
    from_iso = run_json(capsys, "analyse", "its", "--input", iso, "--intervention", "2020-07-01", *common)
    from_uk = run_json(capsys, "analyse", "its", "--input", uk, "--intervention", "01/07/2020", *common)
    assert from_iso == from_uk
    assert from_iso["n_pre"] == 18 and from_iso["n_post"] == 18


def test_analyse_spc_gives_the_same_output_for_iso_and_day_first_periods(tmp_path, capsys):
    iso, uk = its_inputs(tmp_path)
    from_iso = run_json(capsys, "analyse", "spc", "--input", iso, "--rebase-at", "2020-07-01")
    from_uk = run_json(capsys, "analyse", "spc", "--input", uk, "--rebase-at", "01/07/2020")
    assert from_iso == from_uk
    assert from_iso["points"][0]["time"].startswith("2019-01-01")
    assert from_iso["points"][1]["time"].startswith("2019-02-01")


def test_analyse_refuses_a_swapped_time_column_and_a_misnamed_file(tmp_path, capsys):
    path = tmp_path / "us.csv"
    pd.DataFrame({"period": ["9/1/2021", "10/1/2021", "11/1/2021"], "value": [1, 2, 3]}).to_csv(path, index=False)
    assert main(["analyse", "spc", "--input", str(path)]) == 2
    assert "day and month may be swapped" in capsys.readouterr().err
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(b"period,value\n2021-01-01,1\n"))
    assert main(["analyse", "spc", "--input", str(packed)]) == 2
    assert "gzip-compressed file, not a CSV" in capsys.readouterr().err


def test_cli_ingest_of_an_implausible_period_leaves_the_store_unchanged(tmp_path, capsys, store):
    path = tmp_path / "hull.csv"
    path.write_bytes(series_csv(["2023-06-01", "1899-01-01"]))
    before = (store.checksum(), store.version())
    assert main(["--data-dir", str(store.data_dir), "ingest", str(path)]) == 1
    err = capsys.readouterr().err
    assert "hull.csv, row 3, column 'period': The period 1899-01 is before the evaluation window" in err
    assert (store.checksum(), store.version()) == before


def test_validate_command_refuses_a_gzip_without_a_traceback(tmp_path):
    import subprocess
    import sys

    from mhin_eval.catalogue import PROJECT_ROOT

    path = tmp_path / "hull.csv"
    path.write_bytes(gzip.compress(series_csv(["2023-04-01"])))
    done = subprocess.run([sys.executable, "-m", "mhin_eval", "--data-dir", str(tmp_path / "store"), "validate",
                           str(path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[1] == (
        "hull.csv: This is a gzip-compressed file, not a CSV. Fix: Decompress it first (7-Zip, or `gunzip` on the "
        "command line) and upload the file inside."
    )


def test_rows_one_cell_longer_than_the_header_are_not_shifted(tmp_path, catalogue):
    path = tmp_path / "hull.csv"
    header = "project,site,indicator,period,value\n"
    path.write_text(header + "aaot,hull,ae-attendances,2023-01-01,3,\naaot,hull,ae-attendances,2023-02-01,4,\n")
    frame = load_extract(path, catalogue=catalogue).frame
    assert list(frame["site"]) == ["hull", "hull"] and list(frame["value"]) == [3.0, 4.0]
    path.write_text(header + "aaot,hull,ae-attendances,2023-01-01,3,\naaot,hull,ae-attendances,2023-02-01,4,x\n")
    problem = refused(path, catalogue).problems[0]
    assert problem.row == 3 and problem.message == "This row has more cells than there are column names"
