"""Plotly figures built from analysis results and tidy frames (pure: no Streamlit, no I/O).

One template for the whole app so that the screen and exported images match: NHS identity
colours, colour-blind-safe series colours, legible type. Pages draw with ``theme=None``.
"""

from __future__ import annotations

import html
import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mhin_eval.analysis.pooling import METHOD_NAMES as METHOD_LABELS
from mhin_eval.text import chart_text
from mhin_eval.wording import fmt_signed

if TYPE_CHECKING:
    from mhin_eval.analysis.its import ITSResult
    from mhin_eval.analysis.pooling import PoolingResult
    from mhin_eval.analysis.spc import SPCResult

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
NHS_DARK_RED = "#8A1538"
NHS_PINK = "#AE2573"
NHS_DARK_GREEN = "#006747"
NHS_PURPLE = "#330072"
NHS_TEXT = "#212B32"
#: NHS orange at 0.72 of its brightness (same hue): 4.6:1 on white, where NHS orange itself (2.5:1),
#: light blue (2.3:1), aqua green (3.1:1) and warm yellow (1.7:1) fail WCAG 2.2's 3:1 for marks (1.4.11).
NHS_ORANGE_DARK = "#AB6400"

#: WCAG 2.2 AA contrast against the white chart background: 3:1 for marks (1.4.11), 4.5:1 for text (1.4.3).
MARK_CONTRAST = 3.0
TEXT_CONTRAST = 4.5

# Series colours: every one at least 4.5:1 on white, in the Okabe & Ito (2008) order of hues (blue, orange,
# green, purple...) mapped onto the NHS palette. Colour is never the only cue: series also cycle through
# SERIES_SYMBOLS and SERIES_DASHES, so they stay apart in grey scale and for any colour-vision deficiency.
SERIES_COLOURS = (NHS_BLUE, NHS_ORANGE_DARK, NHS_DARK_GREEN, NHS_PURPLE, NHS_PINK, NHS_DARK_GREY, NHS_DARK_RED)
SERIES_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "star", "triangle-down")
SERIES_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid")
#: Fill patterns of bars by series ("" = solid), for the same reason.
BAR_PATTERNS = ("", "/", ".", "x", "-", "|", "+")

# Making Data Count point colours: improvement blue, concern orange, neutral purple, common cause grey
# (each darkened where the NHS colour would not reach 3:1 on white; the shapes differ as well).
SPC_COLOURS = {
    "special_cause_improvement": NHS_BLUE,
    "special_cause_concern": NHS_ORANGE_DARK,
    "special_cause_neutral_high": NHS_PURPLE,
    "special_cause_neutral_low": NHS_PURPLE,
    "common_cause": NHS_DARK_GREY,
}
POINT_TYPE_ORDER = ("common_cause", "special_cause_improvement", "special_cause_concern",
                    "special_cause_neutral_high", "special_cause_neutral_low")


def contrast_ratio(colour: str, background: str = "#FFFFFF") -> float:
    """WCAG 2.2 contrast ratio of two ``#RRGGBB`` colours (relative luminance, WCAG 2.2 "contrast ratio")."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FONT_FAMILY = "Frutiger, Arial, Helvetica, sans-serif"
#: Longest title and subtitle line (characters) that fit a chart in half the page's width.
TITLE_CHARACTERS = 48
SUBTITLE_CHARACTERS = 72


#: Vertical room (pixels) of the title block: above the title, a title line, the gap to the subtitle, a subtitle
#: line, and the room between the block and the plot (half a top tick label and a clear gap).
TITLE_PAD, TITLE_LINE, SUBTITLE_GAP, SUBTITLE_LINE, TITLE_CLEARANCE = 14, 24, 9, 17, 20


def title_margin(title_lines: int, subtitle_lines: int) -> int:
    """The top margin that holds a title of ``title_lines`` and a subtitle of ``subtitle_lines`` above the plot
    without touching its top tick label (the title is pinned to the top of the figure, see base_layout)."""
    if not title_lines:
        return 30
    return (TITLE_PAD + TITLE_LINE * title_lines + (SUBTITLE_GAP + SUBTITLE_LINE * subtitle_lines if subtitle_lines else 0)
            + TITLE_CLEARANCE)


def base_layout(
    title: str = "", *, height: int = 420, y_title: str = "", x_title: str = "", subtitle: str = ""
) -> dict:
    """Layout shared by every chart: white background, NHS text colour, legible sizes.

    Titles are plain text (site names and labels from the catalogue or a file: mhin_eval.text), shown as their
    characters. ``subtitle`` sits under the title in grey. Plotly does not wrap text, so a long title or
    subtitle is wrapped to fit a half-width column (two sites side by side). The title is pinned to the top of
    the figure (plotly's default centres it in the top margin, so a subtitle grows down into the plot) and the
    top margin grows with its lines (title_margin).
    """
    title = wrap_text(title, TITLE_CHARACTERS)
    subtitle = wrap_text(subtitle, SUBTITLE_CHARACTERS)
    x_title, y_title = chart_text(x_title), chart_text(y_title)
    title_lines = title.count("<br>") + 1 if title else 0
    subtitle_lines = subtitle.count("<br>") + 1 if subtitle else 0
    return dict(
        title=dict(
            # Plotly centres a title's lines on where one line would be, so "top" needs half a line more per line.
            text=title, x=0, xanchor="left", y=1, yref="container", yanchor="top",
            pad=dict(l=12, t=TITLE_PAD + TITLE_LINE * max(title_lines - 1, 0) // 2),
            font=dict(size=18, color=NHS_TEXT),
            subtitle=dict(text=subtitle, font=dict(size=13, color=NHS_DARK_GREY)),
        ),
        font=dict(family=FONT_FAMILY, size=14, color=NHS_TEXT),
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin=dict(l=60, r=30, t=title_margin(title_lines, subtitle_lines), b=50),
        colorway=list(SERIES_COLOURS),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=13)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        xaxis=dict(title=x_title, showgrid=False, linecolor=NHS_MID_GREY, ticks="outside"),
        yaxis=dict(title=y_title, gridcolor=NHS_PALE_GREY, zeroline=False, linecolor=NHS_MID_GREY),
    )


#: Longest line of a coverage row's label ("site · indicator"), in characters.
COVERAGE_LABEL_CHARACTERS = 44


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
        [f"{chart_text(row)}<br>{m:%b %Y}: {'data' if v else 'missing'}" for m, v in zip(months, present.loc[row], strict=True)]
        for row in present.index
    ]
    # Long site and indicator names wrapped (plotly does not wrap), so the months keep most of the width.
    row_labels = [wrap_text(f"{r} ({n} missing)" if n else r, COVERAGE_LABEL_CHARACTERS)
                  for r, n in zip(present.index, n_missing, strict=True)]
    lines = max(label.count("<br>") + 1 for label in row_labels)  # every row is as tall as the tallest
    fig.add_trace(
        go.Heatmap(
            z=present.values,
            x=months,
            y=row_labels,
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
    fig.update_layout(**month_grid_layout(title, height=max(220, (12 + 17 * lines) * len(present) + 110)))
    return fig


def month_grid_layout(title: str, *, height: int) -> dict:
    """Layout of a heatmap of rows by month (coverage): row labels sized to fit, a tick per year."""
    layout = base_layout(title, height=height)
    layout["margin"]["l"] = 20
    layout["yaxis"].update(automargin=True, gridcolor="white")
    layout["xaxis"].update(dtick="M12", tickformat="%Y")
    return layout


# ---------------------------------------------------------------------------------------------
# shared pieces

#: A confidence band: a pale fill (1.3:1, so the data over it stays legible) between edge lines that reach
#: 3:1 (BAND_EDGE), so the band is told apart from the background by its outline.
CONFIDENCE_BAND = "rgba(66, 85, 99, 0.16)"
BAND_EDGE = NHS_MID_GREY
POST_PERIOD_SHADE = "rgba(65, 182, 230, 0.08)"
PARTICIPANT_LINE = "rgba(118, 134, 146, 0.55)"
NICE_RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)

SPC_POINT_LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause – improvement",
    "special_cause_concern": "Special cause – concern",
    "special_cause_neutral_high": "Special cause – neutral (high)",
    "special_cause_neutral_low": "Special cause – neutral (low)",
}
SPC_POINT_SYMBOLS = {
    "common_cause": "circle",
    "special_cause_improvement": "diamond",
    "special_cause_concern": "square",
    "special_cause_neutral_high": "triangle-up",
    "special_cause_neutral_low": "triangle-down",
}
SPC_RULE_LABELS = {
    "outside_limits": "a point outside the process limits",
    "trend": "a run of 7 rising or falling points",
    "two_of_three": "two of three points near a process limit, all on one side",
    "shift": "a run of 7 points on one side of the mean",
}
# Making Data Count icons drawn as badges: (letter in the circle, colour, label).
VARIATION_BADGES = {
    "common_cause": ("~", SPC_COLOURS["common_cause"], "Common cause variation"),
    "improvement_high": ("H", SPC_COLOURS["special_cause_improvement"], "Special cause – improvement (high)"),
    "improvement_low": ("L", SPC_COLOURS["special_cause_improvement"], "Special cause – improvement (low)"),
    "concern_high": ("H", SPC_COLOURS["special_cause_concern"], "Special cause – concern (high)"),
    "concern_low": ("L", SPC_COLOURS["special_cause_concern"], "Special cause – concern (low)"),
    "neutral_high": ("H", SPC_COLOURS["special_cause_neutral_high"], "Special cause – neutral (high)"),
    "neutral_low": ("L", SPC_COLOURS["special_cause_neutral_low"], "Special cause – neutral (low)"),
}
ASSURANCE_BADGES = {
    "consistent_pass": ("P", SPC_COLOURS["special_cause_improvement"], "Consistently passing target"),
    "consistent_fail": ("F", SPC_COLOURS["special_cause_concern"], "Consistently failing target"),
    "inconsistent": ("?", SPC_COLOURS["common_cause"], "Hit and miss target"),
}


def empty_figure(title: str = "", message: str = "No data", *, height: int = 300) -> go.Figure:
    """A figure that says plainly there is nothing to draw, instead of empty axes."""
    fig = go.Figure()
    layout = base_layout(title, height=height)
    layout["xaxis"].update(visible=False)
    layout["yaxis"].update(visible=False)
    fig.update_layout(**layout)
    fig.add_shape(type="rect", xref="paper", yref="paper", x0=0, x1=1, y0=0, y1=1, fillcolor=NHS_PALE_GREY,
                  line_width=0, layer="below", opacity=0.6)
    fig.add_annotation(
        text=chart_text(message), name="empty_state", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font=dict(size=18, color=NHS_DARK_GREY),
    )
    return fig


def wrap_text(text: str, width: int = 100) -> str:
    """Plain text wrapped into plotly's <br> lines, for subtitles and labels that must not overflow; its own
    characters are escaped (mhin_eval.text.chart_text), so it can hold no markup."""
    return "<br>".join(chart_text(line) for line in textwrap.wrap(text, width=width)) if text else ""


def axis_title(title: str, unit: str = "") -> str:
    """An axis title that names its unit once: 'A&E attendances (per month)'."""
    if not unit or unit.lower() in title.lower():
        return title
    return f"{title} ({unit})" if title else unit[:1].upper() + unit[1:]


def _percent_axis(layout: dict, unit: str) -> None:
    """A share in percent (unit "% of ...") reads 0%, 10%, ... on the value axis."""
    if unit.startswith("%"):
        layout["yaxis"].update(ticksuffix="%", rangemode="tozero")


def _num(value, unit: str = "") -> str:
    """A number for hover and labels: whole numbers without decimals, otherwise 1–3 significant decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return "–"
    value = float(value)
    if value == round(value) and abs(value) < 1e15:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.1f}"
    elif abs(value) >= 1:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


