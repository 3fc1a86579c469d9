"""What the store holds, whatever the backend: each frame kind's columns and key, the settings that name the
store, its errors and the results of an ingest or rollback."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mhin_eval.catalogue import PROJECT_ROOT

DB_FILE = "mhin.duckdb"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "store"
#: ``postgresql://...``: the store is that PostgreSQL database instead of the embedded DuckDB file.
DATABASE_URL_ENV = "MHIN_DATABASE_URL"


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The store's folder: the one given, else ``MHIN_DATA_DIR``, else data/store."""
    return Path(data_dir or os.environ.get("MHIN_DATA_DIR") or DEFAULT_DATA_DIR).resolve()


def database_url(url: str | None = None) -> str | None:
    """The PostgreSQL URL the store uses: the one given, else ``MHIN_DATABASE_URL``; None for the embedded
    DuckDB store. Anything other than a ``postgresql://`` URL is refused with what to set."""
    url = (url or os.environ.get(DATABASE_URL_ENV) or "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{DATABASE_URL_ENV} must be a PostgreSQL URL such as "
                         "postgresql://user@host:5432/mhin (or unset, for the embedded store in the data folder).")
    return url


DEFAULT_DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEFAULT_PUBLISHED_DIR = PROJECT_ROOT / "data" / "published"
SCHEMA_VERSION = 1
SEED_USERS = ("demo", "seed")
#: Dates come back in the frames' datetime resolution (as ``schema.DATETIME_DTYPE``).
DATETIME_DTYPE = "datetime64[ns]"
EXTRACT_SUFFIXES = (".csv", ".xlsx", ".parquet")


#: Test hook only: when set to a file path, an ingest creates that file after writing its rows and
#: then sleeps inside the open transaction, so a test can SIGKILL the process deterministically.
PAUSE_HOOK_ENV = "MHIN_TEST_PAUSE_INGEST"


