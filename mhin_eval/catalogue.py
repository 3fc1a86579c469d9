"""The catalogue: projects, sites and indicators, read from ``data/catalogue.toml``.

Everything project-specific lives in that file so that a new project, site or
indicator needs no new Python.
"""

from __future__ import annotations

import datetime as dt
import os
import re
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

    ``source`` is ``"demo"`` (the demo's synthetic donor series, data/demo/donors/),
    ``"published:<measure id>"`` (the other organisations in a published measure) or ``"sites"`` (the
    project's other sites, from their own extracts: partner donors, shown to a site user anonymised);
    ``indicator`` is the site indicator the donors stand in for; ``include``/``exclude`` narrow the
    organisations (or site ids).
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
    if pool.source not in ("demo", "sites") and not pool.published_measure:
        raise CatalogueError(f"{where}: source must be \"demo\", \"sites\" or \"published:<measure id>\", "
                             f"not '{pool.source}'")
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


#: The id rule (catalogue.toml's header): ids appear in URLs, file names and the CLI.
ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
ID_RULE = "lower-case letters, digits and single hyphens, e.g. 'greater-manchester'"
#: Settings and their types: whole numbers (name: (at least, the shipped value)), numbers, one of some words.
INTEGER_SETTINGS = {"disclosure_threshold": (0, 7), "round_to": (1, 5), "horizon_months": (1, 12), "hac_lags": (0, 3),
                    "seasonal_harmonics": (0, 2), "seasonal_period": (1, 12), "min_points_each_side": (1, 3),
                    "low_power_points": (1, 8)}
NUMBER_SETTINGS = {"max_upload_mb": 0.001}
WORD_SETTINGS = {"standard_errors": ("ar1", "newey-west", "model", "prais-winsten"), "autocorrelation": ("ar1", "none")}


class _Problems(list):
    """Every mistake found in one pass over the catalogue, each naming its entry and field."""

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


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


def _type_problem(annotation: str, value) -> str | None:
    """What is wrong with ``value`` for a field annotated ``annotation`` (None when it fits)."""
    if value is None and "None" in annotation:
        return None
    base = annotation.replace(" | None", "")
    if base.startswith("tuple[str"):
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        return None if ok else 'a list of texts, e.g. ["a", "b"]'
    if base == "str":
        return None if isinstance(value, str) else 'a text in quotes, e.g. "text"'
    if base == "bool":
        return None if isinstance(value, bool) else "true or false"
    if base == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number, e.g. 3"
    if base == "float":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number, e.g. 2.5"
    return None


def _build(cls, entry: dict, where: str, required: tuple[str, ...]):
    missing = [k for k in required if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(entry) - known)
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    wrong = []
    for key, value in entry.items():
        expected = _type_problem(str(cls.__dataclass_fields__[key].type), value)
        if expected:
            wrong.append(f"{key} = {value!r} must be {expected}")
    if wrong:
        raise CatalogueError(f"{where}: {'; '.join(wrong)}")
    values = dict(entry)
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)


def _entries(build, entries, section: str, problems: _Problems) -> tuple:
    """Each entry of a section built by ``build(entry, n)``; one that cannot be built is a problem, skipped."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(f"{section}: must be a list of [[{section}]] tables")
        return ()
    built = []
    for n, entry in enumerate(entries):
        try:
            built.append(build(entry, n))
        except CatalogueError as exc:
            problems.append(str(exc))
    return tuple(built)


def _site(entry: dict, n: int) -> Site:
    entry = dict(entry)
    entry["go_live"] = _date(entry.get("go_live"), f"sites[{n}] ({entry.get('id')}).go_live")
    if "donor_pool" in entry:
        entry["donor_pool"] = _donor_pool(entry["donor_pool"], f"sites[{n}] ({entry.get('id')}).donor_pool")
    return _build(Site, entry, f"sites[{n}] ({entry.get('id')})", ("id", "project", "name"))


def _indicator(entry: dict, n: int) -> Indicator:
    return _build(Indicator, entry, f"indicators[{n}] ({entry.get('id')})",
                  ("id", "project", "label", "unit", "source", "kind", "better", "default_model"))


def parse_catalogue(data: dict, path: Path | None = None) -> Catalogue:
    """Build and check a catalogue from parsed TOML. Every mistake is found in one pass and raised as one
    CatalogueError listing them all, each naming its entry and field and what it must be."""
    problems = _Problems()
    projects = _entries(lambda e, n: _build(Project, e, f"projects[{n}] ({e.get('id')})", ("id", "name", "short_name")),
                        data.get("projects", []), "projects", problems)
    sites = _entries(_site, data.get("sites", []), "sites", problems)
    indicators = _entries(_indicator, data.get("indicators", []), "indicators", problems)
    instruments = _entries(_instrument, data.get("instruments", []), "instruments", problems)
    breakdowns = _entries(_breakdown, data.get("breakdowns", []), "breakdowns", problems)
    try:
        findings = _build(FindingsSpec, dict(data.get("findings", {})), "findings", ())
    except CatalogueError as exc:
        problems.append(str(exc))
        findings = FindingsSpec()
    settings = dict(data.get("settings", {}))
    cat = Catalogue(
        projects=projects,
        sites=sites,
        indicators=indicators,
        settings=settings,
        published_measures=tuple(data.get("published_measures", [])),
        published_sources=tuple(data.get("published_sources", [])),
        path=path,
        instruments=instruments,
        findings=findings,
        breakdowns=breakdowns,
    )
    _check_settings(settings, problems)
    _check(cat, problems)
    _check_instruments(cat, problems)
    _check_breakdowns(cat, problems)
    if problems:
        where = str(path) if path else "The catalogue"
        raise CatalogueError(f"{where}: {len(problems)} mistake(s); correct each and start again:\n"
                             + "\n".join(f"- {p}" for p in problems))
    return cat


def _check_settings(settings: dict, problems: _Problems) -> None:
    for name, (minimum, example) in INTEGER_SETTINGS.items():
        if name in settings:
            value = settings[name]
            problems.check(isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
                           f"settings.{name} = {value!r} must be a whole number of at least {minimum}, written "
                           f"without quotes (e.g. {name} = {example})")
    for name, minimum in NUMBER_SETTINGS.items():
        if name in settings:
            value = settings[name]
            problems.check(isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum,
                           f"settings.{name} = {value!r} must be a positive number written without quotes")
    for name, words in WORD_SETTINGS.items():
        if name in settings:
            problems.check(settings[name] in words,
                           f"settings.{name} = {settings[name]!r} must be one of {', '.join(words)}")


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


def _duplicates(values) -> list[str]:
    values = list(values)
    return sorted({str(v) for v in values if values.count(v) > 1})


def _check_breakdowns(cat: Catalogue, problems: _Problems) -> None:
    """Unique ids and labels, parents that exist, no spelling that names two groups, reference groups
    and indicator breakdowns that the vocabulary holds."""
    from mhin_eval.vocabulary import spellings

    for dupe in _duplicates(b.id for b in cat.breakdowns):
        problems.append(f"breakdowns: duplicate breakdown id '{dupe}'")
    for b in cat.breakdowns:
        where = f"breakdown '{b.id}'"
        for dupe in _duplicates(b.labels):
            problems.append(f"{where}: a group label is listed twice ('{dupe}')")
        for g in b.groups:
            problems.check(not g.parent or g.parent in b.top_level,
                           f"{where}, group '{g.label}': parent '{g.parent}' is not a higher-level group of this "
                           f"breakdown ({', '.join(b.top_level)})")
        try:
            spellings(b)
        except CatalogueError as exc:
            problems.append(str(exc))
    for i in cat.indicators:
        for name in i.breakdowns:
            vocabulary = cat.breakdown(name)
            problems.check(not (vocabulary and i.reference_group and i.reference_group not in vocabulary.labels),
                           f"indicator '{i.project}/{i.id}': reference_group '{i.reference_group}' is not a group of "
                           f"breakdown '{name}'")


def _check_instruments(cat: Catalogue, problems: _Problems) -> None:
    for dupe in _duplicates(cat.instrument_ids):
        problems.append(f"instruments: duplicate instrument id '{dupe}'")
    for ins in cat.instruments:
        where = f"instrument '{ins.id}'"
        problems.check(ID_PATTERN.fullmatch(ins.id) is not None, f"{where}: the id breaks the id rule ({ID_RULE})")
        problems.check(ins.scale_min < ins.scale_max, f"{where}: scale_min must be below scale_max")
        problems.check(ins.domain_score in DOMAIN_SCORES,
                       f"{where}: domain_score must be one of {', '.join(DOMAIN_SCORES)}")
        problems.check(ins.total_score in TOTAL_SCORES, f"{where}: total_score must be one of {', '.join(TOTAL_SCORES)}")
        for dupe in _duplicates(d.id for d in ins.domains):
            problems.append(f"{where}: duplicate domain id '{dupe}'")
        dupes = _duplicates(ins.items)
        problems.check(not dupes, f"{where}: item id(s) {', '.join(dupes)} listed more than once")
        for d in ins.domains:
            problems.check(bool(d.items), f"{where}, domain '{d.id}': needs at least one item")
            problems.check(not d.item_labels or len(d.item_labels) == len(d.items),
                           f"{where}, domain '{d.id}': item_labels must give one label per item")
    spec = cat.findings
    problems.check(not spec.domain_labels or len(spec.domain_labels) == len(spec.domains),
                   "findings: domain_labels must give one label per domain")


def _check(cat: Catalogue, problems: _Problems) -> None:
    ids = [p.id for p in cat.projects]
    for dupe in _duplicates(ids):
        problems.append(f"projects: duplicate project id '{dupe}'")
    site_ids = [s.id for s in cat.sites]
    for dupe in _duplicates(site_ids):
        problems.append(f"sites: duplicate site id '{dupe}' (each site needs its own id)")
    for kind, entries in (("project", cat.projects), ("site", cat.sites), ("indicator", cat.indicators)):
        for e in entries:
            problems.check(ID_PATTERN.fullmatch(e.id) is not None,
                           f"{kind} '{e.id}': the id breaks the id rule ({ID_RULE})")
    for s in cat.sites:
        where = f"site '{s.id}'"
        problems.check(s.project in ids, f"{where}: unknown project '{s.project}' (known: {', '.join(ids)})")
        problems.check(s.role in ("intervention", "comparison"), f"{where}: role must be 'intervention' or 'comparison'")
        problems.check(not (s.role == "intervention" and s.go_live is None),
                       f"{where}: an intervention site needs a go_live date")
        for c in s.comparison_sites:
            problems.check(c in site_ids, f"{where}: unknown comparison site '{c}' (not a site id of the catalogue)")
    seen = set()
    for i in cat.indicators:
        where = f"indicator '{i.project}/{i.id}'"
        problems.check((i.project, i.id) not in seen, f"{where}: duplicate (the id is listed twice in this project)")
        seen.add((i.project, i.id))
        problems.check(i.project in ids, f"{where}: unknown project '{i.project}' (known: {', '.join(ids)})")
        problems.check(i.source in ("series", "participant"), f"{where}: source must be 'series' or 'participant'")
        problems.check(i.kind in SERIES_KINDS, f"{where}: kind must be one of {', '.join(SERIES_KINDS)}")
        problems.check(i.better in ("lower", "higher"), f"{where}: better must be 'lower' or 'higher'")
        allowed = ITS_FAMILIES if i.source == "series" else PARTICIPANT_MODELS
        problems.check(i.default_model in allowed, f"{where}: default_model must be one of {', '.join(allowed)}")
        problems.check(not i.scale or i.scale in SHARE_SCALES, f"{where}: scale must be one of {', '.join(SHARE_SCALES)}")
        problems.check(not i.scale or i.kind == "proportion",
                       f"{where}: scale applies to proportions only (kind = \"proportion\")")
        problems.check(not (i.kind == "proportion" and i.source == "series" and not (i.denominator or i.scale)),
                       f"{where}: a proportion needs a denominator or a stated scale (scale = \"0-1\" or \"0-100\")")


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Read the catalogue (``MHIN_CATALOGUE`` overrides the default path)."""
    path = Path(path or os.environ.get("MHIN_CATALOGUE") or DEFAULT_CATALOGUE)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise CatalogueError(f"{path}: the catalogue file cannot be read ({exc.strerror}); check the path, or set "
                             "MHIN_CATALOGUE to the catalogue file (default data/catalogue.toml)") from exc
    return _load_cached(path.resolve(), mtime)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: int) -> Catalogue:
    with open(path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: not valid TOML: {exc}") from exc
    return parse_catalogue(data, path)
