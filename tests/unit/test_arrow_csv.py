"""The streaming reader (mhin_eval.arrow_csv: Arrow, category columns, checks once per distinct value) and
pandas' reader with plain text columns give the same verdict: the same frame and notes, or the same
problems in the same order, word for word (issue 16, streaming ingest)."""

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

from mhin_eval import arrow_csv, loaders, periods
from mhin_eval.arrow_csv import read_plain_csv
from mhin_eval.columns import plain_text
from mhin_eval.schema import SERIES_COLUMNS, ValidationFailed
from tests.unit.test_validate_fuzz import CELLS, PERIODS

SAME = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# A few values repeated on many rows, as in a real extract, and the odd hostile cell.
REPEATED = {**CELLS, "period": st.one_of(st.sampled_from(["2019-01-01", "01/02/2019", "2019-03", "9/13/2021"]),
                                         PERIODS)}


def outcome(path: Path, catalogue, monkeypatch, *, streaming: bool):
    """('ok', frame, notes) or ('refused', problems) of load_extract, by the streaming reader or by pandas."""
    with monkeypatch.context() as patched:
        if not streaming:
            patched.setattr(loaders, "read_plain_csv", lambda *args, **kwargs: None)
        try:
            extract = loaders.load_extract(path, catalogue=catalogue, file_name="series.csv")
        except ValidationFailed as exc:
            return ("refused", [str(p) for p in exc.problems])
    return ("ok", plain_text(extract.frame), extract.notes, extract.sha256)


def assert_same(path: Path, catalogue, monkeypatch) -> None:
    streamed = outcome(path, catalogue, monkeypatch, streaming=True)
    read = outcome(path, catalogue, monkeypatch, streaming=False)
    assert streamed[0] == read[0], (streamed, read)
    if read[0] == "refused":
        assert streamed[1] == read[1]
    else:
        pd.testing.assert_frame_equal(streamed[1], read[1])
        assert streamed[2:] == read[2:]


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as folder, periods.today_is(dt.date(2026, 12, 4)):
        yield Path(folder)


@SAME
@given(rows=st.lists(st.fixed_dictionaries(REPEATED), min_size=1, max_size=14),
       copies=st.integers(1, 4), encoding=st.sampled_from(["utf-8", "utf-8-sig"]), sep=st.sampled_from([",", ";"]),
       columns=st.sampled_from([SERIES_COLUMNS, SERIES_COLUMNS[:5], ("project", "site", "period", "value")]))
def test_streaming_and_pandas_readers_give_the_same_verdict(workdir, catalogue, monkeypatch, rows, copies, encoding,
                                                             sep, columns):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", delimiter=sep)
    writer.writeheader()
    writer.writerows(rows * copies)
    path = workdir / "series.csv"
    path.write_bytes(out.getvalue().encode(encoding))
    assert_same(path, catalogue, monkeypatch)


def test_a_valid_file_is_read_by_the_streaming_reader_as_categories(tmp_path, catalogue, monkeypatch):
    path = tmp_path / "series.csv"
    path.write_text("project,site,indicator,period,value,denominator,breakdown,group\n"
                    "aaot,hull,ae-attendances,2019-01-01,150,249,all,all\n"
                    "aaot,hull,ae-attendances,01/02/2019,155,265,,\n", encoding="utf-8")
    frame, _digest, notes = read_plain_csv(path, "series.csv")
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame) and notes == []
    assert_same(path, catalogue, monkeypatch)


def test_a_blank_line_keeps_the_row_numbers_of_the_rows_after_it(tmp_path, catalogue, monkeypatch):
    path = tmp_path / "series.csv"
    path.write_text("project,site,indicator,period,value\naaot,hull,ae-attendances,2019-01-01,1\n\n"
                    "aaot,hull,ae-attendances,2019-02-01,twelve\n", encoding="utf-8")
    assert read_plain_csv(path, "series.csv") is not None
    assert_same(path, catalogue, monkeypatch)
    with pytest.raises(ValidationFailed, match="row 4, column 'value'"):
        loaders.load_extract(path, catalogue=catalogue)


@pytest.mark.parametrize("body", [
    "project,site,site\naaot,hull,hull\n",                      # a repeated column name
    "project,,site\naaot,,hull\n",                              # a column without a name
    "project,site\naaot,hull,extra\n",                          # more cells than names
    "project,site\naaot\n",                                     # fewer cells than names
])
def test_layouts_arrow_reads_otherwise_go_to_pandas(tmp_path, body):
    path = tmp_path / "series.csv"
    path.write_text(body, encoding="utf-8")
    assert read_plain_csv(path, "series.csv") is None


def test_other_encodings_and_binary_go_to_pandas(tmp_path):
    for name, data in (("a.csv", "project,site\nYnys Môn,x\n".encode("cp1252")),
                       ("b.csv", "project,site\nx,y\n".encode("utf-16")),
                       ("c.csv", b"project,site\nx,\x01y\n"), ("d.xlsx", b"project,site\nx,y\n")):
        (tmp_path / name).write_bytes(data)
        assert read_plain_csv(tmp_path / name, name) is None, name


@SAME
@given(rows=st.lists(st.fixed_dictionaries(REPEATED), min_size=2, max_size=30))
def test_values_first_met_in_a_later_block_get_the_same_verdict(workdir, catalogue, monkeypatch, rows):
    """Blocks of a few rows each: every block brings its own dictionary, joined into one a column."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(SERIES_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = workdir / "blocks.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    monkeypatch.setattr(arrow_csv, "BLOCK", 256)
    assert_same(path, catalogue, monkeypatch)


def test_a_file_read_in_many_blocks_gives_sorted_categories_and_every_row(tmp_path, monkeypatch):
    monkeypatch.setattr(arrow_csv, "BLOCK", 128)
    lines = [f"s{(7 * n) % 23},{n % 5},{n}" for n in range(400)]
    path = tmp_path / "many.csv"
    path.write_text("site,group,value\n" + "\n".join(lines) + "\n", encoding="utf-8")
    frame, _digest, _notes = read_plain_csv(path, "many.csv")
    assert list(frame["site"].cat.categories) == sorted({line.split(",")[0] for line in lines})
    assert plain_text(frame).values.tolist() == [line.split(",") for line in lines]
