"""`python -m mhin_eval recipes` and the `--recipe` option of `validate` and `ingest`.

A recipe (mhin_eval.recipes) reads a real NHS file that is not in the series layout; several files of one
recipe become ONE extract, so `ingest FILE... --recipe NAME` stores all of them or none.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_REFUSED = 0, 1


def register(subparsers) -> None:
    """Add the `recipes` sub-command to the top-level CLI."""
    p = subparsers.add_parser("recipes", help="list the mapping recipes (shipped in data/recipes, and saved from the "
                                              "upload page beside the store)",
                              description="List the recipes that map real NHS files into the data model.")
    p.set_defaults(handler=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """`--recipe` and further files for `validate` and `ingest`."""
    parser.add_argument("more", nargs="*", metavar="FILE", help="further files of the same recipe (with --recipe)")
    parser.add_argument("--recipe", help="read the file(s) with this recipe: a name (see `recipes`) or a .toml path")


def run(args: argparse.Namespace) -> int:
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.recipes import RecipeError, load_recipe, recipe_names, saved_recipe_names

    catalogue = load_catalogue()
    saved = set(saved_recipe_names())
    for name in recipe_names():
        try:
            recipe = load_recipe(name, catalogue)
        except RecipeError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        sheet = f" [sheet '{recipe.sheet}']" if recipe.sheet else ""
        print(f"{name}{sheet}{' (saved from the upload page)' if name in saved else ''}: {recipe.description}")
    return EXIT_OK


def load(args: argparse.Namespace):
    """The extract of every file given, read with ``args.recipe``; None after printing why not."""
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.recipes import RecipeError, apply_recipe_files, load_recipe
    from mhin_eval.schema import ValidationFailed

    files = [args.file, *getattr(args, "more", [])]
    if not args.recipe:
        print("Several files are read together only with --recipe NAME; give one file otherwise.", file=sys.stderr)
        return None
    catalogue = load_catalogue()
    try:
        return apply_recipe_files(files, load_recipe(args.recipe, catalogue), catalogue,
                                  sheet=getattr(args, "sheet", None))
    except RecipeError as exc:
        print(str(exc), file=sys.stderr)
    except ValidationFailed as exc:
        print(exc.report(), file=sys.stderr)
    return None
