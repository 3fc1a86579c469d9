"""Time ITS fits: quasi-Poisson, 2 Fourier pairs, Newey-West lag 3, on 72-month series. Prints a table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhin_eval.analysis.its import ITSOptions, fit_its  # noqa: E402


def simulated_series(n_months: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_months + 1)
    go_live = n_months // 2 + 1
    log_mean = (
        np.log(200) + 0.002 * t + np.where(t >= go_live, np.log(0.85), 0.0) + 0.1 * np.sin(2 * np.pi * t / 12)
    )
    return pd.DataFrame({"time": t, "value": rng.poisson(np.exp(log_mean)).astype(float), "pop": 10_000.0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fits", type=int, default=200, help="number of fits to time (N)")
    parser.add_argument("--months", type=int, default=72)
    args = parser.parse_args()
    options = ITSOptions(family="quasipoisson", harmonics=2, hac_lags=3)
    series = [simulated_series(args.months, seed) for seed in range(args.fits)]
    go_live = args.months // 2 + 1
    fit_its(series[0], go_live, offset="pop", options=options)
    start = time.perf_counter()
    for data in series:
        fit_its(data, go_live, offset="pop", options=options)
    total = time.perf_counter() - start
    rows = [
        ("model", "quasi-Poisson, 2 harmonics, Newey-West lag 3, log offset"),
        ("points per series", str(args.months)),
        ("fits (N)", str(args.fits)),
        ("total time (s)", f"{total:.3f}"),
        ("per fit (ms)", f"{1000 * total / args.fits:.2f}"),
    ]
    width = max(len(label) for label, _ in rows)
    print("ITS fit benchmark")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