#: Pixels between the plot's bottom edge and a legend hung under it: below the tick labels, or below the tick
#: labels and the x-axis title.
LEGEND_DROP, LEGEND_DROP_TITLED = 34, 70
LEGEND_ROW = 24


def _legend_entries(fig: go.Figure) -> int:
    """How many entries the figure's legend has: the lines to keep for it where each may need a line of its own."""
    return sum(1 for t in fig.data if t.showlegend is not False and t.name) or 1


def _legend_below(layout: dict, rows: int = 1) -> dict:
    """Legend under the x axis's tick labels and title, growing downwards into ``rows`` lines kept for it.

    Hung from the plot in pixels (paper coordinates scaled by the plot's height) rather than stood on the
    figure's bottom edge: a legend whose entries wrap onto more lines than expected (in a half-width column each
    may take a line of its own) then runs into spare room below, never up into the tick labels or the axis
    title. The figure grows by the room it gets, so the plot keeps its height."""
    drop = LEGEND_DROP_TITLED if layout["xaxis"].get("title") else LEGEND_DROP
    bottom = drop + LEGEND_ROW * rows + 8
    layout["height"] += max(bottom - layout["margin"]["b"], 0)
    layout["margin"]["b"] = max(bottom, layout["margin"]["b"])
    plot_height = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    layout["legend"] = dict(
        orientation="h", x=0, xanchor="left", yref="paper", y=-drop / plot_height, yanchor="top",
        font=dict(size=13), traceorder="normal",
    )
    return layout


def _is_dates(values: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(values)


def _period_label(value, dates: bool) -> str:
    if value is None or pd.isna(value):
        return "–"
    if dates:
        stamp = pd.Timestamp(value)
        return stamp.strftime("%b %Y") if stamp.day == 1 else stamp.strftime("%d %b %Y")
    return str(value)


def _gapped(*segments: tuple[list, list]) -> tuple[list, list]:
    """Join line segments into one trace, with a break (None) between segments."""
    xs: list = []
    ys: list = []
    for x, y in segments:
        if len(x) == 0:
            continue
        if xs:
            xs.append(None)
            ys.append(None)
        xs.extend(list(x))
        ys.extend(list(y))
    return xs, ys


def _vertical_marker(fig: go.Figure, x, label: str, *, name: str, colour: str = NHS_TEXT, dash: str = "dot") -> None:
    """A labelled vertical line across the plot at ``x`` (go-live, rebasing)."""
    fig.add_shape(
        type="line", name=name, x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper",
        line=dict(color=colour, width=2, dash=dash), layer="above",
    )
    fig.add_annotation(
        name=name, x=x, y=1, xref="x", yref="paper", text=chart_text(label), showarrow=False, xanchor="left",
        yanchor="top",
        xshift=4, font=dict(size=13, color=colour), bgcolor="rgba(255,255,255,0.85)",
    )


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = [t for t in NICE_RATIO_TICKS if low <= t <= high]
    return ticks if len(ticks) >= 2 else [t for t in NICE_RATIO_TICKS if low / 2 <= t <= high * 2]


def _ratio_range(values: list[float]) -> tuple[float, float]:
    """log10 axis range covering the values and 1, with a little room on either side."""
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0] + [1.0]
    low, high = math.log10(min(finite)), math.log10(max(finite))
    pad = max(0.06, 0.08 * (high - low))
    return low - pad, high + pad


# ---------------------------------------------------------------------------------------------
# interrupted time series


def _its_go_live(go_live, treated: pd.DataFrame, dates: bool):
    if go_live is None:
        post = treated.loc[treated["post"], "period"]
        return post.min() if len(post) else None
    if dates:
        return pd.Timestamp(go_live).to_period("M").to_timestamp()
    return go_live


