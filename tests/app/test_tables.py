"""Every table and data frame a page shows, in every tab with every details expander open, reads as a table
for people: human column headers (no snake_case names such as ci_low or p_value), no "None" or "nan" cells,
and p-values written as mhin_eval.wording.fmt_p writes them."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from mhin_eval.catalogue import PROJECT_ROOT, load_catalogue
from tests.app.conftest import each_view, open_page, unescaped

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
MISSING_WORDS = {"none", "nan", "nat", "<na>", "null"}
P_VALUE = re.compile(r"^(p < 0\.001|p = [01]\.\d{3}|p not available|)$")


def _views() -> list[tuple[str, dict]]:
    cat = load_catalogue()
    views = [(p.stem, {}) for p in sorted((PROJECT_ROOT / "pages").glob("*.py"))]
    views += [("project", {"project": p.id}) for p in cat.projects[1:]]
    firsts = {}
    for site in cat.sites:
        if not site.is_comparison:
            firsts.setdefault(site.project, site.id)
    views += [("site", {"site": s}) for s in list(firsts.values())[1:]]
    return views


def table_problems(frame: pd.DataFrame, where: str) -> list[str]:
    """What in ``frame`` (as shown) a reader should not meet: raw column names, missing-value words, raw p-values."""
    frame = unescaped(frame)
    problems = []
    headers = [str(c) for c in frame.columns] + [str(n) for n in frame.index.names if n is not None]
    problems += [f"{where}: column header {h!r} is a raw name" for h in headers if SNAKE_CASE.match(h)]
    for column in frame.columns:
        values = frame[column].tolist()
        for v in values:
            missing = v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT
            if missing or (isinstance(v, str) and v.strip().lower() in MISSING_WORDS):
                problems.append(f"{where}: column {column!r} has a {'missing' if missing else repr(v)} cell")
                break
        if str(column).lower() in ("p-value", "p value", "p"):
            bad = [v for v in values if not (isinstance(v, str) and P_VALUE.match(v))]
            if bad:
                problems.append(f"{where}: column {column!r} has p-values not written as fmt_p writes them: {bad[:3]}")
    if frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex):
        for v in frame.index:
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip().lower() in MISSING_WORDS:
                problems.append(f"{where}: a row label is {v!r}")
                break
    return problems


@pytest.mark.parametrize(("page", "query"), _views(), ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={x}" for k, x in v.items()) or "default")
@pytest.mark.parametrize("suppressed", [False, True], ids=["evaluator", "suppressed"])
def test_every_table_on_every_page_reads_as_a_table_for_people(app, page, query, suppressed):
    """As the evaluation team sees it and in the suppressed view (leads and partner sites see those tables)."""
    if suppressed:
        app.session_state["view:suppressed"] = True
    at = open_page(app, page, **query)
    problems = []
    for view in each_view(at):
        where = f"{page} {query} {'suppressed ' if suppressed else ''}{dict(view.query_params).get('section', '')}"
        for kind, elements in (("table", view.table), ("dataframe", view.dataframe)):
            for i, element in enumerate(elements):
                problems += table_problems(element.value, f"{where} {kind} {i}")
    print("\n".join(problems))
    assert problems == []


def test_the_check_finds_raw_headers_missing_cells_and_raw_p_values():
    frame = pd.DataFrame({"ci_low": [0.1, float("nan")], "Method": ["x", "None"], "p-value": ["p = 0.012", "0.0000123"]})
    found = "\n".join(table_problems(frame, "t"))
    assert "'ci_low' is a raw name" in found
    assert "column 'ci_low' has a missing cell" in found
    assert "column 'Method' has a 'None' cell" in found
    assert "0.0000123" in found
