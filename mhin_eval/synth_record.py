"""Synthetic control and synthetic DiD as results of record: each donor-pool site's effects against similar
sites, computed once per data version and view, and read by the site page's "Against similar sites" tab, the
deck, the HTML report, the results tables and the ``results --synth`` command.

One design with mhin_eval.record: a site's record is kept in the store's ``record_cache`` under a key hashing
everything it depends on (the panel of the site and its donors, the catalogue entries, whether the donors are
the demo's), and each data version's records of a project are stored in ``results_of_record``; both under the
view names ``synth:full`` and ``synth:suppressed`` (:func:`stored_view`), beside the ITS records of that view.
A suppressed record keeps every number but not the monthly path behind the charts (counts of people can be
read off it), and its warnings pass through the suppression rule as the ITS records' do; its sentences hold
only estimates (average differences, never a count of people) and are the same in both views.

Donors drawn from public published statistics may be named to anyone; donors drawn from partner sites' own
extracts are shown to a site user only as anonymised weights (:func:`anonymised`). Until donor provenance is
recorded per donor, a demo pool's synthetic donors stand in for partner extracts and a ``published:`` pool's
organisations are public (:func:`public_donors`).

Methods: synthetic control (Abadie, Diamond & Hainmueller 2010, JASA 105:493-505) and synthetic
difference-in-differences (Arkhangelsky et al. 2021, AER 111:4088-4118), as mhin_eval.analysis.synth fits them.
"""

from __future__ import annotations

import hashlib
import json
import math
import string
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace

import pandas as pd

from mhin_eval import donor_pools, record, store_results
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.analysis.synth import METHOD_NAMES, SynthResult, synth
from mhin_eval.catalogue import Catalogue, Indicator, Site
from mhin_eval.shares import rate_unit
from mhin_eval.synth_summary import MethodEffect, weights_in_words
from mhin_eval.wording import finding_sentence

SYNTH_FORMAT = 2  # raise when the stored form or a method changes, so older stored records are recomputed
METHODS = ("sc", "sdid")
DEMO_ONLY = "This site's donor pool is the demo's synthetic donors, which fit the demo data only."


def stored_view(view: str) -> str:
    """The view name synthetic-control records are kept under in the store's record tables."""
    return f"synth:{view}"


@dataclass(frozen=True)
class SynthEffect:
    """One method's effect against the donor pool, in numbers and words. ``weights`` are (donor, weight) with
    the largest first; ``leave_one_out`` the lowest and highest estimate leaving one weighted donor out."""

    method: str
    method_name: str
    quantity: str
    estimate: Estimate | None
    pre_rmspe: float | None
    weights: tuple[tuple[str, float], ...]
    placebo_in_time: tuple[str, float] | None
    leave_one_out: tuple[float, float] | None
    sentence: str
    methods: str
    warnings: tuple[str, ...]

    @property
    def weights_text(self) -> str:
        return weights_in_words(dict(self.weights))


@dataclass(frozen=True)
class PlaceboGap:
    """A donor's gap series when analysed as if it had gone live (for the placebo chart)."""

    unit: str
    gaps: tuple[float, ...]


@dataclass(frozen=True)
class SynthPath:
    """The monthly path behind the charts (full view only): the site, its synthetic control and every
    donor's placebo gap; the same attributes as the SynthResult the charts also draw."""

    periods: tuple[str, ...]
    go_live: str
    observed: tuple[float, ...]
    synthetic: tuple[float, ...]
    placebos: tuple[PlaceboGap, ...]

    @property
    def n_pre(self) -> int:
        return self.periods.index(self.go_live)

    @property
    def gaps(self) -> tuple[float, ...]:
        return tuple(o - s for o, s in zip(self.observed, self.synthetic, strict=True))


