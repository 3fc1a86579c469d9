"""`python -m mhin_eval series ...`: a site's indicator series exactly as the pages draw them.

Rows are the store's current series (published measures included once mapped at ingest), groups summed to the
site total by ``evaluate.series_rows`` and, for ``--user EMAIL`` of a role that sees suppressed outputs (or
``--suppressed``), counts rounded or hidden as the pages show them (``access.shown.Counts.site_series``). CSV goes
through the formula-safe writer. Exit codes as the rest of the CLI: 0 printed, 1 refused (user not in the
policy or site outside their scope), 2 usage error (unknown project, site or indicator).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
COLUMNS = ("project", "site", "indicator", "period", "value", "denominator")


def register(subparsers) -> None:
    """Add the `series` sub-command to the top-level CLI."""
    p = subparsers.add_parser(
        "series", help="print a site's indicator series as the pages draw them (CSV or a table)",
        description="Print one site's monthly series per indicator, after published-measure mappings, group "
                    "totals and the user's small-number suppression, exactly as the site pages draw them.")
    p.add_argument("--data-dir", default=argparse.SUPPRESS,
                   help="folder of the store (default: $MHIN_DATA_DIR, else data/store)")
    p.add_argument("--project", required=True, help="project id (as in data/catalogue.toml)")
    p.add_argument("--site", required=True, help="site id of the project")
    p.add_argument("--indicator", help="one series indicator (default: every series indicator of the project)")
    p.add_argument("--format", default="table", choices=["csv", "table"], help="output format (default: table)")
    p.add_argument("--user", help="as this user of the access policy sees it (default: local evaluator)")
    p.add_argument("--suppressed", action="store_true",
                   help="small numbers suppressed, as programme leads and partner sites see them")
    p.set_defaults(handler=run)


def site_series_frame(store, catalogue, access, project: str, site: str, indicator: str | None = None) -> pd.DataFrame:
    """The site's series rows of one or every series indicator of ``project`` as ``access`` sees them.

    Columns ``COLUMNS`` (period as a month-start date) plus, in a suppressed view, ``shown``: the value as text
    or ``*`` when the count is hidden. Raises PermissionError for a site outside the user's scope.
    """
    from mhin_eval import evaluate
    from mhin_eval.access.shown import Counts

    if not access.allows_site(site):
        raise PermissionError(f"{access.user} may not see site '{site}'.")
    indicators = ([catalogue.indicator(project, indicator)] if indicator
                  else list(catalogue.indicators_of(project, "series")))
    if any(i.source != "series" for i in indicators):
        raise ValueError(f"'{indicator}' is a participant measure, not a series indicator")
    series = store.series(project=project, sites=access.data_scope(catalogue))
    counts = Counts.for_access(access, catalogue)
    shown = counts.shown_series(series, catalogue.indicators_of(project))
    pieces = []
    for ind in indicators:
        rows = counts.site_series(series, site, ind, shown)
        if rows.empty:
            continue
        raw = evaluate.series_rows(series, site, ind.id)["value"].to_numpy()
        pieces.append(rows.assign(project=project, site=site, indicator=ind.id,
                                  hidden=rows["value"].isna().to_numpy() & ~pd.isna(raw)))
    empty = pd.DataFrame({c: [] for c in (*COLUMNS, "hidden")})
    out = pd.concat(pieces, ignore_index=True) if pieces else empty
    out = out.assign(period=pd.to_datetime(out["period"]), value=out["value"].astype(float),
                     denominator=out["denominator"].astype(float))
    if counts.suppressed:
        out["shown"] = ["*" if h else ("" if pd.isna(v) else f"{v:g}") for v, h in zip(out["value"], out["hidden"], strict=True)]
    return out[[*COLUMNS, *(["shown"] if counts.suppressed else [])]]


def run(args: argparse.Namespace) -> int:
    from mhin_eval.access.downloads import to_csv_bytes
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.cli import _store, access_of

    catalogue = load_catalogue()
    try:
        catalogue.project(args.project)
        site = catalogue.site(args.site)
        if site.project != args.project:
            raise ValueError(f"site '{args.site}' is not a site of project '{args.project}'")
        access = access_of(args, catalogue)
        frame = site_series_frame(_store(args), catalogue, access, args.project, args.site, args.indicator)
    except PermissionError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "csv":
        sys.stdout.flush()
        sys.stdout.buffer.write(to_csv_bytes(frame.assign(period=frame["period"].dt.strftime("%Y-%m-%d"))))
        sys.stdout.buffer.flush()
        return EXIT_OK
    if frame.empty:
        print(f"No series rows for {args.site} in {args.project}.")
        return EXIT_OK
    view = "suppressed view" if access.suppressed else "evaluator's view"
    print(f"{site.name} ({args.project}), {view}: {len(frame):,} monthly rows")
    print(frame.assign(period=frame["period"].dt.strftime("%Y-%m")).to_string(index=False, na_rep="-"))
    return EXIT_OK
