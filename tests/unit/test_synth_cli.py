"""`analyse synth`: the command prints the estimate, interval, placebo p-value and weights of synth()."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import pandas as pd
import pytest

from mhin_eval import cli_analyse
from mhin_eval.analysis.synth import synth


def _run(argv: list[str]) -> tuple[int, dict | None, str]:
    parser = argparse.ArgumentParser()
    cli_analyse.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.handler(args)
    return code, (json.loads(out.getvalue()) if code == 0 else None), err.getvalue()


@pytest.fixture(scope="module")
def small_panel(reference_dir, tmp_path_factory):
    data = pd.read_csv(reference_dir / "cigsales_prop99.csv")
    data = data[data["state_id"].isin([3, 1, 2, 4, 5, 6, 7, 8, 9])]
    path = tmp_path_factory.mktemp("synth") / "panel.csv"
    data.to_csv(path, index=False)
    return path, data


def test_cli_prints_the_same_numbers_as_synth(small_panel):
    path, data = small_panel
    code, doc, _ = _run(["analyse", "synth", "--input", str(path), "--unit", "state_id", "--time", "year",
                         "--value", "cigsale", "--treated", "3", "--intervention", "1989", "--method", "sc",
                         "--json"])
    assert code == 0
    expected = synth(data, unit="state_id", time="year", value="cigsale", treated=3, intervention=1989,
                     method="sc")
    assert doc["estimate"] == pytest.approx(expected.estimate)
    assert doc["ci_low"] == pytest.approx(expected.effect.ci_low)
    assert doc["ci_high"] == pytest.approx(expected.effect.ci_high)
    assert doc["p_value"] == pytest.approx(expected.p_value)
    assert doc["weights"] == pytest.approx(expected.unit_weights)
    assert sum(doc["weights"].values()) == pytest.approx(1.0)
    assert doc["pre_rmspe"] == pytest.approx(expected.pre_rmspe)
    assert "Synthetic control" in doc["methods"]


def test_cli_excludes_donors_and_reports_errors(small_panel):
    path, _ = small_panel
    code, doc, _ = _run(["analyse", "synth", "--input", str(path), "--unit", "state_id", "--time", "year",
                         "--value", "cigsale", "--treated", "3", "--intervention", "1989", "--method", "did",
                         "--exclude", "1", "--exclude", "2"])
    assert code == 0
    assert set(doc["weights"]) == {"4", "5", "6", "7", "8", "9"}
    code, _, err = _run(["analyse", "synth", "--input", str(path), "--unit", "state_id", "--time", "year",
                         "--value", "cigsale", "--treated", "99", "--intervention", "1989"])
    assert code == 2 and "No unit 99" in err


def test_cli_exact_solver(small_panel):
    path, data = small_panel
    code, doc, _ = _run(["analyse", "synth", "--input", str(path), "--unit", "state_id", "--time", "year",
                         "--value", "cigsale", "--treated", "3", "--intervention", "1989", "--method", "sdid",
                         "--solver", "exact"])
    assert code == 0 and doc["solver"] == "exact"
    expected = synth(data, unit="state_id", time="year", value="cigsale", treated=3, intervention=1989,
                     method="sdid", solver="exact")
    assert doc["estimate"] == pytest.approx(expected.estimate)
    assert doc["estimate"] == pytest.approx(synth(data, unit="state_id", time="year", value="cigsale", treated=3,
                                                  intervention=1989, method="sdid").estimate, abs=0.05)
