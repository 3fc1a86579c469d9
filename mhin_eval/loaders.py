"""Files and NHS England published formats -> validated frames (see ``schema`` for the frames and checks).

``load_extract`` reads CSV (one encoding per file: UTF-8, UTF-8 with BOM, UTF-16 or Windows-1252; see
``filetypes``, which also refuses a file whose content is not what its name says; comma/semicolon/tab),
Excel .xlsx (one sheet, chosen by name when there are several) and Parquet, tells a series file from a
participant file or an NHS published layout by its columns, and raises ``ValidationFailed`` with every
problem at once. Nothing here stores anything: the store ingests ``Extract.frame``.

Published layouts read here:
- the MHSDS long CSV (``REPORTING_PERIOD_START ... MEASURE_VALUE``), every row kept, monthly and rolling
  3-month periods kept apart by ``period_type``;
- the Mental Health Act annual statistics data file (NHS England, 2023-24 layout), one row per
  published cell and statistic (count, crude rate, standardised rate ...).
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mhin_eval.arrow_csv import delimiter, read_plain_csv
from mhin_eval.catalogue import PROJECT_ROOT, Catalogue, CatalogueError, load_catalogue
from mhin_eval.columns import plain_text
from mhin_eval.filetypes import decode_text, file_type
from mhin_eval.schema import (
    ALL,
    DATE_FIX,
    DATETIME_DTYPE,
    PUBLISHED_COLUMNS,
    PUBLISHED_KEY,
    SERIES_KEY,
    Problem,
    ValidationFailed,
    _Collector,
    as_text,
    canonical_published,
    canonical_series,
    cell_text,
    drop_blank_rows,
    empty_series,
    file_rows,
    month_start,
    normalise_column_name,
    parse_numbers,
    prepare_findings,
    prepare_participants,
    prepare_series,
    prepare_sustainability,
    read_date_column,
    validate_published,
)

PUBLISHED_DIR = PROJECT_ROOT / "data" / "published"

NHS_LONG_COLUMNS = (
    "REPORTING_PERIOD_START", "REPORTING_PERIOD_END", "STATUS", "BREAKDOWN", "PRIMARY_LEVEL",
    "PRIMARY_LEVEL_DESCRIPTION", "SECONDARY_LEVEL", "SECONDARY_LEVEL_DESCRIPTION", "MEASURE_ID",
    "MEASURE_NAME", "MEASURE_VALUE",
)
MHA_ANNUAL_COLUMNS = (
    "Year", "Measure", "measureSubcategory", "Demographic", "DemographicBreakdown", "OrganisationBreakdown",
    "Datasource", "OrgID", "OrgName", "MHSDS_Count", "Acute_Count", "Total_Count", "CrudeRate", "StdRate",
    "Confidence_interval",
)
MHA_STATISTICS = {
    "Total_Count": "count",
    "MHSDS_Count": "mhsds_count",
    "Acute_Count": "acute_count",
    "CrudeRate": "crude_rate",
    "StdRate": "std_rate",
    "Confidence_interval": "std_rate_ci",
}
MHA_ORGANISATION_BREAKDOWNS = ("All submissions", "ICB", "Sub ICB", "NHS Trust", "Independent Health Provider")
ENGLAND_BREAKDOWNS = ("England", "All submissions")

#: A validated series extract longer than this keeps its text columns as categories (memory); shorter ones
#: come as plain text columns, as every other extract.
CATEGORY_ROWS = 100_000

KINDS = ("series", "participants", "published", "sustainability", "findings")
#: Extract kinds validated by a ``schema.prepare_*`` function (the others are published layouts).
PREPARERS = {
    "series": prepare_series,
    "participants": prepare_participants,
    "sustainability": prepare_sustainability,
    "findings": prepare_findings,
}


@dataclass(frozen=True)
class Extract:
    """A validated file: its canonical frame and where it came from."""

    kind: str
    frame: pd.DataFrame
    file_name: str
    sha256: str
    source_format: str
    notes: tuple[str, ...] = ()


@dataclass
class _Raw:
    frame: pd.DataFrame
    file_name: str
    sha256: str
    source_format: str
    notes: list[str]


# --------------------------------------------------------------------------- reading files


def list_sheets(path) -> list[str]:
    """Sheet names of an .xlsx workbook, in workbook order."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _read_csv(data: bytes, file_name: str, notes: list[str]) -> pd.DataFrame:
    text, encoding = decode_text(data, file_name)
    if encoding != "UTF-8":
        notes.append(f"Read as {encoding} text.")
    sep = delimiter(text.split("\n", 1)[0])
    if sep != ",":
        notes.append(f"Columns separated by {'tabs' if sep == chr(9) else repr(sep)}.")
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False,
        )
        if not isinstance(frame.index, pd.RangeIndex):
            frame = _without_trailing_cells(text, sep, file_name)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        if isinstance(exc, ValidationFailed):
            raise
        match = re.search(r"line (\d+), saw (\d+)", str(exc))
        raise _more_cells(file_name, int(match.group(1)) if match else None,
                          None if match else f"The file cannot be read as CSV ({exc})") from exc
    unnamed = [c for c in frame.columns if re.fullmatch(r"Unnamed: \d+", str(c)) and not (frame[c] != "").any()]
    if unnamed:
        notes.append(f"{len(unnamed)} empty column(s) without a name (trailing separators) ignored.")
        frame = frame.drop(columns=unnamed)
    return drop_blank_rows(frame)


