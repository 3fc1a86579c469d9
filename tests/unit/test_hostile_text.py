"""The one text rule (mhin_eval.text): text from a file or the catalogue is only ever text, in Streamlit
markdown, in chart labels and hovers, in the HTML report, the deck and the CSV/Excel downloads."""

from __future__ import annotations

import html
import io
import json
import re
import string
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pptx import Presentation

from mhin_eval import charts, export
from mhin_eval.access import Access
from mhin_eval.access.downloads import to_csv_bytes, to_excel_bytes
from mhin_eval.analysis.findings import findings_frame
from mhin_eval.analysis.pooling import from_ci, pool
from mhin_eval.store import Store, seed
from mhin_eval.text import WORD_JOINER, chart_text, html_text, plain
from tests.hostile import EVIL, HOSTILE, findings_csv

PUNCTUATION = set(string.punctuation)


def unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")


@given(st.text())
def test_plain_escapes_every_punctuation_mark_and_keeps_the_characters(text):
    escaped = plain(text)
    assert not re.search(r"[\r\n\u2028\u2029]", escaped)
    for n, char in enumerate(escaped):
        if char in PUNCTUATION and char != "\\":
            assert escaped[n - 1] == "\\", (text, escaped)
    assert unescape_markdown(escaped) == re.sub(r"[\r\n\u2028\u2029]+", " ", text.replace(WORD_JOINER, ""))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_plain_leaves_no_markdown_or_html_syntax(text):
    escaped = plain(text)
    assert not re.search(r"(?<!\\)[<>\[\]()!*:=&]", escaped), escaped
    assert not re.search(r"(?i)https?\\?:|www\\?\.", escaped), "a web address GFM would link"


@given(st.text())
def test_chart_and_html_text_hold_no_tag(text):
    for escaped in (chart_text(text), html_text(text)):
        assert "<" not in escaped and ">" not in escaped
        assert html.unescape(escaped) == text


# ---------------------------------------------------------------------------------------------- charts


def figure_strings(fig) -> list[str]:
    """Every string a plotly figure holds (titles, labels, names, hover text, annotations, data)."""
    found = []

    def walk(node):
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple, np.ndarray)):
            for value in node:
                walk(value)

    walk(json.loads(fig.to_json()))
    return found


def assert_inert(fig) -> None:
    strings = figure_strings(fig)
    for text in strings:
        assert not re.search(r"<(?!/?(b|i|br|extra)>)", text), f"markup from data in {text!r}"
    joined = html.unescape(" ".join(strings))
    assert HOSTILE["anchor"] in joined or HOSTILE["bold"] in joined or HOSTILE["style"] in joined


def test_group_labels_titles_and_notes_are_plain_text_in_the_equity_charts():
    groups = [HOSTILE["anchor"], HOSTILE["bold"], "White", HOSTILE["style"]]
    rates = pd.DataFrame({"group": groups, "rate": [12.0, 30.0, 10.0, np.nan], "ci_low": [9.0, 25.0, 8.0, np.nan],
                          "ci_high": [15.0, 35.0, 12.0, np.nan], "count": [40, 90, 300, np.nan],
                          "denominator": [3e5, 3e5, 3e6, 1e4], "note": ["", "", "", HOSTILE["image"]]})
    fig = charts.group_rates_chart(rates, title=f"Rates: {HOSTILE['anchor']}", reference="White")
    assert_inert(fig)
    assert fig.layout.yaxis.categoryarray[-1] == chart_text(HOSTILE["anchor"])
    ratios = rates.assign(rate_ratio=[1.2, 3.0, 1.0, np.nan], p_value=[0.2, 0.001, np.nan, np.nan],
                          is_reference=[False, False, True, False])
    assert_inert(charts.rate_ratio_chart(ratios, title=HOSTILE["bold"], reference="White"))


def test_stage_and_group_names_are_plain_text_in_the_funnel():
    stages = pd.DataFrame({"stage": [HOSTILE["bold"], "Started"] * 2, "order": [1, 2] * 2,
                           "group": [HOSTILE["anchor"]] * 2 + ["Online"] * 2, "count": [100, 60, 80, 50]})
    fig = charts.funnel_chart(stages, title=HOSTILE["style"])
    assert_inert(fig)
    assert {t.name for t in fig.data} == {chart_text(HOSTILE["anchor"]), "Online"}


