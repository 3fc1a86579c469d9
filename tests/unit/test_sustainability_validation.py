"""Sustainability-assessment extracts (issue 7): every bad input is refused with its row, column, value
and fix, and the store is unchanged; good files ingest, show in history and freshness and roll back.
Also: instruments in the catalogue are checked when it is read.

Inputs are real CSV files read through ``load_extract`` / ``Store.ingest_file``, as an upload would be.
"""

from __future__ import annotations

import tomllib

import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, CatalogueError, parse_catalogue
from mhin_eval.loaders import detect_kind, load_extract
from mhin_eval.schema import SUSTAINABILITY_COLUMNS, ValidationFailed

HEADER = ",".join(SUSTAINABILITY_COLUMNS)


def csv(tmp_path, *rows: str, name="assessment.csv", header=HEADER) -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


GOOD = (
    "aaot,hull,psat,2023-03-01,R01,es1,5",
    "aaot,hull,psat,2023-03-01,R01,es2,",
    "aaot,hull,PSAT,01/03/2023,R02,ES1,7",
    "pcref,sheffield,csat,2023-06-01,S01,wi3,1",
)


def problems_of(path, catalogue):
    with pytest.raises(ValidationFailed) as err:
        load_extract(path, catalogue=catalogue)
    return err.value.problems


def test_good_file_is_read_as_a_sustainability_extract(tmp_path, catalogue):
    extract = load_extract(csv(tmp_path, *GOOD), catalogue=catalogue)
    assert extract.kind == "sustainability"
    frame = extract.frame
    assert list(frame.columns) == list(SUSTAINABILITY_COLUMNS)
    assert list(frame["instrument"]) == ["psat", "psat", "psat", "csat"], "ids compared in lower case"
    assert list(frame["item"]) == ["es1", "es2", "es1", "wi3"]
    assert str(frame["assessment_date"].iloc[2].date()) == "2023-03-01", "UK day/month/year"
    assert frame["score"].isna().tolist() == [False, True, False, False]
    assert any("not answered" in n for n in extract.notes)
    assert detect_kind(SUSTAINABILITY_COLUMNS) == "sustainability"


@pytest.mark.parametrize(
    ("row", "column", "value", "message", "fix"),
    [
        ("aaot,hull,psat,2023-03-01,R09,es1,8", "score", "8", "outside the PSAT scale of 1 to 7",
         "Enter a score from 1 to 7"),
        ("aaot,hull,psat,2023-03-01,R09,es1,0", "score", "0", "outside the PSAT scale of 1 to 7",
         "Enter a score from 1 to 7"),
        ("aaot,hull,psat,2023-03-01,R09,es1,4.5", "score", "4.5", "not a whole number", "whole-number rating"),
        ("aaot,hull,psat,2023-03-01,R09,es1,high", "score", "high", "text where a score is expected",
         "number on the instrument's scale"),
        ("aaot,hull,psat,2023-03-01,R01,wi1,4", "item", "wi1", "Unknown item 'wi1' of instrument 'psat'",
         "es1, es2"),
        ("aaot,hull,nhs-sm,2023-03-01,R01,es1,4", "instrument", "nhs-sm", "Unknown instrument 'nhs-sm'",
         "csat, psat"),
        ("aaot,hull,psat,2023-13-45,R01,es1,4", "assessment_date", "2023-13-45", "not a date", "2023-04-01"),
        ("aaot,hull,psat,,R01,es1,4", "assessment_date", "", "assessment_date cell is empty", "same on every row"),
        ("aaot,hull,psat,2023-03-01,,es1,4", "respondent", "", "respondent is missing", "Fill in"),
        ("aaot,hull,psat,2023-03-01,jo.bloggs@nhs.net,es1,4", "respondent", "jo.bloggs@nhs.net",
         "not a pseudonymised id", "pseudonymised code"),
        ("aaot,leeds,psat,2023-03-01,R01,es1,4", "site", "leeds", "Unknown site 'leeds'", "hull"),
    ],
)
def test_bad_cells_are_refused_with_row_column_value_and_fix(tmp_path, catalogue, row, column, value, message, fix):
    path = csv(tmp_path, GOOD[0], row)
    problems = problems_of(path, catalogue)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.file, p.row, p.column) == ("assessment.csv", 3, column)
    assert p.value == value
    assert message in p.message and fix in p.fix


def test_duplicate_respondent_item_in_a_round_is_refused(tmp_path, catalogue):
    path = csv(tmp_path, *GOOD, "aaot,hull,psat,2023-03-01,R01,es1,6")
    (p,) = problems_of(path, catalogue)
    assert (p.row, p.column) == (6, "item")
    assert "Rows 2 and 6 are duplicates" in p.message
    assert "respondent 'R01' scored item 'es1' of 'psat' more than once in the round of 2023-03-01" in p.message