@dataclass(frozen=True)
class SynthRecord:
    """A site's effects against similar sites (synthetic control, synthetic DiD) as one view shows them.

    ``reason`` says why there is no estimate (then ``effects`` is empty); ``p_value`` is the placebo-in-space
    p-value of the synthetic control."""

    project: str
    site: str
    site_name: str
    indicator: str
    label: str
    unit: str
    source: str
    donors: tuple[str, ...]
    public: tuple[str, ...]
    n_pre: int
    n_post: int
    period: str
    effects: tuple[SynthEffect, ...]
    path: SynthPath | None
    reason: str
    data_version: int
    view: str

    def effect(self, method: str) -> SynthEffect | None:
        return next((e for e in self.effects if e.method == method), None)

    @property
    def synthetic_donors(self) -> bool:
        """True when the donors are the demo's invented series."""
        return self.source == "demo"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> SynthRecord:
        effects = tuple(SynthEffect(**{
            **e, "estimate": None if e["estimate"] is None else Estimate(**e["estimate"]),
            "weights": tuple((d, w) for d, w in e["weights"]),
            "placebo_in_time": None if e["placebo_in_time"] is None else tuple(e["placebo_in_time"]),
            "leave_one_out": None if e["leave_one_out"] is None else tuple(e["leave_one_out"]),
            "warnings": tuple(e["warnings"])}) for e in payload["effects"])
        path = payload["path"]
        if path is not None:
            path = SynthPath(tuple(path["periods"]), path["go_live"], tuple(path["observed"]),
                             tuple(path["synthetic"]),
                             tuple(PlaceboGap(p["unit"], tuple(p["gaps"])) for p in path["placebos"]))
        return cls(**{**payload, "donors": tuple(payload["donors"]), "public": tuple(payload["public"]),
                      "effects": effects, "path": path})


# ------------------------------------------------------------------------------------------------ describe

def public_donors(site: Site, donors: Iterable[str]) -> tuple[str, ...]:
    """The donors that may be named to anyone: those of a pool drawn from published statistics. A demo pool's
    synthetic donors stand in for partner sites' own extracts, which a site user sees only as weights."""
    return tuple(donors) if site.donor_pool is not None and site.donor_pool.source.startswith("published:") else ()


def _digits(est: Estimate) -> int:
    """Decimals that show the interval's half-width to two significant figures (at least one)."""
    half = abs(est.ci_high - est.ci_low) / 2 if est.ci_low is not None and est.ci_high is not None else 0
    if not half or not math.isfinite(half):
        return 2
    return max(1, 1 - math.floor(math.log10(half)))


def _effect(result: SynthResult | AnalysisError, method: str, site: Site, indicator: Indicator, unit: str,
            counts: Counts) -> SynthEffect:
    name = METHOD_NAMES[method]
    quantity = f"average difference after go-live from the {name}, {unit}"
    if isinstance(result, AnalysisError):
        text = counts.text(str(result))
        return SynthEffect(method, name.capitalize(), quantity, None, None, (), None, None, text, "", (text,))
    est = result.effect
    if est.ci_low is None or not math.isfinite(est.ci_low):
        est = replace(est, ci_low=math.nan, ci_high=math.nan)
    context = f"on average after go-live, against a {name} built from {len(result.unit_weights)} similar organisations"
    if math.isfinite(est.ci_low):
        sentence = finding_sentence(f"{indicator.label} at {site.name}", est, context, unit, digits=_digits(est))
    else:
        sentence = f"{indicator.label} at {site.name}: {est.estimate:.3g} {unit} {context} (no interval)."
    weights = tuple(sorted(result.unit_weights.items(), key=lambda kv: (-kv[1], kv[0])))
    loo = ((min(x.estimate for x in result.leave_one_out), max(x.estimate for x in result.leave_one_out))
           if result.leave_one_out else None)
    in_time = (result.placebo_in_time.go_live, result.placebo_in_time.estimate) if result.placebo_in_time else None
    return SynthEffect(method, name.capitalize(), quantity, est, result.pre_rmspe, weights, in_time, loo,
                       sentence, result.methods, tuple(counts.text(w) for w in result.warnings))


