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
DOMAIN_SCORES = ("mean",)
TOTAL_SCORES = ("mean-of-domains", "mean-of-items")
#: Stated scales of a proportion given without a denominator: a share out of 1 or a percentage.
SHARE_SCALES = ("0-1", "0-100")


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
class DonorPool:
    """Where a site's synthetic control draws its donors (DESIGN.md item 8).

    ``source`` is ``"demo"`` (the demo's synthetic donor series, data/demo/donors/) or
    ``"published:<measure id>"`` (the other organisations in a published measure); ``indicator`` is the
    site indicator the donors stand in for; ``include``/``exclude`` narrow the organisations.
    """

    source: str
    indicator: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def published_measure(self) -> str:
        return self.source.partition(":")[2] if self.source.startswith("published:") else ""


def _donor_pool(entry, where: str) -> DonorPool:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: write the donor pool as a [sites.donor_pool] table")
    pool = _build(DonorPool, entry, where, ("source", "indicator"))
    if pool.source != "demo" and not pool.published_measure:
        raise CatalogueError(f"{where}: source must be \"demo\" or \"published:<measure id>\", not '{pool.source}'")
    return pool


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
    acute_trusts: tuple[str, ...] = ()
    fidelity_score: int | None = None
    delivery: str = ""
    donor_pool: DonorPool | None = None

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
    scale: str = ""
    context: bool = False

    @property
    def is_share(self) -> bool:
        """A proportion: modelled and shown as a share of its denominator or of its stated scale."""
        return self.kind == "proportion"

    @property
    def is_count(self) -> bool:
        """Counts and rates are analysed as counts (Poisson family, denominator as offset)."""
        return self.kind in ("count", "rate")

    @property
    def lower_is_better(self) -> bool:
        return self.better == "lower"


@dataclass(frozen=True)
class Group:
    """One group of a breakdown: its canonical label, optional code, the higher-level group it belongs
    to (``parent``) and other spellings met in real files (``aliases``)."""

    label: str
    code: str = ""
    parent: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Breakdown:
    """The groups a breakdown may hold (mhin_eval.vocabulary maps spellings to them).

    ``combined`` lists labels that pool several groups (e.g. "BME"): refused, because rows of
    pooled groups cannot be added to or compared with rows of single groups.
    """

    id: str
    label: str
    groups: tuple[Group, ...]
    combined: tuple[str, ...] = ()
    source: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(g.label for g in self.groups)

    @property
    def top_level(self) -> tuple[str, ...]:
        """Labels of the groups that belong to no higher-level group."""
        return tuple(g.label for g in self.groups if not g.parent)


@dataclass(frozen=True)
class InstrumentDomain:
    """One domain (subscale) of an assessment instrument and the ids of its items."""

    id: str
    label: str
    items: tuple[str, ...]
    item_labels: tuple[str, ...] = ()
    description: str = ""

    def item_label(self, item: str) -> str:
        """The item's label from the catalogue, else a neutral "<domain> item <n>" (no invented wording)."""
        n = self.items.index(item)
        return self.item_labels[n] if self.item_labels else f"{self.label} item {n + 1}"


@dataclass(frozen=True)
class Instrument:
    """A sustainability self-assessment instrument: items on a scale, grouped into domains.

    ``domain_score`` says how a respondent's domain score is formed from the items they answered
    ("mean"); ``total_score`` how their total is formed ("mean-of-domains" or "mean-of-items").
    """

    id: str
    name: str
    short_name: str
    scale_min: float
    scale_max: float
    domains: tuple[InstrumentDomain, ...]
    domain_score: str = "mean"
    total_score: str = "mean-of-domains"
    whole_numbers: bool = True
    citation: str = ""
    url: str = ""
    item_wording: str = ""
    description: str = ""

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(item for d in self.domains for item in d.items)

    def domain_of(self, item: str) -> InstrumentDomain:
        for d in self.domains:
            if item in d.items:
                return d
        raise KeyError(f"Unknown item '{item}' of instrument '{self.id}'")

    def domain(self, domain_id: str) -> InstrumentDomain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise KeyError(f"Unknown domain '{domain_id}' of instrument '{self.id}'")

    @property
    def scale_text(self) -> str:
        return f"{self.scale_min:g} to {self.scale_max:g}"


