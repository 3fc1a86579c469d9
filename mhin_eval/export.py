"""Slide decks, chart images, a self-contained HTML report and results tables of a project or site view.

What programme leads take to network events. Every number is computed by the functions the pages use
(evaluate.py for results, wording.py for sentences, charts.py for figures), for the sites in the user's
``Access`` scope only; when ``access.suppressed`` small counts are suppressed with
``mhin_eval.access.suppression`` before anything is drawn or written. Pure apart from the image renderer
(one headless Chromium kept for many images) and the optional progress callback.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from mhin_eval import charts, charts_ranked, evaluate, export_synth, record
from mhin_eval.access import Access
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import HIDDEN, suppress_table
from mhin_eval.analysis import sustainability
from mhin_eval.analysis.findings import findings_frame
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.pooling import METHOD_NAMES, PoolingResult
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.catalogue import Catalogue, Indicator, Project, Site
from mhin_eval.record import ResultOfRecord
from mhin_eval.text import html_text
from mhin_eval.wording import DIRECTION_ICONS, change_phrase, direction, finding_sentence, fmt_estimate

Progress = Callable[[float, str], None]

CHROMIUM = os.environ.get("MHIN_CHROMIUM", "/usr/bin/chromium")
SYNTHETIC_MARKER = "Synthetic demo data: invented numbers built to test the dashboard, not findings"
# ------------------------------------------------------------------------------------------------ images


class ChartRenderer:
    """PNG or SVG of plotly figures through kaleido, with one headless Chromium kept open for many images.

    The browser runs on its own event-loop thread, so callers from any thread (Streamlit sessions, the
    CLI) share it; a batch is rendered concurrently over ``tabs`` browser tabs. MathJax is off so that
    rendering makes no network request.
    """

    def __init__(self, tabs: int = 2, chromium: str | None = None):
        self.tabs = tabs
        self.chromium = chromium or (CHROMIUM if Path(CHROMIUM).exists() else None)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None

    def _start(self):
        import kaleido

        with self._lock:
            if self._kaleido is not None:
                return self._loop, self._kaleido
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="chart-renderer", daemon=True).start()
            options = {"path": self.chromium} if self.chromium else {}
            renderer = kaleido.Kaleido(n=self.tabs, mathjax=False, **options)
            asyncio.run_coroutine_threadsafe(renderer.open(), loop).result(timeout=120)
            self._loop, self._kaleido = loop, renderer
            return loop, renderer

    @property
    def running(self) -> bool:
        return self._kaleido is not None

    def render_many(self, jobs: list[tuple[go.Figure, dict]]) -> list[bytes]:
        """Images of (figure, options) pairs; options are kaleido's: format, width, height, scale."""
        if not jobs:
            return []
        loop, renderer = self._start()
        futures = [
            asyncio.run_coroutine_threadsafe(renderer.calc_fig(fig, opts=dict(opts)), loop) for fig, opts in jobs
        ]
        return [future.result(timeout=120) for future in futures]

    def render(self, fig: go.Figure, fmt: str = "png", width: int = 1200, height: int = 675, scale: float = 1) -> bytes:
        """One image of ``width`` x ``height`` CSS pixels (PNG pixels = size x ``scale``)."""
        if fmt not in ("png", "svg"):
            raise ValueError(f"image format must be png or svg, not {fmt!r}")
        return self.render_many([(fig, {"format": fmt, "width": width, "height": height, "scale": scale})])[0]

    def close(self) -> None:
        with self._lock:
            if self._kaleido is None:
                return
            loop, renderer = self._loop, self._kaleido
            self._loop = self._kaleido = None
        try:
            asyncio.run_coroutine_threadsafe(renderer.close(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)


_renderer: ChartRenderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> ChartRenderer:
    """The process's shared renderer (its browser starts on first use and closes at exit)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = ChartRenderer()
            atexit.register(_renderer.close)
        return _renderer


def chart_image(fig: go.Figure, fmt: str = "png", width: int = 1200, height: int = 675, scale: float = 1) -> bytes:
    """PNG or SVG of any chart, styled exactly as on screen (the same figure, rendered by Chromium)."""
    return renderer().render(fig, fmt, width, height, scale)


# ------------------------------------------------------------------------------------------------ content


@dataclass(frozen=True)
class NativeChart:
    """A simple bar chart the deck draws as an editable PowerPoint chart: categories and one value list
    per series (None where a count is hidden)."""

    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    value_title: str = ""


@dataclass(frozen=True)
class ChartItem:
    """One chart with what a slide or report section says about it: the finding, its n and the method."""

    key: str
    kind: str  # "its", "prepost" or "forest"
    section: str
    title: str
    figure: go.Figure
    finding: str
    direction: str
    n_text: str
    method: str
    warnings: tuple[str, ...] = ()
    n_short: str = ""
    native: NativeChart | None = None
    site: str | None = None
    indicator: str = ""
    estimate: Estimate | None = None
    method_name: str = ""  # the analysis in a few words, for the slide (the full ``method`` goes to its notes)


@dataclass(frozen=True)
class ExportView:
    """Everything an export of one project (all sites in scope) or one site shows, computed once.

    Text is as the view shows it (suppressed where needed); ``records`` are the results of record that every
    surface reads (mhin_eval.record), in the order of ``sites``.
    """

    project: Project
    site: Site | None
    sites: tuple[Site, ...]
    data_date: str
    exported: str
    synthetic: bool
    counts: Counts
    indicators: tuple[Indicator, ...]
    records: tuple[ResultOfRecord, ...]
    items: tuple[ChartItem, ...]
    pooled: tuple[tuple[Indicator, PoolingResult], ...] = ()
    findings: tuple[tuple[Site, pd.DataFrame], ...] = ()
    methods: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    synth: tuple[export_synth.SynthSection, ...] = ()

    @property
    def suppressed(self) -> bool:
        return self.counts.suppressed

    @property
    def slide_count(self) -> int:
        """Slides of the evaluators' deck (mhin_eval.deck.slide_count gives the public deck's)."""
        from mhin_eval import deck

        return deck.slide_count(self)

    @property
    def threshold(self) -> int:
        return self.counts.threshold

    def unit(self, indicator: str) -> str:
        return next((i.unit for i in self.indicators if i.id == indicator), "")

    @property
    def title(self) -> str:
        return f"{self.project.name}: {self.site.name}" if self.site else self.project.name

    @property
    def many_sites(self) -> bool:
        """A project view of more sites than a chart each suits: its slides show each outcome across them."""
        return self.site is None and len(self.sites) > charts_ranked.FOREST_MAX_SITES

    @property
    def scope_text(self) -> str:
        if self.site is not None:
            return f"{self.site.name} · go-live {self.site.go_live:%B %Y}"
        if self.many_sites:
            live = sorted(s.go_live for s in self.sites if s.go_live is not None)
            return f"{len(self.sites)} sites" + (f", go-live {live[0]:%b %Y} to {live[-1]:%b %Y}" if live else "")
        return " · ".join(f"{s.name} (go-live {s.go_live:%b %Y})" for s in self.sites)

    @property
    def suppression_text(self) -> str:
        return (f"Small numbers suppressed: counts from 1 to {self.threshold} are shown as *, other counts are "
                "rounded to the nearest 5.") if self.suppressed else ""

    @property
    def file_stem(self) -> str:
        return f"mhin-{self.project.id}" + (f"-{self.site.id}" if self.site else "")


def _notify(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), message)


def pooling_method_line(result: PoolingResult) -> str:
    """The forest plot's method line; it names the prediction interval only when the plot draws one (with fewer
    than 3 sites there is none: t(k-2) has no degrees of freedom)."""
    drawn = result.pooled is not None and result.prediction_low is not None and result.prediction_high is not None
    interval = (f"dotted line: {result.conf_level:.0%} prediction interval (where a new site's result would be "
                "expected)" if drawn else "no prediction interval (it needs at least 3 sites)")
    return (f"Sites pooled by {METHOD_NAMES.get(result.method, result.method)} on the "
            f"{'log ratio' if result.scale == 'ratio' else 'difference'} scale; squares sized by weight; "
            f"{interval}.")


def _data_date(store, project: str, site_ids: list[str]) -> tuple[str, bool]:
    """('Data to December 2024', any demo rows) from the store's freshness rows of the sites exported."""
    fresh = store.freshness(sites=site_ids)
    fresh = fresh[(fresh["project"] == project) & fresh["site"].isin(site_ids)]
    series = fresh[fresh["kind"] == "series"]["latest_period"].dropna()
    latest = pd.to_datetime(series if len(series) else fresh["latest_period"].dropna()).max()
    words = f"Data to {latest:%B %Y}" if pd.notna(latest) else "No data stored"
    return words, bool(fresh["demo"].fillna(False).astype(bool).any())


