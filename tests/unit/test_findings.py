"""Implementation-findings register (issue 7): validation with located messages, store unchanged on
refusal, and the reading order of the findings table used by pages and slides."""

from __future__ import annotations

import pandas as pd
import pytest

from mhin_eval.analysis.findings import FINDINGS_TABLE_COLUMNS, findings_counts, findings_frame
from mhin_eval.loaders import detect_kind, load_extract
from mhin_eval.schema import FINDINGS_COLUMNS, ValidationFailed

HEADER = ",".join(FINDINGS_COLUMNS)
GOOD = (
    'aaot,hull,2022-01-10,Barrier,Inner Setting,Staff time competes with caseload,Interviews,"We never have time."',
    "aaot,hull,2022-06-01,facilitator,individuals,A local champion,workshop,",
    "aaot,hull,2021-11-01,barrier,outer  setting,Short-term funding cycles,survey,",
    "pcref,sheffield,2023-02-01,facilitator,process,Review meetings use the data,interviews,",
)


def csv(tmp_path, *rows: str, name="findings.csv", header=HEADER) -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_good_register_is_read_and_normalised(tmp_path, catalogue):
    extract = load_extract(csv(tmp_path, *GOOD), catalogue=catalogue)
    assert extract.kind == "findings" and detect_kind(FINDINGS_COLUMNS) == "findings"
    frame = extract.frame
    assert list(frame.columns) == list(FINDINGS_COLUMNS)
    assert list(frame["kind"]) == ["barrier", "facilitator", "barrier", "facilitator"]
    assert list(frame["domain"]) == ["inner setting", "individuals", "outer setting", "process"]
    assert list(frame["source"]) == ["interviews", "workshop", "survey", "interviews"]
    assert frame["quote"].iloc[0] == "We never have time." and frame["quote"].iloc[1:].isna().all()


def test_quote_column_is_optional(tmp_path, catalogue):
    path = csv(tmp_path, "aaot,hull,2022-01-10,barrier,process,Data entry takes time,survey",
               header="project,site,date,kind,domain,summary,source")
    assert load_extract(path, catalogue=catalogue).frame["quote"].isna().all()


@pytest.mark.parametrize(
    ("row", "column", "value", "message", "fix"),
    [
        ("aaot,hull,2022-01-10,obstacle,process,X,survey,", "kind", "obstacle", "not a known kind",
         "facilitator, barrier"),
        ("aaot,hull,2022-01-10,barrier,culture,X,survey,", "domain", "culture", "not a known domain",
         "inner setting"),
        ("aaot,hull,2022-01-10,barrier,process,X,focus group,", "source", "focus group", "not a known source",
         "interviews, survey, workshop"),
        ("aaot,hull,10/13/2022,barrier,process,X,survey,", "date", "10/13/2022", "reads only month first", "2022-10-13"),
        ("aaot,hull,2022-01-10,barrier,process,,survey,", "summary", "", "summary cell is empty", "Fill in"),
        ("aaot,hull,2022-01-10,barrier,process,X,survey,Ring Sam on 07700 900123", "quote",
         "Ring Sam on 07700 900123", "phone number", "Pseudonymise"),
        ("aaot,hull,2022-01-10,barrier,process,Email a.b@nhs.net,survey,", "summary", "Email a.b@nhs.net",
         "email address", "identify"),
        ("aaot,sheffield,2022-01-10,barrier,process,X,survey,", "site", "sheffield",
         "belongs to project 'pcref', not 'aaot'", "Correct the project"),
    ],
)
def test_bad_cells_are_refused_with_row_column_value_and_fix(tmp_path, catalogue, row, column, value, message, fix):
    with pytest.raises(ValidationFailed) as err:
        load_extract(csv(tmp_path, GOOD[1], row), catalogue=catalogue)
    problems = err.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.file, p.row, p.column, p.value) == ("findings.csv", 3, column, value)
    assert message in p.message and fix in p.fix


def test_the_same_finding_twice_is_refused_and_the_store_is_unchanged(tmp_path, store):
    store.ingest_file(csv(tmp_path, *GOOD, name="first.csv"))
    before = (store.checksum(), store.version())
    with pytest.raises(ValidationFailed) as err:
        store.ingest_file(csv(tmp_path, GOOD[1], "aaot,hull,2022-06-01,facilitator,individuals,A local champion,"
                                                 "interviews,", name="dupe.csv"))
    (p,) = err.value.problems
    assert p.row == 3 and p.column == "summary" and "Rows 2 and 3 are duplicates" in p.message
    assert (store.checksum(), store.version()) == before


def test_findings_round_trip_through_the_store_with_site_scope(tmp_path, store):
    result = store.ingest_file(csv(tmp_path, *GOOD))
    assert (result.kind, result.rows_added) == ("findings", 4)
    hull = store.findings(sites=["hull"])
    assert len(hull) == 3 and set(hull["site"]) == {"hull"}
    assert store.findings(project="pcref")["summary"].tolist() == ["Review meetings use the data"]
    assert store.findings(sites=["hull"], kind="barrier")["domain"].tolist() == ["outer setting", "inner setting"]
    assert store.findings(sites=[]).empty
    assert "findings" in set(store.freshness(sites=["hull"])["kind"])
    assert list(store.history(sites=["sheffield"])["kind"]) == ["findings"]


def test_findings_frame_reads_facilitators_then_barriers_by_framework_domain(tmp_path, catalogue):
    rows = load_extract(csv(tmp_path, *GOOD), catalogue=catalogue).frame
    table = findings_frame(rows, catalogue.findings, site_names={"hull": "Hull", "sheffield": "Sheffield"})
    assert list(table.columns) == list(FINDINGS_TABLE_COLUMNS)
    hull = table[table["Site"] == "Hull"]
    # facilitators first (catalogue order of kinds), then barriers in CFIR order: outer before inner setting
    assert list(hull["Kind"]) == ["Facilitator", "Barrier", "Barrier"]
    assert list(hull["Domain"]) == ["Individuals", "Outer setting", "Inner setting"]
    assert list(hull["Date"]) == ["Jun 2022", "Nov 2021", "Jan 2022"]
    assert hull["Quote"].tolist() == ["", "", "We never have time."]
    assert findings_frame(rows.iloc[:0], catalogue.findings).empty


def test_findings_counts_keep_every_domain_and_kind(tmp_path, catalogue):
    rows = load_extract(csv(tmp_path, *GOOD), catalogue=catalogue).frame
    counts = findings_counts(rows, catalogue.findings)
    assert len(counts) == 2 * 5 * 2
    hull = counts[counts["site"] == "hull"].set_index(["domain", "kind"])["n"]
    assert hull[("inner setting", "barrier")] == 1 and hull[("process", "barrier")] == 0
    assert int(hull.sum()) == 3
    assert pd.api.types.is_integer_dtype(counts["n"])
