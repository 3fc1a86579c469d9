"""Validation of the three data frames of DESIGN.md: indicator series, participant outcomes, published statistics.

Every check is vectorised (a 200,000-row file validates in seconds) and every failure becomes a
``Problem`` naming the file, the row as a spreadsheet user sees it (header = row 1), the column, the
value and a plain-English fix. All problems are collected before anything is refused.

Row numbers come from the frame's integer index: index 0 is the first data row, row 2 of the file.

Decisions a partner site may meet:
- Value above denominator: refused when the indicator's kind is ``proportion`` (successes out of a
  total), or a ``count``/``rate`` whose denominator names the same unit as the indicator
  (``unit = "families"``, ``denominator = "families referred"``). Events per person (A&E attendances
  per patient) or per population are not bounded that way.
- Counts and rates hold the whole-number count of events (the denominator holds the population);
  counts, rates and proportions cannot be negative; scores cannot exceed the indicator's ``max_value``.
- An empty value is kept as missing with a note (a month not reported, a follow-up not obtained);
  text such as "n/k" in a number column is refused.
- Periods are moved to the first of their month; dates are read by ``periods.read_dates`` (day first, as
  in NHS files; month-first-only or swapped dates refused) and must lie in the catalogue's evaluation window.
- ``breakdown``/``group`` default to "all"; a breakdown must be listed for the indicator in the catalogue,
  and a group of a breakdown with a vocabulary is stored under the catalogue's label (mhin_eval.vocabulary).
- A proportion with a stated ``scale`` is checked against it, one without needs its denominator
  (mhin_eval.shares); a denominator of 0 is refused wherever the catalogue names a denominator.
- Timepoints are compared in lower case ("Baseline" = "baseline"); participant ids are kept as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mhin_eval.catalogue import Catalogue
from mhin_eval.columns import differs, distinct_rows, duplicated, elementwise, is_categorical, spread
from mhin_eval.periods import (
    evaluation_window,
    month_first_fix,
    month_start,
    outside_window,
    read_dates,
    window_message,
)
from mhin_eval.shares import share_checks
from mhin_eval.vocabulary import canonical_attribute, canonical_groups, mixed_levels

DATETIME_DTYPE = "datetime64[ns]"

SERIES_COLUMNS = ("project", "site", "indicator", "period", "value", "denominator", "breakdown", "group")
SERIES_REQUIRED = ("project", "site", "indicator", "period", "value")
SERIES_KEY = ("project", "site", "indicator", "period", "breakdown", "group")

PARTICIPANT_ATTRIBUTES = ("delivery_mode", "ethnicity", "age_band", "sex")
PARTICIPANT_COLUMNS = (
    "project", "site", "participant_id", "measure", "timepoint", "value", "date", *PARTICIPANT_ATTRIBUTES,
)
PARTICIPANT_REQUIRED = ("project", "site", "participant_id", "measure", "timepoint", "value")
PARTICIPANT_KEY = ("project", "site", "participant_id", "measure", "timepoint")

PUBLISHED_COLUMNS = (
    "source", "period_start", "period_end", "period_type", "breakdown", "org_code", "org_name",
    "secondary_code", "secondary_name", "measure_id", "measure_name", "demographic", "group",
    "statistic", "value", "published_value",
)
PUBLISHED_KEY = tuple(c for c in PUBLISHED_COLUMNS if c not in ("value", "published_value"))

ALL = "all"
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none"})
NON_NEGATIVE_KINDS = ("count", "rate", "proportion")
WHOLE_NUMBER_KINDS = ("count", "rate")
MAX_ROWS_PER_PROBLEM = 50

FILL_IN_FIXES = {
    "timepoint": "Fill in the timepoint of this value, e.g. 'baseline' or 'follow-up'.",
    "participant_id": "Fill in the participant's pseudonymised id, the same on each of their rows.",
}
DATE_FIX = "Write the date as 2023-04-01 (year-month-day), 01/04/2023 (day/month/year) or Apr 2023."
MONTH_FIRST_ONLY = ("This date reads only month first (month/day/year, as in US files); dates are read day first, "
                    "as in NHS files")


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be accepted, located as a spreadsheet user would find it."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        value = f" (value: '{self.value}')" if self.value else ""
        return f"{', '.join(where)}: {self.message}{value}. Fix: {self.fix}"


class ValidationFailed(ValueError):
    """A file was refused; ``problems`` holds every reason, ``report()`` prints them one per line."""

    def __init__(self, problems: list[Problem], file: str):
        self.problems = list(problems)
        self.file = file
        super().__init__(self.report())

    def report(self) -> str:
        head = f"{self.file}: {len(self.problems)} problem(s) found; nothing was loaded."
        return "\n".join([head, *(str(p) for p in self.problems)])


@dataclass
class Prepared:
    """A canonical frame with the problems and notes met while building it."""

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- cell helpers


def cell_text(value) -> str:
    """A cell as the text a user typed: integral floats without '.0', dates as ISO, missing as ''."""
    if value is None:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return ""
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if value is pd.NaT or value is pd.NA:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def as_text(column: pd.Series) -> pd.Series:
    """Any column as stripped strings ('' for missing), keeping the index (a category column stays one)."""
    if is_categorical(column):
        return elementwise(column, as_text)
    if isinstance(column.dtype, pd.StringDtype) or (
        pd.api.types.is_string_dtype(column.dtype) and column.dtype != object
    ):
        return column.fillna("").str.strip().astype("str")
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        text = column.dt.strftime("%Y-%m-%d")
        return text.fillna("").astype("str")
    return column.map(cell_text).astype("str")


def parse_numbers(column: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(floats, missing mask, not-a-number mask). Accepts thousands separators like 1,234."""
    if is_categorical(column):
        parsed = [elementwise(column, lambda values, i=i: parse_numbers(values)[i]) for i in range(3)]
        return parsed[0], parsed[1], parsed[2]
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.astype("float64")
        finite = np.isfinite(values) | values.isna()
        return values.where(finite), values.isna() & finite, ~finite
    text = as_text(column)
    missing = text.str.lower().isin(MISSING_TOKENS)
    cleaned = text.where(~text.str.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?"), text.str.replace(",", "", regex=False))
    values = pd.to_numeric(cleaned.where(~missing, None), errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))
    bad = ~missing & values.isna()
    return values, missing, bad


