"""Downloads: CSV and Excel files whose text cells cannot run as spreadsheet formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from mhin_eval.access.downloads import inert_formulas, to_csv_bytes, to_excel_bytes

# Payloads from OWASP's CSV Injection page and the brief: a DDE command, a sum, arithmetic as text, a function.
PAYLOADS = ["=cmd|' /C calc'!A0", "+1", "-1+2", "@SUM(A1)", "\t=1+1", "\r=1+1"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": PAYLOADS + ["Hull"],
            "note": ["a=b"] * len(PAYLOADS) + ["fine"],  # "=" inside the text is not at the start: unchanged
            "value": [-3] * len(PAYLOADS) + [4],  # numeric dtype: genuine negative numbers stay numbers
        }
    )


def test_text_that_starts_like_a_formula_gets_a_quote(frame):
    out = inert_formulas(frame)
    assert out["site"].tolist() == ["'" + p for p in PAYLOADS] + ["Hull"]
    assert out["note"].tolist() == frame["note"].tolist()
    assert out["value"].tolist() == frame["value"].tolist() and pd.api.types.is_integer_dtype(out["value"])
    assert frame["site"].tolist()[0] == PAYLOADS[0]  # the input is not changed


def test_column_names_categories_and_mixed_columns():
    frame = pd.DataFrame({"=HYPERLINK(\"x\")": ["-2"], "cat": pd.Categorical(["@x"]), "mixed": [-5]})
    frame["mixed"] = frame["mixed"].astype(object)
    out = inert_formulas(frame)
    assert list(out.columns) == ["'=HYPERLINK(\"x\")", "cat", "mixed"]
    assert out.iloc[0].tolist() == ["'-2", "'@x", -5]  # "-2" as text is prefixed; the number -5 is not


def test_csv_is_utf8_with_bom_and_inert(frame):
    data = to_csv_bytes(frame.assign(site=frame["site"].replace("Hull", "Ynys Môn – 2")))
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel then reads "ô" and "–" correctly
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["site", "note", "value"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS] + ["Ynys Môn – 2"]
    assert [r[2] for r in rows[1:]] == ["-3"] * len(PAYLOADS) + ["4"]  # numbers written as numbers


def test_xlsx_cells_are_text_not_formulas(frame):
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    cells = list(sheet.iter_rows(min_row=2, values_only=False))
    for row, payload in zip(cells, PAYLOADS, strict=False):
        assert row[0].data_type == "s" and row[0].value == "'" + payload
        assert row[2].data_type == "n" and row[2].value == -3
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_without_the_guard_excel_would_store_a_formula(frame):
    # Why the guard exists: written as is, the first payload becomes a formula cell.
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, engine="openpyxl")
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet["A2"].data_type == "f"


def test_xlsx_drops_characters_it_cannot_hold_after_the_check():
    # A null first character marks a formula start (ASVS 1.2.10); xlsx cannot store nulls, so it is dropped
    # after the quote is added: the cell is the text "'=1+1", not a formula.
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(pd.DataFrame({"a": ["\0=1+1"]})))).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "'=1+1"


def test_index_is_kept_when_asked():
    frame = pd.DataFrame({"n": [1]}, index=pd.Index(["=x"], name="group"))
    rows = list(csv.reader(io.StringIO(to_csv_bytes(frame, index=True).decode("utf-8-sig"))))
    assert rows == [["group", "n"], ["'=x", "1"]]