def test_the_same_item_in_another_round_or_by_another_respondent_is_fine(tmp_path, catalogue):
    path = csv(tmp_path, *GOOD, "aaot,hull,psat,2024-03-01,R01,es1,6", "aaot,hull,psat,2023-03-01,R03,es1,6")
    assert len(load_extract(path, catalogue=catalogue).frame) == 6


def test_missing_columns_are_named(tmp_path, catalogue):
    path = csv(tmp_path, "aaot,hull,psat,2023-03-01,R01,es1", header="project,site,instrument,assessment_date,"
               "respondent,item")
    (p,) = problems_of(path, catalogue)
    assert p.row == 1 and "'score'" in p.message and "instrument, assessment_date" in p.fix


BAD_FILES = {
    "outside-scale": "aaot,hull,psat,2023-03-01,R01,es1,9",
    "unknown-item": "aaot,hull,psat,2023-03-01,R01,zz1,4",
    "duplicate": "aaot,hull,psat,2023-03-01,R01,es1,4",
}


@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_a_refused_file_leaves_the_store_unchanged(tmp_path, store, bad):
    store.ingest_file(csv(tmp_path, *GOOD, name="first.csv"))
    before = (store.checksum(), store.version(), len(store.history()))
    path = csv(tmp_path, "aaot,hull,psat,2023-03-01,R01,es1,3", "aaot,hull,psat,2023-03-01,R05,es4,2",
               BAD_FILES[bad], name="bad.csv")
    with pytest.raises(ValidationFailed):
        store.ingest_file(path)
    assert (store.checksum(), store.version(), len(store.history())) == before
    assert store.sustainability(sites=["hull"]).set_index(["respondent", "item"]).loc[("R01", "es1"), "score"] == 5


def test_ingest_replace_history_freshness_and_rollback(tmp_path, store):
    first = store.ingest_file(csv(tmp_path, *GOOD, name="first.csv"), user="eve")
    assert (first.kind, first.rows_added) == ("sustainability", 4)
    assert store.ingest_file(csv(tmp_path, *GOOD, name="again.csv")).no_op
    second = store.ingest_file(csv(tmp_path, "aaot,hull,psat,2023-03-01,R01,es1,2", name="fix.csv"))
    assert (second.rows_replaced, second.rows_added) == (1, 0)
    hull = store.sustainability(sites=["hull"])
    assert set(hull["site"]) == {"hull"} and len(hull) == 3
    assert hull.set_index(["respondent", "item"]).loc[("R01", "es1"), "score"] == 2
    history = store.history(sites=["sheffield"])
    assert list(history["file_name"]) == ["first.csv"], "a no-op ingest touches no site"
    assert list(store.history()["sites"])[0] == "hull, sheffield"
    fresh = store.freshness(sites=["hull"])
    row = fresh[fresh["kind"] == "sustainability"].iloc[0]
    assert (row["site"], str(row["latest_period"].date()), row["n_rows"]) == ("hull", "2023-03-01", 3)
    store.rollback(second.ingest_id)
    assert store.sustainability(sites=["hull"]).set_index(["respondent", "item"]).loc[("R01", "es1"), "score"] == 5
    assert store.sustainability(sites=[]).empty


# --------------------------------------------------------------------------- the catalogue's instruments


def _catalogue_with(instrument: dict):
    raw = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    raw["instruments"].append(instrument)
    return parse_catalogue(raw)


BASE = {"id": "new", "name": "New", "short_name": "N", "scale_min": 1, "scale_max": 5,
        "domains": [{"id": "a", "label": "A", "items": ["a1", "a2"]}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale_min": 5}, "scale_min must be below scale_max"),
        ({"total_score": "sum"}, "total_score must be one of"),
        ({"domains": []}, "needs at least one"),
        ({"domains": [{"id": "a", "label": "A", "items": ["a1"]}, {"id": "b", "label": "B", "items": ["a1"]}]},
         "a1 listed more than once"),
        ({"domains": [{"id": "a", "label": "A", "items": ["a1", "a2"], "item_labels": ["x"]}]},
         "one label per item"),
        ({"domains": [{"id": "a", "label": "A", "items": ["a1"], "wording": "x"}]}, r"unknown field\(s\) wording"),
        ({"id": "psat"}, "duplicate instrument id"),
    ],
)
def test_malformed_instruments_are_refused_when_the_catalogue_is_read(change, message):
    with pytest.raises(CatalogueError, match=message):
        _catalogue_with(dict(BASE, **change))


def test_a_new_instrument_validates_its_own_items_and_scale(tmp_path):
    cat = _catalogue_with(BASE)
    ok = csv(tmp_path, "aaot,hull,new,2023-03-01,R01,a2,5", name="ok.csv")
    assert load_extract(ok, catalogue=cat).frame["score"].tolist() == [5.0]
    bad = csv(tmp_path, "aaot,hull,new,2023-03-01,R01,a2,6", name="bad.csv")
    (p,) = problems_of(bad, cat)
    assert "outside the N scale of 1 to 5" in p.message
