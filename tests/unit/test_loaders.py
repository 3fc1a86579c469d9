"""File formats and encodings: CSV (UTF-8, BOM, cp1252, semicolons), xlsx sheets, Parquet, large files."""

from __future__ import annotations

import hashlib
import time
import tomllib

import openpyxl
import pandas as pd
import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, parse_catalogue
from mhin_eval.loaders import decode_text, detect_kind, list_sheets, load_extract
from mhin_eval.schema import ValidationFailed
from mhin_eval.vocabulary import with_groups

HEADER = "project,site,indicator,period,value,denominator,breakdown,group"
ROWS = [
    "pcref,sheffield,mha-detentions,2023-04-01,12,52000,ethnicity,Café – Black or Black British",
    "pcref,sheffield,mha-detentions,2023-05-01,9,52000,ethnicity,Café – Black or Black British",
]
TEXT = "\n".join([HEADER, *ROWS]) + "\n"


@pytest.fixture(scope="module")
def catalogue():
    """The catalogue with two non-ASCII ethnic groups, so that encodings are checked on group labels that
    validation keeps as written (the real vocabulary's labels are ASCII), and the invented groups of
    ``large_series_frame``."""
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    ethnicity = next(b for b in data["breakdowns"] if b["id"] == "ethnicity")
    ethnicity["groups"] += [{"label": "Café – Black or Black British"}, {"label": "Irish – Café owner"}]
    return with_groups(parse_catalogue(data), "ethnicity", [f"Group {g:04d}" for g in range(1000)])


def refused(path, catalogue, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        load_extract(path, catalogue=catalogue, **kwargs)
    return info.value


# --------------------------------------------------------------------------- encodings and CSV dialects


def test_utf8_with_bom_reads_names_intact(tmp_path, catalogue):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    extract = load_extract(path, catalogue=catalogue)
    assert list(extract.frame.columns)[0] == "project"
    assert extract.frame["group"].iloc[0] == "Café – Black or Black British"
    assert any("BOM" in n for n in extract.notes)


def test_cp1252_file_reads_names_intact(tmp_path, catalogue):
    path = tmp_path / "excel_windows.csv"
    data = TEXT.replace("\n", "\r\n").encode("cp1252")
    assert b"Caf\xe9 \x96 Black" in data, "really cp1252 bytes, not UTF-8"
    path.write_bytes(data)
    extract = load_extract(path, catalogue=catalogue)
    assert extract.frame["group"].tolist() == ["Café – Black or Black British"] * 2
    assert any("Windows-1252" in n for n in extract.notes)


def test_cp1252_participant_attribute(tmp_path, catalogue):
    text = (
        "project,site,participant_id,measure,timepoint,value,ethnicity\r\n"
        "aaot,hull,H1,alcohol-units,baseline,42,Irish – Café owner\r\n"
    )
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode("cp1252"))
    assert load_extract(path, catalogue=catalogue).frame["ethnicity"].iloc[0] == "Irish – Café owner"


def test_decode_text_order():
    assert decode_text("Café".encode())[1] == "UTF-8"
    assert decode_text(b"\xef\xbb\xbfCaf\xc3\xa9") == ("Café", "UTF-8 with BOM")
    assert decode_text(b"Caf\xe9") == ("Café", "Windows-1252")
    assert decode_text("Café".encode("utf-16")) == ("Café", "UTF-16")


def test_semicolon_separated_csv(tmp_path, catalogue):
    path = tmp_path / "semi.csv"
    path.write_text(TEXT.replace(",", ";"), encoding="utf-8")
    extract = load_extract(path, catalogue=catalogue)
    assert extract.frame["value"].tolist() == [12.0, 9.0]


def test_blank_lines_keep_row_numbers_as_in_the_file(tmp_path, catalogue):
    text = HEADER + "\n" + ROWS[0] + "\n\n" + "pcref,sheffield,mha-detentions,2023-06-01,oops,52000,all,all\n"
    path = tmp_path / "blank.csv"
    path.write_text(text, encoding="utf-8")
    problem = refused(path, catalogue).problems[0]
    assert (problem.row, problem.column, problem.value) == (4, "value", "oops")


def test_ragged_row_is_located(tmp_path, catalogue):
    text = HEADER + "\n" + ROWS[0] + "\n" + "pcref,sheffield,mha-detentions,2023-06-01,3,52000,all,all,extra\n"
    path = tmp_path / "ragged.csv"
    path.write_text(text, encoding="utf-8")
    problem = refused(path, catalogue).problems[0]
    assert problem.row == 3 and "more cells than there are column names" in problem.message
    assert "quotes" in problem.fix


