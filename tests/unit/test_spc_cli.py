"""`analyse spc`: the CLI entry prints the XmR chart as one JSON document."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from mhin_eval.cli_analyse import COMMANDS, register


def run_cli(argv: list[str], capsys) -> tuple[int, dict | None, str]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


@pytest.fixture()
def monthly_csv(tmp_path):
    values = [0.0, 1.0] * 10 + [10.0, 11.0] * 10
    frame = pd.DataFrame({"month": pd.date_range("2021-01-01", periods=40, freq="MS").strftime("%Y-%m-%d"),
                          "rate": values})
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    return path


def test_spc_is_registered():
    assert "spc" in COMMANDS


def test_spc_cli_rebase_improvement_and_target(monthly_csv, capsys):
    code, document, _ = run_cli(
        ["analyse", "spc", "--input", str(monthly_csv), "--time", "month", "--value", "rate",
         "--improvement", "increase", "--target", "5", "--rebase-at", "2022-09-01"],
        capsys,
    )
    assert code == 0
    assert document["analysis"] == "spc"
    assert [row["mean"] for row in document["summary"]] == pytest.approx([0.5, 10.5])
    assert [row["start"] for row in document["summary"]] == ["2021-01-01", "2022-09-01"]
    assert document["icons"][0]["assurance_icon"] == "consistent_pass"
    assert document["icons"][0]["variation_icon"] == "common_cause"
    assert len(document["points"]) == 40
    assert document["points"][0]["time"] == "2021-01-01"
    assert "Making Data Count" in document["methods"]


def test_spc_cli_no_screen_and_baseline(monthly_csv, capsys):
    _, fixed, _ = run_cli(["analyse", "spc", "--input", str(monthly_csv), "--time", "month", "--value", "rate",
                           "--baseline", "20", "--no-screen"], capsys)
    summary = fixed["summary"][0]
    assert summary["mean"] == pytest.approx(0.5) and summary["n_baseline"] == 20
    assert fixed["icons"][0]["variation_icon"] == "neutral_high"
    assert fixed["icons"][0]["assurance_icon"] is None


def test_spc_cli_reports_errors(monthly_csv, capsys):
    code, _, err = run_cli(["analyse", "spc", "--input", str(monthly_csv), "--time", "month", "--value", "nope"],
                           capsys)
    assert code == 2 and "not in the data" in err


def test_spc_cli_carries_point_types_labels_and_summary_counts(monthly_csv, capsys):
    code, document, _ = run_cli(["analyse", "spc", "--input", str(monthly_csv), "--time", "month", "--value", "rate",
                                 "--improvement", "neutral", "--target", "5", "--baseline", "20"], capsys)
    assert code == 0
    last = document["points"][-1]
    assert (last["point_type"], last["special_cause_type"]) == ("special_cause_neutral_high", "Above UCL")
    summary = document["summary"][0]
    assert (summary["common_cause"], summary["variation_type"]) == (19, "special_cause_neutral_high")
    assert document["icons"][0]["variation_icon"] == "neutral_high"
    assert document["icons"][0]["assurance_icon"] is None
    assert any("without an improvement direction" in w for w in document["warnings"])
