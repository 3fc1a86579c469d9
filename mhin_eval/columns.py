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