def file_rows(index: pd.Index) -> np.ndarray:
    """Spreadsheet row numbers (header = 1) for frame index labels (0 = first data row)."""
    return np.asarray(index, dtype="int64") + 2


def _row_list(rows: np.ndarray, limit: int = 5) -> str:
    """'5', '2 and 4', '2, 4, 7, 9, 11 and 120 more'."""
    rows = [str(r) for r in rows]
    if len(rows) == 1:
        return rows[0]
    if len(rows) <= limit:
        return f"{', '.join(rows[:-1])} and {rows[-1]}"
    return f"{', '.join(rows[:limit])} and {len(rows) - limit:,} more"


def _rows_phrase(rows) -> str:
    return f"row{'s' if len(rows) > 1 else ''} {_row_list(rows)}"


def _also(rows) -> str:
    """' (rows 2, 3 and 4)' when a value recurs; '' for a single row, which the problem already names."""
    return f" ({_rows_phrase(rows)})" if len(rows) > 1 else ""


def _listing(values) -> str:
    values = sorted(values)
    return ", ".join(values) if values else "(none)"


class _Collector:
    """Gathers problems for one file, capping repeated cell problems while keeping the count."""

    def __init__(self, file_name: str):
        self.file = file_name
        self.problems: list[Problem] = []

    def sorted(self) -> list[Problem]:
        """File-level problems first, then by row, keeping the order checks found them within a row."""
        return sorted(self.problems, key=lambda p: -1 if p.row is None else p.row)

    def add(self, message: str, fix: str, *, row=None, column=None, value=None) -> None:
        self.problems.append(
            Problem(self.file, None if row is None else int(row), column, None if value is None else str(value),
                    message, fix)
        )

    def cells(self, mask: pd.Series, text: pd.Series, column: str, message: str, fix: str) -> None:
        """One problem per flagged cell, up to MAX_ROWS_PER_PROBLEM, then one summary line."""
        if not mask.any():
            return
        index = mask.index[mask.to_numpy()]
        rows = file_rows(index)
        values = text.loc[index].to_numpy()
        for row, value in zip(rows[:MAX_ROWS_PER_PROBLEM], values[:MAX_ROWS_PER_PROBLEM], strict=False):
            self.add(message, fix, row=row, column=column, value=value)
        if len(rows) > MAX_ROWS_PER_PROBLEM:
            more = rows[MAX_ROWS_PER_PROBLEM:]
            self.add(f"{len(more):,} more rows have the same problem ({_rows_phrase(more)})", fix,
                     row=more[0], column=column)

    def by_value(self, mask: pd.Series, text: pd.Series, column: str, message, fix: str) -> None:
        """One problem per distinct flagged value, at its first row; ``message`` gets (value, rows)."""
        if not mask.any():
            return
        flagged = text[mask]
        for value, idx in flagged.groupby(flagged, sort=True).groups.items():
            rows = file_rows(idx)
            self.add(message(value, rows), fix, row=rows[0], column=column, value=value)


# --------------------------------------------------------------------------- columns


