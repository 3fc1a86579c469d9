"""The one reader of dates and month periods, used by the loaders, validation and the analysis commands.

Accepts ISO dates (2023-04-01, 2023-04), day-first numeric dates as in NHS files (01/04/2023,
1-4-23), month names (Apr 2023) and typed datetimes (Excel cells, Parquet). A numeric date that is
only valid month first (9/13/2021) is flagged rather than guessed; so is a whole column that reads
as month starts only month first (9/1/2021, 10/1/2021 ...: day and month probably swapped).

The evaluation window (``earliest_period`` in the catalogue's [settings] up to the current month)
refuses periods that cannot be right, such as 1899-01 or a month still to come.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

DATETIME_DTYPE = "datetime64[ns]"
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nat"})
DEFAULT_EARLIEST_PERIOD = "2015-01"

#: Formats that cannot be read two ways (numeric day/month dates are handled by NUMERIC_DATE).
UNAMBIGUOUS_FORMATS = (
    "%Y-%m-%d", "%Y-%m", "%Y/%m/%d", "%Y/%m", "%b %Y", "%B %Y", "%b-%Y", "%B-%Y", "%b-%y", "%b %y",
    "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
)
NUMERIC_DATE = re.compile(
    r"^(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
MONTH_YEAR = re.compile(r"^(?P<m>\d{1,2})/(?P<y>\d{4})$")
ISO_FIX = "Write the date as 2023-04-01 (year-month-day), 01/04/2023 (day/month/year) or Apr 2023."
ISO_STATE_FIX = (
    "State the order by writing the dates as year-month-day, e.g. 2021-09-01 for 1 September 2021 "
    "(or 2021-01-09 if 9 January was meant); NHS-style day/month/year (01/09/2021) is read day first."
)


class PeriodError(ValueError):
    """A single date value (a go-live, a command-line argument) that cannot be read."""


@dataclass(frozen=True)
class DateReading:
    """A column read as dates, with the cells (and the column-level doubt) that stop it being trusted.

    ``values`` is NaT where the cell is missing, unreadable or only valid month first.
    ``swapped`` holds a description when day and month look swapped in the whole column, else ''.
    """

    values: pd.Series
    missing: pd.Series
    unreadable: pd.Series
    month_first_only: pd.Series
    swapped: str = ""
    swapped_index: object = None
    swapped_fix: str = ISO_STATE_FIX

    @property
    def problems(self) -> pd.Series:
        """Cells refused one by one (unreadable or month-first only)."""
        return self.unreadable | self.month_first_only


def _two_digit_year(year: pd.Series) -> pd.Series:
    return year.where(year >= 100, np.where(year < 69, 2000 + year, 1900 + year))


def _dates(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    ok = month.between(1, 12) & day.between(1, 31)
    out = pd.Series(pd.NaT, index=year.index, dtype=DATETIME_DTYPE)
    if ok.any():
        out[ok] = pd.to_datetime(frame[ok], errors="coerce").astype(DATETIME_DTYPE)
    return out


def _numeric_readings(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(is numeric d/m/y, day-first reading, month-first reading) of unique texts."""
    parts = text.str.extract(NUMERIC_DATE)
    numeric = parts["a"].notna()
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    y = _two_digit_year(pd.to_numeric(parts["y"], errors="coerce"))
    day_first = _dates(y[numeric], b[numeric], a[numeric]).reindex(text.index)
    month_first = _dates(y[numeric], a[numeric], b[numeric]).reindex(text.index)
    return numeric, day_first.astype(DATETIME_DTYPE), month_first.astype(DATETIME_DTYPE)


def _unambiguous(text: pd.Series) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=text.index, dtype=DATETIME_DTYPE)
    for fmt in UNAMBIGUOUS_FORMATS:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype(DATETIME_DTYPE)
    month_year = text.str.extract(MONTH_YEAR)
    has = parsed.isna() & month_year["m"].notna()
    if has.any():
        one = pd.Series(1, index=text.index)[has]
        parsed[has] = _dates(pd.to_numeric(month_year["y"][has]), pd.to_numeric(month_year["m"][has]), one)
    return parsed


