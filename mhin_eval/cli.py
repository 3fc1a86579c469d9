"""`python -m mhin_eval ...`: validate, ingest, history, rollback, demo, seed and analyse from a shell.

Exit codes: 0 done; 1 a file failed validation or the store refused the request (nothing changed);
2 the command line itself was wrong. Messages are the ones the upload page shows.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

import pandas as pd

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _store(args: argparse.Namespace):
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.store import Store

    return Store(getattr(args, "data_dir", None), catalogue=load_catalogue())


def access_of(args: argparse.Namespace, catalogue):
    """Whose view a command shows: ``--user EMAIL`` from the access policy, else the local evaluator's;
    ``--suppressed`` gives the suppressed view. Raises PermissionError for someone not in the policy."""
    from mhin_eval.access import Access, load_policy

    if args.user:
        access = load_policy(catalogue=catalogue).access_for(args.user)
        if access is None:
            raise PermissionError(f"{args.user} is not in the access policy, so nothing can be shown to them.")
    else:
        access = Access.local_evaluator()
    return access.with_suppression(True) if args.suppressed else access


def _describe(extract) -> str:
    """One line saying what a valid extract holds."""
    frame = extract.frame
    parts = [f"{len(frame):,} {extract.kind} rows"]
    if "site" in frame.columns:
        sites = sorted(frame["site"].dropna().unique())
        parts.append(f"{len(sites)} site(s): {', '.join(sites)}")
    if "org_code" in frame.columns:
        parts.append(f"{frame['org_code'].nunique():,} organisation(s)")
    date_column = next((c for c in ("period", "date", "period_start") if c in frame.columns), None)
    if date_column is not None and frame[date_column].notna().any():
        dates = pd.to_datetime(frame[date_column])
        parts.append(f"{dates.min():%Y-%m} to {dates.max():%Y-%m}")
    return f"{extract.file_name}: valid; " + "; ".join(parts) + "."


def _load(args: argparse.Namespace):
    """The validated extract, or None after printing the validation report."""
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.loaders import load_extract
    from mhin_eval.schema import ValidationFailed

    if getattr(args, "recipe", None) or getattr(args, "more", None):
        from mhin_eval import cli_recipes

        return cli_recipes.load(args)
    catalogue = load_catalogue()
    try:
        return load_extract(args.file, catalogue=catalogue, sheet=args.sheet)
    except ValidationFailed as exc:
        print(exc.report(), file=sys.stderr)
        return None
    except Exception as exc:  # a reader library's own error on a malformed file: a refusal, not a traceback
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        print(f"{args.file}: the file cannot be read ({type(exc).__name__}: {detail}). Save the extract again "
              "from the program that made it, as CSV (UTF-8), .xlsx or Parquet.", file=sys.stderr)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    extract = _load(args)
    if extract is None:
        return EXIT_REFUSED
    print(_describe(extract))
    for note in extract.notes:
        print(f"  note: {note}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from mhin_eval.store import StoreError

    extract = _load(args)
    if extract is None:
        return EXIT_REFUSED
    try:
        store = _store(args)
        if args.replace_range or args.dry_run:
            _print_preview(store.preview(extract, replace_range=args.replace_range), args.replace_range)
        if args.dry_run:
            print("Dry run: nothing was stored.")
            return EXIT_OK
        result = store.ingest(extract, user=args.user, demo=args.demo, replace_range=args.replace_range)
    except StoreError as exc:
        print(f"{extract.file_name}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(result.summary())
    if not result.no_op and args.results:
        _refresh_results(store)
    return EXIT_OK


def _print_preview(detail: pd.DataFrame, replace_range: bool, limit: int = 20) -> None:
    """Counts of rows added, replaced, unchanged (and removed by a correction), then the rows removed."""
    counts = detail["change"].value_counts()
    kinds = ("added", "replaced", "unchanged", "removed") if replace_range else ("added", "replaced", "unchanged")
    print("Would change: " + ", ".join(f"{int(counts.get(k, 0)):,} {k}" for k in kinds) + ".")
    removed = detail[detail["change"] == "removed"]
    if len(removed):
        shown = removed.drop(columns=["change", *(c for c in removed.columns if c.startswith("new_"))])
        print(f"Stored rows the correction removes ({len(removed):,}):")
        print(shown.rename(columns=lambda c: c.removeprefix("old_")).head(limit).to_string(index=False))
        if len(removed) > limit:
            print(f"... and {len(removed) - limit:,} more.")


def _refresh_results(store) -> None:
    """Compute the results of record of the store's new data version (mhin_eval.recompute), with progress."""
    from mhin_eval import recompute

    def progress(project: str, done: int, total: int) -> None:
        if total:
            end = "\n" if done == total else ""
            print(f"\rResults of record, {project}: {done:,}/{total:,} fitted", end=end, file=sys.stderr, flush=True)

    print(recompute.refresh(store, store.catalogue, progress=progress).summary(), file=sys.stderr)


