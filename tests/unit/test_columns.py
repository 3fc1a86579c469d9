"""Keys and duplicates computed from category codes (mhin_eval.columns) agree with pandas on the same rows,
plain or as categories, with missing values and rows left out (issue 16, streaming ingest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mhin_eval.columns import distinct_rows, duplicated, row_keys

CELL = st.one_of(st.sampled_from(["a", "b", "", "all"]), st.none())
ROWS = st.lists(st.tuples(CELL, CELL, st.sampled_from(["2019-01-01", "2019-02-01", None])), max_size=25)


def frame_of(rows, categories: bool) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["site", "group", "period"], dtype=object)
    frame["period"] = pd.to_datetime(frame["period"])
    if categories:
        frame = frame.astype({"site": "category", "group": "category"})
    return frame


@settings(max_examples=200, deadline=None)
@given(rows=ROWS, categories=st.booleans(), chosen=st.lists(st.booleans(), min_size=25, max_size=25))
def test_duplicated_is_pandas_duplicated_of_the_chosen_rows(rows, categories, chosen):
    frame = frame_of(rows, categories)
    mask = np.array(chosen[:len(frame)], dtype=bool)
    expected = frame[mask].duplicated(["site", "group", "period"], keep=False).reindex(frame.index, fill_value=False)
    assert duplicated(frame, ["site", "group", "period"], mask).tolist() == expected.tolist()
    assert duplicated(frame, ["site", "group", "period"]).tolist() == frame.duplicated(keep=False).tolist()


@settings(max_examples=200, deadline=None)
@given(rows=ROWS, categories=st.booleans())
def test_distinct_rows_give_back_every_row(rows, categories):
    frame = frame_of(rows, categories)
    codes, distinct = distinct_rows(frame[["site", "group"]])
    plain = frame[["site", "group"]].astype(object)
    assert len(distinct) == len(plain.drop_duplicates())
    rebuilt = distinct.iloc[codes].reset_index(drop=True).astype(object).where(lambda f: f.notna(), None)
    assert rebuilt.values.tolist() == plain.where(plain.notna(), None).values.tolist()


def test_keys_too_wide_for_one_integer_fall_back_to_pandas():
    frame = pd.DataFrame({f"c{i}": [str(n % 97) for n in range(2000)] + ["0"] for i in range(11)})
    assert row_keys(frame, frame.columns) is None
    assert duplicated(frame, list(frame.columns)).tolist() == frame.duplicated(keep=False).tolist()