@dataclass(frozen=True)
class FindingsSpec:
    """Allowed values of the implementation-findings register (kinds, domains, sources)."""

    kinds: tuple[str, ...] = ("facilitator", "barrier")
    domains: tuple[str, ...] = ()
    domain_labels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    framework: str = ""

    def domain_label(self, domain: str) -> str:
        if domain in self.domains and self.domain_labels:
            return self.domain_labels[self.domains.index(domain)]
        return domain.capitalize()


@dataclass(frozen=True)
class Catalogue:
    projects: tuple[Project, ...]
    sites: tuple[Site, ...]
    indicators: tuple[Indicator, ...]
    settings: dict = field(default_factory=dict)
    published_measures: tuple[dict, ...] = ()
    published_sources: tuple[dict, ...] = ()
    path: Path | None = None
    instruments: tuple[Instrument, ...] = ()
    findings: FindingsSpec = field(default_factory=FindingsSpec)
    breakdowns: tuple[Breakdown, ...] = ()

    def breakdown(self, breakdown_id: str) -> Breakdown | None:
        """The breakdown's vocabulary, or None when the catalogue lists no groups for it."""
        for b in self.breakdowns:
            if b.id == breakdown_id:
                return b
        return None

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

    def indicators_of(self, project_id: str, source: str | None = None,
                      include_context: bool = False) -> tuple[Indicator, ...]:
        """A project's indicators; context series read from real NHS files (``context``) only when asked for:
        they are validated and stored, not analysed as outcomes (and the demo invents none)."""
        return tuple(
            i for i in self.indicators if i.project == project_id and (source is None or i.source == source)
            and (include_context or not i.context)
        )

    def setting(self, name: str, default=None):
        return self.settings.get(name, default)

    def instrument(self, instrument_id: str) -> Instrument:
        for i in self.instruments:
            if i.id == instrument_id:
                return i
        known = ", ".join(i.id for i in self.instruments) or "(none)"
        raise KeyError(f"Unknown instrument '{instrument_id}'. Known: {known}")

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.instruments)


def _date(value, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    from mhin_eval.periods import PeriodError, parse_period

    try:
        return parse_period(str(value)).date()
    except PeriodError as exc:
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
        if "donor_pool" in e:
            e["donor_pool"] = _donor_pool(e["donor_pool"], f"sites[{n}] ({e.get('id')}).donor_pool")
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
        instruments=tuple(_instrument(e, n) for n, e in enumerate(data.get("instruments", []))),
        findings=_build(FindingsSpec, dict(data.get("findings", {})), "findings", ()),
        breakdowns=tuple(_breakdown(e, n) for n, e in enumerate(data.get("breakdowns", []))),
    )
    _check(cat)
    _check_instruments(cat)
    _check_breakdowns(cat)
    return cat


def _instrument(entry: dict, n: int) -> Instrument:
    where = f"instruments[{n}] ({entry.get('id')})"
    entry = dict(entry)
    domains = entry.pop("domains", None)
    if not domains:
        raise CatalogueError(f"{where}: needs at least one [[instruments.domains]] entry")
    entry["domains"] = tuple(
        _build(InstrumentDomain, d, f"{where}.domains[{k}] ({d.get('id')})", ("id", "label", "items"))
        for k, d in enumerate(domains)
    )
    return _build(Instrument, entry, where, ("id", "name", "short_name", "scale_min", "scale_max"))