def describe(site: Site, indicator: Indicator, results: dict[str, SynthResult | AnalysisError] | AnalysisError,
             counts: Counts, version: int) -> SynthRecord:
    """The record of a site's fits (or of the AnalysisError that stopped them) as ``counts`` shows it."""
    view = "suppressed" if counts.suppressed else "full"
    unit = rate_unit(indicator)
    base = dict(project=site.project, site=site.id, site_name=site.name, indicator=indicator.id,
                label=indicator.label, unit=unit, source=site.donor_pool.source if site.donor_pool else "",
                data_version=version, view=view)
    if isinstance(results, AnalysisError):
        return SynthRecord(**base, donors=(), public=(), n_pre=0, n_post=0, period="", effects=(), path=None,
                           reason=counts.text(str(results)))
    effects = tuple(_effect(results[m], m, site, indicator, unit, counts) for m in METHODS)
    sc = results["sc"]
    if isinstance(sc, AnalysisError):
        return SynthRecord(**base, donors=(), public=(), n_pre=0, n_post=0, period="", effects=(), path=None,
                           reason=counts.text(str(sc)))
    donors = tuple(sc.unit_weights)
    periods = pd.to_datetime(pd.Series(sc.periods), format="%Y-%m", errors="coerce")
    period = f"{periods.min():%b %Y} – {periods.max():%b %Y}" if periods.notna().all() else ""
    path = None if counts.suppressed else SynthPath(
        sc.periods, sc.go_live, sc.observed, sc.synthetic, tuple(PlaceboGap(p.unit, p.gaps) for p in sc.placebos))
    return SynthRecord(**base, donors=donors, public=public_donors(site, donors), n_pre=sc.n_pre,
                       n_post=len(sc.periods) - sc.n_pre, period=period, effects=effects, path=path, reason="")


# ------------------------------------------------------------------------------------------------ who sees what

def _letters(k: int) -> str:
    letters = string.ascii_uppercase
    return letters[k] if k < 26 else letters[k // 26 - 1] + letters[k % 26]


def anonymised(rec: SynthRecord) -> SynthRecord:
    """The record with every donor from a partner site's own extract named only "Donor A", "Donor B", … (in
    order of synthetic-control weight), in weights, text and the placebo path; public donors keep their names."""
    sc = rec.effect("sc")
    order = [d for d, _ in sc.weights] if sc is not None else list(rec.donors)
    order += [d for d in rec.donors if d not in order]
    partners = [d for d in order if d not in rec.public]
    if not partners:
        return rec
    names = {d: f"Donor {_letters(k)}" for k, d in enumerate(partners)}
    longest_first = sorted(names, key=len, reverse=True)

    def text(value: str) -> str:
        for donor in longest_first:
            value = value.replace(donor, names[donor])
        return value

    effects = tuple(replace(
        e, weights=tuple((names.get(d, d), w) for d, w in e.weights), sentence=text(e.sentence),
        methods=text(e.methods), warnings=tuple(text(w) for w in e.warnings)) for e in rec.effects)
    path = rec.path and replace(rec.path, placebos=tuple(PlaceboGap(names.get(p.unit, p.unit), p.gaps)
                                                         for p in rec.path.placebos))
    return replace(rec, donors=tuple(names.get(d, d) for d in rec.donors), effects=effects, path=path,
                   reason=text(rec.reason))


def for_access(records: Iterable[SynthRecord], access) -> tuple[SynthRecord, ...]:
    """The records as this user may see them: a site user sees partner-extract donors only anonymised."""
    from mhin_eval.access.policy import Role

    records = tuple(records)
    return tuple(anonymised(r) for r in records) if access.role is Role.SITE else records


# ------------------------------------------------------------------------------------------------ surfaces

def method_effects(its: record.ResultOfRecord | None, rec: SynthRecord | None) -> list[MethodEffect]:
    """The robustness panel's rows: the ITS result of record, then each synthetic-control method's effect."""
    effects = []
    if its is not None:
        kind = "Controlled interrupted time series" if its.n_comparison else "Interrupted time series"
        effects.append(MethodEffect(f"{kind} (result of record)", its.estimate, its.quantity))
    for e in rec.effects if rec is not None else ():
        effects.append(MethodEffect(e.method_name, e.estimate, e.quantity))
    return effects


TIDY_COLUMNS = ("project", "site", "site_name", "indicator", "label", "method", "method_name", "quantity", "estimate",
                "ci_low", "ci_high", "p_value", "scale", "pre_rmspe", "donors", "weights", "n_pre", "n_post", "period",
                "sentence", "warnings", "data_version", "view")


def tidy(records: Iterable[SynthRecord]) -> pd.DataFrame:
    """One row per site and method (every table and CLI output is built from it)."""
    rows = []
    for r in records:
        for e in r.effects:
            est = e.estimate
            rows.append({
                "project": r.project, "site": r.site, "site_name": r.site_name, "indicator": r.indicator,
                "label": r.label, "method": e.method, "method_name": e.method_name, "quantity": e.quantity,
                "estimate": None if est is None else est.estimate, "ci_low": None if est is None else est.ci_low,
                "ci_high": None if est is None else est.ci_high, "p_value": None if est is None else est.p_value,
                "scale": "" if est is None else est.scale, "pre_rmspe": e.pre_rmspe, "donors": len(r.donors),
                "weights": e.weights_text if e.weights else "", "n_pre": r.n_pre, "n_post": r.n_post,
                "period": r.period, "sentence": e.sentence, "warnings": " ".join(e.warnings),
                "data_version": r.data_version, "view": r.view})
    return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))


