"""WCAG 2.2 AA of the charts: palette contrast on white, shapes besides colour, CI band edges, and the chart in
words (mhin_eval.chart_summary)."""

from __future__ import annotations

from mhin_eval import charts
from mhin_eval.chart_summary import label_text, summarise
from tests.unit.test_charts import GO_LIVE, ITSOptions, fit_its, monthly_counts


def test_contrast_ratio_matches_wcag_examples():
    assert round(charts.contrast_ratio("#000000"), 1) == 21.0
    assert round(charts.contrast_ratio("#767676"), 2) == 4.54  # the lightest grey passing 4.5:1 on white


def test_series_and_spc_colours_reach_text_and_mark_contrast_on_white():
    for colour in charts.SERIES_COLOURS:
        assert charts.contrast_ratio(colour) >= charts.TEXT_CONTRAST, colour
    for colour in charts.SPC_COLOURS.values():
        assert charts.contrast_ratio(colour) >= charts.MARK_CONTRAST, colour
    assert charts.contrast_ratio(charts.BAND_EDGE) >= charts.MARK_CONTRAST
    assert len(set(charts.SERIES_SYMBOLS)) == len(charts.SERIES_SYMBOLS) == len(charts.SERIES_COLOURS)


def test_its_chart_band_has_a_3_to_1_edge_and_comparisons_differ_by_shape():
    result = fit_its(monthly_counts(1, 40, 0.3), GO_LIVE, time="period", value="value", options=ITSOptions())
    fig = charts.its_chart(result, title="Hull")
    band = next(t for t in fig.data if t.fill == "toself")
    assert band.line.width >= 1 and charts.contrast_ratio(band.line.color) >= charts.MARK_CONTRAST
    for trace in fig.data:
        colour = (trace.marker.color if trace.mode == "markers" else trace.line.color)
        if isinstance(colour, str) and colour.startswith("#"):
            assert charts.contrast_ratio(colour) >= charts.MARK_CONTRAST, (trace.name, colour)


def test_summary_names_the_chart_and_each_series_in_words():
    result = fit_its(monthly_counts(1, 40, 0.3), GO_LIVE, time="period", value="value", options=ITSOptions())
    summary = summarise(charts.its_chart(result, title="A&E <b>attendances</b>: Hull"))
    assert summary.name == "A&E <b>attendances</b>: Hull"  # user text stays text
    observed = next(line for line in summary.lines if line.startswith("Observed"))
    assert "48 points from Jan 2019 to Dec 2022" in observed
    assert summarise(charts.empty_figure("T", "No data")).lines == ("No data.",)
    assert label_text("a<br>b &amp; c") == "a b & c"