def _its_item(result: ITSResult, rec: ResultOfRecord, site: Site, indicator: Indicator, counts: Counts,
              shown: pd.DataFrame | None, names: dict[str, str]) -> ChartItem:
    series_sites = {site.name: site.id, **{names.get(c, c): c for c in site.comparison_sites}}
    drawn = counts.its_result(result, indicator, shown, series_sites)
    note = None
    if drawn is not result:
        hidden = int((drawn.fitted["observed"].isna() & result.fitted["observed"].notna()).sum())
        note = (f"Small-number suppression: {hidden} monthly count{'s' if hidden != 1 else ''} of 1 to "
                f"{counts.threshold} not drawn; other counts rounded to the nearest {counts.rule.round_to}"
                if hidden else f"Counts rounded to the nearest {counts.rule.round_to}")
    figure = charts.its_chart(
        drawn, title="", y_title=indicator.unit.capitalize(), unit=indicator.unit, go_live=pd.Timestamp(site.go_live),
        annotation=note,
    )
    return ChartItem(
        key=f"its-{site.id}-{indicator.id}", kind="its", section="Outcomes over time",
        title=f"{indicator.label}: {site.name}", figure=figure, finding=rec.sentence, direction=rec.direction,
        n_text=f"n = {rec.n_detail} · {rec.period}", n_short=rec.n_text, method=rec.method, warnings=rec.warnings,
        site=site.id, indicator=indicator.id, estimate=rec.estimate, method_name=rec.method_name,
    )


