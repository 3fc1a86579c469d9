"""The "Against similar sites" slide and report section of an export, and its results table: each donor-pool
site's synthetic-control record (mhin_eval.synth_record) with the robustness panel, exactly as the site page's
tab shows them. Numbers come from the stored records only; charts are drawn from the record's stored path (full
view only); a site user sees partner-extract donors only anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from mhin_eval import charts_synth, record, synth_record, synth_summary
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


def slide_jobs(found: tuple[SynthSection, ...], fit_figure) -> list[tuple[go.Figure, dict]]:
    """The slide images of the sections that have a chart; ``fit_figure`` sizes a figure for its slide
    (mhin_eval.deck.sized_figure)."""
    return [fit_figure(s.figure) for s in found if s.figure is not None]


# ------------------------------------------------------------------------------------------------ deck

def robustness_lines(section: SynthSection) -> list[str]:
    """One line per method of the robustness table: 'Synthetic control: -0.12 (95% CI -0.2 to -0.05)'."""
    table = section.table
    return [f"{m}: {e}" + (f" (95% CI {ci})" if ci and ci != "—" else "")
            for m, e, ci in zip(table["Method"], table["Effect"], table["95% CI"], strict=True)]


def slide(deck, section: SynthSection, png: bytes | None) -> None:
    """The slide (mhin_eval.deck conventions: 14 pt or more, what does not fit goes to the speaker notes): the
    site against its synthetic control (full view) with, beside it, the finding, the effect under every method
    and whether they agree; donor weights, the placebo test, methods and caveats in the notes."""
    from mhin_eval.deck import FINDING_PT, MIN_PT, SIDE_CHART, SIDE_X, SLIDE_WIDTH, _text_height
    from mhin_eval.deck_words import notes

    s = deck.slide(section.title)
    x = SIDE_X if png is not None else 0.45
    width = SLIDE_WIDTH - x - 0.3
    if png is not None:
        deck.picture(s, png, 0.35, 1.32, SIDE_CHART[0]).name = "chart"
    finding = deck.say(section.effect.sentence)
    lines = [(finding, {"bold": True, "size": FINDING_PT})]
    lines += [(deck.say(line), {"size": MIN_PT, "space_before": 6}) for line in robustness_lines(section)]
    lines.append((deck.say(section.agreement), {"size": MIN_PT, "space_before": 6}))
    left_out = [section.effect.weights_text, section.placebo_text, *section.notes]
    room, kept = 5.4, []
    for text, style in lines:
        need = _text_height(text, width - 0.1, style["size"]) + style.get("space_before", 0) / 72
        if need > room:
            left_out.append(text)
            continue
        kept.append((text, style))
        room -= need
    deck.text(s, (x, 1.4, width, 5.45), kept, name="finding")
    deck.notes(s, notes(
        ("Finding", section.effect.sentence),
        ("Plain-language reading", deck.reading(section.effect.sentence)),
        ("Effect under every method", robustness_lines(section) + [section.agreement]),
        ("What each number is", [f"{m}: {q}" for m, q in zip(section.table["Method"],
                                                            section.table["What the number is"], strict=True)]),
        ("Not on the slide", left_out),
        ("Method", section.effect.methods),
        ("Caveats", list(section.effect.warnings) or ["None recorded for this analysis."]),
    ))


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
