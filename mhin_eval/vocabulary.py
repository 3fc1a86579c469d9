"""Group vocabularies: the groups each breakdown may hold, read from the catalogue's ``[[breakdowns]]``.

Group labels reach us typed by hand or exported by different systems ("Black British",
"BLACK OR BLACK BRITISH", "N - Black or Black British - African"). Two spellings of one group stored
side by side would both be current and count the same people twice in a site total, so every label
is mapped to its catalogue name at validation, and a label the catalogue does not know is refused
with the accepted groups listed.

Matching ignores case, spacing, punctuation and "&" vs "and". A group is also recognised by its
code alone ("A") and by its code followed by its label ("A White - British"). Labels listed as
``combined`` (e.g. "BME") pool several groups and are refused. A breakdown the catalogue lists no
groups for keeps free-text labels.

A file may give a breakdown's higher-level groups ("White") or its detailed categories ("White -
British") for a site and indicator, not both: a total over both would count people twice.
"""

from __future__ import annotations

import re

import pandas as pd

from mhin_eval.catalogue import Breakdown, Catalogue, CatalogueError
from mhin_eval.columns import differs, elementwise, is_categorical

ALL = "all"


def normalise_label(text: str) -> str:
    """The matching form of a label: lower case, '&' as 'and', punctuation as spaces, single spaces."""
    text = str(text).lower().replace("&", " and ")
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(text.split())


def spellings(breakdown: Breakdown) -> dict[str, str]:
    """Every accepted spelling (in matching form) and the canonical label it stands for.

    Raises CatalogueError when one spelling would name two groups.
    """
    out: dict[str, str] = {}

    def add(spelling: str, label: str) -> None:
        key = normalise_label(spelling)
        if not key:
            return
        if out.get(key, label) != label:
            raise CatalogueError(f"breakdown '{breakdown.id}': '{spelling}' would name both '{out[key]}' and "
                                 f"'{label}'; keep it as an alias of one group only")
        out[key] = label

    for group in breakdown.groups:
        add(group.label, group.label)
        for alias in group.aliases:
            add(alias, group.label)
        if group.code:
            add(group.code, group.label)
            add(f"{group.code} {group.label}", group.label)
    for pooled in breakdown.combined:
        if normalise_label(pooled) in out:
            raise CatalogueError(f"breakdown '{breakdown.id}': '{pooled}' is listed both as combined and as a group")
    return out


def accepted_text(breakdown: Breakdown) -> str:
    """The accepted groups as a fix lists them: higher-level groups first, then detailed categories."""
    top = list(breakdown.top_level)
    detailed = [f"{g.code} {g.label}".strip() for g in breakdown.groups if g.parent]
    text = "; ".join(f"'{t}'" for t in top)
    if detailed:
        text += " (or the detailed categories " + ", ".join(f"'{d}'" for d in detailed) + ")"
    return text


def _rows(index) -> list[int]:
    return [int(i) + 2 for i in index]


def _row_words(rows: list[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:5])
    return f"rows {shown}" + (f" and {len(rows) - 5:,} more" if len(rows) > 5 else "")


def canonical_groups(breakdown: pd.Series, group: pd.Series, catalogue: Catalogue, col, notes: list[str],
                     *, column: str = "group") -> pd.Series:
    """``group`` with every label of a catalogued breakdown replaced by its canonical name.

    Unknown and pooled labels are added to ``col`` (schema's problem collector) with file, row,
    column, value and the accepted groups; each respelling is summarised in ``notes``.
    """
    out = group.copy()
    for name in sorted(pd.unique(breakdown[breakdown != ALL])):
        vocabulary = catalogue.breakdown(name)
        if vocabulary is None:
            continue
        rows = (breakdown == name) & (group != ALL)
        mapped = _map_column(group[rows], vocabulary, col, notes, column)
        if is_categorical(out):
            out = _set_categories(out, rows, mapped)
        else:
            out.loc[rows] = mapped
    return out


def _set_categories(out: pd.Series, rows: pd.Series, mapped: pd.Series) -> pd.Series:
    """``out`` (a category column) with ``mapped`` (a category column) in ``rows``; categories kept sorted."""
    labels = pd.Index(sorted(set(out.cat.categories) | set(mapped.cat.categories)), dtype="str")
    codes = out.cat.set_categories(labels).cat.codes.to_numpy().copy()
    codes[rows.to_numpy()] = mapped.cat.set_categories(labels).cat.codes.to_numpy()
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels), index=out.index, name=out.name)