@dataclass(frozen=True)
class KindSpec:
    """Storage layout of one frame kind: ordered columns with SQL types (DuckDB's names;
    each dialect in sql.py names them for its database), and the key."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    value_label: str = "value"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @property
    def payload(self) -> tuple[str, ...]:
        return tuple(c for c in self.column_names if c not in self.key)

    def type_of(self, column: str) -> str:
        return dict(self.columns)[column]


KINDS: dict[str, KindSpec] = {
    "series": KindSpec(
        "series",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("indicator", "VARCHAR"),
            ("period", "DATE"),
            ("breakdown", "VARCHAR"),
            ("group", "VARCHAR"),
            ("value", "DOUBLE"),
            ("denominator", "DOUBLE"),
        ),
        ("project", "site", "indicator", "period", "breakdown", "group"),
    ),
    "participants": KindSpec(
        "participants",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("participant_id", "VARCHAR"),
            ("measure", "VARCHAR"),
            ("timepoint", "VARCHAR"),
            ("value", "DOUBLE"),
            ("date", "DATE"),
            ("delivery_mode", "VARCHAR"),
            ("ethnicity", "VARCHAR"),
            ("age_band", "VARCHAR"),
            ("sex", "VARCHAR"),
        ),
        ("project", "site", "participant_id", "measure", "timepoint"),
    ),
    "published": KindSpec(
        "published",
        (
            ("source", "VARCHAR"),
            ("period_start", "DATE"),
            ("period_end", "DATE"),
            ("period_type", "VARCHAR"),
            ("breakdown", "VARCHAR"),
            ("org_code", "VARCHAR"),
            ("org_name", "VARCHAR"),
            ("secondary_code", "VARCHAR"),
            ("secondary_name", "VARCHAR"),
            ("measure_id", "VARCHAR"),
            ("measure_name", "VARCHAR"),
            ("demographic", "VARCHAR"),
            ("group", "VARCHAR"),
            ("statistic", "VARCHAR"),
            ("value", "DOUBLE"),
            ("published_value", "VARCHAR"),
        ),
        (
            "source",
            "period_start",
            "period_end",
            "period_type",
            "breakdown",
            "org_code",
            "org_name",
            "secondary_code",
            "secondary_name",
            "measure_id",
            "measure_name",
            "demographic",
            "group",
            "statistic",
        ),
    ),
    "sustainability": KindSpec(
        "sustainability",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("instrument", "VARCHAR"),
            ("assessment_date", "DATE"),
            ("respondent", "VARCHAR"),
            ("item", "VARCHAR"),
            ("score", "DOUBLE"),
        ),
        ("project", "site", "instrument", "assessment_date", "respondent", "item"),
        value_label="score",
    ),
    "findings": KindSpec(
        "findings",
        (
            ("project", "VARCHAR"),
            ("site", "VARCHAR"),
            ("date", "DATE"),
            ("kind", "VARCHAR"),
            ("domain", "VARCHAR"),
            ("summary", "VARCHAR"),
            ("source", "VARCHAR"),
            ("quote", "VARCHAR"),
        ),
        ("project", "site", "date", "kind", "domain", "summary"),
        value_label="summary",
    ),
}
#: Columns a frame of each kind must carry; the others are optional and stored as missing.
REQUIRED = {
    "series": ("project", "site", "indicator", "period", "value"),
    "participants": ("project", "site", "participant_id", "measure", "timepoint", "value"),
    "published": ("source", "period_start", "measure_id", "value"),
    "sustainability": ("project", "site", "instrument", "assessment_date", "respondent", "item", "score"),
    "findings": ("project", "site", "date", "kind", "domain", "summary", "source"),
}
#: Kinds whose rows belong to a site (history, freshness and site scope apply to them).
SITE_KINDS = ("series", "participants", "sustainability", "findings")
#: The column holding each site kind's date, for freshness.
DATE_COLUMNS = {"series": "period", "participants": "date", "sustainability": "assessment_date", "findings": "date"}
#: A correction (``ingest(..., replace_range=True)``) replaces, per scope, the rows between the first and
#: last date the file gives: (scope columns, date column) per kind.
REPLACE_RANGES = {
    "series": (("project", "site", "indicator"), "period"),
    "sustainability": (("project", "site", "instrument"), "assessment_date"),
    "findings": (("project", "site"), "date"),
}


class StoreError(RuntimeError):
    """Base class of store failures; the message says what happened and what to do."""


class IngestRefused(StoreError, ValueError):
    """The extract cannot be stored as it is (nothing was written)."""


class RollbackRefused(StoreError, ValueError):
    """The rollback cannot be done (unknown or already rolled-back ingest; nothing was written)."""


class StoreBusy(StoreError):
    """Another process held the store longer than the wait allowed; try again."""


class StoreUnavailable(StoreError):
    """The store's folder or database cannot be read or written (missing, read-only, disk full); the message
    names the folder, the reason and the fix. Nothing was changed: every write is one transaction."""


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did. ``no_op`` is True when every row already held its value."""

    ingest_id: int
    kind: str
    file_name: str
    sha256: str
    rows_added: int
    rows_replaced: int
    rows_unchanged: int
    demo: bool = False
    no_op: bool = False
    same_as: int | None = None
    rows_removed: int = 0
    series_mapped: int = 0

    @property
    def rows(self) -> int:
        return self.rows_added + self.rows_replaced + self.rows_unchanged

    def _mapped_text(self) -> str:
        if not self.series_mapped:
            return ""
        return f" {self.series_mapped:,} site-series rows mapped from published measures were added or updated."

    def summary(self) -> str:
        if self.no_op:
            earlier = f" (same content as ingest #{self.same_as})" if self.same_as else ""
            return (
                f"No change: all {self.rows:,} {self.kind} rows of {self.file_name} are already stored"
                f"{earlier}; recorded as no-op ingest #{self.ingest_id}."
            )
        removed = f", {self.rows_removed:,} removed (replaced range)" if self.rows_removed else ""
        return (
            f"Ingested {self.file_name} as #{self.ingest_id} ({self.kind}): {self.rows_added:,} rows added, "
            f"{self.rows_replaced:,} replaced, {self.rows_unchanged:,} unchanged{removed}."
        ) + self._mapped_text()


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did: values restored to an earlier version, rows removed, rows a later ingest keeps."""

    ingest_id: int
    kind: str
    rows_restored: int
    rows_removed: int
    rows_kept_newer: int
    series_mapped: int = 0

    def summary(self) -> str:
        mapped = (f" {self.series_mapped:,} site-series rows mapped from its published measures were undone too."
                  if self.series_mapped else "")
        return (
            f"Rolled back ingest #{self.ingest_id} ({self.kind}): {self.rows_restored:,} rows restored to "
            f"their earlier values, {self.rows_removed:,} rows removed, {self.rows_kept_newer:,} rows keep "
            f"the values of a later ingest."
        ) + mapped