def _prepost_item(result, rows: pd.DataFrame, rec: ResultOfRecord, site: Site, indicator: Indicator,
                  counts: Counts, show_people: bool) -> ChartItem:
    if show_people:
        figure = charts.prepost_chart(rows, result, title="", y_title=indicator.unit, unit=indicator.unit)
    else:
        figure = charts.prepost_means_chart(*counts.prepost_means(result), title="", y_title=indicator.unit,
                                            unit=indicator.unit, before=result.before, after=result.after,
                                            n_text=rec.n_detail)
    return ChartItem(
        key=f"prepost-{site.id}-{indicator.id}", kind="prepost", section="Before and after",
        title=f"{indicator.label}: {site.name}", figure=figure, finding=rec.sentence, direction=rec.direction,
        n_text=f"n = {rec.n_detail}", n_short=rec.n_text, method=rec.method, warnings=rec.warnings, site=site.id,
        indicator=indicator.id, estimate=rec.estimate, method_name=rec.method_name,
    )


def _funnel_item(series: pd.DataFrame, indicators, site: Site, counts: Counts) -> ChartItem | None:
    """Uptake since go-live (referred, started, completed) in total and by group, as the project page shows it."""
    stages = evaluate.funnel_stages(series, indicators, site)
    if stages.empty:
        return None
    if counts.suppressed:
        stages = suppress_table(stages, ["count"], rule=counts.rule, total_row=("group", "All"), by=["stage"])
    figure = charts.funnel_chart(stages, title="")
    order = list(dict.fromkeys(stages.sort_values("order", kind="stable")["stage"]))
    groups = list(dict.fromkeys(stages["group"]))
    table = stages.set_index(["stage", "group"])["count"]
    native = NativeChart(
        categories=tuple(order),
        series=tuple((g, tuple(None if pd.isna(table.get((st, g))) else float(table.get((st, g))) for st in order))
                     for g in groups),
        value_title="People since go-live",
    )
    first = stages[(stages["stage"] == order[0]) & (stages["group"] == "All")]["count"]
    last = stages[(stages["stage"] == order[-1]) & (stages["group"] == "All")]["count"]
    shown = [HIDDEN if v is None or pd.isna(v) else f"{v:,.0f}"
             for v in (first.iloc[0] if len(first) else None, last.iloc[0] if len(last) else None)]
    finding = (f"Since go-live in {site.go_live:%B %Y}: {order[0].lower()} {shown[0]}, "
               f"{order[-1].lower()} {shown[1]}.")
    return ChartItem(
        key=f"funnel-{site.id}", kind="funnel", section="Uptake", title=f"Uptake since go-live: {site.name}",
        figure=figure, finding=finding, direction="",
        n_text="People since go-live, in total" + (" and by group (" + ", ".join(g for g in groups if g != "All")
                                                   + ")" if len(groups) > 1 else ""),
        method="Sums of the monthly counts from go-live to the latest month.", method_name="Counts since go-live",
        site=site.id, indicator="uptake", native=native,
    )


def _equity_item(series: pd.DataFrame, site: Site, indicator: Indicator, counts: Counts) -> ChartItem | None:
    """Rates by ethnic group over the latest 12 months with the rate ratio of the group of most concern."""
    reference = indicator.reference_group
    try:
        rates, ratios, words = evaluate.equity_tables(series, site, indicator, reference, "latest-12",
                                                      rule=counts.rule if counts.suppressed else None)
    except (AnalysisError, ValueError):
        return None
    figure = charts.group_rates_chart(rates.table, title="", unit=f"per {indicator.rate_per:,.0f}",
                                      reference=reference)
    table = ratios.table[~ratios.table["is_reference"] & ratios.table["rate_ratio"].notna()]
    finding = f"No group has a rate ratio against the {reference} group in {words}."
    estimate = None
    if len(table):
        focus = table[table["group"] == "Black or Black British"]
        row = (focus if len(focus) else table).iloc[0]
        estimate = Estimate(float(row["rate_ratio"]), float(row["ci_low"]), float(row["ci_high"]),
                            None if pd.isna(row["p_value"]) else float(row["p_value"]), "ratio")
        finding = (f"{indicator.label} at {site.name}, {words}: the rate for {row['group']} people was "
                   f"{fmt_estimate(estimate)} times the rate for {reference} people.")
    return ChartItem(
        key=f"equity-{site.id}-{indicator.id}", kind="equity", section="Equity by ethnicity",
        title=f"{indicator.label} by ethnic group: {site.name}", figure=figure, finding=finding,
        direction="", n_text=f"Annual rates per {indicator.rate_per:,.0f} population, {words}",
        method=("Crude annual rates with exact Poisson (Garwood) 95% CIs; rate ratios against the "
                f"{reference} group with log-scale Wald 95% CIs."),
        warnings=tuple(counts.text(w) for w in rates.warnings + ratios.warnings), site=site.id,
        indicator=indicator.id, estimate=estimate, method_name="Rates by ethnic group (rate ratios)",
    )


