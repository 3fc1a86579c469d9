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
from mhin_eval.analysis.spc_rules import RUN_LENGTH, label_direction, special_cause_parts, special_cause_type
from mhin_eval.periods import as_timestamp, column_dates

LIMIT_FACTOR = 2.66
"""3σ for individuals: 3 / d2 with d2 = 1.128 for moving ranges of two points (Wheeler)."""
NEAR_LIMIT_FACTOR = 2 * LIMIT_FACTOR / 3
"""The 2σ band used by the two-of-three rule."""
MR_SCREEN_FACTOR = 3.267
"""Upper range limit of the moving-range chart (D4 for n = 2); larger moving ranges are screened out."""
MIN_RELIABLE_POINTS = 12
"""Fewer points than this per segment give trial limits only (NHSRplotthedots warns below 12)."""

RULES = ("outside_limits", "trend", "two_of_three", "shift")
"""Special-cause rules in order of precedence: the first that flags a point decides its direction."""

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
"""NHSRplotthedots' point types; the neutral ones are for a chart without an improvement direction."""
VARIATION_ICONS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neutral_high",
    "neutral_low",
)
ASSURANCE_ICONS = ("consistent_pass", "consistent_fail", "inconsistent")

Improvement = Literal["increase", "decrease", "neutral"]

METHODS = f"""\
XmR (individuals) chart after NHS England's "Making Data Count" guidance, computed as the NHS-R
Community package NHSRplotthedots computes it (its current source, version 0.2). Within each segment
(a facet, split again at each rebase point) the centre line is the mean of the values; moving ranges
are |y_t - y_(t-1)| between consecutive observed periods; process limits are
mean ± {LIMIT_FACTOR}·mean(MR) and the 2σ band is mean ± (2/3)·{LIMIT_FACTOR}·mean(MR). Unless
screening is switched off, moving ranges ≥ {MR_SCREEN_FACTOR}·mean(MR) are excluded once before the
limits are set (the mean itself is never screened; the Making Data Count Excel tool does not screen).
With a fixed baseline the mean and the moving ranges come from the first N observed points of each
segment only.
Special cause, in precedence: (1) a point outside the process limits (above or below); (2) a run of
{RUN_LENGTH} strictly increasing or strictly decreasing points (a tie breaks the run), its points
taking the trend's direction whichever side of the mean they lie; (3) two of three consecutive points
between the 2σ band and the limits, all three points on the same side of the mean (only the points
between 2σ and the limits are flagged; a point beyond the limits or on the mean does not count);
(4) {RUN_LENGTH} or more consecutive points on one side of the mean (a point on the mean breaks the
run). The first rule that flags a point gives its direction: above or below the mean, or for a trend
the direction of the step to the next point if that point is in the trend too, else of the step from
the previous point. With an improvement direction a special cause in that direction is an improvement
and one against it a concern; without one (neutral) it is "neutral high" or "neutral low".
Variation icon: the type of the last point (improvement, concern or neutral, high or low). Assurance
icon (needs a target and a direction), from the last point's limits: consistently passing when the
target lies beyond the limit on the unfavourable side, consistently failing when it lies beyond the
limit on the favourable side, inconsistent (hit and miss) when it lies within or on the limits.
References: NHS England and NHS Improvement, "Making Data Count" (2019, 2021); Wheeler DJ,
"Understanding Variation: the key to managing chaos", 2nd ed. (SPC Press, 2000); Wheeler DJ &
Chambers DS, "Understanding Statistical Process Control" (1992); NHS-R Community, NHSRplotthedots
R package (https://github.com/nhs-r-community/NHSRplotthedots).
"""

DIFFERENCES = """\
Where these charts deliberately differ from NHSRplotthedots:

- **Gaps.** A missing value or a missing period breaks the moving ranges and every run (trend, two of
  three, shift); NHSRplotthedots assumes a series without gaps and takes moving ranges across them.
- **No direction given.** Without an improvement direction a chart here is neutral (special causes
  are "neutral high" or "neutral low" and there is no assurance icon); NHSRplotthedots assumes that an
  increase is an improvement.
- **Fixed baseline.** Limits fixed on the first N points count observed points; NHSRplotthedots
  counts rows, including rows without a value.
- **Flat series.** When every moving range is 0 nothing is screened out and the limits lie on the mean;
  NHSRplotthedots would screen out every moving range and have no limits.
- **Version.** Trend points take the trend's direction even across the mean, as in NHSRplotthedots'
  current source (issue #171); its first release (0.1.0) coloured them by their side of the mean.
- **Suppressed views.** Where counts are suppressed for disclosure control, the chart is drawn from
  the rounded counts, months with a hidden count left out, so its limits and signals can differ from
  the evaluation team's chart; such a chart says so.
"""


