"""Plotly figures of synthetic-control results (pure: from analysis.synth results or the monthly path kept in a
synthetic-control record, which has the same attributes; no UI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from mhin_eval.analysis.synth import SynthResult
from mhin_eval.charts import NHS_BLUE, NHS_DARK_GREY, NHS_MID_GREY, NHS_ORANGE_DARK, base_layout
from mhin_eval.text import chart_text

if TYPE_CHECKING:
    from mhin_eval.synth_record import SynthPath


def axis_titles(unit: str) -> tuple[str, str]:
    """(short axis title, subtitle) for a unit such as "attendances per patient in the outreach cohort": a long
    unit runs past the plot's height as an axis title, so the axis says what is counted and the subtitle the rest."""
    short = unit.split(" per ")[0] if " per " in unit else unit
    short = short if len(short) <= 30 else "Value"
    return short[:1].upper() + short[1:], (unit[:1].upper() + unit[1:] if short.lower() != unit.lower() else "")


def _go_live_line(fig: go.Figure, result: SynthResult | SynthPath) -> None:
    fig.add_vline(x=result.go_live, line=dict(color=NHS_MID_GREY, dash="dash", width=1))
    fig.add_annotation(x=result.go_live, y=1, yref="paper", text="Go-live", showarrow=False, xanchor="left",
                       font=dict(color=NHS_DARK_GREY, size=12))


def synth_chart(result: SynthResult | SynthPath, *, title: str, y_title: str = "", treated_name: str = "This site",
                subtitle: str = "") -> go.Figure:
    """The treated series, its synthetic comparison and the gap between them after go-live."""
    fig = go.Figure()
    periods = list(result.periods)
    fig.add_scatter(x=periods, y=list(result.synthetic), name="Similar sites combined (synthetic)",
                    line=dict(color=NHS_ORANGE_DARK, dash="dot", width=2))
    fig.add_scatter(x=periods, y=list(result.observed), name=chart_text(treated_name), line=dict(color=NHS_BLUE, width=2))
    start = result.n_pre
    fig.add_scatter(x=periods[start:] + periods[start:][::-1],
                    y=list(result.observed[start:]) + list(result.synthetic[start:])[::-1],
                    fill="toself", fillcolor="rgba(0,94,184,0.12)", line=dict(width=0), hoverinfo="skip",
                    name="Gap (the estimated effect)")
    _go_live_line(fig, result)
    _legend_below(fig, title, y_title, subtitle)
    return fig


def _legend_below(fig: go.Figure, title: str, y_title: str, subtitle: str = "") -> None:
    """The house layout with the legend under the axis, where a wrapped title cannot run into it."""
    layout = base_layout(title, y_title=y_title, height=460, subtitle=subtitle)
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0)
    layout["margin"] = {**layout["margin"], "b": 90}
    fig.update_layout(**layout)


def placebo_chart(result: SynthResult | SynthPath, *, title: str, y_title: str = "", treated_name: str = "This site",
                  subtitle: str = "") -> go.Figure:
    """The gap of every donor treated in turn (grey) and the site's own gap (blue): is the site's unusual?"""
    fig = go.Figure()
    periods = list(result.periods)
    for k, placebo in enumerate(result.placebos):
        fig.add_scatter(x=periods, y=list(placebo.gaps), mode="lines", line=dict(color=NHS_MID_GREY, width=1),
                        name="Similar sites (each as if it had gone live)", legendgroup="placebo",
                        showlegend=k == 0, hovertemplate=f"{chart_text(placebo.unit)}: %{{y:.3g}}<extra></extra>")
    fig.add_scatter(x=periods, y=list(result.gaps), mode="lines", line=dict(color=NHS_BLUE, width=3), name=chart_text(treated_name))
    fig.add_hline(y=0, line=dict(color=NHS_MID_GREY, width=1))
    _go_live_line(fig, result)
    _legend_below(fig, title, y_title, subtitle)
    return fig
