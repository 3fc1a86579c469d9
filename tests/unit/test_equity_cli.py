"""`analyse equity`: rates and rate ratios by group as one JSON document."""

from __future__ import annotations

import argparse
import json

import numpy as np
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
def groups_csv(tmp_path):
    frame = pd.DataFrame({"ethnicity": ["Black", "White", "Asian"], "detentions": [30, 10, 0],
                          "population": [1000, 1000, 500]})
    path = tmp_path / "groups.csv"
    frame.to_csv(path, index=False)
    return path


def test_equity_is_registered():
    assert "equity" in COMMANDS


def test_equity_cli_rate_ratios(groups_csv, capsys):
    code, document, _ = run_cli(
        ["analyse", "equity", "--input", str(groups_csv), "--group", "ethnicity", "--count", "detentions",
         "--denominator", "population", "--reference", "White", "--per", "1000"],
        capsys,
    )
    assert code == 0
    rows = {row["group"]: row for row in document["table"]}
    assert rows["Black"]["rate"] == pytest.approx(30.0)
    assert rows["Black"]["rate_ratio"] == pytest.approx(3.0)
    assert rows["Black"]["ci_low"] == pytest.approx(1.46658, abs=1e-5)
    assert rows["White"]["is_reference"] is True
    assert rows["Asian"]["rate_ratio"] is None and "no events" in rows["Asian"]["note"]
    assert document["method"] == "wald" and document["per"] == 1000


def test_equity_cli_rates_only(groups_csv, capsys):
    code, document, _ = run_cli(
        ["analyse", "equity", "--input", str(groups_csv), "--group", "ethnicity", "--count", "detentions",
         "--denominator", "population"],
        capsys,
    )
    assert code == 0
    assert [row["rate"] for row in document["table"]] == pytest.approx([3000.0, 1000.0, 0.0])
    assert "Garwood" in document["methods"]


def test_equity_cli_change_at_go_live(tmp_path, capsys):
    rng = np.random.default_rng(3)
    periods = pd.date_range("2021-01-01", periods=36, freq="MS")
    post = np.arange(36) >= 18
    rows = []
    for group, population, ratio in (("Black", 2_400_000, np.where(post, 2.0, 3.0)), ("White", 45_700_000, 1.0)):
        counts = rng.poisson(population * 70 / 1e5 / 12 * np.broadcast_to(ratio, (36,)))
        rows.append(pd.DataFrame({"period": periods.strftime("%Y-%m-%d"), "group": group, "value": counts,
                                  "denominator": population}))
    path = tmp_path / "series.csv"
    pd.concat(rows).to_csv(path, index=False)
    code, document, _ = run_cli(
        ["analyse", "equity", "--input", str(path), "--reference", "White", "--go-live", "2022-07-01"], capsys
    )
    assert code == 0
    level = document["change"]["ratio_of_rate_ratios_level"]
    assert level["ci_low"] < 2 / 3 < level["ci_high"]
    assert document["change"]["group"] == "Black"


def test_equity_cli_reports_errors(groups_csv, capsys):
    code, _, err = run_cli(
        ["analyse", "equity", "--input", str(groups_csv), "--group", "ethnicity", "--count", "detentions",
         "--denominator", "population", "--reference", "Irish"],
        capsys,
    )
    assert code == 2 and "not in the data" in err
