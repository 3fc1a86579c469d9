"""Upload page helpers for real NHS files: the sheet of a workbook (listed with its row counts, the one with
the data chosen first) and the recipe that reads a known layout (proposed when its columns match)."""

from __future__ import annotations

import streamlit as st

from mhin_eval import uploads
from mhin_eval.recipes import load_recipe, recipe_names

OWN_COLUMNS = "its own columns (series, participant or NHS published layout)"


def choose_sheet(data: bytes, file_id: str) -> str | None:
    """For a workbook of several sheets: a choice of sheet, each with its rows, the data sheet first chosen."""
    try:
        counts = uploads.sheet_rows(data)
    except Exception:  # a damaged workbook: the check that follows refuses it with its fix
        return None
    if len(counts) < 2:
        return None
    names = list(counts)
    return st.selectbox("Sheet", names, index=names.index(uploads.data_sheet(counts)), key=f"upload-sheet-{file_id}",
                        format_func=lambda s: f"{s} ({counts[s]:,} rows)",
                        help="The sheet with the most rows is chosen first: a title or notes sheet has few.")


def choose_recipe(data: bytes, file_name: str, file_id: str, catalogue, sheet: str | None) -> str | None:
    """The recipe to read the file with (None: its own columns), proposing the one whose columns match."""
    cache = st.session_state.setdefault("upload-known-layout", {})
    if (file_id, sheet) not in cache:
        try:
            cache[(file_id, sheet)] = uploads.known_layout(data, file_name, catalogue, sheet)
        except Exception:  # an unreadable file: the check that follows refuses it with its fix
            cache[(file_id, sheet)] = None
    proposed = cache[(file_id, sheet)]
    choices = [None, *recipe_names()]
    descriptions = {name: load_recipe(name, catalogue).description for name in recipe_names()}
    if proposed:
        st.info(f"This file has the layout of a known NHS file: it is read with the recipe "
                f"**{proposed}** ({descriptions[proposed]}).", icon=":material/auto_fix_high:")
    return st.selectbox(
        "Read the file with", choices, index=choices.index(proposed), key=f"upload-recipe-{file_id}-{sheet}",
        format_func=lambda r: OWN_COLUMNS if r is None else f"recipe {r}: {descriptions[r]}",
        help="A recipe (data/recipes) maps a real NHS file (wide, organisation codes, merged trusts) into "
             "the monthly series of the catalogue's sites.")
