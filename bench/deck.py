"""Time the slide deck of one project (both sites, every indicator) as the export button builds it.

Cold: a fresh process's first deck, which starts the headless Chromium that draws the chart images.
Warm: the same deck again with that browser kept open (the analyses are recomputed; nothing is cached
between the two). Each phase is split into analysis (export.collect), chart images and slide layout.
The target is under 20 s. Run on a store seeded with the demo data in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mhin_eval import export  # noqa: E402
from mhin_eval.access import Access  # noqa: E402
from mhin_eval.catalogue import load_catalogue  # noqa: E402
from mhin_eval.store import Store, seed  # noqa: E402

TARGET_SECONDS = 20


def build(store, catalogue, project: str) -> tuple[dict, int, int]:
    """Seconds per phase of one deck, its slide count and size in bytes."""
    marks = {}
    start = time.perf_counter()
    view = export.collect(store, catalogue, project, access=Access.local_evaluator())
    marks["analysis"] = time.perf_counter() - start

    def progress(fraction: float, message: str) -> None:
        if message.startswith("Laying out") and "images" not in marks:
            marks["images"] = time.perf_counter() - start - marks["analysis"]

    deck = export.deck_from_view(view, progress=progress)
    marks["total"] = time.perf_counter() - start
    marks["layout"] = marks["total"] - marks["analysis"] - marks["images"]
    return marks, view.slide_count, len(deck)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="aaot", help="project id (default aaot: 2 sites, 7 indicators)")
    args = parser.parse_args(argv)
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(folder, catalogue=catalogue)
        seed(store)
        sites = catalogue.sites_of(args.project)
        indicators = catalogue.indicators_of(args.project)
        print(f"Slide deck of {catalogue.project(args.project).short_name}: {len(sites)} sites, "
              f"{len(indicators)} indicators; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        for phase in ("cold", "warm"):
            marks, slides, size = build(store, catalogue, args.project)
            verdict = "within" if marks["total"] < TARGET_SECONDS else "OVER"
            print(f"  {phase}: {marks['total']:5.1f} s ({verdict} the {TARGET_SECONDS} s target) = analysis "
                  f"{marks['analysis']:.1f} s + chart images {marks['images']:.1f} s + slides {marks['layout']:.1f} s; "
                  f"{slides} slides, {size / 1e6:.1f} MB")
    export.renderer().close()


if __name__ == "__main__":
    main()
