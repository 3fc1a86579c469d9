"""NHS "Making Data Count" statistical process control: XmR charts, special-cause rules and icons.

The limits, rules, point types and icons follow NHS England's Making Data Count guidance as
implemented by the NHS-R Community package NHSRplotthedots (the reference implementation), which in
turn rests on Wheeler's XmR (individuals and moving range) chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.periods import as_timestamp, column_dates

LIMIT_FACTOR = 2.66
"""3σ for individuals: 3 / d2 with d2 = 1.128 for moving ranges of two points (Wheeler)."""
NEAR_LIMIT_FACTOR = 2 * LIMIT_FACTOR / 3
"""The 2σ band used by the two-of-three rule."""
MR_SCREEN_FACTOR = 3.267
"""Upper range limit of the moving-range chart (D4 for n = 2); larger moving ranges are screened out."""
RUN_LENGTH = 7
"""Points needed for a trend (strictly monotone) or a shift (one side of the mean)."""
MIN_RELIABLE_POINTS = 12
"""Fewer points than this per segment give trial limits only (NHSRplotthedots warns below 12)."""

RULES = ("outside_limits", "trend", "two_of_three", "shift")
"""Special-cause rules in order of precedence: the first that flags a point decides its direction."""

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neither",
)
VARIATION_ICONS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neither_high",
    "neither_low",
)
ASSURANCE_ICONS = ("pass", "fail", "hit_and_miss")

Improvement = Literal["increase", "decrease"]

METHODS = f"""\
XmR (individuals) chart after NHS England's "Making Data Count" guidance, as implemented in the
NHS-R Community package NHSRplotthedots. Within each segment (a facet, split again at each rebase
point) the centre line is the mean of the values; moving ranges are |y_t - y_(t-1)| between
consecutive observed periods; process limits are mean ± {LIMIT_FACTOR}·mean(MR) and the 2σ band is
mean ± (2/3)·{LIMIT_FACTOR}·mean(MR). Unless screening is switched off, moving ranges
≥ {MR_SCREEN_FACTOR}·mean(MR) are excluded once before the limits are set (the mean itself is never
screened; the Making Data Count Excel tool does not screen). With a fixed baseline the mean and the
moving ranges come from the first N observed points of each segment only.
Special cause, in precedence: (1) a point outside the process limits; (2) a run of {RUN_LENGTH}
strictly increasing or strictly decreasing points (a tie breaks the run); (3) two of three
consecutive points beyond 2σ on the same side of the mean (points beyond the limits count as beyond
2σ, and only the points beyond 2σ are flagged); (4) {RUN_LENGTH} or more consecutive points on one
side of the mean (a point on the mean breaks the run). The first rule that flags a point gives its
direction (side of the mean, or the trend's direction; a point in two opposite trends takes the
later one). A missing value or a missing period breaks moving ranges and runs. With an improvement
direction, a special cause is an improvement or a concern; without one it is "neither".
Variation icon: the type of the last observed point. Assurance icon (needs a target and a
direction): pass when the target lies beyond the limit on the unfavourable side, fail when it lies
beyond the limit on the favourable side, hit and miss when it lies within the limits.
Differences from NHSRplotthedots: its two-of-three rule counts only points between 2σ and the limits
and asks all three points to be on one side; this one follows Wheeler's detection rule (two of three
beyond 2σ on the same side). It computes moving ranges across gaps; this one does not.
References: NHS England and NHS Improvement, "Making Data Count" (2019, 2021); Wheeler DJ,
"Understanding Variation: the key to managing chaos", 2nd ed. (SPC Press, 2000); Wheeler DJ &
Chambers DS, "Understanding Statistical Process Control" (1992); NHS-R Community, NHSRplotthedots
R package (https://github.com/nhs-r-community/NHSRplotthedots).
"""


@dataclass(frozen=True)
class SPCResult:
    """An XmR chart: one row per observed point, limits per segment and icons per facet.

    ``points`` columns: facet (when faceted), time, value, segment, mean, lpl, upl, lower_2s,
    upper_2s, moving_range, mr_screened_out, in_baseline, one boolean column per rule in RULES
    (``special_cause_<rule>``), special_cause, special_cause_rule, direction (+1 above / -1 below
    or trend direction, 0 for common cause) and point_type (one of POINT_TYPES).
    ``summary``: one row per facet and segment with start, end, n, mean, mrbar, lpl, upl,
    lower_2s, upper_2s and n_mr_screened_out. ``icons``: one row per facet with the last point's
    time and type, the variation icon and the assurance icon (None without target or direction).
    """

    points: pd.DataFrame
    summary: pd.DataFrame
    icons: pd.DataFrame
    improvement: Improvement | None
    target: float | None
    screen_outliers: bool
    baseline: int | None
    facet: str | None
    warnings: tuple[str, ...]
    methods: str = METHODS

    @property
    def variation_icon(self) -> str:
        """The variation icon of an unfaceted chart (for facets read ``icons``)."""
        return self._single_icon("variation_icon")

    @property
    def assurance_icon(self) -> str | None:
        """The assurance icon of an unfaceted chart, or None without target or direction."""
        return self._single_icon("assurance_icon")

    def _single_icon(self, column: str):
        if len(self.icons) != 1:
            raise AnalysisError(f"this chart has {len(self.icons)} facets: read the icons table instead")
        return self.icons[column].iloc[0]


def xmr(
    data: pd.DataFrame,
    *,
    time: str = "period",
    value: str = "value",
    improvement: Improvement | None = None,
    target: float | None = None,
    screen_outliers: bool = True,
    baseline: int | None = None,
    rebase_at: Sequence = (),
    facet: str | None = None,
) -> SPCResult:
    """XmR chart with Making Data Count special-cause rules, point types and icons.

    ``baseline`` fixes the limits on the first N observed points of each segment; ``rebase_at``
    starts a new segment (new mean and limits) at each given time, e.g. an intervention's go-live.
    Method: Wheeler's XmR chart as in NHS England's Making Data Count / NHSRplotthedots (see METHODS).
    """
    if improvement not in (None, "increase", "decrease"):
        raise ValueError(f"improvement must be 'increase', 'decrease' or None, not {improvement!r}")
    if baseline is not None and (isinstance(baseline, bool) or int(baseline) != baseline or baseline < 2):
        raise ValueError(f"baseline must be a whole number of at least 2 points, not {baseline!r}")
    if target is not None and not math.isfinite(float(target)):
        raise ValueError(f"target must be a finite number, not {target!r}")
    if isinstance(rebase_at, (str, bytes)) or not isinstance(rebase_at, Sequence | pd.Index | np.ndarray):
        rebase_at = [rebase_at]
    frame = _prepare(data, time=time, value=value, facet=facet)
    rebase_points = _coerce_rebase(rebase_at, frame["time"])

    warnings: list[str] = []
    point_frames, summary_rows = [], []
    for facet_value, facet_rows in frame.groupby("facet", sort=False):
        label = "" if facet is None else f"{facet} = {facet_value}: "
        points, rows, facet_warnings = _chart_one_facet(
            facet_rows.reset_index(drop=True),
            rebase_points=rebase_points,
            baseline=None if baseline is None else int(baseline),
            screen_outliers=screen_outliers,
            improvement=improvement,
        )
        warnings.extend(label + w for w in facet_warnings)
        points.insert(0, "facet", facet_value)
        point_frames.append(points)
        summary_rows.extend({"facet": facet_value, **row} for row in rows)

    points = pd.concat(point_frames, ignore_index=True)
    summary = pd.DataFrame(summary_rows)
    if target is not None and improvement is None:
        warnings.append("a target was given without an improvement direction: no assurance icon")
    icons = _icons(points, summary, improvement=improvement, target=target)
    if facet is None:
        points = points.drop(columns="facet")
        summary = summary.drop(columns="facet")
        icons = icons.drop(columns="facet")
    else:
        points = points.rename(columns={"facet": facet})
        summary = summary.rename(columns={"facet": facet})
        icons = icons.rename(columns={"facet": facet})
    return SPCResult(
        points=points,
        summary=summary,
        icons=icons,
        improvement=improvement,
        target=None if target is None else float(target),
        screen_outliers=screen_outliers,
        baseline=None if baseline is None else int(baseline),
        facet=facet,
        warnings=tuple(warnings),
    )


def _prepare(data: pd.DataFrame, *, time: str, value: str, facet: str | None) -> pd.DataFrame:
    """Select, type-check and sort the columns the chart needs."""
    missing = [c for c in (time, value, facet) if c is not None and c not in data.columns]
    if missing:
        raise AnalysisError(f"column(s) {missing} not in the data; columns are {list(data.columns)}")
    if len(data) == 0:
        raise AnalysisError("no rows: an SPC chart needs data")
    frame = pd.DataFrame(
        {
            "facet": "all" if facet is None else data[facet].to_numpy(),
            "time": _parse_time(data[time], time),
            "value": _parse_values(data[value], value),
        }
    )
    if frame["time"].isna().any():
        raise AnalysisError(f"{int(frame['time'].isna().sum())} row(s) have no {time!r}: every point needs a time")
    duplicated = frame.duplicated(["facet", "time"])
    if duplicated.any():
        first = frame.loc[duplicated, "time"].iloc[0]
        raise AnalysisError(
            f"{int(duplicated.sum())} duplicated {time!r} value(s) (first: {first}); an XmR chart needs one "
            "value per period" + ("" if facet is None else " and facet") + " — aggregate first"
        )
    return frame.sort_values(["facet", "time"], kind="stable").reset_index(drop=True)


def _parse_time(column: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.reset_index(drop=True)
    try:
        return column_dates(column, name).reset_index(drop=True)
    except (ValueError, TypeError) as exc:
        raise AnalysisError(f"column {name!r} must hold dates or numbers: {exc}") from exc


def _parse_values(column: pd.Series, name: str) -> pd.Series:
    numeric = pd.to_numeric(column, errors="coerce")
    bad = numeric.isna() & column.notna()
    if bad.any():
        example = column[bad].iloc[0]
        raise AnalysisError(f"column {name!r} has {int(bad.sum())} non-numeric value(s), e.g. {example!r}")
    numeric = numeric.astype(float).reset_index(drop=True)
    if np.isinf(numeric).any():
        raise AnalysisError(f"column {name!r} has infinite values")
    return numeric


def _coerce_rebase(rebase_at: Sequence, times: pd.Series) -> list:
    """Rebase times in the type of the time column, sorted and unique."""
    if len(rebase_at) == 0:
        return []
    if pd.api.types.is_datetime64_any_dtype(times):
        try:
            values = [as_timestamp(v) for v in rebase_at]
        except (ValueError, TypeError) as exc:
            raise AnalysisError(f"rebase_at must be dates like the time column: {exc}") from exc
        tz = getattr(times.dt, "tz", None)
        values = [v.tz_localize(tz) if v.tzinfo is None and tz is not None else v for v in values]
    else:
        try:
            values = [float(v) for v in rebase_at]
        except (ValueError, TypeError) as exc:
            raise AnalysisError(f"rebase_at must be numbers like the time column: {exc}") from exc
    return sorted(set(values))


def _time_steps(times: pd.Series) -> np.ndarray | None:
    """Periods between consecutive times on their usual spacing (months for month starts), None if unknown."""
    if len(times) < 2:
        return None
    if pd.api.types.is_datetime64_any_dtype(times):
        if (times.dt.day == 1).all():
            index = (times.dt.year * 12 + times.dt.month).to_numpy(dtype=float)
        else:
            index = ((times - times.iloc[0]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(times):
        index = times.to_numpy(dtype=float)
    else:
        return None
    diffs = np.diff(index)
    positive = diffs[diffs > 0]
    if len(positive) == 0:
        return None
    step = pd.Series(positive).mode().min()
    return np.round(diffs / step).astype(int)


def _chart_one_facet(
    rows: pd.DataFrame,
    *,
    rebase_points: list,
    baseline: int | None,
    screen_outliers: bool,
    improvement: Improvement | None,
) -> tuple[pd.DataFrame, list[dict], list[str]]:
    warnings: list[str] = []
    times = rows["time"]
    first, last = times.iloc[0], times.iloc[-1]
    for point in rebase_points:
        if not first < point <= last:
            raise AnalysisError(
                f"rebase at {_fmt(point)} is outside the series ({_fmt(first)} to {_fmt(last)}): "
                "a new segment must start after the first point and no later than the last"
            )
    segment = 1 + sum((times >= point).to_numpy(dtype=int) for point in rebase_points)
    segment = np.broadcast_to(np.asarray(segment, dtype=int), (len(rows),)).copy()

    # A break before a row means the moving range and every run restart there.
    break_before = np.zeros(len(rows), dtype=bool)
    break_before[0] = True
    break_before[1:] |= segment[1:] != segment[:-1]
    steps = _time_steps(times)
    if steps is not None:
        gap = steps > 1
        break_before[1:] |= gap
        n_gaps = int(gap.sum())
        if n_gaps:
            where = ", ".join(_fmt(t) for t in times.iloc[1:][gap].head(3))
            warnings.append(
                f"{n_gaps} gap(s) in the time series (before {where}{'…' if n_gaps > 3 else ''}); moving "
                "ranges and runs are not carried across missing periods"
            )

    missing = rows["value"].isna().to_numpy()
    if missing.any():
        where = ", ".join(_fmt(t) for t in times[missing].head(3))
        warnings.append(
            f"{int(missing.sum())} missing value(s) (at {where}{'…' if missing.sum() > 3 else ''}) left out; "
            "moving ranges and runs are not carried across them"
        )
    if missing.all():
        raise AnalysisError("every value is missing: nothing to chart")
    # Observed points after a missing one start a new block.
    observed_break = break_before.copy()
    observed_break[1:] |= missing[:-1]
    keep = ~missing
    points = pd.DataFrame(
        {"time": times[keep].to_numpy(), "value": rows["value"][keep].to_numpy(), "segment": segment[keep]}
    )
    block_start = observed_break[keep]

    summary_rows = []
    columns = {name: np.full(len(points), np.nan) for name in ("mean", "lpl", "upl", "lower_2s", "upper_2s")}
    moving_range = np.full(len(points), np.nan)
    screened = np.zeros(len(points), dtype=bool)
    in_baseline = np.zeros(len(points), dtype=bool)
    for seg in np.unique(points["segment"]):
        idx = np.flatnonzero(points["segment"].to_numpy() == seg)
        y = points["value"].to_numpy()[idx]
        starts = block_start[idx]
        seg_label = f"segment {seg} (from {_fmt(points['time'].iloc[idx[0]])})"
        if len(idx) < 2:
            raise AnalysisError(
                f"{seg_label} has {len(idx)} observed point: limits need at least 2 (12 or more to be reliable)"
            )
        n_base = len(idx) if baseline is None else min(baseline, len(idx))
        if baseline is not None and baseline > len(idx):
            warnings.append(f"{seg_label}: baseline of {baseline} points is longer than the segment ({len(idx)})")
        base = np.zeros(len(idx), dtype=bool)
        base[:n_base] = True
        mr = np.abs(np.diff(y, prepend=np.nan))
        mr[starts] = np.nan
        base_mr = np.where(base, mr, np.nan)
        if np.all(np.isnan(base_mr)):
            raise AnalysisError(
                f"{seg_label}: no two consecutive observed periods in the baseline, so no moving range"
            )
        mrbar = float(np.nanmean(base_mr))
        screened_here = np.zeros(len(idx), dtype=bool)
        if screen_outliers:
            screened_here = base & ~np.isnan(base_mr) & (base_mr >= MR_SCREEN_FACTOR * mrbar) & (mrbar > 0)
            mrbar = float(np.nanmean(np.where(screened_here, np.nan, base_mr)))
        mean = float(np.mean(y[:n_base]))
        if len(idx) < MIN_RELIABLE_POINTS or n_base < MIN_RELIABLE_POINTS:
            used = "baseline" if n_base < len(idx) else "segment"
            warnings.append(
                f"{seg_label}: limits rest on {n_base} points (fewer than {MIN_RELIABLE_POINTS}): "
                f"they are trial limits and unreliable ({used} too short)"
            )
        if mrbar == 0:
            reason = "all values are equal" if np.ptp(y[:n_base]) == 0 else "after screening, every moving range is 0"
            warnings.append(f"{seg_label}: {reason}, so the mean moving range is 0 and the limits collapse onto the mean")
        limits = {
            "mean": mean,
            "lpl": mean - LIMIT_FACTOR * mrbar,
            "upl": mean + LIMIT_FACTOR * mrbar,
            "lower_2s": mean - NEAR_LIMIT_FACTOR * mrbar,
            "upper_2s": mean + NEAR_LIMIT_FACTOR * mrbar,
        }
        for name, limit in limits.items():
            columns[name][idx] = limit
        moving_range[idx] = mr
        screened[idx] = screened_here
        in_baseline[idx] = base
        summary_rows.append(
            {
                "segment": int(seg),
                "start": points["time"].iloc[idx[0]],
                "end": points["time"].iloc[idx[-1]],
                "n": len(idx),
                "n_baseline": n_base,
                **limits,
                "mrbar": mrbar,
                "n_mr_screened_out": int(screened_here.sum()),
            }
        )

    for name, col in columns.items():
        points[name] = col
    points["moving_range"] = moving_range
    points["mr_screened_out"] = screened
    points["in_baseline"] = in_baseline
    flags, direction, rule = _special_causes(points, block_start)
    for name in RULES:
        points[f"special_cause_{name}"] = flags[name]
    points["special_cause"] = rule != ""
    points["special_cause_rule"] = rule
    points["direction"] = direction
    points["point_type"] = _point_types(direction, improvement)
    return points, summary_rows, warnings


def _special_causes(points: pd.DataFrame, block_start: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """Flags per rule, the deciding rule (by precedence) and the direction of each point."""
    n = len(points)
    y = points["value"].to_numpy()
    side = np.sign(y - points["mean"].to_numpy()).astype(int)
    outside = np.where(y > points["upl"].to_numpy(), 1, np.where(y < points["lpl"].to_numpy(), -1, 0))
    beyond_2s = np.where(y > points["upper_2s"].to_numpy(), 1, np.where(y < points["lower_2s"].to_numpy(), -1, 0))
    trend = np.zeros(n, dtype=int)
    two_of_three = np.zeros(n, dtype=int)
    shift = np.zeros(n, dtype=int)

    block_id = np.cumsum(block_start)
    for b in np.unique(block_id):
        idx = np.flatnonzero(block_id == b)
        trend[idx] = _trend_direction(y[idx])
        shift[idx] = _shift_direction(side[idx])
        two_of_three[idx] = _two_of_three_direction(beyond_2s[idx])

    by_rule = {"outside_limits": outside, "trend": trend, "two_of_three": two_of_three, "shift": shift}
    direction = np.zeros(n, dtype=int)
    rule = np.full(n, "", dtype=object)
    for name in reversed(RULES):
        hit = by_rule[name] != 0
        direction[hit] = by_rule[name][hit]
        rule[hit] = name
    flags = {name: by_rule[name] != 0 for name in RULES}
    return flags, direction, rule


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal non-zero labels as (start, stop, label), stop exclusive."""
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != 0:
                runs.append((start, i, int(labels[start])))
            start = i
    return runs


def _trend_direction(y: np.ndarray) -> np.ndarray:
    """+1/-1 for points in a run of RUN_LENGTH strictly rising/falling values; a later run wins."""
    out = np.zeros(len(y), dtype=int)
    steps = np.sign(np.diff(y)).astype(int)
    for start, stop, label in _runs(steps):
        if stop - start >= RUN_LENGTH - 1:
            out[start : stop + 1] = label
    return out


def _shift_direction(side: np.ndarray) -> np.ndarray:
    """+1/-1 for points in a run of RUN_LENGTH or more on one side of the mean."""
    out = np.zeros(len(side), dtype=int)
    for start, stop, label in _runs(side):
        if stop - start >= RUN_LENGTH:
            out[start:stop] = label
    return out


def _two_of_three_direction(beyond: np.ndarray) -> np.ndarray:
    """+1/-1 for points beyond 2σ that, with another within three consecutive points, lie on one side."""
    out = np.zeros(len(beyond), dtype=int)
    for start in range(max(len(beyond) - 2, 0)):
        window = beyond[start : start + 3]
        for sign in (1, -1):
            if np.count_nonzero(window == sign) >= 2:
                hit = start + np.flatnonzero(window == sign)
                out[hit] = sign
    return out


def _point_types(direction: np.ndarray, improvement: Improvement | None) -> np.ndarray:
    if improvement is None:
        return np.where(direction != 0, "special_cause_neither", "common_cause").astype(object)
    good = 1 if improvement == "increase" else -1
    return np.select(
        [direction == 0, direction == good],
        ["common_cause", "special_cause_improvement"],
        "special_cause_concern",
    ).astype(object)


def _icons(points: pd.DataFrame, summary: pd.DataFrame, *, improvement, target) -> pd.DataFrame:
    """Variation icon from each facet's last point; assurance icon from its last segment's limits."""
    rows = []
    for facet_value, facet_points in points.groupby("facet", sort=False):
        last = facet_points.iloc[-1]
        limits = summary[(summary["facet"] == facet_value) & (summary["segment"] == last["segment"])].iloc[0]
        rows.append(
            {
                "facet": facet_value,
                "last_time": last["time"],
                "point_type": last["point_type"],
                "variation_icon": _variation_icon(last["point_type"], int(last["direction"])),
                "assurance_icon": _assurance_icon(limits["lpl"], limits["upl"], improvement, target),
            }
        )
    return pd.DataFrame(rows)


def _variation_icon(point_type: str, direction: int) -> str:
    if point_type == "common_cause":
        return "common_cause"
    kind = point_type.removeprefix("special_cause_")
    return f"{kind}_{'high' if direction > 0 else 'low'}"


def _assurance_icon(lpl: float, upl: float, improvement, target) -> str | None:
    """Pass / fail / hit-and-miss: where the target lies against the process limits (Making Data Count)."""
    if target is None or improvement is None:
        return None
    increasing = improvement == "increase"
    if target > upl:
        return "fail" if increasing else "pass"
    if target < lpl:
        return "pass" if increasing else "fail"
    return "hit_and_miss"


def _fmt(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    return str(value)


__all__ = [
    "ASSURANCE_ICONS",
    "METHODS",
    "POINT_TYPES",
    "RULES",
    "SPCResult",
    "VARIATION_ICONS",
    "xmr",
]
