"""A suppressed view's SPC chart says that its limits come from rounded counts; tidy() gives one row per point."""

from __future__ import annotations

import pandas as pd
import pytest

from mhin_eval import charts
from mhin_eval.access.shown import Counts
from mhin_eval.access.suppression import SuppressionRule
from mhin_eval.analysis.spc import xmr
from mhin_eval.catalogue import Indicator

NOTE = ("Limits computed from counts rounded to the nearest 5 for disclosure control; "
        "an evaluator's view may show different signals.")


def indicator(kind: str) -> Indicator:
    return Indicator(id="x", project="p", label="Incidents", unit="incidents", source="series", kind=kind,
                     better="lower", default_model="poisson")


@pytest.fixture()
def result():
    periods = pd.date_range("2021-01-01", periods=14, freq="MS")
    return xmr(pd.DataFrame({"period": periods, "value": [20, 25, 15, 20, 30, 25, 20, 15, 25, 20, 30, 25, 20, 15]}),
               improvement="decrease")


@pytest.mark.parametrize("kind", ["count", "rate", "proportion"])
def test_suppressed_view_of_counts_notes_rounded_limits(result, kind):
    shown = Counts(True, SuppressionRule(threshold=7, round_to=5)).spc_result(result, indicator(kind))
    assert shown.disclosure_note == NOTE
    assert shown.points is result.points


def test_note_names_the_rounding_in_use(result):
    shown = Counts(True, SuppressionRule(threshold=9, round_to=10)).spc_result(result, indicator("count"))
    assert "nearest 10 for disclosure control" in shown.disclosure_note


@pytest.mark.parametrize("suppressed, kind", [(False, "count"), (True, "score")])
def test_no_note_for_the_evaluation_team_or_for_scores(result, suppressed, kind):
    shown = Counts(suppressed, SuppressionRule()).spc_result(result, indicator(kind))
    assert shown is result
    assert shown.disclosure_note is None


def subtitle(fig) -> str:
    return fig.layout.title.subtitle.text.replace("<br>", " ")


def test_chart_subtitle_shows_the_note(result):
    shown = Counts(True, SuppressionRule()).spc_result(result, indicator("count"))
    assert NOTE in subtitle(charts.spc_chart(shown, title="Incidents"))
    assert "disclosure" not in (charts.spc_chart(result, title="Incidents").layout.title.subtitle.text or "")


def test_tidy_has_one_row_per_point(result):
    tidy = result.tidy()
    assert list(tidy.columns) == ["period", "value", "centre", "lower_limit", "upper_limit", "point_type"]
    assert len(tidy) == len(result.points) == 14
    assert tidy["value"].tolist() == result.points["value"].tolist()
    row = result.summary.iloc[0]
    assert tidy["centre"].iloc[0] == pytest.approx(row["mean"])
    assert (tidy["lower_limit"].iloc[-1], tidy["upper_limit"].iloc[-1]) == pytest.approx((row["lpl"], row["upl"]))
    assert tidy["point_type"].tolist() == result.points["point_type"].tolist()


def test_tidy_of_a_faceted_chart_keeps_the_facet():
    periods = pd.date_range("2021-01-01", periods=12, freq="MS")
    frame = pd.concat([pd.DataFrame({"period": periods, "value": [1.0, 2.0] * 6, "site": s}) for s in "AB"])
    tidy = xmr(frame, facet="site").tidy()
    assert list(tidy.columns)[:2] == ["site", "period"]
    assert tidy.groupby("site").size().to_dict() == {"A": 12, "B": 12}
