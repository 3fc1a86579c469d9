"""`analyse prepost`: the CLI entry prints the same result the analysis functions return."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from mhin_eval.analysis.prepost import paired_prepost
from mhin_eval.cli_analyse import register


def run_cli(argv, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyse", "prepost", *argv])
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def participant_csv(tmp_path):
    rows = []
    scores = {"P1": (20, 12), "P2": (18, 15), "P3": (25, 11), "P4": (14, 14), "P5": (22, None)}
    visits = {"P1": (3, 1), "P2": (5, 2), "P3": (2, 2), "P4": (4, 0), "P5": (6, None)}
    ethnicity = {"P1": "White", "P2": "White", "P3": "Asian", "P4": "Asian", "P5": "White"}
    for pid in scores:
        for measure, table in (("PHQ-9", scores), ("ae_attendances", visits)):
            for timepoint, value in zip(("baseline", "follow-up"), table[pid], strict=True):
                if value is not None:
                    rows.append(dict(project="aaot", site="Hull", participant_id=pid, measure=measure,
                                     timepoint=timepoint, value=value, ethnicity=ethnicity[pid]))
    path = tmp_path / "participants.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_paired_mean_matches_library(participant_csv, capsys):
    code, out, _ = run_cli(["--input", str(participant_csv), "--measure", "PHQ-9", "--reliable-change", "5"],
                           capsys)
    assert code == 0
    document = json.loads(out)
    expected = paired_prepost(pd.read_csv(participant_csv), measure="PHQ-9", reliable_change=5)
    assert document["model"] == "paired-mean"
    assert document["result"]["n_pairs"] == 4 and document["result"]["n_missing_followup"] == 1
    assert document["result"]["mean_difference"]["estimate"] == pytest.approx(expected.mean_difference.estimate)
    assert document["result"]["mean_difference"]["ci_low"] == pytest.approx(expected.mean_difference.ci_low)
    assert document["result"]["change"]["n_improved"] == 2
    assert any(row["statistic"] == "paired t" for row in document["table"])


def test_counts_give_rate_ratio(participant_csv, capsys):
    code, out, _ = run_cli(["--input", str(participant_csv), "--measure", "ae_attendances", "--counts"], capsys)
    assert code == 0
    result = json.loads(out)["result"]
    assert result["total_before"] == 14 and result["total_after"] == 5
    assert result["rate_ratio"]["estimate"] == pytest.approx(5 / 14)


def test_stratified_and_custom_labels(participant_csv, tmp_path, capsys):
    data = pd.read_csv(participant_csv)
    data["timepoint"] = data["timepoint"].map({"baseline": "pre", "follow-up": "post"})
    data = data.rename(columns={"participant_id": "pid", "value": "score"})
    path = tmp_path / "relabelled.csv"
    data.to_csv(path, index=False)
    code, out, _ = run_cli(["--input", str(path), "--measure", "PHQ-9", "--before", "pre", "--after", "post",
                            "--id-col", "pid", "--value-col", "score", "--better", "lower", "--by", "ethnicity"],
                           capsys)
    assert code == 0
    document = json.loads(out)
    assert set(document["groups"]) == {"Asian", "White"}
    assert document["groups"]["White"]["n_pairs"] == 2
    assert {row["group"] for row in document["table"]} == {"Asian", "White"}


def test_errors_are_printed_not_raised(participant_csv, capsys):
    code, out, err = run_cli(["--input", str(participant_csv)], capsys)
    assert code == 2 and out == ""
    assert "several measures" in err
