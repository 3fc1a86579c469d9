"""A recipe drafted from choices made on the upload page (which column is the period, the site, each
measure), tried on the file and, when it reads it, saved for the next month's file.

The draft is TOML text checked by ``recipes.load_recipe`` like any other recipe, so a saved recipe is
one a person can read and edit.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mhin_eval.catalogue import Catalogue
from mhin_eval.recipes import Recipe, RecipeError, load_recipe, recipe_names, saved_recipes_dir

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,48}$")


@dataclass(frozen=True)
class Draft:
    """The choices a mapping step collects; ``measures`` maps file column -> catalogue indicator id."""

    name: str
    project: str
    period_column: str
    site_column: str
    site_match: str = "id"
    measures: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    sheet: str | None = None
    drop_other_sites: bool = False
    description: str = ""
    filters: dict[str, str] = field(default_factory=dict)


def _q(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def draft_text(draft: Draft) -> str:
    """The recipe file a draft stands for."""
    lines = [f"name = {_q(draft.name)}", f"description = {_q(draft.description or 'Recipe made on the upload page')}",
             "", "[read]", f"header_row = {int(draft.header_row)}"]
    if draft.sheet:
        lines.append(f"sheet = {_q(draft.sheet)}")
    lines += ["", "[constants]", f"project = {_q(draft.project)}", "", "[period]",
              f"column = {_q(draft.period_column)}", "", "[site]", f"column = {_q(draft.site_column)}",
              f"match = {_q(draft.site_match)}", f"unmatched = {_q('drop' if draft.drop_other_sites else 'refuse')}"]
    if draft.filters:
        lines += ["", "[filters]", *(f"{_q(column)} = {_q(value)}" for column, value in draft.filters.items())]
    lines += ["", "[values]", 'missing = ["*", "-", ".."]']
    if draft.site_match == "acute_trust":
        lines.append('aggregate = "sum"  # a merged trust\'s predecessors are added up within a month')
    for column, indicator in draft.measures.items():
        lines += ["", "[[measures]]", f"column = {_q(column)}", f"indicator = {_q(indicator)}"]
    return "\n".join(lines) + "\n"


def draft_recipe(draft: Draft, catalogue: Catalogue, folder: Path) -> Recipe:
    """The draft written to ``folder`` and checked as a recipe (RecipeError names what is wrong)."""
    path = Path(folder) / "draft.toml"
    path.write_text(draft_text(draft), encoding="utf-8")
    return load_recipe(path, catalogue)


def save_recipe(draft: Draft, catalogue: Catalogue, folder: Path | None = None) -> Path:
    """Save a checked draft as <name>.toml among the saved recipes (``recipes.saved_recipes_dir``); a name
    already used or a bad name is refused."""
    folder = Path(folder or saved_recipes_dir())
    if not NAME.match(draft.name):
        raise RecipeError(f"{draft.name}.toml", None, "name", f"'{draft.name}' cannot name a recipe",
                          "Use 2 to 49 lower-case letters, digits and hyphens, e.g. trust-monthly-extract.")
    if draft.name in recipe_names() or (folder / f"{draft.name}.toml").exists():
        raise RecipeError(f"{draft.name}.toml", None, "name", f"There is already a recipe '{draft.name}'",
                          "Choose another name.")
    with tempfile.TemporaryDirectory(prefix="mhin-recipe-") as scratch:
        draft_recipe(draft, catalogue, Path(scratch))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{draft.name}.toml"
    path.write_text(draft_text(draft), encoding="utf-8")
    return path
