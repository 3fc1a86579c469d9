"""The PowerPoint deck of an export view (python-pptx), for presenting at network events.

Every slide reads at projector distance: no text below 14 pt, findings at 18 pt or more, and chart images drawn
at the size they take on the slide with their type enlarged to match (``slide_figure``). Each slide carries
speaker notes: the finding, its plain-language reading, the method, n with its unit and every caveat, so what
does not fit on a slide is moved to its notes rather than cut. ``audience="public"`` gives a lay audience plain
words instead of statistical terms (mhin_eval.deck_words), a glossary slide and plain methods and caveats; the
default deck is the evaluators'. Every number is the export view's (the results of record).
"""

from __future__ import annotations

import io
import textwrap

import pandas as pd
import plotly.graph_objects as go

from mhin_eval import charts, deck_words, export_synth
from mhin_eval.catalogue import Site
from mhin_eval.export import (
    DIRECTION_FILLS,
    SYNTHETIC_MARKER,
    ChartItem,
    ChartRenderer,
    ExportView,
    Progress,
    _notify,
    projector_figure,
    renderer,
)
from mhin_eval.record import ResultOfRecord
from mhin_eval.wording import DIRECTION_ICONS, change_phrase

SLIDE_WIDTH, SLIDE_HEIGHT = 13.333, 7.5  # inches, 16:9
FONT = "Arial"
MIN_PT, FINDING_PT = 14, 18  # the smallest text on a slide, and on a finding
IMAGE_SCALE = 3  # PNG pixels per CSS pixel: ~290 dpi on the slide
CSS_PER_INCH = 96  # a chart drawn at its slide size: one CSS pixel per 1/96 inch, so 18.7 px reads as 14 pt
SIDE_CHART = (8.2, 5.6)  # inches of a chart beside its finding
SIDE_X = 8.75  # where the text beside it starts
WIDE_CHART = (11.6, 3.9)  # a forest plot across the slide
CONTENT_BOTTOM = 6.95  # the footer starts below this
BOLD = 1.0  # _text_height allows half an em a character, which bold Arial (about 0.45 em) stays within


def _text_height(text: str, width: float, size: int) -> float:
    """Inches that ``text`` takes at ``size`` pt wrapped to ``width`` inches, estimated with Arial's mean
    character width (about half an em; bold a little wider)."""
    per_line = max(8, int(width * 72 / (size * 0.5)))
    lines = sum(len(textwrap.wrap(part, per_line)) or 1 for part in text.split("\n"))
    return lines * size * 1.2 / 72


def _fit_size(text: str, width: float, height: float, sizes=(20, 18, 16, 14)) -> int:
    """The largest font size (pt) at which ``text`` fits a box of ``width`` x ``height`` inches, so that no
    slide relies on PowerPoint's shrink-on-overflow, which other viewers ignore (never below 14 pt: text that
    does not fit at 14 pt goes to the notes)."""
    return next((size for size in sizes if _text_height(text, width, size) <= height), sizes[-1])


def _fits(lines: list[str], width: float, height: float, size: int = MIN_PT, gap: float = 6) -> int:
    """How many of ``lines`` (paragraphs ``gap`` pt apart) fit a box of ``width`` x ``height`` inches at ``size``."""
    used = 0.0
    for count, line in enumerate(lines):
        used += _text_height(line, width, size) + gap / 72
        if used > height:
            return count
    return len(lines)


def _pages(lines: list[str], width: float, height: float) -> list[list[str]]:
    """``lines`` split into columns that each fit ``width`` x ``height`` inches at 14 pt (at least one line each)."""
    pages, rest = [], list(lines)
    while rest:
        take = max(1, _fits(rest, width, height))
        pages.append(rest[:take])
        rest = rest[take:]
    return pages


def _font_sizes(node, in_font: bool = False) -> list[float]:
    if isinstance(node, dict):
        return [size for name, value in node.items() for size in (
            [value] if in_font and name == "size" and isinstance(value, (int, float))
            else _font_sizes(value, name in ("font", "textfont", "tickfont", "insidetextfont", "outsidetextfont")))]
    if isinstance(node, list):
        return [size for value in node for size in _font_sizes(value)]
    return []


