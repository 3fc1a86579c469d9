"""The catalogue: projects, sites and indicators, read from ``data/catalogue.toml``.

Everything project-specific lives in that file so that a new project, site or
indicator needs no new Python.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
DEFAULT_CATALOGUE = PROJECT_ROOT / "data" / "catalogue.toml"

SERIES_KINDS = ("count", "rate", "mean", "proportion", "score")
ITS_FAMILIES = ("gaussian", "poisson", "quasipoisson", "negbin")
PARTICIPANT_MODELS = ("paired-mean", "rate-ratio", "mcnemar")


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and field."""


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    short_name: str
    summary: str = ""
    outcomes: str = ""


@dataclass(frozen=True)
class Site:
    id: str
    project: str
    name: str
    region: str = ""
    go_live: dt.date | None = None
    role: str = "intervention"
    comparison_sites: tuple[str, ...] = ()
    trust_code: str = ""
    trust_name: str = ""
    icb_code: str = ""
    fidelity_score: int | None = None
    delivery: str = ""

    @property
    def is_comparison(self) -> bool:
        return self.role == "comparison"


@dataclass(frozen=True)
class Indicator:
    id: str
    project: str
    label: str
    unit: str
    source: str
    kind: str
    better: str
    default_model: str
    denominator: str = ""
    rate_per: float = 1
    breakdowns: tuple[str, ...] = ()
    reference_group: str = ""
    funnel_stage: int | None = None
    reliable_change: float | None = None
    max_value: float | None = None
    headline: bool = False

    @property
    def is_count(self) -> bool:
        """Counts and rates are analysed as counts (Poisson family, denominator as offset)."""
        return self.kind in ("count", "rate")

    @property
    def lower_is_better(self) -> bool:
        return self.better == "lower"


@dataclass(frozen=True)
class Catalogue:
    projects: tuple[Project, ...]
    sites: tuple[Site, ...]
    indicators: tuple[Indicator, ...]
    settings: dict = field(default_factory=dict)
    published_measures: tuple[dict, ...] = ()
    published_sources: tuple[dict, ...] = ()
    path: Path | None = None

    def project(self, project_id: str) -> Project:
        for p in self.projects:
            if p.id == project_id:
                return p
        raise KeyError(f"Unknown project '{project_id}'. Known: {', '.join(self.project_ids)}")

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(f"Unknown site '{site_id}'. Known: {', '.join(s.id for s in self.sites)}")

    def indicator(self, project_id: str, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.project == project_id and i.id == indicator_id:
                return i
        raise KeyError(f"Unknown indicator '{indicator_id}' for project '{project_id}'")

    @property
    def project_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.projects)

    def sites_of(self, project_id: str, include_comparison: bool = False) -> tuple[Site, ...]:
        return tuple(
            s for s in self.sites if s.project == project_id and (include_comparison or not s.is_comparison)
        )

    def indicators_of(self, project_id: str, source: str | None = None) -> tuple[Indicator, ...]:
        return tuple(
            i for i in self.indicators if i.project == project_id and (source is None or i.source == source)
        )

    def setting(self, name: str, default=None):
        return self.settings.get(name, default)


def _date(value, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogueError(f"{where}: '{value}' is not a date; write it as YYYY-MM-DD") from exc


def _build(cls, entry: dict, where: str, required: tuple[str, ...]):
    missing = [k for k in required if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(entry) - known)
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = dict(entry)
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)


def parse_catalogue(data: dict, path: Path | None = None) -> Catalogue:
    """Build and check a catalogue from parsed TOML; errors name the entry and field."""
    projects = tuple(
        _build(Project, e, f"projects[{n}]", ("id", "name", "short_name"))
        for n, e in enumerate(data.get("projects", []))
    )
    sites = []
    for n, e in enumerate(data.get("sites", [])):
        e = dict(e)
        e["go_live"] = _date(e.get("go_live"), f"sites[{n}] ({e.get('id')}).go_live")
        sites.append(_build(Site, e, f"sites[{n}]", ("id", "project", "name")))
    indicators = tuple(
        _build(
            Indicator,
            e,
            f"indicators[{n}] ({e.get('id')})",
            ("id", "project", "label", "unit", "source", "kind", "better", "default_model"),
        )
        for n, e in enumerate(data.get("indicators", []))
    )
    cat = Catalogue(
        projects=projects,
        sites=tuple(sites),
        indicators=indicators,
        settings=dict(data.get("settings", {})),
        published_measures=tuple(data.get("published_measures", [])),
        published_sources=tuple(data.get("published_sources", [])),
        path=path,
    )
    _check(cat)
    return cat


def _check(cat: Catalogue) -> None:
    ids = [p.id for p in cat.projects]
    if len(set(ids)) != len(ids):
        raise CatalogueError("projects: duplicate project id")
    site_ids = [s.id for s in cat.sites]
    if len(set(site_ids)) != len(site_ids):
        raise CatalogueError("sites: duplicate site id")
    for s in cat.sites:
        if s.project not in ids:
            raise CatalogueError(f"site '{s.id}': unknown project '{s.project}'")
        if s.role not in ("intervention", "comparison"):
            raise CatalogueError(f"site '{s.id}': role must be 'intervention' or 'comparison'")
        if s.role == "intervention" and s.go_live is None:
            raise CatalogueError(f"site '{s.id}': an intervention site needs a go_live date")
        for c in s.comparison_sites:
            if c not in site_ids:
                raise CatalogueError(f"site '{s.id}': unknown comparison site '{c}'")
    seen = set()
    for i in cat.indicators:
        where = f"indicator '{i.project}/{i.id}'"
        if (i.project, i.id) in seen:
            raise CatalogueError(f"{where}: duplicate")
        seen.add((i.project, i.id))
        if i.project not in ids:
            raise CatalogueError(f"{where}: unknown project '{i.project}'")
        if i.source not in ("series", "participant"):
            raise CatalogueError(f"{where}: source must be 'series' or 'participant'")
        if i.kind not in SERIES_KINDS:
            raise CatalogueError(f"{where}: kind must be one of {', '.join(SERIES_KINDS)}")
        if i.better not in ("lower", "higher"):
            raise CatalogueError(f"{where}: better must be 'lower' or 'higher'")
        allowed = ITS_FAMILIES if i.source == "series" else PARTICIPANT_MODELS
        if i.default_model not in allowed:
            raise CatalogueError(f"{where}: default_model must be one of {', '.join(allowed)}")


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Read the catalogue (``MHIN_CATALOGUE`` overrides the default path)."""
    path = Path(path or os.environ.get("MHIN_CATALOGUE") or DEFAULT_CATALOGUE)
    return _load_cached(path.resolve(), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: int) -> Catalogue:
    with open(path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: not valid TOML: {exc}") from exc
    return parse_catalogue(data, path)