def normalise_column_name(name) -> str:
    """'Participant ID ' -> 'participant_id'; strips a stray byte-order mark."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _check_columns(raw: pd.DataFrame, col: _Collector, required, allowed, what: str) -> bool:
    """Missing and unexpected columns; False when a required column is missing."""
    present = list(raw.columns)
    missing = [c for c in required if c not in present]
    extra = [c for c in present if c not in allowed]
    duplicated = sorted({c for c in present if present.count(c) > 1})
    if missing:
        col.add(
            f"The {what} file has no column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)}",
            f"Add the missing column(s) to the first row. A {what} file needs: {', '.join(required)}.",
            row=1,
        )
    if extra:
        col.add(
            f"Unexpected column{'s' if len(extra) > 1 else ''} {', '.join(repr(str(c)) for c in extra)}",
            f"Remove or rename them. The columns allowed in a {what} file are: {', '.join(allowed)}.",
            row=1, column=str(extra[0]), value=", ".join(str(c) for c in extra),
        )
    if duplicated:
        col.add(f"Column(s) {', '.join(repr(c) for c in duplicated)} appear more than once",
                "Keep one column of each name.", row=1, column=duplicated[0])
    return not missing and not duplicated


def _empty_problems(raw: pd.DataFrame, col: _Collector) -> bool:
    if raw.shape[1] == 0:
        col.add("The file is empty", "Export the data again with a first row of column names and one row per value.")
        return True
    if raw.shape[0] == 0:
        col.add("The file has column names but no rows of data",
                "Add the data rows under the column names, or check that the right file was chosen.", row=2)
        return True
    return False


# --------------------------------------------------------------------------- catalogue lookups


def _site_checks(project: pd.Series, site: pd.Series, catalogue: Catalogue, col: _Collector) -> None:
    """Flags unknown projects, unknown sites and sites that belong to another project."""
    known_projects = set(catalogue.project_ids)
    site_project = {s.id: s.project for s in catalogue.sites}
    blank_p, blank_s = project == "", site == ""
    bad_project = ~blank_p & ~project.isin(known_projects)
    col.by_value(
        bad_project, project, "project",
        lambda v, rows: f"Unknown project '{v}'{_also(rows)}",
        f"Use one of the known project ids: {_listing(known_projects)}.",
    )
    unknown_site = ~blank_s & ~site.isin(set(site_project))
    for value, idx in site[unknown_site].groupby(site[unknown_site], sort=True).groups.items():
        rows = file_rows(idx)
        proj = project.loc[idx[0]]
        known = [s.id for s in catalogue.sites if s.project == proj] or list(site_project)
        named = _sites_named(value, catalogue)
        hint = (f" '{value}' names the trust of site(s) {_listing(named)}: write the site id, or read the file with "
                "a recipe whose [site] match is \"trust_code\" or \"trust_name\" (data/recipes/README.md)."
                if named else "")
        col.add(f"Unknown site '{value}'{_also(rows)}",
                f"Use one of the known site ids{' of project ' + repr(proj) if proj in known_projects else ''}: "
                f"{_listing(known)}.{hint}", row=rows[0], column="site", value=value)
    owner = site.map(site_project)
    wrong = ~blank_s & ~unknown_site & ~bad_project & ~blank_p & differs(owner, project)
    if wrong.any():
        pairs = pd.DataFrame({"site": site[wrong], "project": project[wrong]})
        for (s, p), idx in pairs.groupby(["site", "project"], sort=True).groups.items():
            rows = file_rows(idx)
            col.add(f"Site '{s}' belongs to project '{site_project[s]}', not '{p}'{_also(rows)}",
                    f"Correct the project to '{site_project[s]}', or use a site of '{p}': "
                    f"{_listing(x.id for x in catalogue.sites if x.project == p)}.",
                    row=rows[0], column="site", value=s)


def _sites_named(value: str, catalogue: Catalogue) -> list[str]:
    """Sites whose trust code, ICB code or trust name is ``value`` (ignoring case and punctuation)."""
    def key(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).strip()

    wanted = key(value)
    return [s.id for s in catalogue.sites
            if wanted and wanted in {key(s.trust_code), key(s.icb_code), key(s.trust_name), *map(key, s.acute_trusts)}]


def _indicator_table(catalogue: Catalogue) -> pd.DataFrame:
    rows = [
        {
            "project": i.project, "indicator": i.id, "source": i.source, "kind": i.kind,
            "max_value": np.nan if i.max_value is None else float(i.max_value),
            "bounded": _bounded_by_denominator(i.kind, i.unit, i.denominator) and not i.scale,
            "breakdowns": tuple(i.breakdowns), "has_denominator": bool(i.denominator), "scale": i.scale,
        }
        for i in catalogue.indicators
    ]
    return pd.DataFrame(rows, columns=["project", "indicator", "source", "kind", "max_value", "bounded", "breakdowns",
                                       "has_denominator", "scale"])


def _bounded_by_denominator(kind: str, unit: str, denominator: str) -> bool:
    """Proportions, and counts whose denominator is of the same unit, cannot exceed the denominator."""
    if kind == "proportion":
        return True
    if kind in ("count", "rate") and denominator:
        words = {w.rstrip("s") for w in re.findall(r"[a-z]+", unit.lower())}
        return bool(words & {w.rstrip("s") for w in re.findall(r"[a-z]+", denominator.lower())})
    return False


def _indicator_meta(project: pd.Series, indicator: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """Each row's catalogue metadata (missing when unknown), looked up once per distinct (project, indicator):
    text as category columns, flags False when unknown."""
    pair, pairs = distinct_rows(pd.DataFrame({"project": project, "indicator": indicator}, copy=False))
    found = pairs.merge(table, how="left", on=["project", "indicator"])
    meta = {"project": project, "indicator": indicator, "max_value": found["max_value"].to_numpy(float)[pair],
            "breakdowns": found["breakdowns"].to_numpy()[pair], "bounded": found["bounded"].eq(True).to_numpy()[pair],
            "has_denominator": found["has_denominator"].eq(True).to_numpy()[pair]}
    meta.update({name: spread(found[name].astype(object), pair, project.index) for name in ("source", "kind", "scale")})
    return pd.DataFrame(meta, index=project.index, copy=False)


def _indicator_checks(project, indicator, catalogue, col, *, column, source, what):
    """Flags unknown indicators / measures; returns the per-row catalogue metadata (NaN when unknown)."""
    meta = _indicator_meta(project, indicator, _indicator_table(catalogue))
    known_project = project.isin(set(catalogue.project_ids))
    unknown = known_project & (indicator != "") & meta["source"].isna()
    for (p, v), idx in pd.DataFrame({"p": project[unknown], "v": indicator[unknown]}).groupby(
        ["p", "v"], sort=True
    ).groups.items():
        rows = file_rows(idx)
        known = [i.id for i in catalogue.indicators_of(p, source)]
        col.add(f"Unknown {what} '{v}' for project '{p}'{_also(rows)}",
                f"Use one of the known {what}s of '{p}': {_listing(known)}.", row=rows[0], column=column, value=v)
    wrong_source = meta["source"].notna() & (meta["source"] != source)
    if source == "series":
        kind_of, belongs, instead = "a participant measure", "a participant file", "a series file"
    else:
        kind_of, belongs, instead = "a site-level indicator", "a series file", "a participant file"
    col.by_value(
        wrong_source, indicator, column,
        lambda v, rows: f"'{v}' is {kind_of}: it belongs in {belongs}, not {instead}{_also(rows)}",
        f"Put these rows in {belongs}, or use one of the {what}s of {instead}.",
    )
    meta.loc[wrong_source, ["source", "kind"]] = np.nan
    return meta


def _required_blanks(texts: dict[str, pd.Series], columns, col: _Collector, messages: dict[str, str]) -> None:
    for name in columns:
        if name not in texts:
            continue
        blank = texts[name] == ""
        message = messages.get(name, f"The {name} cell is empty")
        fix = FILL_IN_FIXES.get(name, f"Fill in the {name} on every row, or delete rows that hold no data.")
        col.cells(blank, texts[name], name, message, fix)


def _value_checks(values, text, meta, col, *, column="value", denominators=None):
    """Negative, non-whole counts, above the scale maximum; meta holds kind/max_value/bounded per row."""
    kind = meta["kind"]
    negative = kind.isin(NON_NEGATIVE_KINDS) & (values < 0)
    col.cells(negative, text, column, "A negative number where a count cannot be below 0",
              "Correct the number: counts, rates and proportions are 0 or more.")
    fractional = kind.isin(WHOLE_NUMBER_KINDS) & values.notna() & (values != np.floor(values))
    col.cells(fractional & ~negative, text, column, "This indicator is a count and the value is not a whole number",
              "Enter the count of events (a whole number) and put the population or cohort size in 'denominator'; "
              "do not enter a rate or an average.")
    above_max = meta["max_value"].notna() & (values > meta["max_value"])
    if above_max.any():
        for limit, idx in values[above_max].groupby(meta["max_value"][above_max]).groups.items():
            sub = pd.Series(True, index=idx).reindex(values.index, fill_value=False)
            col.cells(sub, text, column, f"A score above the scale maximum of {limit:g}",
                      f"Check the score: this measure runs from 0 to {limit:g}.")
    if denominators is not None:
        above = meta["bounded"].fillna(False).astype(bool) & denominators.notna() & (values > denominators)
        col.cells(above, text, column, "The value is larger than its denominator",
                  "A proportion (or a count out of a group of the same people) cannot exceed the denominator: "
                  "check that value and denominator are not swapped.")


def _duplicates(frame: pd.DataFrame, key, col: _Collector, describe, column: str | None = None, rows=None) -> None:
    """Rows that repeat a key (among ``rows``, a mask, when given)."""
    dup = duplicated(frame, key, rows)
    if not dup.any():
        return
    groups = frame[dup].groupby(list(key), sort=False, dropna=False).groups
    for n, (values, idx) in enumerate(groups.items()):
        if n >= MAX_ROWS_PER_PROBLEM:
            col.add(f"{len(groups) - n:,} more sets of duplicate rows", "Remove the duplicates as above.")
            break
        rows = file_rows(idx)
        col.add(f"Rows {_row_list(rows)} are duplicates: {describe(dict(zip(key, values, strict=True)))}",
                "Keep one row for each of these and delete the others (or correct the one that is wrong).",
                row=rows[-1], column=column)


def _note_missing_values(missing: pd.Series, notes: list[str], what: str) -> None:
    if missing.any():
        notes.append(f"{int(missing.sum()):,} row(s) have no value and are kept as missing ({what}; "
                     f"first at row {file_rows(missing.index[missing.to_numpy()])[0]}).")


def read_date_column(column: pd.Series, col: _Collector, name: str, catalogue: Catalogue | None = None,
                     what: str = "date") -> tuple[pd.Series, pd.Series]:
    """(dates, missing mask) of one column; unreadable, month-first-only and day/month-swapped dates, and with
    a catalogue dates outside its evaluation window, become problems (periods.read_dates reads them)."""
    text = as_text(column)
    reading = read_dates(column)
    col.cells(reading.unreadable, text, name, "This is not a date that can be read", DATE_FIX)
    for index in reading.month_first_only.index[reading.month_first_only.to_numpy()][:MAX_ROWS_PER_PROBLEM]:
        col.add(MONTH_FIRST_ONLY, month_first_fix(text[index]), row=file_rows([index])[0], column=name,
                value=text[index])
    if reading.swapped:
        col.add(f"In the {name} column {reading.swapped}", reading.swapped_fix,
                row=file_rows([reading.swapped_index])[0], column=name, value=text[reading.swapped_index])
    if catalogue is not None:
        window = evaluation_window(catalogue)
        for outside in outside_window(reading.values, window):
            if not outside.any():
                continue
            months = month_start(reading.values[outside])
            for _month, idx in months.groupby(months, sort=True).groups.items():
                rows = file_rows(idx)
                message, fix = window_message(reading.values[idx[0]], window, what)
                col.add(message + _also(rows), fix, row=rows[0], column=name, value=text[idx[0]])
    return reading.values, reading.missing


# --------------------------------------------------------------------------- series


def prepare_series(raw: pd.DataFrame, catalogue: Catalogue, file_name: str) -> Prepared:
    """Canonical SERIES frame from raw cells (strings or typed), with every problem found."""
    col = _Collector(file_name)
    notes: list[str] = []
    raw = raw.rename(columns=normalise_column_name)
    if _empty_problems(raw, col) or not _check_columns(raw, col, SERIES_REQUIRED, SERIES_COLUMNS, "series"):
        return Prepared(empty_series(), col.sorted(), notes)
    raw = drop_blank_rows(raw)
    texts = {c: as_text(raw[c]) for c in ("project", "site", "indicator", "breakdown", "group") if c in raw}
    texts["period_text"] = as_text(raw["period"])
    project, site, indicator = texts["project"], texts["site"], texts["indicator"]
    breakdown = _all_default(texts.get("breakdown"), raw.index)
    group = _all_default(texts.get("group"), raw.index)

    _required_blanks(texts, ("project", "site", "indicator"), col, {})
    _site_checks(project, site, catalogue, col)
    meta = _indicator_checks(project, indicator, catalogue, col,
                             column="indicator", source="series", what="indicator")

    period, period_missing = read_date_column(raw["period"], col, "period", catalogue, what="period")
    col.cells(period_missing, texts["period_text"], "period", "The period cell is empty",
              "Fill in the month this row counts, e.g. 2023-04-01.")
    moved = period.notna() & (period != month_start(period))
    period = month_start(period)
    if moved.any():
        notes.append(f"{int(moved.sum()):,} period(s) were not the 1st of the month and were moved to the month start.")

    value_text = as_text(raw["value"])
    value, value_missing, value_bad = parse_numbers(raw["value"])
    col.cells(value_bad, value_text, "value", "This is text where a number is expected",
              "Write a plain number such as 12 or 0.5, with no units or words; leave the cell empty if not known.")
    _note_missing_values(value_missing, notes, "series value")
    if "denominator" in raw:
        den_text = as_text(raw["denominator"])
        denominator, _den_missing, den_bad = parse_numbers(raw["denominator"])
        col.cells(den_bad, den_text, "denominator", "This is text where a number is expected",
                  "Write the denominator as a plain number, or leave it empty when there is none.")
        col.cells(denominator < 0, den_text, "denominator", "A negative denominator",
                  "A denominator (population, cohort size) is 0 or more; correct it.")
        zero = (denominator == 0) & (meta["kind"].isin(("rate", "proportion")) | meta["has_denominator"].eq(True))
        col.cells(zero, den_text, "denominator", "A denominator of 0 for a rate, proportion or count per population",
                  "Enter the population or total the value is out of, or leave the cell empty if unknown.")
    else:
        denominator = pd.Series(np.nan, index=raw.index, dtype="float64")
    _value_checks(value, value_text, meta, col, denominators=denominator)
    share_checks(value, value_text, denominator, meta, col)
    _breakdown_checks(breakdown, group, meta, indicator, col)
    group = canonical_groups(breakdown, group, catalogue, col, notes)

    frame = pd.DataFrame(
        {
            "project": project, "site": site, "indicator": indicator, "period": period,
            "value": value, "denominator": denominator, "breakdown": breakdown, "group": group,
        },
        index=raw.index, copy=False,
    )
    complete = ((project != "") & (site != "") & (indicator != "") & period.notna()).to_numpy()
    levels = frame[["site", "indicator", "breakdown", "group"]]
    mixed_levels(levels if complete.all() else levels[complete], catalogue, col)
    _duplicates(
        frame, SERIES_KEY, col,
        lambda k: f"site '{k['site']}', indicator '{k['indicator']}', month {k['period']:%Y-%m}"
        + ("" if k["breakdown"] == ALL else f", {k['breakdown']} '{k['group']}'") + " appears more than once",
        column="period", rows=complete,
    )
    return Prepared(canonical_series(frame), col.sorted(), notes)


def _all_default(text: pd.Series | None, index) -> pd.Series:
    if text is None:
        return pd.Series(ALL, index=index, dtype="str")
    return elementwise(text, lambda t: t.where(~t.str.lower().isin({"", ALL}), ALL))


def _breakdown_checks(breakdown, group, meta, indicator, col: _Collector) -> None:
    allowed = meta["breakdowns"]
    stratified = breakdown != ALL
    known = meta["source"].notna()
    not_listed = _not_listed(breakdown, allowed) & stratified & known
    if not_listed.any():
        pairs = pd.DataFrame({"i": indicator[not_listed], "b": breakdown[not_listed]})
        for (ind, b), idx in pairs.groupby(["i", "b"], sort=True).groups.items():
            rows = file_rows(idx)
            listed = allowed.loc[idx[0]]
            col.add(f"Breakdown '{b}' is not listed for indicator '{ind}'{_also(rows)}",
                    f"Use 'all' for unstratified rows{', or one of: ' + ', '.join(listed) if listed else ''}; "
                    "new breakdowns are added to the catalogue first.", row=rows[0], column="breakdown", value=b)
    no_group = stratified & (group == ALL)
    col.cells(no_group, breakdown, "group", "A stratified row (breakdown is not 'all') has no group",
              "Name the group of this row, e.g. 'Black or Black British' for breakdown 'ethnicity'.")
    stray = ~stratified & (group != ALL)
    col.cells(stray, group, "group", "A group is given but the breakdown is 'all' (or empty)",
              "Fill in the breakdown this group belongs to (e.g. 'ethnicity'), or set the group to 'all'.")


def _not_listed(breakdown: pd.Series, allowed: pd.Series) -> pd.Series:
    """Rows whose breakdown is not in their indicator's tuple of breakdowns (False where that is unknown),
    decided once per distinct (breakdown, tuple)."""
    b_codes, b_values = pd.factorize(breakdown)
    a_codes, a_values = pd.factorize(allowed.to_numpy())
    table = np.array([[b not in a if isinstance(a, tuple) else False for a in a_values] + [False]
                      for b in b_values], dtype=bool).reshape(len(b_values), len(a_values) + 1)
    return pd.Series(table[b_codes, a_codes], index=breakdown.index)


def drop_blank_rows(raw: pd.DataFrame) -> pd.DataFrame:
    """The rows with any content (index kept: file line - 2); each category column read once per value."""
    filled = np.zeros(len(raw), dtype=bool)
    for position in range(raw.shape[1]):
        filled |= (as_text(raw.iloc[:, position]) != "").to_numpy(dtype=bool)
    return raw if raw.empty or filled.all() else raw[filled]


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The given columns in the given order with the contract's dtypes ("str", "float" or "date"), index reset."""
    cast = {
        "str": lambda c: c if is_categorical(c) else c.astype("str"),
        "float": lambda c: c.astype("float64"),
        "date": lambda c: pd.to_datetime(c).astype(DATETIME_DTYPE),
    }
    return pd.DataFrame({name: cast[kind](frame[name]) for name, kind in types.items()},
                        copy=False).reset_index(drop=True)