def slide_figure(item: ChartItem, audience: str = "evaluators") -> tuple[go.Figure, dict]:
    """The chart of a slide and its image options: drawn at its size on the slide (CSS pixels of 1/96 inch),
    every font enlarged so that the smallest is at least 14 pt there, and in plain words for the public."""
    return sized_figure(item.figure, WIDE_CHART if item.kind == "forest" else SIDE_CHART, audience)


def sized_figure(fig: go.Figure, inches: tuple[float, float] = SIDE_CHART,
                 audience: str = "evaluators") -> tuple[go.Figure, dict]:
    """A figure and its image options for a box of ``inches`` on a slide (see :func:`slide_figure`)."""
    fig = deck_words.public_figure(fig) if audience == "public" else fig
    width, height = (round(v * CSS_PER_INCH) for v in inches)
    smallest = min(_font_sizes(fig.layout.to_plotly_json()) + [14])
    scale = max(1.0, MIN_PT * CSS_PER_INCH / 72 / smallest)
    big = projector_figure(fig, scale=round(scale + 0.005, 2), height=height, width=width)
    return big, {"format": "png", "width": width, "height": height, "scale": IMAGE_SCALE}


def image_jobs(view: ExportView, audience: str = "evaluators") -> list[tuple[go.Figure, dict]]:
    """The slide images of a view (none for native charts)."""
    return [slide_figure(item, audience) for item in view.items if item.native is None] + export_synth.slide_jobs(
        view.synth, lambda fig: sized_figure(fig, SIDE_CHART, audience))


def method_lines(view: ExportView, audience: str = "evaluators") -> list[str]:
    """The methods slide's lines: the view's methods, or for the public one plain line per kind of analysis."""
    if audience != "public":
        return list(view.methods)
    kinds = dict.fromkeys(item.kind for item in view.items)
    return [deck_words.PLAIN_METHODS[k] for k in kinds if k in deck_words.PLAIN_METHODS]


def caveat_lines(view: ExportView, audience: str = "evaluators") -> list[str]:
    """The caveats slide's lines: every caveat of the view, or for the public the plain ones."""
    if audience != "public":
        return list(view.caveats)
    first = [SYNTHETIC_MARKER + "."] if view.synthetic else []
    return first + ([view.suppression_text] if view.suppressed else []) + list(deck_words.PLAIN_CAVEATS)


COLUMN = (6.0, 5.05)  # inches of a methods or caveats column


def methods_pages(view: ExportView, audience: str = "evaluators") -> list[tuple[list[str], list[str]]]:
    """(methods, caveats) of each methods-and-caveats slide: as many slides as it takes at 14 pt, none cut."""
    methods = _pages(method_lines(view, audience), *COLUMN)
    caveats = _pages(caveat_lines(view, audience), *COLUMN)
    count = max(len(methods), len(caveats), 1)
    return [(methods[i] if i < len(methods) else [], caveats[i] if i < len(caveats) else []) for i in range(count)]


def slide_count(view: ExportView, audience: str = "evaluators") -> int:
    """Slides of the deck: title, a glance per site, a chart per item, one against similar sites per donor-pool
    site, findings per site, the glossary (public), and the methods-and-caveats slides."""
    glossary = 1 if audience == "public" else 0
    return (1 + len(view.sites) + len(view.items) + len(view.synth) + len(view.findings) + glossary
            + len(methods_pages(view, audience)))