def _across_sites_item(pooled: PoolingResult, indicator: Indicator, counts: Counts, context: str,
                       records: tuple[ResultOfRecord, ...] | None = None) -> ChartItem:
    """The pooled slide of an indicator: a forest plot with a row per site, or with ``records`` (a project of
    many sites) every site's headline ranked in a caterpillar plot, as the project page draws it."""
    x_title = "Ratio of observed to expected" if pooled.scale == "ratio" else f"Difference ({indicator.unit})"
    if indicator.source == "participant" and pooled.scale == "ratio":
        x_title = "Rate ratio, after vs before"
    if records is None:
        figure = charts.forest_plot(pooled, title="", x_title=x_title)
        title = f"{indicator.label}: each site's headline and the pooled estimate"
    else:
        own = [r for r in records if r.indicator == indicator.id]
        figure = charts_ranked.caterpillar_plot(charts_ranked.site_frame(own), pooled, y_title=x_title,
                                                log_scale=pooled.scale == "ratio")
        title = f"{indicator.label}: every site's headline, ranked, and the pooled estimate"
    if pooled.pooled is not None:
        finding = finding_sentence(f"Pooled across {pooled.k} sites, {indicator.label}", pooled.pooled,
                                   context, indicator.unit)
    else:
        finding = f"No pooled estimate for {indicator.label}: " + " ".join(pooled.warnings)
    return ChartItem(
        key=f"forest-{indicator.id}", kind="forest", section="Across sites", title=title, figure=figure,
        finding=counts.text(finding),
        direction=direction(pooled.pooled, indicator.better), n_text=f"{pooled.k} sites",
        method=pooling_method_line(pooled), warnings=tuple(counts.text(w) for w in pooled.warnings),
        indicator=indicator.id, estimate=pooled.pooled,
        method_name=f"Sites pooled ({METHOD_NAMES.get(pooled.method, pooled.method)})",
    )


def _sustainability_items(store, catalogue: Catalogue, sites: tuple[Site, ...], counts: Counts) -> list[ChartItem]:
    """A domain-profile chart per site and catalogue instrument with a stored assessment (scores of groups of
    1 to the disclosure threshold respondents hidden, as on the Sustainability page)."""
    limit = counts.rule.smallest_shown_group
    assessments = store.sustainability(sites=[s.id for s in sites])
    items = []
    for instrument in catalogue.instruments:
        for site in sites:
            rows = assessments[(assessments["site"] == site.id) & (assessments["instrument"] == instrument.id)]
            if rows.empty:
                continue
            summary = sustainability.sustainability_summary(rows, instrument, threshold=limit,
                                                            site_names={site.id: site.name})
            (own,) = summary.sites
            figure = charts.domain_profile_chart(summary.scores.table, title="",
                                                 scale=(instrument.scale_min, instrument.scale_max), threshold=limit)
            items.append(ChartItem(
                key=f"sustainability-{instrument.id}-{site.id}", kind="sustainability", section="Sustainability",
                title=f"{instrument.short_name} sustainability profile: {site.name}", figure=figure,
                finding=own.sentence, direction="",
                n_text=f"{own.n_respondents} respondents in the round of {own.latest:%B %Y}",
                n_short=f"{own.n_respondents} respondents",
                method=(f"{instrument.name} ({instrument.short_name}), items scored {instrument.scale_text}; domain "
                        "score = mean of its items; mean across respondents with a t-interval; rounds with fewer "
                        f"than {limit} respondents not shown."),
                site=site.id, method_name=f"{instrument.short_name} questionnaire, mean domain scores",
            ))
    return items


def _findings(store, catalogue: Catalogue, project: str, sites: tuple[Site, ...]) -> tuple[tuple[Site, pd.DataFrame], ...]:
    """Each site's facilitators and barriers as the project and site pages list them."""
    rows = store.findings(project=project, sites=[s.id for s in sites])
    out = []
    for site in sites:
        own = rows[rows["site"] == site.id]
        if not own.empty:
            out.append((site, findings_frame(own, catalogue.findings, site_names={site.id: site.name})))
    return tuple(out)


