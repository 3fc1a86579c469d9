"""Exports (mhin_eval/export.py): the PowerPoint deck read back with python-pptx, suppression in a lead's
export, site scope, chart images, and the deck rendered to PDF and PNG pages with LibreOffice and pdftoppm.

Expected numbers come from the analysis functions the pages use (evaluate.site_result), never typed in;
the sentences are parsed back into numbers and compared with the estimates themselves.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from mhin_eval import evaluate, export
from mhin_eval.access import Access, Role, shown
from mhin_eval.access.suppression import SuppressionRule, suppress_table
from mhin_eval.analysis import equity, sustainability
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.catalogue import PROJECT_ROOT
from mhin_eval.store import Store, seed

DEMO = PROJECT_ROOT / "data" / "demo"
LEAD = Access(user="lee.lead@mhin.nhs.uk", role=Role.LEAD)
HULL_USER = Access(user="pat@hey.nhs.uk", role=Role.SITE, sites=("hull",))
# A count from 1 to 7 next to a word that says it counts people or events (what suppression must hide).
SMALL_COUNT = re.compile(
    r"(?<![\d.,+\-])[1-7](?![\d.,%])\s+(?:people|participants?|participant\(s\)|of\b|without|complete|famil)"
)


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, catalogue):
    store = Store(tmp_path_factory.mktemp("export-store"), catalogue=catalogue)
    seed(store)
    return store


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, catalogue):
    """Parent-led CBT with East of England cut to 6 complete pairs and 3 people without follow-up per measure
    (monthly family counts are small already: families completing treatment are 0 to 11 a month)."""
    folder = tmp_path_factory.mktemp("small-extracts")
    series = pd.read_csv(DEMO / "series.csv")
    series[series["project"] == "parent-cbt"].to_csv(folder / "series.csv", index=False)
    people = pd.read_csv(DEMO / "participants.csv")
    people = people[people["project"] == "parent-cbt"]
    east = people[people["site"] == "east-of-england"]
    timepoints = east.groupby("participant_id")["timepoint"].agg(set)
    complete = sorted(timepoints[timepoints.map(lambda t: {"baseline", "follow-up"} <= t)].index)[:6]
    baseline_only = sorted(timepoints[timepoints.map(lambda t: t == {"baseline"})].index)[:3]
    kept = people[(people["site"] != "east-of-england") | people["participant_id"].isin(complete + baseline_only)]
    kept.to_csv(folder / "participants.csv", index=False)
    store = Store(tmp_path_factory.mktemp("small-store"), catalogue=catalogue)
    store.ingest_file(folder / "series.csv", demo=True)
    store.ingest_file(folder / "participants.csv", demo=True)
    return store


@pytest.fixture(scope="module")
def aaot_view(demo_store, catalogue):
    return export.collect(demo_store, catalogue, "aaot", access=Access.local_evaluator())


@pytest.fixture(scope="module")
def aaot_deck(aaot_view):
    return export.deck_from_view(aaot_view)


@pytest.fixture(scope="module")
def lead_view(small_store, catalogue):
    return export.collect(small_store, catalogue, "parent-cbt", access=LEAD)


@pytest.fixture(scope="module")
def lead_deck(lead_view):
    return export.deck_from_view(lead_view)


def slides_of(deck: bytes):
    return list(Presentation(io.BytesIO(deck)).slides)


def shape_text(slide, name: str) -> str:
    return next(s.text_frame.text for s in slide.shapes if s.name == name)


def all_text(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return "\n".join(parts)


def pictures(slide):
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


def png_stats(data: bytes) -> tuple[tuple[int, int], float]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size, float(np.asarray(image.convert("L"), dtype=float).std())


def expected_results(store, catalogue, project: str, sites):
    """(site, indicator, result) for every analysis that succeeds, in the deck's order, and the pooled titles."""
    series, people = store.series(project=project), store.participants(project=project)
    order = []
    for indicator in catalogue.indicators_of(project):
        estimates = 0
        for site in sites:
            try:
                result = evaluate.site_result(series, people, catalogue, site, indicator)
            except AnalysisError:
                continue
            order.append((site, indicator, result))
            estimate = (result.average_effect if isinstance(result, ITSResult)
                        else getattr(result, "rate_ratio", None) or result.mean_difference)
            estimates += estimate is not None and estimate.se is not None
        if len(sites) >= 2 and estimates >= 2:
            order.append((None, indicator, f"{indicator.label}: each site's headline and the pooled estimate"))
    return order