def cmd_history(args: argparse.Namespace) -> int:
    history = _store(args).history()
    if history.empty:
        print("No ingests yet.")
        return EXIT_OK
    status = []
    for row in history.itertuples():
        notes = []
        if row.no_op:
            notes.append("no-op")
        if row.demo:
            notes.append("demo")
        if not pd.isna(row.rolled_back_at):
            notes.append(f"rolled back {row.rolled_back_at:%Y-%m-%d %H:%M} by {row.rolled_back_by}")
        status.append(", ".join(notes))
    table = pd.DataFrame(
        {
            "id": history["ingest_id"],
            "time (UTC)": history["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "user": history["user"],
            "kind": history["kind"],
            "file": history["file_name"],
            "sites": history["sites"].fillna("-"),
            "added": history["rows_added"],
            "replaced": history["rows_replaced"],
            "unchanged": history["rows_unchanged"],
            "removed": history["rows_removed"],
            "sha256": history["sha256"].str[:12],
            "status": status,
        }
    )
    print(table.to_string(index=False))
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from mhin_eval.store import StoreError

    store = _store(args)
    try:
        result = store.rollback(args.ingest_id, user=args.user)
    except StoreError as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(result.summary())
    if args.results:
        _refresh_results(store)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from mhin_eval.demo import DEFAULT_OUT_DIR, write_demo

    out = Path(args.out) if args.out else DEFAULT_OUT_DIR
    written = write_demo(out)
    print(f"Wrote {len(written)} synthetic demo file(s) to {out}:")
    for path in written:
        print(f"  {path}")
    return EXIT_OK


def cmd_seed(args: argparse.Namespace) -> int:
    from mhin_eval.schema import ValidationFailed
    from mhin_eval.store import DEFAULT_DEMO_DIR, DEFAULT_PUBLISHED_DIR, StoreError, seed

    store = _store(args)
    try:
        results = seed(
            store,
            demo_dir=args.demo_dir or DEFAULT_DEMO_DIR,
            published_dir=args.published_dir or DEFAULT_PUBLISHED_DIR,
            results=False,
        )
    except ValidationFailed as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_REFUSED
    except StoreError as exc:
        print(f"seed refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if not results:
        print(f"Nothing to seed: the store in {store.location} already holds its data.")
    for result in results:
        print(result.summary())
    if results and args.results:
        _refresh_results(store)
    return EXIT_OK


def _add_results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-results", dest="results", action="store_false",
                        help="do not compute the results of record of the new data version now (the dashboard "
                             "then computes them when first shown)")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="folder of the store (default: $MHIN_DATA_DIR, else data/store)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mhin_eval",
        description="MHIN evaluation: check and store extracts, inspect and undo ingests, run analyses.",
        epilog="Exit codes: 0 ok, 1 validation failed or request refused (nothing changed), 2 usage error.",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MHIN_DATA_DIR"),
        help="folder of the store (default: $MHIN_DATA_DIR, else data/store)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from mhin_eval import cli_recipes

    def command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _add_common(sub)
        sub.set_defaults(handler=handler)
        return sub

    validate = command(
        "validate",
        "check a CSV, Excel or Parquet extract and print every problem; stores nothing",
        cmd_validate,
    )
    validate.add_argument("file", help="the extract to check")
    validate.add_argument("--sheet", help="Excel sheet to read when the workbook has several")
    cli_recipes.add_options(validate)

    ingest = command(
        "ingest", "validate an extract and store it in one all-or-nothing transaction", cmd_ingest
    )
    ingest.add_argument("file", help="the extract to store")
    ingest.add_argument("--sheet", help="Excel sheet to read when the workbook has several")
    cli_recipes.add_options(ingest)
    ingest.add_argument(
        "--user", default=_default_user(), help="name recorded in the history (default: login name)"
    )
    ingest.add_argument("--demo", action="store_true", help="mark the rows as synthetic demo data")
    ingest.add_argument(
        "--replace-range", action="store_true",
        help="a correction: replace each site's indicator over the months the file covers as a whole, removing "
             "stored rows in that range the file does not give again (listed first; rollback restores them)",
    )
    ingest.add_argument("--dry-run", action="store_true", help="show what would change and store nothing")
    _add_results_option(ingest)

    command(
        "history", "list every ingest: who, when, which file, rows added and replaced, rollbacks", cmd_history
    )

    rollback = command("rollback", "undo one ingest; earlier values come back exactly", cmd_rollback)
    rollback.add_argument("ingest_id", type=int, metavar="ID", help="ingest id as listed by `history`")
    rollback.add_argument("--user", default=_default_user(), help="name recorded in the history")
    _add_results_option(rollback)

    demo = command("demo", "write the synthetic demo extracts (byte-identical on every run)", cmd_demo)
    demo.add_argument("--out", help="output folder (default: data/demo)")

    seed = command(
        "seed", "fill an empty store with the demo extracts and the shipped published statistics", cmd_seed
    )
    seed.add_argument("--demo-dir", help="folder of demo extracts (default: data/demo)")
    seed.add_argument(
        "--published-dir", help="folder of published statistics files (default: data/published)"
    )
    _add_results_option(seed)

    from mhin_eval import cli_analyse, cli_export, cli_results, cli_series, cli_store

    cli_recipes.register(commands)
    cli_analyse.register(commands)
    cli_export.register(commands)
    cli_results.register(commands)
    cli_series.register(commands)
    cli_store.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A storage fault (disk full, folder not writable or missing) or a catalogue mistake
    is printed as its plain message, naming the folder or setting and the fix, and exits 1: no traceback."""
    from mhin_eval.catalogue import CatalogueError
    from mhin_eval.store import StoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or EXIT_OK)
    except (StoreError, CatalogueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
