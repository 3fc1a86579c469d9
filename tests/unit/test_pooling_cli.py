"""`analyse pool`: pooling site estimates from a table given SEs or confidence limits."""

from __future__ import annotations

import argparse
import json
import math

import pandas as pd
import pytest

from mhin_eval.analysis.pooling import SiteEstimate, pool
from mhin_eval.cli_analyse import register


def run_cli(argv, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["analyse", "pool", *argv])
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def site_table(tmp_path):
    log_rr = [math.log(0.6), math.log(0.9), math.log(0.5), math.log(1.1)]
    se = [0.2, 0.15, 0.3, 0.25]
    frame = pd.DataFrame(
        {
            "site": ["Hull", "Manchester", "Leeds", "York"],
            "rr": [math.exp(v) for v in log_rr],
            "se_log": se,
            "low": [math.exp(v - 1.959963984540054 * s) for v, s in zip(log_rr, se, strict=True)],
            "high": [math.exp(v + 1.959963984540054 * s) for v, s in zip(log_rr, se, strict=True)],
        }
    )
    path = tmp_path / "sites.csv"
    frame.to_csv(path, index=False)
    expected = pool([SiteEstimate(s, v, e, "ratio") for s, v, e in zip(frame["site"], log_rr, se, strict=True)])
    return path, expected


def test_pool_with_se_matches_library(site_table, capsys):
    path, expected = site_table
    code, out, _ = run_cli(["--input", str(path), "--estimate", "rr", "--se", "se_log", "--label", "site",
                            "--scale", "ratio", "--method", "DL"], capsys)
    assert code == 0
    result = json.loads(out)["result"]
    assert result["pooled"]["estimate"] == pytest.approx(expected.pooled.estimate)
    assert result["tau2"] == pytest.approx(expected.tau2)
    assert [s["label"] for s in result["sites"]] == ["Hull", "Manchester", "Leeds", "York"]


def test_pool_with_confidence_limits(site_table, capsys):
    path, expected = site_table
    code, out, _ = run_cli(["--input", str(path), "--estimate", "rr", "--ci-low", "low", "--ci-high", "high",
                            "--label", "site", "--scale", "ratio"], capsys)
    assert code == 0
    result = json.loads(out)["result"]
    assert result["pooled"]["ci_low"] == pytest.approx(expected.pooled.ci_low, rel=1e-9)
    assert result["i2"] == pytest.approx(expected.i2, abs=1e-7)


def test_pool_methods_and_input_errors(site_table, capsys):
    path, _ = site_table
    code, out, _ = run_cli(["--input", str(path), "--estimate", "rr", "--se", "se_log", "--scale", "ratio",
                            "--method", "FE"], capsys)
    assert code == 0 and json.loads(out)["result"]["tau2"] is None
    code, _, err = run_cli(["--input", str(path), "--estimate", "rr", "--scale", "ratio"], capsys)
    assert code == 2 and "--se, or both --ci-low and --ci-high" in err
    code, _, err = run_cli(["--input", str(path), "--estimate", "effect", "--se", "se_log"], capsys)
    assert code == 2 and "no column(s) effect" in err
