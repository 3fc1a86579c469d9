"""`python -m mhin_eval analyse ...`: each analysis as a command printing one JSON document.

Each analysis registers one entry in COMMANDS: name -> (help, add_arguments, run). ``run`` takes
the parsed arguments and returns a JSON-able dict built from the same functions the pages use.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import pandas as pd

from mhin_eval.analysis.results import AnalysisError, to_jsonable

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], dict]
COMMANDS: dict[str, tuple[str, AddArguments, Run]] = {}


def read_input(path: str) -> pd.DataFrame:
    """Read the --input table (CSV, Excel or Parquet by extension)."""
    lower = path.lower()
    if lower.endswith((".xlsx", ".xls")):
        return pd.read_excel(path)
    if lower.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def register(subparsers) -> None:
    """Add `analyse <method>` sub-commands to the top-level CLI."""
    analyse = subparsers.add_parser("analyse", help="run one analysis on a CSV and print JSON")
    methods = analyse.add_subparsers(dest="method", required=True, metavar="METHOD")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        p = methods.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--input", required=True, help="input table (CSV, .xlsx or .parquet)")
        p.add_argument("--json", action="store_true", help="print the result as one JSON document (default)")
        add_arguments(p)
        p.set_defaults(handler=_runner(run))


def _runner(run: Run):
    def handler(args: argparse.Namespace) -> int:
        try:
            document = run(args)
        except (AnalysisError, KeyError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        json.dump(to_jsonable(document), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    return handler