def collect(
    store,
    catalogue: Catalogue,
    project: str,
    *,
    access: Access,
    site: str | None = None,
    progress: Progress | None = None,
    pool_method: str = "DL",
) -> ExportView:
    """The content of a project export (every site in the user's scope) or a site export.

    Raises PermissionError when the site (or every site of the project) is outside the user's scope.
    """
    proj = catalogue.project(project)
    chosen = catalogue.site(site) if site is not None else None
    if chosen is not None and chosen.project != project:
        raise ValueError(f"Site '{site}' belongs to project '{chosen.project}', not '{project}'.")
    sites = tuple(s for s in catalogue.sites_of(project)
                  if access.allows_site(s.id) and (chosen is None or s.id == chosen.id))
    if not sites:
        raise PermissionError(f"{chosen.name if chosen else proj.name} is outside the sites you may see.")
    counts = Counts.for_access(access, catalogue)
    # Many sites: each outcome across them (ranked, pooled); a site's own slides when that site is chosen.
    many = chosen is None and len(sites) > charts_ranked.FOREST_MAX_SITES
    _notify(progress, 0.02, "Reading the data")
    data_sites = list(access.data_scope(catalogue) or [s.id for s in catalogue.sites_of(project, True)])
    series = pd.DataFrame() if many else store.series(project=project, sites=data_sites)
    participants = pd.DataFrame() if many else store.participants(project=project, sites=data_sites)
    site_ids = [s.id for s in sites]
    data_date, synthetic = _data_date(store, project, site_ids)
    records = record.results_of_record(store, catalogue, project, counts, sites=site_ids)
    series_items: list[ChartItem] = []
    participant_items: list[ChartItem] = []
    pooled: list[tuple[Indicator, PoolingResult]] = []
    indicators = catalogue.indicators_of(project)
    shown = None if many else counts.shown_series(series, indicators)
    names = {s.id: s.name for s in catalogue.sites}
    for number, indicator in enumerate(indicators):
        _notify(progress, 0.05 + 0.25 * number / max(len(indicators), 1), f"Analysing {indicator.label}")
        items = series_items if indicator.source == "series" else participant_items
        for s in () if many else sites:
            rec = record.find(records, s.id, indicator.id)
            if rec is None or rec.estimate is None and not rec.method:
                continue
            try:
                result = evaluate.site_result(series, participants, catalogue, s, indicator)
            except AnalysisError:
                continue
            if isinstance(result, ITSResult):
                items.append(_its_item(result, rec, s, indicator, counts, shown, names))
            else:
                rows = participants[(participants["site"] == s.id) & (participants["measure"] == indicator.id)]
                items.append(_prepost_item(result, rows, rec, s, indicator, counts, access.can_see_participants))
        if len(sites) >= 2:
            try:
                result = record.pool(records, indicator, method=pool_method)
            except AnalysisError:
                continue
            pooled.append((indicator, result))
            items.append(_across_sites_item(result, indicator, counts, record.pooled_context(records, indicator),
                                            records if many else None))

    own_sites = () if many else sites
    funnel = [i for i in catalogue.indicators_of(project, "series") if i.funnel_stage]
    uptake = [_funnel_item(series, funnel, s, counts) for s in own_sites] if funnel else []
    equity_items = [_equity_item(series, s, i, counts) for i in catalogue.indicators_of(project, "series")
                    if i.headline and "ethnicity" in i.breakdowns for s in own_sites]
    items = series_items + [i for i in uptake + equity_items if i is not None] + participant_items
    items += _sustainability_items(store, catalogue, own_sites, counts) if own_sites else []
    findings = _findings(store, catalogue, project, sites)
    synth = export_synth.sections(store, catalogue, project, own_sites, counts, access, records) if own_sites else ()

    order = {s.id: n for n, s in enumerate(sites)}
    view = ExportView(
        project=proj, site=chosen, sites=sites, data_date=data_date, exported=f"{dt.date.today():%-d %B %Y}",
        synthetic=synthetic, counts=counts, indicators=indicators,
        records=tuple(sorted(records, key=lambda r: order[r.site])), items=tuple(items),
        pooled=tuple(pooled), findings=findings, synth=synth,
    )
    view = replace(view, methods=_methods(view), caveats=_caveats(view), tables=results_tables(view))
    _notify(progress, 0.3, "Results ready")
    return view


def _methods(view: ExportView) -> tuple[str, ...]:
    """One line per method used, in the order the slides use them."""
    lines = list(dict.fromkeys([item.method for item in view.items] + export_synth.methods_lines(view.synth)))
    lines.append("Each finding gives its 95% confidence interval; where the interval includes no change the "
                 "finding says it is consistent with no change.")
    return tuple(lines)