def sustainability_profiles(store, catalogue, sites):
    """(instrument, site) for every catalogue instrument a site has assessments of, in the deck's order."""
    return [(instrument, site) for instrument in catalogue.instruments for site in sites
            if not store.sustainability(sites=[site.id], instrument=instrument.id).empty]


PHRASE = re.compile(r"(rose|fell|changed) by ([+\-]?[\d.,]+)%?[^(]*\(95% CI ([+\-]?[\d.,]+)%? to ([+\-]?[\d.,]+)%?\)")


def numbers_in(sentence: str) -> tuple[float, float, float]:
    """(estimate, CI low, CI high) on the change scale from a finding sentence (wording.change_phrase):
    "fell by 31% (95% CI 18% to 42%)" is a change of -31 with interval -42 to -18."""
    match = PHRASE.search(sentence.replace("−", "-"))
    assert match, sentence
    verb, *values = match.groups()
    estimate, first, second = (float(v.replace(",", "")) for v in values)
    if verb == "fell":
        return -estimate, -second, -first
    return estimate, first, second


# ------------------------------------------------------------------------------------------------ the deck


def test_project_deck_slides_titles_images_and_numbers(aaot_deck, aaot_view, demo_store, catalogue):
    sites = catalogue.sites_of("aaot")
    order = expected_results(demo_store, catalogue, "aaot", sites)
    slides = slides_of(aaot_deck)
    titles = [s.shapes.title.text for s in slides]
    profiles = sustainability_profiles(demo_store, catalogue, sites)
    registers = [site for site in sites if not demo_store.findings(project="aaot", sites=[site.id]).empty]
    pooled = [site for site in sites if site.donor_pool is not None]
    expected_titles = (
        [catalogue.project("aaot").name]
        + [f"Results at a glance: {s.name}" for s in sites]
        + [f"{ind.label}: {site.name}" if site else result for site, ind, result in order]
        + [f"{instrument.short_name} sustainability profile: {site.name}" for instrument, site in profiles]
        + [f"Against similar sites: {site.name}" for site in pooled]
        + [f"Facilitators and barriers: {site.name}" for site in registers]
        + ["Methods and caveats"]
    )
    # methods and caveats go on as many slides as they take at 14 pt (mhin_eval.deck), none cut
    continued = len(titles) - len(expected_titles)
    assert titles == expected_titles + ["Methods and caveats (continued)"] * continued
    # 8 indicators x 2 sites all have a result in the demo data, and every indicator pools: 2 + 16 + 8 + 1 + 1,
    # plus a sustainability profile per site and instrument assessed, a slide against similar sites per site
    # with a donor pool and a findings slide per site.
    assert len(slides) == 28 + len(profiles) + len(pooled) + len(registers) + continued and profiles and registers
    assert pooled
    assert aaot_view.slide_count == len(slides)

    assert "Synthetic demo data" in all_text(slides[0]) and "Data to December 2024" in all_text(slides[0])
    chart_slides = slides[1 + len(sites):1 + len(sites) + len(order)]
    for slide, (site, indicator, result) in zip(chart_slides, order, strict=True):
        images = pictures(slide)
        assert len(images) == 1, slide.shapes.title.text
        size, spread = png_stats(images[0].image.blob)
        assert size[0] >= 2000 and spread > 2, f"{slide.shapes.title.text}: sharp, non-blank chart"
        assert "SYNTHETIC DEMO DATA" in all_text(slide)
        finding = shape_text(slide, "finding")
        if site is None:
            continue
        assert finding.startswith(f"{indicator.label} at {site.name} ")
        if isinstance(result, ITSResult):
            effect = result.average_effect  # a ratio for counts, shown as a percentage change
            if effect.scale == "ratio":
                expected = (100 * (effect.estimate - 1), 100 * (effect.ci_low - 1), 100 * (effect.ci_high - 1))
                assert numbers_in(finding) == pytest.approx(tuple(round(v) for v in expected), abs=0.5)
            else:
                assert numbers_in(finding) == pytest.approx((effect.estimate, effect.ci_low, effect.ci_high), abs=0.051)
            assert f"over the first {result.options.horizon} months after go-live" in finding
            assert shape_text(slide, "n").startswith(
                f"n = {result.n_pre + result.n_post} months of {site.name} ({result.n_pre} before "
                f"and {result.n_post} after go-live)")
        else:
            est = result.rate_ratio if hasattr(result, "rate_ratio") else result.mean_difference
            shown = numbers_in(finding)
            if est.scale == "ratio":
                expected = (100 * (est.estimate - 1), 100 * (est.ci_low - 1), 100 * (est.ci_high - 1))
                assert shown == pytest.approx(tuple(round(v) for v in expected), abs=0.5)
            else:
                assert shown == pytest.approx((est.estimate, est.ci_low, est.ci_high), abs=0.051)
            assert shape_text(slide, "n").startswith(f"n = {result.n_pairs} people with both measurements")
            assert f"({result.n_pairs} people with both measurements)" in finding


