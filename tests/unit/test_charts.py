"""Chart builders: figures drawn from real analysis results on small synthetic data, checked for what a
reader sees (traces, dashes, markers, colours, labels), and rendered to PNG for a look at the exported image."""

from __future__ import annotations

import ast
import html
import io
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mhin_eval import charts
from mhin_eval.analysis.equity import group_rates, rate_ratios
from mhin_eval.analysis.its import ITSOptions, fit_its
from mhin_eval.analysis.pooling import from_ci, pool
from mhin_eval.analysis.prepost import paired_prepost
from mhin_eval.analysis.spc import xmr

GO_LIVE = pd.Timestamp("2021-01-01")
PNG_SIZE = (900, 500)


# ------------------------------------------------------------------------------------------ data


def monthly_counts(seed: int, level: float, drop: float, months: int = 48, start: str = "2019-01-01") -> pd.DataFrame:
    """Poisson counts around a gentle trend, multiplied by ``1 - drop`` from GO_LIVE on."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range(start, periods=months, freq="MS")
    mean = level * (1 + 0.004 * np.arange(months)) * np.where(periods >= GO_LIVE, 1 - drop, 1.0)
    return pd.DataFrame({"period": periods, "value": rng.poisson(mean)})


@pytest.fixture(scope="module")
def its_result():
    return fit_its(monthly_counts(1, 40, 0.3), GO_LIVE, time="period", value="value", options=ITSOptions())


@pytest.fixture(scope="module")
def controlled_its_result():
    data = pd.concat(
        [
            monthly_counts(2, 40, 0.3).assign(site="Hull"),
            monthly_counts(3, 55, 0.0).assign(site="Comparison trust"),
        ],
        ignore_index=True,
    )
    return fit_its(data, GO_LIVE, time="period", value="value", group="site", treated="Hull", options=ITSOptions())


@pytest.fixture(scope="module")
def spc_result():
    rng = np.random.default_rng(4)
    periods = pd.date_range("2020-01-01", periods=36, freq="MS")
    values = np.r_[rng.normal(50, 3, 24), rng.normal(40, 3, 12)]
    values[5] = 66  # a point beyond the upper limit: special cause (concern when lower is better)
    return xmr(pd.DataFrame({"period": periods, "value": values}), improvement="decrease", target=45)


@pytest.fixture(scope="module")
def rebased_spc_result():
    rng = np.random.default_rng(5)
    periods = pd.date_range("2020-01-01", periods=36, freq="MS")
    values = np.r_[rng.normal(50, 3, 18), rng.normal(60, 3, 18)]
    return xmr(pd.DataFrame({"period": periods, "value": values}), improvement="increase", rebase_at=["2021-07-01"])


@pytest.fixture(scope="module")
def pooling_result():
    sites = [
        from_ci("Hull", 0.62, 0.48, 0.80, scale="ratio"),
        from_ci("Greater Manchester", 0.81, 0.66, 0.99, scale="ratio"),
        from_ci("Sheffield", 0.95, 0.70, 1.29, scale="ratio"),
        from_ci("Leeds", 0.55, 0.35, 0.86, scale="ratio"),
        from_ci("Bristol", 0.74, 0.60, 0.91, scale="ratio"),
    ]
    return pool(sites, method="DL")


def participants(n_pairs: int, n_missing_followup: int, seed: int) -> pd.DataFrame:
    """Long participant rows of one anxiety score: baseline for everyone, follow-up for the completers."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(30, 6, n_pairs + n_missing_followup).round()
    follow_up = (baseline[:n_pairs] - rng.normal(6, 4, n_pairs)).round()
    ids = [f"P{i:03d}" for i in range(n_pairs + n_missing_followup)]
    rows = [
        *({"participant_id": p, "measure": "scas", "timepoint": "baseline", "value": v} for p, v in zip(ids, baseline, strict=True)),
        *({"participant_id": p, "measure": "scas", "timepoint": "follow-up", "value": v} for p, v in zip(ids, follow_up, strict=False)),  # completers only
    ]
    return pd.DataFrame(rows).assign(site="east-of-england")