# ------------------------------------------------------------------------------------------------ computing

def pool_sites(catalogue: Catalogue, project: str) -> list[Site]:
    """The project's intervention sites with a donor pool and a go-live."""
    return [s for s in catalogue.sites_of(project) if s.donor_pool is not None and s.go_live is not None]


def _panel(store, catalogue: Catalogue, site: Site, series: pd.DataFrame, donors: pd.DataFrame, demo_data: bool
           ) -> tuple[Indicator, pd.DataFrame, dict[str, str]] | AnalysisError:
    """(indicator, panel, donors' own go-lives) of a site's pool (mhin_eval.donor_pools.pool_panel), or why not."""
    source = site.donor_pool.source
    if source == "demo" and not demo_data:
        return AnalysisError(DEMO_ONLY)
    published = (store.published(measure_ids=[site.donor_pool.published_measure])
                 if source.startswith("published:") else None)
    try:
        pool = donor_pools.pool_panel(catalogue, site, series, donors=donors, published=published)
    except AnalysisError as exc:
        return exc
    return pool.indicator, pool.panel, dict(pool.donor_go_lives)


def _key(site: Site, indicator: Indicator, panel, rule: SuppressionRule) -> str:
    """A hash of everything a site's record depends on: its panel (or why there is none), catalogue entries,
    the suppression rule and the methods."""
    h = hashlib.sha256()
    frame = panel[1] if isinstance(panel, tuple) else None
    payload = (pd.util.hash_pandas_object(frame.sort_values(["unit", "period"]), index=False).to_numpy().tobytes()
               if frame is not None else repr(panel).encode())
    for part in (repr((SYNTH_FORMAT, site, indicator, rule, METHODS)).encode(), payload):
        h.update(part)
        h.update(b"\x00")
    return h.hexdigest()[:32]


def fit_site(catalogue: Catalogue, site_id: str, panel, views: tuple[str, ...], version: int) -> dict[str, str]:
    """{view: record JSON} of one site: both methods fitted on its panel (or the error that stopped it)."""
    site = catalogue.site(site_id)
    rule = SuppressionRule.from_catalogue(catalogue)
    indicator = catalogue.indicator(site.project, site.donor_pool.indicator)
    if isinstance(panel, AnalysisError):
        results = panel
    else:
        results = {}
        for method in METHODS:
            try:
                results[method] = synth(panel[1], unit="unit", time="period", value="value",
                                        treated=donor_pools.SITE_UNIT, intervention=str(site.go_live), method=method,
                                        donor_go_lives=panel[2] or None)
            except AnalysisError as exc:
                results[method] = exc
    return {view: json.dumps(describe(site, indicator, results, Counts(view == "suppressed", rule), version).to_json(),
                             allow_nan=True, default=record._json_number)
            for view in views}