def _breakdown(entry: dict, n: int) -> Breakdown:
    where = f"breakdowns[{n}] ({entry.get('id')})"
    entry = dict(entry)
    groups = entry.pop("groups", None)
    if not groups:
        raise CatalogueError(f"{where}: needs at least one [[breakdowns.groups]] entry")
    entry["groups"] = tuple(
        _build(Group, g, f"{where}.groups[{k}] ({g.get('label')})", ("label",)) for k, g in enumerate(groups)
    )
    return _build(Breakdown, entry, where, ("id", "label"))


def _check_breakdowns(cat: Catalogue) -> None:
    """Unique ids and labels, parents that exist, no spelling that names two groups, reference groups
    and indicator breakdowns that the vocabulary holds."""
    from mhin_eval.vocabulary import spellings

    ids = [b.id for b in cat.breakdowns]
    if len(set(ids)) != len(ids):
        raise CatalogueError("breakdowns: duplicate breakdown id")
    for b in cat.breakdowns:
        where = f"breakdown '{b.id}'"
        labels = b.labels
        if len(set(labels)) != len(labels):
            raise CatalogueError(f"{where}: a group label is listed twice")
        for g in b.groups:
            if g.parent and g.parent not in b.top_level:
                raise CatalogueError(f"{where}, group '{g.label}': parent '{g.parent}' is not a higher-level group "
                                     f"of this breakdown ({', '.join(b.top_level)})")
        spellings(b)
    for i in cat.indicators:
        for name in i.breakdowns:
            vocabulary = cat.breakdown(name)
            if vocabulary and i.reference_group and i.reference_group not in vocabulary.labels:
                raise CatalogueError(f"indicator '{i.project}/{i.id}': reference_group '{i.reference_group}' is "
                                     f"not a group of breakdown '{name}'")


def _check_instruments(cat: Catalogue) -> None:
    ids = cat.instrument_ids
    if len(set(ids)) != len(ids):
        raise CatalogueError("instruments: duplicate instrument id")
    for ins in cat.instruments:
        where = f"instrument '{ins.id}'"
        if not ins.scale_min < ins.scale_max:
            raise CatalogueError(f"{where}: scale_min must be below scale_max")
        if ins.domain_score not in DOMAIN_SCORES:
            raise CatalogueError(f"{where}: domain_score must be one of {', '.join(DOMAIN_SCORES)}")
        if ins.total_score not in TOTAL_SCORES:
            raise CatalogueError(f"{where}: total_score must be one of {', '.join(TOTAL_SCORES)}")
        domain_ids = [d.id for d in ins.domains]
        if len(set(domain_ids)) != len(domain_ids):
            raise CatalogueError(f"{where}: duplicate domain id")
        items = ins.items
        if len(set(items)) != len(items):
            dupes = sorted({i for i in items if items.count(i) > 1})
            raise CatalogueError(f"{where}: item id(s) {', '.join(dupes)} listed more than once")
        for d in ins.domains:
            if not d.items:
                raise CatalogueError(f"{where}, domain '{d.id}': needs at least one item")
            if d.item_labels and len(d.item_labels) != len(d.items):
                raise CatalogueError(f"{where}, domain '{d.id}': item_labels must give one label per item")
    spec = cat.findings
    if spec.domain_labels and len(spec.domain_labels) != len(spec.domains):
        raise CatalogueError("findings: domain_labels must give one label per domain")


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
        if i.scale and i.scale not in SHARE_SCALES:
            raise CatalogueError(f"{where}: scale must be one of {', '.join(SHARE_SCALES)}")
        if i.scale and i.kind != "proportion":
            raise CatalogueError(f"{where}: scale applies to proportions only (kind = \"proportion\")")
        if i.kind == "proportion" and i.source == "series" and not (i.denominator or i.scale):
            raise CatalogueError(f"{where}: a proportion needs a denominator or a stated scale "
                                 f"(scale = \"0-1\" or \"0-100\")")


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
