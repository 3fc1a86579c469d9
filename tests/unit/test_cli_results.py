"""`python -m mhin_eval results`: the stored results of record, as every page and export shows them."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from mhin_eval import record
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.cli import main
from mhin_eval.store import Store, seed

POLICY = """
[[users]]
email = "pat@hey.nhs.uk"
role = "site"
sites = ["hull"]
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, catalogue):
    path = tmp_path_factory.mktemp("cli-results-store")
    seed(Store(path, catalogue=catalogue))
    return path


def records_of(data_dir, catalogue, project, suppressed=False):
    counts = Counts(suppressed, SuppressionRule.from_catalogue(catalogue))
    return record.results_of_record(Store(data_dir, catalogue=catalogue), catalogue, project, counts)


def test_json_is_the_records(data_dir, catalogue, capsys):
    assert main(["--data-dir", str(data_dir), "results", "--project", "aaot", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = records_of(data_dir, catalogue, "aaot")
    assert [record.ResultOfRecord.from_json(r) for r in printed] == list(expected)
    gm = next(r for r in printed if r["site"] == "greater-manchester" and r["indicator"] == "ae-attendances")
    assert gm["n_unit"] == "months" and gm["n_comparison"] > 0 and "comparison series" in gm["sentence"]


def test_csv_is_the_tidy_frame_for_one_site_and_indicator(data_dir, catalogue, capsys):
    args = ["--data-dir", str(data_dir), "results", "--project", "aaot", "--site", "hull",
            "--indicator", "ae-attendances", "--format", "csv"]
    assert main(args) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    (expected,) = [r for r in records_of(data_dir, catalogue, "aaot") if r.site == "hull" and r.indicator == "ae-attendances"]
    assert len(frame) == 1 and list(frame.columns) == list(record.TIDY_COLUMNS)
    row = frame.iloc[0]
    assert row["sentence"] == expected.sentence and row["estimate"] == pytest.approx(expected.estimate.estimate)
    assert row["n"] == expected.n and row["period"] == expected.period


def test_a_site_user_sees_only_their_site_and_the_suppressed_wording(data_dir, catalogue, tmp_path, monkeypatch,
                                                                      capsys):
    policy = tmp_path / "access-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("MHIN_ACCESS_POLICY", str(policy))
    assert main(["--data-dir", str(data_dir), "results", "--project", "aaot", "--user", "pat@hey.nhs.uk",
                 "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {r["site"] for r in printed} == {"hull"}
    assert all(r["view"] == "suppressed" for r in printed)
    people = [r for r in printed if r["n_unit"] == "people with both measurements"]
    assert people and all(r["n"] is None for r in people), "a suppressed view prints no exact count of people"
    assert main(["--data-dir", str(data_dir), "results", "--project", "aaot", "--site", "greater-manchester",
                 "--user", "pat@hey.nhs.uk"]) == 1
    assert "outside the sites you may see" in capsys.readouterr().err
