"""One result of record: every surface shows the same, correctly described number for every site and indicator
of the demo data — the overview, project, site and compare pages (AppTest), the deck (read back with
python-pptx), the HTML report, the CSV and Excel results tables and the per-site rows of the pooled table.
The same holds for the effects against similar sites (synthetic control, synthetic DiD: mhin_eval.synth_record)
on the site page's tab, its robustness panel, the deck, the report, the results table and `results --synth`.

The records themselves are checked against the analysis functions (evaluate.site_result): the headline of
a time series is its average effect over the first months after go-live, and n counts the treated series'
own months, with comparison months apart.
"""

from __future__ import annotations

import html
import io

import pandas as pd
import pytest
from pptx import Presentation

from mhin_eval import donor_pools, evaluate, export, record, synth_record, synth_summary
from mhin_eval.access import Access
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.synth import synth
from mhin_eval.cli import main
from mhin_eval.store import Store
from mhin_eval.wording import change_phrase, fmt_estimate
from tests.app.conftest import open_page, unescaped

EVALUATOR = Access.local_evaluator()


@pytest.fixture(scope="module")
def store(seeded_dir):
    return Store(seeded_dir)


@pytest.fixture(scope="module")
def records(store, catalogue):
    counts = Counts(False, SuppressionRule.from_catalogue(catalogue))
    return {p: record.results_of_record(store, catalogue, p, counts) for p in catalogue.project_ids}


@pytest.fixture(scope="module")
def views(store, catalogue):
    return {p: export.collect(store, catalogue, p, access=EVALUATOR) for p in catalogue.project_ids}


@pytest.fixture(scope="module")
def decks(views):
    """Each project's deck read back (built once: drawing its charts takes a while)."""
    return {p: Presentation(io.BytesIO(export.deck_from_view(view))) for p, view in views.items()}


@pytest.fixture(scope="module")
def synth_records(store, catalogue):
    counts = Counts(False, SuppressionRule.from_catalogue(catalogue))
    return {p: synth_record.synth_of_record(store, catalogue, p, counts) for p in catalogue.project_ids}


def every_record(records):
    return [r for project in records.values() for r in project]


def unit(catalogue, r) -> str:
    return catalogue.indicator(r.project, r.indicator).unit


def test_each_record_is_the_analysis_headline_with_its_own_n(store, catalogue, records):
    checked = 0
    for project, project_records in records.items():
        series, people = store.series(project=project), store.participants(project=project)
        assert len(project_records) == len(catalogue.sites_of(project)) * len(catalogue.indicators_of(project))
        for r in project_records:
            site, indicator = catalogue.site(r.site), catalogue.indicator(project, r.indicator)
            try:
                result = evaluate.site_result(series, people, catalogue, site, indicator)
            except AnalysisError as exc:
                assert r.estimate is None and r.sentence == str(exc)
                continue
            if isinstance(result, ITSResult):
                assert r.estimate == result.average_effect
                treated = series[(series["site"] == site.id) & (series["indicator"] == indicator.id)]
                assert r.n == treated["period"].nunique() == result.n_pre + result.n_post
                assert r.n_text == f"{r.n} months"
                assert f"over the first {result.options.horizon} months after go-live" in r.sentence
            else:
                assert r.estimate in (getattr(result, "rate_ratio", None), getattr(result, "mean_difference", None))
                assert r.n == result.n_pairs and r.n_text == f"{result.n_pairs} people"
            checked += 1
    assert checked >= 30


def test_greater_manchester_n_counts_its_own_months_and_comparisons_apart(store, records, catalogue):
    gm = record.find(records["aaot"], "greater-manchester", "ae-attendances")
    site = catalogue.site("greater-manchester")
    assert site.comparison_sites, "the demo's controlled ITS"
    rows = store.series(project="aaot", indicator="ae-attendances")
    own = rows[rows["site"] == site.id]["period"].nunique()
    comparison = len(rows[rows["site"].isin(site.comparison_sites)].drop_duplicates(["site", "period"]))
    assert gm.n == own and gm.n_comparison == comparison > 0
    assert gm.n_detail.startswith(f"{own} months of Greater Manchester")
    assert f"{comparison} months of comparison series, counted separately" in gm.n_detail
    assert "comparison series" in gm.sentence


def test_overview_rows_are_the_records(app, records):
    at = open_page(app, "overview")
    shown = pd.concat([unescaped(t.value).reset_index() for t in at.table if "Result" in t.value.columns])
    for r in every_record(records):
        row = shown[(shown["Site"] == r.site_name) & (shown["Indicator"] == r.label)]
        assert len(row) == 1, (r.site_name, r.label)
        assert row["Result"].iloc[0] == r.sentence
        assert row["n"].iloc[0] == r.n_text and row["Period"].iloc[0] == r.period


