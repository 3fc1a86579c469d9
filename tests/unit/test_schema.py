"""Validation of series and participant extracts: every bad input gives its documented, located message.

Inputs are real CSV files written into tmp_path and read through ``load_extract``, as an upload would be.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from mhin_eval.catalogue import DEFAULT_CATALOGUE, parse_catalogue
from mhin_eval.loaders import load_extract
from mhin_eval.schema import (
    PARTICIPANT_COLUMNS,
    PARTICIPANT_KEY,
    SERIES_COLUMNS,
    SERIES_KEY,
    Problem,
    ValidationFailed,
    validate_participants,
    validate_series,
)

SERIES_HEADER = "project,site,indicator,period,value,denominator,breakdown,group"
PARTICIPANT_HEADER = "project,site,participant_id,measure,timepoint,value,date,delivery_mode"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def series_csv(*rows: str) -> str:
    return "\n".join([SERIES_HEADER, *rows]) + "\n"


def participant_csv(*rows: str) -> str:
    return "\n".join([PARTICIPANT_HEADER, *rows]) + "\n"


GOOD_SERIES = series_csv(
    "pcref,sheffield,mha-detentions,2023-04-01,12,52000,ethnicity,Black or Black British",
    "pcref,sheffield,mha-detentions,2023-04-01,30,410000,ethnicity,White",
    "pcref,sheffield,mha-detentions,2023-05-01,9,52000,ethnicity,Black or Black British",
    "aaot,greater-manchester,ae-attendances,2023-04-01,41,60,all,all",
    "aaot,aaot-comparison,ae-attendances,2023-04-01,55,,,",
)


def refused(tmp_path, name, text, catalogue) -> list[Problem]:
    path = write(tmp_path, name, text)
    with pytest.raises(ValidationFailed) as info:
        load_extract(path, catalogue=catalogue)
    assert info.value.file == name
    assert all(p.file == name for p in info.value.problems)
    return info.value.problems


def only(problems: list[Problem], fragment: str) -> Problem:
    found = [p for p in problems if fragment in p.message]
    assert len(found) == 1, f"expected one problem with {fragment!r}, got: {[str(p) for p in problems]}"
    return found[0]


# --------------------------------------------------------------------------- well-formed files


def test_well_formed_series_is_accepted_with_canonical_columns_and_dtypes(tmp_path, catalogue):
    extract = load_extract(write(tmp_path, "series.csv", GOOD_SERIES), catalogue=catalogue)
    frame = extract.frame
    assert extract.kind == "series"
    assert tuple(frame.columns) == SERIES_COLUMNS
    assert len(frame) == 5
    assert frame["period"].dtype == "datetime64[ns]"
    assert frame["value"].dtype == "float64" and frame["denominator"].dtype == "float64"
    assert frame.loc[4, ["breakdown", "group"]].tolist() == ["all", "all"]
    assert np.isnan(frame.loc[4, "denominator"])
    assert not frame.duplicated(list(SERIES_KEY)).any()


def test_series_without_optional_columns_gets_all_and_missing_denominator(tmp_path, catalogue):
    text = "project,site,indicator,period,value\nparent-cbt,east-of-england,referrals,2022-01-01,14\n"
    frame = load_extract(write(tmp_path, "s.csv", text), catalogue=catalogue).frame
    assert frame.loc[0, "breakdown"] == "all" and frame.loc[0, "group"] == "all"
    assert np.isnan(frame.loc[0, "denominator"])
    assert frame.loc[0, "value"] == 14.0


@pytest.mark.parametrize(
    "written",
    ["2023-04-01", "01/04/2023", "2023-04", "Apr 2023", "April 2023", "Apr-23", "2023-04-17", "2023/04/01"],
)
def test_dates_are_read_in_common_formats_and_moved_to_the_month_start(tmp_path, catalogue, written):
    text = series_csv(f"parent-cbt,northwest-coast,referrals,{written},3,,all,all")
    extract = load_extract(write(tmp_path, "d.csv", text), catalogue=catalogue)
    assert extract.frame.loc[0, "period"] == pd.Timestamp("2023-04-01")
    if written == "2023-04-17":
        assert any("moved to the month start" in n for n in extract.notes)


def test_well_formed_participants_are_accepted(tmp_path, catalogue):
    text = participant_csv(
        "parent-cbt,east-of-england,0042,child-anxiety,baseline,61,2022-03-04,online",
        "parent-cbt,east-of-england,0042,child-anxiety,follow-up,40,2022-07-01,online",
        "parent-cbt,east-of-england,0043,child-anxiety,baseline,55,,face-to-face",
        "parent-cbt,east-of-england,0043,child-anxiety,follow-up,,,face-to-face",
        "aaot,hull,H-7,ae-attendances-6m,baseline,4,,",
    )
    extract = load_extract(write(tmp_path, "p.csv", text), catalogue=catalogue)
    frame = extract.frame
    assert extract.kind == "participants"
    assert frame["participant_id"].tolist()[:2] == ["0042", "0042"], "leading zeros of ids must survive"
    assert frame["date"].dtype == "datetime64[ns]" and pd.isna(frame.loc[2, "date"])
    assert np.isnan(frame.loc[3, "value"]), "a follow-up not obtained stays missing"
    assert any("no value" in n for n in extract.notes)
    assert frame.loc[0, "delivery_mode"] == "online" and pd.isna(frame.loc[4, "delivery_mode"])
    assert tuple(frame.columns) == PARTICIPANT_COLUMNS
    assert frame["ethnicity"].isna().all(), "attribute columns are always there, missing when not given"
    assert not frame.duplicated(list(PARTICIPANT_KEY)).any()


# --------------------------------------------------------------------------- bad inputs, one each


def test_empty_file(tmp_path, catalogue):
    problem = only(refused(tmp_path, "empty.csv", "", catalogue), "The file is empty")
    assert problem.row is None and "Export the data again" in problem.fix


def test_header_only(tmp_path, catalogue):
    problem = only(refused(tmp_path, "header.csv", SERIES_HEADER + "\n", catalogue), "no rows of data")
    assert problem.row == 2 and "Add the data rows" in problem.fix


def test_missing_columns_are_named_with_what_is_needed(tmp_path, catalogue):
    text = "project,site,period,value\npcref,sheffield,2023-04-01,3\n"
    problem = only(refused(tmp_path, "missing.csv", text, catalogue), "has no column")
    assert problem.row == 1 and "'indicator'" in problem.message
    assert "project, site, indicator, period, value" in problem.fix


def test_extra_columns_are_named_with_the_allowed_ones(tmp_path, catalogue):
    text = SERIES_HEADER + ",colour,notes\npcref,sheffield,mha-detentions,2023-04-01,3,5000,all,all,red,x\n"
    problem = only(refused(tmp_path, "extra.csv", text, catalogue), "Unexpected column")
    assert "'colour'" in problem.message and "'notes'" in problem.message
    assert problem.row == 1 and problem.column == "colour" and problem.value == "colour, notes"
    assert "allowed" in problem.fix and "denominator, breakdown, group" in problem.fix


def test_text_in_a_number_column(tmp_path, catalogue):
    text = series_csv("pcref,sheffield,mha-detentions,2023-04-01,twelve,5000,all,all")
    problem = only(refused(tmp_path, "text.csv", text, catalogue), "text where a number is expected")
    assert (problem.row, problem.column, problem.value) == (2, "value", "twelve")
    assert "plain number" in problem.fix


def test_text_in_the_denominator(tmp_path, catalogue):
    text = series_csv("pcref,sheffield,mha-detentions,2023-04-01,12,about 5000,all,all")
    problem = only(refused(tmp_path, "den.csv", text, catalogue), "text where a number is expected")
    assert (problem.row, problem.column, problem.value) == (2, "denominator", "about 5000")


def test_negative_count(tmp_path, catalogue):
    text = series_csv(
        "aaot,hull,ae-attendances,2023-04-01,5,40,all,all",
        "aaot,hull,ae-attendances,2023-05-01,-2,40,all,all",
    )
    problem = only(refused(tmp_path, "neg.csv", text, catalogue), "negative")
    assert (problem.row, problem.column, problem.value) == (3, "value", "-2")
    assert "0 or more" in problem.fix


def test_count_must_be_a_whole_number(tmp_path, catalogue):
    text = series_csv("aaot,hull,ae-attendances,2023-04-01,2.5,40,all,all")
    problem = only(refused(tmp_path, "frac.csv", text, catalogue), "not a whole number")
    assert (problem.row, problem.column) == (2, "value") and "do not enter a rate" in problem.fix


def test_value_above_denominator_for_a_proportion(tmp_path, catalogue):
    text = series_csv(
        "pcref,manchester,cyp-waiting-over-52-weeks,2024-04-01,1065,3455,all,all",
        "pcref,manchester,cyp-waiting-over-52-weeks,2024-05-01,3455,1065,all,all",
    )
    problem = only(refused(tmp_path, "prop.csv", text, catalogue), "larger than its denominator")
    assert (problem.row, problem.column, problem.value) == (3, "value", "3455")
    assert "swapped" in problem.fix


def test_events_per_person_may_exceed_the_cohort_size(tmp_path, catalogue):
    """A&E attendances (unit) over patients (denominator): frequent attenders make value > denominator valid."""
    text = series_csv("aaot,hull,ae-attendances,2023-04-01,90,40,all,all")
    assert load_extract(write(tmp_path, "ok.csv", text), catalogue=catalogue).frame.loc[0, "value"] == 90


def test_count_with_a_denominator_of_the_same_unit_is_bounded(tmp_path):
    data = tomllib.loads(DEFAULT_CATALOGUE.read_text())
    data["indicators"].append(
        {"id": "families-offered", "project": "parent-cbt", "label": "Families offered", "unit": "families",
         "denominator": "families referred", "source": "series", "kind": "count", "better": "higher",
         "default_model": "poisson"}
    )
    cat = parse_catalogue(data)
    text = series_csv("parent-cbt,east-of-england,families-offered,2023-04-01,25,24,all,all")
    problem = only(refused(tmp_path, "fam.csv", text, cat), "larger than its denominator")
    assert problem.row == 2


def test_unknown_project_lists_the_known_ones(tmp_path, catalogue):
    text = series_csv("pcerf,sheffield,mha-detentions,2023-04-01,3,5000,all,all")
    problem = only(refused(tmp_path, "proj.csv", text, catalogue), "Unknown project")
    assert (problem.row, problem.column, problem.value) == (2, "project", "pcerf")
    assert "aaot, parent-cbt, pcref" in problem.fix


def test_unknown_site_lists_the_project_sites(tmp_path, catalogue):
    text = series_csv(
        "pcref,shefield,mha-detentions,2023-04-01,3,5000,all,all",
        "pcref,shefield,mha-detentions,2023-05-01,3,5000,all,all",
    )
    problem = only(refused(tmp_path, "site.csv", text, catalogue), "Unknown site")
    assert (problem.row, problem.column, problem.value) == (2, "site", "shefield")
    assert "rows 2 and 3" in problem.message
    assert "manchester, sheffield" in problem.fix


def test_site_of_another_project(tmp_path, catalogue):
    text = series_csv("pcref,hull,mha-detentions,2023-04-01,3,5000,all,all")
    problem = only(refused(tmp_path, "other.csv", text, catalogue), "belongs to project 'aaot'")
    assert (problem.row, problem.column, problem.value) == (2, "site", "hull")
    assert "manchester, sheffield" in problem.fix


def test_unknown_indicator_lists_the_known_ones(tmp_path, catalogue):
    text = series_csv("pcref,sheffield,detentions,2023-04-01,3,5000,all,all")
    problem = only(refused(tmp_path, "ind.csv", text, catalogue), "Unknown indicator")
    assert (problem.row, problem.column, problem.value) == (2, "indicator", "detentions")
    assert "mha-detentions" in problem.fix and "seclusion" in problem.fix


def test_participant_measure_in_a_series_file(tmp_path, catalogue):
    text = series_csv("aaot,hull,alcohol-units,2023-04-01,3,,all,all")
    problem = only(refused(tmp_path, "wrong.csv", text, catalogue), "is a participant measure")
    assert (problem.row, problem.column, problem.value) == (2, "indicator", "alcohol-units")
    assert "participant file" in problem.fix


def test_duplicate_month_names_both_rows(tmp_path, catalogue):
    text = series_csv(
        "aaot,hull,ae-attendances,2023-04-01,5,40,all,all",
        "aaot,hull,ae-attendances,2023-05-01,6,40,all,all",
        "aaot,hull,ae-attendances,01/04/2023,7,40,all,all",
    )
    problem = only(refused(tmp_path, "dup.csv", text, catalogue), "duplicates")
    assert "Rows 2 and 4" in problem.message and "2023-04" in problem.message
    assert problem.row == 4 and problem.column == "period"
    assert "Keep one row" in problem.fix


def test_invalid_date(tmp_path, catalogue):
    text = series_csv(
        "aaot,hull,ae-attendances,2023-04-01,5,40,all,all",
        "aaot,hull,ae-attendances,2023/13/01,6,40,all,all",
    )
    problem = only(refused(tmp_path, "date.csv", text, catalogue), "not a date")
    assert (problem.row, problem.column, problem.value) == (3, "period", "2023/13/01")
    assert "2023-04-01" in problem.fix


def test_breakdown_not_listed_for_the_indicator(tmp_path, catalogue):
    text = series_csv("pcref,sheffield,mha-detentions,2023-04-01,3,5000,gender,Female")
    problem = only(refused(tmp_path, "bd.csv", text, catalogue), "Breakdown 'gender'")
    assert (problem.row, problem.column) == (2, "breakdown") and "ethnicity" in problem.fix


def test_stratified_row_without_group(tmp_path, catalogue):
    text = series_csv("pcref,sheffield,mha-detentions,2023-04-01,3,5000,ethnicity,")
    problem = only(refused(tmp_path, "grp.csv", text, catalogue), "has no group")
    assert (problem.row, problem.column) == (2, "group")


def test_score_above_scale_maximum(tmp_path, catalogue):
    text = participant_csv(
        "parent-cbt,east-of-england,P1,child-anxiety,baseline,61,,online",
        "parent-cbt,east-of-england,P1,child-anxiety,follow-up,140,,online",
    )
    problem = only(refused(tmp_path, "score.csv", text, catalogue), "above the scale maximum of 114")
    assert (problem.row, problem.column, problem.value) == (3, "value", "140")
    assert "0 to 114" in problem.fix


def test_timepoint_missing(tmp_path, catalogue):
    text = participant_csv("aaot,hull,H1,alcohol-units,,42,,")
    problem = only(refused(tmp_path, "tp.csv", text, catalogue), "timepoint is missing")
    assert (problem.row, problem.column) == (2, "timepoint") and "Fill in the timepoint" in problem.fix


def test_unknown_measure_lists_the_participant_measures(tmp_path, catalogue):
    text = participant_csv("aaot,hull,H1,audit-score,baseline,20,,")
    problem = only(refused(tmp_path, "m.csv", text, catalogue), "Unknown measure")
    assert (problem.row, problem.column, problem.value) == (2, "measure", "audit-score")
    assert "alcohol-units" in problem.fix and "unplanned-admissions" not in problem.fix


def test_duplicate_participant_record(tmp_path, catalogue):
    text = participant_csv(
        "aaot,hull,H1,alcohol-units,baseline,42,,",
        "aaot,hull,H1,alcohol-units,Baseline,40,,",
    )
    problem = only(refused(tmp_path, "pd.csv", text, catalogue), "duplicates")
    assert "Rows 2 and 3" in problem.message and problem.column == "timepoint"


def test_invalid_participant_date(tmp_path, catalogue):
    text = participant_csv("aaot,hull,H1,alcohol-units,baseline,42,31/02/2023,")
    problem = only(refused(tmp_path, "pdate.csv", text, catalogue), "not a date")
    assert (problem.row, problem.column, problem.value) == (2, "date", "31/02/2023")


# --------------------------------------------------------------------------- all problems together


def test_all_problems_are_reported_together_in_row_order(tmp_path, catalogue):
    text = SERIES_HEADER + ",colour\n" + "\n".join(
        [
            "pcref,sheffield,mha-detentions,2023-04-01,12,5000,ethnicity,White,x",
            "pcref,sheffield,mha-detentions,2023/13/01,12,5000,ethnicity,White,x",
            "pcref,sheffield,mha-detentions,2023-05-01,abc,5000,ethnicity,White,x",
            "pcref,shefield,mha-detentions,2023-06-01,3,5000,ethnicity,White,x",
            "pcref,sheffield,mha-detentions,2023-07-01,-3,5000,ethnicity,White,x",
            "pcref,sheffield,mha-detentions,2023-04-01,4,5000,ethnicity,White,x",
        ]
    ) + "\n"
    path = write(tmp_path, "many.csv", text)
    with pytest.raises(ValidationFailed) as info:
        load_extract(path, catalogue=catalogue)
    problems = info.value.problems
    located = {(p.row, p.column) for p in problems}
    assert {(1, "colour"), (3, "period"), (4, "value"), (5, "site"), (6, "value"), (7, "period")} <= located
    rows = [p.row for p in problems]
    assert rows == sorted(rows)
    report = info.value.report().splitlines()
    assert report[0].startswith("many.csv: 6 problem(s)") and len(report) == 7
    assert all(line.startswith("many.csv, row ") and "Fix: " in line for line in report[1:])


def test_many_identical_cell_problems_are_summarised_not_dropped(tmp_path, catalogue):
    rows = [f"aaot,hull,ae-attendances,{m:%Y-%m-%d},n/k,40,all,all" for m in pd.date_range("2015-01-01", periods=80, freq="MS")]
    problems = refused(tmp_path, "nk.csv", series_csv(*rows), catalogue)
    assert len(problems) == 51
    assert problems[-1].message.startswith("30 more rows have the same problem")
    assert problems[-1].row == 52


def test_validate_functions_work_on_frames(catalogue):
    frame = pd.DataFrame(
        {"project": ["aaot"], "site": ["hull"], "indicator": ["ae-attendances"],
         "period": [pd.Timestamp("2023-04-01")], "value": [-1.0]}
    )
    problems = validate_series(frame, catalogue, "frame")
    assert [(p.row, p.column) for p in problems] == [(2, "value")]
    participants = pd.DataFrame(
        {"project": ["aaot"], "site": ["hull"], "participant_id": [17], "measure": ["alcohol-units"],
         "timepoint": ["baseline"], "value": [30.0]}
    )
    assert validate_participants(participants, catalogue, "frame") == []
