"""The "Against similar sites" slide and report section of an export, and its results table: each donor-pool
site's synthetic-control record (mhin_eval.synth_record) with the robustness panel, exactly as the site page's
tab shows them. Numbers come from the stored records only; charts are drawn from the record's stored path (full
view only); a site user sees partner-extract donors only anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from mhin_eval import charts, charts_synth, record, synth_record, synth_summary
from mhin_eval.catalogue import Catalogue, Site
from mhin_eval.record import ResultOfRecord
from mhin_eval.synth_record import SynthRecord
from mhin_eval.text import html_text

SECTION = "Against similar sites"
NO_CHARTS = "Charts of the monthly values are shown to the evaluation team only."
DEMO_DONORS = "The donors are the demo's synthetic series, invented to test the dashboard."


@dataclass(frozen=True)
class SynthSection:
    """What a slide and a report section say about one site against its donor pool."""

    site: Site
    record: SynthRecord
    table: pd.DataFrame
    agreement: str
    figure: go.Figure | None
    placebo: go.Figure | None

    @property
    def title(self) -> str:
        return f"{SECTION}: {self.site.name}"

    @property
    def effect(self) -> synth_record.SynthEffect:
        return self.record.effect("sc")

    @property
    def placebo_text(self) -> str:
        est = self.effect.estimate
        return (f"Placebo test: {self.record.site_name}'s gap after go-live, relative to its fit before, ranks with "
                f"p = {est.p_value:.2f} among the {len(self.record.donors) + 1} organisations.")

    @property
    def notes(self) -> tuple[str, ...]:
        return ((DEMO_DONORS,) if self.record.synthetic_donors else ()) + (() if self.figure else (NO_CHARTS,))


def sections(store, catalogue: Catalogue, project: str, sites: tuple[Site, ...], counts, access,
             records: tuple[ResultOfRecord, ...]) -> tuple[SynthSection, ...]:
    """A section per site of the export with a synthetic-control estimate, in the order of ``sites``."""
    found = synth_record.for_access(
        synth_record.synth_of_record(store, catalogue, project, counts, sites=[s.id for s in sites]), access)
    out = []
    for site in sites:
        rec = synth_record.find(found, site.id)
        if rec is None or rec.reason or rec.effect("sc") is None or rec.effect("sc").estimate is None:
            continue
        effects = synth_record.method_effects(record.find(records, site.id, rec.indicator), rec)
        figure = placebo = None
        if rec.path is not None:
            axis, subtitle = charts_synth.axis_titles(rec.unit)
            figure = charts_synth.synth_chart(rec.path, title="", y_title=axis, subtitle=subtitle,
                                              treated_name=rec.site_name)
            placebo = charts_synth.placebo_chart(rec.path, title="Is the gap unusual among similar sites?",
                                                 y_title=f"Gap, {axis.lower()}", subtitle=subtitle,
                                                 treated_name=rec.site_name)
        out.append(SynthSection(site, rec, synth_summary.robustness_table(effects), synth_summary.agreement(effects),
                                figure, placebo))
    return tuple(out)


def methods_lines(found: tuple[SynthSection, ...]) -> list[str]:
    return list(dict.fromkeys(e.methods for s in found for e in s.record.effects if e.methods))


def caveats(found: tuple[SynthSection, ...]) -> list[str]:
    return [f"{s.title}: {w}" for s in found for e in s.record.effects for w in e.warnings]


TABLE_COLUMNS = {
    "site_name": "Site", "label": "Indicator", "method_name": "Analysis", "quantity": "What the estimate is",
    "estimate": "Estimate", "ci_low": "CI low", "ci_high": "CI high", "p_value": "Placebo p-value",
    "pre_rmspe": "Pre-period RMSPE", "donors": "Donors", "weights": "Donor weights", "period": "Period",
    "sentence": "Finding", "warnings": "Warnings",
}


def table(found: tuple[SynthSection, ...]) -> pd.DataFrame:
    """The results table of every section: one row per site and method, from the records' tidy frame."""
    tidy = synth_record.tidy([s.record for s in found])
    return tidy[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS).round(
        {"Estimate": 4, "CI low": 4, "CI high": 4, "Placebo p-value": 4, "Pre-period RMSPE": 4})


def image_jobs(found: tuple[SynthSection, ...], size: tuple[int, int], scale: float) -> list[tuple[go.Figure, dict]]:
    return [(s.figure, {"format": "png", "width": size[0], "height": size[1], "scale": scale})
            for s in found if s.figure is not None]


# ------------------------------------------------------------------------------------------------ deck

