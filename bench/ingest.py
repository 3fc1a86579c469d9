"""Ingest and validate at national scale: wall seconds and peak memory of the command-line steps.

- ingest: ``python -m mhin_eval ingest FILE --no-results`` of a valid series CSV of ROWS rows (default 5
  million) into an empty store. Results of record are off (``--no-results``): their fitting is timed by
  bench/scale.py and bench/fits.py, not here.
- validate: ``python -m mhin_eval validate FILE`` of a series CSV of about 200 MB with two planted errors
  (a value that is text, a month that does not exist), which must be refused naming both rows.

The rows are every series indicator of every site of a catalogue with enough sites (mhin_eval.demo_scale:
the shipped sites copied in turn), by each group the indicator's breakdowns allow, over every month of the
evaluation window, cut at ROWS. Each step is a child process: wall and CPU time, and its peak resident
memory from ``wait4``. Figures only; nothing here asserts a time. Run: .venv/bin/python bench/ingest.py [ROWS]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VALIDATE_MB = 200
BAD_VALUE_ROW = 150_000
BAD_PERIOD_ROW = 100_000


def child(args: list[str], env: dict[str, str], ok_codes=(0,)) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak resident MB, standard error) of a child process run to its end."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        raise RuntimeError(f"{' '.join(args)} exited {code}: {stderr[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stderr


def series_keys(catalogue) -> pd.DataFrame:
    """Every (project, site, indicator, breakdown, group) a series file may hold for ``catalogue``."""
    rows = []
    for site in catalogue.sites:
        for indicator in catalogue.indicators_of(site.project, "series"):
            rows.append((site.project, site.id, indicator.id, "all", "all", indicator))
            for name in indicator.breakdowns:
                vocabulary = catalogue.breakdown(name)
                detailed = [g.label for g in vocabulary.groups if g.parent] or list(vocabulary.labels)
                rows.extend((site.project, site.id, indicator.id, name, g, indicator) for g in detailed)
    return pd.DataFrame(rows, columns=["project", "site", "indicator", "breakdown", "group", "spec"])


def write_series(catalogue, rows: int, path: Path, seed: int = 1) -> int:
    """Write up to ``rows`` valid series rows (fewer when the catalogue has fewer keys); returns how many."""
    from mhin_eval.periods import evaluation_window

    window = evaluation_window(catalogue)
    months = pd.date_range(window.earliest, window.latest, freq="MS").strftime("%Y-%m-%d").to_numpy()
    keys = series_keys(catalogue)
    n = min(rows, len(keys) * len(months))
    rng = np.random.default_rng(seed)
    key = np.arange(n) // len(months)
    kinds = keys["spec"].map(lambda i: (i.kind, i.scale, bool(i.denominator))).to_numpy()[key]
    denominator = rng.integers(200, 5000, n)
    value = rng.poisson(30, n).astype(float)
    share = np.array([k[0] == "proportion" and k[1] == "0-100" for k in kinds])
    value[share] = np.round(rng.uniform(0, 100, share.sum()), 1)
    frame = pd.DataFrame({
        "project": keys["project"].to_numpy()[key], "site": keys["site"].to_numpy()[key],
        "indicator": keys["indicator"].to_numpy()[key], "period": months[np.arange(n) % len(months)],
        "value": pd.Series(value).map("{:g}".format), "denominator": denominator,
        "breakdown": keys["breakdown"].to_numpy()[key], "group": keys["group"].to_numpy()[key],
    })
    frame.to_csv(path, index=False)
    return n


def rows_for_megabytes(path: Path, rows: int, megabytes: float) -> int:
    """Rows of a file like ``path`` (``rows`` rows) that make about ``megabytes`` MB."""
    return int(rows * megabytes * 1e6 / path.stat().st_size)


def plant_errors(source: Path, target: Path, rows: int) -> None:
    """The first ``rows`` data rows of ``source`` with a text value at BAD_VALUE_ROW and a 13th month at
    BAD_PERIOD_ROW (file rows, header = 1)."""
    with open(source, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as out:
        for number, line in enumerate(src, start=1):
            if number > rows + 1:
                break
            cells = line.rstrip("\n").split(",")
            if number == BAD_VALUE_ROW:
                cells[4] = "twelve"
            if number == BAD_PERIOD_ROW:
                cells[3] = "2023-13-01"
            out.write(",".join(cells) + "\n")


def generate(folder: Path, rows: int, sites: int) -> None:
    """Write catalogue.toml, series.csv and series_bad.csv to ``folder``, and counts.json with their rows."""
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.demo_scale import write_scaled_catalogue

    catalogue_path = write_scaled_catalogue(sites, folder / "catalogue.toml")
    good = folder / "series.csv"
    n = write_series(load_catalogue(catalogue_path), rows, good)
    bad_rows = rows_for_megabytes(good, n, VALIDATE_MB)
    plant_errors(good, folder / "series_bad.csv", bad_rows)
    (folder / "counts.json").write_text(json.dumps({"rows": n, "bad_rows": bad_rows}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=5_000_000)
    parser.add_argument("--keep", help="folder to write the files to and keep (default: a temporary one)")
    parser.add_argument("--sites", type=int, default=1_200, help="intervention sites of the generated catalogue")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate_only:
        generate(Path(args.keep), args.rows, args.sites)
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        # The files are written by a child: a child's peak memory counts its parent's at the fork, so this
        # process stays small.
        subprocess.run([sys.executable, __file__, str(args.rows), "--keep", str(folder), "--sites", str(args.sites),
                        "--generate-only"], check=True, cwd=ROOT)
        counts = json.loads((folder / "counts.json").read_text())
        n, bad_rows = counts["rows"], counts["bad_rows"]
        good, bad = folder / "series.csv", folder / "series_bad.csv"
        env = dict(os.environ, MHIN_CATALOGUE=str(folder / "catalogue.toml"), PYTHONPATH=str(ROOT))
        cli = [sys.executable, "-m", "mhin_eval"]
        store = folder / "store"
        wall, cpu, peak, _ = child([*cli, "--data-dir", str(store), "ingest", str(good), "--no-results"], env)
        print(f"ingest   {n:>10,} rows ({good.stat().st_size / 1e6:,.0f} MB)   {wall:6.1f} s ({cpu:5.1f} s CPU)   {peak:7,.0f} MB peak")
        wall, cpu, peak, report = child([*cli, "validate", str(bad)], env, ok_codes=(1, 2))
        lines = report.strip().splitlines()
        print(f"validate {bad_rows:>10,} rows ({bad.stat().st_size / 1e6:,.0f} MB)   {wall:6.1f} s ({cpu:5.1f} s CPU)   {peak:7,.0f} MB peak"
              f"   {len(lines) - 1} problem(s)")
        for line in lines[1:]:
            print("   ", line[:160])


if __name__ == "__main__":
    main()