def test_site_labels_are_plain_text_in_the_forest_plot_and_coverage():
    sites = [from_ci(HOSTILE["anchor"], 0.8, 0.6, 1.1, scale="ratio"), from_ci(HOSTILE["bold"], 0.9, 0.7, 1.2, scale="ratio")]
    assert_inert(charts.forest_plot(pool(sites), title=HOSTILE["link"]))
    coverage = pd.DataFrame({"site": ["hull"], "indicator": ["x"], "period": [pd.Timestamp("2023-01-01")],
                             "n_rows": [1], "site_label": [HOSTILE["anchor"]], "indicator_label": [HOSTILE["bold"]]})
    assert_inert(charts.coverage_heatmap(coverage, title=HOSTILE["style"]))


# ---------------------------------------------------------------------------------------------- exports


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory, catalogue):
    store = Store(tmp_path_factory.mktemp("hostile-store"), catalogue=catalogue)
    seed(store)
    store.ingest_file(findings_csv(tmp_path_factory.mktemp("hostile-files")))
    return store


@pytest.fixture(scope="module")
def hull_view(hostile_store, catalogue):
    return export.collect(hostile_store, catalogue, "aaot", access=Access.local_evaluator(), site="hull")


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_report_shows_the_findings_as_text(hull_view):
    report = export.report_html(hull_view)
    parser = Tags()
    parser.feed(report)
    assert [t for t, a in parser.tags if t in ("a", "img", "iframe")] == []
    assert [t for t, _ in parser.tags].count("style") == 1  # the report's own stylesheet
    assert not any(EVIL in value for _, attrs in parser.tags for value in attrs.values() if value)
    text = "".join(parser.text)
    for name, hostile in HOSTILE.items():
        assert f"{name}: {hostile}" in text
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", report, flags=re.S)
    assert not any(EVIL in s and "</" in s.split(EVIL)[0][-40:] for s in scripts)


def test_the_deck_carries_the_findings_as_plain_text(hull_view):
    deck = Presentation(io.BytesIO(export.deck_from_view(hull_view)))
    text = "\n".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    shown = [name for name, hostile in HOSTILE.items() if f"{name}: {hostile}" in text]
    assert shown, "no hostile finding reached the deck's findings slide"
    for shape in (s for slide in deck.slides for s in slide.shapes if s.has_text_frame):
        for paragraph in shape.text_frame.paragraphs:
            for run in paragraph.runs:
                assert run.hyperlink.address is None or EVIL not in run.hyperlink.address


def test_csv_and_excel_downloads_keep_formulas_inert(hostile_store, catalogue):
    from openpyxl import load_workbook

    rows = hostile_store.findings(project="aaot", sites=["hull"])
    table = findings_frame(rows, catalogue.findings, site_names={"hull": "Hull"})
    hostile_cells = table.assign(Summary=[HOSTILE["formula"]] + list(table["Summary"][1:]),
                                 Quote=[HOSTILE["at"]] + list(table["Quote"][1:]))
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(hostile_cells)), encoding="utf-8-sig", keep_default_na=False)
    assert csv.loc[0, "Summary"] == "'" + HOSTILE["formula"] and csv.loc[0, "Quote"] == "'" + HOSTILE["at"]
    sheet = load_workbook(io.BytesIO(to_excel_bytes(hostile_cells))).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert "'" + HOSTILE["formula"] in values and not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_site_names_are_plain_text_in_the_caterpillar_plot_hover():
    from mhin_eval.charts_ranked import caterpillar_plot

    sites = pd.DataFrame({"label": [HOSTILE["anchor"], HOSTILE["bold"], HOSTILE["style"]], "estimate": [1.0, 2.0, 3.0],
                          "ci_low": [0.5, 1.5, 2.5], "ci_high": [1.5, 2.5, 3.5]})
    assert_inert(caterpillar_plot(sites, title=f"Scores: {HOSTILE['anchor']}", no_change_line=False))
