"""Time the dashboard's ITS fits over every demo series. Prints a table.

Every stored series of an intervention site (each indicator, and each group of a breakdown) is fitted
as the site page fits it: ``evaluate.site_its`` with the catalogue's default options and the site's
comparison sites (controlled ITS), on a store seeded with the demo data. Comparison sites have no
go-live of their own; their series enter only the controlled fits. Each fit is timed ``--repeat``
times after one unmeasured fit; the per-series figure is the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhin_eval import evaluate  # noqa: E402
from mhin_eval.analysis.results import AnalysisError  # noqa: E402
from mhin_eval.catalogue import load_catalogue  # noqa: E402
from mhin_eval.store import Store, seed  # noqa: E402


def demo_series(store: Store, catalogue):
    """(site, indicator, breakdown, group) of every stored series at an intervention site, sorted."""
    rows = store.series()[["project", "site", "indicator", "breakdown", "group"]].drop_duplicates()
    keys = []
    for project, site_id, indicator_id, breakdown, group in sorted(rows.itertuples(index=False, name=None)):
        site = catalogue.site(site_id)
        if site.go_live is not None:
            keys.append((site, catalogue.indicator(project, indicator_id), breakdown, group))
    return keys


def time_fit(series, catalogue, site, indicator, breakdown, group, repeat: int) -> tuple[float, str]:
    """Median seconds of one series' fit, and the model it used (or why it has no estimate)."""
    def fit():
        return evaluate.site_its(series, catalogue, site, indicator, breakdown=breakdown, group=group,
                                 comparison_sites=site.comparison_sites)

    try:
        result = fit()
    except AnalysisError as exc:
        return float("nan"), f"no fit: {exc}"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    model = result.family + (" controlled" if site.comparison_sites else "")
    return statistics.median(times), model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed fits per series; the median is shown")
    parser.add_argument("--slowest", type=int, default=5, help="how many of the slowest series to list")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory(prefix="bench-fits-") as tmp:
        store = Store(Path(tmp) / "store", catalogue=catalogue)
        seed(store)
        series = store.series()
        measured = []
        for site, indicator, breakdown, group in demo_series(store, catalogue):
            seconds, model = time_fit(series, catalogue, site, indicator, breakdown, group, args.repeat)
            label = f"{site.id} / {indicator.id}" + ("" if group == evaluate.ALL else f" / {group}")
            measured.append((seconds, label, model))
    fitted = [m for m in measured if m[0] == m[0]]
    failed = [m for m in measured if m[0] != m[0]]
    times_ms = sorted(1000 * s for s, _, _ in fitted)
    options = evaluate.default_its_options(catalogue, catalogue.indicators[0])
    errors = "AR(1)" if options.standard_errors == "ar1" else f"{options.standard_errors} (lag {options.hac_lags})"
    rows = [
        ("model", f"catalogue defaults: {options.harmonics} Fourier pairs, {errors} standard errors"),
        ("series fitted", f"{len(fitted)} (of which controlled: {sum('controlled' in m for _, _, m in fitted)})"),
        ("series without a fit", str(len(failed))),
        ("total time (s)", f"{sum(times_ms) / 1000:.3f}"),
        ("per fit: mean (ms)", f"{statistics.mean(times_ms):.1f}"),
        ("per fit: median (ms)", f"{statistics.median(times_ms):.1f}"),
        ("per fit: max (ms)", f"{times_ms[-1]:.1f}"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"ITS fit benchmark over the demo series (median of {args.repeat} per series)")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print(f"Slowest {args.slowest}:")
    for seconds, label, model in sorted(fitted, reverse=True)[: args.slowest]:
        print(f"  {1000 * seconds:7.1f} ms  {label} ({model})")
    for _, label, reason in failed:
        print(f"  {label}: {reason}")


if __name__ == "__main__":
    main()
