"""`analyse its`: the command prints the same estimates as fit_its, as one JSON document."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import pandas as pd
import pytest

from mhin_eval import cli_analyse
from mhin_eval.analysis.its import ITSOptions, fit_its


def _run(argv: list[str]) -> tuple[int, dict | None, str]:
    parser = argparse.ArgumentParser()
    cli_analyse.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.handler(args)
    return code, (json.loads(out.getvalue()) if code == 0 else None), err.getvalue()


@pytest.fixture(scope="module")
def sicily_csv(reference_dir, tmp_path_factory):
    data = pd.read_csv(reference_dir / "sicily.csv")
    data["month_start"] = pd.to_datetime({"year": data.year, "month": data.month, "day": 1}).dt.strftime(
        "%Y-%m-%d"
    )
    path = tmp_path_factory.mktemp("its") / "sicily.csv"
    data.to_csv(path, index=False)
    return path


def test_its_command_matches_fit_its_on_dates(sicily_csv):
    code, document, _ = _run(
        ["analyse", "its", "--input", str(sicily_csv), "--time", "month_start", "--value", "aces",
         "--intervention", "2005-01-01", "--offset", "stdpop", "--harmonics", "2", "--hac-lags", "3",
         "--small-sample", "--horizon", "6"]
    )  # fmt: skip
    assert code == 0
    expected = fit_its(
        pd.read_csv(sicily_csv),
        "2005-01-01",
        time="month_start",
        value="aces",
        offset="stdpop",
        options=ITSOptions(harmonics=2, hac_lags=3, small_sample=True, horizon=6),
    )
    assert document["level_change"] == pytest.approx(expected.level_change.to_dict())
    assert document["slope_change"] == pytest.approx(expected.slope_change.to_dict())
    assert set(document["level_change"]) == {"estimate", "ci_low", "ci_high", "p_value"}
    assert document["coefficients"] == pytest.approx(expected.coefficients)
    assert document["n"] == 59 and document["warnings"] == []
    assert document["diagnostics"]["dispersion"] == pytest.approx(expected.diagnostics["dispersion"])
    assert "difference_in_level_change" not in document


def test_its_command_level_only_reproduces_published_m3(sicily_csv):
    code, document, _ = _run(
        ["analyse", "its", "--input", str(sicily_csv), "--value", "aces", "--intervention", "37",
         "--offset", "stdpop", "--harmonics", "2", "--no-slope-change"]
    )  # fmt: skip
    assert code == 0
    # README sicily table, m3: RR 0.8850715 (0.8394010 - 0.9332270)
    assert document["level_change"]["estimate"] == pytest.approx(0.8850715, abs=5e-8)
    assert document["level_change"]["ci_low"] == pytest.approx(0.8394010, abs=5e-8)
    assert document["slope_change"] is None


def test_its_command_controlled_gaussian_hac(reference_dir):
    code, document, _ = _run(
        ["analyse", "its", "--input", str(reference_dir / "cigsales_prop99.csv"), "--time", "year",
         "--value", "cigsale", "--intervention", "1989", "--family", "gaussian", "--group", "state_id",
         "--treated", "3", "--hac-lags", "2"]
    )  # fmt: skip
    assert code == 0
    assert document["difference_in_slope_change"]["estimate"] < 0
    assert (
        document["difference_in_level_change"]["ci_low"] < document["difference_in_level_change"]["ci_high"]
    )
    assert "treated_level_change" in document["coefficients"]


def test_its_command_reports_errors_plainly(sicily_csv):
    code, document, err = _run(
        ["analyse", "its", "--input", str(sicily_csv), "--value", "aces", "--intervention", "37",
         "--family", "poisson", "--prais-winsten"]
    )  # fmt: skip
    assert code == 2 and document is None
    assert err.startswith("error: Prais-Winsten applies to the gaussian family only")


def test_its_command_ar1_standard_errors_match_fit_its(sicily_csv):
    code, document, _ = _run(
        ["analyse", "its", "--input", str(sicily_csv), "--time", "month_start", "--value", "aces",
         "--intervention", "2005-01-01", "--offset", "stdpop", "--harmonics", "2", "--autocorrelation", "ar1"]
    )  # fmt: skip
    assert code == 0
    expected = fit_its(pd.read_csv(sicily_csv), "2005-01-01", time="month_start", value="aces", offset="stdpop",
                       options=ITSOptions(harmonics=2, standard_errors="ar1"))
    model_based = fit_its(pd.read_csv(sicily_csv), "2005-01-01", time="month_start", value="aces", offset="stdpop",
                          options=ITSOptions(harmonics=2))
    assert document["level_change"] == pytest.approx(expected.level_change.to_dict())
    assert document["level_change"]["ci_low"] != pytest.approx(model_based.level_change.ci_low)
