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
import io
import os
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from mhin_eval import charts, evaluate, export_synth, record
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
        """Slides of the deck: title, a glance per site, a chart per item, one against similar sites per donor-pool
        site, findings per site, methods."""
        return 1 + len(self.sites) + len(self.items) + len(self.synth) + len(self.findings) + 1

    @property
    def threshold(self) -> int:
        return self.counts.threshold

    def unit(self, indicator: str) -> str:
        return next((i.unit for i in self.indicators if i.id == indicator), "")

    @property
    def title(self) -> str:
        return f"{self.project.name}: {self.site.name}" if self.site else self.project.name

    @property
    def scope_text(self) -> str:
        if self.site is not None:
            return f"{self.site.name} · go-live {self.site.go_live:%B %Y}"
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
    return (f"Sites pooled by {METHOD_NAMES.get(result.method, result.method)} on the "
            f"{'log ratio' if result.scale == 'ratio' else 'difference'} scale; squares sized by weight; "
            f"dotted line: {result.conf_level:.0%} prediction interval.")


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
        site=site.id, indicator=indicator.id, estimate=rec.estimate,
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
        indicator=indicator.id, estimate=rec.estimate,
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
        method="Sums of the monthly counts from go-live to the latest month.",
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
        indicator=indicator.id, estimate=estimate,
    )


