"""A deck you can present (issue 15): read back from the pptx, no text below 14 pt (findings 18 pt), speaker notes
on every slide, nothing cut off, charts drawn at slide size, and for a general audience no statistical jargon on
any slide; the LibreOffice PDF of the public deck has a page per slide."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Emu

from mhin_eval import charts, deck, deck_words, export
from mhin_eval.access import Access, Role
from mhin_eval.analysis import pooling
from mhin_eval.store import Store, seed

LEAD = Access(user="lee.lead@mhin.nhs.uk", role=Role.LEAD)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, catalogue):
    store = Store(tmp_path_factory.mktemp("deck-store"), catalogue=catalogue)
    seed(store)
    return store


@pytest.fixture(scope="module")
def views(demo_store, catalogue):
    return {"aaot": export.collect(demo_store, catalogue, "aaot", access=Access.local_evaluator()),
            "parent-cbt-lead": export.collect(demo_store, catalogue, "parent-cbt", access=LEAD)}


@pytest.fixture(scope="module")
def decks(views):
    """(view name, audience) -> the deck's slides."""
    built = {}
    for name, audience in (("aaot", "evaluators"), ("aaot", "public"), ("parent-cbt-lead", "public")):
        data = deck.deck_from_view(views[name], audience=audience)
        built[name, audience] = (data, list(Presentation(io.BytesIO(data)).slides))
    return built


def runs(slide):
    """(shape name, run text, size in pt) of every text run on a slide, tables and native charts included."""
    out = []
    for shape in slide.shapes:
        frames = []
        if shape.has_text_frame:
            frames.append((shape.name, shape.text_frame))
        if shape.has_table:
            frames += [(shape.name, cell.text_frame) for row in shape.table.rows for cell in row.cells]
        for name, frame in frames:
            for paragraph in frame.paragraphs:
                for run in paragraph.runs:
                    if run.text.strip():
                        out.append((name, run.text, run.font.size.pt if run.font.size else None))
        if shape.has_chart:
            chart = shape.chart
            out.append((shape.name, "chart text", chart.font.size.pt))
            out.append((shape.name, "data labels", chart.plots[0].data_labels.font.size.pt))
            out.append((shape.name, "value ticks", chart.value_axis.tick_labels.font.size.pt))
            if chart.has_legend:
                out.append((shape.name, "legend", chart.legend.font.size.pt))
    return out


def slide_text(slide) -> str:
    parts = [text for _, text, _ in runs(slide) if text not in ("chart text", "data labels", "value ticks", "legend")]
    for shape in slide.shapes:
        if shape.has_chart:
            plot = shape.chart.plots[0]
            parts += [str(c) for c in plot.categories] + [s.name for s in plot.series]
            if shape.chart.value_axis.has_title:
                parts.append(shape.chart.value_axis.axis_title.text_frame.text)
    return "\n".join(parts)


def notes_of(slide) -> str:
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


DECKS = [("aaot", "evaluators"), ("aaot", "public"), ("parent-cbt-lead", "public")]


@pytest.mark.parametrize("which", DECKS, ids=["-".join(d) for d in DECKS])
def test_no_text_below_14_pt_findings_at_18_and_notes_on_every_slide(decks, views, which):
    _, slides = decks[which]
    assert len(slides) == deck.slide_count(views[which[0]], which[1])
    for number, slide in enumerate(slides, start=1):
        found = runs(slide)
        assert found, f"slide {number} has text"
        small = [(name, text[:40], size) for name, text, size in found if size is None or size < 14]
        assert not small, f"slide {number} ({slide.shapes.title.text}): {small}"
        findings = [size for name, _, size in found if name == "finding"]
        assert all(size >= 18 for size in findings), f"slide {number}: finding at {findings} pt"
        assert len(notes_of(slide)) > 40, f"slide {number} ({slide.shapes.title.text}) has speaker notes"
        text = slide_text(slide)
        assert "Editable chart" not in text and "in the HTML report." not in text


def test_chart_notes_give_method_n_caveats_and_a_plain_reading(decks, views):
    _, slides = decks["aaot", "evaluators"]
    view = views["aaot"]
    by_title = {s.shapes.title.text: s for s in slides}
    for item in view.items:
        notes = notes_of(by_title[item.title])
        assert f"Finding: {item.finding}" in notes
        assert "Plain-language reading: " + deck_words.public_text(item.finding) in notes
        assert f"Method: {item.method}" in notes
        assert "n: " + item.n_text.removeprefix("n = ") in notes
        for warning in item.warnings:  # every caveat of a chart is on its slide or in its notes, never cut
            assert warning in notes
    assert any(item.warnings for item in view.items), "the check above saw caveats"