def _caveats(view: ExportView) -> tuple[str, ...]:
    """Every warning of the analyses shown, once, named by site and indicator."""
    notes = []
    if view.synthetic:
        notes.append(SYNTHETIC_MARKER + ".")
    if view.suppressed:
        notes.append(view.suppression_text)
    if view.many_sites:
        notes.append(f"With {len(view.sites)} sites, each outcome is shown across all of them (every site's result "
                     "ranked, with the pooled estimate); choose a site for its own charts, sustainability profile "
                     "and synthetic-control analysis.")
    for item in view.items:
        where = "Across sites" if item.kind == "forest" else item.title
        notes.extend(f"{where}: {w}" for w in item.warnings)
    notes.extend(export_synth.caveats(view.synth))
    return tuple(dict.fromkeys(notes))


RESULTS_COLUMNS = {
    "site_name": "Site", "label": "Indicator", "method_name": "Analysis", "quantity": "What the estimate is", "estimate": "Estimate",
    "ci_low": "CI low", "ci_high": "CI high", "p_value": "p-value", "scale": "Scale", "n": "n", "n_unit": "n counts",
    "n_comparison": "Comparison months", "period": "Period", "method": "Method", "direction": "Direction",
    "sentence": "Finding", "warnings": "Warnings",
}


def results_tables(view: ExportView) -> dict[str, pd.DataFrame]:
    """The results behind the slides as tables: the results of record (one row per site and indicator, from
    their tidy frame) and the pooled estimates with each site's headline row; with demo data every row says
    it is synthetic, so a table that leaves the dashboard cannot pass for findings."""
    tidy = record.tidy(view.records)
    results = tidy[list(RESULTS_COLUMNS)].rename(columns=RESULTS_COLUMNS)
    results.insert(0, "Project", view.project.short_name)
    results["n"] = [r.n_text.split(" ")[0] if r.n_text else "" for r in view.records]
    results["Scale"] = results["Scale"].map({"ratio": "ratio (1 = no change)", "difference": "difference"}).fillna("")
    results = results.round({"Estimate": 4, "CI low": 4, "CI high": 4, "p-value": 4})
    pooled_rows = []
    for indicator, result in view.pooled:
        for site in result.sites.itertuples(index=False):
            own = next((r for r in view.records if r.indicator == indicator.id and r.site_name == site.label), None)
            pooled_rows.append({"Indicator": indicator.label, "What the estimate is": own.quantity if own else "",
                                "Estimate of": site.label, "Estimate": site.estimate,
                                "CI low": site.ci_low, "CI high": site.ci_high,
                                "Weight (%)": site.weight_percent})
        if result.pooled is not None:
            pooled_rows.append({
                "Indicator": indicator.label, "What the estimate is": record.pooled_quantity(view.records, indicator),
                "Estimate of": f"Pooled ({METHOD_NAMES.get(result.method, result.method)})",
                "Estimate": result.pooled.estimate, "CI low": result.pooled.ci_low, "CI high": result.pooled.ci_high,
                "Weight (%)": 100.0, "I² (%)": result.i2, "τ²": result.tau2,
                "Prediction low": result.prediction_low, "Prediction high": result.prediction_high,
            })
    tables = {"results": results}
    if pooled_rows:
        tables["pooled"] = pd.DataFrame(pooled_rows).round(4)
    if view.synth:
        tables["synth"] = export_synth.table(view.synth)
    if view.synthetic:
        for table in tables.values():
            table.insert(0, "Data", SYNTHETIC_MARKER)
    return tables


# ------------------------------------------------------------------------------------------------ deck

DIRECTION_FILLS = {
    "improvement": charts.NHS_BLUE,
    "deterioration": charts.NHS_ORANGE,
    "no clear change": charts.NHS_DARK_GREY,
    "no estimate": charts.NHS_MID_GREY,
}


def deck_from_view(view: ExportView, *, audience: str = "evaluators", progress: Progress | None = None,
                   images: ChartRenderer | None = None) -> bytes:
    """The PowerPoint deck of a view (mhin_eval.deck): for evaluators (default) or the public."""
    from mhin_eval import deck

    return deck.deck_from_view(view, audience=audience, progress=progress, images=images)


# ------------------------------------------------------------------------------------------------ report

