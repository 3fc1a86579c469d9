"""Synthetic-control results in words and charts (synth_summary, charts_synth)."""

from __future__ import annotations

import pandas as pd

from mhin_eval import charts_synth
from mhin_eval.analysis.results import Estimate
from mhin_eval.analysis.synth import synth
from mhin_eval.synth_summary import MethodEffect, agreement, direction, weights_in_words


def test_weights_in_words_names_the_largest_donors_and_sums_the_rest():
    weights = {"A": 0.34, "B": 0.23, "C": 0.2, "D": 0.1, "E": 0.08, "F": 0.05, "G": 0.0}
    assert weights_in_words(weights, {"A": "Leeds"}) == (
        "Built mostly from Leeds (34%), B (23%), C (20%), D (10%) and 2 others (13%).")
    assert weights_in_words({"A": 1.0}) == "Built mostly from A (100%)."
    assert weights_in_words({"A": 0.1, "B": 0.1}).startswith("Built from a spread of donors:")


def _est(low, high, scale="difference"):
    return Estimate((low + high) / 2, low, high, scale=scale)


def test_direction_and_agreement():
    assert direction(_est(-3, -1)) == "lower"
    assert direction(_est(0.8, 1.2, "ratio")) == "unclear"
    assert direction(_est(1.1, 1.3, "ratio")) == "higher"
    fall = [MethodEffect("ITS", _est(0.7, 0.9, "ratio"), ""), MethodEffect("SC", _est(-3, -1), "")]
    assert agreement(fall) == "The 2 methods agree: each shows a fall."
    mixed = fall + [MethodEffect("SDID", _est(-1, 2), "")]
    assert agreement(mixed).startswith("No method points the opposite way to another, but not all find a clear change")
    assert "SDID shows no clear change" in agreement(mixed)
    opposite = fall + [MethodEffect("SDID", _est(1, 2), "")]
    assert agreement(opposite).startswith("The methods disagree on the direction")
    assert agreement(fall[:1]).startswith("Only one method")


def test_charts_draw_the_site_its_synthetic_comparison_and_every_placebo():
    rows = {"A": [1, 2, 3, 4, 5, 6], "B": [2, 3, 4, 5, 6, 7], "C": [0, 1, 2, 3, 4, 5], "T": [1.5, 2.5, 3.5, 4.5, 9, 10]}
    data = pd.DataFrame([{"u": u, "t": t, "y": v} for u, vs in rows.items() for t, v in zip(range(1, 7), vs, strict=True)])
    result = synth(data, unit="u", time="t", value="y", treated="T", intervention=5, method="sc")
    fig = charts_synth.synth_chart(result, title="x")
    assert [list(tr.y) for tr in fig.data[:2]] == [list(result.synthetic), list(result.observed)]
    spaghetti = charts_synth.placebo_chart(result, title="y")
    assert len(spaghetti.data) == len(result.placebos) + 1
    assert list(spaghetti.data[-1].y) == list(result.gaps)