def empty_series() -> pd.DataFrame:
    return canonical_series(pd.DataFrame({c: [] for c in SERIES_COLUMNS}))


def canonical_series(frame: pd.DataFrame) -> pd.DataFrame:
    """SERIES columns in contract order and dtypes, index reset."""
    return _typed(frame, {"project": "str", "site": "str", "indicator": "str", "period": "date", "value": "float",
                          "denominator": "float", "breakdown": "str", "group": "str"})


def validate_series(frame: pd.DataFrame, catalogue: Catalogue, file_name: str) -> list[Problem]:
    """Every problem of a series frame (raw cells or canonical); empty list when it is acceptable."""
    return prepare_series(frame, catalogue, file_name).problems


# --------------------------------------------------------------------------- participants


def prepare_participants(raw: pd.DataFrame, catalogue: Catalogue, file_name: str) -> Prepared:
    """Canonical PARTICIPANT frame from raw cells, with every problem found."""
    col = _Collector(file_name)
    notes: list[str] = []
    raw = raw.rename(columns=normalise_column_name)
    if _empty_problems(raw, col) or not _check_columns(
        raw, col, PARTICIPANT_REQUIRED, PARTICIPANT_COLUMNS, "participant"
    ):
        return Prepared(empty_participants(), col.sorted(), notes)
    raw = drop_blank_rows(raw)
    texts = {c: as_text(raw[c]) for c in ("project", "site", "participant_id", "measure", "timepoint")}
    project, site, measure = texts["project"], texts["site"], texts["measure"]
    timepoint = texts["timepoint"].str.lower()
    _required_blanks(
        texts, ("project", "site", "participant_id", "measure", "timepoint"), col,
        {"timepoint": "The timepoint is missing", "participant_id": "The participant_id is missing"},
    )
    _site_checks(project, site, catalogue, col)
    meta = _indicator_checks(project, measure, catalogue, col,
                             column="measure", source="participant", what="measure")
    value_text = as_text(raw["value"])
    value, value_missing, value_bad = parse_numbers(raw["value"])
    col.cells(value_bad, value_text, "value", "This is text where a number is expected",
              "Write a plain number such as 12 or 0.5, with no units or words; leave the cell empty if not known.")
    _note_missing_values(value_missing, notes, "e.g. a follow-up not obtained")
    _value_checks(value, value_text, meta, col)
    if "date" in raw:
        date, _missing = read_date_column(raw["date"], col, "date", catalogue)
    else:
        date = pd.Series(pd.NaT, index=raw.index, dtype=DATETIME_DTYPE)
    frame = pd.DataFrame(
        {
            "project": project, "site": site, "participant_id": texts["participant_id"], "measure": measure,
            "timepoint": timepoint, "value": value, "date": date,
        },
        index=raw.index,
    )
    for attribute in PARTICIPANT_ATTRIBUTES:
        if attribute in raw:
            text = as_text(raw[attribute])
            if catalogue.breakdown(attribute) is not None:
                text = canonical_attribute(text, catalogue.breakdown(attribute), col, notes, attribute)
            frame[attribute] = text.where(text != "", None)
    complete = (frame[list(PARTICIPANT_KEY)] != "").all(axis=1)
    _duplicates(
        frame[complete], PARTICIPANT_KEY, col,
        lambda k: f"participant '{k['participant_id']}' at site '{k['site']}' has measure '{k['measure']}' "
        f"at timepoint '{k['timepoint']}' more than once",
        column="timepoint",
    )
    return Prepared(canonical_participants(frame), col.sorted(), notes)


