"""An upload from start to finish, without the UI: read and validate a file, check it against the
uploader's sites, preview what it would change, ingest it, and record each step in the audit log.

A correction (``replace_range=True``) replaces each site's indicator over the months the file covers
as a whole: the preview then lists the stored rows it would remove (e.g. a group spelt differently
before), and the ingest removes them, so a corrected file leaves no stale rows behind.

A refused file changes nothing stored; the store's own transaction makes an accepted one all or nothing.
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mhin_eval.access import Access, Role
from mhin_eval.catalogue import Catalogue, CatalogueError
from mhin_eval.loaders import Extract, list_sheets, load_extract
from mhin_eval.recipes import RecipeError, apply_recipe, recognise
from mhin_eval.schema import Problem, ValidationFailed
from mhin_eval.store import IngestResult, Store, StoreBusy, StoreError, StoreUnavailable

#: Default upload limit; the catalogue's ``max_upload_mb`` setting overrides it.
DEFAULT_MAX_UPLOAD_MB = 200
log = logging.getLogger(__name__)
PROBLEM_COLUMNS = ["file", "row", "column", "value", "problem", "fix"]
#: What each extract kind's rows are counted by in the change preview (besides site).
PREVIEW_BY = {"series": ("indicator",), "participants": ("measure",)}


@dataclass(frozen=True)
class UploadCheck:
    """A checked upload: the validated extract (None when refused), every problem, and the preview."""

    file_name: str
    extract: Extract | None
    problems: tuple[Problem, ...] = ()
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    replaced: pd.DataFrame = field(default_factory=pd.DataFrame)
    removed: pd.DataFrame = field(default_factory=pd.DataFrame)
    replace_range: bool = False

    @property
    def ok(self) -> bool:
        return self.extract is not None and not self.problems

    def problems_frame(self) -> pd.DataFrame:
        """One row per problem (file, row, column, value, problem, fix), for the screen and as a download."""
        return pd.DataFrame(
            [(p.file, p.row, p.column, p.value, p.message, p.fix) for p in self.problems], columns=PROBLEM_COLUMNS
        )


def sheet_names(data: bytes) -> list[str]:
    """Sheet names of an uploaded workbook to choose from; none when it is not a readable workbook (the
    check then says what is wrong with it, instead of an error while the page offers sheets)."""
    if not data.startswith(b"PK"):
        return []
    try:
        return list_sheets(io.BytesIO(data))
    except Exception:  # zipfile, openpyxl and XML parsers raise many types for a damaged workbook
        return []


def max_upload_bytes(catalogue: Catalogue) -> int:
    return int(float(catalogue.setting("max_upload_mb", DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024)


def _refused(file_name: str, message: str, fix: str, *, row=None, column=None, value=None) -> UploadCheck:
    return UploadCheck(file_name, None, (Problem(file_name, row, column, value, message, fix),))


def scope_problems(extract: Extract, access: Access) -> list[Problem]:
    """Rows for sites the uploader may not upload (site users upload for their own sites only);
    published statistics are loaded by the evaluation team only."""
    if not access.can_upload:
        return [Problem(extract.file_name, None, None, None, f"A {access.role} user cannot upload data",
                        "Send the file to the MHIN evaluation team.")]
    if extract.kind == "published" and access.role is not Role.EVALUATOR:
        return [Problem(extract.file_name, None, None, None, "Published national statistics are loaded by the "
                        "evaluation team only", "Send the file to the MHIN evaluation team.")]
    if access.sites is None or "site" not in extract.frame.columns:
        return []
    problems = []
    sites = extract.frame["site"].astype(str)
    for site in sorted(set(sites) - set(access.sites)):
        first = int(sites.index[sites == site][0])
        count = int((sites == site).sum())
        problems.append(Problem(
            extract.file_name, first + 2, "site", site,
            f"You can upload data for {', '.join(access.sites)} only; {count:,} row(s) are for another site "
            "(first shown)",
            f"Remove the rows of site '{site}' or ask that site to upload them.",
        ))
    return problems


def preview_changes(store: Store, extract: Extract, *, replace_range: bool = False
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rows added / replaced / unchanged (and removed, for a correction) per site and indicator or
    measure, with the months covered; every replaced value with its old and new value; every stored row
    a correction would remove, with its value)."""
    detail = store.preview(extract, replace_range=replace_range)
    by = [c for c in ("site", *PREVIEW_BY.get(extract.kind, ())) if c in detail.columns]
    time = "period" if "period" in detail.columns else None
    if not by:
        by = ["change"]
    grouped = detail.groupby(by, dropna=False)
    summary = pd.DataFrame({
        "added": grouped["change"].apply(lambda c: int((c == "added").sum())),
        "replaced": grouped["change"].apply(lambda c: int((c == "replaced").sum())),
        "unchanged": grouped["change"].apply(lambda c: int((c == "unchanged").sum())),
    })
    if replace_range:
        summary["removed"] = grouped["change"].apply(lambda c: int((c == "removed").sum()))
    if time:
        summary["first month"] = grouped[time].min().dt.strftime("%b %Y")
        summary["last month"] = grouped[time].max().dt.strftime("%b %Y")
    replaced = detail[detail["change"] == "replaced"].drop(columns="change")
    removed = detail[detail["change"] == "removed"]
    removed = removed.drop(columns=["change", *(c for c in removed.columns if c.startswith("new_"))])
    removed = removed.rename(columns=lambda c: c.removeprefix("old_"))
    return summary.reset_index(), replaced.reset_index(drop=True), removed.reset_index(drop=True)