def test_sustainability_and_findings_slides_sit_beside_the_outcomes(aaot_deck, aaot_view, demo_store, catalogue):
    slides = {s.shapes.title.text: s for s in slides_of(aaot_deck)}
    threshold = catalogue.setting("disclosure_threshold") + 1  # groups of 1 to 7 respondents get no score
    for instrument, site in sustainability_profiles(demo_store, catalogue, catalogue.sites_of("aaot")):
        slide = slides[f"{instrument.short_name} sustainability profile: {site.name}"]
        rows = demo_store.sustainability(sites=[site.id], instrument=instrument.id)
        (expected,) = sustainability.sustainability_summary(rows, instrument, threshold=threshold,
                                                            site_names={site.id: site.name}).sites
        assert shape_text(slide, "finding") == expected.sentence
        assert len(pictures(slide)) == 1
    for site in catalogue.sites_of("aaot"):
        rows = demo_store.findings(project="aaot", sites=[site.id])
        slide = slides[f"Facilitators and barriers: {site.name}"]
        facilitators, barriers = (rows[rows["kind"] == k] for k in ("facilitator", "barrier"))
        assert shape_text(slide, "facilitators-heading") == f"Facilitators ({len(facilitators)})"
        assert shape_text(slide, "barriers-heading") == f"Barriers ({len(barriers)})"
        listed = shape_text(slide, "facilitators") + shape_text(slide, "barriers")
        notes = slide.notes_slide.notes_text_frame.text
        assert all(summary in listed for summary in rows["summary"]) or "more in the speaker notes" in listed
        assert all(summary in notes for summary in rows["summary"]), "every finding is in the slide's notes"
    report = export.report_html(aaot_view)
    for site in catalogue.sites_of("aaot"):
        assert f'id="findings-{site.id}"' in report
        for summary in demo_store.findings(project="aaot", sites=[site.id])["summary"]:
            assert html.escape(summary) in report


def test_glance_slide_lists_every_indicator_with_its_change(aaot_deck, aaot_view, catalogue):
    slide = slides_of(aaot_deck)[1]
    table = next(s for s in slide.shapes if s.has_table).table
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    hull = [h for h in aaot_view.records if h.site == "hull"]
    assert [r[0] for r in rows[1:]] == [h.label for h in hull] == [i.label for i in catalogue.indicators_of("aaot")]
    for row, h in zip(rows[1:], hull, strict=True):
        assert numbers_in(row[1]) == pytest.approx(numbers_in(h.sentence))


def test_methods_slide_states_methods_and_caveats(aaot_deck, aaot_view):
    text = "\n".join(all_text(s) for s in slides_of(aaot_deck) if s.shapes.title.text.startswith("Methods and caveats"))
    assert "AR(1)-corrected standard errors" in text and "DerSimonian–Laird" in text
    assert "paired mean difference" in text
    assert "Synthetic demo data" in text


# ------------------------------------------------------------------------------------------------ suppression