def empty_participants() -> pd.DataFrame:
    return canonical_participants(pd.DataFrame({c: [] for c in PARTICIPANT_COLUMNS[:7]}))


def canonical_participants(frame: pd.DataFrame) -> pd.DataFrame:
    """PARTICIPANT columns in contract order and dtypes; attribute columns always present (missing when absent)."""
    out = _typed(frame, {"project": "str", "site": "str", "participant_id": "str", "measure": "str",
                         "timepoint": "str", "value": "float", "date": "date"})
    for attribute in PARTICIPANT_ATTRIBUTES:
        values = frame[attribute] if attribute in frame else pd.Series(None, index=frame.index, dtype=object)
        out[attribute] = values.astype("str").to_numpy()
    return out


def validate_participants(frame: pd.DataFrame, catalogue: Catalogue, file_name: str) -> list[Problem]:
    """Every problem of a participant frame; empty list when it is acceptable."""
    return prepare_participants(frame, catalogue, file_name).problems


# --------------------------------------------------------------------------- published


def canonical_published(frame: pd.DataFrame) -> pd.DataFrame:
    """PUBLISHED columns in contract order and dtypes (validated first: dates read day first by the one
    period reader, an empty value missing)."""
    out = pd.DataFrame({c: frame[c] for c in PUBLISHED_COLUMNS})
    for c in PUBLISHED_COLUMNS:
        if c in ("period_start", "period_end"):
            out[c] = read_dates(out[c]).values.astype(DATETIME_DTYPE)
        elif c == "value":
            text = out[c].astype("string").str.strip()
            out[c] = pd.to_numeric(text.mask(text == "", None)).astype("float64")
        else:
            out[c] = out[c].fillna("").astype("str")
    return out.reset_index(drop=True)