def _forest_item(pooled: PoolingResult, indicator: Indicator, counts: Counts, context: str) -> ChartItem:
    x_title = "Ratio of observed to expected" if pooled.scale == "ratio" else f"Difference ({indicator.unit})"
    if indicator.source == "participant" and pooled.scale == "ratio":
        x_title = "Rate ratio, after vs before"
    figure = charts.forest_plot(pooled, title="", x_title=x_title)
    if pooled.pooled is not None:
        finding = finding_sentence(f"Pooled across {pooled.k} sites, {indicator.label}", pooled.pooled,
                                   context, indicator.unit)
    else:
        finding = f"No pooled estimate for {indicator.label}: " + " ".join(pooled.warnings)
    return ChartItem(
        key=f"forest-{indicator.id}", kind="forest", section="Across sites",
        title=f"{indicator.label}: each site's headline and the pooled estimate", figure=figure,
        finding=counts.text(finding),
        direction=direction(pooled.pooled, indicator.better), n_text=f"{pooled.k} sites",
        method=pooling_method_line(pooled), warnings=tuple(counts.text(w) for w in pooled.warnings),
        indicator=indicator.id, estimate=pooled.pooled,
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
                site=site.id,
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
    _notify(progress, 0.02, "Reading the data")
    data_sites = list(access.data_scope(catalogue) or [s.id for s in catalogue.sites_of(project, True)])
    series = store.series(project=project, sites=data_sites)
    participants = store.participants(project=project, sites=data_sites)
    site_ids = [s.id for s in sites]
    data_date, synthetic = _data_date(store, project, site_ids)
    records = record.results_of_record(store, catalogue, project, counts, sites=site_ids)
    series_items: list[ChartItem] = []
    participant_items: list[ChartItem] = []
    pooled: list[tuple[Indicator, PoolingResult]] = []
    indicators = catalogue.indicators_of(project)
    shown = counts.shown_series(series, indicators)
    names = {s.id: s.name for s in catalogue.sites}
    for number, indicator in enumerate(indicators):
        _notify(progress, 0.05 + 0.25 * number / max(len(indicators), 1), f"Analysing {indicator.label}")
        items = series_items if indicator.source == "series" else participant_items
        for s in sites:
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
            items.append(_forest_item(result, indicator, counts, record.pooled_context(records, indicator)))

    funnel = [i for i in catalogue.indicators_of(project, "series") if i.funnel_stage]
    uptake = [_funnel_item(series, funnel, s, counts) for s in sites] if funnel else []
    equity_items = [_equity_item(series, s, i, counts) for i in catalogue.indicators_of(project, "series")
                    if i.headline and "ethnicity" in i.breakdowns for s in sites]
    items = series_items + [i for i in uptake + equity_items if i is not None] + participant_items
    items += _sustainability_items(store, catalogue, sites, counts)
    findings = _findings(store, catalogue, project, sites)
    synth = export_synth.sections(store, catalogue, project, sites, counts, access, records)

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

SLIDE_WIDTH, SLIDE_HEIGHT = 13.333, 7.5  # inches, 16:9
FONT = "Arial"
IMAGE_SCALE = 3  # PNG pixels per CSS pixel: ~280 dpi on the slide
SIDE_CHART = (780, 520)  # CSS pixels of a chart beside its finding (8.4 x 5.6 in on the slide)
WIDE_CHART = (1120, 430)  # a forest plot across the slide
DIRECTION_FILLS = {
    "improvement": charts.NHS_BLUE,
    "deterioration": charts.NHS_ORANGE,
    "no clear change": charts.NHS_DARK_GREY,
    "no estimate": charts.NHS_MID_GREY,
}


def _text_height(text: str, width: float, size: int) -> float:
    """Inches that ``text`` takes at ``size`` pt wrapped to ``width`` inches, estimated with Arial's mean
    character width (about half an em; bold a little wider)."""
    per_line = max(8, int(width * 72 / (size * 0.55)))
    lines = sum(len(textwrap.wrap(part, per_line)) or 1 for part in text.split("\n"))
    return lines * size * 1.2 / 72


def _fit_size(text: str, width: float, height: float, sizes=(20, 18, 16, 14, 13, 12, 11, 10)) -> int:
    """The largest font size (pt) at which ``text`` fits a box of ``width`` x ``height`` inches, so that no
    slide relies on PowerPoint's shrink-on-overflow, which other viewers ignore."""
    return next((size for size in sizes if _text_height(text, width, size) <= height), sizes[-1])


class _Deck:
    """python-pptx with the NHS-style template: white slides, NHS blue bar and title, grey footer."""

    def __init__(self, view: ExportView):
        from pptx import Presentation
        from pptx.util import Inches

        self.view = view
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(SLIDE_WIDTH), Inches(SLIDE_HEIGHT)
        self.prs.core_properties.title = view.title
        self.prs.core_properties.subject = "MHIN evaluation results" + (" (synthetic demo data)" if view.synthetic else "")
        self.prs.core_properties.author = "MHIN evaluation dashboard"

    # -- primitives

    @staticmethod
    def _rgb(colour: str):
        from pptx.dml.color import RGBColor

        return RGBColor.from_string(colour.lstrip("#").upper())

    def text(self, slide, box: tuple[float, float, float, float], paragraphs, *, size: int = 14,
             colour: str = charts.NHS_TEXT, bold: bool = False, italic: bool = False, align: str = "left",
             anchor: str = "top", name: str | None = None):
        """A text box; ``paragraphs`` are strings or (text, overrides) pairs."""
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches, Pt

        shape = slide.shapes.add_textbox(*(Inches(v) for v in box))
        if name:
            shape.name = name
        frame = shape.text_frame
        frame.word_wrap = True
        frame.margin_left = frame.margin_right = Inches(0.05)
        frame.margin_top = frame.margin_bottom = Inches(0.03)
        frame.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE, "bottom": MSO_ANCHOR.BOTTOM}[anchor]
        for i, paragraph in enumerate([paragraphs] if isinstance(paragraphs, (str, tuple)) else paragraphs):
            text, style = (paragraph, {}) if isinstance(paragraph, str) else paragraph
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            p.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}[align]
            if style.get("space_before"):
                p.space_before = Pt(style["space_before"])
            run = p.add_run()
            run.text = text
            font = run.font
            font.name = FONT
            font.size = Pt(style.get("size", size))
            font.bold = style.get("bold", bold)
            font.italic = style.get("italic", italic)
            font.color.rgb = self._rgb(style.get("colour", colour))
        return shape

    def box(self, slide, box, fill: str, *, text: str = "", size: int = 12, colour: str = "#FFFFFF",
            bold: bool = True, rounded: bool = False, name: str | None = None):
        from pptx.enum.shapes import MSO_SHAPE
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches, Pt

        kind = MSO_SHAPE.ROUNDED_RECTANGLE if rounded else MSO_SHAPE.RECTANGLE
        shape = slide.shapes.add_shape(kind, *(Inches(v) for v in box))
        if name:
            shape.name = name
        shape.fill.solid()
        shape.fill.fore_color.rgb = self._rgb(fill)
        shape.line.fill.background()
        shape.shadow.inherit = False
        if text:
            frame = shape.text_frame
            frame.word_wrap = True
            frame.margin_left = frame.margin_right = Inches(0.08)
            frame.vertical_anchor = MSO_ANCHOR.MIDDLE
            p = frame.paragraphs[0]
            p.alignment = PP_ALIGN.CENTER
            run = p.add_run()
            run.text = text
            run.font.name, run.font.size, run.font.bold = FONT, Pt(size), bold
            run.font.color.rgb = self._rgb(colour)
        return shape

    def slide(self, title: str):
        """A content slide: NHS blue bar, title (a real title placeholder, so outlines and tools see it), footer."""
        from pptx.util import Inches, Pt

        slide = self.prs.slides.add_slide(self.prs.slide_layouts[5])
        self.box(slide, (0, 0, SLIDE_WIDTH, 0.12), charts.NHS_BLUE, name="top bar")
        self.box(slide, (SLIDE_WIDTH - 2.05, 0.3, 1.65, 0.42), charts.NHS_BLUE, text="MHIN evaluation", size=12,
                 name="brand")
        holder = slide.shapes.title
        holder.left, holder.top, holder.width, holder.height = Inches(0.45), Inches(0.22), Inches(10.7), Inches(1.0)
        frame = holder.text_frame
        frame.word_wrap = True
        frame.margin_left = Inches(0.05)
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        holder.text = title
        p = frame.paragraphs[0]
        p.alignment = PP_ALIGN.LEFT
        for run in p.runs:
            run.font.name = FONT
            run.font.bold = True
            run.font.size = Pt(_fit_size(title, 10.6, 0.95, sizes=(28, 26, 24, 22, 20, 18)))
            run.font.color.rgb = self._rgb(charts.NHS_DARK_BLUE)
        self.footer(slide)
        return slide

    def footer(self, slide, *, dark: bool = False):
        view = self.view
        colour = "#FFFFFF" if dark else charts.NHS_DARK_GREY
        left = f"MHIN evaluation · {view.project.short_name} · {view.site.name if view.site else 'all sites'} · {view.data_date}"
        self.text(slide, (0.45, 7.08, 7.2, 0.32), left, size=10, colour=colour, anchor="middle", name="footer")
        x = 12.2
        if view.suppressed:
            x -= 2.45
            self.box(slide, (x, 7.1, 2.35, 0.28), charts.NHS_PALE_GREY, text=f"Counts 1–{view.threshold} suppressed",
                     size=9, colour=charts.NHS_TEXT, rounded=True, name="suppression marker")
        if view.synthetic:
            x -= 2.65
            self.box(slide, (x, 7.1, 2.55, 0.28), charts.NHS_WARM_YELLOW, text="SYNTHETIC DEMO DATA", size=10,
                     colour=charts.NHS_TEXT, rounded=True, name="synthetic marker")

    def picture(self, slide, png: bytes, left: float, top: float, width: float):
        from pptx.util import Inches

        return slide.shapes.add_picture(io.BytesIO(png), Inches(left), Inches(top), width=Inches(width))

    def number_slides(self):
        total = len(self.prs.slides)
        for number, slide in enumerate(self.prs.slides, start=1):
            if number == 1:
                continue
            self.text(slide, (12.25, 7.08, 0.75, 0.32), f"{number}/{total}", size=10, colour=charts.NHS_DARK_GREY,
                      align="right", anchor="middle", name="slide number")

    def save(self) -> bytes:
        out = io.BytesIO()
        self.prs.save(out)
        return out.getvalue()

    # -- slides

    def title_slide(self):
        view = self.view
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[5])
        slide.background.fill.solid()
        slide.background.fill.fore_color.rgb = self._rgb(charts.NHS_BLUE)
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Inches, Pt

        holder = slide.shapes.title
        holder.left, holder.top, holder.width, holder.height = Inches(0.8), Inches(1.4), Inches(11.7), Inches(1.9)
        holder.text = view.title
        holder.text_frame.word_wrap = True
        for run in holder.text_frame.paragraphs[0].runs:
            run.font.name, run.font.bold = FONT, True
            run.font.size = Pt(_fit_size(view.title, 11.6, 1.8, sizes=(40, 36, 32, 28)))
            run.font.color.rgb = self._rgb("#FFFFFF")
        holder.text_frame.paragraphs[0].alignment = PP_ALIGN.LEFT
        lines = [(view.scope_text, {"size": _fit_size(view.scope_text, 11.6, 0.9, (22, 20, 18, 16))}),
                 (f"{view.data_date} · exported {view.exported}", {"size": 18, "space_before": 10})]
        if view.suppressed:
            lines.append((view.suppression_text, {"size": 14, "space_before": 10}))
        self.text(slide, (0.8, 3.4, 11.7, 1.9), lines, colour="#FFFFFF", name="subtitle")
        if view.synthetic:
            self.box(slide, (0.8, 5.5, 11.7, 0.7), charts.NHS_WARM_YELLOW, text=SYNTHETIC_MARKER, size=18,
                     colour=charts.NHS_TEXT, rounded=True, name="synthetic marker")
        self.text(slide, (0.8, 6.6, 11.7, 0.4), "Mental Health Implementation Network · evaluation dashboard",
                  size=12, colour="#FFFFFF", name="footer")
        return slide

    def glance_slide(self, site: Site, headlines: list[ResultOfRecord]):
        """Results at a glance: one row per indicator with its change in words, direction and n."""
        from pptx.util import Inches, Pt

        slide = self.slide(f"Results at a glance: {site.name}")
        widths = (3.3, 5.9, 1.75, 1.45)
        rows = len(headlines) + 1
        height = min(5.5, 0.45 + 0.62 * len(headlines))
        shape = slide.shapes.add_table(rows, 4, Inches(0.45), Inches(1.35), Inches(sum(widths)), Inches(height))
        shape.name = "results table"
        table = shape.table
        for column, width in enumerate(widths):
            table.columns[column].width = Inches(width)
        cells = [("Indicator", "Change (95% CI)", "Direction", "n")]
        for h in headlines:
            change = change_phrase(h.estimate, self.view.unit(h.indicator)) if h.estimate is not None else "no estimate"
            cells.append((h.label, change, DIRECTION_ICONS[h.direction], h.n_text))
        size = 14 if len(headlines) <= 7 else 12
        for r, values in enumerate(cells):
            for c, value in enumerate(values):
                cell = table.cell(r, c)
                cell.text = str(value)
                cell.margin_left = cell.margin_right = Inches(0.08)
                for p in cell.text_frame.paragraphs:
                    for run in p.runs:
                        run.font.name, run.font.size = FONT, Pt(size)
                        run.font.bold = r == 0
                        run.font.color.rgb = self._rgb("#FFFFFF" if r == 0 else charts.NHS_TEXT)
                cell.fill.solid()
                cell.fill.fore_color.rgb = self._rgb(charts.NHS_BLUE if r == 0 else
                                                     ("#FFFFFF" if r % 2 else "#F0F4F5"))
        horizon = next((r.quantity for r in headlines if r.source == "series" and r.quantity), "")
        note = ("Change over time: " + horizon + "." if horizon else "") + " Before and after: baseline vs follow-up."
        self.text(slide, (0.45, 6.62, 12.3, 0.4), note, size=11, colour=charts.NHS_DARK_GREY, name="note")
        return slide

    def chart_slide(self, item: ChartItem, png: bytes):
        """A chart beside its finding, CI, n, caveats and method."""
        slide = self.slide(item.title)
        self.picture(slide, png, 0.35, 1.32, 8.45).name = "chart"
        x, width = 9.05, 3.85
        if item.direction:
            self.box(slide, (x, 1.4, width, 0.46), DIRECTION_FILLS.get(item.direction, charts.NHS_MID_GREY),
                     text=DIRECTION_ICONS.get(item.direction, item.direction), size=14, rounded=True, name="direction")
        size = _fit_size(item.finding, width - 0.1, 2.5)
        self.text(slide, (x, 2.0, width, 2.55), item.finding, size=size, bold=True, name="finding")
        top = 2.0 + _text_height(item.finding, width - 0.1, size) + 0.2
        n_size = _fit_size(item.n_text, width - 0.1, 0.5, (14, 12, 11))
        self.text(slide, (x, top, width, 0.55), item.n_text, size=n_size, colour=charts.NHS_DARK_GREY, name="n")
        top += _text_height(item.n_text, width - 0.1, n_size) + 0.2
        caveats = " ".join(item.warnings[:2])
        if caveats:
            room = 6.0 - top
            self.text(slide, (x, top, width, room), caveats, italic=True, colour=charts.NHS_DARK_GREY,
                      size=_fit_size(caveats, width - 0.1, room, (12, 11, 10, 9)), name="caveats")
        self.text(slide, (x, 6.1, width, 0.85), item.method, size=_fit_size(item.method, width - 0.1, 0.8, (11, 10, 9)),
                  colour=charts.NHS_DARK_GREY, name="method")
        return slide

    def native_chart_slide(self, item: ChartItem):
        """A simple bar chart as an editable PowerPoint chart (data editable in PowerPoint), with its finding."""
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
        from pptx.util import Inches, Pt

        native = item.native
        slide = self.slide(item.title)
        # PowerPoint draws the first category and series at the bottom: give both in reverse, so the first
        # step is at the top as on screen, with the value axis below in every viewer.
        data = CategoryChartData(number_format="#,##0")
        data.categories = list(native.categories)[::-1]
        for name, values in native.series[::-1]:
            data.add_series(name, list(values)[::-1])
        frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, Inches(0.45), Inches(1.35), Inches(8.3),
                                       Inches(5.55), data)
        frame.name = "chart"
        chart = frame.chart
        chart.font.name, chart.font.size = FONT, Pt(14)
        chart.has_legend = len(native.series) > 1
        if chart.has_legend:
            chart.legend.position = XL_LEGEND_POSITION.BOTTOM
            chart.legend.include_in_layout = False
        category_axis = chart.category_axis
        category_axis.has_major_gridlines = False
        value_axis = chart.value_axis
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = self._rgb(charts.NHS_PALE_GREY)
        value_axis.has_title = bool(native.value_title)
        if native.value_title:
            value_axis.axis_title.text_frame.text = native.value_title
        plot = chart.plots[0]
        plot.gap_width, plot.overlap = 60, 0
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format, labels.number_format_is_linked = "#,##0", False
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        labels.font.size = Pt(12)
        for series, colour in zip(reversed(plot.series), charts.SERIES_COLOURS, strict=False):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = self._rgb(colour)
        x, width = 9.05, 3.85
        size = _fit_size(item.finding, width - 0.1, 2.4)
        self.text(slide, (x, 1.45, width, 2.5), item.finding, size=size, bold=True, name="finding")
        top = 1.45 + _text_height(item.finding, width - 0.1, size) + 0.2
        self.text(slide, (x, top, width, 0.8), item.n_text, size=13, colour=charts.NHS_DARK_GREY, name="n")
        note = "Editable chart: right-click > Edit Data in PowerPoint."
        if self.view.suppressed:
            note = f"Bars without a label are counts from 1 to {self.view.threshold} (suppressed). " + note
        self.text(slide, (x, 5.3, width, 0.7), note, size=11, italic=True, colour=charts.NHS_DARK_GREY, name="caveats")
        self.text(slide, (x, 6.1, width, 0.85), item.method, size=_fit_size(item.method, width - 0.1, 0.8, (11, 10, 9)),
                  colour=charts.NHS_DARK_GREY, name="method")
        return slide

    def forest_slide(self, item: ChartItem, png: bytes):
        slide = self.slide(item.title)
        self.text(slide, (0.45, 1.3, 12.4, 0.8), item.finding, size=_fit_size(item.finding, 12.3, 0.75, (18, 16, 14)),
                  bold=True, name="finding")
        self.picture(slide, png, 0.85, 2.12, 11.6).name = "chart"
        line = item.method + (" " + " ".join(item.warnings[:1]) if item.warnings else "")
        self.text(slide, (0.45, 6.6, 12.4, 0.45), line, size=_fit_size(line, 12.3, 0.42, (11, 10, 9)),
                  colour=charts.NHS_DARK_GREY, name="method")
        return slide

    def findings_slide(self, site: Site, findings: pd.DataFrame):
        """Facilitators beside barriers from the implementation-findings register (the rest in the report)."""
        slide = self.slide(f"Facilitators and barriers: {site.name}")
        for x, kind in ((0.45, "Facilitator"), (6.85, "Barrier")):
            part = findings[findings["Kind"] == kind]
            self.text(slide, (x, 1.35, 6.0, 0.4), f"{kind}s ({len(part)})", size=18, bold=True,
                      colour=charts.NHS_DARK_BLUE, name=f"{kind.lower()}s-heading")
            lines = [f"{r.Domain}: {r.Summary} ({r.Source.lower()}, {r.Date})" for r in part.itertuples()]
            shown = lines[:6] + ([f"… and {len(lines) - 6} more in the HTML report."] if len(lines) > 6 else [])
            text = shown or ["None recorded."]
            self.text(slide, (x, 1.8, 6.0, 5.0), [(t, {"space_before": 6}) for t in text],
                      size=_fit_size("\n".join(text), 5.9, 4.9, (16, 14, 12, 11, 10)), name=f"{kind.lower()}s")
        return slide

    def methods_slide(self):
        view = self.view
        slide = self.slide("Methods and caveats")
        size = _fit_size("\n".join(view.methods), 5.9, 5.0, (16, 14, 13, 12, 11, 10))
        self.text(slide, (0.45, 1.35, 6.0, 0.4), "Methods", size=18, bold=True, colour=charts.NHS_DARK_BLUE)
        self.text(slide, (0.45, 1.8, 6.0, 5.1), [(t, {"space_before": 6}) for t in view.methods], size=size,
                  name="methods")
        caveats = list(view.caveats)
        shown = caveats
        while shown:
            text = "\n".join(shown)
            if _fit_size(text, 6.0, 5.0, (14, 12, 11, 10, 9)) > 9 or len(shown) == 1:
                break
            shown = shown[:-1]
        if len(shown) < len(caveats):
            shown = shown[:-1] + [f"… and {len(caveats) - len(shown) + 1} more in the HTML report."]
        self.text(slide, (6.85, 1.35, 6.0, 0.4), "Caveats", size=18, bold=True, colour=charts.NHS_DARK_BLUE)
        self.text(slide, (6.85, 1.8, 6.05, 5.1), [(t, {"space_before": 4}) for t in shown],
                  size=_fit_size("\n".join(shown), 6.0, 5.0, (14, 12, 11, 10, 9)), name="caveats")
        return slide


