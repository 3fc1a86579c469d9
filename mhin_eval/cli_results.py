"""`python -m mhin_eval results`: the results of record of a project (or one site) as the pages show them.

The same stored records the overview, site and compare pages, decks, reports and tables read
(mhin_eval.record), printed from their tidy frame: a readable table, CSV (formula-safe) or JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
TABLE_COLUMNS = ("site_name", "label", "estimate", "ci_low", "ci_high", "scale", "n", "n_unit", "period")


def register(subparsers) -> None:
    """Add the `results` sub-command to the top-level CLI."""
    p = subparsers.add_parser("results", help="print the results of record of a project or site",
                              description="Print each site's headline result per indicator, exactly as every "
                                          "page, slide and table shows it.")
    p.add_argument("--data-dir", default=argparse.SUPPRESS,
                   help="folder of the store (default: $MHIN_DATA_DIR, else data/store)")
    p.add_argument("--project", required=True, help="project id (as in data/catalogue.toml)")
    p.add_argument("--site", help="one site of the project (default: every site you may see)")
    p.add_argument("--indicator", help="one indicator of the project")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"], help="output format")
    p.add_argument("--user", help="as this user of the access policy (default: local evaluator)")
    p.add_argument("--suppressed", action="store_true",
                   help="small numbers suppressed, as programme leads and partner sites see them")
    p.add_argument("--synth", action="store_true",
                   help="the effects against similar sites (synthetic control, synthetic DiD) of each site with a "
                        "donor pool, as the site page's tab, decks and reports show them")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mhin_eval import record
    from mhin_eval.access.downloads import to_csv_bytes
    from mhin_eval.access.shown import Counts
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.cli import _store, access_of

    catalogue = load_catalogue()
    try:
        catalogue.project(args.project)
        if args.site:
            catalogue.site(args.site)
        if args.indicator:
            catalogue.indicator(args.project, args.indicator)
        access = access_of(args, catalogue)
    except PermissionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (KeyError, ValueError) as exc:
        print(f"error: {str(exc).strip(chr(39))}", file=sys.stderr)
        return EXIT_USAGE
    if args.site and not access.allows_site(args.site):
        print(f"refused: {args.site} is outside the sites you may see.", file=sys.stderr)
        return EXIT_REFUSED
    if args.synth:
        return _synth(args, catalogue, access)
    records = record.results_of_record(_store(args), catalogue, args.project,
                                       Counts.for_access(access, catalogue), sites=access.sites)
    records = [r for r in records if (not args.site or r.site == args.site)
               and (not args.indicator or r.indicator == args.indicator)]
    frame = record.tidy(records)
    if args.format == "json":
        print(json.dumps([r.to_json() for r in records], indent=2, allow_nan=False, default=str))
    elif args.format == "csv":
        sys.stdout.write(to_csv_bytes(frame).decode("utf-8-sig"))
    else:
        for r in records:
            print(f"{r.site_name} · {r.label}\n  {r.sentence}\n  n = {r.n_detail} · {r.period} · {r.method}\n")
    return EXIT_OK


def _synth(args: argparse.Namespace, catalogue, access) -> int:
    """The synthetic-control records (mhin_eval.synth_record), partner-extract donors anonymised for a site user."""
    from mhin_eval import synth_record
    from mhin_eval.access.downloads import to_csv_bytes
    from mhin_eval.access.shown import Counts
    from mhin_eval.cli import _store

    records = synth_record.for_access(synth_record.synth_of_record(
        _store(args), catalogue, args.project, Counts.for_access(access, catalogue), sites=access.sites), access)
    records = [r for r in records if (not args.site or r.site == args.site)
               and (not args.indicator or r.indicator == args.indicator)]
    if args.format == "json":
        print(json.dumps(_finite([r.to_json() for r in records]), indent=2, allow_nan=False, default=str))
    elif args.format == "csv":
        sys.stdout.write(to_csv_bytes(synth_record.tidy(records)).decode("utf-8-sig"))
    else:
        for r in records:
            print(f"{r.site_name} · {r.label} · against similar sites")
            if r.reason:
                print(f"  {r.reason}\n")
            for e in r.effects:
                print(f"  {e.method_name}: {e.sentence}")
                if e.weights:
                    print(f"    {e.weights_text}")
            print()
    return EXIT_OK


def _finite(value):
    """JSON-ready: NaN and infinities (an interval that could not be computed) as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