def validate_published(frame: pd.DataFrame, file_name: str, catalogue: Catalogue | None = None) -> list[Problem]:
    """Published statistics: all contract columns, readable dates (in the catalogue's window), numeric values
    (empty where suppressed), unique keys."""
    col = _Collector(file_name)
    if _empty_problems(frame, col):
        return col.problems
    if not _check_columns(frame, col, PUBLISHED_COLUMNS, PUBLISHED_COLUMNS, "published statistics"):
        return col.problems
    for c in ("period_start", "period_end"):
        _values, missing = read_date_column(frame[c], col, c, catalogue if c == "period_start" else None)
        col.cells(missing, as_text(frame[c]), c, "The period date is missing", DATE_FIX)
    value_text = as_text(frame["value"]).str.strip()
    not_number = (value_text != "") & pd.to_numeric(value_text, errors="coerce").isna()
    col.cells(not_number, value_text, "value", "The value is not a number",
              "Write the number, or leave the cell empty where it was suppressed (keep '*' in published_value).")
    _duplicates(frame, PUBLISHED_KEY, col,
                lambda k: f"measure '{k['measure_id']}' for '{k['org_code']}' ({k['statistic']}) appears twice")
    return col.problems


# --------------------------------------------------------------------------- sustainability assessments

SUSTAINABILITY_COLUMNS = ("project", "site", "instrument", "assessment_date", "respondent", "item", "score")
SUSTAINABILITY_KEY = ("project", "site", "instrument", "assessment_date", "respondent", "item")
EMAIL_PATTERN = r"[\w.+-]+@[\w-]+\.[\w.-]+"
PHONE_PATTERN = r"(?:\+44\s?|\b0)\d{3,4}\s?\d{3}\s?\d{3,4}\b"