def its_chart(
    result: ITSResult,
    *,
    title: str = "",
    y_title: str = "",
    unit: str = "",
    go_live=None,
    annotation: str | None = None,
    show_counterfactual: bool = True,
) -> go.Figure:
    """Interrupted time series: observed points, the model's fit, and the dashed counterfactual with its CI.

    Observed values are markers, the fit a solid line broken at go-live, the counterfactual (pre-period
    trend extended) a dashed line over a shaded confidence band, so the three differ by shape as well as
    colour. ``annotation`` (the plain-language result) is shown under the title. A controlled ITS
    (``result.fitted`` with a ``group`` column) adds each comparison series in its own colour.
    """
    fitted = None if result is None else result.fitted
    if fitted is None or fitted.empty:
        return empty_figure(title)
    frame = fitted.sort_values("time")
    if "group" in frame.columns:
        treated_label = result.treated_label
        is_treated = frame["group"].astype(str) == str(treated_label)
    else:
        treated_label = None
        is_treated = pd.Series(True, index=frame.index)
    treated = frame.loc[is_treated]
    comparison = frame.loc[~is_treated]
    dates = _is_dates(treated["period"])
    go_live = _its_go_live(go_live, treated, dates)
    has_model = bool(treated["fitted"].notna().any())
    level = round(100 * result.options.conf_level)
    prefix = chart_text(f"{treated_label}: ") if treated_label is not None else ""

    fig = go.Figure()
    if go_live is not None:
        fig.add_shape(
            type="rect", name="post_period", x0=go_live, x1=treated["period"].max(), y0=0, y1=1, xref="x",
            yref="paper", fillcolor=POST_PERIOD_SHADE, line_width=0, layer="below",
        )

    pre, post = treated.loc[~treated["post"]], treated.loc[treated["post"]]
    if has_model and show_counterfactual and len(post):
        bridge = pd.concat([pre.tail(1), post])
        band = bridge.dropna(subset=["counterfactual_low", "counterfactual_high"])
        if len(band):
            fig.add_trace(
                go.Scatter(
                    x=list(band["period"]) + list(band["period"])[::-1],
                    y=list(band["counterfactual_high"]) + list(band["counterfactual_low"])[::-1],
                    name=f"{level}% CI of expected values", legendrank=40,
                    fill="toself", fillcolor=CONFIDENCE_BAND, line=dict(color=BAND_EDGE, width=1), mode="lines",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=bridge["period"], y=bridge["counterfactual"], mode="lines",
                name="Expected without intervention (counterfactual)", legendrank=30,
                line=dict(color=NHS_DARK_GREY, width=2.5, dash="dash"),
                text=[
                    f"<b>{_period_label(p, dates)}</b><br>Expected without intervention: {_num(c, unit)}"
                    f"<br>{level}% CI {_num(lo)} to {_num(hi)}"
                    for p, c, lo, hi in zip(
                        bridge["period"], bridge["counterfactual"], bridge["counterfactual_low"],
                        bridge["counterfactual_high"], strict=True,
                    )
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if has_model:
        xs, ys = _gapped((pre["period"], pre["fitted"]), (post["period"], post["fitted"]))
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=f"{prefix}model fit" if prefix else "Model fit", legendrank=20,
                line=dict(color=NHS_DARK_BLUE, width=3), hoverinfo="skip",
            )
        )

    hover = []
    for _, row in treated.iterrows():
        lines = [f"<b>{_period_label(row['period'], dates)}</b>", f"Observed: {_num(row['observed'], unit)}"]
        if has_model:
            lines.append(f"Model fit: {_num(row['fitted'], unit)}")
            if row["post"] and show_counterfactual:
                lines.append(f"Expected without intervention: {_num(row['counterfactual'], unit)}")
        hover.append("<br>".join(lines))
    fig.add_trace(
        go.Scatter(
            x=treated["period"], y=treated["observed"], mode="markers", legendrank=10,
            name=f"{prefix}observed" if prefix else "Observed",
            marker=dict(color=NHS_BLUE, size=8, symbol="circle", line=dict(color="white", width=1)),
            text=hover, hovertemplate="%{text}<extra></extra>",
        )
    )

    comparison_series = list(comparison.groupby("group", sort=False)) if len(comparison) else []
    for i, (label, rows) in enumerate(comparison_series):
        colour = SERIES_COLOURS[1 + i % (len(SERIES_COLOURS) - 1)]
        symbol = SERIES_SYMBOLS[1 + i % (len(SERIES_SYMBOLS) - 1)]
        dash = SERIES_DASHES[1 + i % (len(SERIES_DASHES) - 1)]
        named = chart_text(f"{label}" if "comparison" in str(label).lower() else f"{label} (comparison)")
        if rows["fitted"].notna().any():
            xs, ys = _gapped(
                (rows.loc[~rows["post"], "period"], rows.loc[~rows["post"], "fitted"]),
                (rows.loc[rows["post"], "period"], rows.loc[rows["post"], "fitted"]),
            )
            fig.add_trace(
                go.Scatter(
                    x=xs, y=ys, mode="lines", name=f"{named}: model fit", legendrank=60 + 2 * i,
                    line=dict(color=colour, width=2, dash=dash), hoverinfo="skip", legendgroup=f"comparison-{label}",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=rows["period"], y=rows["observed"], mode="markers", name=f"{named}: observed",
                legendrank=50 + 2 * i,
                marker=dict(color=colour, size=8, symbol=f"{symbol}-open", line=dict(width=2)),
                legendgroup=f"comparison-{label}",
                text=[
                    f"<b>{_period_label(p, dates)}</b><br>{named}<br>Observed: {_num(o, unit)}"
                    f"<br>Model fit: {_num(f, unit)}"
                    for p, o, f in zip(rows["period"], rows["observed"], rows["fitted"], strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )

    if go_live is not None:
        _vertical_marker(fig, go_live, f"Go-live {_period_label(go_live, dates)}", name="go_live")

    subtitle = annotation
    if subtitle is None and not has_model and result.warnings:
        subtitle = result.warnings[-1]
    # Room for a legend entry per line: in a narrow column (two sites side by side) each entry takes a line
    # of its own, and a legend given fewer lines than that overlaps the axis labels.
    legend_rows = _legend_entries(fig)
    layout = base_layout(
        title, height=460 + 24 * (legend_rows - 2), y_title=axis_title(y_title, unit), x_title="" if dates else "Period",
        subtitle=subtitle or "",
    )
    layout["yaxis"].update(rangemode="tozero" if (treated["observed"] >= 0).all() else "normal")
    _percent_axis(layout, unit)
    fig.update_layout(**_legend_below(layout, rows=legend_rows))
    return fig


# ---------------------------------------------------------------------------------------------
# statistical process control


def _add_badge(fig: go.Figure, slot: int, letter: str, colour: str, label: str, name: str) -> None:
    """A Making Data Count icon as a circle with a letter and a label, in the column right of the plot."""
    top = -slot * 118
    fig.add_shape(
        type="circle", name=name, xref="paper", yref="paper", xsizemode="pixel", ysizemode="pixel",
        xanchor=1, yanchor=1, x0=58, x1=102, y0=top - 44, y1=top, fillcolor=colour, line=dict(color="white", width=2),
    )
    fig.add_annotation(
        name=name, xref="paper", yref="paper", x=1, y=1, xshift=80, yshift=top - 22, text=f"<b>{letter}</b>",
        showarrow=False, xanchor="center", yanchor="middle", font=dict(size=20, color="white"),
    )
    fig.add_annotation(
        name=name, xref="paper", yref="paper", x=1, y=1, xshift=80, yshift=top - 50, text=wrap_text(label, 16),
        showarrow=False, xanchor="center", yanchor="top", align="center", font=dict(size=12, color=NHS_TEXT),
    )


def spc_chart(result: SPCResult, *, title: str = "", y_title: str = "", unit: str = "", facet_value=None) -> go.Figure:
    """Making Data Count XmR chart: values, mean and dashed process limits per segment, points coloured by type.

    Special-cause points are blue (improvement), orange (concern) or purple (neutral: no improvement
    direction) with their own marker shapes; the variation and assurance icons are drawn as labelled
    badges beside the plot's top-right corner so they survive image export. A faceted result shows
    ``facet_value`` (default: the first facet, named in the subtitle). A chart drawn from suppressed
    counts carries the result's ``disclosure_note`` in its subtitle.
    """
    points = None if result is None else result.points
    if points is None or points.empty:
        return empty_figure(title)
    summary, icons = result.summary, result.icons
    notes = []
    if result.facet is not None:
        facets = list(pd.unique(points[result.facet]))
        chosen = facets[0] if facet_value is None else facet_value
        if chosen not in facets:
            return empty_figure(title, f"No data for {result.facet} = {chosen}")
        points = points[points[result.facet] == chosen]
        summary = summary[summary[result.facet] == chosen]
        icons = icons[icons[result.facet] == chosen]
        notes.append(f"{result.facet}: {chosen}" + (f" (1 of {len(facets)})" if facet_value is None and len(facets) > 1 else ""))
    points = points.sort_values("time")
    dates = _is_dates(points["time"])

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=points["time"], y=points["value"], mode="lines", name="Values", showlegend=False,
            line=dict(color=NHS_MID_GREY, width=1.5), hoverinfo="skip",
        )
    )
    segments = [rows for _, rows in points.groupby("segment", sort=True)]
    for column, name, dash, colour, width in (
        ("mean", "Mean", "solid", NHS_TEXT, 2),
        ("upl", "Process limits", "dash", NHS_DARK_GREY, 1.5),
        ("lpl", "Process limits", "dash", NHS_DARK_GREY, 1.5),
    ):
        xs, ys = _gapped(*[(rows["time"], rows[column]) for rows in segments])
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=name, legendgroup=name, showlegend=column != "lpl",
                line=dict(color=colour, width=width, dash=dash),
                hovertemplate=f"{'Upper process limit' if column == 'upl' else 'Lower process limit' if column == 'lpl' else 'Mean'}"
                f": %{{y:,.2f}} {unit}<extra></extra>",
            )
        )
    if result.target is not None:
        fig.add_trace(
            go.Scatter(
                x=[points["time"].min(), points["time"].max()], y=[result.target] * 2, mode="lines",
                name=f"Target ({_num(result.target, unit)})", line=dict(color=NHS_RED, width=2, dash="dashdot"),
                hovertemplate=f"Target: {_num(result.target, unit)}<extra></extra>",
            )
        )
    for point_type in POINT_TYPE_ORDER:
        rows = points[points["point_type"] == point_type]
        if rows.empty:
            continue
        special = point_type != "common_cause"
        fig.add_trace(
            go.Scatter(
                x=rows["time"], y=rows["value"], mode="markers", name=SPC_POINT_LABELS[point_type],
                meta=point_type,
                marker=dict(
                    color=SPC_COLOURS[point_type], symbol=SPC_POINT_SYMBOLS[point_type], size=11 if special else 8,
                    line=dict(color="white", width=1),
                ),
                text=[
                    f"<b>{_period_label(t, dates)}</b><br>Value: {_num(v, unit)}<br>Mean: {_num(m, unit)}"
                    f"<br>Process limits: {_num(lo)} to {_num(hi)}<br>{SPC_POINT_LABELS[point_type]}"
                    + (f": {SPC_RULE_LABELS.get(rule, rule)}" if special else "")
                    for t, v, m, lo, hi, rule in zip(
                        rows["time"], rows["value"], rows["mean"], rows["lpl"], rows["upl"],
                        rows["special_cause_rule"], strict=True,
                    )
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for rows in segments[1:]:
        start = rows["time"].iloc[0]
        _vertical_marker(fig, start, "Limits recalculated", name="rebase", colour=NHS_DARK_GREY)

    if len(icons):
        icon = icons.iloc[0]
        slot = 0
        if icon["variation_icon"] in VARIATION_BADGES:
            _add_badge(fig, slot, *VARIATION_BADGES[icon["variation_icon"]], name="variation_icon")
            slot += 1
        assurance = icon.get("assurance_icon")
        if isinstance(assurance, str) and assurance in ASSURANCE_BADGES:
            _add_badge(fig, slot, *ASSURANCE_BADGES[assurance], name="assurance_icon")
    if len(points) < 12:
        notes.append(f"only {len(points)} points: trial limits")
    if result.disclosure_note:
        notes.append(result.disclosure_note)
    layout = base_layout(title, height=440, y_title=axis_title(y_title, unit), subtitle="; ".join(notes))
    _percent_axis(layout, unit)
    layout["margin"]["r"] = 170
    fig.update_layout(**_legend_below(layout))
    return fig


# ---------------------------------------------------------------------------------------------
# pooling across sites


def _fmt_effect(value: float, log_scale: bool) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:.2f}" if log_scale or abs(value) < 10 else f"{value:,.1f}"
    return text.replace("-", "−")


def forest_plot(result: PoolingResult, *, title: str = "", x_title: str = "", log_scale: bool | None = None) -> go.Figure:
    """Forest plot: each site's estimate (square sized by weight) and CI, the pooled diamond and prediction interval.

    Ratios are drawn on a log axis with the null line at 1, differences on a linear axis with the null
    at 0. Estimates and intervals are printed right of the plot; heterogeneity (I², τ²) in the subtitle.
    """
    sites = None if result is None else result.sites
    if sites is None or sites.empty:
        return empty_figure(title)
    ratio = result.scale == "ratio"
    log_scale = ratio if log_scale is None else log_scale
    level = round(100 * result.conf_level)
    k = len(sites)
    pooled = result.pooled
    y_sites = list(range(k + 1, 1, -1)) if pooled is not None else list(range(k, 0, -1))
    y_pooled = 0.6
    weights = sites["weight_percent"].fillna(100 / k).to_numpy(dtype=float)
    sizes = 9 + 19 * np.sqrt(weights / max(weights.max(), 1e-12))

    fig = go.Figure()
    xs, ys = _gapped(*[([lo, hi], [y, y]) for lo, hi, y in zip(sites["ci_low"], sites["ci_high"], y_sites, strict=True)])
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="lines", name=f"{level}% CI", line=dict(color=NHS_DARK_GREY, width=2),
                   hoverinfo="skip", showlegend=False)
    )
    fig.add_trace(
        go.Scatter(
            x=sites["estimate"], y=y_sites, mode="markers", name="Site estimate",
            marker=dict(symbol="square", size=sizes, color=NHS_BLUE, opacity=1, line=dict(color=NHS_DARK_BLUE, width=1)),
            text=[
                f"<b>{chart_text(label)}</b><br>Estimate: {_fmt_effect(e, log_scale)}<br>{level}% CI "
                f"{_fmt_effect(lo, log_scale)} "
                f"to {_fmt_effect(hi, log_scale)}<br>Weight: {w:.1f}%"
                for label, e, lo, hi, w in zip(
                    sites["label"], sites["estimate"], sites["ci_low"], sites["ci_high"], weights, strict=True
                )
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    extremes = list(sites["ci_low"]) + list(sites["ci_high"])
    tick_vals, tick_text = list(y_sites), [chart_text(label) for label in sites["label"]]
    if pooled is not None:
        method = METHOD_LABELS.get(result.method, result.method)
        if result.prediction_low is not None and result.prediction_high is not None:
            fig.add_trace(
                go.Scatter(
                    x=[result.prediction_low, result.prediction_high], y=[y_pooled, y_pooled], mode="lines+markers",
                    name=f"{level}% prediction interval",
                    line=dict(color=NHS_DARK_BLUE, width=2, dash="dot"),
                    marker=dict(symbol="line-ns", size=14, line=dict(color=NHS_DARK_BLUE, width=2)),
                    hovertemplate=f"Prediction interval: {_fmt_effect(result.prediction_low, log_scale)} to "
                    f"{_fmt_effect(result.prediction_high, log_scale)}<extra></extra>",
                )
            )
            extremes += [result.prediction_low, result.prediction_high]
        half = 0.32
        fig.add_trace(
            go.Scatter(
                x=[pooled.ci_low, pooled.estimate, pooled.ci_high, pooled.estimate, pooled.ci_low],
                y=[y_pooled, y_pooled + half, y_pooled, y_pooled - half, y_pooled],
                mode="lines", fill="toself", fillcolor=NHS_DARK_BLUE, line=dict(color=NHS_DARK_BLUE, width=1),
                name="Pooled estimate",
                text=f"<b>Pooled ({method})</b><br>Estimate: {_fmt_effect(pooled.estimate, log_scale)}<br>{level}% CI "
                f"{_fmt_effect(pooled.ci_low, log_scale)} to {_fmt_effect(pooled.ci_high, log_scale)}",
                hoveron="fills", hoverinfo="text",
            )
        )
        tick_vals.append(y_pooled)
        tick_text.append("<b>Pooled</b>")
        extremes += [pooled.ci_low, pooled.ci_high]

    null = 1.0 if ratio else 0.0
    fig.add_shape(
        type="line", name="null_line", x0=null, x1=null, y0=0, y1=1, xref="x", yref="paper",
        line=dict(color=NHS_TEXT, width=1.5, dash="dash"), layer="below",
    )

    rows = [
        (y, f"{_fmt_effect(e, log_scale)} ({_fmt_effect(lo, log_scale)} to {_fmt_effect(hi, log_scale)})", f"{w:.1f}%")
        for y, e, lo, hi, w in zip(y_sites, sites["estimate"], sites["ci_low"], sites["ci_high"], weights, strict=True)
    ]
    if pooled is not None:
        rows.append((
            y_pooled,
            f"<b>{_fmt_effect(pooled.estimate, log_scale)} ({_fmt_effect(pooled.ci_low, log_scale)} to "
            f"{_fmt_effect(pooled.ci_high, log_scale)})</b>",
            "<b>100%</b>",
        ))
    top = max(y_sites) + 0.9
    rows.append((top, f"<b>Estimate ({level}% CI)</b>", "<b>Weight</b>"))
    for y, estimate_text, weight_text in rows:
        fig.add_annotation(
            name="estimate_text", x=1, xref="paper", xshift=14, y=y, yref="y", text=estimate_text, showarrow=False,
            xanchor="left", font=dict(size=13),
        )
        fig.add_annotation(
            name="weight_text", x=1, xref="paper", xshift=262, y=y, yref="y", text=weight_text, showarrow=False,
            xanchor="right", font=dict(size=13),
        )

    subtitle_parts = [f"{k} site{'s' if k != 1 else ''}"]
    if pooled is not None:
        subtitle_parts.append(METHOD_LABELS.get(result.method, result.method))
    if result.i2 is not None:
        subtitle_parts.append(f"I² = {result.i2:.0f}%")
    if result.tau2 is not None:
        subtitle_parts.append(f"τ² = {result.tau2:.3g}")
    if result.q_p_value is not None:
        subtitle_parts.append(f"heterogeneity p = {result.q_p_value:.3f}" if result.q_p_value >= 0.001
                              else "heterogeneity p < 0.001")
    if pooled is None and result.warnings:
        subtitle_parts.append(result.warnings[0])
    x_label = x_title or ("Ratio" if ratio else "Difference")
    if log_scale and "log" not in x_label.lower():
        x_label += " (log scale)"
    layout = base_layout(
        title, height=max(300, 44 * (len(tick_vals) + 1) + 150), x_title=x_label,
        subtitle=" · ".join(subtitle_parts),
    )
    layout["margin"]["r"] = 280
    layout["margin"]["l"] = 20
    layout["yaxis"].update(
        tickvals=tick_vals, ticktext=tick_text, showgrid=False, zeroline=False, automargin=True,
        range=[min(tick_vals) - 0.7, top + 0.5], showline=False, ticks="",
    )
    if log_scale:
        low, high = _ratio_range(extremes)
        layout["xaxis"].update(type="log", range=[low, high], tickvals=_log_ticks(10**low, 10**high))
    else:
        finite = [v for v in extremes if v is not None and math.isfinite(v)] + [0.0]
        pad = 0.06 * (max(finite) - min(finite) or 1)
        layout["xaxis"].update(range=[min(finite) - pad, max(finite) + pad], zeroline=False)
    layout["xaxis"].update(showgrid=False)  # a grid line at the null would hide the null line
    fig.update_layout(**_legend_below(layout))
    return fig


# ---------------------------------------------------------------------------------------------
# paired before / after


def _pairs(data: pd.DataFrame, before: str, after: str, id_col: str, value_col: str, measure) -> tuple[pd.DataFrame, int]:
    """Complete before/after pairs (one row per person) and the count with a baseline but no follow-up."""
    frame = data
    if measure is not None and "measure" in frame.columns:
        frame = frame[frame["measure"] == measure]
    keys = [c for c in ("project", "site") if c in frame.columns and c != id_col] + [id_col]
    frame = frame.assign(_value=pd.to_numeric(frame[value_col], errors="coerce"), _tp=frame["timepoint"].astype(str))
    frame = frame[frame["_tp"].isin([before, after]) & frame["_value"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "before", "after"]), 0
    wide = frame.pivot_table(index=keys, columns="_tp", values="_value", aggfunc="first").reindex(columns=[before, after])
    missing_followup = int((wide[before].notna() & wide[after].isna()).sum())
    complete = wide.dropna().rename(columns={before: "before", after: "after"}).reset_index()
    complete.columns.name = None
    return complete, missing_followup


def prepost_chart(
    data: pd.DataFrame,
    result,
    *,
    title: str = "",
    y_title: str = "",
    unit: str = "",
    before: str = "baseline",
    after: str = "follow-up",
    id_col: str = "participant_id",
    value_col: str = "value",
    max_lines: int = 40,
) -> go.Figure:
    """Paired before/after values of one measure: a grey line per person for small samples, box plots for large.

    Up to ``max_lines`` pairs, every participant's change is visible with the two means in NHS blue; beyond
    that the distributions are drawn side by side with the means marked. ``result`` (a pre/post result of
    the same rows) supplies the timepoint labels, measure and pair counts shown in the subtitle.
    """
    if result is not None:
        before, after = getattr(result, "before", before), getattr(result, "after", after)
    measure = getattr(result, "measure", None)
    needed = {id_col, value_col, "timepoint"}
    if data is None or data.empty or not needed <= set(data.columns):
        return empty_figure(title)
    pairs, missing_followup = _pairs(data, before, after, id_col, value_col, measure)
    if pairs.empty:
        return empty_figure(title, f"No participants with both a {before} and a {after} value")
    n = len(pairs)
    if result is not None and getattr(result, "n_pairs", None) is not None:
        n, missing_followup = result.n_pairs, result.n_missing_followup
    mean_before, mean_after = float(pairs["before"].mean()), float(pairs["after"].mean())
    labels = [before.capitalize(), after.capitalize()]

    fig = go.Figure()
    lines = len(pairs) <= max_lines
    if lines:
        for i, row in enumerate(pairs.itertuples(index=False)):
            person = getattr(row, id_col)
            fig.add_trace(
                go.Scatter(
                    x=labels, y=[row.before, row.after], mode="lines+markers", name="Each participant",
                    legendgroup="participants", showlegend=i == 0,
                    line=dict(color=PARTICIPANT_LINE, width=1.5), marker=dict(color=PARTICIPANT_LINE, size=6),
                    text=[f"Participant {chart_text(person)}<br>{labels[0]}: {_num(row.before, unit)}<br>{labels[1]}: "
                          f"{_num(row.after, unit)}"] * 2,
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    else:
        for label, column, colour in ((labels[0], "before", "rgba(65, 182, 230, 0.35)"), (labels[1], "after", "rgba(0, 164, 153, 0.35)")):
            fig.add_trace(
                go.Box(
                    x=[label] * len(pairs), y=pairs[column], name=f"{label} distribution", boxpoints="outliers",
                    marker=dict(color=NHS_DARK_GREY, size=4), line=dict(color=NHS_DARK_GREY, width=1.5),
                    fillcolor=colour, width=0.4, showlegend=False,
                    hovertemplate=f"{label}: %{{y:,.2f}} {unit}<extra></extra>",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=labels, y=[mean_before, mean_after], mode="lines+markers", name="Mean",
            line=dict(color=NHS_BLUE, width=4), marker=dict(color=NHS_BLUE, size=14, symbol="diamond",
                                                            line=dict(color="white", width=1.5)),
            hovertemplate=f"Mean at %{{x}}: %{{y:,.2f}} {unit}<extra></extra>",
        )
    )
    offset = 0.05 if lines else 0.27
    for position, mean, side in ((-offset, mean_before, "right"), (1 + offset, mean_after, "left")):
        fig.add_annotation(
            name="mean_label", x=position, y=mean, xref="x", yref="y", text=f"<b>mean {mean:,.1f}</b>",
            showarrow=False, xanchor=side, font=dict(size=14, color=NHS_BLUE), bgcolor="rgba(255,255,255,0.9)",
        )
    subtitle = f"{n} participant{'s' if n != 1 else ''} with both values"
    subtitle += f"; {missing_followup} missing follow-up" if missing_followup else "; no missing follow-ups"
    if not lines:
        subtitle += " · boxes show the median and quartiles"
    layout = base_layout(title, height=440, y_title=axis_title(y_title, unit), subtitle=subtitle)
    # Room beside the boxes for the "mean" labels, also in a half-width column.
    layout["xaxis"].update(type="category", categoryorder="array", categoryarray=labels, range=[-0.95, 1.95])
    fig.update_layout(**_legend_below(layout, rows=_legend_entries(fig)))
    return fig


def prepost_means_chart(
    mean_before: float | None,
    mean_after: float | None,
    *,
    title: str = "",
    y_title: str = "",
    unit: str = "",
    before: str = "baseline",
    after: str = "follow-up",
    n_text: str = "",
) -> go.Figure:
    """Before/after means only (no participant's own values), for views shared outside the evaluation team.

    Drawn like the means of ``prepost_chart``; ``n_text`` (already suppressed where needed) names the people
    counted. A missing mean (hidden by small-number suppression) gives a figure that says so.
    """
    if mean_before is None or mean_after is None or not (math.isfinite(mean_before) and math.isfinite(mean_after)):
        return empty_figure(title, "Means not shown: too few people (small-number suppression)")
    labels = [before.capitalize(), after.capitalize()]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=labels, y=[mean_before, mean_after], mode="lines+markers", name="Mean",
            line=dict(color=NHS_BLUE, width=4), marker=dict(color=NHS_BLUE, size=16, symbol="diamond",
                                                            line=dict(color="white", width=1.5)),
            hovertemplate=f"Mean at %{{x}}: %{{y:,.2f}} {unit}<extra></extra>",
        )
    )
    for position, mean, side in ((-0.05, mean_before, "right"), (1.05, mean_after, "left")):
        fig.add_annotation(
            name="mean_label", x=position, y=mean, xref="x", yref="y", text=f"<b>mean {mean:,.1f}</b>",
            showarrow=False, xanchor=side, font=dict(size=14, color=NHS_BLUE), bgcolor="rgba(255,255,255,0.9)",
        )
    subtitle = "; ".join(p for p in (n_text, "individual values are not shown in shared views") if p)
    layout = base_layout(title, height=440, y_title=axis_title(y_title, unit), subtitle=subtitle)
    layout["xaxis"].update(type="category", categoryorder="array", categoryarray=labels, range=[-0.6, 1.6])
    layout["yaxis"].update(rangemode="tozero")
    fig.update_layout(**_legend_below(layout))
    return fig


# ---------------------------------------------------------------------------------------------
# equity: rates and rate ratios by group


def _table(value) -> pd.DataFrame | None:
    return getattr(value, "table", value)


def _group_labels(groups, reference) -> list[str]:
    """Category labels of the groups (plain text: mhin_eval.text), the reference group in bold."""
    return [f"<b>{chart_text(g)} (reference)</b>" if reference is not None and str(g) == str(reference)
            else chart_text(g) for g in groups]


def _dot_whisker_height(n_groups: int) -> int:
    return max(300, 46 * n_groups + 190)


def group_rates_chart(rates, *, title: str = "", unit: str = "per 100,000", reference: str | None = None) -> go.Figure:
    """Rate of each group with its exact (Garwood) CI as a dot and whisker; the reference group highlighted."""
    table = _table(rates)
    if table is None or table.empty:
        return empty_figure(title)
    table = table.reset_index(drop=True)
    groups = list(table["group"])
    labels = _group_labels(groups, reference)
    is_reference = np.array([reference is not None and str(g) == str(reference) for g in groups])
    has_rate = table["rate"].notna().to_numpy()
    if not has_rate.any():
        return empty_figure(title, "No data: no group has a rate (counts missing or suppressed)")

    fig = go.Figure()
    usable = table[has_rate]
    xs, ys = _gapped(*[([lo, hi], [lab, lab]) for lo, hi, lab in zip(
        usable["ci_low"], usable["ci_high"], np.array(labels)[has_rate], strict=True)])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="95% CI (exact)", line=dict(color=NHS_DARK_GREY, width=2.5),
                             hoverinfo="skip"))
    for name, mask, colour, symbol in (
        ("Rate", ~is_reference & has_rate, NHS_BLUE, "circle"),
        ("Reference group", is_reference & has_rate, NHS_ORANGE_DARK, "diamond"),
    ):
        rows = table[mask]
        if rows.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=rows["rate"], y=np.array(labels)[mask], mode="markers+text", name=name,
                marker=dict(color=colour, size=14, symbol=symbol, line=dict(color="white", width=1)),
                text=[f"{r:,.1f}" for r in rows["rate"]], textposition="top center", textfont=dict(size=13),
                customdata=np.column_stack([rows["ci_low"], rows["ci_high"], rows["count"], rows["denominator"]]),
                hovertemplate=f"<b>%{{y}}</b><br>Rate: %{{x:,.1f}} {unit}<br>95% CI %{{customdata[0]:,.1f}} to "
                "%{customdata[1]:,.1f}<br>Events: %{customdata[2]:,.0f} of %{customdata[3]:,.0f}<extra></extra>",
            )
        )
    reference_rate = table.loc[is_reference & has_rate, "rate"]
    if len(reference_rate):
        fig.add_shape(
            type="line", name="reference_line", x0=reference_rate.iloc[0], x1=reference_rate.iloc[0], y0=0, y1=1,
            xref="x", yref="paper", line=dict(color=NHS_ORANGE_DARK, width=1.5, dash="dot"), layer="below",
        )
    for label, note in zip(np.array(labels)[~has_rate], table.loc[~has_rate, "note"], strict=True):
        fig.add_trace(go.Scatter(x=[None], y=[label], mode="markers", showlegend=False, hoverinfo="skip"))
        fig.add_annotation(name="no_rate", x=0, xref="paper", y=label, yref="y", xanchor="left", showarrow=False,
                           text=f"<i>{chart_text(note or 'no rate')}</i>", font=dict(size=12, color=NHS_DARK_GREY),
                           bgcolor="rgba(255,255,255,0.9)")
    layout = base_layout(title, height=_dot_whisker_height(len(groups)), x_title=axis_title("Rate", unit))
    layout["yaxis"].update(type="category", categoryorder="array", categoryarray=labels[::-1], automargin=True,
                           showgrid=False)
    upper = table.loc[has_rate, "ci_high"].max() if has_rate.any() else 1.0
    layout["xaxis"].update(range=[0, 1.08 * upper], showgrid=True, gridcolor=NHS_PALE_GREY, rangemode="tozero")
    layout["margin"]["l"] = 20
    fig.update_layout(**_legend_below(layout, rows=_legend_entries(fig)))
    return fig