@dataclass(frozen=True)
class SPCResult:
    """An XmR chart: one row per observed point, limits per segment and icons per facet.

    ``points`` columns: facet (when faceted), time, value, segment, mean, lpl, upl, lower_2s,
    upper_2s, moving_range, mr_screened_out, in_baseline, one boolean column per rule in RULES
    (``special_cause_<rule>``), special_cause, special_cause_rule, special_cause_type
    (NHSRplotthedots' label, e.g. "7 Point Trend (Increasing)"), direction (+1 high / -1 low, 0 for
    common cause) and point_type (one of POINT_TYPES).
    ``summary``: one row per facet and segment with start, end, n, n_baseline, mean, mrbar, lpl, upl,
    lower_2s, upper_2s, n_mr_screened_out, the counts common_cause, special_cause_improvement and
    special_cause_concern, and variation_type (the segment's last point type), as NHSRplotthedots'
    summary. ``icons``: one row per facet with the last point's time and type, the variation icon and
    the assurance icon (None without target or direction). ``disclosure_note`` is set when the chart
    was drawn from counts suppressed for disclosure control (mhin_eval.access.shown).
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
    disclosure_note: str | None = None

    def tidy(self) -> pd.DataFrame:
        """One row per point: (facet,) period, value, centre, lower_limit, upper_limit, point_type."""
        columns = {"time": "period", "value": "value", "mean": "centre", "lpl": "lower_limit",
                   "upl": "upper_limit", "point_type": "point_type"}
        if self.facet is not None:
            columns = {self.facet: self.facet, **columns}
        return self.points[list(columns)].rename(columns=columns).reset_index(drop=True)

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

    ``improvement`` is "increase", "decrease" or "neutral" (None, the default, is neutral: special causes
    are neutral high or low and there is no assurance icon). ``baseline`` fixes the limits on the first N
    observed points of each segment; ``rebase_at`` starts a new segment (new mean and limits) at each
    given time, e.g. an intervention's go-live. Method: Wheeler's XmR chart as NHSRplotthedots computes
    it for NHS England's Making Data Count (see METHODS; DIFFERENCES for where this one departs from it).
    """
    if improvement not in (None, "increase", "decrease", "neutral"):
        raise ValueError(f"improvement must be 'increase', 'decrease', 'neutral' or None, not {improvement!r}")
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
    if target is not None and improvement in (None, "neutral"):
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
    flags, labels = _special_causes(points, block_start)
    for name in RULES:
        points[f"special_cause_{name}"] = flags[name]
    rule = np.select([flags[name] for name in RULES], list(RULES), "").astype(object)
    points["special_cause"] = rule != ""
    points["special_cause_rule"] = rule
    points["special_cause_type"] = labels
    points["direction"] = label_direction(labels)
    points["point_type"] = _point_types(labels, improvement)
    for row in summary_rows:
        types = points.loc[points["segment"] == row["segment"], "point_type"]
        row.update({kind: int((types == kind).sum()) for kind in POINT_TYPES[:3]})
        row["variation_type"] = types.iloc[-1]
    return points, summary_rows, warnings


def _special_causes(points: pd.DataFrame, block_start: np.ndarray) -> tuple[dict, np.ndarray]:
    """Flags per rule and NHSRplotthedots' special-cause label of each point, rules applied within each
    run of consecutive observed periods (ptd_spc_standard, ptd_special_cause_type)."""
    y = points["value"].to_numpy()
    relative_to_mean = np.sign(y - points["mean"].to_numpy()).astype(int)
    outside = (y > points["upl"].to_numpy()) | (y < points["lpl"].to_numpy())
    close = ~outside & ((y < points["lower_2s"].to_numpy()) | (y > points["upper_2s"].to_numpy()))
    flags = {name: np.zeros(len(y), dtype=bool) for name in RULES}
    flags["outside_limits"] = outside
    labels = np.full(len(y), "Common Cause", dtype=object)
    block_id = np.cumsum(block_start)
    for b in np.unique(block_id):
        idx = np.flatnonzero(block_id == b)
        parts = special_cause_parts(y[idx], relative_to_mean[idx], close[idx])
        for name, part in zip(("trend", "two_of_three", "shift"), parts, strict=True):
            flags[name][idx] = part.astype(bool)
        labels[idx] = special_cause_type(y[idx], relative_to_mean[idx], outside[idx], *parts)
    return flags, labels


def _point_types(labels, improvement: Improvement | None) -> np.ndarray:
    """Point types from special-cause labels and the improvement direction (ptd_point_type)."""
    v = label_direction(labels)
    if improvement in (None, "neutral"):
        return np.select([v > 0, v < 0], POINT_TYPES[3:], "common_cause").astype(object)
    v = v * (1 if improvement == "increase" else -1)
    return np.select([v > 0, v < 0], POINT_TYPES[1:3], "common_cause").astype(object)


def _icons(points: pd.DataFrame, summary: pd.DataFrame, *, improvement, target) -> pd.DataFrame:
    """Variation icon from each facet's last point; assurance icon from its last point's limits (ptd_get_icons)."""
    rows = []
    for facet_value, facet_points in points.groupby("facet", sort=False):
        last = facet_points.iloc[-1]
        rows.append(
            {
                "facet": facet_value,
                "last_time": last["time"],
                "point_type": last["point_type"],
                "variation_icon": variation_icon(last["point_type"], improvement),
                "assurance_icon": assurance_icon(last["lpl"], last["upl"], improvement, target),
            }
        )
    return pd.DataFrame(rows)


def variation_icon(point_type: str, improvement: Improvement | None) -> str:
    """The Making Data Count variation icon for the last point's type (ptd_get_icons)."""
    if point_type == "common_cause" or point_type.startswith("special_cause_neutral_"):
        return point_type.removeprefix("special_cause_")
    kind = point_type.removeprefix("special_cause_")
    good_high = improvement == "increase"
    high = good_high if kind == "improvement" else not good_high
    return f"{kind}_{'high' if high else 'low'}"


def assurance_icon(lpl: float, upl: float, improvement: Improvement | None, target: float | None) -> str | None:
    """Consistent pass / fail or inconsistent: the target against the process limits
    (ptd_calculate_assurance_type); None without a target or with a neutral direction."""
    if target is None or improvement in (None, "neutral"):
        return None
    increasing = improvement == "increase"
    if target > upl:
        return "consistent_fail" if increasing else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if increasing else "consistent_fail"
    return "inconsistent"


def _fmt(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    return str(value)


__all__ = [
    "ASSURANCE_ICONS",
    "DIFFERENCES",
    "METHODS",
    "POINT_TYPES",
    "RULES",
    "SPCResult",
    "VARIATION_ICONS",
    "assurance_icon",
    "variation_icon",
    "xmr",
]