def test_lead_deck_suppresses_small_counts(lead_deck, lead_view, small_store, catalogue):
    evaluator = export.collect(small_store, catalogue, "parent-cbt", access=Access.local_evaluator())
    # The data do hold small counts: the evaluator's charts show monthly counts 1 to 7 and 6 pairs.
    observed = [y for item in evaluator.items if item.kind == "its" for t in item.figure.data
                if t.name == "Observed" for y in t.y]
    assert any(1 <= y <= 7 for y in observed)
    east_anxiety = next(i for i in evaluator.items if i.key == "prepost-east-of-england-child-anxiety")
    assert east_anxiety.n_text == "n = 6 people with both measurements; 3 without follow-up"

    slides = slides_of(lead_deck)
    text = "\n".join(all_text(s) for s in slides)
    assert not SMALL_COUNT.findall(text), SMALL_COUNT.findall(text)[:5]
    assert "Counts 1–7 suppressed" in all_text(slides[1])
    lead_anxiety = next(i for i in lead_view.items if i.key == "prepost-east-of-england-child-anxiety")
    assert lead_anxiety.n_text == "n = * people with both measurements; * without follow-up"
    assert "(* people with both measurements)" in lead_anxiety.finding
    assert lead_anxiety.estimate == east_anxiety.estimate, "estimates are not counts and stay"
    for item in lead_view.items:
        for trace in item.figure.data:
            assert trace.name != "Each participant", "no individual values in a shared view"
            if trace.name == "Observed":
                assert not [y for y in trace.y if y is not None and 1 <= y <= 7]
                assert all(y is None or np.isnan(y) or y % 5 == 0 for y in trace.y), "rounded to 5"
                assert not [t for t in trace.text if re.search(r"Observed: [1-7] ", t)]
    results = lead_view.tables["results"]
    row = results[(results["Site"] == "East of England") & (results["Indicator"].str.startswith("Child anxiety"))]
    assert row["n"].tolist() == ["*"]
    assert not SMALL_COUNT.findall(" ".join(results.astype(str).to_numpy().ravel()))
    report = export.report_html(lead_view)
    assert not re.search(r"Observed: [1-7] ", report) and not SMALL_COUNT.findall(report)
    assert re.search(r"Observed: [1-7] ", export.report_html(evaluator)), "the check above can fail"


def test_uptake_slides_are_editable_charts_of_the_suppressed_funnel(lead_deck, small_store, catalogue):
    sites = catalogue.sites_of("parent-cbt")
    funnel = [i for i in catalogue.indicators_of("parent-cbt", "series") if i.funnel_stage]
    slides = [s for s in slides_of(lead_deck) if s.shapes.title.text.startswith("Uptake since go-live")]
    assert [s.shapes.title.text for s in slides] == [f"Uptake since go-live: {site.name}" for site in sites]
    series = small_store.series(project="parent-cbt")
    for slide, site in zip(slides, sites, strict=True):
        assert not pictures(slide)
        plot = next(shape for shape in slide.shapes if shape.has_chart).chart.plots[0]
        # Expected: the page's funnel counts, suppressed as a lead sees them (access.suppression).
        stages = suppress_table(evaluate.funnel_stages(series, funnel, site), ["count"],
                                rule=SuppressionRule.from_catalogue(catalogue), total_row=("group", "All"), by=["stage"])
        # drawn bottom-up in PowerPoint, so the first step is the last category
        assert list(plot.categories)[::-1] == list(dict.fromkeys(stages["stage"]))
        for chart_series in plot.series:
            wanted = stages[stages["group"] == chart_series.name].set_index("stage")["count"]
            got = dict(zip(plot.categories, chart_series.values, strict=True))
            assert {k: got[k] for k in wanted.index} == pytest.approx(wanted.to_dict(), nan_ok=True)
            assert all(v is None or v % 5 == 0 for v in chart_series.values), "rounded to 5"


def test_equity_slide_states_the_rate_ratio_of_the_stored_counts(demo_store, catalogue):
    view = export.collect(demo_store, catalogue, "pcref", access=Access.local_evaluator())
    detentions = catalogue.indicator("pcref", "mha-detentions")
    items = [i for i in view.items if i.kind == "equity"]
    assert [i.key for i in items] == [f"equity-{s.id}-mha-detentions" for s in catalogue.sites_of("pcref")]
    for item, site in zip(items, catalogue.sites_of("pcref"), strict=True):
        rows, words = evaluate.group_window(demo_store.series(project="pcref"), site, "mha-detentions", "latest-12")
        ratios = equity.rate_ratios(rows, "White", per=detentions.rate_per).table.set_index("group")
        black = ratios.loc["Black or Black British"]
        assert f"{black['rate_ratio']:.2f} (95% CI {black['ci_low']:.2f} to {black['ci_high']:.2f}) times" in item.finding
        assert words in item.finding