def sheet_rows(data: bytes) -> dict[str, int]:
    """Each sheet of a workbook with its number of rows (as the workbook records them), in workbook order."""
    import io

    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        counts = {}
        for sheet in workbook.worksheets:
            rows = sheet.max_row
            if rows is None:
                rows = sum(1 for _ in sheet.iter_rows(values_only=True))
            counts[sheet.title] = int(rows or 0)
        return counts
    finally:
        workbook.close()


def data_sheet(counts: dict[str, int]) -> str | None:
    """The sheet that holds the data: the one with most rows (a title or notes sheet has few)."""
    return max(counts, key=counts.get) if counts else None


def known_layout(data: bytes, file_name: str, catalogue: Catalogue, sheet: str | None = None) -> str | None:
    """The shipped recipe whose expected columns the file's header holds, or None."""
    suffix = Path(file_name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory(prefix="mhin-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return recognise(path, catalogue, file_name=file_name, sheet=sheet)


def file_columns(data: bytes, file_name: str, sheet: str | None = None, header_row: int = 1) -> list[str]:
    """The column names on ``header_row`` of the file (of ``sheet`` for a workbook), for a mapping step."""
    from mhin_eval.recipes import Recipe, read_table

    recipe = Recipe("columns", "", Path("columns.toml"), {"read": {"header_row": int(header_row)}}, "")
    suffix = Path(file_name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory(prefix="mhin-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        table, _sha, _kind = read_table(path, recipe, file_name, sheet, max_rows=int(header_row) + 1)
    return [str(c) for c in table.columns if str(c)]


def _read(path: Path, file_name: str, catalogue: Catalogue, sheet: str | None, recipe: str | None) -> Extract:
    if recipe is None:
        return load_extract(path, catalogue=catalogue, sheet=sheet, file_name=file_name)
    try:
        return apply_recipe(path, recipe, catalogue, file_name=file_name, sheet=sheet)
    except RecipeError as exc:
        raise ValidationFailed([Problem(file_name, None, None, recipe, f"The recipe cannot be used: {exc}",
                                        exc.fix)], file_name) from exc


def check_upload(data: bytes, file_name: str, *, access: Access, store: Store, catalogue: Catalogue,
                 sheet: str | None = None, replace_range: bool = False, recipe: str | None = None) -> UploadCheck:
    """Validate an uploaded file (read with ``recipe`` when given) and preview it (as a correction with
    ``replace_range``); nothing is stored. Every refusal is recorded in the audit log."""
    limit = max_upload_bytes(catalogue)
    if len(data) > limit:
        check = _refused(file_name, f"The file is {len(data) / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB "
                         "upload limit", "Split the extract by year or site, or save it as Parquet, which is smaller.")
    else:
        suffix = Path(file_name).suffix.lower() or ".csv"
        with tempfile.TemporaryDirectory(prefix="mhin-upload-") as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                extract = _read(path, file_name, catalogue, sheet, recipe)
            except ValidationFailed as exc:
                check = UploadCheck(file_name, None, tuple(exc.problems))
            except (StoreError, CatalogueError):
                raise
            except Exception as exc:  # a reader library's own error on a malformed file: a refusal, not a crash
                log.warning("upload %s could not be read", file_name, exc_info=True)
                check = _refused(file_name, f"The file cannot be read as {suffix} ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'})",
                                 "Save the extract again from the program that made it, as CSV (UTF-8), .xlsx or "
                                 "Parquet, and upload it again.")
            else:
                problems = scope_problems(extract, access)
                if problems:
                    check = UploadCheck(file_name, None, tuple(problems))
                else:
                    try:
                        changes, replaced, removed = preview_changes(store, extract, replace_range=replace_range)
                    except (StoreUnavailable, StoreBusy):
                        raise  # the store's fault, not the file's: shown as such (mhin_eval.ui.faults)
                    except StoreError as exc:
                        check = _refused(file_name, str(exc), "Correct the file and upload it again.")
                    else:
                        check = UploadCheck(file_name, extract, (), changes, replaced, removed, replace_range)
    if not check.ok:
        store.record_event("upload refused", access.user, f"{file_name}: {len(check.problems)} problem(s)")
    return check


def refresh_results(store: Store, catalogue: Catalogue | None, progress=None):
    """Compute the results of record of the new data version (mhin_eval.recompute) so that no page fits a
    model; ``progress(project, done, total)`` follows it. Returns the RefreshResult, or None without a catalogue
    or when it failed (the pages then compute the records on first read)."""
    if catalogue is None:
        return None
    from mhin_eval import recompute

    try:
        return recompute.refresh(store, catalogue, progress=progress)
    except Exception as exc:  # the ingest is stored; records not computed now are computed when first read
        store.record_event("results of record", "system", f"not computed after the change: {exc}")
        return None


def confirm_upload(check: UploadCheck, *, access: Access, store: Store, catalogue: Catalogue | None = None,
                   progress=None) -> IngestResult:
    """Ingest a checked upload (re-checking the uploader's sites), record it in the audit log, and compute the
    new version's results of record when given the ``catalogue`` (:func:`refresh_results`)."""
    if not check.ok:
        raise ValueError("only an upload that passed its checks can be ingested")
    problems = scope_problems(check.extract, access)
    if problems:
        raise PermissionError(str(problems[0]))
    result = store.ingest(check.extract, user=access.user, replace_range=check.replace_range)
    store.record_event("upload", access.user, result.summary())
    if not result.no_op:
        refresh_results(store, catalogue, progress)
    return result


def rollback_ingest(ingest_id: int, *, access: Access, store: Store, catalogue: Catalogue | None = None,
                    progress=None):
    """Undo an ingest (evaluation team only), record it in the audit log, and compute the new version's
    results of record when given the ``catalogue``."""
    if not access.can_rollback:
        raise PermissionError("only the evaluation team can roll back an ingest")
    result = store.rollback(ingest_id, user=access.user)
    store.record_event("rollback", access.user, result.summary())
    refresh_results(store, catalogue, progress)
    return result
