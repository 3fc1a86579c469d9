"""Upload page helpers for real NHS files: the sheet of a workbook (listed with its row counts, the one with
the data chosen first) and the recipe that reads a known layout (proposed when its columns match)."""

from __future__ import annotations

import streamlit as st

from mhin_eval import uploads
from mhin_eval.recipes import RecipeError, load_recipe, recipe_names, saved_recipe_names
from mhin_eval.text import plain

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
    saved = set(saved_recipe_names())
    descriptions = {}
    for name in recipe_names():
        try:
            descriptions[name] = load_recipe(name, catalogue).description
        except RecipeError as exc:
            st.warning(f"The recipe {plain(name)} cannot be used until it is fixed:", icon=":material/build:")
            st.text(str(exc))
    choices = [None, *descriptions]
    proposed = proposed if proposed in descriptions else None
    if proposed:
        known = "a recipe saved here before" if proposed in saved else "a known NHS file"
        st.info(f"This file has the layout of {known}: it is read with the recipe "
                f"**{plain(proposed)}** ({plain(descriptions[proposed])}).", icon=":material/auto_fix_high:")
    return st.selectbox(
        "Read the file with", choices, index=choices.index(proposed), key=f"upload-recipe-{file_id}-{sheet}",
        format_func=lambda r: OWN_COLUMNS if r is None else (
            f"recipe {r}{' (saved here)' if r in saved else ''}: {descriptions[r]}"),
        help="A recipe (data/recipes) maps a real NHS file (wide, organisation codes, merged trusts) into "
             "the monthly series of the catalogue's sites.")


MATCH_WORDS = {
    "id": "site ids of the catalogue (hull, sheffield ...)",
    "trust_code": "the site's trust code (RV9, TAH ...)",
    "trust_name": "the site's trust name",
    "icb_code": "the site's ICB code",
    "acute_trust": "the code of the site's acute trust (A&E data)",
}


def mapping_step(data: bytes, file_name: str, file_id: str, catalogue, sheet: str | None, can_save: bool) -> str | None:
    """For a file of no known layout: choose which column is the period, the site and each measure. Returns
    the path of the drafted recipe when the user asks to read the file with it (None otherwise)."""
    import hashlib
    import tempfile
    from pathlib import Path

    from mhin_eval.recipe_drafts import Draft, draft_text, save_recipe
    from mhin_eval.recipes import RecipeError

    key = f"upload-map-{file_id}-{sheet}"
    with st.expander("Map this file's columns (make a recipe)"):
        header_row = st.number_input("Row with the column names", 1, 100, 1, key=f"{key}-header")
        try:
            columns = uploads.file_columns(data, file_name, sheet, int(header_row))
        except Exception:  # an unreadable file: the check below refuses it with its fix
            columns = []
        if not columns:
            st.info("No column names found on that row.")
            return None
        project = st.selectbox("Project", list(catalogue.project_ids), key=f"{key}-project",
                               format_func=lambda p: catalogue.project(p).name)
        period = st.selectbox("Column with the month", columns, key=f"{key}-period")
        site = st.selectbox("Column naming the site", columns, key=f"{key}-site")
        match = st.selectbox("The site column holds", list(MATCH_WORDS), format_func=MATCH_WORDS.get,
                             key=f"{key}-match")
        drop = st.checkbox("Leave out rows of organisations that are no site", key=f"{key}-drop")
        keep_column = st.selectbox("Keep only rows where the column", [None, *columns], key=f"{key}-filter",
                                   format_func=lambda c: "(keep every row)" if c is None else c,
                                   help="For a file that mixes kinds of row, e.g. A&E type 1 departments only.")
        keep_value = st.text_input("equals", key=f"{key}-filter-value", disabled=keep_column is None,
                                   placeholder="e.g. 1")
        filters = {keep_column: keep_value.strip()} if keep_column and keep_value.strip() else {}
        chosen = st.multiselect("Columns holding a measure (one indicator each)", columns, key=f"{key}-measures")
        indicators = [i.id for i in catalogue.indicators_of(project, "series", include_context=True)]
        measures = {}
        for n, column in enumerate(chosen):
            st.caption(f"Column {plain(column)} holds:")
            measures[column] = st.selectbox("Indicator", indicators, key=f"{key}-indicator-{n}",
                                            format_func=lambda i: catalogue.indicator(project, i).label)
        name = st.text_input("Recipe name", key=f"{key}-name", placeholder="e.g. trust-monthly-extract")
        draft = Draft(name or "draft", project, period, site, match, measures, int(header_row), sheet, drop,
                      filters=filters)
        with st.popover("The recipe as text"):
            st.code(draft_text(draft), language="toml")
        use = st.toggle("Read the file with this mapping", key=f"{key}-use", disabled=not measures)
        if can_save and name and measures and st.button("Save the recipe for next time", key=f"{key}-save"):
            try:
                path = save_recipe(draft, catalogue)
            except RecipeError as exc:
                st.error("The recipe was not saved:", icon=":material/block:")
                st.text(str(exc))
            else:
                st.success(f"Saved as {path.name}: it is proposed for files with these columns.")
    if not use:
        return None
    folder = st.session_state.setdefault("upload-draft-dir", tempfile.mkdtemp(prefix="mhin-draft-"))
    text = draft_text(draft)
    path = Path(folder) / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)