def test_trailing_separators_from_spreadsheets_are_ignored(tmp_path, catalogue):
    path = tmp_path / "trailing.csv"
    path.write_text("\n".join(line + ",," for line in [HEADER, *ROWS]) + "\n", encoding="utf-8")
    extract = load_extract(path, catalogue=catalogue)
    assert len(extract.frame) == 2 and any("without a name" in n for n in extract.notes)


def test_extract_records_sha256_and_file_name(tmp_path, catalogue):
    path = tmp_path / "tmp_upload_123.csv"
    path.write_text(TEXT, encoding="utf-8")
    extract = load_extract(path, catalogue=catalogue, file_name="sheffield_april.csv")
    assert extract.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert extract.file_name == "sheffield_april.csv" and extract.source_format == "csv"
    path.write_text(TEXT.replace(",12,", ",x,"), encoding="utf-8")
    assert refused(path, catalogue, file_name="sheffield_april.csv").problems[0].file == "sheffield_april.csv"


def test_unrecognised_columns(tmp_path, catalogue):
    path = tmp_path / "what.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    problem = refused(path, catalogue).problems[0]
    assert problem.row == 1 and "do not match" in problem.message and "participant_id" in problem.fix


def test_detect_kind_from_columns():
    assert detect_kind(["Project", "Site", "Indicator", "Period", "Value"]) == "series"
    assert detect_kind(["project", "site", "Participant ID", "measure", "timepoint", "value"]) == "participants"
    assert detect_kind(["REPORTING_PERIOD_START", "MEASURE_ID", "MEASURE_VALUE"]) == "nhs-long"
    assert detect_kind(["Year", "OrgID", "Total_Count", "CrudeRate", "DemographicBreakdown"]) == "mha-annual"


def test_column_names_in_other_case_and_spacing_are_accepted(tmp_path, catalogue):
    path = tmp_path / "caps.csv"
    path.write_text("Project,Site,Participant ID,Measure,Timepoint,Value\naaot,hull,7,alcohol-units,Baseline,30\n",
                    encoding="utf-8")
    frame = load_extract(path, catalogue=catalogue).frame
    assert frame.loc[0, "participant_id"] == "7" and frame.loc[0, "timepoint"] == "baseline"


# --------------------------------------------------------------------------- Excel


def write_workbook(path, sheets: dict[str, list[list]]):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


SERIES_ROWS = [
    HEADER.split(","),
    ["aaot", "hull", "ae-attendances", pd.Timestamp("2023-04-01").to_pydatetime(), 41, 60, "all", "all"],
    ["aaot", "hull", "ae-attendances", "01/05/2023", 38, 60, None, None],
]


def test_excel_single_sheet_with_real_date_cells(tmp_path, catalogue):
    path = tmp_path / "one.xlsx"
    write_workbook(path, {"Data": SERIES_ROWS})
    extract = load_extract(path, catalogue=catalogue)
    assert extract.source_format == "xlsx"
    assert extract.frame["period"].tolist() == [pd.Timestamp("2023-04-01"), pd.Timestamp("2023-05-01")]
    assert extract.frame["value"].tolist() == [41.0, 38.0]


def test_excel_with_several_sheets_is_refused_with_the_sheet_names(tmp_path, catalogue):
    path = tmp_path / "several.xlsx"
    write_workbook(path, {"Notes": [["read me"]], "Data": SERIES_ROWS, "Chart": [["x"]]})
    assert list_sheets(path) == ["Notes", "Data", "Chart"]
    problem = refused(path, catalogue).problems[0]
    assert "3 sheets ('Notes', 'Data', 'Chart')" in problem.message
    assert "--sheet" in problem.fix and "sheet=" in problem.fix
    extract = load_extract(path, catalogue=catalogue, sheet="Data")
    assert len(extract.frame) == 2 and any("Data" in n for n in extract.notes)
    wrong = refused(path, catalogue, sheet="Dta").problems[0]
    assert "no sheet named 'Dta'" in wrong.message and "'Data'" in wrong.fix