def _cell_text(value) -> str:
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, (pd.Timestamp, np.datetime64, dt.datetime, dt.date)):
        ts = pd.Timestamp(value)
        return "" if pd.isna(ts) else ts.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_dates(column: pd.Series) -> DateReading:
    """Reads a column of dates, day first where numeric dates could be read both ways (see module doc)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _read_categories(column)
    false = pd.Series(False, index=column.index)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        values = column.dt.tz_localize(None) if getattr(column.dt, "tz", None) else column
        values = values.astype(DATETIME_DTYPE)
        return DateReading(values, values.isna(), false, false.copy())
    text = column.map(_cell_text).astype("str")
    missing = text.str.lower().isin(MISSING_TOKENS)
    unique = pd.Series(pd.unique(text[~missing]), dtype="str")
    numeric, day_first, month_first = _numeric_readings(unique)
    parsed = _unambiguous(unique).where(~numeric, day_first)
    only_month_first = numeric & day_first.isna() & month_first.notna()
    swapped, swapped_fix, swapped_value = "", ISO_STATE_FIX, None
    num = unique[numeric]
    if len(num) and (day_first[numeric].notna() & month_first[numeric].notna()).all():
        if (month_first[numeric].dt.day == 1).all() and not (day_first[numeric].dt.day == 1).all():
            swapped_value = num.iloc[0]
            df, mf = day_first[numeric].iloc[0], month_first[numeric].iloc[0]
            which = "it is" if len(num) == 1 else "every numeric date in the column is"
            swapped = (
                f"day and month may be swapped: read day first, as in NHS files, '{swapped_value}' is "
                f"{df:%-d %B %Y}, but {which} the 1st of a month only when read month first "
                f"('{swapped_value}' = {mf:%-d %B %Y})"
            )
            swapped_fix = (
                f"State the order by writing the dates as year-month-day, e.g. {mf:%Y-%m-%d} for {mf:%-d %B %Y} "
                f"(or {df:%Y-%m-%d} if {df:%-d %B} was meant); NHS-style day/month/year ({mf:%d/%m/%Y}) is read "
                "day first."
            )
    lookup_value = pd.Series(parsed.where(~only_month_first).to_numpy(), index=unique.to_numpy())
    lookup_mfo = pd.Series(only_month_first.to_numpy(), index=unique.to_numpy())
    values = pd.Series(pd.NaT, index=column.index, dtype=DATETIME_DTYPE)
    month_first_only = false.copy()
    if len(unique):
        present = text[~missing]
        values[~missing] = present.map(lookup_value).astype(DATETIME_DTYPE)
        month_first_only[~missing] = present.map(lookup_mfo).astype(bool)
    unreadable = ~missing & values.isna() & ~month_first_only
    swapped_index = None
    if swapped:
        swapped_index = text.index[(text == swapped_value).to_numpy()][0]
        values[text.isin(set(num))] = pd.NaT
    return DateReading(values, missing, unreadable, month_first_only, swapped, swapped_index, swapped_fix)


def _read_categories(column: pd.Series) -> DateReading:
    """read_dates of a category column: each distinct text read once, in order of first appearance (the
    swapped-order check names the first such date in the file), then spread to the rows."""
    codes = column.cat.codes.to_numpy()
    slot = np.where(codes < 0, len(column.cat.categories), codes)
    order = pd.unique(slot)
    texts = np.append(column.cat.categories.to_numpy(dtype=object), None)[order]
    reading = read_dates(pd.Series(texts, dtype=object))
    position = np.empty(len(column.cat.categories) + 1, dtype="int64")
    position[order] = np.arange(len(order))
    rows = position[slot]

    def spread(values: pd.Series) -> pd.Series:
        return pd.Series(values.to_numpy()[rows], index=column.index, dtype=values.dtype)

    swapped_index = None
    if reading.swapped:
        swapped_index = column.index[np.flatnonzero(rows == reading.swapped_index)[0]]
    return DateReading(spread(reading.values), spread(reading.missing), spread(reading.unreadable),
                       spread(reading.month_first_only), reading.swapped, swapped_index, reading.swapped_fix)


def as_timestamp(value) -> pd.Timestamp:
    """A go-live or rebase point given as text (read like a cell, day first) or as a date or timestamp."""
    if isinstance(value, str):
        return parse_period(value)
    return pd.Timestamp(value)


def month_first_fix(text: str) -> str:
    """How to rewrite a date that reads only month first (9/13/2021) so it is read as meant."""
    match = NUMERIC_DATE.match(str(text).strip())
    if not match:
        return ISO_STATE_FIX
    month, day = int(match["a"]), int(match["b"])
    year = int(_two_digit_year(pd.Series([int(match["y"])])).iloc[0])
    return (f"Write it day first ({day:02d}/{month:02d}/{year}) or as year-month-day ({year}-{month:02d}-{day:02d}); "
            "if the whole column was written month first, rewrite it all as year-month-day.")


def month_start(values: pd.Series) -> pd.Series:
    """Datetimes moved to the first day of their month (midnight)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return pd.Series(values.to_numpy().astype("datetime64[M]").astype(DATETIME_DTYPE), index=values.index,
                         name=values.name)
    return values.dt.to_period("M").dt.start_time.astype(DATETIME_DTYPE)


