"""What a file really is (sniffed from its first bytes) and, for text, its one encoding.

A file whose content is not the type its name says (a gzip or an Excel workbook named .csv, text
named .xlsx) or is not a data file at all (PDF, image, binary) is refused as such. CSV text is read as
UTF-8 (with or without BOM) or UTF-16 with a BOM; otherwise as Windows-1252 only when the whole file
decodes so and holds no UTF-8 characters: a file mixing the two would be stored garbled ("MÃ´n").
"""

from __future__ import annotations

import io
import re
import zipfile

from mhin_eval.schema import Problem, ValidationFailed

SAVE_AS_UTF8 = ("Save the file as UTF-8 (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'), check that "
                "accented names such as 'Ynys Môn' look right, and upload it again.")
EXPORT_FIX = "Export the table from the source system as CSV (UTF-8) or as an Excel .xlsx workbook."
SUFFIX_TYPES = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet", ".xls": "xls",
}
TYPE_NAMES = {"csv": "a CSV", "xlsx": "an Excel workbook", "parquet": "a Parquet file", "xls": "an Excel .xls file"}
#: (magic prefix, type, what it is, how to get a data file from it)
MAGIC = (
    (b"\x1f\x8b", "gzip", "a gzip-compressed file",
     "Decompress it first (7-Zip, or `gunzip` on the command line) and upload the file inside."),
    (b"%PDF", "pdf", "a PDF document", EXPORT_FIX + " A PDF table cannot be read."),
    (b"\x89PNG", "image", "a PNG image", EXPORT_FIX),
    (b"\xff\xd8\xff", "image", "a JPEG image", EXPORT_FIX),
    (b"GIF8", "image", "a GIF image", EXPORT_FIX),
    (b"PAR1", "parquet", "a Parquet file", "Name it .parquet, or export the data as CSV."),
    (b"\xd0\xcf\x11\xe0", "xls", "an old-style Excel workbook (.xls), which is not accepted",
     "Open it in Excel and save it as an .xlsx workbook or as CSV (UTF-8)."),
    (b"7z\xbc\xaf\x27\x1c", "archive", "a 7-Zip archive", "Extract it first and upload the file inside."),
    (b"Rar!", "archive", "a RAR archive", "Extract it first and upload the file inside."),
)
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")  # tab, newlines, VT, FF and Ctrl-Z occur in text


def _refuse(file_name: str, message: str, fix: str, *, row=None, column=None, value=None) -> ValidationFailed:
    return ValidationFailed([Problem(file_name, row, column, value, message, fix)], file_name)


