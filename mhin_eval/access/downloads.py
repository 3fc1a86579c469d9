"""Files people download (CSV, Excel) made safe to open: no cell can run as a spreadsheet formula.

Text that came from an upload or a catalogue could start with ``=``, ``+``, ``-`` or ``@``; Excel, LibreOffice
and Google Sheets run such a cell as a formula when the file is opened (CSV or formula injection). Following
OWASP's CSV Injection guidance (and ASVS 5.0 requirement 1.2.10), any text cell whose first character is one
of ``= + - @``, a tab, a carriage return or a null is prefixed with a single quote so it stays text. Numbers
are left alone: a numeric -3 is a number, not a formula. Text that merely looks like a number ("-3" as a
string) is prefixed like any other text.

References: OWASP, CSV Injection, https://owasp.org/www-community/attacks/CSV_Injection ;
OWASP ASVS 5.0, V1.2.10; MITRE CWE-1236 (Improper Neutralization of Formula Elements in a CSV File).
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pandas.api.types import is_object_dtype, is_string_dtype

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
"""First characters that make a spreadsheet read a cell as a formula."""


def inert_text(value):
    """``value`` with a leading single quote if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def inert_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas (numbers untouched)."""
    out = frame.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        elif not (is_object_dtype(column.dtype) or is_string_dtype(column.dtype)):
            continue
        out.isetitem(position, column.map(inert_text, na_action="ignore"))
    out.columns = [inert_text(c) for c in out.columns]
    return out


def to_csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """CSV in UTF-8 with a byte-order mark (so Excel reads accents and dashes correctly), formulas made inert."""
    if index:
        frame = frame.reset_index()
    text = inert_formulas(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def to_excel_bytes(frame: pd.DataFrame, *, sheet_name: str = "data", index: bool = False) -> bytes:
    """An .xlsx workbook (openpyxl) of ``frame`` with formulas made inert: every text cell is stored as text.

    Control characters that the xlsx format cannot hold (e.g. a null) are dropped after the check, so a
    cell that started with one is still prefixed.
    """
    if index:
        frame = frame.reset_index()
    safe = inert_formulas(frame)
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if is_object_dtype(column.dtype) or is_string_dtype(column.dtype):
            safe.isetitem(position, column.map(_xlsx_text, na_action="ignore"))
    safe.columns = [_xlsx_text(c) for c in safe.columns]
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, sheet_name=sheet_name, index=False)
    return buffer.getvalue()


def _xlsx_text(value):
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