class _Deck:
    """python-pptx with the NHS-style template: white slides, NHS blue bar and title, grey footer."""

    def __init__(self, view: ExportView, audience: str = "evaluators"):
        from pptx import Presentation
        from pptx.util import Inches

        self.view = view
        self.audience = audience
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
            run.text = self.say(text)
            font = run.font
            font.name = FONT
            font.size = Pt(style.get("size", size))
            font.bold = style.get("bold", bold)
            font.italic = style.get("italic", italic)
            font.color.rgb = self._rgb(style.get("colour", colour))
        return shape

    def say(self, text: str) -> str:
        """Slide text in the audience's words (deck_words)."""
        return deck_words.words(text, self.audience)

    def box(self, slide, box, fill: str, *, text: str = "", size: int = MIN_PT, colour: str = "#FFFFFF",
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
        self.box(slide, (SLIDE_WIDTH - 2.25, 0.3, 1.85, 0.45), charts.NHS_BLUE, text="MHIN evaluation",
                 name="brand")
        holder = slide.shapes.title
        holder.left, holder.top, holder.width, holder.height = Inches(0.45), Inches(0.22), Inches(10.5), Inches(1.0)
        frame = holder.text_frame
        frame.word_wrap = True
        frame.margin_left = Inches(0.05)
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        holder.text = self.say(title)
        p = frame.paragraphs[0]
        p.alignment = PP_ALIGN.LEFT
        for run in p.runs:
            run.font.name = FONT
            run.font.bold = True
            run.font.size = Pt(_fit_size(self.say(title), 10.4, 0.95, sizes=(28, 26, 24, 22, 20, 18)))
            run.font.color.rgb = self._rgb(charts.NHS_DARK_BLUE)
        self.footer(slide)
        return slide

    def footer(self, slide, *, dark: bool = False):
        """Project, scope and data date at 14 pt, with the synthetic-data and suppression markers at the right."""
        view = self.view
        colour = "#FFFFFF" if dark else charts.NHS_DARK_GREY
        x = 12.15
        if view.suppressed:
            x -= 2.85
            self.box(slide, (x, 7.02, 2.75, 0.38), charts.NHS_PALE_GREY, text=f"Counts 1–{view.threshold} suppressed",
                     colour=charts.NHS_TEXT, rounded=True, name="suppression marker")
        if view.synthetic:
            x -= 2.75
            self.box(slide, (x, 7.02, 2.65, 0.38), charts.NHS_WARM_YELLOW, text="SYNTHETIC DEMO DATA",
                     colour=charts.NHS_TEXT, rounded=True, name="synthetic marker")
        parts = [view.project.short_name, view.site.name if view.site else "all sites", view.data_date]
        left = " · ".join(parts)
        if _text_height(left, x - 0.6, MIN_PT) > 0.3:
            left = " · ".join(parts[:2])
        self.text(slide, (0.45, 7.02, x - 0.55, 0.38), left, colour=colour, anchor="middle", name="footer")

    def picture(self, slide, png: bytes, left: float, top: float, width: float):
        from pptx.util import Inches

        return slide.shapes.add_picture(io.BytesIO(png), Inches(left), Inches(top), width=Inches(width))

    def number_slides(self):
        total = len(self.prs.slides)
        for number, slide in enumerate(self.prs.slides, start=1):
            if number == 1:
                continue
            self.text(slide, (12.2, 7.02, 0.9, 0.38), f"{number}/{total}", colour=charts.NHS_DARK_GREY,
                      align="right", anchor="middle", name="slide number")

    @staticmethod
    def notes(slide, text: str) -> None:
        """The slide's speaker notes (plain text: the presenter's script, methods and every caveat)."""
        slide.notes_slide.notes_text_frame.text = text

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
            lines.append((view.suppression_text, {"size": MIN_PT, "space_before": 10}))
        self.text(slide, (0.8, 3.4, 11.7, 1.9), lines, colour="#FFFFFF", name="subtitle")
        if view.synthetic:
            self.box(slide, (0.8, 5.5, 11.7, 0.7), charts.NHS_WARM_YELLOW, text=SYNTHETIC_MARKER, size=18,
                     colour=charts.NHS_TEXT, rounded=True, name="synthetic marker")
        self.text(slide, (0.8, 6.55, 11.7, 0.45), "Mental Health Implementation Network · evaluation dashboard",
                  colour="#FFFFFF", name="footer")
        audience = ("for a general audience: plain words, with a glossary slide" if self.audience == "public"
                    else "for evaluators: methods and caveats in full")
        self.notes(slide, deck_words.notes(
            ("What this deck is", f"Results of {view.title} ({view.scope_text}), {audience}."),
            ("Data", f"{view.data_date}; exported {view.exported}."),
            ("Synthetic data", SYNTHETIC_MARKER + ". Say so before showing any number." if view.synthetic else ""),
            ("Small numbers", view.suppression_text),
            ("Where the numbers come from", "Each site's result of record: computed once per data version and read "
             "by every page, slide and table of the dashboard."),
        ))
        return slide

    def glance_slide(self, site: Site, headlines: list[ResultOfRecord]):
        """Results at a glance: one row per indicator with its change in words, direction and n."""
        from pptx.util import Inches, Pt

        slide = self.slide(f"Results at a glance: {site.name}")
        widths = (3.3, 5.9, 1.85, 1.35)
        shape = slide.shapes.add_table(len(headlines) + 1, 4, Inches(0.45), Inches(1.35), Inches(sum(widths)),
                                       Inches(min(5.2, 0.45 + 0.55 * len(headlines))))
        shape.name = "results table"
        table = shape.table
        for column, width in enumerate(widths):
            table.columns[column].width = Inches(width)
        cells = [("Indicator", "Change (95% CI)", "Direction", "n")]
        for h in headlines:
            change = change_phrase(h.estimate, self.view.unit(h.indicator)) if h.estimate is not None else "no estimate"
            cells.append((h.label, change, DIRECTION_ICONS[h.direction], h.n_text))
        for r, values in enumerate(cells):
            for c, value in enumerate(values):
                cell = table.cell(r, c)
                cell.text = self.say(str(value))
                cell.margin_left = cell.margin_right = Inches(0.08)
                cell.margin_top = cell.margin_bottom = Inches(0.03)
                for p in cell.text_frame.paragraphs:
                    for run in p.runs:
                        run.font.name, run.font.size = FONT, Pt(MIN_PT)
                        run.font.bold = r == 0
                        run.font.color.rgb = self._rgb("#FFFFFF" if r == 0 else charts.NHS_TEXT)
                cell.fill.solid()
                cell.fill.fore_color.rgb = self._rgb(charts.NHS_BLUE if r == 0 else
                                                     ("#FFFFFF" if r % 2 else "#F0F4F5"))
        horizon = next((r.quantity for r in headlines if r.source == "series" and r.quantity), "")
        note = ("Change over time: " + horizon + "." if horizon else "") + " Before and after: baseline vs follow-up."
        self.text(slide, (0.45, 6.45, 12.4, 0.5), note.strip(), colour=charts.NHS_DARK_GREY, name="note")
        self.notes(slide, deck_words.notes(
            ("Reading", [self.reading(h.sentence) for h in headlines]),
            ("n", [f"{h.label}: {h.n_detail}" for h in headlines if h.n_detail]),
            ("Methods", list(dict.fromkeys(h.method for h in headlines if h.method))),
            ("Caveats", [f"{h.label}: {w}" for h in headlines for w in h.warnings]),
        ))
        return slide

    def reading(self, sentence: str) -> str:
        """A finding in plain language (the same numbers in the public deck's words)."""
        return deck_words.public_text(sentence)

    def item_notes(self, item: ChartItem, left_out: list[str] = ()) -> str:
        return deck_words.notes(
            ("Finding", item.finding),
            ("Plain-language reading", self.reading(item.finding)
             + (f" Direction: {item.direction}." if item.direction else "")),
            ("n", item.n_text.removeprefix("n = ")),
            ("Method", item.method),
            ("Caveats", list(item.warnings) or ["None recorded for this analysis."]),
            ("Not on the slide", list(left_out)),
        )

    def method_line(self, item: ChartItem) -> str:
        if self.audience == "public":
            return "How: " + deck_words.PLAIN_METHODS.get(item.kind, "")
        return "Method: " + (item.method_name or item.method)

    def side_column(self, slide, item: ChartItem, top: float, extra: str = "") -> list[str]:
        """Finding (18 pt or more) at the top beside a chart, n and method at the foot of the column, caveats
        between them where they fit at 14 pt; returns what went to the notes instead."""
        x, width = SIDE_X, SLIDE_WIDTH - SIDE_X - 0.3
        finding = self.say(item.finding)
        foot = [("n", self.say(item.n_text)), ("method", self.method_line(item))]
        caveats = [] if self.audience == "public" else list(item.warnings)
        if extra:
            caveats.insert(0, extra)
        needs = {name: _text_height(text, width - 0.1, MIN_PT) for name, text in foot}
        room = CONTENT_BOTTOM - top - 0.2 - sum(h + 0.15 for h in needs.values())
        size = next((pt for pt in (20, FINDING_PT) if _text_height(finding, width - 0.1, pt) <= room), FINDING_PT)
        height = _text_height(finding, width - 0.1, size)
        self.text(slide, (x, top, width, height + 0.1), item.finding, size=size, bold=True, name="finding")
        below = top + height + 0.2
        left_out, bottom = [], CONTENT_BOTTOM
        for name, text in reversed(foot):
            if bottom - needs[name] < below:
                left_out.append(text)
                continue
            bottom -= needs[name]
            self.text(slide, (x, bottom, width, needs[name] + 0.05), text, colour=charts.NHS_DARK_GREY, name=name)
            bottom -= 0.15
        if caveats:
            text = " ".join(caveats)
            if _text_height(text, width - 0.1, MIN_PT) > bottom - below:
                left_out.append(text)
                text = "Caveats: in the speaker notes."
            need = _text_height(text, width - 0.1, MIN_PT)
            if need <= bottom - below:
                self.text(slide, (x, below, width, need + 0.05), text, colour=charts.NHS_DARK_GREY, italic=True,
                          name="caveats")
        return left_out

    def chart_slide(self, item: ChartItem, png: bytes):
        """A chart beside its finding, n, method and caveats."""
        slide = self.slide(item.title)
        self.picture(slide, png, 0.35, 1.32, SIDE_CHART[0]).name = "chart"
        top = 1.4
        if item.direction:
            self.box(slide, (SIDE_X, top, SLIDE_WIDTH - SIDE_X - 0.3, 0.46), DIRECTION_FILLS.get(item.direction, charts.NHS_MID_GREY),
                     text=DIRECTION_ICONS.get(item.direction, item.direction), size=16, rounded=True, name="direction")
            top += 0.6
        self.notes(slide, self.item_notes(item, self.side_column(slide, item, top)))
        return slide

    def native_chart_slide(self, item: ChartItem):
        """A simple bar chart as an editable PowerPoint chart, with its finding."""
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
        from pptx.util import Inches, Pt

        native = item.native
        slide = self.slide(item.title)
        # PowerPoint draws the first category and series at the bottom: give both in reverse, so the first
        # step is at the top as on screen, with the value axis below in every viewer.
        data = CategoryChartData(number_format="#,##0")
        data.categories = [self.say(c) for c in native.categories][::-1]
        for name, values in native.series[::-1]:
            data.add_series(self.say(name), list(values)[::-1])
        frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, Inches(0.45), Inches(1.35), Inches(SIDE_CHART[0]),
                                       Inches(5.55), data)
        frame.name = "chart"
        chart = frame.chart
        chart.font.name, chart.font.size = FONT, Pt(16)
        chart.has_legend = len(native.series) > 1
        if chart.has_legend:
            chart.legend.position = XL_LEGEND_POSITION.BOTTOM
            chart.legend.include_in_layout = False
            chart.legend.font.size = Pt(MIN_PT)
        chart.category_axis.has_major_gridlines = False
        chart.category_axis.tick_labels.font.size = Pt(16)
        value_axis = chart.value_axis
        value_axis.tick_labels.font.size = Pt(MIN_PT)
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = self._rgb(charts.NHS_PALE_GREY)
        value_axis.has_title = bool(native.value_title)
        if native.value_title:
            value_axis.axis_title.text_frame.text = self.say(native.value_title)
            value_axis.axis_title.text_frame.paragraphs[0].runs[0].font.size = Pt(MIN_PT)
        plot = chart.plots[0]
        plot.gap_width, plot.overlap = 60, 0
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format, labels.number_format_is_linked = "#,##0", False
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        labels.font.size = Pt(MIN_PT)
        for series, colour in zip(reversed(plot.series), charts.SERIES_COLOURS, strict=False):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = self._rgb(colour)
        hidden = (f"Bars without a label are counts from 1 to {self.view.threshold} (suppressed)."
                  if self.view.suppressed else "")
        self.notes(slide, self.item_notes(item, self.side_column(slide, item, 1.45, extra=hidden)))
        return slide

    def forest_slide(self, item: ChartItem, png: bytes):
        """The forest plot across the slide under its finding, with the method line below it."""
        slide = self.slide(item.title)
        finding = self.say(item.finding)
        size = _fit_size(finding, 12.3, 0.75, (20, FINDING_PT))
        height = _text_height(finding, 12.3, size) * BOLD
        self.text(slide, (0.45, 1.3, 12.4, height + 0.1), item.finding, size=size, bold=True, name="finding")
        line = self.method_line(item) if self.audience == "public" else item.method
        left_out = []
        if _text_height(line, 12.3, MIN_PT) > 0.55:
            left_out.append(line)
            line = self.method_line(item)
        line_height = _text_height(line, 12.3, MIN_PT) + 0.05
        top, bottom = 1.3 + height + 0.2, CONTENT_BOTTOM - line_height - 0.1
        width = min(WIDE_CHART[0], (bottom - top) * WIDE_CHART[0] / WIDE_CHART[1])
        self.picture(slide, png, (SLIDE_WIDTH - width) / 2, top, width).name = "chart"
        self.text(slide, (0.45, CONTENT_BOTTOM - line_height, 12.4, line_height), line, colour=charts.NHS_DARK_GREY,
                  name="method")
        self.notes(slide, self.item_notes(item, left_out))
        return slide

    def findings_slide(self, site: Site, findings: pd.DataFrame):
        """Facilitators beside barriers from the implementation-findings register; those that do not fit at
        14 pt are in the notes (every one is in the notes and the HTML report)."""
        slide = self.slide(f"Facilitators and barriers: {site.name}")
        listed = {}
        for x, kind in ((0.45, "Facilitator"), (6.85, "Barrier")):
            part = findings[findings["Kind"] == kind]
            self.text(slide, (x, 1.35, 6.0, 0.45), f"{kind}s ({len(part)})", size=18, bold=True,
                      colour=charts.NHS_DARK_BLUE, name=f"{kind.lower()}s-heading")
            lines = [f"{r.Domain}: {r.Summary} ({r.Source.lower()}, {r.Date})" for r in part.itertuples()]
            listed[kind] = lines
            room = CONTENT_BOTTOM - 1.85
            shown = lines[:_fits(lines, 5.9, room)]
            if len(shown) < len(lines):
                shown = lines[:_fits(lines, 5.9, room - 0.35)]
                shown.append(f"+ {len(lines) - len(shown)} more in the speaker notes.")
            text = shown or ["None recorded."]
            self.text(slide, (x, 1.85, 6.0, room), [(t, {"space_before": 6}) for t in text], name=f"{kind.lower()}s")
        self.notes(slide, deck_words.notes(
            ("Facilitators", listed["Facilitator"]), ("Barriers", listed["Barrier"]),
            ("Where from", "The implementation-findings register (interviews, surveys, workshops); quotes are in "
             "the HTML report."),
        ))
        return slide

    def glossary_slide(self):
        """Plain meanings of the words the public deck uses."""
        from pptx.util import Inches, Pt

        slide = self.slide("Words used in these slides")
        rows = deck_words.GLOSSARY
        shape = slide.shapes.add_table(len(rows), 2, Inches(0.45), Inches(1.4), Inches(12.4), Inches(0.6 * len(rows)))
        shape.name = "glossary"
        table = shape.table
        table.columns[0].width, table.columns[1].width = Inches(3.0), Inches(9.4)
        for r, (term, meaning) in enumerate(rows):
            for c, value in enumerate((term, meaning)):
                cell = table.cell(r, c)
                cell.text = value
                for run in cell.text_frame.paragraphs[0].runs:
                    run.font.name, run.font.size, run.font.bold = FONT, Pt(16), c == 0
                    run.font.color.rgb = self._rgb(charts.NHS_TEXT)
                cell.fill.solid()
                cell.fill.fore_color.rgb = self._rgb("#FFFFFF" if r % 2 else "#F0F4F5")
        self.notes(slide, deck_words.notes(
            ("For the presenter", "Statistical names behind these words: likely range = 95% confidence interval; "
             "expected = the counterfactual of the interrupted time series; all sites together = random-effects "
             "pooling; times the rate = rate ratio."),
        ))
        return slide

    def methods_slides(self):
        """Methods beside caveats at 14 pt, on as many slides as they take; the full text is in the notes."""
        view = self.view
        pages = methods_pages(view, self.audience)
        for number, (methods, caveats) in enumerate(pages):
            slide = self.slide("Methods and caveats" + (" (continued)" if number else ""))
            for x, heading, lines, name in ((0.45, "Methods", methods, "methods"), (6.85, "Caveats", caveats, "caveats")):
                if not lines:
                    continue
                self.text(slide, (x, 1.35, 6.0, 0.45), heading, size=18, bold=True, colour=charts.NHS_DARK_BLUE)
                self.text(slide, (x, 1.85, COLUMN[0] + 0.05, COLUMN[1]), [(t, {"space_before": 6}) for t in lines],
                          name=name)
            self.notes(slide, deck_words.notes(
                ("Methods in full", list(view.methods)), ("Every caveat", list(view.caveats)),
                ("Slide", f"{number + 1} of {len(pages)} methods-and-caveats slides"),
            ))


