"""A chart in words (pure: no Streamlit): its accessible name and a text summary of what it draws, read from
the figure that ``mhin_eval.charts`` built from a result, so the words and the picture cannot disagree (WCAG 2.2
1.1.1, non-text content)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

#: Most series described one by one; a chart with more (e.g. many donor sites) names the rest as a count.
MAX_SERIES = 8


@dataclass(frozen=True)
class ChartSummary:
    """``name``: the chart's title as text (its accessible name); ``lines``: one sentence per series drawn."""

    name: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def label_text(label) -> str:
    """Plotly label markup (``<br>``, ``<b>``, escaped characters) as plain text."""
    if label is None:
        return ""
    text = re.sub(r"<br\s*/?>", " ", str(label))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _position(value) -> str:
    """An x position in words: a month as "Jan 2021" (plotly keeps dates as ISO text or datetime64)."""
    if hasattr(value, "strftime") or str(type(value).__name__) == "datetime64" or (
            isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value)):
        return f"{pd.Timestamp(value):%b %Y}"
    return label_text(value)


def _list(values) -> list:
    return [] if values is None else list(values)


def _numbers(values) -> list[float]:
    out = pd.to_numeric(pd.Series(_list(values), dtype=object), errors="coerce")
    return [float(v) for v in out.dropna()]


def _trace_line(trace) -> str | None:
    name = label_text(getattr(trace, "name", None))
    if isinstance(trace, go.Heatmap):
        rows = [label_text(y) for y in _list(trace.y)]
        return f"{len(rows)} rows: " + "; ".join(rows) + "." if rows else None
    if not name:
        return None
    if isinstance(trace, go.Bar):
        horizontal = trace.orientation == "h"
        categories, values = (trace.y, trace.x) if horizontal else (trace.x, trace.y)
        pairs = [f"{label_text(c)} {_number(float(v))}" for c, v in zip(_list(categories), _list(values), strict=False)
                 if v is not None and not pd.isna(v)]
        return f"{name}: " + ("; ".join(pairs) if pairs else "no values") + "."
    if isinstance(trace, go.Box):
        values = _numbers(trace.y)
        return f"{name}: {len(values)} values from {_number(min(values))} to {_number(max(values))}." if values else None
    if trace.fill == "toself":
        return f"{name} (drawn as a shaded band)."
    xs, ys = _list(trace.x), _list(trace.y)
    points = [(x, y) for x, y in zip(xs, ys, strict=False)
              if x is not None and isinstance(y, (int, float)) and not pd.isna(y)]
    if not points:
        return None
    if len(points) == 1:
        return f"{name}: {_number(points[0][1])} at {_position(points[0][0])}."
    values = [y for _, y in points]
    return (f"{name}: {len(points)} points from {_position(points[0][0])} to {_position(points[-1][0])}, "
            f"ranging from {_number(min(values))} to {_number(max(values))}.")


def summarise(fig: go.Figure) -> ChartSummary:
    """The figure's title and subtitle as its name, and one sentence per named series it draws."""
    title = fig.layout.title
    name = label_text(title.text) if title and title.text else "Chart"
    subtitle = label_text(title.subtitle.text) if title and title.subtitle and title.subtitle.text else ""
    lines = [f"{subtitle}."] if subtitle else []
    described = [line for trace in fig.data if trace.visible is not False and (line := _trace_line(trace))]
    lines += list(dict.fromkeys(described))[:MAX_SERIES]
    if len(dict.fromkeys(described)) > MAX_SERIES:
        lines.append(f"And {len(dict.fromkeys(described)) - MAX_SERIES} more series.")
    notes = [label_text(a.text) for a in fig.layout.annotations or () if a.text]
    if not fig.data and notes:
        lines += [f"{n}." for n in notes]
    return ChartSummary(name=name, lines=tuple(lines) or ("Nothing is drawn.",))