@pytest.fixture(scope="module")
def small_prepost():
    data = participants(12, 3, seed=6)
    return data, paired_prepost(data)


@pytest.fixture(scope="module")
def large_prepost():
    data = participants(160, 20, seed=7)
    return data, paired_prepost(data)


@pytest.fixture(scope="module")
def ethnicity_counts():
    """Detentions and populations by ethnicity, shaped like NHS England's MHA annual figures (one group suppressed)."""
    return pd.DataFrame(
        {
            "group": ["White", "Black or Black British", "Asian or Asian British", "Mixed", "Other ethnic group"],
            "value": [1390, 478, 190, 85, np.nan],
            "denominator": [2_000_000, 200_000, 220_000, 60_000, 40_000],
        }
    )


@pytest.fixture(scope="module")
def funnel_stages():
    return pd.DataFrame(
        {
            "stage": ["Referred", "Started", "Completed"] * 2,
            "order": [1, 2, 3] * 2,
            "group": ["Online"] * 3 + ["Face-to-face"] * 3,
            "count": [120, 96, 70, 80, 52, 41],
        }
    )


# ------------------------------------------------------------------------------------------ helpers


def traces_named(fig: go.Figure, fragment: str) -> list:
    return [t for t in fig.data if t.name and fragment.lower() in t.name.lower()]