def _fit_all(catalogue, items, views, version, pool) -> dict[str, dict[str, str]]:
    """{site: {view: JSON}}, in the worker pool when there are several sites to fit."""
    if pool is not None and len(items) >= 2:
        try:
            futures = {site: pool.get().submit(fit_site, catalogue, site, panel, views, version)
                       for site, panel in items}
            return {site: future.result() for site, future in futures.items()}
        except (BrokenProcessPool, OSError):
            pass
    return {site: fit_site(catalogue, site, panel, views, version) for site, panel in items}


def refresh_project(store, catalogue: Catalogue, project: str, views: tuple[str, ...] = record.VIEWS,
                    pool=None) -> dict[str, tuple[SynthRecord, ...]]:
    """Bring a project's synthetic-control records up to the store's data version for ``views``, reusing every
    kept record whose key (panel, catalogue entry) is unchanged; {view: records} in catalogue order."""
    version = store.version()
    sites = pool_sites(catalogue, project)
    stored = {v: store.recorded_results(version, stored_view(v), project, SYNTH_FORMAT) for v in views}
    if all(payload is not None for payload in stored.values()):
        return {v: tuple(SynthRecord.from_json(r) for r in json.loads(p)) for v, p in stored.items()}
    out = {v: () for v in views}
    if sites:
        indicators = sorted({s.donor_pool.indicator for s in sites})
        series = pd.concat([store.series(project=project, indicator=i, sites=[s.id for s in sites])
                            for i in indicators])
        donors = donor_pools.read_demo_donors()
        demo_data = store.has_demo_data()
        rule = SuppressionRule.from_catalogue(catalogue)
        panels = {s.id: _panel(store, catalogue, s, series, donors, demo_data) for s in sites}
        keys = {s.id: _key(s, catalogue.indicator(project, s.donor_pool.indicator), panels[s.id], rule)
                for s in sites}
        kept = {v: store_results.cached_records(store, project, stored_view(v), SYNTH_FORMAT) for v in views}
        missing = [(s, panels[s]) for s, k in keys.items() if any(k not in kept[v] for v in views)]
        fitted = _fit_all(catalogue, missing, views, version, pool)
        for v in views:
            new = {keys[s]: payload[v] for s, payload in fitted.items()}
            store_results.keep_records(store, project, stored_view(v), SYNTH_FORMAT, new, keys.values())
            every = {**kept[v], **new}
            out[v] = tuple(replace(SynthRecord.from_json(json.loads(every[keys[s.id]])), data_version=version)
                           for s in sites)
    for v in views:
        store.record_results(version, stored_view(v), project, SYNTH_FORMAT,
                             json.dumps([r.to_json() for r in out[v]], allow_nan=True, default=record._json_number))
    return out


def synth_of_record(store, catalogue: Catalogue, project: str, counts: Counts,
                    sites: Iterable[str] | None = None) -> tuple[SynthRecord, ...]:
    """The project's synthetic-control records for the store's data version and this view (computed and
    stored when this version has none yet: normally done after each ingest by mhin_eval.recompute); ``sites``
    keeps those sites only. Anonymising donors for a site user is the caller's (:func:`for_access`)."""
    view = "suppressed" if counts.suppressed else "full"
    records = refresh_project(store, catalogue, project, views=(view,))[view]
    if sites is not None:
        wanted = set(sites)
        records = tuple(r for r in records if r.site in wanted)
    return records


def find(records: Iterable[SynthRecord], site: str) -> SynthRecord | None:
    return next((r for r in records if r.site == site), None)
