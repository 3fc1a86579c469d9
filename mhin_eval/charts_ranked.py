"""Charts for a roll-out with too many sites for a row or a chart each: the caterpillar plot (every site's
headline result ranked, instead of a forest plot or an ITS chart each) and the share of sites with data per
indicator and month (instead of a coverage row each). Kept apart from mhin_eval.charts (already long), in its
template."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from mhin_eval.analysis.pooling import METHOD_NAMES, PoolingResult
from mhin_eval.charts import (
    BAND_EDGE,
    COVERAGE_LABEL_CHARACTERS,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_DARK_GREY,
    NHS_TEXT,
    _fmt_effect,
    _legend_below,
    _log_ticks,
    _ratio_range,
    base_layout,
    empty_figure,
    month_grid_layout,
    wrap_text,
)
from mhin_eval.text import chart_text

PREDICTION_BAND = "rgba(0, 48, 135, 0.08)"
#: More sites than this are compared in a ranked chart rather than a forest plot with a row each, and a
#: project's slides show each outcome across its sites rather than a chart per site.
FOREST_MAX_SITES = 30


def ranked_sites(sites: pd.DataFrame) -> pd.DataFrame:
    """Sites with an estimate, ranked from the lowest estimate (rank 1) to the highest; ties keep their order."""
    shown = sites.dropna(subset=["estimate"]).sort_values("estimate", kind="stable").reset_index(drop=True)
    return shown.assign(rank=range(1, len(shown) + 1))


def caterpillar_plot(sites: pd.DataFrame, pooled: PoolingResult | None = None, *, title: str = "",
                     y_title: str = "", log_scale: bool = False, no_change_line: bool = True,
                     x_title: str = "Sites, ranked by their estimate") -> go.Figure:
    """Every site's estimate and CI (``sites``: label, estimate, ci_low, ci_high), ranked along the x axis, with
    the pooled estimate as a line, its CI and prediction interval as bands, and no change (1 for ratios on a
    log axis, else 0) dashed unless ``no_change_line`` is False (a score, not a change). Site names are in the
    hover, not on the axis: it is read for the spread."""
    ranked = ranked_sites(sites)
    if ranked.empty:
        return empty_figure(title, "No site has an estimate")
    level = round(100 * (pooled.conf_level if pooled is not None else 0.95))
    fig = go.Figure()
    k = len(ranked)
    extremes = [*ranked["ci_low"].dropna(), *ranked["ci_high"].dropna(), *ranked["estimate"]]
    subtitle = [f"{k} site{'s' if k != 1 else ''} with an estimate, ranked"]
    if pooled is not None and pooled.pooled is not None:
        est = pooled.pooled
        if pooled.prediction_low is not None and pooled.prediction_high is not None:
            fig.add_hrect(y0=pooled.prediction_low, y1=pooled.prediction_high, fillcolor=PREDICTION_BAND,
                          line=dict(color=BAND_EDGE, width=1, dash="dot"), layer="below", name="prediction_interval")
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{level}% prediction interval",
                                     marker=dict(symbol="square", size=14, color=PREDICTION_BAND,
                                                 line=dict(color=BAND_EDGE, width=1))))
            extremes += [pooled.prediction_low, pooled.prediction_high]
        fig.add_hrect(y0=est.ci_low, y1=est.ci_high, fillcolor="rgba(0, 48, 135, 0.18)",
                      line=dict(color=BAND_EDGE, width=1), layer="below", name="pooled_ci")
        fig.add_trace(go.Scatter(
            x=[0.5, k + 0.5], y=[est.estimate, est.estimate], mode="lines", name="Pooled estimate",
            line=dict(color=NHS_DARK_BLUE, width=2),
            hovertemplate=f"Pooled ({METHOD_NAMES.get(pooled.method, pooled.method)}): "
                          f"{_fmt_effect(est.estimate, log_scale)} ({_fmt_effect(est.ci_low, log_scale)} to "
                          f"{_fmt_effect(est.ci_high, log_scale)})<extra></extra>"))
        subtitle.append(f"pooled {_fmt_effect(est.estimate, log_scale)} ({level}% CI "
                        f"{_fmt_effect(est.ci_low, log_scale)} to {_fmt_effect(est.ci_high, log_scale)})")
        if pooled.i2 is not None:
            subtitle.append(f"I² = {pooled.i2:.0f}%")
    fig.add_trace(go.Scatter(
        x=ranked["rank"], y=ranked["estimate"], mode="markers", name=f"Site estimate ({level}% CI)",
        marker=dict(color=NHS_BLUE, size=7 if k > 100 else 9),
        error_y=dict(type="data", symmetric=False, array=ranked["ci_high"] - ranked["estimate"],
                     arrayminus=ranked["estimate"] - ranked["ci_low"], color=NHS_DARK_GREY, thickness=1.2,
                     width=0 if k > 60 else 3),
        text=[f"<b>{chart_text(label)}</b><br>{_fmt_effect(e, log_scale)} ({_fmt_effect(lo, log_scale)} to "
              f"{_fmt_effect(hi, log_scale)})<br>rank {r} of {k}"
              for label, e, lo, hi, r in zip(ranked["label"], ranked["estimate"], ranked["ci_low"],
                                             ranked["ci_high"], ranked["rank"], strict=True)],
        hovertemplate="%{text}<extra></extra>"))
    if no_change_line:
        fig.add_hline(y=1.0 if log_scale else 0.0, line=dict(color=NHS_TEXT, width=1.5, dash="dash"), layer="below",
                      name="null_line")
    layout = base_layout(title, height=460, x_title=x_title, y_title=y_title, subtitle=" · ".join(subtitle))
    layout["xaxis"].update(range=[0.5, k + 0.5], showticklabels=k <= 60, tickmode="linear" if k <= 30 else "auto")
    finite = [v for v in extremes if v is not None and math.isfinite(v)]
    if log_scale:
        low, high = _ratio_range([v for v in finite if v > 0] + [1.0])
        layout["yaxis"].update(type="log", range=[low, high], tickvals=_log_ticks(10**low, 10**high))
    else:
        finite += [0.0] if no_change_line else []
        pad = 0.06 * (max(finite) - min(finite) or 1)
        layout["yaxis"].update(range=[min(finite) - pad, max(finite) + pad])
    fig.update_layout(**_legend_below(layout))
    return fig


def site_frame(records) -> pd.DataFrame:
    """label, estimate, ci_low, ci_high of results of record (one indicator's), for :func:`caterpillar_plot`."""
    return pd.DataFrame(
        [(r.site_name, r.estimate.estimate, r.estimate.ci_low, r.estimate.ci_high) for r in records
         if r.estimate is not None],
        columns=["label", "estimate", "ci_low", "ci_high"])


def coverage_share_heatmap(shares: pd.DataFrame, title: str = "Data coverage") -> go.Figure:
    """Per indicator (a row each) and month, the share of sites with data: white none, NHS blue all
    (``shares`` as mhin_eval.coverage.sites_reporting gives it: indicator_label, period, sites, of_sites,
    share); the hover says how many sites of how many."""
    if shares.empty:
        return empty_figure(title, "No data stored yet")
    z = shares.pivot(index="indicator_label", columns="period", values="share").sort_index(ascending=False)
    counts = shares.set_index(["indicator_label", "period"])[["sites", "of_sites"]]
    months = list(z.columns)
    hover = [[f"{chart_text(row)}<br>{m:%b %Y}: {counts.at[(row, m), 'sites']:,} of "
              f"{counts.at[(row, m), 'of_sites']:,} sites with data" for m in months] for row in z.index]
    labels = [wrap_text(row, COVERAGE_LABEL_CHARACTERS) for row in z.index]
    lines = max(label.count("<br>") + 1 for label in labels)
    fig = go.Figure(go.Heatmap(
        z=z.values, x=months, y=labels, zmin=0, zmax=1, colorscale=[[0, "white"], [1, NHS_BLUE]], xgap=1, ygap=2,
        text=hover, hoverinfo="text",
        colorbar=dict(title=dict(text="Share of sites<br>with data"), tickformat=".0%", thickness=14)))
    fig.update_layout(**month_grid_layout(title, height=max(220, (16 + 17 * lines) * len(z) + 130)))
    return fig