@pytest.mark.parametrize("project", ["aaot", "parent-cbt", "pcref"])
def test_project_site_and_compare_pages_show_the_records(app, catalogue, records, project):
    for indicator in catalogue.indicators_of(project):
        own = [r for r in records[project] if r.indicator == indicator.id]
        if indicator.source == "series":
            at = open_page(app, "project", project=project, indicator=indicator.id)
        else:
            at = open_page(app, "project", project=project, measure=indicator.id, section="Before and after")
        text = "\n".join(unescaped(m.value) for m in at.markdown)
        for r in own:
            if r.estimate is not None:
                assert f"**{r.sentence}**" in text, (project, r.site, r.indicator)
                assert any(unescaped(c.value).startswith(f"n = {r.n_detail}") for c in at.caption) or indicator.source != "series"

        at = open_page(app, "compare", project=project, indicator=indicator.id)
        (table,) = [unescaped(t.value).reset_index() for t in at.table]
        for r in own:
            row = table[table["Site"] == r.site_name]
            assert row["Estimate"].iloc[0] == fmt_estimate(r.estimate)
            if r.estimate is not None:
                assert row["Result"].iloc[0] == change_phrase(r.estimate, unit(catalogue, r))
            assert row["n"].iloc[0] == r.n_text and row["Period"].iloc[0] == r.period
        estimated = [r for r in own if r.estimate is not None]
        if len(estimated) >= 2:
            assert any(unescaped(c.value) == f"Pooled: each site's {record.pooled_quantity(own, indicator)}." for c in at.caption)

    for site in catalogue.sites_of(project):
        at = open_page(app, "site", site=site.id)
        (table,) = [unescaped(t.value).reset_index() for t in at.table if "Result" in t.value.columns]
        for r in (r for r in records[project] if r.site == site.id):
            row = table[table["Indicator"] == r.label]
            assert row["Result"].iloc[0] == r.sentence and row["n"].iloc[0] == r.n_text


def test_deck_report_and_tables_show_the_records(views, decks, records, catalogue):
    for project, view in views.items():
        own = records[project]
        assert tuple(sorted(view.records, key=lambda r: (r.site, r.indicator))) == \
            tuple(sorted(own, key=lambda r: (r.site, r.indicator)))
        deck = decks[project]
        slides = {s.shapes.title.text: s for s in deck.slides if s.shapes.title is not None}
        for site in view.sites:
            glance = slides[f"Results at a glance: {site.name}"]
            table = next(s for s in glance.shapes if s.has_table).table
            cells = {row.cells[0].text: [c.text for c in row.cells] for row in list(table.rows)[1:]}
            for r in (r for r in own if r.site == site.id):
                change = change_phrase(r.estimate, unit(catalogue, r)) if r.estimate is not None else "no estimate"
                assert cells[r.label][1] == change and cells[r.label][3] == r.n_text
                if r.estimate is not None:
                    slide = slides[f"{r.label}: {site.name}"]
                    finding = next(s for s in slide.shapes if s.name == "finding").text_frame.text
                    assert finding == r.sentence

        report = export.report_html(view)
        for r in own:
            assert html.escape(r.sentence) in report or r.estimate is None

        csv = pd.read_csv(io.BytesIO(export.table_bytes(view, "results", "csv")), dtype={"n": str})
        xlsx = pd.read_excel(io.BytesIO(export.table_bytes(view, "results", "xlsx")), dtype={"n": str})
        for table in (csv, xlsx):
            assert (table["Data"] == export.SYNTHETIC_MARKER).all(), "demo rows carry the synthetic marker"
            for r in own:
                row = table[(table["Site"] == r.site_name) & (table["Indicator"] == r.label)].iloc[0]
                assert row["Finding"] == r.sentence and row["Period"] == (r.period or row["Period"])
                if r.estimate is not None:
                    assert (row["Estimate"], row["CI low"], row["CI high"]) == pytest.approx(
                        (round(r.estimate.estimate, 4), round(r.estimate.ci_low, 4), round(r.estimate.ci_high, 4)))
                    assert str(row["n"]) == r.n_text.split(" ")[0]

        if "pooled" in view.tables:
            pooled = pd.read_csv(io.BytesIO(export.table_bytes(view, "pooled", "csv")))
            for r in (r for r in own if r.estimate is not None and r.estimate.se is not None):
                row = pooled[(pooled["Indicator"] == r.label) & (pooled["Estimate of"] == r.site_name)]
                assert len(row) == 1
                assert (row["Estimate"].iloc[0], row["CI low"].iloc[0], row["CI high"].iloc[0]) == pytest.approx(
                    (round(r.estimate.estimate, 4), round(r.estimate.ci_low, 4), round(r.estimate.ci_high, 4)))
                assert row["What the estimate is"].iloc[0] == r.quantity


def test_records_are_computed_once_per_data_version(store, catalogue, monkeypatch):
    counts = Counts(False, SuppressionRule.from_catalogue(catalogue))
    first = record.results_of_record(store, catalogue, "aaot", counts)

    def refit(*args, **kwargs):
        raise AssertionError("a stored record was computed again")

    from mhin_eval import recompute

    monkeypatch.setattr(recompute, "refresh_project", refit)
    assert record.results_of_record(store, catalogue, "aaot", counts) == first


# ------------------------------------------------------------------------------------------------ against similar sites