def test_excel_numbers_as_ids_and_errors_located(tmp_path, catalogue):
    path = tmp_path / "participants.xlsx"
    write_workbook(path, {"Sheet1": [
        ["project", "site", "participant_id", "measure", "timepoint", "value", "date"],
        ["aaot", "hull", 1001, "alcohol-units", "baseline", 52.5, pd.Timestamp("2022-01-10").to_pydatetime()],
        ["aaot", "hull", 1001, "alcohol-units", "follow-up", "n/a", None],
        [None, None, None, None, None, None, None],
        ["aaot", "hull", 1002, "psychological-health", "baseline", 130, None],
    ]})
    problems = refused(path, catalogue).problems
    assert [(p.row, p.column, p.value) for p in problems] == [(5, "value", "130")]
    path2 = tmp_path / "participants_ok.xlsx"
    write_workbook(path2, {"Sheet1": [
        ["project", "site", "participant_id", "measure", "timepoint", "value", "date"],
        ["aaot", "hull", 1001, "alcohol-units", "baseline", 52.5, pd.Timestamp("2022-01-10").to_pydatetime()],
    ]})
    frame = load_extract(path2, catalogue=catalogue).frame
    assert frame.loc[0, "participant_id"] == "1001" and frame.loc[0, "date"] == pd.Timestamp("2022-01-10")


def test_old_xls_and_misnamed_files_are_refused(tmp_path, catalogue):
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "old-style Excel" in refused(xls, catalogue).problems[0].message
    fake = tmp_path / "fake.xlsx"
    fake.write_text(TEXT, encoding="utf-8")
    assert "named .xlsx but holds text" in refused(fake, catalogue).problems[0].message


# --------------------------------------------------------------------------- Parquet


def test_parquet_with_typed_columns(tmp_path, catalogue):
    frame = pd.DataFrame(
        {
            "project": ["parent-cbt"] * 3,
            "site": ["east-of-england"] * 3,
            "indicator": ["families-started"] * 3,
            "period": pd.to_datetime(["2022-01-01", "2022-01-01", "2022-02-01"]),
            "value": [7, 3, 8],
            "denominator": [float("nan")] * 3,
            "breakdown": ["delivery_mode"] * 3,
            "group": ["online", "face-to-face", "online"],
        }
    )
    path = tmp_path / "series.parquet"
    frame.to_parquet(path, engine="pyarrow")
    extract = load_extract(path, catalogue=catalogue)
    assert extract.source_format == "parquet" and extract.kind == "series"
    assert extract.frame["value"].tolist() == [7.0, 3.0, 8.0]
    assert extract.frame["period"].dtype == "datetime64[ns]"
    frame.loc[2, "value"] = -8
    frame.to_parquet(path, engine="pyarrow")
    problem = refused(path, catalogue).problems[0]
    assert (problem.row, problem.column, problem.value) == (4, "value", "-8")


# --------------------------------------------------------------------------- large files


def large_series_frame(rows: int) -> pd.DataFrame:
    """Well-formed PCREF rows: 120 months (inside the evaluation window) for each of many (site, ethnic group) pairs, all keys unique."""
    months = pd.date_range("2015-01-01", periods=120, freq="MS").strftime("%Y-%m-%d").to_numpy()
    index = pd.RangeIndex(rows)
    stratum = index // len(months)
    return pd.DataFrame(
        {
            "project": "pcref",
            "site": ["sheffield" if s % 2 == 0 else "manchester" for s in stratum],
            "indicator": "mha-detentions",
            "period": months[index % len(months)],
            "value": (index % 37).astype(str),
            "denominator": "50000",
            "breakdown": "ethnicity",
            "group": [f"Group {s // 2:04d}" for s in stratum],
        }
    )


def test_200000_row_file_validates_and_finds_the_planted_errors(tmp_path, catalogue):
    frame = large_series_frame(200_000)
    frame.loc[149_998, "value"] = "twelve"       # file row 150,000
    frame.loc[99_998, "period"] = "2023/13/01"   # file row 100,000
    frame.loc[20_000, "site"] = "hull"           # file row 20,002
    path = tmp_path / "large.csv"
    frame.to_csv(path, index=False)
    start = time.perf_counter()
    failure = refused(path, catalogue)
    elapsed = time.perf_counter() - start
    assert elapsed < 60, "sanity bound only; bench/validate.py prints the real figure"
    located = [(p.row, p.column, p.value) for p in failure.problems]
    assert (150_000, "value", "twelve") in located
    assert (100_000, "period", "2023/13/01") in located
    assert (20_002, "site", "hull") in located
    assert len(failure.problems) == 3