REPORT_CSS = f"""
body {{ font-family: Arial, Helvetica, sans-serif; color: {charts.NHS_TEXT}; margin: 0; background: #F0F4F5; }}
header {{ background: {charts.NHS_BLUE}; color: white; padding: 24px 40px; }}
header h1 {{ margin: 0 0 8px; font-size: 32px; }}
header p {{ margin: 4px 0; font-size: 17px; }}
main {{ max-width: 1180px; margin: 0 auto; padding: 16px 40px 40px; }}
section.item, section.block {{ background: white; margin: 20px 0; padding: 20px 24px; border-top: 4px solid {charts.NHS_BLUE}; }}
h2 {{ color: {charts.NHS_DARK_BLUE}; margin: 32px 0 8px; }}
h3 {{ color: {charts.NHS_DARK_BLUE}; margin: 0 0 8px; font-size: 22px; }}
.finding {{ font-size: 19px; font-weight: bold; margin: 8px 0; }}
.meta {{ color: {charts.NHS_DARK_GREY}; margin: 4px 0; }}
.direction {{ display: inline-block; padding: 2px 10px; border-radius: 4px; color: white; font-weight: bold; }}
.synthetic {{ background: {charts.NHS_WARM_YELLOW}; color: {charts.NHS_TEXT}; padding: 12px 16px; font-weight: bold;
             margin: 16px 0; border-radius: 4px; }}
.suppressed {{ background: {charts.NHS_PALE_GREY}; padding: 10px 16px; margin: 16px 0; border-radius: 4px; }}
.caveats li {{ margin: 4px 0; }}
table {{ border-collapse: collapse; width: 100%; font-size: 15px; }}
th {{ background: {charts.NHS_BLUE}; color: white; text-align: left; padding: 6px 8px; }}
td {{ border-bottom: 1px solid {charts.NHS_PALE_GREY}; padding: 6px 8px; vertical-align: top; }}
.chart {{ min-height: 300px; }}
footer {{ color: {charts.NHS_DARK_GREY}; font-size: 13px; padding: 0 40px 30px; max-width: 1180px; margin: 0 auto; }}
"""


def _esc(text) -> str:
    """Text in the HTML report: always plain text (mhin_eval.text)."""
    return html_text(text)


def report_html(view: ExportView) -> str:
    """A self-contained HTML report of a view: plotly.js inline, so it opens and draws every chart offline."""
    from plotly.offline import get_plotlyjs

    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(view.title)}</title><style>{REPORT_CSS}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<header><h1>{_esc(view.title)}</h1><p>{_esc(view.scope_text)}</p>"
        f"<p>{_esc(view.data_date)} · exported {_esc(view.exported)}</p></header><main>",
    ]
    if view.synthetic:
        parts.append(f'<div class="synthetic" id="synthetic-marker">{_esc(SYNTHETIC_MARKER)}.</div>')
    if view.suppressed:
        parts.append(f'<div class="suppressed">{_esc(view.suppression_text)}</div>')
    parts.append("<h2>Results at a glance</h2>")
    for site in view.sites:
        rows = "".join(
            f"<tr><td>{_esc(h.label)}</td><td>{_esc(change_phrase(h.estimate, view.unit(h.indicator)) if h.estimate else 'no estimate')}"
            f"</td><td>{_esc(DIRECTION_ICONS[h.direction])}</td><td>{_esc(h.n_text)}</td></tr>"
            for h in view.records if h.site == site.id
        )
        parts.append(f'<section class="block"><h3>{_esc(site.name)}</h3><table><thead><tr><th>Indicator</th>'
                     f"<th>Change (95% CI)</th><th>Direction</th><th>n</th></tr></thead><tbody>{rows}</tbody></table>"
                     "</section>")
    section = None
    for item in view.items:
        if item.section != section:
            section = item.section
            parts.append(f"<h2>{_esc(section)}</h2>")
        chart = item.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{item.key}",
                                    config={"displaylogo": False, "responsive": True})
        warnings = "".join(f"<li>{_esc(w)}</li>" for w in item.warnings)
        colour = DIRECTION_FILLS.get(item.direction, charts.NHS_MID_GREY)
        parts.append(
            f'<section class="item" id="{_esc(item.key)}"><h3>{_esc(item.title)}</h3>'
            f'<span class="direction" style="background:{colour}">{_esc(DIRECTION_ICONS.get(item.direction, ""))}</span>'
            f'<p class="finding">{_esc(item.finding)}</p><p class="meta">{_esc(item.n_text)}</p>'
            f'<div class="chart">{chart}</div><p class="meta">{_esc(item.method)}</p>'
            + (f'<ul class="caveats meta">{warnings}</ul>' if warnings else "") + "</section>"
        )
    parts.append(export_synth.report_html(view.synth))
    if view.findings:
        parts.append("<h2>Facilitators and barriers</h2>")
    for site, findings in view.findings:
        lists = []
        for kind in ("Facilitator", "Barrier"):
            part = findings[findings["Kind"] == kind]
            items = "".join(
                f"<li><b>{_esc(r.Domain)}</b>: {_esc(r.Summary)} ({_esc(r.Source.lower())}, {_esc(r.Date)})"
                + (f"<br><i>“{_esc(r.Quote)}”</i>" if r.Quote else "") + "</li>"
                for r in part.itertuples()
            )
            lists.append(f"<h4>{kind}s ({len(part)})</h4><ul>{items or '<li>None recorded.</li>'}</ul>")
        parts.append(f'<section class="block" id="findings-{_esc(site.id)}"><h3>{_esc(site.name)}</h3>'
                     + "".join(lists) + "</section>")
    parts.append('<h2>Methods and caveats</h2><section class="block"><h3>Methods</h3><ul>'
                 + "".join(f"<li>{_esc(m)}</li>" for m in view.methods) + "</ul><h3>Caveats</h3><ul class=\"caveats\">"
                 + "".join(f"<li>{_esc(c)}</li>" for c in view.caveats) + "</ul></section>")
    for name, table in view.tables.items():
        parts.append(f'<h2>Table: {_esc(name)}</h2><section class="block">'
                     + table.to_html(index=False, na_rep="", escape=True, border=0) + "</section>")
    parts.append("</main><footer>MHIN evaluation dashboard. Figures computed by the same functions as the "
                 "dashboard's pages; see the Methods page for the full methods text.</footer></body></html>")
    return "\n".join(parts)