def _zip_type(data: bytes) -> str:
    """'xlsx' for an Excel workbook, 'zip' for another archive, 'damaged' when the zip cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return "damaged"
    return "xlsx" if any(n.startswith("xl/") for n in names) else "zip"


def _row_of(data: bytes, position: int) -> int:
    """Spreadsheet row (header = 1) of a byte position."""
    return data.count(b"\n", 0, position) + 1


def _cell_at(data: bytes, position: int) -> tuple[str | None, str | None]:
    """(column name from the header line, cell text as Windows-1252) at a byte position; None when unclear."""
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")
    line_start = data.rfind(b"\n", 0, position) + 1
    line_end = data.find(b"\n", position)
    line = data[line_start:len(data) if line_end < 0 else line_end].decode("cp1252", errors="replace").rstrip("\r")
    before = data[line_start:position].decode("cp1252", errors="replace")
    seps = {d: header.count(d) for d in (",", ";", "\t")}
    sep = max(seps, key=seps.get)
    if not seps[sep]:
        return (header.strip() or None), line.strip() or None
    names = [n.strip().strip('"') for n in header.split(sep)]
    index = before.count(sep)
    cells = line.split(sep)
    cell = cells[index].strip().strip('"') if index < len(cells) else None
    return (names[index] if index < len(names) and names[index] else None), cell or None


def file_type(data: bytes, file_name: str, suffix: str) -> str:
    """'csv', 'xlsx' or 'parquet' for a file whose content fits its name; else ValidationFailed saying what it is."""
    expected = SUFFIX_TYPES.get(suffix)
    wanted = TYPE_NAMES.get(expected, "a CSV, Excel or Parquet file")
    named = f" with a {suffix} name" if suffix else ""
    if not data.strip():
        raise _refuse(file_name, "The file is empty",
                      "Export the data again with a first row of column names and one row per value.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        actual = _zip_type(data)
        if actual == "xlsx" and expected in (None, "xlsx"):
            return "xlsx"
        if actual == "xlsx":
            raise _refuse(file_name, f"This is an Excel workbook saved{named}, not {wanted}",
                          "Save it as CSV from Excel (File > Save As > 'CSV UTF-8'), or upload it as .xlsx.")
        if expected == "xlsx" or actual == "damaged":
            raise _refuse(file_name, "This is not a valid Excel workbook: the file is a damaged zip archive or a zip "
                                     "of other files",
                          "Open it in Excel and save it again as .xlsx, or export the sheet as CSV (UTF-8).")
        raise _refuse(file_name, f"This is a zip archive, not {wanted}", "Extract it first and upload the file inside.")
    for magic, kind, what, fix in MAGIC:
        if not data.startswith(magic):
            continue
        if kind == "parquet" and expected in (None, "parquet"):
            return "parquet"
        if kind == "xls" and expected in ("csv", "xlsx", "parquet"):
            what = f"an old-style Excel workbook (.xls) saved{named}"
        elif kind == "parquet":
            what = f"a Parquet file saved{named}"
        plain = kind == "xls" and expected in (None, "xls")
        raise _refuse(file_name, f"This is {what}" if plain else f"This is {what}, not {wanted}", fix)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if expected in (None, "csv"):
            return "csv"
    else:
        control = CONTROL_BYTES.search(data)
        if control:
            row = _row_of(data, control.start())
            raise _refuse(file_name, f"This is not a text file: it holds binary data (byte 0x{data[control.start()]:02X} "
                                     f"in row {row}), so it is not {wanted}",
                          EXPORT_FIX + " If it is a CSV, save it again as CSV UTF-8.", row=row)
    if expected in (None, "csv"):
        return "csv"
    raise _refuse(file_name, f"The file is named {suffix} but holds text (it looks like a CSV file), not {wanted}",
                  f"Rename it to .csv, or save it again from the program that made it as {suffix}.")


def decode_text(data: bytes, file_name: str = "The file") -> tuple[str, str]:
    """(text, encoding name) in one encoding for the whole file; ValidationFailed for mixed or unknown bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise _refuse(file_name, "The file starts as UTF-16 text but is not valid UTF-16", SAVE_AS_UTF8,
                          row=_row_of(data, exc.start)) from exc
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        return body.decode("utf-8"), "UTF-8 with BOM" if bom else "UTF-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start + (3 if bom else 0)
    row, (column, cell) = _row_of(data, bad_at), _cell_at(data, bad_at)
    bad = data[bad_at:bad_at + 1]
    shown = bad.decode("cp1252", errors="replace")
    utf8 = UTF8_MULTIBYTE.search(body)
    if bom or utf8:
        good_row = _row_of(data, utf8.start() + (3 if bom else 0)) if utf8 else 1
        example = utf8.group().decode("utf-8") if utf8 else ""
        raise _refuse(
            file_name,
            f"The file mixes two text encodings: row {good_row} is saved as UTF-8"
            f"{f' (e.g. {example!r})' if example else ' (it starts with a UTF-8 mark)'} but row {row} has byte "
            f"0x{bad[0]:02X} ({shown!r} in Windows-1252), which is not UTF-8; stored as is, accented names would be "
            "garbled",
            SAVE_AS_UTF8, row=row, column=column, value=cell,
        )
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        row, (column, cell) = _row_of(data, exc.start), _cell_at(data, exc.start)
        raise _refuse(file_name, f"The file is not text in UTF-8 or Windows-1252: row {row} has byte "
                                 f"0x{data[exc.start]:02X}, which is neither",
                      SAVE_AS_UTF8, row=row, column=column, value=cell) from exc