def test_synth_records_are_the_analysis_fits(store, catalogue, synth_records):
    """Each donor-pool site's stored effects are those of a fresh fit of analysis.synth on its donor panel."""
    checked = 0
    for project, found in synth_records.items():
        assert [r.site for r in found] == [s.id for s in synth_record.pool_sites(catalogue, project)]
        for r in found:
            site = catalogue.site(r.site)
            _, panel = donor_pools.donor_panel(catalogue, site, store.series(project=project, indicator=r.indicator))
            for method in synth_record.METHODS:
                fresh = synth(panel, unit="unit", time="period", value="value", treated=donor_pools.SITE_UNIT,
                              intervention=str(site.go_live), method=method)
                effect = r.effect(method)
                assert (effect.estimate.estimate, effect.estimate.ci_low, effect.estimate.ci_high,
                        effect.estimate.p_value) == pytest.approx(
                    (fresh.effect.estimate, fresh.effect.ci_low, fresh.effect.ci_high, fresh.effect.p_value), rel=1e-12)
                assert dict(effect.weights) == pytest.approx(fresh.unit_weights, abs=1e-12)
            checked += 1
    assert checked == 6, "the demo's six donor-pool sites"


def _expected_table(records, project, r) -> pd.DataFrame:
    its = record.find(records[project], r.site, r.indicator)
    return synth_summary.robustness_table(synth_record.method_effects(its, r))


def test_against_similar_sites_is_the_same_on_every_surface(app, seeded_dir, views, decks, records, synth_records,
                                                            catalogue, capsys):
    for project, found in synth_records.items():
        view, deck = views[project], decks[project]
        slides = {s.shapes.title.text: s for s in deck.slides if s.shapes.title is not None}
        report = export.report_html(view)
        synth_csv = pd.read_csv(io.BytesIO(export.table_bytes(view, "synth", "csv"))) if found else None
        assert main(["--data-dir", str(seeded_dir), "results", "--project", project, "--synth",
                     "--format", "csv"]) == 0
        cli = pd.read_csv(io.StringIO(capsys.readouterr().out)) if found else None
        for r in found:
            sc = r.effect("sc")
            expected = _expected_table(records, project, r)
            assert len(expected) == 3 and expected["Effect"].iloc[1] == f"{sc.estimate.estimate:.3g}"

            at = open_page(app, "site", site=r.site, section="Against similar sites")
            markdown = "\n".join(unescaped(m.value) for m in at.markdown)
            assert f"**{sc.sentence}**" in markdown and sc.weights_text in markdown
            shown = unescaped(at.table[-1].value).reset_index()
            pd.testing.assert_frame_equal(shown, expected, check_dtype=False)

            slide = slides[f"Against similar sites: {r.site_name}"]
            shapes = {shape.name: shape for shape in slide.shapes}
            notes = slide.notes_slide.notes_text_frame.text
            beside = shapes["robustness"].text_frame.text
            for method, effect, ci in expected[["Method", "Effect", "95% CI"]].itertuples(index=False):
                line = f"{method}: {effect}" + (f" (95% CI {ci})" if ci != "—" else "")
                assert line in beside.splitlines() and line in notes
            assert all(q in notes for q in expected["What the number is"])
            assert shapes["finding"].text_frame.text == sc.sentence
            assert "chart" in shapes, "the evaluator's deck draws the site against its synthetic control"

            section = report[report.index(f'id="synth-{r.site}"'):]
            section = section[:section.index("</section>")]
            assert html.escape(sc.sentence) in section
            for value in expected.values.ravel():
                assert f"<td>{html.escape(value)}</td>" in section

            for table in (synth_csv, cli):
                rows = table[(table["Site" if "Site" in table else "site_name"] == r.site_name)]
                assert len(rows) == 2
                for effect, (_, row) in zip(r.effects, rows.iterrows(), strict=True):
                    numbers = [row[c] for c in (("Estimate", "CI low", "CI high") if "Estimate" in row
                                                else ("estimate", "ci_low", "ci_high"))]
                    assert numbers == pytest.approx([round(effect.estimate.estimate, 4), round(effect.estimate.ci_low, 4),
                                                     round(effect.estimate.ci_high, 4)], abs=5e-5)
                    assert row["Finding" if "Finding" in row else "sentence"] == effect.sentence


def test_site_page_reads_the_stored_record_not_a_fresh_fit(app, catalogue):
    """The site page's time-series sentence is the stored result of record: a record changed in the store (as
    a different data version's would be) shows as stored, not as the page's own fit would word it."""
    import json
    import os

    store = Store(os.environ["MHIN_DATA_DIR"])
    version = store.version()
    stored = json.loads(store.recorded_results(version, "full", "aaot", record.RECORD_FORMAT))
    (hull_ae,) = [r for r in stored if r["site"] == "hull" and r["indicator"] == "ae-attendances"]
    hull_ae["sentence"] = "The sentence of record, as stored."
    store.record_results(version, "full", "aaot", record.RECORD_FORMAT, json.dumps(stored))

    at = open_page(app, "site", site="hull", project="aaot", indicator="ae-attendances")
    text = "\n".join(unescaped(m.value) for m in at.markdown)
    assert "**The sentence of record, as stored.**" in text