def only_trace(fig: go.Figure, fragment: str):
    found = traces_named(fig, fragment)
    assert len(found) == 1, f"expected one trace named like {fragment!r}, found {[t.name for t in fig.data]}"
    return found[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", data[16:24])


def pixel_std(data: bytes) -> float:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return float(np.asarray(image.convert("L"), dtype=float).std())


def render(fig: go.Figure, path: Path) -> bytes:
    """Write the figure as a PNG of PNG_SIZE (kaleido, through the exports' one kept browser, with no
    network request) and check it is an image with something drawn on it."""
    from mhin_eval.export import chart_image

    width, height = PNG_SIZE
    data = chart_image(fig, "png", width=width, height=height, scale=1)
    path.write_bytes(data)
    assert png_size(data) == (width, height)
    assert pixel_std(data) > 2, f"{path.name} looks blank"
    return data


def assert_empty_state(fig: go.Figure) -> None:
    notes = [a for a in fig.layout.annotations if a.name == "empty_state"]
    assert len(notes) == 1 and "No data" in notes[0].text
    assert len(fig.data) == 0


# ------------------------------------------------------------------------------------------ ITS


def test_its_chart_shows_observed_fit_and_dashed_counterfactual(its_result):
    sentence = "A&E attendances fell by 28% (95% CI 18% to 37%) after go-live compared with the expected trend"
    fig = charts.its_chart(its_result, title="A&E attendances: Hull", y_title="A&E attendances",
                           unit="attendances", go_live=GO_LIVE, annotation=sentence)
    assert [t.name for t in fig.data] == [
        "95% CI of expected values",
        "Expected without intervention (counterfactual)",
        "Model fit",
        "Observed",
    ]
    counterfactual = only_trace(fig, "counterfactual")
    fitted = only_trace(fig, "model fit")
    observed = only_trace(fig, "observed")
    assert counterfactual.line.dash == "dash"
    assert fitted.line.dash in (None, "solid") and fitted.mode == "lines"
    assert observed.mode == "markers"

    post = its_result.fitted[its_result.fitted["post"]]
    # The counterfactual starts at the last pre-period point and covers the whole post period.
    assert pd.Timestamp(counterfactual.x[0]) == GO_LIVE - pd.DateOffset(months=1)
    assert list(pd.to_datetime(counterfactual.x[1:])) == list(post["period"])
    np.testing.assert_allclose(np.asarray(counterfactual.y[1:], dtype=float), post["counterfactual"])
    # The band is a closed polygon between the CI limits of the counterfactual.
    band = only_trace(fig, "CI of expected")
    assert band.fill == "toself"
    band_y = np.asarray(band.y, dtype=float)
    assert band_y.max() == pytest.approx(post["counterfactual_high"].max())
    assert band_y.min() == pytest.approx(post["counterfactual_low"].min())
    # The fit is broken at go-live, not joined across the level change.
    assert list(fitted.x).count(None) == 1

    marker = [s for s in fig.layout.shapes if s.name == "go_live"]
    assert len(marker) == 1 and pd.Timestamp(marker[0].x0) == GO_LIVE == pd.Timestamp(marker[0].x1)
    assert any(a.name == "go_live" and "Jan 2021" in a.text for a in fig.layout.annotations)
    # Text is stored as plotly draws it: "&" as "&amp;" (mhin_eval.text.chart_text).
    assert sentence.split()[0] in html.unescape(fig.layout.title.subtitle.text)
    assert html.unescape(fig.layout.title.subtitle.text.replace("<br>", " ")) == sentence
    assert fig.layout.yaxis.title.text == "A&amp;E attendances"  # the unit is already in the title: not repeated
    first_post = observed.text[list(pd.to_datetime(observed.x)).index(GO_LIVE)]
    assert "Jan 2021" in first_post and "attendances" in first_post
    assert "Model fit" in first_post and "Expected without intervention" in first_post


def test_its_chart_without_counterfactual_and_inferred_go_live(its_result):
    fig = charts.its_chart(its_result, y_title="Attendances", unit="per month", show_counterfactual=False)
    assert [t.name for t in fig.data] == ["Model fit", "Observed"]
    marker = next(s for s in fig.layout.shapes if s.name == "go_live")
    assert pd.Timestamp(marker.x0) == GO_LIVE
    assert fig.layout.yaxis.title.text == "Attendances (per month)"


def test_its_chart_draws_comparison_series_in_a_second_colour(controlled_its_result):
    fig = charts.its_chart(controlled_its_result, title="Controlled ITS", unit="attendances", go_live=GO_LIVE)
    names = [t.name for t in fig.data]
    assert names == [
        "95% CI of expected values",
        "Expected without intervention (counterfactual)",
        "Hull: model fit",
        "Hull: observed",
        "Comparison trust: model fit",
        "Comparison trust: observed",
    ]
    treated = only_trace(fig, "Hull: observed")
    comparison = only_trace(fig, "Comparison trust: observed")
    assert treated.marker.color != comparison.marker.color
    assert treated.marker.symbol != comparison.marker.symbol
    fitted = controlled_its_result.fitted
    assert len(comparison.x) == (fitted["group"] == "Comparison trust").sum()
    assert len(treated.x) == (fitted["group"] == "Hull").sum()


def test_its_chart_without_a_model_shows_the_reason(its_result):
    data = monthly_counts(8, 40, 0.3, months=26)  # 2 points after go-live: too few to fit
    result = fit_its(data, GO_LIVE, time="period", value="value")
    assert not result.has_estimates
    fig = charts.its_chart(result, title="Too short")
    assert [t.name for t in fig.data] == ["Observed"]
    assert "No estimate" in fig.layout.title.subtitle.text


def test_its_chart_with_integer_time():
    rng = np.random.default_rng(10)
    t = np.arange(1, 31)
    data = pd.DataFrame({"time": t, "value": 20 + 0.2 * t - 5 * (t >= 16) + rng.normal(0, 1.5, 30)})
    result = fit_its(data, 16, options=ITSOptions(family="gaussian"))
    fig = charts.its_chart(result, y_title="Score", unit="points", go_live=16)
    marker = next(s for s in fig.layout.shapes if s.name == "go_live")
    assert marker.x0 == 16
    assert fig.layout.xaxis.title.text == "Period"
    hover = only_trace(fig, "Observed").text[15]
    assert hover.startswith("<b>16</b>") and "Expected without intervention" in hover and "points" in hover


def test_its_chart_empty(its_result):
    empty = its_result.__class__(**{**its_result.__dict__, "fitted": its_result.fitted.iloc[0:0]})
    assert_empty_state(charts.its_chart(empty, title="Nothing"))


# ------------------------------------------------------------------------------------------ SPC


def test_spc_chart_colours_points_by_type_and_draws_limits(spc_result):
    fig = charts.spc_chart(spc_result, title="Restraint incidents", y_title="Incidents", unit="per month")
    points = spc_result.points
    marker_traces = [t for t in fig.data if t.mode == "markers"]
    assert {t.meta for t in marker_traces} == set(points["point_type"])
    assert "special_cause_concern" in set(points["point_type"])
    assert "special_cause_improvement" in set(points["point_type"])
    for trace in marker_traces:
        expected = points[points["point_type"] == trace.meta]
        assert trace.marker.color == charts.SPC_COLOURS[trace.meta]
        assert trace.name == charts.SPC_POINT_LABELS[trace.meta]
        assert list(pd.to_datetime(trace.x)) == list(expected["time"])
    assert sum(len(t.x) for t in marker_traces) == len(points)

    mean = only_trace(fig, "Mean")
    limits = traces_named(fig, "Process limits")
    assert len(limits) == 2 and all(t.line.dash == "dash" for t in limits)
    assert mean.line.dash == "solid"
    assert max(v for v in limits[0].y if v is not None) == pytest.approx(spc_result.summary["upl"].iloc[0])
    target = only_trace(fig, "Target")
    assert set(target.y) == {45}

    labels = " ".join(a.text for a in fig.layout.annotations if a.name in ("variation_icon", "assurance_icon"))
    variation = charts.VARIATION_BADGES[spc_result.variation_icon][2]
    assurance = charts.ASSURANCE_BADGES[spc_result.assurance_icon][2]
    assert wrap_free(variation) in wrap_free(labels) and wrap_free(assurance) in wrap_free(labels)
    badges = [s for s in fig.layout.shapes if s.type == "circle"]
    assert len(badges) == 2 and badges[0].xsizemode == "pixel"


def wrap_free(text: str) -> str:
    return text.replace("<br>", " ")


def test_spc_chart_draws_each_segment_separately(rebased_spc_result):
    fig = charts.spc_chart(rebased_spc_result, title="Rebased")
    mean = only_trace(fig, "Mean")
    assert list(mean.x).count(None) == 1  # two segments, not joined
    levels = {round(v, 6) for v in mean.y if v is not None}
    assert levels == {round(v, 6) for v in rebased_spc_result.summary["mean"]}
    rebase = [s for s in fig.layout.shapes if s.name == "rebase"]
    assert len(rebase) == 1 and pd.Timestamp(rebase[0].x0) == pd.Timestamp("2021-07-01")
    assert not traces_named(fig, "Target")
    assert [a for a in fig.layout.annotations if a.name == "assurance_icon"] == []


def test_spc_chart_of_a_faceted_result_shows_one_facet_and_names_it():
    rng = np.random.default_rng(9)
    periods = pd.date_range("2020-01-01", periods=20, freq="MS")
    data = pd.DataFrame({"period": list(periods) * 2, "value": rng.normal(10, 2, 40), "site": ["A"] * 20 + ["B"] * 20})
    result = xmr(data, facet="site")
    first = charts.spc_chart(result)
    assert "site: A (1 of 2)" in first.layout.title.subtitle.text
    chosen = charts.spc_chart(result, facet_value="B")
    b_values = result.points.loc[result.points["site"] == "B", "value"]
    assert sorted(v for t in chosen.data if t.mode == "markers" for v in t.y) == sorted(b_values)
    assert "No data" in charts.spc_chart(result, facet_value="C").layout.annotations[0].text


def test_spc_hover_names_the_rule_and_unit(spc_result):
    fig = charts.spc_chart(spc_result, unit="incidents")
    concern = next(t for t in fig.data if t.meta == "special_cause_concern")
    assert any("outside the process limits" in text for text in concern.text)
    assert all("incidents" in text for text in concern.text)


def test_spc_chart_empty(spc_result):
    empty = spc_result.__class__(**{**spc_result.__dict__, "points": spc_result.points.iloc[0:0]})
    assert_empty_state(charts.spc_chart(empty))


# ------------------------------------------------------------------------------------------ forest plot


def test_forest_plot_rows_diamond_and_prediction_interval(pooling_result):
    fig = charts.forest_plot(pooling_result, title="A&E attendances: rate ratio after vs before",
                             x_title="Rate ratio")
    sites = pooling_result.sites
    squares = only_trace(fig, "Site estimate")
    np.testing.assert_allclose(np.asarray(squares.x, dtype=float), sites["estimate"])
    heaviest = int(sites["weight_percent"].idxmax())
    assert squares.marker.size[heaviest] == max(squares.marker.size)
    assert squares.marker.symbol == "square"

    diamond = only_trace(fig, "Pooled estimate")
    assert min(diamond.x) == pytest.approx(pooling_result.pooled.ci_low)
    assert max(diamond.x) == pytest.approx(pooling_result.pooled.ci_high)
    assert pooling_result.pooled.estimate in diamond.x
    prediction = only_trace(fig, "prediction interval")
    assert list(prediction.x) == pytest.approx([pooling_result.prediction_low, pooling_result.prediction_high])
    assert set(prediction.y) == {diamond.y[0]}  # drawn through the diamond

    null = next(s for s in fig.layout.shapes if s.name == "null_line")
    assert null.x0 == 1 and fig.layout.xaxis.type == "log"
    assert f"I² = {pooling_result.i2:.0f}%" in fig.layout.title.subtitle.text
    assert "τ²" in fig.layout.title.subtitle.text
    assert list(fig.layout.yaxis.ticktext[:5]) == list(sites["label"])
    printed = [a.text for a in fig.layout.annotations if a.name == "estimate_text"]
    assert f"{sites['estimate'].iloc[0]:.2f} ({sites['ci_low'].iloc[0]:.2f} to {sites['ci_high'].iloc[0]:.2f})" in printed


def test_forest_plot_differences_on_linear_axis_with_null_at_zero():
    result = pool([from_ci("A", -3.1, -5.0, -1.2), from_ci("B", -1.0, -3.5, 1.5), from_ci("C", -2.2, -4.0, -0.4)])
    fig = charts.forest_plot(result, x_title="Change in anxiety score (points)")
    assert fig.layout.xaxis.type in (None, "linear", "-")
    assert next(s for s in fig.layout.shapes if s.name == "null_line").x0 == 0
    assert fig.layout.xaxis.title.text == "Change in anxiety score (points)"
    printed = [a.text for a in fig.layout.annotations if a.name == "estimate_text"]
    assert "−3.10 (−5.00 to −1.20)" in printed  # typographic minus signs


def test_forest_plot_single_site_has_no_diamond():
    result = pool([from_ci("Hull", 0.7, 0.5, 0.9, scale="ratio")])
    fig = charts.forest_plot(result)
    assert not traces_named(fig, "Pooled")
    assert "pooling needs at least 2" in fig.layout.title.subtitle.text.replace("<br>", " ")


def test_forest_plot_empty(pooling_result):
    empty = pooling_result.__class__(**{**pooling_result.__dict__, "sites": pooling_result.sites.iloc[0:0]})
    assert_empty_state(charts.forest_plot(empty))


# ------------------------------------------------------------------------------------------ pre/post


def test_prepost_chart_draws_a_line_per_person_for_small_samples(small_prepost):
    data, result = small_prepost
    fig = charts.prepost_chart(data, result, title="Child anxiety (SCAS)", y_title="SCAS score", unit="points")
    people = [t for t in fig.data if t.legendgroup == "participants"]
    assert len(people) == result.n_pairs == 12
    assert sum(bool(t.showlegend) for t in people) == 1
    assert not [t for t in fig.data if t.type == "box"]
    mean = only_trace(fig, "Mean")
    assert list(mean.y) == pytest.approx([result.mean_before, result.mean_after])
    assert mean.line.color == charts.NHS_BLUE
    assert "12 participants with both values" in fig.layout.title.subtitle.text
    assert "3 missing follow-up" in fig.layout.title.subtitle.text
    first = data[data["participant_id"] == "P000"].set_index("timepoint")["value"]
    assert list(people[0].y) == [first["baseline"], first["follow-up"]]


def test_prepost_chart_draws_distributions_for_large_samples(large_prepost):
    data, result = large_prepost
    fig = charts.prepost_chart(data, result, y_title="SCAS score", max_lines=40)
    assert not [t for t in fig.data if t.legendgroup == "participants"]
    boxes = [t for t in fig.data if t.type == "box"]
    assert len(boxes) == 2 and all(len(b.y) == 160 for b in boxes)
    assert list(only_trace(fig, "Mean").y) == pytest.approx([result.mean_before, result.mean_after])
    assert "160 participants" in fig.layout.title.subtitle.text and "20 missing" in fig.layout.title.subtitle.text


def test_prepost_chart_empty(small_prepost):
    data, result = small_prepost
    assert_empty_state(charts.prepost_chart(data.iloc[0:0], result))


# ------------------------------------------------------------------------------------------ equity


def test_group_rates_chart_highlights_the_reference(ethnicity_counts):
    rates = group_rates(ethnicity_counts)
    fig = charts.group_rates_chart(rates.table, title="Detentions per 100,000", reference="White")
    reference = only_trace(fig, "Reference group")
    assert list(reference.y) == ["<b>White (reference)</b>"]
    assert list(reference.x) == pytest.approx([1390 / 2_000_000 * 100_000])
    others = only_trace(fig, "Rate")
    assert len(others.x) == 3  # the suppressed group has no dot
    table = rates.table.set_index("group")
    black = list(others.y).index("Black or Black British")
    assert others.x[black] == pytest.approx(table.loc["Black or Black British", "rate"])
    whiskers = only_trace(fig, "95% CI")
    assert table.loc["Black or Black British", "ci_high"] in whiskers.x
    assert any(a.name == "no_rate" and "suppressed" in a.text for a in fig.layout.annotations)
    assert fig.layout.xaxis.title.text == "Rate (per 100,000)"
    line = next(s for s in fig.layout.shapes if s.name == "reference_line")
    assert line.x0 == pytest.approx(table.loc["White", "rate"])


def test_rate_ratio_chart_log_axis_null_line_and_reference(ethnicity_counts):
    ratios = rate_ratios(ethnicity_counts, "White")
    fig = charts.rate_ratio_chart(ratios.table, title="Rate ratio vs White", reference="White")
    assert fig.layout.xaxis.type == "log"
    assert next(s for s in fig.layout.shapes if s.name == "null_line").x0 == 1
    reference = only_trace(fig, "Reference group")
    assert list(reference.x) == [1.0] and "reference" in reference.y[0]
    dots = only_trace(fig, "Rate ratio")
    expected = ratios.table.dropna(subset=["ci_low"])
    np.testing.assert_allclose(np.asarray(dots.x, dtype=float), expected["rate_ratio"])
    assert "White" in fig.layout.xaxis.title.text
    # the reference is read from the table when the caller does not name it
    assert only_trace(charts.rate_ratio_chart(ratios.table), "Reference group").y[0] == "<b>White (reference)</b>"


def test_equity_charts_empty():
    assert_empty_state(charts.group_rates_chart(pd.DataFrame()))
    assert_empty_state(charts.rate_ratio_chart(pd.DataFrame()))


def test_equity_charts_say_so_when_every_count_is_suppressed():
    suppressed = pd.DataFrame({"group": ["White", "Black or Black British"], "value": [10, np.nan],
                               "denominator": [1000, 1000]})
    assert_empty_state(charts.group_rates_chart(group_rates(suppressed.assign(value=np.nan)).table))
    assert_empty_state(charts.rate_ratio_chart(rate_ratios(suppressed, "White").table))


# ------------------------------------------------------------------------------------------ funnel


def test_funnel_chart_bars_per_group_with_share_of_first_stage(funnel_stages):
    fig = charts.funnel_chart(funnel_stages.sample(frac=1, random_state=1), title="Uptake")
    assert sorted(t.name for t in fig.data) == ["Face-to-face", "Online"]
    for trace in fig.data:
        assert trace.type == "bar" and trace.orientation == "h"
        assert list(trace.y) == ["Referred", "Started", "Completed"]
        expected = funnel_stages[funnel_stages["group"] == trace.name].sort_values("order")["count"].tolist()
        assert list(trace.x) == expected
        assert list(trace.text) == [f"{c:,} ({c / expected[0]:.0%})" for c in expected]
    assert list(fig.layout.yaxis.categoryarray) == ["Completed", "Started", "Referred"]  # referred on top
    assert fig.data[0].marker.color != fig.data[1].marker.color
    assert "share of referred" in fig.layout.title.subtitle.text


def test_funnel_chart_marks_suppressed_counts(funnel_stages):
    stages = funnel_stages.assign(count=funnel_stages["count"].astype(float))
    stages.loc[5, "count"] = np.nan
    fig = charts.funnel_chart(stages)
    face = only_trace(fig, "Face-to-face")
    assert face.text[-1] == "suppressed"
    assert only_trace(fig, "Online").text[-1] == "70 (58%)"


def test_funnel_chart_empty():
    assert_empty_state(charts.funnel_chart(pd.DataFrame(columns=["stage", "order", "group", "count"])))


# ------------------------------------------------------------------------------------------ purity and images


def test_chart_module_imports_no_streamlit():
    source = Path(charts.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "streamlit" not in imported
    assert "plotly" in imported  # the parser did see the imports


def test_charts_render_to_png(
    artifacts_dir, its_result, controlled_its_result, spc_result, rebased_spc_result, pooling_result, small_prepost,
    large_prepost, ethnicity_counts, funnel_stages,
):
    """Every chart exports as a non-blank PNG of the requested size (kaleido); the images are kept for review."""
    folder = artifacts_dir / "charts"
    folder.mkdir(exist_ok=True)
    sentence = "A&E attendances fell by 28% (95% CI 18% to 37%) in the 12 months after go-live compared with the expected trend"
    figures = {
        "its": charts.its_chart(its_result, title="A&E attendances: Hull", y_title="A&E attendances",
                                unit="attendances", go_live=GO_LIVE, annotation=sentence),
        "its_controlled": charts.its_chart(controlled_its_result, title="A&E attendances: Hull vs comparison trust",
                                           y_title="A&E attendances", unit="attendances", go_live=GO_LIVE),
        "spc": charts.spc_chart(spc_result, title="Restraint incidents: Sheffield", y_title="Incidents",
                                unit="per month"),
        "spc_rebased": charts.spc_chart(rebased_spc_result, title="Families completing treatment",
                                        y_title="Families"),
        "forest": charts.forest_plot(pooling_result, title="A&E attendances after vs before, by site",
                                     x_title="Rate ratio"),
        "prepost_lines": charts.prepost_chart(*small_prepost, title="Child anxiety (SCAS)", y_title="SCAS score",
                                              unit="points"),
        "prepost_boxes": charts.prepost_chart(*large_prepost, title="Child anxiety (SCAS)", y_title="SCAS score",
                                              unit="points"),
        "group_rates": charts.group_rates_chart(group_rates(ethnicity_counts).table, reference="White",
                                                title="Detentions under the Mental Health Act by ethnicity"),
        "rate_ratios": charts.rate_ratio_chart(rate_ratios(ethnicity_counts, "White").table, reference="White",
                                               title="Detention rate ratio against White people"),
        "funnel": charts.funnel_chart(funnel_stages, title="Uptake of parent-led CBT by delivery mode"),
        "empty": charts.its_chart(None, title="No series chosen"),
    }
    for name, fig in figures.items():
        render(fig, folder / f"{name}.png")


def test_a_published_measure_chart_escapes_its_texts_once():
    """'A&E' and '<b>' in a label are shown as typed: escaped once, never twice (A&amp;amp;E) or not at all."""
    rows = pd.DataFrame({"period": pd.to_datetime(["2018-01-01", "2018-02-01"]), "value": [5.0, 6.0],
                         "share": [float("nan")] * 2, "level": "trust", "org_name": "Trust <b>X</b>",
                         "published_value": ["5", "6"]})
    fig = charts.published_measure_chart(rows, title="Type 1 A&E <b>attendances</b>", subtitle="A&E", unit="a&b",
                                         go_live="2018-02-01")
    layout = fig.layout
    assert layout.title.text == "Type 1 A&amp;E &lt;b&gt;attendances&lt;/b&gt;"
    assert layout.title.subtitle.text == "A&amp;E"
    assert layout.yaxis.title.text == "Count (a&amp;b)"
    assert fig.data[0].name == "Trust &lt;b&gt;X&lt;/b&gt;"
    assert [a.text for a in layout.annotations] == ["go-live"]