def _table_shape(deck, slide, frame: pd.DataFrame, box: tuple[float, float, float, float], size: int):
    from pptx.util import Inches, Pt

    widths = (0.5, 0.2, 0.3)
    shape = slide.shapes.add_table(len(frame) + 1, len(frame.columns), *(Inches(v) for v in box))
    shape.name = "robustness table"
    table = shape.table
    for column, share in enumerate(widths):
        table.columns[column].width = Inches(box[2] * share)
    cells = [list(frame.columns)] + frame.astype(str).values.tolist()
    for r, values in enumerate(cells):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text = str(value)
            cell.margin_left = cell.margin_right = Inches(0.05)
            for p in cell.text_frame.paragraphs:
                for run in p.runs:
                    run.font.name, run.font.size, run.font.bold = "Arial", Pt(size), r == 0
                    run.font.color.rgb = deck._rgb("#FFFFFF" if r == 0 else charts.NHS_TEXT)
            cell.fill.solid()
            cell.fill.fore_color.rgb = deck._rgb(charts.NHS_BLUE if r == 0 else ("#FFFFFF" if r % 2 else "#F0F4F5"))
    return shape


def slide(deck, section: SynthSection, png: bytes | None, fit_size) -> None:
    """The slide: the site against its synthetic control (full view), the robustness table under it, and the
    finding, donor weights, placebo test and agreement beside it."""
    s = deck.slide(section.title)
    numbers = section.table[["Method", "Effect", "95% CI"]]
    if png is not None:
        deck.picture(s, png, 0.35, 1.28, 6.3).name = "chart"
        _table_shape(deck, s, numbers, (0.45, 5.55, 6.2, 1.3), 11)
    else:
        _table_shape(deck, s, numbers, (0.45, 1.4, 6.2, 1.6), 14)
    x, width = 7.0, 5.9
    what = "; ".join(f"{m}: {q}" for m, q in zip(section.table["Method"], section.table["What the number is"],
                                                 strict=True))
    lines = [(section.effect.sentence, {"bold": True, "size": 15}),
             (section.effect.weights_text, {"space_before": 8}),
             (section.placebo_text, {"space_before": 8}),
             (section.agreement, {"space_before": 8}),
             (f"What each number is. {what}.", {"space_before": 8, "size": 10})]
    text = "\n".join(t for t, _ in lines)
    deck.text(s, (x, 1.35, width, 3.9), lines, size=fit_size(text, width - 0.1, 3.8, (14, 13, 12, 11, 10)),
              name="finding")
    notes = " ".join((*section.notes, *section.effect.warnings[:2]))
    if notes:
        deck.text(s, (x, 5.3, width, 0.75), notes, italic=True, colour=charts.NHS_DARK_GREY,
                  size=fit_size(notes, width - 0.1, 0.7, (11, 10, 9)), name="caveats")
    deck.text(s, (x, 6.1, width, 0.85), section.effect.methods,
              size=fit_size(section.effect.methods, width - 0.1, 0.8, (10, 9, 8)), colour=charts.NHS_DARK_GREY,
              name="method")


# ------------------------------------------------------------------------------------------------ report

def report_html(found: tuple[SynthSection, ...]) -> str:
    """The report's "Against similar sites" section: per site, the finding, weights, charts (full view),
    robustness table, agreement, methods and caveats."""
    if not found:
        return ""
    parts = [f"<h2>{html_text(SECTION)}</h2>"]
    for s in found:
        charts_html = "".join(
            f'<div class="chart">{fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{key}-{s.site.id}", config={"displaylogo": False, "responsive": True})}</div>'
            for key, fig in (("synth", s.figure), ("placebo", s.placebo)) if fig is not None)
        notes = "".join(f'<p class="meta">{html_text(n)}</p>' for n in s.notes)
        warnings = "".join(f"<li>{html_text(w)}</li>" for w in s.effect.warnings)
        parts.append(
            f'<section class="item" id="synth-{html_text(s.site.id)}"><h3>{html_text(s.title)}</h3>'
            f'<p class="finding">{html_text(s.effect.sentence)}</p><p>{html_text(s.effect.weights_text)}</p>'
            f"{notes}{charts_html}<p>{html_text(s.placebo_text)}</p>"
            f'<h4>Robustness: the effect under every method</h4>'
            + s.table.to_html(index=False, escape=True, border=0, classes="robustness")
            + f"<p>{html_text(s.agreement)}</p><p class=\"meta\">{html_text(s.effect.methods)}</p>"
            + (f'<ul class="caveats meta">{warnings}</ul>' if warnings else "") + "</section>")
    return "\n".join(parts)