def image_jobs(view: ExportView) -> list[tuple[go.Figure, dict]]:
    """The slide images of a view: side charts and wide forest plots at IMAGE_SCALE (none for native charts)."""
    jobs = []
    for item in view.items:
        if item.native is not None:
            continue
        width, height = WIDE_CHART if item.kind == "forest" else SIDE_CHART
        jobs.append((item.figure, {"format": "png", "width": width, "height": height, "scale": IMAGE_SCALE}))
    return jobs + export_synth.image_jobs(view.synth, SIDE_CHART, IMAGE_SCALE)


def deck_from_view(view: ExportView, *, progress: Progress | None = None, images: ChartRenderer | None = None) -> bytes:
    """The PowerPoint deck of a view: title, results at a glance, a slide per chart, against similar sites,
    methods and caveats."""
    images = images or renderer()
    jobs = image_jobs(view)
    pngs: list[bytes] = []
    chunk = 4
    for start in range(0, len(jobs), chunk):
        _notify(progress, 0.3 + 0.6 * start / max(len(jobs), 1),
                f"Drawing charts {start + 1}–{min(start + chunk, len(jobs))} of {len(jobs)}")
        pngs.extend(images.render_many(jobs[start:start + chunk]))
    _notify(progress, 0.92, "Laying out the slides")
    deck = _Deck(view)
    deck.title_slide()
    for site in view.sites:
        deck.glance_slide(site, [h for h in view.records if h.site == site.id])
    images = iter(pngs)
    for item in view.items:
        if item.native is not None:
            deck.native_chart_slide(item)
        else:
            (deck.forest_slide if item.kind == "forest" else deck.chart_slide)(item, next(images))
    for section in view.synth:
        export_synth.slide(deck, section, next(images) if section.figure is not None else None, _fit_size)
    for site, findings in view.findings:
        deck.findings_slide(site, findings)
    deck.methods_slide()
    deck.number_slides()
    _notify(progress, 1.0, "Deck ready")
    return deck.save()


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


def projector_figure(fig: go.Figure, scale: float = 1.4, height: int = 640) -> go.Figure:
    """The same chart in large type for a projector: every font size times ``scale`` (markers and lines
    unchanged), margins grown to fit, and a taller plot."""

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
    big.update_layout(**layout)
    for trace in big.data:
        size = getattr(getattr(trace, "textfont", None), "size", None)
        if isinstance(size, (int, float)):
            trace.textfont.size = round(size * scale, 1)
    return big