def _more_cells(file_name: str, row: int | None, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(
        [Problem(file_name, row, None, None, message or "This row has more cells than there are column names",
                 "Put text containing commas in double quotes, or remove the stray cells, then export again.")],
        file_name,
    )


def _without_trailing_cells(text: str, sep: str, file_name: str) -> pd.DataFrame:
    """Rows one cell longer than the header (pandas would take the first column as an index): read without
    the extra cells when they are all empty (trailing separators), else refuse naming the first such row."""
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    width = len(next(rows, []))
    for number, row in enumerate(rows, start=2):
        if any(cell.strip() for cell in row[width:]):
            raise _more_cells(file_name, number)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False,
                           index_col=False)


def _read_excel(path, file_name: str, sheet, notes: list[str]) -> pd.DataFrame:
    try:
        sheets = list_sheets(path)
    except Exception as exc:
        raise ValidationFailed(
            [Problem(file_name, None, None, None, f"The Excel file cannot be opened ({exc})",
                     "Open it in Excel and save it again as .xlsx, or export the sheet as CSV.")],
            file_name,
        ) from exc
    if sheet is None:
        if len(sheets) > 1:
            names = ", ".join(f"'{s}'" for s in sheets)
            raise ValidationFailed(
                [Problem(file_name, None, None, None,
                         f"The workbook has {len(sheets)} sheets ({names}) and it is not clear which one holds the data",
                         f"Choose the sheet: in the upload page pick it from the list; on the command line add "
                         f"--sheet \"{sheets[0]}\" (or load_extract(..., sheet=\"{sheets[0]}\")); "
                         "or save the data sheet on its own as CSV.")],
                file_name,
            )
        sheet = sheets[0]
    elif sheet not in sheets:
        raise ValidationFailed(
            [Problem(file_name, None, None, str(sheet), f"There is no sheet named '{sheet}'",
                     f"Choose one of the sheets: {', '.join(repr(s) for s in sheets)}.")],
            file_name,
        )
    notes.append(f"Read sheet '{sheet}'.")
    try:
        frame = _sheet_frame(path, sheet)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise ValidationFailed(
            [Problem(file_name, None, None, str(sheet), f"The sheet cannot be read ({type(exc).__name__})",
                     "Open it in Excel and save it again as .xlsx, or export the sheet as CSV.")],
            file_name,
        ) from exc
    return drop_blank_rows(frame)


