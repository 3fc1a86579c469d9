"""Property tests of validation (issue 12): whatever bytes arrive, `validate` ends with a valid result or a
refusal listing located problems with a fix, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mhin_eval import periods
from mhin_eval.cli import main
from mhin_eval.loaders import Extract, load_extract
from mhin_eval.schema import SERIES_COLUMNS, ValidationFailed

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SUFFIXES = (".csv", ".xlsx", ".parquet", ".txt", ".xls", "")
MAGIC = (b"", b"\x1f\x8b", b"PK\x03\x04", b"%PDF", b"PAR1", b"\xd0\xcf\x11\xe0", b"\xef\xbb\xbf", b"\xff\xfe",
         b"\xfe\xff", b"project,site,indicator,period,value\n",
         b"REPORTING_PERIOD_START,REPORTING_PERIOD_END,STATUS,BREAKDOWN,PRIMARY_LEVEL,PRIMARY_LEVEL_DESCRIPTION,"
         b"SECONDARY_LEVEL,SECONDARY_LEVEL_DESCRIPTION,MEASURE_ID,MEASURE_NAME,MEASURE_VALUE\n",
         b"source,period_start,period_end,period_type,breakdown,org_code,org_name,secondary_code,secondary_name,"
         b"measure_id,measure_name,demographic,group,statistic,value,published_value\n",
         b"project,site,participant_id,measure,timepoint,value,date\n",
         b"project,site,instrument,assessment_date,respondent,item,score\n")


def check_outcome(path: Path, catalogue, name: str) -> None:
    """A valid extract, or ValidationFailed whose every problem names the file and says what to do."""
    try:
        outcome = load_extract(path, catalogue=catalogue, file_name=name)
    except ValidationFailed as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == name and problem.message and problem.fix
        assert exc.report().startswith(f"{name}: ")
        return
    assert isinstance(outcome, Extract)


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as folder, periods.today_is(dt.date(2026, 12, 4)):
        yield Path(folder)


@FUZZ
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=600), suffix=st.sampled_from(SUFFIXES))
def test_any_bytes_end_in_a_result_or_a_located_refusal(workdir, catalogue, prefix, body, suffix):
    name = f"upload{suffix}"
    path = workdir / name
    path.write_bytes(prefix + body)
    check_outcome(path, catalogue, name)


PERIODS = st.one_of(
    st.dates(dt.date(1890, 1, 1), dt.date(2035, 12, 31)).map(lambda d: d.strftime("%Y-%m-%d")),
    st.dates(dt.date(2014, 1, 1), dt.date(2027, 12, 31)).flatmap(
        lambda d: st.sampled_from([d.strftime(f) for f in ("%d/%m/%Y", "%m/%d/%Y", "%-d/%-m/%y", "%Y-%m", "%b %Y")])
    ),
    st.text(max_size=12),
)
NUMBERS = st.one_of(st.integers(-5, 10**6).map(str), st.floats(allow_nan=True).map(str), st.text(max_size=8),
                    st.sampled_from(["", "n/a", "1,234", "12.5", "*"]))
CELLS = {
    "project": st.sampled_from(["aaot", "pcref", "parent-cbt", "", "AAOT", "other"]),
    "site": st.sampled_from(["hull", "sheffield", "manchester", "leeds", ""]),
    "indicator": st.sampled_from(["ae-attendances", "mha-detentions", "referrals", "gad7", ""]),
    "period": PERIODS,
    "value": NUMBERS,
    "denominator": NUMBERS,
    "breakdown": st.sampled_from(["all", "", "ethnicity", "delivery_mode", "x"]),
    "group": st.one_of(st.sampled_from(["all", "", "Black or Black British", "Ynys Môn"]), st.text(max_size=10)),
}
ROWS = st.lists(st.fixed_dictionaries(CELLS), min_size=0, max_size=12)


@FUZZ
@given(rows=ROWS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
       columns=st.sampled_from([SERIES_COLUMNS, SERIES_COLUMNS[:5], ("project", "site", "period", "value")]))
def test_random_cells_in_the_right_columns_end_in_a_result_or_a_located_refusal(workdir, catalogue, rows,
                                                                              encoding, columns):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = workdir / "series.csv"
    path.write_bytes(out.getvalue().encode(encoding, errors="replace"))
    check_outcome(path, catalogue, "series.csv")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=300))
def test_the_validate_command_exits_0_or_1_with_a_message(workdir, capsys, prefix, body):
    path = workdir / "cli.csv"
    path.write_bytes(prefix + body)
    code = main(["--data-dir", str(workdir / "store"), "validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    if code == 1:
        assert err.startswith("cli.csv: ") and "Fix:" in err and "Traceback" not in err
    else:
        assert out.startswith("cli.csv: valid")


HEADERS = [line.decode().strip().split(",") for line in MAGIC[-4:]] + [
    ["Year", "Measure", "measureSubcategory", "Demographic", "DemographicBreakdown", "OrganisationBreakdown",
     "Datasource", "OrgID", "OrgName", "MHSDS_Count", "Acute_Count", "Total_Count", "CrudeRate", "StdRate",
     "Confidence_interval"],
    ["project", "site", "date", "kind", "domain", "summary", "source", "quote"],
]
ANY_CELL = st.one_of(PERIODS, NUMBERS, st.sampled_from(
    ["aaot", "hull", "pcref", "sheffield", "baseline", "follow-up", "gad7", "psat", "barrier", "process", "survey",
     "2023/24", "England", "month", "value", "*"]))


@FUZZ
@given(header=st.sampled_from(HEADERS), rows=st.lists(st.lists(ANY_CELL, max_size=17), max_size=8),
       encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_ragged_rows_of_every_layout_end_in_a_result_or_a_located_refusal(workdir, catalogue, header, rows, encoding):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    path = workdir / "layout.csv"
    path.write_bytes(out.getvalue().encode(encoding, errors="replace"))
    check_outcome(path, catalogue, "layout.csv")


def test_a_published_file_with_an_empty_or_text_value_is_read_or_refused_at_its_cell(tmp_path, catalogue):
    """Found by the ragged-rows property: an empty value in the canonical published layout crashed the loader."""
    from mhin_eval.loaders import load_extract
    from mhin_eval.schema import PUBLISHED_COLUMNS, ValidationFailed

    row = {c: "x" for c in PUBLISHED_COLUMNS} | {"period_start": "2024-04-01", "period_end": "2024-04-30",
                                               "published_value": "*"}
    empty = tmp_path / "empty.csv"
    pd.DataFrame([row | {"value": ""}]).to_csv(empty, index=False)
    assert load_extract(empty, catalogue=catalogue).frame["value"].isna().all()
    text = tmp_path / "text.csv"
    pd.DataFrame([row | {"value": "abc"}]).to_csv(text, index=False)
    with pytest.raises(ValidationFailed) as refused:
        load_extract(text, catalogue=catalogue)
    assert [(p.row, p.column, p.value) for p in refused.value.problems] == [(2, "value", "abc")]