def rate_ratio_chart(ratios, *, title: str = "", reference: str = "") -> go.Figure:
    """Rate ratio of each group against the reference group: dot and whisker on a log axis, null line at 1."""
    table = _table(ratios)
    if table is None or table.empty:
        return empty_figure(title)
    table = table.reset_index(drop=True)
    if "is_reference" in table.columns and table["is_reference"].any():
        reference = reference or str(table.loc[table["is_reference"], "group"].iloc[0])
    groups = list(table["group"])
    labels = np.array(_group_labels(groups, reference or None))
    is_reference = np.array([bool(reference) and str(g) == str(reference) for g in groups])
    has_ratio = table["rate_ratio"].notna().to_numpy() & ~is_reference
    if not has_ratio.any():
        return empty_figure(title, "No data: no group has a rate ratio (counts missing or suppressed)")
    rows = table[has_ratio]
    high = rows["ci_high"].where(np.isfinite(rows["ci_high"]), np.nan)
    low_edge, high_edge = _ratio_range(list(rows["ci_low"]) + list(high.dropna()) + list(rows["rate_ratio"]))

    fig = go.Figure()
    capped_high = high.fillna(10**high_edge)
    xs, ys = _gapped(*[([lo, hi], [lab, lab]) for lo, hi, lab in zip(rows["ci_low"], capped_high, labels[has_ratio],
                                                                     strict=True)])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="95% CI", line=dict(color=NHS_DARK_GREY, width=2.5),
                             hoverinfo="skip"))
    p_text = [("p < 0.001" if p < 0.001 else f"p = {p:.3f}") if pd.notna(p) else "" for p in rows["p_value"]]
    fig.add_trace(
        go.Scatter(
            x=rows["rate_ratio"], y=labels[has_ratio], mode="markers+text", name="Rate ratio",
            marker=dict(color=NHS_BLUE, size=14, symbol="circle", line=dict(color="white", width=1)),
            text=[f"{r:.2f}" for r in rows["rate_ratio"]], textposition="top center", textfont=dict(size=13),
            customdata=np.column_stack([rows["ci_low"], rows["ci_high"], p_text]),
            hovertemplate="<b>%{y}</b><br>Rate ratio: %{x:.2f}<br>95% CI %{customdata[0]:.2f} to %{customdata[1]:.2f}"
            "<br>%{customdata[2]}<extra></extra>",
        )
    )
    if is_reference.any():
        fig.add_trace(
            go.Scatter(
                x=[1.0], y=labels[is_reference], mode="markers+text", name="Reference group (ratio 1)",
                marker=dict(color="white", size=14, symbol="diamond", line=dict(color=NHS_ORANGE_DARK, width=3)),
                text=["reference"], textposition="middle right", textfont=dict(size=13, color=NHS_DARK_GREY),
                hovertemplate=f"<b>{chart_text(reference)}</b>: reference group<extra></extra>",
            )
        )
    for label, note in zip(labels[~has_ratio & ~is_reference], table.loc[~has_ratio & ~is_reference, "note"],
                           strict=True):
        fig.add_trace(go.Scatter(x=[None], y=[label], mode="markers", showlegend=False, hoverinfo="skip"))
        fig.add_annotation(name="no_ratio", x=0, xref="paper", y=label, yref="y", xanchor="left", showarrow=False,
                           text=f"<i>{chart_text((note or 'no rate ratio').split(':')[0])}: no rate ratio</i>",
                           font=dict(size=12, color=NHS_DARK_GREY), bgcolor="rgba(255,255,255,0.9)")
    fig.add_shape(type="line", name="null_line", x0=1, x1=1, y0=0, y1=1, xref="x", yref="paper",
                  line=dict(color=NHS_TEXT, width=1.5, dash="dash"), layer="below")
    x_label = f"Rate ratio vs {reference} (log scale)" if reference else "Rate ratio (log scale)"
    layout = base_layout(title, height=_dot_whisker_height(len(groups)), x_title=x_label)
    layout["yaxis"].update(type="category", categoryorder="array", categoryarray=list(labels[::-1]), automargin=True,
                           showgrid=False)
    layout["xaxis"].update(type="log", range=[low_edge, high_edge], tickvals=_log_ticks(10**low_edge, 10**high_edge),
                           showgrid=False)
    layout["margin"]["l"] = 20
    fig.update_layout(**_legend_below(layout, rows=_legend_entries(fig)))
    return fig