def _sheet_frame(path, sheet: str) -> pd.DataFrame:
    """Cells as stored (numbers, dates, text; error cells such as #N/A as their text), first row = header."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(workbook[sheet].iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    header = [cell_text(h) for h in rows[0]] + [""] * (width - len(rows[0]))
    body = [tuple(r) + (None,) * (width - len(r)) for r in rows[1:]]
    frame = pd.DataFrame(body, columns=range(width), dtype=object)
    keep = [i for i, name in enumerate(header) if name or frame[i].notna().any()]
    frame = frame[keep]
    frame.columns = [header[i] or f"(column {i + 1} without a name)" for i in keep]
    return frame


def _read_parquet(data: bytes, file_name: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise ValidationFailed(
            [Problem(file_name, None, None, None, f"The Parquet file cannot be read ({type(exc).__name__})",
                     "Write the file again from the program that made it, or export the data as CSV.")],
            file_name,
        ) from exc
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _read_file(path, *, sheet=None, file_name=None, categories=False) -> _Raw:
    """The file's cells, as text; with ``categories`` a plain UTF-8 CSV comes as category columns
    (mhin_eval.arrow_csv), which series validation reads once per distinct value."""
    path = Path(path)
    file_name = file_name or path.name
    plain = read_plain_csv(path, file_name)
    if plain is not None:
        frame, digest, notes = plain
        frame = drop_blank_rows(frame)
        return _Raw(frame if categories else plain_text(frame), file_name, digest, "csv", notes)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationFailed(
            [Problem(file_name, None, None, None, f"The file cannot be read ({exc.strerror})",
                     "Check the file name and that the file is not open in another program.")],
            file_name,
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    notes: list[str] = []
    suffix = Path(file_name).suffix.lower() or path.suffix.lower()
    kind = file_type(data, file_name, suffix)
    if kind == "xlsx":
        return _Raw(_read_excel(path, file_name, sheet, notes), file_name, digest, "xlsx", notes)
    if kind == "parquet":
        return _Raw(_read_parquet(data, file_name), file_name, digest, "parquet", notes)
    return _Raw(_read_csv(data, file_name, notes), file_name, digest, "csv", notes)


#: Leading bytes of formats people upload by mistake, and what to call them.
BINARY_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                     (b"%PDF", "a PDF document"), (b"\x1f\x8b", "gzip-compressed data"), (b"BZh", "bzip2-compressed data"),
                     (b"\xfd7zXZ", "xz-compressed data"), (b"7z\xbc\xaf", "a 7-Zip archive"), (b"Rar!", "a RAR archive"))


def _binary_content(data: bytes) -> str | None:
    """What a file that should be text holds instead (an image, an archive, binary data), else None."""
    for signature, what in BINARY_SIGNATURES:
        if data.startswith(signature):
            return what
    return "binary data" if b"\0" in data[:8192] else None


# --------------------------------------------------------------------------- kinds


def detect_kind(columns) -> str | None:
    """'series', 'participants', 'sustainability', 'findings', 'nhs-long', 'mha-annual', 'published' or None
    from column names."""
    names = {normalise_column_name(c) for c in columns}
    if {"measure_id", "measure_value", "reporting_period_start"} <= names:
        return "nhs-long"
    if {"orgid", "total_count", "cruderate", "demographicbreakdown"} <= names:
        return "mha-annual"
    if {"period_start", "period_end", "measure_id", "statistic", "published_value"} <= names:
        return "published"
    if {"instrument", "item"} <= names or {"respondent", "item"} <= names:
        return "sustainability"
    if {"summary", "kind"} <= names or {"summary", "domain"} <= names:
        return "findings"
    if names & {"participant_id", "timepoint", "measure"}:
        return "participants"
    if names & {"indicator", "period"}:
        return "series"
    return None


def _unknown_kind(raw: _Raw) -> ValidationFailed:
    shown = ", ".join(repr(str(c)) for c in list(raw.frame.columns)[:12])
    return ValidationFailed(
        [Problem(raw.file_name, 1, None, shown or None,
                 "The columns do not match a series, participant, sustainability-assessment or findings file, or an "
                 "NHS published statistics file",
                 "A series file has columns project, site, indicator, period, value (and optionally denominator, "
                 "breakdown, group); a participant file has project, site, participant_id, measure, timepoint, value; "
                 "a sustainability assessment has project, site, instrument, assessment_date, respondent, item, score; "
                 "a findings register has project, site, date, kind, domain, summary, source (and optionally quote). "
                 "Check that the first row holds the column names.")],
        raw.file_name,
    )


def load_extract(path, *, catalogue: Catalogue | None = None, kind: str | None = None, sheet=None,
                 file_name: str | None = None) -> Extract:
    """Read, recognise and validate one file; raises ValidationFailed listing every problem."""
    catalogue = catalogue or load_catalogue()
    raw = _read_file(path, sheet=sheet, file_name=file_name, categories=True)
    if raw.frame.shape[1] == 0:
        raise ValidationFailed(
            [Problem(raw.file_name, None, None, None, "The file is empty",
                     "Export the data again with a first row of column names and one row per value.")],
            raw.file_name,
        )
    if raw.frame.shape[0] == 0:
        raise ValidationFailed(
            [Problem(raw.file_name, 2, None, None, "The file has column names but no rows of data",
                     "Add the data rows under the column names, or check that the right file was chosen.")],
            raw.file_name,
        )
    detected = detect_kind(raw.frame.columns)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if kind == "published" and detected not in ("nhs-long", "mha-annual", "published"):
        raise _unknown_kind(raw)
    if kind in PREPARERS:
        detected = kind
    if detected != "series":
        raw.frame = plain_text(raw.frame)
    if detected == "nhs-long":
        return _nhs_long_extract(raw, catalogue=catalogue)
    if detected == "mha-annual":
        return _mha_annual_extract(raw, catalogue=catalogue)
    if detected == "published":
        return _published_extract(raw, catalogue)
    if detected is None:
        raise _unknown_kind(raw)
    prepared = PREPARERS[detected](raw.frame, catalogue, raw.file_name)
    if prepared.problems:
        raise ValidationFailed(prepared.problems, raw.file_name)
    frame = prepared.frame if len(prepared.frame) > CATEGORY_ROWS else plain_text(prepared.frame)
    return Extract(detected, frame, raw.file_name, raw.sha256, raw.source_format,
                   tuple(raw.notes + prepared.notes))


def _published_extract(raw: _Raw, catalogue: Catalogue) -> Extract:
    frame = raw.frame.rename(columns=normalise_column_name)
    problems = validate_published(frame, raw.file_name, catalogue)
    if problems:
        raise ValidationFailed(problems, raw.file_name)
    return Extract("published", canonical_published(frame), raw.file_name, raw.sha256, raw.source_format,
                   tuple(raw.notes))


# --------------------------------------------------------------------------- published: shared helpers


def period_type_of(start: pd.Series, end: pd.Series, three_months: str = "rolling-3-month") -> pd.Series:
    """'month', three-month type, 'year' or 'N-month' from whole-month period dates; 'irregular' otherwise."""
    months = (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month) + 1
    whole = (start.dt.day == 1) & ((end + pd.Timedelta(days=1)).dt.day == 1)
    labels = months.map(lambda n: {1: "month", 3: three_months, 12: "year"}.get(n, f"{n}-month"))
    return labels.where(whole, "irregular").astype("str")


def source_id_for(file_name: str, catalogue: Catalogue | None) -> str:
    """The catalogue published_sources id whose ``files`` patterns match the file name, else the file stem."""
    if catalogue is not None:
        for source in catalogue.published_sources:
            for pattern in source.get("files", ()):
                if fnmatch.fnmatch(file_name.lower(), pattern.lower()):
                    return source["id"]
    return Path(file_name).stem


def _require_columns(frame: pd.DataFrame, wanted, file_name: str, layout: str) -> list[Problem]:
    missing = [c for c in wanted if c not in frame.columns]
    if not missing:
        return []
    return [Problem(file_name, 1, missing[0], None,
                    f"The {layout} file has no column(s) {', '.join(missing)}",
                    f"Use the file exactly as published; its columns are: {', '.join(wanted)}.")]


def _published_duplicates(frame: pd.DataFrame, file_name: str) -> list[Problem]:
    dup = frame.duplicated(list(PUBLISHED_KEY), keep=False)
    problems = []
    for _key, idx in frame[dup].groupby(list(PUBLISHED_KEY), sort=False).groups.items():
        rows = file_rows(idx)
        problems.append(Problem(file_name, int(rows[-1]), None, None,
                                f"Rows {', '.join(map(str, rows))} publish the same measure, organisation and period",
                                "Use the file exactly as published; remove the duplicated rows if it was edited."))
        if len(problems) >= 50:
            break
    return problems


def _finish_published(frame: pd.DataFrame, raw: _Raw, problems: list[Problem], notes: list[str]) -> Extract:
    problems = problems + _published_duplicates(frame, raw.file_name)
    if problems:
        raise ValidationFailed(problems, raw.file_name)
    return Extract("published", canonical_published(frame), raw.file_name, raw.sha256, raw.source_format,
                   tuple(raw.notes + notes))


# --------------------------------------------------------------------------- MHSDS long CSV


def read_nhs_long(path, *, catalogue: Catalogue | None = None, source: str | None = None,
                  file_name: str | None = None) -> Extract:
    """An NHS England long statistics CSV (MHSDS monthly layout) as PUBLISHED rows, every row kept."""
    raw = _read_file(path, file_name=file_name)
    return _nhs_long_extract(raw, catalogue=catalogue or load_catalogue(), source=source)


def _nhs_long_extract(raw: _Raw, *, catalogue, source=None) -> Extract:
    frame = raw.frame.rename(columns=lambda c: str(c).replace("\ufeff", "").strip().upper())
    problems = _require_columns(frame, NHS_LONG_COLUMNS, raw.file_name, "NHS statistics")
    if problems:
        raise ValidationFailed(problems, raw.file_name)
    notes: list[str] = []
    dates = _Collector(raw.file_name)
    start, missing_start = read_date_column(frame["REPORTING_PERIOD_START"], dates, "REPORTING_PERIOD_START",
                                            catalogue, what="period")
    end, missing_end = read_date_column(frame["REPORTING_PERIOD_END"], dates, "REPORTING_PERIOD_END")
    for column, missing in (("REPORTING_PERIOD_START", missing_start), ("REPORTING_PERIOD_END", missing_end)):
        dates.cells(missing, as_text(frame[column]), column, "The reporting period date is missing", DATE_FIX)
    problems += dates.sorted()
    published_value = as_text(frame["MEASURE_VALUE"])
    value, missing, not_number = parse_numbers(frame["MEASURE_VALUE"])
    suppressed = published_value[missing | not_number]
    if len(suppressed):
        counts = suppressed.replace("", "(blank)").value_counts()
        notes.append(
            f"{len(suppressed):,} of {len(frame):,} values ({len(suppressed) / len(frame):.0%}) are suppressed or "
            f"missing and kept as missing, never zero: "
            + ", ".join(f"'{k}' x {v:,}" for k, v in counts.items()) + "."
        )
    period_type = period_type_of(start, end)
    types = period_type.value_counts()
    notes.append("Periods: " + ", ".join(f"{k} ({v:,} rows)" for k, v in types.items())
                 + "; kept apart by period_type, never added together.")
    statuses = sorted(set(as_text(frame["STATUS"])))
    notes.append(f"STATUS: {', '.join(statuses)}.")
    out = pd.DataFrame(
        {
            "source": source or source_id_for(raw.file_name, catalogue),
            "period_start": start,
            "period_end": end,
            "period_type": period_type,
            "breakdown": as_text(frame["BREAKDOWN"]),
            "org_code": as_text(frame["PRIMARY_LEVEL"]),
            "org_name": as_text(frame["PRIMARY_LEVEL_DESCRIPTION"]),
            "secondary_code": as_text(frame["SECONDARY_LEVEL"]),
            "secondary_name": as_text(frame["SECONDARY_LEVEL_DESCRIPTION"]),
            "measure_id": as_text(frame["MEASURE_ID"]),
            "measure_name": as_text(frame["MEASURE_NAME"]),
            "demographic": "All",
            "group": "All",
            "statistic": "value",
            "value": value,
            "published_value": published_value,
        },
        index=frame.index,
    )
    return _finish_published(out, raw, problems, notes)


# --------------------------------------------------------------------------- MHA annual statistics


def read_mha_annual(path, *, catalogue: Catalogue | None = None, source: str | None = None, sheet=None,
                    file_name: str | None = None) -> Extract:
    """The Mental Health Act annual statistics data file (sheet-1 CSV or the .xlsx) as PUBLISHED rows.

    An .xlsx with several sheets is read from ``sheet`` or else the first sheet with the data file's columns.
    """
    path = Path(path)
    if sheet is None and path.read_bytes()[:4] == b"PK\x03\x04":
        sheet = _mha_sheet(path)
    raw = _read_file(path, sheet=sheet, file_name=file_name)
    return _mha_annual_extract(raw, catalogue=catalogue or load_catalogue(), source=source)


def _mha_sheet(path: Path) -> str | None:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        for ws in workbook.worksheets:
            header = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), ())
            if {"OrgID", "Total_Count", "CrudeRate"} <= {str(h) for h in header if h is not None}:
                return ws.title
    finally:
        workbook.close()
    return None


def _financial_year(year: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """'2023/24' -> (2023-04-01, 2024-03-31, bad mask)."""
    parts = year.str.extract(r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce") % 100
    bad = first.isna() | ((first + 1) % 100 != second)
    start = pd.to_datetime(first.where(~bad).astype("Int64").astype("str") + "-04-01", errors="coerce")
    end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    return start.astype(DATETIME_DTYPE), end.astype(DATETIME_DTYPE), bad


def _mha_annual_extract(raw: _Raw, *, catalogue, source=None) -> Extract:
    by_lower = {normalise_column_name(c): c for c in MHA_ANNUAL_COLUMNS}
    frame = raw.frame.rename(columns=lambda c: by_lower.get(normalise_column_name(c), c))
    problems = _require_columns(frame, MHA_ANNUAL_COLUMNS, raw.file_name, "Mental Health Act statistics")
    if problems:
        raise ValidationFailed(problems, raw.file_name)
    text = {c: as_text(frame[c]) for c in MHA_ANNUAL_COLUMNS[:9]}
    start, end, bad_year = _financial_year(text["Year"])
    for idx in bad_year.index[bad_year.to_numpy()][:50]:
        problems.append(Problem(raw.file_name, int(idx) + 2, "Year", text["Year"][idx],
                                "The year is not a financial year like 2023/24",
                                "Use the file exactly as published (Year is written 2023/24)."))
    notes = [f"{len(frame):,} published rows x {len(MHA_STATISTICS)} statistics "
             f"({', '.join(MHA_STATISTICS.values())}); blank cells kept as missing."]
    odd_breakdown = ~text["OrganisationBreakdown"].isin(MHA_ORGANISATION_BREAKDOWNS)
    for value, idx in text["OrganisationBreakdown"][odd_breakdown].groupby(
        text["OrganisationBreakdown"][odd_breakdown]
    ).groups.items():
        notes.append(f"OrganisationBreakdown '{value}' at row(s) {', '.join(map(str, file_rows(idx)[:10]))} is not a "
                     f"known breakdown; kept as published (organisation {text['OrgID'][idx[0]]}).")
    odd_all = (text["Demographic"] == "All") & (text["DemographicBreakdown"] != "All")
    if odd_all.any():
        rows = file_rows(odd_all.index[odd_all.to_numpy()])
        notes.append(f"{len(rows)} row(s) have Demographic 'All' with a breakdown other than 'All' (rows "
                     f"{', '.join(map(str, rows[:10]))}{' ...' if len(rows) > 10 else ''}); kept as published.")
    subcategory = text["measureSubcategory"]
    measure_id = text["Measure"].where(subcategory.isin(("", "All")), text["Measure"] + ": " + subcategory)
    base = pd.DataFrame(
        {
            "source": source or source_id_for(raw.file_name, catalogue),
            "period_start": start,
            "period_end": end,
            "period_type": "year",
            "breakdown": text["OrganisationBreakdown"],
            "org_code": text["OrgID"],
            "org_name": text["OrgName"],
            "secondary_code": text["Datasource"],
            "secondary_name": "",
            "measure_id": measure_id,
            "measure_name": measure_id,
            "demographic": text["Demographic"],
            "group": text["DemographicBreakdown"],
        },
        index=frame.index,
    )
    ambiguous = base.duplicated(keep=False)
    if ambiguous.any():
        base.loc[ambiguous, "secondary_name"] = "file row " + pd.Series(
            file_rows(base.index[ambiguous.to_numpy()]), index=base.index[ambiguous.to_numpy()]
        ).astype("str")
        notes.append(f"{int(ambiguous.sum())} rows share all their labels with another row (e.g. "
                     f"'{measure_id[ambiguous].iloc[0]}', {text['Demographic'][ambiguous].iloc[0]} "
                     f"'{text['DemographicBreakdown'][ambiguous].iloc[0]}'); kept, told apart by their file row "
                     "in secondary_name.")
    pieces = []
    for column, statistic in MHA_STATISTICS.items():
        published_value = as_text(frame[column])
        value, _missing, not_number = parse_numbers(frame[column])
        piece = base.assign(statistic=statistic, value=value, published_value=published_value)
        pieces.append(piece)
    out = pd.concat(pieces)
    out = out.set_index(np.tile(base.index.to_numpy(), len(pieces)))
    return _finish_published(out[list(PUBLISHED_COLUMNS)], raw, problems, notes)


# --------------------------------------------------------------------------- bundled published context


def load_bundled_published(catalogue: Catalogue | None = None) -> pd.DataFrame:
    """PUBLISHED rows of the statistics shipped in data/published/ (so a fresh clone has context)."""
    catalogue = catalogue or load_catalogue()
    frames = [
        load_extract(path, catalogue=catalogue, kind="published").frame
        for path in sorted(PUBLISHED_DIR.glob("*.csv"))
    ]
    if not frames:
        return canonical_published(pd.DataFrame({c: [] for c in PUBLISHED_COLUMNS}))
    return pd.concat(frames, ignore_index=True)


def _source_titles(catalogue: Catalogue) -> dict[str, str]:
    return {s["id"]: s.get("title", s["id"]) for s in catalogue.published_sources}


def _year_label(start: pd.Series, end: pd.Series) -> pd.Series:
    financial = (start.dt.month == 4) & (end.dt.month == 3) & (end.dt.year == start.dt.year + 1)
    label = start.dt.year.astype("str") + "-" + (end.dt.year % 100).astype("str").str.zfill(2)
    return label.where(financial, start.dt.strftime("%Y-%m") + " to " + end.dt.strftime("%Y-%m")).astype("str")


def published_context(published: pd.DataFrame, catalogue: Catalogue, site: str,
                      measure: str = "All detentions") -> pd.DataFrame:
    """England's and the site's ICB's detention rates by ethnicity, and the site's trust counts.

    Rows of the Mental Health Act annual statistics (ethnicity rates are published for England and ICBs
    only, not trusts), each labelled with its level, source title and year, for the dashboard page.
    """
    site_obj = catalogue.site(site)
    columns = ["level", "org_code", "org_name", "measure_id", "demographic", "group", "statistic", "value",
               "published_value", "source", "source_title", "year", "period_start", "period_end"]
    frame = published[published["period_type"] == "year"]
    is_rate_table = frame["statistic"].isin(("count", "crude_rate", "std_rate", "std_rate_ci"))
    ethnicity = is_rate_table & (frame["measure_id"] == measure) & (frame["demographic"] == "Ethnicity")
    england = ethnicity & frame["breakdown"].isin(ENGLAND_BREAKDOWNS)
    icb = ethnicity & (frame["breakdown"] == "ICB") & (frame["org_code"] == site_obj.icb_code) & bool(site_obj.icb_code)
    trust = (
        (frame["statistic"] == "count") & (frame["breakdown"] == "NHS Trust")
        & (frame["org_code"] == site_obj.trust_code) & bool(site_obj.trust_code)
    )
    parts = [
        frame[england].assign(level="England"),
        frame[icb].assign(level="ICB"),
        frame[trust].assign(level="NHS Trust"),
    ]
    out = pd.concat(parts, ignore_index=True)
    published_blank = (out["published_value"] == "") & (out["statistic"] != "count")
    out = out[~published_blank]
    if out.empty:
        return pd.DataFrame(columns=columns)
    titles = _source_titles(catalogue)
    out = out.assign(
        source_title=out["source"].map(titles).fillna(out["source"]),
        year=_year_label(out["period_start"], out["period_end"]),
    )
    order = {"England": 0, "ICB": 1, "NHS Trust": 2}
    out = out.sort_values(["level", "measure_id", "group", "statistic"], key=lambda s: s.map(order) if s.name == "level" else s)
    return out[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- published -> series


@dataclass(frozen=True)
class PublishedMapping:
    """One catalogue ``[[published_measures]]`` entry that maps a published measure onto a project indicator."""

    measure_id: str
    breakdown: str
    org_code: str
    project: str
    indicator: str
    sites: tuple[str, ...]
    period_type: str = "month"
    statistic: str = "value"
    source: str = ""
    denominator_measure_id: str = ""
    series_breakdown: str = ALL
    group: str = ALL
    label: str = ""

    def code_for(self, catalogue: Catalogue, site_id: str) -> str:
        if self.org_code.startswith("site."):
            return getattr(catalogue.site(site_id), self.org_code.removeprefix("site."))
        return self.org_code


MAPPING_FIELDS = set(PublishedMapping.__dataclass_fields__) | {"site"}


def published_mappings(catalogue: Catalogue) -> tuple[PublishedMapping, ...]:
    """The catalogue's published-measure mappings, checked; entries without an indicator are context only."""
    out = []
    for n, entry in enumerate(catalogue.published_measures):
        where = f"published_measures[{n}] ({entry.get('measure_id', '?')})"
        unknown = sorted(set(entry) - MAPPING_FIELDS)
        if unknown:
            raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(MAPPING_FIELDS))}")
        if not entry.get("indicator"):
            continue
        missing = [k for k in ("measure_id", "breakdown", "org_code", "project") if not entry.get(k)]
        if missing:
            raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
        try:
            indicator = catalogue.indicator(entry["project"], entry["indicator"])
        except KeyError as exc:
            raise CatalogueError(f"{where}: {exc.args[0]}") from exc
        if indicator.source != "series":
            raise CatalogueError(f"{where}: indicator '{indicator.id}' must have source 'series'")
        if entry.get("period_type", "month") not in ("month", "rolling-3-month"):
            raise CatalogueError(f"{where}: period_type must be 'month' or 'rolling-3-month'")
        org_code = entry["org_code"]
        if org_code.startswith("site.") and org_code.removeprefix("site.") not in ("trust_code", "icb_code"):
            raise CatalogueError(f"{where}: org_code must be a code or site.trust_code / site.icb_code")
        sites = entry.get("sites") or ([entry["site"]] if entry.get("site") else None)
        if sites is None:
            attr = org_code.removeprefix("site.") if org_code.startswith("site.") else None
            sites = [s.id for s in catalogue.sites_of(entry["project"], include_comparison=True)
                     if attr is None or getattr(s, attr)]
        for s in sites:
            try:
                site = catalogue.site(s)
            except KeyError as exc:
                raise CatalogueError(f"{where}: {exc.args[0]}") from exc
            if site.project != entry["project"]:
                raise CatalogueError(f"{where}: site '{s}' is not a site of project '{entry['project']}'")
        values = {k: v for k, v in entry.items() if k != "site"}
        values["sites"] = tuple(sites)
        out.append(PublishedMapping(**values))
    return tuple(out)