def _identifying(text: pd.Series) -> pd.Series:
    """Cells holding an email address or a UK phone number: not pseudonymised."""
    return text.str.contains(EMAIL_PATTERN, regex=True) | text.str.contains(PHONE_PATTERN, regex=True)


def prepare_sustainability(raw: pd.DataFrame, catalogue: Catalogue, file_name: str) -> Prepared:
    """Canonical SUSTAINABILITY frame (one row per respondent, round and item) with every problem found.

    A round is one ``assessment_date`` of one instrument at one site. An empty score is kept as
    missing (the respondent did not answer that item) and left out of the domain mean.
    """
    col = _Collector(file_name)
    notes: list[str] = []
    raw = raw.rename(columns=normalise_column_name)
    if _empty_problems(raw, col) or not _check_columns(
        raw, col, SUSTAINABILITY_COLUMNS, SUSTAINABILITY_COLUMNS, "sustainability assessment"
    ):
        return Prepared(empty_sustainability(), col.sorted(), notes)
    raw = drop_blank_rows(raw)
    texts = {c: as_text(raw[c]) for c in ("project", "site", "instrument", "respondent", "item")}
    project, site, instrument, respondent = texts["project"], texts["site"], texts["instrument"], texts["respondent"]
    instrument = instrument.str.lower()
    item = texts["item"].str.lower()
    _required_blanks(texts, ("project", "site", "instrument", "respondent", "item"), col,
                     {"respondent": "The respondent is missing"})
    _site_checks(project, site, catalogue, col)

    known = {i.id: i for i in catalogue.instruments}
    unknown = (instrument != "") & ~instrument.isin(set(known))
    col.by_value(unknown, texts["instrument"], "instrument",
                 lambda v, rows: f"Unknown instrument '{v}'{_also(rows)}",
                 f"Use one of the instruments in the catalogue: {_listing(known)}; a new instrument is added "
                 "to the catalogue first.")
    scale_min = instrument.map({k: i.scale_min for k, i in known.items()}).astype("float64")
    scale_max = instrument.map({k: i.scale_max for k, i in known.items()}).astype("float64")
    whole = instrument.map({k: i.whole_numbers for k, i in known.items()}).eq(True)
    item_ok = pd.Series([i in known[s].items if s in known else True for s, i in zip(instrument, item, strict=True)],
                        index=item.index)
    bad_item = (item != "") & ~item_ok
    if bad_item.any():
        pairs = pd.DataFrame({"instrument": instrument[bad_item], "item": item[bad_item]})
        for (ins, value), idx in pairs.groupby(["instrument", "item"], sort=True).groups.items():
            rows = file_rows(idx)
            items = known[ins].items
            shown = ", ".join(items[:10]) + (f" … ({len(items)} items)" if len(items) > 10 else "")
            col.add(f"Unknown item '{value}' of instrument '{ins}'{_also(rows)}",
                    f"Use the item ids of {known[ins].short_name} as listed in the catalogue: {shown}.",
                    row=rows[0], column="item", value=texts["item"].loc[idx[0]])

    col.cells(_identifying(respondent), respondent, "respondent",
              "The respondent looks like an email address or phone number, not a pseudonymised id",
              "Replace it with the respondent's pseudonymised code (e.g. R07), the same in every round.")

    date_text = as_text(raw["assessment_date"])
    date, date_missing = read_date_column(raw["assessment_date"], col, "assessment_date", catalogue)
    col.cells(date_missing, date_text, "assessment_date", "The assessment_date cell is empty",
              "Fill in the date of the assessment round, the same on every row of that round.")

    score_text = as_text(raw["score"])
    score, score_missing, score_bad = parse_numbers(raw["score"])
    col.cells(score_bad, score_text, "score", "This is text where a score is expected",
              "Write the score as a number on the instrument's scale, or leave the cell empty when the "
              "respondent did not answer.")
    outside = scale_min.notna() & score.notna() & ((score < scale_min) | (score > scale_max))
    if outside.any():
        for ins, idx in score[outside].groupby(instrument[outside]).groups.items():
            sub = pd.Series(True, index=idx).reindex(score.index, fill_value=False)
            spec = known[ins]
            col.cells(sub, score_text, "score", f"A score outside the {spec.short_name} scale of {spec.scale_text}",
                      f"Enter a score from {spec.scale_text}, or leave the cell empty when the respondent did not "
                      "answer.")
    fractional = whole & score.notna() & (score != np.floor(score)) & ~outside
    col.cells(fractional, score_text, "score", "The score is not a whole number",
              "Enter the whole-number rating the respondent chose; do not enter averages.")
    if score_missing.any():
        notes.append(f"{int(score_missing.sum()):,} item(s) have no score and are kept as not answered "
                     f"(first at row {file_rows(score_missing.index[score_missing.to_numpy()])[0]}).")

    frame = pd.DataFrame(
        {"project": project, "site": site, "instrument": instrument, "assessment_date": date,
         "respondent": respondent, "item": item, "score": score},
        index=raw.index,
    )
    complete = (frame[["project", "site", "instrument", "respondent", "item"]] != "").all(axis=1) & date.notna()
    _duplicates(
        frame[complete], SUSTAINABILITY_KEY, col,
        lambda k: f"respondent '{k['respondent']}' scored item '{k['item']}' of '{k['instrument']}' more than once "
        f"in the round of {k['assessment_date']:%Y-%m-%d} at site '{k['site']}'",
        column="item",
    )
    return Prepared(canonical_sustainability(frame), col.sorted(), notes)