# ---------------------------------------------------------------------------------------------
# uptake funnel


def funnel_chart(stages: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Uptake funnel (referred → started → completed) as horizontal bars, grouped by delivery mode or other group.

    Each bar is labelled with its count and its share of the group's first stage, so drop-out between
    stages reads directly; bars start at zero so lengths compare honestly across groups.
    """
    needed = {"stage", "order", "group", "count"}
    if stages is None or stages.empty or not needed <= set(stages.columns):
        return empty_figure(title)
    frame = stages.sort_values(["order"], kind="stable")
    stage_order = list(dict.fromkeys(frame["stage"].astype(str)))
    groups = list(dict.fromkeys(frame["group"]))
    single = len(groups) == 1
    first_stage = stage_order[0]
    fig = go.Figure()
    # Horizontal grouped bars stack the first trace lowest: add groups in reverse so the first is on top.
    for i, group in reversed(list(enumerate(groups))):
        rows = frame[frame["group"] == group].drop_duplicates("stage")
        counts = pd.to_numeric(rows["count"], errors="coerce")
        first = counts[rows["stage"].astype(str) == first_stage]
        base = float(first.iloc[0]) if len(first) and pd.notna(first.iloc[0]) and first.iloc[0] > 0 else math.nan
        shares = counts / base
        text = [
            "suppressed" if pd.isna(c) else f"{c:,.0f}" + ("" if pd.isna(p) else f" ({p:.0%})")
            for c, p in zip(counts, shares, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                y=rows["stage"].astype(str).map(chart_text), x=counts, orientation="h", name=chart_text(group),
                marker=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)], line=dict(width=0),
                            pattern=dict(shape=BAR_PATTERNS[i % len(BAR_PATTERNS)], fgcolor="white", solidity=0.25)),
                text=text, textposition="outside", cliponaxis=False, textfont=dict(size=14, color=NHS_TEXT),
                customdata=shares,
                hovertemplate=f"<b>{chart_text(group)}</b><br>%{{y}}: %{{x:,}}<br>%{{customdata:.0%}} of "
                f"{chart_text(first_stage.lower())}"
                "<extra></extra>",
                showlegend=not single,
            )
        )
    subtitle = f"Count and share of {first_stage.lower()}" + ("" if single else " within each group")
    bars = len(stage_order) * len(groups)
    legend_rows = 0 if single else len(groups)  # a line per group when two sites share the width
    layout = base_layout(title, height=max(280, 34 * bars + 40 * len(stage_order) + 130 + 24 * legend_rows),
                         subtitle=subtitle)
    layout["yaxis"].update(
        type="category", categoryorder="array", categoryarray=[chart_text(s) for s in stage_order[::-1]],
        automargin=True, showgrid=False,
    )
    maximum = pd.to_numeric(frame["count"], errors="coerce").max()
    layout["xaxis"].update(
        title="People", range=[0, 1.22 * (maximum if pd.notna(maximum) and maximum > 0 else 1)], showgrid=True,
        gridcolor=NHS_PALE_GREY, rangemode="tozero",
    )
    layout["margin"].update(l=20, r=90)  # room for the longest label, "1,234 (100%)", beyond the longest bar
    layout = _legend_below(layout, rows=legend_rows) if not single else layout
    layout["legend"]["traceorder"] = "reversed"
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05, **layout)
    return fig


# ---------------------------------------------------------------------------------------------
# sustainability: domain profiles and change between rounds


def _round_label(value) -> str:
    return pd.Timestamp(value).strftime("%b %Y")


def domain_profile_chart(
    scores, *, title: str = "", scale: tuple[float, float] = (1, 7), threshold: int | None = None,
) -> go.Figure:
    """One site's domain profile: mean score per domain and round with its CI across respondents
    (dot and whisker, rounds in colour, total last). The lowest domains of the latest shown round are
    bold. ``scores`` is a SustainabilityScores table (or its rows for one site)."""
    table = _table(scores)
    if table is None or table.empty:
        return empty_figure(title, "No assessments stored for this site")
    table = table.sort_values(["assessment_date", "order"])
    domains = table.drop_duplicates("domain").sort_values("order")
    order = {d: n for n, d in enumerate(domains["domain"])}
    shown_rounds = [d for d, part in table.groupby("assessment_date") if not part["suppressed"].all()]
    hidden_rounds = [d for d, part in table.groupby("assessment_date") if part["suppressed"].all()]
    if not shown_rounds:
        return empty_figure(title, f"No scores shown: every round had fewer than {threshold or 'the threshold'} "
                                   "respondents")
    latest = table[table["assessment_date"] == shown_rounds[-1]]
    lowest = set(latest.loc[latest["lowest"], "domain"])
    labels = [f"<b>{chart_text(lab)}</b>" if d in lowest else chart_text(lab)
              for d, lab in zip(domains["domain"], domains["label"], strict=True)]
    n_domains, n_rounds = len(domains), len(shown_rounds)
    fig = go.Figure()
    for k, when in enumerate(shown_rounds):
        part = table[(table["assessment_date"] == when) & ~table["suppressed"]]
        offset = (k - (n_rounds - 1) / 2) * min(0.22, 0.7 / max(n_rounds, 1))
        y = np.array([n_domains - 1 - order[d] + offset for d in part["domain"]], dtype=float)
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        has_ci = part["ci_low"].notna().to_numpy()
        xs, ys = _gapped(*[([lo, hi], [yy, yy]) for lo, hi, yy in zip(part["ci_low"][has_ci], part["ci_high"][has_ci],
                                                                      y[has_ci], strict=True)])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                 line=dict(color=colour, width=2.5, dash=SERIES_DASHES[k % len(SERIES_DASHES)]),
                                 showlegend=False, legendgroup=str(when), name=f"95% CI {_round_label(when)}"))
        fig.add_trace(
            go.Scatter(
                x=part["mean"], y=y, mode="markers", name=f"{_round_label(when)} (n = {part['n_respondents'].max()})",
                legendgroup=str(when),
                marker=dict(color=colour, size=12, line=dict(color="white", width=1),
                            symbol=["diamond" if d == "total" else SERIES_SYMBOLS[k % len(SERIES_SYMBOLS)]
                                    for d in part["domain"]]),
                customdata=np.column_stack([part["label"].map(chart_text), part["ci_low"], part["ci_high"],
                                            part["n_respondents"]]),
                hovertemplate="<b>%{customdata[0]}</b><br>Mean %{x:.2f}<br>95% CI %{customdata[1]:.2f} to "
                "%{customdata[2]:.2f}<br>%{customdata[3]} respondents<extra>" + _round_label(when) + "</extra>",
            )
        )
    notes = []
    if lowest:
        notes.append(f"Bold: lowest-scoring domains in {_round_label(shown_rounds[-1])} (where to act first)")
    if hidden_rounds:
        notes.append("Not shown (fewer than " + (f"{threshold} " if threshold else "the threshold of ")
                     + "respondents): " + ", ".join(_round_label(d) for d in hidden_rounds))
    layout = base_layout(title, height=max(340, 44 * n_domains + 200), x_title="Mean score (95% CI across respondents)",
                         subtitle="; ".join(notes))
    layout["yaxis"].update(tickmode="array", tickvals=list(range(n_domains)), ticktext=labels[::-1],
                           range=[-0.6, n_domains - 0.4], showgrid=False, automargin=True, zeroline=False)
    low, high = scale
    layout["xaxis"].update(range=[low - 0.1, high + 0.1], dtick=1, showgrid=True, gridcolor=NHS_PALE_GREY)
    layout["margin"]["l"] = 20
    fig.add_shape(type="line", name="total_divider", x0=0, x1=1, xref="paper", y0=0.5, y1=0.5, yref="y",
                  line=dict(color=NHS_MID_GREY, width=1, dash="dot"))
    fig.update_layout(**_legend_below(layout))
    return fig


def _signed(value: float) -> str:
    """'+0.3', '−0.2' (typographic minus), '0.0' when it rounds to zero."""
    return fmt_signed(value, 1).replace("-", "\u2212")


def round_change_chart(change, *, title: str = "") -> go.Figure:
    """Change of each domain and the total between two rounds (points on the scale) with its CI; a
    dotted line at no change. ``change`` is a RoundChange."""
    table = _table(change)
    if table is None or table.empty or table["suppressed"].all():
        return empty_figure(title, "No change shown: too few respondents in one of the rounds")
    table = table.sort_values("order").assign(label=lambda t: t["label"].map(chart_text))
    labels = list(table["label"])
    shown = table[~table["suppressed"]]
    fig = go.Figure()
    has_ci = shown["ci_low"].notna().to_numpy()
    xs, ys = _gapped(*[([lo, hi], [lab, lab]) for lo, hi, lab in zip(shown["ci_low"][has_ci], shown["ci_high"][has_ci],
                                                                      shown["label"][has_ci], strict=True)])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="95% CI", line=dict(color=NHS_DARK_GREY, width=2.5),
                             hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=shown["difference"], y=shown["label"], mode="markers+text", name="Change",
            marker=dict(color=NHS_BLUE, size=13, line=dict(color="white", width=1),
                        symbol=["diamond" if d == "total" else "circle" for d in shown["domain"]]),
            text=[_signed(v) for v in shown["difference"]], textposition="top center",
            customdata=np.column_stack([shown["ci_low"], shown["ci_high"], shown["first_mean"], shown["second_mean"]]),
            hovertemplate="<b>%{y}</b><br>Change %{x:+.2f}<br>95% CI %{customdata[0]:.2f} to %{customdata[1]:.2f}"
            "<br>%{customdata[2]:.2f} → %{customdata[3]:.2f}<extra></extra>",
        )
    )
    fig.add_shape(type="line", name="no_change", x0=0, x1=0, y0=0, y1=1, xref="x", yref="paper",
                  line=dict(color=NHS_TEXT, width=1.5, dash="dot"), layer="below")
    method = getattr(change, "method", "")
    first, second = getattr(change, "first", None), getattr(change, "second", None)
    subtitle = (f"{_round_label(first)} to {_round_label(second)}; " if first is not None else "") + (
        "paired: respondents who answered both rounds" if method == "paired" else
        "unpaired: different respondents in the two rounds" if method else "")
    reach = np.nanmax(np.abs(shown[["ci_low", "ci_high", "difference"]].to_numpy(dtype=float)))
    reach = max(1.0, float(reach) * 1.15) if np.isfinite(reach) else 1.0
    layout = base_layout(title, height=max(320, 40 * len(labels) + 190), x_title="Change in mean score (points)",
                         subtitle=subtitle)
    layout["yaxis"].update(type="category", categoryorder="array", categoryarray=labels[::-1], automargin=True,
                           showgrid=False)
    layout["xaxis"].update(range=[-reach, reach], showgrid=True, gridcolor=NHS_PALE_GREY, zeroline=False)
    layout["margin"]["l"] = 20
    fig.update_layout(**_legend_below(layout))
    return fig


# ---------------------------------------------------------------------------------------------
# published statistics: a trust beside England over time


def published_measure_chart(rows: pd.DataFrame, *, title: str = "", subtitle: str = "", unit: str = "",
                            go_live=None) -> go.Figure:
    """A mapped published measure over time: the trust's line beside England's (``published.mapped_measures``),
    or a site's context series from a published file; ``go_live`` marks the site's go-live month.

    Shares (value over the denominator measure, per cent) share one axis; counts put England on a right-hand
    axis, since a national total dwarfs a trust's. Suppressed months are gaps, never zero. Organisation names
    and labels are drawn as plain text (HTML-escaped).
    """
    if rows is None or rows.empty:
        return empty_figure(title, "No published values")
    share = rows["share"].notna().any()
    column = "share" if share else "value"
    fig = go.Figure()
    for n, (level, part) in enumerate(rows.groupby("level", sort=False)):
        part = part.sort_values("period")
        name = _plain(str(part["org_name"].iloc[0]) if len(part) else level)
        right = not share and level == "England"
        values = part[column].astype(float)
        fig.add_trace(go.Scatter(
            x=part["period"], y=values, mode="lines+markers", name=name + (" (right axis)" if right else ""),
            yaxis="y2" if right else "y", connectgaps=False,
            line=dict(color=SERIES_COLOURS[n % len(SERIES_COLOURS)], width=2.5, dash=SERIES_DASHES[n % len(SERIES_DASHES)]),
            marker=dict(size=8, symbol=SERIES_SYMBOLS[n % len(SERIES_SYMBOLS)]), customdata=part["published_value"],
            hovertemplate=f"<b>{name}</b><br>%{{x|%b %Y}}: %{{y:,.1f}}{'%' if share else ''}"
            "<br>published value %{customdata}<extra></extra>",
        ))
    if go_live is not None and rows["period"].min() <= pd.Timestamp(go_live) <= rows["period"].max():
        _vertical_marker(fig, pd.Timestamp(go_live), "go-live", name="go-live")
    y_title = "Share (%)" if share else axis_title("Count", unit)
    layout = base_layout(title, height=380, y_title=y_title, subtitle=subtitle)
    months = rows["period"].nunique()
    layout["xaxis"].update(tickformat="%b %Y", dtick="M1" if months <= 14 else "M3" if months <= 40 else "M6")
    layout["yaxis"].update(rangemode="tozero")
    if not share:
        layout["yaxis2"] = dict(title="England", overlaying="y", side="right", rangemode="tozero", showgrid=False,
                                linecolor=NHS_MID_GREY)
        layout["margin"]["r"] = 70
    fig.update_layout(**_legend_below(layout))
    return fig


def _plain(text: str) -> str:
    """User or file text made inert for plotly's HTML-like labels."""
    return html.escape(str(text), quote=False) if text else ""