def published_to_series(published: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """SERIES rows for the (measure, organisation, breakdown) pairs the catalogue maps onto indicators.

    Each mapping takes one period type only, so monthly and rolling figures are never added up; the
    series period is the last month of the published period. Suppressed values are left out rather
    than set to zero; if two sources publish the same month the later row wins.
    """
    pieces = []
    for mapping in published_mappings(catalogue):
        selected = published[
            (published["breakdown"] == mapping.breakdown)
            & (published["period_type"] == mapping.period_type)
            & (published["statistic"] == mapping.statistic)
            & ((published["source"] == mapping.source) if mapping.source else True)
        ]
        numerator = selected[selected["measure_id"] == mapping.measure_id]
        for site_id in mapping.sites:
            code = mapping.code_for(catalogue, site_id)
            rows = numerator[numerator["org_code"] == code]
            if mapping.denominator_measure_id:
                den = selected[(selected["measure_id"] == mapping.denominator_measure_id) & (selected["org_code"] == code)]
                rows = rows.merge(
                    den[["source", "period_start", "period_end", "value"]].rename(columns={"value": "denominator"}),
                    how="left", on=["source", "period_start", "period_end"],
                )
            else:
                rows = rows.assign(denominator=np.nan)
            rows = rows[rows["value"].notna()]
            pieces.append(pd.DataFrame({
                "project": mapping.project, "site": site_id, "indicator": mapping.indicator,
                "period": month_start(rows["period_end"]), "value": rows["value"].to_numpy(),
                "denominator": rows["denominator"].to_numpy(), "breakdown": mapping.series_breakdown,
                "group": mapping.group,
            }, index=rows.index))
    if not pieces:
        return empty_series()
    series = pd.concat(pieces, ignore_index=True)
    series = series.drop_duplicates(list(SERIES_KEY), keep="last")
    return canonical_series(series.sort_values(list(SERIES_KEY), kind="stable"))