def test_suppressed_text_hides_counts_of_people_and_their_shares(catalogue):
    counts = shown.Counts.for_access(LEAD, catalogue)
    # 3 of 9: 3 is hidden (1 to 7); 9 rounds to 10; the share (33%) would give 3 back from 9, so it goes.
    assert counts.text("3 of 9 participants with a baseline value (33%) have no follow-up.") == (
        "* of 10 participants with a baseline value have no follow-up.")
    assert counts.text("Only 6 complete pairs: estimates are imprecise") == "Only * complete pairs: estimates are imprecise"
    assert counts.text("No data for 2020-09, 2023-02; gaps are left as gaps") == (
        "No data for 2020-09, 2023-02; gaps are left as gaps")
    assert counts.n(0) == "0" and counts.n(7) == "*" and counts.n(8) == "10" and counts.n(83) == "85"
    assert shown.Counts.for_access(Access.local_evaluator(), catalogue).n(6) == "6"


# ------------------------------------------------------------------------------------------------ scope


def test_site_user_exports_only_their_site(demo_store, catalogue):
    view = export.collect(demo_store, catalogue, "aaot", access=HULL_USER)
    assert [s.id for s in view.sites] == ["hull"]
    assert {i.site for i in view.items} == {"hull"}, "no other site, and no pooling across sites"
    assert set(view.tables["results"]["Site"]) == {"Hull"}
    assert view.suppressed
    with pytest.raises(PermissionError):
        export.collect(demo_store, catalogue, "aaot", access=HULL_USER, site="greater-manchester")
    with pytest.raises(PermissionError):
        export.collect(demo_store, catalogue, "pcref", access=HULL_USER)


# ------------------------------------------------------------------------------------------------ images


def test_png_and_svg_export_of_a_chart(aaot_view, artifacts_dir):
    item = next(i for i in aaot_view.items if i.kind == "its")
    renderer = export.renderer()
    png = export.chart_image(item.figure, "png", 900, 500, scale=1)
    browser = renderer._kaleido
    size, spread = png_stats(png)
    assert size == (900, 500) and spread > 2
    assert png_stats(export.chart_image(item.figure, "png", 900, 500, scale=2))[0] == (1800, 1000)
    svg = export.chart_image(item.figure, "svg", 900, 500)
    assert svg.lstrip().startswith(b"<svg") and b"Go-live" in svg
    assert renderer._kaleido is browser, "one browser for many images"
    (artifacts_dir / "export").mkdir(exist_ok=True)
    (artifacts_dir / "export" / f"{item.key}.png").write_bytes(png)
    (artifacts_dir / "export" / f"{item.key}.svg").write_bytes(svg)


def test_projector_figure_enlarges_type_only(aaot_view):
    item = next(i for i in aaot_view.items if i.kind == "forest")
    big = export.projector_figure(item.figure, scale=1.5)
    assert big.layout.font.size == 21  # 14 px * 1.5
    before = [a.font.size for a in item.figure.layout.annotations if a.font.size]
    after = [a.font.size for a in big.layout.annotations if a.font.size]
    assert after == [round(s * 1.5, 1) for s in before]
    assert [np.asarray(t.marker.size).tolist() for t in big.data] == [
        np.asarray(t.marker.size).tolist() for t in item.figure.data]


# ------------------------------------------------------------------------------------------------ PDF pages


def test_deck_converts_to_pdf_and_png_pages(aaot_deck, artifacts_dir, tmp_path):
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not soffice or not pdftoppm:
        pytest.fail("LibreOffice (soffice) and pdftoppm are needed: run scripts/ensure-system-packages.sh")
    source = tmp_path / "deck-aaot.pptx"
    source.write_bytes(aaot_deck)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    pdf = artifacts_dir / "deck-aaot.pdf"
    shutil.copy(tmp_path / "deck-aaot.pdf", pdf)
    pages = artifacts_dir / "deck-aaot-pages"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    subprocess.run([pdftoppm, "-r", "80", "-png", str(pdf), str(pages / "page")], check=True, timeout=300)
    images = sorted(pages.glob("page-*.png"))
    assert len(images) == len(slides_of(aaot_deck))
    for image in images:
        size, spread = png_stats(image.read_bytes())
        assert size == (1067, 600) and spread > 5, image.name  # 13.333 x 7.5 in at 80 dpi
