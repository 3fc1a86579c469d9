"""`python -m mhin_eval`: each command's exit code and messages, run as a user would (subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.store import Store

PYTHON = str(PROJECT_ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

COMMANDS = ("validate", "ingest", "history", "rollback", "demo", "seed", "analyse")


def run(*args, data_dir=None, env=None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "MHIN_DATA_DIR"}
    environment.update(env or {})
    prefix = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return subprocess.run(
        [PYTHON, "-m", "mhin_eval", *prefix, *map(str, args)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def series_csv(path: Path, months=24, offset=0) -> Path:
    periods = pd.date_range("2021-01-01", periods=months, freq="MS")
    frame = pd.DataFrame(
        {
            "project": "aaot",
            "site": "hull",
            "indicator": "ae-attendances",
            "period": periods.strftime("%Y-%m-%d"),
            "value": [20 + (m % 7) + offset for m in range(months)],
            "denominator": 150,
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "store"


def test_top_level_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "Exit codes" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m mhin_eval {command}")


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("validate",),
        ("rollback",),
        ("rollback", "seven"),
        ("ingest", "a.csv", "--bogus"),
    ],
)
def test_usage_errors_exit_2(args, data_dir):
    result = run(*args, data_dir=data_dir)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_validate_valid_file_prints_one_line_summary(tmp_path, data_dir):
    path = series_csv(tmp_path / "hull.csv")
    result = run("validate", path, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first == "hull.csv: valid; 24 series rows; 1 site(s): hull; 2021-01 to 2022-12."
    assert Store(data_dir).history().empty, "validate stores nothing"


BAD_FILES = {
    "empty.csv": "",
    "header-only.csv": "project,site,indicator,period,value\n",
    "negative.csv": "project,site,indicator,period,value\naaot,hull,ae-attendances,2021-01-01,-3\n",
    "unknown-site.csv": "project,site,indicator,period,value\naaot,leeds,ae-attendances,2021-01-01,3\n",
    "bad-date.csv": "project,site,indicator,period,value\naaot,hull,ae-attendances,2023/13/01,3\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_refused_with_same_message_by_validate_and_ingest(name, tmp_path, data_dir):
    store = Store(data_dir)
    store.ingest_file(series_csv(tmp_path / "good.csv"))
    before = store.checksum()
    path = tmp_path / name
    path.write_text(BAD_FILES[name])
    validated = run("validate", path, data_dir=data_dir)
    ingested = run("ingest", path, data_dir=data_dir)
    assert validated.returncode == 1 and ingested.returncode == 1
    assert validated.stdout == "" and ingested.stdout == ""
    assert validated.stderr == ingested.stderr
    assert validated.stderr.startswith(f"{name}: ")
    assert "nothing was loaded" in validated.stderr and "Fix:" in validated.stderr
    assert store.checksum() == before
    assert len(store.history()) == 1


def test_excel_with_several_sheets_needs_sheet(tmp_path, data_dir):
    csv = series_csv(tmp_path / "s.csv")
    workbook = tmp_path / "book.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"note": ["read me"]}).to_excel(writer, sheet_name="About", index=False)
        pd.read_csv(csv).to_excel(writer, sheet_name="Data", index=False)
    refused = run("ingest", workbook, data_dir=data_dir)
    assert refused.returncode == 1
    assert "--sheet" in refused.stderr and "'Data'" in refused.stderr
    result = run("ingest", workbook, "--sheet", "Data", "--user", "tester", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip() == "Ingested book.xlsx as #1 (series): 24 rows added, 0 replaced, 0 unchanged."
    )


def test_ingest_history_rollback_cycle(tmp_path, data_dir):
    first = series_csv(tmp_path / "first.csv")
    second = series_csv(tmp_path / "second.csv", months=30, offset=1)

    result = run("ingest", first, "--user", "alice", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "as #1" in result.stdout and "24 rows added" in result.stdout
    original = Store(data_dir).series()

    again = run("ingest", first, "--user", "alice", data_dir=data_dir)
    assert again.returncode == 0
    assert again.stdout.startswith("No change:") and "no-op ingest #2" in again.stdout

    update = run("ingest", second, "--user", "bob", data_dir=data_dir)
    assert update.returncode == 0
    assert "6 rows added, 24 replaced, 0 unchanged" in update.stdout

    history = run("history", data_dir=data_dir)
    assert history.returncode == 0
    lines = history.stdout.splitlines()
    assert len(lines) == 4
    assert "alice" in lines[1] and "first.csv" in lines[1]
    assert "no-op" in lines[2]
    assert "bob" in lines[3] and "second.csv" in lines[3]

    rollback = run("rollback", "3", "--user", "carol", data_dir=data_dir)
    assert rollback.returncode == 0, rollback.stderr
    assert "24 rows restored" in rollback.stdout and "6 rows removed" in rollback.stdout
    pd.testing.assert_frame_equal(Store(data_dir).series(), original)
    assert "rolled back" in run("history", data_dir=data_dir).stdout.splitlines()[3]

    twice = run("rollback", "3", data_dir=data_dir)
    assert twice.returncode == 1 and "already rolled back" in twice.stderr
    unknown = run("rollback", "42", data_dir=data_dir)
    assert unknown.returncode == 1 and "no ingest #42" in unknown.stderr


def test_history_of_empty_store(data_dir):
    result = run("history", data_dir=data_dir)
    assert (result.returncode, result.stdout.strip()) == (0, "No ingests yet.")


def test_data_dir_from_environment_and_after_the_command(tmp_path):
    path = series_csv(tmp_path / "env.csv")
    env_dir, option_dir = tmp_path / "from-env", tmp_path / "from-option"
    assert run("ingest", path, env={"MHIN_DATA_DIR": str(env_dir)}).returncode == 0
    assert run("ingest", path, "--data-dir", option_dir, env={"MHIN_DATA_DIR": str(env_dir)}).returncode == 0
    assert len(Store(env_dir).history()) == 1
    assert len(Store(option_dir).history()) == 1


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_demo_twice_gives_byte_identical_files(tmp_path):
    out = tmp_path / "demo"
    first = run("demo", "--out", out)
    assert first.returncode == 0, first.stderr
    files = snapshot(out)
    assert {"series.csv", "participants.csv"} <= set(files)
    second = run("demo", "--out", out)
    assert second.returncode == 0
    assert first.stdout == second.stdout
    assert snapshot(out) == files
    elsewhere = tmp_path / "elsewhere"
    assert run("demo", "--out", elsewhere).returncode == 0
    assert snapshot(elsewhere) == files


def test_seed_fills_an_empty_store_once(tmp_path, data_dir):
    demo_dir, published_dir = tmp_path / "demo", tmp_path / "published"
    published_dir.mkdir()
    args = ("seed", "--demo-dir", demo_dir, "--published-dir", published_dir)
    first = run(*args, data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    assert "participants.csv" in first.stdout and "series.csv" in first.stdout
    store = Store(data_dir)
    assert store.has_demo_data()
    history = store.history()
    assert set(history["user"]) == {"demo"} and history["demo"].all()
    checksum = store.checksum()
    second = run(*args, data_dir=data_dir)
    assert second.returncode == 0
    assert second.stdout.startswith("Nothing to seed")
    assert store.checksum() == checksum and len(store.history()) == len(history)


def test_ingest_and_rollback_compute_the_new_versions_results_of_record(tmp_path, data_dir):
    from mhin_eval import record
    from mhin_eval.access.suppression import SuppressionRule
    from mhin_eval.catalogue import load_catalogue

    ingest = run("ingest", series_csv(tmp_path / "first.csv"), data_dir=data_dir)
    assert ingest.returncode == 0, ingest.stderr
    assert "Results of record, aaot:" in ingest.stderr
    assert "site result(s) computed" in ingest.stderr.splitlines()[-1]
    store = Store(data_dir, catalogue=load_catalogue())
    for project in store.catalogue.project_ids:
        assert store.recorded_results(store.version(), "full", project, record.RECORD_FORMAT) is not None
    counts = record.Counts(False, SuppressionRule.from_catalogue(store.catalogue))
    hull = record.results_of_record(store, store.catalogue, "aaot", counts)
    assert record.find(hull, "hull", "ae-attendances").estimate is not None

    skipped = run("ingest", series_csv(tmp_path / "second.csv", offset=3), "--no-results", data_dir=data_dir)
    assert skipped.returncode == 0 and "Results of record" not in skipped.stderr
    assert store.recorded_results(store.version(), "full", "aaot", record.RECORD_FORMAT) is None

    rollback = run("rollback", "2", data_dir=data_dir)
    assert rollback.returncode == 0, rollback.stderr
    assert "0 site result(s) computed" in rollback.stderr, "the rolled-back rows' records were kept"