def test_every_caveat_and_method_is_on_the_methods_slides_in_full(decks, views):
    view = views["aaot"]
    _, slides = decks["aaot", "evaluators"]
    methods = [s for s in slides if s.shapes.title.text.startswith("Methods and caveats")]
    text = "\n".join(slide_text(s) for s in methods)
    assert len(view.caveats) > 10, "enough caveats to need more than one column"
    for line in view.caveats + view.methods:
        assert line in text
    assert "AR(1)-corrected standard errors" in text and "DerSimonian–Laird" in text, "evaluators keep the methods"


def test_public_slides_have_no_jargon_and_a_glossary(decks, views):
    for which in (("aaot", "public"), ("parent-cbt-lead", "public")):
        _, slides = decks[which]
        titles = [s.shapes.title.text for s in slides]
        assert "Words used in these slides" in titles
        glossary = slide_text(slides[titles.index("Words used in these slides")])
        assert "Likely range" in glossary and "95 in 100" in glossary
        for slide in slides:
            assert not deck_words.has_jargon(slide_text(slide)), (slide.shapes.title.text,
                                                                   deck_words.has_jargon(slide_text(slide)))
        for figure, _ in deck.image_jobs(views[which[0]], "public"):
            assert not deck_words.has_jargon(deck_words.figure_texts(figure)), deck_words.figure_texts(figure)
    # the check can fail: the evaluators' deck and charts carry the statistical terms
    _, slides = decks["aaot", "evaluators"]
    assert deck_words.has_jargon("\n".join(slide_text(s) for s in slides))
    assert any(deck_words.has_jargon(deck_words.figure_texts(f)) for f, _ in deck.image_jobs(views["aaot"]))


NUMBER = re.compile(r"[+\-]?\d[\d,]*(?:\.\d+)?")


def test_public_findings_keep_the_numbers_of_record(decks, views):
    _, slides = decks["aaot", "public"]
    by_title = {deck_words.public_text(i.title): i for i in views["aaot"].items}
    checked = 0
    for slide in slides:
        item = by_title.get(slide.shapes.title.text)
        finding = next((s.text_frame.text for s in slide.shapes if s.name == "finding"), None)
        if item is None or finding is None:
            continue
        # the same numbers; the 95% level of "95% CI" is stated once, on the glossary slide
        assert NUMBER.findall(finding) == NUMBER.findall(re.sub(r"\d+% CI", "CI", item.finding)), (finding, item.finding)
        checked += 1
    assert checked == len(views["aaot"].items)


def test_charts_are_drawn_at_their_size_on_the_slide_with_14_pt_type(decks, views):
    view = views["aaot"]
    _, slides = decks["aaot", "evaluators"]
    jobs = iter(deck.image_jobs(view))
    for item, slide in zip(view.items, slides[1 + len(view.sites):], strict=False):
        if item.native is not None:
            continue
        figure, options = next(jobs)
        (picture,) = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        placed = Emu(picture.width).inches * deck.CSS_PER_INCH
        assert options["width"] == pytest.approx(placed, rel=0.1), item.title
        smallest = min(deck._font_sizes(figure.layout.to_plotly_json()))
        assert smallest * 72 / deck.CSS_PER_INCH >= 13.9, f"{item.title}: {smallest} px"


def test_uptake_slide_has_no_editing_hint_and_states_suppressed_bars(decks):
    _, slides = decks["parent-cbt-lead", "public"]
    uptake = [s for s in slides if s.shapes.title.text.startswith("Uptake since")]
    assert uptake
    for slide in uptake:
        assert "Edit Data" not in slide_text(slide)
        assert "(suppressed)" in slide_text(slide) + notes_of(slide)


def test_forest_caption_names_a_prediction_interval_only_when_it_is_drawn(views):
    two = next(item for item in views["aaot"].items if item.kind == "forest")
    assert "no prediction interval" in two.method
    assert not [t for t in two.figure.data if "prediction interval" in (t.name or "")]
    three = pooling.pool([pooling.SiteEstimate(label, math.log(ratio), se, "ratio")
                          for label, ratio, se in (("A", 0.8, 0.1), ("B", 1.1, 0.12), ("C", 0.9, 0.15))])
    line = export.pooling_method_line(three)
    assert "dotted line: 95% prediction interval" in line
    drawn = charts.forest_plot(three, title="", x_title="Ratio")
    assert [t for t in drawn.data if t.name == "95% prediction interval"], "the caption's interval is drawn"


def test_public_deck_renders_to_pdf_pages(decks, artifacts_dir, tmp_path):
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not soffice or not pdftoppm:
        pytest.fail("LibreOffice (soffice) and pdftoppm are needed: run scripts/ensure-system-packages.sh")
    data, slides = decks["parent-cbt-lead", "public"]
    source = tmp_path / "deck-parent-cbt-public.pptx"
    source.write_bytes(data)
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=300)
    pages = artifacts_dir / "deck-parent-cbt-public-pages"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    subprocess.run([pdftoppm, "-r", "60", "-png", str(tmp_path / "deck-parent-cbt-public.pdf"), str(pages / "page")],
                   check=True, timeout=300)
    assert len(sorted(pages.glob("page-*.png"))) == len(slides)