def deck_from_view(view: ExportView, *, audience: str = "evaluators", progress: Progress | None = None,
                   images: ChartRenderer | None = None) -> bytes:
    """The PowerPoint deck of a view: title, results at a glance, a slide per chart, findings, (for the public)
    a glossary, then methods and caveats; speaker notes on every slide."""
    if audience not in deck_words.AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(deck_words.AUDIENCES)}, not {audience!r}")
    images = images or renderer()
    jobs = image_jobs(view, audience)
    pngs: list[bytes] = []
    chunk = 4
    for start in range(0, len(jobs), chunk):
        _notify(progress, 0.3 + 0.6 * start / max(len(jobs), 1),
                f"Drawing charts {start + 1}–{min(start + chunk, len(jobs))} of {len(jobs)}")
        pngs.extend(images.render_many(jobs[start:start + chunk]))
    _notify(progress, 0.92, "Laying out the slides")
    deck = _Deck(view, audience)
    deck.title_slide()
    for site in view.sites:
        deck.glance_slide(site, [h for h in view.records if h.site == site.id])
    drawn = iter(pngs)
    for item in view.items:
        if item.native is not None:
            deck.native_chart_slide(item)
        else:
            (deck.forest_slide if item.kind == "forest" else deck.chart_slide)(item, next(drawn))
    for section in view.synth:
        export_synth.slide(deck, section, next(drawn) if section.figure is not None else None)
    for site, findings in view.findings:
        deck.findings_slide(site, findings)
    if audience == "public":
        deck.glossary_slide()
    deck.methods_slides()
    deck.number_slides()
    _notify(progress, 1.0, "Deck ready")
    return deck.save()