def canonical_attribute(values: pd.Series, vocabulary: Breakdown, col, notes: list[str], column: str) -> pd.Series:
    """A participant attribute column (e.g. ``ethnicity``) in canonical labels; empty cells stay missing."""
    given = values.notna() & (values.astype("str").str.strip() != "")
    out = values.copy()
    out.loc[given] = _map_column(values[given].astype("str").str.strip(), vocabulary, col, notes, column)
    return out


def _map_column(values: pd.Series, vocabulary: Breakdown, col, notes: list[str], column: str) -> pd.Series:
    known = spellings(vocabulary)
    pooled = {normalise_label(p) for p in vocabulary.combined}
    unique = pd.unique(values)
    lookup = {v: known.get(normalise_label(v)) for v in unique}
    mapped = elementwise(values, lambda v: v.map(lookup))
    accepted = accepted_text(vocabulary)
    for value, idx in values[mapped.isna()].groupby(values[mapped.isna()], sort=True).groups.items():
        rows = _rows(idx)
        also = f" ({_row_words(rows)})" if len(rows) > 1 else ""
        if normalise_label(value) in pooled:
            col.add(f"'{value}' pools several {vocabulary.label.lower()} groups{also}",
                    f"Give each group its own row, using one of: {accepted}.",
                    row=rows[0], column=column, value=value)
        else:
            col.add(f"'{value}' is not a group of breakdown '{vocabulary.id}'{also}",
                    f"Use one of the accepted groups: {accepted}. A new group or spelling is added to the "
                    "catalogue's [[breakdowns]] first.", row=rows[0], column=column, value=value)
    respelt = mapped.notna() & differs(mapped, values)
    for (value, label), idx in pd.DataFrame({"v": values[respelt], "l": mapped[respelt]}).groupby(
        ["v", "l"], sort=True
    ).groups.items():
        notes.append(f"'{value}' in column '{column}' was read as the catalogue's group '{label}' "
                     f"({_row_words(_rows(idx))}).")
    return elementwise(values, lambda v: v.map(lookup).where(v.map(lookup).notna(), v))


def mixed_levels(frame: pd.DataFrame, catalogue: Catalogue, col, *, by=("site", "indicator")) -> None:
    """Refuses a site and indicator whose rows give both higher-level groups and detailed categories
    of one breakdown (a total over both would count people twice)."""
    for name in sorted(pd.unique(frame["breakdown"][frame["breakdown"] != ALL])):
        vocabulary = catalogue.breakdown(name)
        if vocabulary is None or len(vocabulary.top_level) == len(vocabulary.groups):
            continue
        detailed = {g.label for g in vocabulary.groups if g.parent}
        rows = frame[(frame["breakdown"] == name) & frame["group"].isin(vocabulary.labels)]
        levels = rows["group"].isin(detailed)
        keys = [rows[c] for c in by]
        summary = levels.groupby(keys, sort=True).agg(["all", "any"])
        first = levels.index.to_series()[levels].groupby([k[levels] for k in keys], sort=True).first()
        for key in summary.index[summary["any"] & ~summary["all"]]:
            first_detailed = first[key]
            col.add(f"{' / '.join(str(k) for k in key)}: breakdown '{name}' mixes higher-level groups and "
                    "detailed categories", "Give either the higher-level groups (e.g. 'White') or the detailed "
                    "categories (e.g. 'White - British') for a site and indicator, not both; a total over both "
                    "would count people twice.", row=_rows([first_detailed])[0], column="group",
                    value=rows.loc[first_detailed, "group"])


def with_groups(catalogue: Catalogue, breakdown_id: str, labels) -> Catalogue:
    """The catalogue with extra top-level groups in one breakdown: for synthetic extracts in benchmarks
    and tests whose group labels are invented ("Group 0001")."""
    from dataclasses import replace

    from mhin_eval.catalogue import Group

    extended = tuple(
        replace(b, groups=b.groups + tuple(Group(label) for label in labels)) if b.id == breakdown_id else b
        for b in catalogue.breakdowns
    )
    return replace(catalogue, breakdowns=extended)