def empty_sustainability() -> pd.DataFrame:
    return canonical_sustainability(pd.DataFrame({c: [] for c in SUSTAINABILITY_COLUMNS}))


def canonical_sustainability(frame: pd.DataFrame) -> pd.DataFrame:
    """SUSTAINABILITY columns in contract order and dtypes, index reset."""
    return _typed(frame, {"project": "str", "site": "str", "instrument": "str", "assessment_date": "date",
                          "respondent": "str", "item": "str", "score": "float"})


def validate_sustainability(frame: pd.DataFrame, catalogue: Catalogue, file_name: str) -> list[Problem]:
    """Every problem of a sustainability-assessment frame; empty list when it is acceptable."""
    return prepare_sustainability(frame, catalogue, file_name).problems


# --------------------------------------------------------------------------- implementation findings

FINDINGS_COLUMNS = ("project", "site", "date", "kind", "domain", "summary", "source", "quote")
FINDINGS_REQUIRED = ("project", "site", "date", "kind", "domain", "summary", "source")
FINDINGS_KEY = ("project", "site", "date", "kind", "domain", "summary")


def prepare_findings(raw: pd.DataFrame, catalogue: Catalogue, file_name: str) -> Prepared:
    """Canonical FINDINGS frame (facilitators and barriers with their domain and source) with every problem.

    ``kind``, ``domain`` and ``source`` are compared in lower case against the catalogue's [findings]
    lists; an empty quote is kept as missing.
    """
    col = _Collector(file_name)
    notes: list[str] = []
    raw = raw.rename(columns=normalise_column_name)
    if _empty_problems(raw, col) or not _check_columns(
        raw, col, FINDINGS_REQUIRED, FINDINGS_COLUMNS, "implementation findings"
    ):
        return Prepared(empty_findings(), col.sorted(), notes)
    raw = drop_blank_rows(raw)
    texts = {c: as_text(raw[c]) for c in ("project", "site", "kind", "domain", "summary", "source")}
    project, site, summary = texts["project"], texts["site"], texts["summary"]
    _required_blanks(texts, ("project", "site", "kind", "domain", "summary", "source"), col, {})
    _site_checks(project, site, catalogue, col)
    spec = catalogue.findings
    lowered = {}
    for column, allowed, what in (
        ("kind", spec.kinds, "kind"),
        ("domain", spec.domains, "domain"),
        ("source", spec.sources, "source"),
    ):
        value = texts[column].str.lower().str.replace(r"\s+", " ", regex=True)
        lowered[column] = value
        if not allowed:
            continue
        bad = (value != "") & ~value.isin(set(allowed))
        col.by_value(bad, texts[column], column,
                     lambda v, rows, what=what: f"'{v}' is not a known {what}{_also(rows)}",
                     f"Use one of: {', '.join(allowed)}" + (" (the catalogue's [findings] lists them)." if what != "kind"
                                                            else "."))
    date_text = as_text(raw["date"])
    date, date_missing = read_date_column(raw["date"], col, "date", catalogue)
    col.cells(date_missing, date_text, "date", "The date cell is empty",
              "Fill in the date of the interview, survey or workshop the finding comes from.")
    if "quote" in raw:
        quote = as_text(raw["quote"])
        col.cells(_identifying(quote), quote, "quote",
                  "The quote contains an email address or phone number",
                  "Pseudonymise the quote: remove names, addresses and numbers that identify anyone.")
        quote = quote.where(quote != "", None)
    else:
        quote = pd.Series(None, index=raw.index, dtype=object)
    col.cells(_identifying(summary), summary, "summary", "The summary contains an email address or phone number",
              "Remove details that identify anyone from the summary.")
    frame = pd.DataFrame(
        {"project": project, "site": site, "date": date, "kind": lowered["kind"], "domain": lowered["domain"],
         "summary": summary, "source": lowered["source"], "quote": quote},
        index=raw.index,
    )
    complete = (frame[["project", "site", "kind", "domain", "summary"]] != "").all(axis=1) & date.notna()
    _duplicates(
        frame[complete], FINDINGS_KEY, col,
        lambda k: f"the {k['kind']} '{k['summary'][:60]}' at site '{k['site']}' on {k['date']:%Y-%m-%d} "
        "appears more than once",
        column="summary",
    )
    return Prepared(canonical_findings(frame), col.sorted(), notes)


def empty_findings() -> pd.DataFrame:
    return canonical_findings(pd.DataFrame({c: [] for c in FINDINGS_COLUMNS}))


def canonical_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """FINDINGS columns in contract order and dtypes (quote missing when not given), index reset."""
    out = _typed(frame, {"project": "str", "site": "str", "date": "date", "kind": "str", "domain": "str",
                         "summary": "str", "source": "str"})
    out["quote"] = frame["quote"].astype(object).where(frame["quote"].notna(), None).to_numpy()
    return out


def validate_findings(frame: pd.DataFrame, catalogue: Catalogue, file_name: str) -> list[Problem]:
    """Every problem of an implementation-findings frame; empty list when it is acceptable."""
    return prepare_findings(frame, catalogue, file_name).problems
