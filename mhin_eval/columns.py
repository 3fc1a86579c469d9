"""Columns held as categories (a large CSV is read with one dictionary per column, mhin_eval.loaders): every
text operation runs once per distinct value and is spread back to the rows by their codes.

A series file of millions of rows has a few hundred distinct sites, indicators, months and values; working
on those instead of on every row keeps validation fast and its memory small. ``elementwise`` gives exactly
what the function gives on the plain column, so validation has one set of checks for both forms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_categorical(column) -> bool:
    return isinstance(getattr(column, "dtype", None), pd.CategoricalDtype)


def distinct(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(the categories as a plain Series, one missing entry appended last; each row's position in it)."""
    categories = column.cat.categories
    values = pd.Series(np.append(categories.to_numpy(dtype=object), np.nan), dtype=object)
    if pd.api.types.is_string_dtype(categories.dtype):
        values = values.astype(categories.dtype)
    codes = column.cat.codes.to_numpy()
    return values, np.where(codes < 0, len(categories), codes)


def spread(values: pd.Series, codes: np.ndarray, index) -> pd.Series:
    """Per-distinct-value results back on the rows: text as a category column (categories sorted), other
    kinds (numbers, flags, dates) as plain columns."""
    if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        new_codes, labels = pd.factorize(values, sort=True)
        return pd.Series(pd.Categorical.from_codes(new_codes[codes], categories=pd.Index(labels, dtype="str")),
                         index=index)
    return pd.Series(values.to_numpy()[codes], index=index, dtype=values.dtype)


def elementwise(column: pd.Series, function) -> pd.Series:
    """``function(column)`` for a function that treats each cell on its own (strip, parse, look up); on a
    category column it runs on the distinct values only."""
    if not is_categorical(column):
        return function(column)
    values, codes = distinct(column)
    return spread(function(values), codes, column.index)


def differs(left: pd.Series, right: pd.Series) -> pd.Series:
    """``left != right`` cell by cell, also for category columns with different categories."""
    if not (is_categorical(left) or is_categorical(right)):
        return left != right
    return pd.Series(left.astype(object).to_numpy() != right.astype(object).to_numpy(), index=left.index)


def plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its category columns as ordinary text columns, as pandas' CSV reader gives them."""
    columns = [c for c in frame.columns if is_categorical(frame[c])]
    return frame.astype(dict.fromkeys(columns, "str")) if columns else frame


def _codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """(each row's code among the column's distinct values, a missing value one of them; how many there are)."""
    if is_categorical(column):
        size = len(column.cat.categories)
        codes = column.cat.codes.to_numpy().astype(np.int64)
        codes[codes < 0] = size
        return codes, size + 1
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), max(len(uniques), 1)


def row_keys(frame: pd.DataFrame, key) -> np.ndarray | None:
    """One integer a row, equal for two rows exactly when their ``key`` columns are (missing equal to missing,
    as ``DataFrame.duplicated`` has it); None when the combinations of codes would not fit in 62 bits."""
    combined = np.zeros(len(frame), dtype=np.int64)
    total = 1
    for name in key:
        codes, size = _codes(frame[name])
        total *= size
        if total >= 1 << 62:
            return None
        combined *= size
        combined += codes
    return combined


def duplicated(frame: pd.DataFrame, key, rows: np.ndarray | None = None) -> np.ndarray:
    """``frame[rows].duplicated(key, keep=False)`` on the frame's rows (False outside ``rows``), without
    copying the frame: one hash of one integer a row."""
    combined = row_keys(frame, key)
    if combined is None:
        chosen = frame if rows is None else frame[rows]
        flags = chosen.duplicated(list(key), keep=False)
        return flags.reindex(frame.index, fill_value=False).to_numpy(dtype=bool)
    if rows is not None:
        outside = np.flatnonzero(~rows)
        combined[outside] = -1 - outside
    return pd.Series(combined, copy=False).duplicated(keep=False).to_numpy()


def distinct_rows(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """(each row's position among the frame's distinct rows; those rows, in order of first appearance, as plain
    text columns): a lookup then runs once per distinct row."""
    combined = row_keys(frame, frame.columns)
    if combined is None:
        codes = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    else:
        codes, _ = pd.factorize(combined)
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, plain_text(frame.iloc[first].reset_index(drop=True))