def parse_period(value) -> pd.Timestamp:
    """One date (a go-live, a --rebase-at value) read like a column cell; raises PeriodError with the fix."""
    if isinstance(value, str):
        return _parse_period_text(value)
    return _parse_period(value)


@functools.lru_cache(maxsize=4096)
def _parse_period_text(value: str) -> pd.Timestamp:
    """parse_period of a text, remembered: a catalogue of a thousand sites repeats a few go-live dates."""
    return _parse_period(value)


def _parse_period(value) -> pd.Timestamp:
    reading = read_dates(pd.Series([value], dtype=object))
    if reading.missing.iloc[0]:
        raise PeriodError("no date was given. Fix: " + ISO_FIX)
    if reading.month_first_only.iloc[0]:
        raise PeriodError(f"'{value}' reads only month first (month/day/year); dates are read day first as in "
                          f"NHS files. Fix: {month_first_fix(value)}")
    if reading.swapped:
        raise PeriodError(f"'{value}': {reading.swapped}. Fix: {reading.swapped_fix}")
    if reading.unreadable.iloc[0]:
        raise PeriodError(f"'{value}' is not a date that can be read. Fix: {ISO_FIX}")
    return pd.Timestamp(reading.values.iloc[0])


def column_dates(column: pd.Series, name: str) -> pd.Series:
    """A whole column of dates for an analysis, or PeriodError naming the first bad row (header = row 1)."""
    reading = read_dates(column)
    if reading.swapped:
        raise PeriodError(f"column '{name}': {reading.swapped}. Fix: {reading.swapped_fix}")
    rows = pd.Series(np.arange(len(column)) + 2, index=column.index)
    for mask, what in (
        (reading.month_first_only, "reads only month first (month/day/year); dates are read day first as in NHS files"),
        (reading.unreadable, "is not a date that can be read"),
    ):
        if mask.any():
            idx = mask.index[mask.to_numpy()][0]
            fix = month_first_fix(column[idx]) if mask is reading.month_first_only else ISO_FIX
            raise PeriodError(f"column '{name}', row {rows[idx]}: '{column[idx]}' {what}"
                              f"{f' ({int(mask.sum())} rows in all)' if mask.sum() > 1 else ''}. Fix: {fix}")
    return reading.values


# --------------------------------------------------------------------------- evaluation window

_today_override: dt.date | None = None


def today() -> dt.date:
    """Today's date from the clock, unless a test has fixed it with ``today_is``."""
    return _today_override or dt.date.today()


@contextmanager
def today_is(date: dt.date) -> Iterator[None]:
    """Within the block, ``today()`` is ``date`` (tests of the evaluation window)."""
    global _today_override
    before, _today_override = _today_override, date
    try:
        yield
    finally:
        _today_override = before


@dataclass(frozen=True)
class Window:
    """The months data may describe: from the catalogue's earliest_period to the current month."""

    earliest: pd.Timestamp
    latest: pd.Timestamp

    @property
    def text(self) -> str:
        return f"{self.earliest:%b %Y} to {self.latest:%b %Y}"


def evaluation_window(catalogue, when: dt.date | None = None) -> Window:
    """The window of the catalogue's ``earliest_period`` setting up to the month of ``when`` (default today)."""
    from mhin_eval.catalogue import CatalogueError

    setting = catalogue.setting("earliest_period", DEFAULT_EARLIEST_PERIOD)
    try:
        earliest = parse_period(str(setting))
    except PeriodError as exc:
        raise CatalogueError(f"settings.earliest_period: {exc}; write it as YYYY-MM, e.g. 2015-01") from exc
    now = pd.Timestamp(when or today())
    return Window(earliest.to_period("M").start_time, now.to_period("M").start_time)


def outside_window(values: pd.Series, window: Window) -> tuple[pd.Series, pd.Series]:
    """(before the window, after the current month) masks of dates; missing dates are in neither."""
    months = values.dt.to_period("M").dt.start_time
    return months.notna() & (months < window.earliest), months.notna() & (months > window.latest)


def window_message(value: pd.Timestamp, window: Window, what: str = "period") -> tuple[str, str]:
    """(message, fix) for a date outside the window."""
    shown = f"{value:%Y-%m}" if what == "period" else f"{value:%Y-%m-%d}"
    if value.to_period("M").start_time < window.earliest:
        return (
            f"The {what} {shown} is before the evaluation window, which starts {window.earliest:%b %Y}",
            f"Fix the date (is the year mistyped?); or, if data from before {window.earliest:%b %Y} belong in the "
            "evaluation, ask the evaluation team to lower earliest_period in data/catalogue.toml.",
        )
    return (
        f"The {what} {shown} is after the current month ({window.latest:%b %Y}), so it cannot have been "
        "observed yet",
        "Fix the date (is the year mistyped?); months still to come cannot be loaded.",
    )
