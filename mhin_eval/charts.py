"""Plotly figures built from analysis results and tidy frames (pure: no Streamlit, no I/O).

One template for the whole app so that the screen and exported images match: NHS identity
colours, colour-blind-safe series colours, legible type. Pages draw with ``theme=None``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

# NHS identity colours (NHS England digital service manual, "Colours").
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_AQUA_GREEN = "#00A499"
NHS_WARM_YELLOW = "#FFB81C"
NHS_ORANGE = "#ED8B00"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_RED = "#DA291C"
NHS_PURPLE = "#330072"
NHS_TEXT = "#212B32"

# Series colours that stay distinguishable with the common colour-vision deficiencies
# (ordered after Okabe & Ito 2008, mapped onto the NHS palette where it allows).
SERIES_COLOURS = (NHS_BLUE, NHS_ORANGE, NHS_AQUA_GREEN, NHS_PURPLE, NHS_WARM_YELLOW, NHS_LIGHT_BLUE, NHS_DARK_GREY)

# Making Data Count point colours: improvement blue, concern orange, common cause grey.
SPC_COLOURS = {
    "special_cause_improvement": NHS_LIGHT_BLUE,
    "special_cause_concern": NHS_ORANGE,
    "special_cause_neither": NHS_PURPLE,
    "common_cause": NHS_MID_GREY,
}

FONT_FAMILY = "Frutiger, Arial, Helvetica, sans-serif"


def base_layout(title: str = "", *, height: int = 420, y_title: str = "", x_title: str = "") -> dict:
    """Layout shared by every chart: white background, NHS text colour, legible sizes."""
    return dict(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=18, color=NHS_TEXT)),
        font=dict(family=FONT_FAMILY, size=14, color=NHS_TEXT),
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin=dict(l=60, r=30, t=60 if title else 30, b=50),
        colorway=list(SERIES_COLOURS),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=13)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(title=x_title, showgrid=False, linecolor=NHS_MID_GREY, ticks="outside"),
        yaxis=dict(title=y_title, gridcolor=NHS_PALE_GREY, zeroline=False, linecolor=NHS_MID_GREY),
    )


def coverage_heatmap(coverage: pd.DataFrame, title: str = "Data coverage") -> go.Figure:
    """Which months each site has for each indicator: filled cell = data present, white = missing.

    ``coverage`` has columns site, indicator, period (month start) and n_rows, one row per month
    with data (as returned by ``Store.coverage``); labels may be given in ``site_label`` /
    ``indicator_label`` columns.
    """
    fig = go.Figure()
    if coverage.empty:
        fig.update_layout(**base_layout(title, height=200))
        fig.add_annotation(text="No data stored yet", showarrow=False, font=dict(size=16))
        return fig
    frame = coverage.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    site_label = frame["site_label"] if "site_label" in frame else frame["site"]
    indicator_label = frame["indicator_label"] if "indicator_label" in frame else frame["indicator"]
    frame["row"] = site_label.astype(str) + " · " + indicator_label.astype(str)
    months = pd.date_range(frame["period"].min(), frame["period"].max(), freq="MS")
    present = (
        frame.assign(present=1)
        .pivot_table(index="row", columns="period", values="present", aggfunc="max")
        .reindex(columns=months)
        .fillna(0)
        .sort_index(ascending=False)
    )
    n_missing = (present == 0).sum(axis=1)
    hover = [
        [f"{row}<br>{m:%b %Y}: {'data' if v else 'missing'}" for m, v in zip(months, present.loc[row], strict=True)]
        for row in present.index
    ]
    fig.add_trace(
        go.Heatmap(
            z=present.values,
            x=months,
            y=[f"{r} ({n} missing)" if n else r for r, n in zip(present.index, n_missing, strict=True)],
            colorscale=[[0, "white"], [0.5, "white"], [0.5, NHS_BLUE], [1, NHS_BLUE]],
            zmin=0,
            zmax=1,
            showscale=False,
            xgap=1,
            ygap=2,
            text=hover,
            hoverinfo="text",
        )
    )
    layout = base_layout(title, height=max(220, 28 * len(present) + 110))
    layout["margin"]["l"] = 20
    layout["yaxis"].update(automargin=True, gridcolor="white")
    layout["xaxis"].update(dtick="M12", tickformat="%Y")
    fig.update_layout(**layout)
    return fig
