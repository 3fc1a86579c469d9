"""Mapping recipes: how one kind of real file (header row anywhere or none, wide, organisation codes or
names, merged trusts, suppression codes) becomes series rows, written once as a small TOML file.

A recipe (data/recipes/<name>.toml) says where the header is, which rows to keep, which column holds the
period, how a site is found (catalogue id, trust or ICB code, trust name, acute trust), and which columns
are measures (each one an indicator: wide to long). ``apply_recipe`` builds a raw series frame and passes
it through the one series validation (``schema.prepare_series``); every problem is reported against the
original file's row and column. A recipe with a mistake is refused with its file, line and a fix.

Organisation successions (data/organisations.csv: ``successor``, ``successor_from``) make a site's series
follow a merger: predecessors are summed before the merger month, the successor counts from it, and a
row of either on the wrong side of the merger is left out (never both in one month).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mhin_eval.catalogue import PROJECT_ROOT, Catalogue, load_catalogue
from mhin_eval.filetypes import decode_text, file_type
from mhin_eval.periods import read_dates
from mhin_eval.schema import (
    ALL,
    SERIES_KEY,
    Problem,
    ValidationFailed,
    as_text,
    cell_text,
    parse_numbers,
    prepare_series,
)

RECIPES_DIR = PROJECT_ROOT / "data" / "recipes"
ORGANISATIONS_CSV = PROJECT_ROOT / "data" / "organisations.csv"
SITE_MATCHES = ("id", "trust_code", "icb_code", "trust_name", "acute_trust")
DEFAULT_MISSING_CODES = ("*", "-", "..", ".", "x", "c")

#: Allowed keys of each recipe table (the top level is "").
KEYS = {
    "": {"name", "description", "kind", "read", "constants", "filters", "period", "site", "indicator",
         "value", "denominator", "group", "measures", "values"},
    "read": {"header_row", "columns", "sheet"},
    "period": {"column", "format"},
    "site": {"column", "match", "unmatched"},
    "indicator": {"column", "map"},
    "value": {"column", "scale"},
    "denominator": {"column"},
    "group": {"column", "breakdown"},
    "measures": {"column", "indicator", "scale", "denominator"},
    "values": {"missing", "aggregate"},
}
DATE_DIRECTIVES = set("dmyYbBHMSfjaApzZ%")


class RecipeError(ValueError):
    """A recipe that cannot be used: names the recipe file, its line and key, and the fix."""

    def __init__(self, path: Path | str, line: int | None, key: str, message: str, fix: str):
        self.path, self.line, self.key, self.fix = str(path), line, key, fix
        where = f"{Path(self.path).name}" + (f", line {line}" if line else "") + (f", key '{key}'" if key else "")
        super().__init__(f"{where}: {message}. Fix: {fix}")


@dataclass(frozen=True)
class Recipe:
    """A parsed, checked recipe; ``data`` is the TOML as read, ``text`` its source (for line numbers)."""

    name: str
    description: str
    path: Path
    data: dict
    text: str

    def table(self, name: str) -> dict:
        return dict(self.data.get(name) or {})

    def line_of(self, table: str, key: str) -> int | None:
        return _line_of(self.text, table, key)

    @property
    def sheet(self) -> str | None:
        return self.table("read").get("sheet")

    def expected_columns(self) -> tuple[str, ...]:
        """Every file column the recipe names (used to recognise a file's layout)."""
        return tuple(dict.fromkeys(column for column, _where, _line in self.column_keys()))

    def column_keys(self) -> list[tuple[str, str, int | None]]:
        """(file column, recipe key naming it, its line) for every column the recipe names."""
        found = [(str(c), f"filters.{c}", self.line_of("filters", c)) for c in self.table("filters")]
        for table in ("period", "site", "indicator", "value", "denominator", "group"):
            if self.table(table).get("column"):
                found.append((self.table(table)["column"], f"{table}.column", self.line_of(table, "column")))
        for n, measure in enumerate(self.data.get("measures") or []):
            found.append((measure["column"], f"measures[{n}].column", _nth_line(self.text, "measures", n, "column")))
            if measure.get("denominator"):
                found.append((measure["denominator"], f"measures[{n}].denominator",
                              _nth_line(self.text, "measures", n, "denominator")))
        return found


def _line_of(text: str, table: str, key: str) -> int | None:
    """Line (1-based) of ``key = ...`` inside ``[table]`` / ``[[table]]`` (or a table header when key is '')."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?", line)
        if header:
            current = header.group(1)
            if current == table and not key:
                return number
            continue
        if current == table and re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


# --------------------------------------------------------------------------- reading and checking recipes


def saved_recipes_dir() -> Path:
    """Where recipes saved from the upload page live: beside the store (``<data dir>/recipes``), so the shipped
    folder holds only reviewed recipes and a saved one travels with the data it reads."""
    from mhin_eval.store import resolve_data_dir

    return resolve_data_dir() / "recipes"


def saved_recipe_names() -> list[str]:
    """Recipes saved from the upload page, by name."""
    return sorted(p.stem for p in saved_recipes_dir().glob("*.toml"))


def recipe_names() -> list[str]:
    """Every recipe by name: the ones saved from the upload page first (a user's own recipe for a file is
    proposed before a shipped one that also matches), then the shipped ones (data/recipes/*.toml)."""
    saved = saved_recipe_names()
    return saved + sorted(p.stem for p in RECIPES_DIR.glob("*.toml") if p.stem not in saved)


def _recipe_path(name: str) -> Path:
    saved = saved_recipes_dir() / f"{name}.toml"
    return saved if saved.is_file() else RECIPES_DIR / f"{name}.toml"


def load_recipe(name_or_path, catalogue: Catalogue | None = None) -> Recipe:
    """A shipped recipe by name, or a recipe file by path; RecipeError when it is unknown or wrong."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = _recipe_path(str(name_or_path))
    if not path.is_file():
        raise RecipeError(path, None, "", f"There is no recipe '{name_or_path}'",
                          f"Use a recipe by name ({', '.join(recipe_names()) or 'none'}) or the path of a .toml file.")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RecipeError(path, int(match.group(1)) if match else None, "", f"The recipe is not valid TOML ({exc})",
                          "Write each setting as key = \"value\" under its [table].") from exc
    recipe = Recipe(str(data.get("name") or path.stem), str(data.get("description", "")), path, data, text)
    check_recipe(recipe, catalogue or load_catalogue())
    return recipe


def _fail(recipe: Recipe, table: str, key: str, message: str, fix: str):
    line = recipe.line_of(table, key) if key else recipe.line_of(table, "")
    raise RecipeError(recipe.path, line, f"{table}.{key}" if table and key else (key or table), message, fix)


def check_recipe(recipe: Recipe, catalogue: Catalogue) -> None:
    """Unknown keys, missing parts, bad site matches, date formats and catalogue ids are refused."""
    data = recipe.data
    for table, allowed in KEYS.items():
        entries = [data] if table == "" else data.get(table) or []
        entries = entries if isinstance(entries, list) else [entries]
        for entry in entries:
            if not isinstance(entry, dict):
                _fail(recipe, "", table, f"'{table}' must be a table", f"Write it as [{table}] with keys under it.")
            if table in ("constants", "filters"):
                continue
            for key in entry:
                if key not in allowed and not (table == "indicator" and key == "map"):
                    _fail(recipe, table, key, f"Unknown key '{key}'" + (f" in [{table}]" if table else ""),
                          f"Use only: {', '.join(sorted(allowed))}.")
    if data.get("kind", "series") != "series":
        _fail(recipe, "", "kind", f"Recipes make series rows, not '{data.get('kind')}'", 'Write kind = "series".')
    read = recipe.table("read")
    if "header_row" in read and (not isinstance(read["header_row"], int) or read["header_row"] < 1):
        _fail(recipe, "read", "header_row", "header_row must be a row number, 1 or more",
              "Give the spreadsheet row that holds the column names, e.g. header_row = 8.")
    if "columns" in read and "header_row" in read:
        _fail(recipe, "read", "columns", "Give either header_row or columns, not both",
              "Use columns = [...] for a file without a header row, header_row otherwise.")
    for table in ("period", "site"):
        if not recipe.table(table).get("column"):
            _fail(recipe, table, "column", f"[{table}] needs the file column that holds the {table}",
                  f'Add [{table}] with column = "..." naming that column.')
    match = recipe.table("site").get("match", "id")
    if match not in SITE_MATCHES:
        _fail(recipe, "site", "match", f"Unknown site match '{match}'", f"Use one of: {', '.join(SITE_MATCHES)}.")
    if recipe.table("site").get("unmatched", "refuse") not in ("refuse", "drop"):
        _fail(recipe, "site", "unmatched", "unmatched must be 'refuse' or 'drop'",
              'Write unmatched = "drop" to leave out organisations that are no site, or "refuse".')
    _check_date_format(recipe)
    measures = data.get("measures") or []
    if bool(measures) == bool(recipe.table("indicator") or recipe.table("value")):
        _fail(recipe, "", "measures", "Give either [[measures]] (one column per indicator) or [indicator] and [value]",
              "A wide file lists [[measures]] with column and indicator; a long one has [indicator] and [value].")
    project = recipe.table("constants").get("project")
    if project is not None and project not in catalogue.project_ids:
        _fail(recipe, "constants", "project", f"Unknown project '{project}'",
              f"Use one of: {', '.join(catalogue.project_ids)}.")
    known = {i.id for i in catalogue.indicators if i.source == "series" and project in (None, i.project)}
    for n, measure in enumerate(measures):
        for key in ("column", "indicator"):
            if not measure.get(key):
                raise RecipeError(recipe.path, _nth_line(recipe.text, "measures", n), f"measures[{n}].{key}",
                                  f"A measure needs '{key}'", 'Write column = "file column", indicator = "catalogue id".')
        if measure["indicator"] not in known:
            raise RecipeError(recipe.path, _nth_line(recipe.text, "measures", n, "indicator"), f"measures[{n}].indicator",
                              f"Unknown series indicator '{measure['indicator']}'",
                              f"Use a series indicator of the catalogue: {', '.join(sorted(known))}.")
    if recipe.table("values").get("aggregate", "none") not in ("none", "sum"):
        _fail(recipe, "values", "aggregate", "aggregate must be 'sum' or 'none'",
              'Write aggregate = "sum" to add up rows of one site and month (several trusts, predecessors).')


def _nth_line(text: str, table: str, n: int, key: str = "") -> int | None:
    """Line of ``key`` in the n-th ``[[table]]`` entry (its header line when the key is not written)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"\s*\[\[\s*{table}\s*\]\]", line)]
    if n >= len(starts):
        return None
    for i in range(starts[n] + 1, len(lines)):
        if re.match(r"\s*\[", lines[i]):
            break
        if key and re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return starts[n] + 1


def _check_date_format(recipe: Recipe) -> None:
    fmt = recipe.table("period").get("format")
    if fmt is None:
        return
    directives = set(re.findall(r"%(.)", fmt))
    bad = directives - DATE_DIRECTIVES
    if bad or not directives & set("yYbB"):
        _fail(recipe, "period", "format", f"'{fmt}' is not a date format that names the year and month",
              "Write it with strftime codes, e.g. \"%d/%m/%Y\" for 01/04/2023 or \"%Y-%m\" for 2023-04; "
              "or leave format out to read dates day first as in NHS files.")


# --------------------------------------------------------------------------- organisations and sites


def load_organisations(path: Path | str | None = None) -> pd.DataFrame:
    """The shipped NHS organisation codes: code, name, successor, successor_from (month of the merger)."""
    frame = pd.read_csv(path or ORGANISATIONS_CSV, dtype=str, keep_default_na=False)
    frame["successor_from"] = pd.to_datetime(frame["successor_from"].replace("", None))
    return frame


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).strip()


def site_codes(catalogue: Catalogue, match: str, project: str | None,
               organisations: pd.DataFrame) -> dict[str, list[str]]:
    """File value (normalised) -> site ids, for the recipe's way of naming a site."""
    lookup: dict[str, list[str]] = {}
    names = dict(zip(organisations["code"], organisations["name"], strict=False))
    for site in catalogue.sites:
        if project is not None and site.project != project:
            continue
        if match == "id":
            values = [site.id]
        elif match == "acute_trust":
            values = list(site.acute_trusts)
        elif match == "trust_name":
            values = [v for v in (site.trust_name, names.get(site.trust_code, "")) if v]
        else:
            values = [getattr(site, match)] if getattr(site, match) else []
        for value in values:
            lookup.setdefault(_key(value), []).append(site.id)
    if match in ("trust_code", "acute_trust"):
        for row in organisations[organisations["successor"] != ""].itertuples():
            for site_id in lookup.get(_key(row.successor), []):
                lookup.setdefault(_key(row.code), []).append(site_id)
    return {k: sorted(set(v)) for k, v in lookup.items()}


def successors(organisations: pd.DataFrame) -> dict[str, str]:
    """Code -> the code it counts under today (a predecessor's successor, followed through later mergers)."""
    step = {row.code: row.successor for row in organisations[organisations["successor"] != ""].itertuples()}
    out = {}
    for code in step:
        seen, current = {code}, step[code]
        while current in step and current not in seen:
            seen.add(current)
            current = step[current]
        out[code] = current
    return out


def succession_mask(codes: pd.Series, periods: pd.Series, organisations: pd.DataFrame) -> pd.Series:
    """Rows outside their organisation's life: a predecessor from its merger month, a successor before it.
    ``codes`` are normalised as the recipes match them (lower case)."""
    wrong = pd.Series(False, index=codes.index)
    merged = organisations[organisations["successor"] != ""]
    for row in merged.itertuples():
        wrong |= (codes == _key(row.code)) & (periods >= row.successor_from)
        wrong |= (codes == _key(row.successor)) & (periods < row.successor_from)
    return wrong


# --------------------------------------------------------------------------- reading files


def read_table(path, recipe: Recipe, file_name: str | None = None, sheet: str | None = None,
               max_rows: int | None = None) -> tuple[pd.DataFrame, str, str]:
    """(cells with the file's column names, sha256, format); the index is the file's row number.
    ``sheet`` overrides the recipe's sheet; ``max_rows`` reads only the first rows (recognising a layout)."""
    path = Path(path)
    file_name = file_name or path.name
    data = path.read_bytes()
    kind = file_type(data, file_name, Path(file_name).suffix.lower())
    read = recipe.table("read")
    if kind == "xlsx":
        rows = _sheet_rows(path, file_name, sheet or recipe.sheet, max_rows)
    elif kind == "csv":
        text, _encoding = decode_text(data, file_name)
        first = text.split("\n", 1)[0]
        delimiter = max((",", ";", "\t"), key=first.count)
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows = [row for _n, row in zip(range(max_rows), reader, strict=False)] if max_rows else list(reader)
    else:
        raise ValidationFailed([Problem(file_name, None, None, None, f"Recipes read CSV and Excel files, not {kind}",
                                        "Export the data as CSV.")], file_name)
    header_row = 0 if "columns" in read else int(read.get("header_row", 1))
    if header_row > len(rows):
        raise ValidationFailed([Problem(file_name, None, None, None,
                                        f"The file has {len(rows):,} row(s), fewer than the recipe's header_row "
                                        f"({header_row})", f"Check that this is a '{recipe.name}' file.")], file_name)
    names = list(read["columns"]) if "columns" in read else [cell_text(c) for c in rows[header_row - 1]]
    width = max((len(r) for r in rows), default=0)
    names += [f"(column {i + 1})" for i in range(len(names), width)]
    body = [list(r) + [None] * (width - len(r)) for r in rows[header_row:]]
    frame = pd.DataFrame(body, columns=names[:width] if width else names, dtype=object)
    frame.index = np.arange(header_row + 1, header_row + 1 + len(frame))
    text = frame.apply(as_text) if len(frame) else frame
    frame = frame[(text != "").any(axis=1)] if len(frame) else frame
    return frame, hashlib.sha256(data).hexdigest(), kind


def _sheet_rows(path: Path, file_name: str, sheet: str | None, max_rows: int | None = None) -> list[list]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is None:
            sheet = workbook.sheetnames[0]
        if sheet not in workbook.sheetnames:
            raise ValidationFailed([Problem(file_name, None, None, sheet, f"There is no sheet named '{sheet}'",
                                            f"Use a workbook with that sheet, or set [read] sheet to one of: "
                                            f"{', '.join(workbook.sheetnames)}.")], file_name)
        return [list(r) for r in workbook[sheet].iter_rows(max_row=max_rows, values_only=True)]
    finally:
        workbook.close()


# --------------------------------------------------------------------------- applying a recipe


@dataclass
class Mapped:
    """Raw series rows made by a recipe (before validation), with each row's file row and source columns."""

    frame: pd.DataFrame
    rows: np.ndarray
    columns: dict[str, str]
    notes: list[str]
    problems: list[Problem]
    value_columns: np.ndarray | None = None


def map_file(path, recipe: Recipe, catalogue: Catalogue, *, file_name: str | None = None, sheet: str | None = None,
             organisations: pd.DataFrame | None = None) -> tuple[Mapped, str, str]:
    """The file's rows as raw series rows (project, site, indicator, period, value, ...)."""
    file_name = file_name or Path(path).name
    table, sha, kind = read_table(path, recipe, file_name, sheet)
    organisations = load_organisations() if organisations is None else organisations
    _require_columns(table, recipe, file_name)
    notes: list[str] = []
    problems: list[Problem] = []
    for column, wanted in recipe.table("filters").items():
        allowed = {cell_text(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
        keep = as_text(table[column]).isin(allowed)
        if (~keep).any():
            notes.append(f"{int((~keep).sum()):,} row(s) left out: {column} is not {' or '.join(sorted(allowed))}.")
        table = table[keep]
    site_spec = recipe.table("site")
    match = site_spec.get("match", "id")
    project = recipe.table("constants").get("project")
    lookup = site_codes(catalogue, match, project, organisations)
    codes = as_text(table[site_spec["column"]]).map(_key)
    sites = codes.map(lambda c: lookup.get(c, []))
    unmatched = sites.str.len() == 0
    if site_spec.get("unmatched", "refuse") == "drop":
        if unmatched.any():
            notes.append(f"{int(unmatched.sum()):,} row(s) left out: their {site_spec['column']} is no site of the catalogue.")
        table, codes, sites = table[~unmatched], codes[~unmatched], sites[~unmatched]
    else:
        sites = sites.where(~unmatched, as_text(table[site_spec["column"]]).map(lambda v: [v]))
    period_text = _period_text(table[recipe.table("period")["column"]], recipe.table("period").get("format"))
    if match in ("trust_code", "acute_trust"):
        wrong = succession_mask(codes, read_dates(period_text).values, organisations)
        if wrong.any():
            notes.append(f"{int(wrong.sum()):,} row(s) left out: an organisation's row from after it merged, or a "
                         "successor's row from before the merger (each month counts one or the other).")
        table, sites, period_text = table[~wrong], sites[~wrong], period_text[~wrong]
    long = _long_rows(table, recipe, sites, period_text, catalogue)
    mapped = _to_series(long, recipe, notes, problems, file_name)
    return mapped, sha, kind


def _require_columns(table: pd.DataFrame, recipe: Recipe, file_name: str) -> None:
    present = {str(c) for c in table.columns}
    missing = [(c, key, line) for c, key, line in recipe.column_keys() if c not in present]
    if missing:
        header = int(recipe.table("read").get("header_row", 1))
        shown = ", ".join(repr(str(c)) for c in list(table.columns)[:15])
        where = "; ".join(f"'{c}' ({recipe.path.name}" + (f" line {line}" if line else "") + f", {key})"
                          for c, key, line in missing)
        raise ValidationFailed([Problem(
            file_name, header, missing[0][0], None,
            f"The recipe '{recipe.name}' names column(s) the file does not have: {where}. The file's columns: {shown}",
            f"Check that this is a '{recipe.name}' file and that [read] header_row / sheet point at the column names, "
            f"or correct the column name at that line of {recipe.path.name}.")], file_name)


def _period_text(column: pd.Series, fmt: str | None) -> pd.Series:
    text = as_text(column)
    if not fmt:
        return text
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), text)


def _long_rows(table, recipe, sites, period_text, catalogue) -> pd.DataFrame:
    """One row per file row, site and measure: text cells plus the file row and source columns."""
    measures = recipe.data.get("measures") or [{
        "column": recipe.table("value")["column"], "indicator": None,
        "scale": recipe.table("value").get("scale", 1), "denominator": recipe.table("denominator").get("column"),
    }]
    group = recipe.table("group")
    frames = []
    for measure in measures:
        part = pd.DataFrame({
            "row": table.index, "site": sites.to_numpy(), "period": period_text.to_numpy(),
            "value": table[measure["column"]].to_numpy(), "value_column": measure["column"],
            "scale": float(measure.get("scale", 1)),
        })
        if measure["indicator"] is None:
            indicator = as_text(table[recipe.table("indicator")["column"]])
            mapping = recipe.table("indicator").get("map")
            part["indicator"] = (indicator.replace(mapping) if mapping else indicator).to_numpy()
        else:
            part["indicator"] = measure["indicator"]
        den = measure.get("denominator")
        part["denominator"] = table[den].to_numpy() if den else None
        part["denominator_column"] = den or ""
        part["breakdown"] = group.get("breakdown", ALL)
        part["group"] = as_text(table[group["column"]]).to_numpy() if group.get("column") else ALL
        frames.append(part)
    long = pd.concat(frames, ignore_index=True).explode("site", ignore_index=True)
    constants = {k: cell_text(v) for k, v in recipe.table("constants").items()}
    for key, value in constants.items():
        long[key] = value
    if "project" not in constants:
        owner = {s.id: s.project for s in catalogue.sites}
        long["project"] = long["site"].map(owner).fillna("")
    return long


def _numbers(column: pd.Series, codes: set[str]) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(values, missing, not-a-number, given as a suppression code) of a column of cells."""
    text = as_text(column)
    coded = text.isin(codes)
    values, missing, bad = parse_numbers(text.where(~coded, ""))
    return values, missing | coded, bad, coded


def _to_series(long, recipe, notes, problems, file_name) -> Mapped:
    codes = set(recipe.table("values").get("missing", DEFAULT_MISSING_CODES))
    value, _missing, bad, coded = _numbers(long["value"], codes)
    if coded.any():
        notes.append(f"{int(coded.sum()):,} value(s) given as a suppression code ({', '.join(sorted(codes))}) "
                     "are kept as missing, not zero.")
    value_text = as_text(long["value"])
    for i in np.flatnonzero(bad.to_numpy())[:50]:
        problems.append(Problem(file_name, int(long["row"].iat[i]), long["value_column"].iat[i], value_text.iat[i],
                                "This is text where a number is expected",
                                f"Write a plain number, or add the code to [values] missing in {recipe.path.name}."))
    long["value"] = value * long["scale"]
    den, _dm, den_bad, _dc = _numbers(long["denominator"].fillna(""), codes)
    long["denominator"] = den
    if recipe.table("values").get("aggregate", "none") == "sum":
        key = [c for c in SERIES_KEY]
        grouped = long.groupby(key, sort=True, dropna=False)
        summed = grouped.agg(value=("value", lambda s: s.sum() if s.notna().all() else np.nan),
                             denominator=("denominator", lambda s: s.sum() if s.notna().all() else np.nan),
                             row=("row", "min"), value_column=("value_column", "first"),
                             denominator_column=("denominator_column", "first"))
        if len(summed) < len(long):
            notes.append(f"{len(long) - len(summed):,} row(s) added to another of the same site and month "
                         "(several organisations or predecessors of one site).")
        long = summed.reset_index()
    frame = long[["project", "site", "indicator", "period", "value", "denominator", "breakdown", "group"]].copy()
    frame["value"] = frame["value"].map(lambda v: "" if pd.isna(v) else repr(float(v)).removesuffix(".0"))
    frame["denominator"] = frame["denominator"].map(lambda v: "" if pd.isna(v) else repr(float(v)).removesuffix(".0"))
    columns = {"site": recipe.table("site")["column"], "period": recipe.table("period")["column"]}
    if recipe.table("indicator").get("column"):
        columns["indicator"] = recipe.table("indicator")["column"]
    if recipe.table("group").get("column"):
        columns["group"] = recipe.table("group")["column"]
    return Mapped(frame.reset_index(drop=True), long["row"].to_numpy(), columns, notes, problems,
                  long["value_column"].to_numpy())


def _located(problem: Problem, mapped: Mapped) -> Problem:
    """A problem of the mapped frame, located at the original file's row and column."""
    row, column = problem.row, problem.column
    if row is not None and row >= 2 and row - 2 < len(mapped.rows):
        index = row - 2
        row = int(mapped.rows[index])
        if column == "value":
            column = str(mapped.value_columns[index])
    elif row == 1:
        row = None
    column = mapped.columns.get(column, column) if column != "value" or row is None else column
    return Problem(problem.file, row, column, problem.value, problem.message, problem.fix)


def apply_recipe(path, recipe: Recipe | str, catalogue: Catalogue | None = None, *,
                 file_name: str | None = None, sheet: str | None = None):
    """One file through its recipe and the series validation: a loaders.Extract, or ValidationFailed."""
    from mhin_eval.loaders import Extract

    catalogue = catalogue or load_catalogue()
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe, catalogue)
    file_name = file_name or Path(path).name
    mapped, sha, kind = map_file(path, recipe, catalogue, file_name=file_name, sheet=sheet)
    prepared = prepare_series(mapped.frame, catalogue, file_name)
    problems = mapped.problems + [_located(p, mapped) for p in prepared.problems]
    if problems:
        raise ValidationFailed(problems, file_name)
    notes = (f"Read with recipe '{recipe.name}'.", *mapped.notes, *prepared.notes)
    return Extract("series", prepared.frame, file_name, sha, kind, tuple(notes))


def apply_recipe_files(paths, recipe: Recipe | str, catalogue: Catalogue | None = None, *, sheet: str | None = None):
    """Several files of one recipe as ONE extract (one all-or-nothing ingest); every file's problems at once."""
    from mhin_eval.loaders import Extract

    catalogue = catalogue or load_catalogue()
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe, catalogue)
    extracts, problems = [], []
    for path in paths:
        try:
            extracts.append(apply_recipe(path, recipe, catalogue, sheet=sheet))
        except ValidationFailed as exc:
            problems += exc.problems
    names = [Path(p).name for p in paths]
    label = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more ({recipe.name})"
    if problems:
        raise ValidationFailed(problems, label)
    frame = pd.concat([e.frame for e in extracts], ignore_index=True)
    twice = frame.duplicated(list(SERIES_KEY), keep=False)
    if twice.any():
        first = frame[twice].iloc[0]
        raise ValidationFailed([Problem(label, None, "period", f"{first['period']:%Y-%m}",
                                        f"Site '{first['site']}', indicator '{first['indicator']}' has month "
                                        f"{first['period']:%Y-%m} in more than one file",
                                        "Give each month in one file only.")], label)
    sha = hashlib.sha256("".join(e.sha256 for e in extracts).encode()).hexdigest()
    notes = tuple(n if len(extracts) == 1 else f"{e.file_name}: {n}" for e in extracts for n in e.notes)
    return Extract("series", frame, label, sha, extracts[0].source_format, notes)


def recognise(path, catalogue: Catalogue | None = None, *, file_name: str | None = None,
              sheet: str | None = None) -> str | None:
    """The recipe whose columns all appear in the file's header (on its sheet and header row), or None; a
    recipe saved from the upload page is tried before the shipped ones."""
    catalogue = catalogue or load_catalogue()
    file_name = file_name or Path(path).name
    is_workbook = Path(file_name).suffix.lower() == ".xlsx"
    for name in recipe_names():
        try:
            recipe = load_recipe(name, catalogue)
        except RecipeError:  # a saved recipe the catalogue no longer fits: listed with its fix, never proposed
            continue
        if recipe.sheet and not is_workbook:
            continue
        rows = int(recipe.table("read").get("header_row", 1)) + 1
        try:
            table, _sha, _kind = read_table(path, recipe, file_name, sheet, max_rows=rows)
        except (ValidationFailed, ValueError, KeyError, OSError):
            continue
        if set(recipe.expected_columns()) <= {str(c) for c in table.columns}:
            return name
    return None