def table_bytes(view: ExportView, name: str = "results", fmt: str = "csv") -> bytes:
    """A results table as CSV or Excel, with spreadsheet formulas made inert (access.downloads)."""
    from mhin_eval.access.downloads import to_csv_bytes, to_excel_bytes

    if name not in view.tables:
        raise KeyError(f"No table '{name}'; this export has {', '.join(view.tables)}.")
    if fmt == "csv":
        return to_csv_bytes(view.tables[name])
    if fmt == "xlsx":
        return to_excel_bytes(view.tables[name], sheet_name=name)
    raise ValueError(f"table format must be csv or xlsx, not {fmt!r}")


# ------------------------------------------------------------------------------------------------ one call


def build_deck(store, catalogue: Catalogue, project: str, *, access: Access, site: str | None = None,
               progress: Progress | None = None) -> bytes:
    """One click: the PowerPoint deck of a project (every site in scope) or of one site."""
    return deck_from_view(collect(store, catalogue, project, access=access, site=site, progress=progress),
                          progress=progress)


def build_report(store, catalogue: Catalogue, project: str, *, access: Access, site: str | None = None) -> str:
    """The self-contained HTML report of a project or site."""
    return report_html(collect(store, catalogue, project, access=access, site=site))


def projector_figure(fig: go.Figure, scale: float = 1.4, height: int | None = 640, width: float = 1100) -> go.Figure:
    """The same chart in large type for a projector: every font size times ``scale`` (markers and lines
    unchanged), margins grown to fit, a legend under the chart at its foot (laid out for ``width`` pixels) and
    a taller plot (``height`` None: as tall as its container)."""

    def grow(node, in_font: bool = False):
        if isinstance(node, dict):
            for name, value in node.items():
                if in_font and name == "size" and isinstance(value, (int, float)):
                    node[name] = round(value * scale, 1)
                else:
                    grow(value, name in ("font", "textfont", "tickfont", "insidetextfont", "outsidetextfont"))
        elif isinstance(node, list):
            for value in node:
                grow(value)

    big = go.Figure(fig)
    layout = big.layout.to_plotly_json()
    layout.setdefault("font", {}).setdefault("size", 14)
    layout.pop("template", None)
    grow(layout)
    margin = layout.setdefault("margin", {})
    for side in ("l", "r", "t", "b"):
        if isinstance(margin.get(side), (int, float)):
            margin[side] = round(margin[side] * scale)
    layout["height"] = height
    _legend_at_foot(layout, big.data, width)
    big.update_layout(**layout)
    if height is None:
        big.layout.height, big.layout.autosize = None, True
    for trace in big.data:
        size = getattr(getattr(trace, "textfont", None), "size", None)
        if isinstance(size, (int, float)):
            trace.textfont.size = round(size * scale, 1)
    return big


def _legend_at_foot(layout: dict, traces, width: float = 1100) -> None:
    """A horizontal legend under the chart moved to the figure's foot, with a bottom margin for the tick labels,
    the x-axis title and the legend's rows at ``width`` pixels: a chart whose height follows its container
    cannot hang its legend a fixed fraction of the plot height below the axis."""
    legend = layout.get("legend") or {}
    if legend.get("orientation") != "h" or (legend.get("yref") != "container" and legend.get("y", 1) >= 0):
        return
    font = (legend.get("font") or {}).get("size") or layout["font"]["size"]
    names = [t.name for t in traces if t.name and t.showlegend is not False]
    entries = [len(n) * font * 0.55 + 50 for n in dict.fromkeys(names)]
    # plotly lines a wrapping horizontal legend up in columns as wide as its widest entry
    per_row = max(1, int((width - 40) // max(entries))) if entries else 1
    rows = -(-len(entries) // per_row) if sum(entries) > width - 40 else 1
    tick = (((layout.get("xaxis") or {}).get("tickfont") or {}).get("size") or layout["font"]["size"])
    x_title = ((layout.get("xaxis") or {}).get("title") or {}).get("text")
    bottom = tick * 2.2 + (tick * 1.8 if x_title else 0) + (rows * font * 1.6 if entries else 0) + 8
    legend.update(yref="container", y=0, yanchor="bottom")
    layout["legend"] = legend
    layout.setdefault("margin", {})["b"] = round(bottom)
