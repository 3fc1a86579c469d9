"""`python -m mhin_eval store copy --to postgresql://...`: move the embedded DuckDB store into PostgreSQL."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_REFUSED = 0, 1


def register(subparsers) -> None:
    """Add the `store` sub-command to the top-level CLI."""
    p = subparsers.add_parser(
        "store", help="copy the embedded DuckDB store into an empty PostgreSQL database",
        description="Copy the DuckDB store of the data folder into an empty PostgreSQL database exactly (same "
                    "ingests and ids, row versions, history, audit log, results of record and data version), then "
                    "check both stores' checksums and histories agree. Run the dashboard on it afterwards with "
                    "MHIN_DATABASE_URL set to the same URL.")
    p.add_argument("action", choices=["copy"], help="what to do (copy)")
    p.add_argument("--to", required=True, metavar="URL", help="the target database, postgresql://user@host/db")
    p.add_argument("--data-dir", default=argparse.SUPPRESS,
                   help="folder of the DuckDB store to copy (default: $MHIN_DATA_DIR, else data/store)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from mhin_eval.store import StoreError, database_url
    from mhin_eval.store.copy import copy_store

    try:
        result = copy_store(database_url(args.to), getattr(args, "data_dir", None))
    except StoreError as exc:
        print(f"copy refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(result.summary())
    return EXIT_OK
