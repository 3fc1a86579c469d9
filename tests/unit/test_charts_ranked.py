"""The caterpillar plot (mhin_eval.charts_ranked): every site ranked by its estimate, with the pooled estimate
and prediction interval, on a log axis for ratios."""

from __future__ import annotations

import pandas as pd

from mhin_eval.analysis import pooling
from mhin_eval.analysis.results import Estimate
from mhin_eval.charts_ranked import caterpillar_plot, ranked_sites


def _sites(n=40):
    est = [0.7 + 0.6 * ((i * 37) % n) / n for i in range(n)]
    return pd.DataFrame({"label": [f"Site {i}" for i in range(n)], "estimate": est,
                         "ci_low": [e * 0.8 for e in est], "ci_high": [e * 1.25 for e in est]})


def _pooled(sites):
    return pooling.pool([pooling.from_estimate(r.label, Estimate(r.estimate, r.ci_low, r.ci_high, scale="ratio",
                                                           se=0.11))
                         for r in sites.itertuples()])


def test_sites_are_ranked_from_the_lowest_estimate_and_sites_without_one_left_out():
    sites = pd.concat([_sites(5), pd.DataFrame({"label": ["None"], "estimate": [None]})], ignore_index=True)
    ranked = ranked_sites(sites)
    assert list(ranked["rank"]) == [1, 2, 3, 4, 5]
    assert ranked["estimate"].is_monotonic_increasing and "None" not in set(ranked["label"])


def test_the_plot_draws_every_site_the_pooled_line_and_the_prediction_band():
    sites = _sites()
    pooled = _pooled(sites)
    fig = caterpillar_plot(sites, pooled, title="Ranked", log_scale=True)
    markers = next(t for t in fig.data if t.name.startswith("Site estimate"))
    assert len(markers.x) == len(sites) and list(markers.y) == sorted(sites["estimate"])
    line = next(t for t in fig.data if t.name == "Pooled estimate")
    assert set(line.y) == {pooled.pooled.estimate}
    band = next(s for s in fig.layout.shapes if s.name == "prediction_interval")
    assert (band.y0, band.y1) == (pooled.prediction_low, pooled.prediction_high)
    assert fig.layout.yaxis.type == "log"
    assert next(s for s in fig.layout.shapes if s.name == "null_line").y0 == 1.0


def test_without_a_pooled_estimate_only_the_sites_are_drawn():
    fig = caterpillar_plot(_sites(3), None)
    assert [t.name for t in fig.data] == ["Site estimate (95% CI)"]
    assert fig.layout.yaxis.type != "log"
