"""`python -m mhin_eval export ...`: slide decks, HTML reports, results tables and chart images from a shell.

The export is a local evaluator's unless ``--user EMAIL`` names someone in the access policy; ``--suppressed``
gives the suppressed view a programme lead sees. Exit codes as the rest of the CLI: 0 written, 1 refused
(outside the user's scope or not in the policy), 2 usage error (unknown project, site, chart or format).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
KINDS = {
    "deck": "PowerPoint deck: title, results at a glance, a slide per chart, forest plots, methods and caveats",
    "report": "self-contained HTML report that opens without network access",
    "tables": "results table (or --table pooled) as CSV or Excel, by the --out suffix",
    "image": "one chart as PNG or SVG (by the --out suffix); --list shows the chart keys",
}


def register(subparsers) -> None:
    """Add `export <kind>` sub-commands to the top-level CLI."""
    export = subparsers.add_parser("export", help="write a slide deck, HTML report, results table or chart image",
                                   description="Write what the project or site pages show, for presenting.")
    kinds = export.add_subparsers(dest="kind", required=True, metavar="KIND")
    for name, help_text in KINDS.items():
        p = kinds.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data-dir", default=argparse.SUPPRESS,
                       help="folder of the store (default: $MHIN_DATA_DIR, else data/store)")
        p.add_argument("--project", required=True, help="project id (as in data/catalogue.toml)")
        p.add_argument("--site", help="one site of the project (default: every site you may see)")
        p.add_argument("--out", help="file to write" + (" (not needed with --list)" if name == "image" else ""),
                       required=name != "image")
        p.add_argument("--user", help="export as this user of the access policy (default: local evaluator)")
        p.add_argument("--suppressed", action="store_true",
                       help="small numbers suppressed, as programme leads and partner sites see them")
        if name == "deck":
            p.add_argument("--audience", default="evaluators", choices=["evaluators", "public"],
                           help="evaluators (default: methods and caveats in full) or public (plain words instead "
                                "of statistical terms, and a glossary slide); speaker notes keep the details")
        if name == "tables":
            p.add_argument("--table", default="results", choices=["results", "pooled"], help="which table")
        if name == "image":
            p.add_argument("--chart", help="chart key (see --list)")
            p.add_argument("--list", action="store_true", help="list the chart keys and titles, then stop")
            p.add_argument("--width", type=int, default=1200, help="width in CSS pixels (default 1200)")
            p.add_argument("--height", type=int, default=675, help="height in CSS pixels (default 675)")
            p.add_argument("--scale", type=float, default=2, help="PNG pixels per CSS pixel (default 2)")
        p.set_defaults(handler=run)


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from mhin_eval import export
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.cli import _store, access_of

    catalogue = load_catalogue()
    out = Path(args.out) if args.out else None
    suffix = out.suffix.lower() if out else ""
    expected = {"deck": (".pptx",), "report": (".html", ".htm"), "tables": (".csv", ".xlsx"), "image": (".png", ".svg")}
    if out is not None and suffix not in expected[args.kind]:
        print(f"error: --out for {args.kind} must end in {' or '.join(expected[args.kind])}, not '{out.name}'",
              file=sys.stderr)
        return EXIT_USAGE
    started = time.perf_counter()
    try:
        catalogue.project(args.project)
        if args.site:
            catalogue.site(args.site)
        access = access_of(args, catalogue)
        view = export.collect(_store(args), catalogue, args.project, access=access, site=args.site,
                              progress=_progress if args.kind == "deck" else None)
        if args.kind == "image" and args.list:
            for item in view.items:
                print(f"{item.key}\t{item.title}")
            return EXIT_OK
        if args.kind == "deck":
            data = export.deck_from_view(view, audience=args.audience, progress=_progress)
        elif args.kind == "report":
            data = export.report_html(view).encode("utf-8")
        elif args.kind == "tables":
            data = export.table_bytes(view, args.table, suffix.lstrip("."))
        else:
            if out is None or not args.chart:
                print("error: export image needs --chart KEY and --out FILE.png|.svg (or --list)", file=sys.stderr)
                return EXIT_USAGE
            item = next((i for i in view.items if i.key == args.chart), None)
            if item is None:
                print(f"error: no chart '{args.chart}'; choose one of: {', '.join(i.key for i in view.items)}",
                      file=sys.stderr)
                return EXIT_USAGE
            data = export.chart_image(item.figure, suffix.lstrip("."), args.width, args.height, args.scale)
    except PermissionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (KeyError, ValueError) as exc:
        print(f"error: {str(exc).strip(chr(39))}", file=sys.stderr)
        return EXIT_USAGE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    view_text = "suppressed view" if access.suppressed else "evaluator's view"
    if args.kind == "deck" and args.audience == "public":
        view_text += ", for a general audience"
    print(f"Wrote {out} ({len(data):,} bytes, {view_text}, {time.perf_counter() - started:.1f} s).")
    return EXIT_OK
