"""Time the validation of a large series extract (default 200,000 rows) with a few planted errors.

Run: .venv/bin/python bench/validate.py [ROWS]   (prints figures; never asserts a time)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mhin_eval.catalogue import load_catalogue  # noqa: E402
from mhin_eval.loaders import load_extract  # noqa: E402
from mhin_eval.schema import ValidationFailed  # noqa: E402
from mhin_eval.vocabulary import with_groups  # noqa: E402


def large_series_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    """A well-formed PCREF series by ethnic group: unique (site, group, month) keys over many groups."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2015-01-01", periods=120, freq="MS").strftime("%Y-%m-%d")  # inside the evaluation window
    per_group = len(months)
    index = np.arange(rows)
    group = index // per_group
    site = np.where(group % 2 == 0, "sheffield", "manchester")
    return pd.DataFrame(
        {
            "project": "pcref",
            "site": site,
            "indicator": "mha-detentions",
            "period": np.asarray(months)[index % per_group],
            "value": rng.poisson(20, rows).astype(str),
            "denominator": 50_000,
            "breakdown": "ethnicity",
            "group": [f"Group {g // 2:04d}" for g in group],
        }
    )


def main(rows: int = 200_000) -> None:
    frame = large_series_frame(rows)
    catalogue = with_groups(load_catalogue(), "ethnicity", sorted(set(frame["group"])))
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "large_good.csv"
        frame.to_csv(good, index=False)
        start = time.perf_counter()
        extract = load_extract(good, catalogue=catalogue)
        print(f"{len(extract.frame):,} well-formed rows read and validated in {time.perf_counter() - start:.2f} s")

        bad = frame.copy()
        bad.loc[149_998, "value"] = "twelve"          # file row 150,000
        bad.loc[99_998, "period"] = "2023/13/01"      # file row 100,000
        path = Path(tmp) / "large_bad.csv"
        bad.to_csv(path, index=False)
        start = time.perf_counter()
        try:
            load_extract(path, catalogue=catalogue)
        except ValidationFailed as exc:
            elapsed = time.perf_counter() - start
            print(f"{len(exc.problems)} problem(s) found in {elapsed:.2f} s:")
            for problem in exc.problems:
                print("  ", problem)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
