"""NHSRplotthedots' special-cause rules, one to one (R/ptd_calculate_point_type.R at commit f7891af4b8f7):
numeric 0/±1 vectors in, as there, so that the package's own unit tests can be replayed against them.

Each function works on one run of consecutive points (a segment, or part of one between gaps);
mhin_eval.analysis.spc applies them and turns the labels into point types and icons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RUN_LENGTH = 7
"""Points needed for a trend (strictly monotone) or a shift (one side of the mean)."""


def seven_point_one_side_mean(relative_to_mean) -> np.ndarray:
    """1 where a point and the six before it lie on the same side of the mean (not on it), else 0."""
    v = np.concatenate([np.zeros(RUN_LENGTH - 1), np.asarray(relative_to_mean, dtype=float)])
    return np.array([float(v[i] != 0 and np.all(v[i - RUN_LENGTH + 1 : i] == v[i]))
                     for i in range(RUN_LENGTH - 1, len(v))])


def part_of_seven_trend(v) -> np.ndarray:
    """1 where a point is one of the seven ending at a marked (±1) point, else 0."""
    padded = np.concatenate([np.abs(np.asarray(v, dtype=float)), np.zeros(RUN_LENGTH - 1)])
    return np.array([float(np.any(padded[i : i + RUN_LENGTH] == 1)) for i in range(len(v))])


def seven_point_trend(y) -> np.ndarray:
    """+1 / -1 at a point ending seven strictly increasing / decreasing points, else 0."""
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(y))
    for i in range(RUN_LENGTH - 1, len(y)):
        steps = np.sign(np.diff(y[i - RUN_LENGTH + 1 : i + 1]))
        out[i] = 1.0 if np.all(steps == 1) else -1.0 if np.all(steps == -1) else 0.0
    return out


def two_in_three(close_to_limits, relative_to_mean) -> np.ndarray:
    """1 where a point is in some three consecutive points, all on one side of the mean, of which at
    least two lie between the 2σ band and the limits, else 0."""
    v = np.concatenate([[0, 0], np.asarray(close_to_limits, dtype=float), [0, 0]])
    rtm = np.concatenate([[0, 0], np.asarray(relative_to_mean, dtype=float), [0, 0]])
    return np.array([
        float(any(v[i + k : i + k + 3].sum() >= 2 and abs(rtm[i + k : i + k + 3].sum()) == 3 for k in range(3)))
        for i in range(len(v) - 4)
    ])


def part_of_two_in_three(v, close_to_limits) -> np.ndarray:
    """Of the points in a two-of-three group, those between the 2σ band and the limits."""
    return ((np.asarray(v, dtype=float) == 1) & (np.abs(np.asarray(close_to_limits, dtype=float)) == 1)).astype(float)


def special_cause_parts(y, relative_to_mean, close_to_limits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership (0/1) of each point in a seven-point trend, a two-of-three group and a seven-point shift."""
    return (
        part_of_seven_trend(seven_point_trend(y)),
        part_of_two_in_three(two_in_three(close_to_limits, relative_to_mean), close_to_limits),
        part_of_seven_trend(seven_point_one_side_mean(relative_to_mean)),
    )


def special_cause_type(y, relative_to_mean, outside_limits, part_trend, part_two_in_three, part_one_side):
    """NHSRplotthedots' label per point, first rule first (ptd_special_cause_type). A trend point takes the
    step to the next point when that point is in a trend too, else the step from the previous one; a flat
    step reads as decreasing, as there."""
    y = np.asarray(y, dtype=float)
    rtm = np.asarray(relative_to_mean)
    trend = np.asarray(part_trend) != 0
    steps = np.sign(np.diff(y))
    to_next = np.concatenate([steps, steps[-1:]]) if len(steps) else np.zeros(len(y))
    from_previous = np.concatenate([[0.0], steps])
    next_in_trend = np.concatenate([trend[1:], [False]])
    step = np.where(next_in_trend & trend, to_next, from_previous)
    side = np.where(rtm > 0, "Above", "Below")
    return np.select(
        [np.asarray(outside_limits) != 0, trend, np.asarray(part_two_in_three) != 0, np.asarray(part_one_side) != 0],
        [np.where(rtm == 1, "Above UCL", "Below LCL"),
         np.where(step == 1, "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)"),
         np.char.add(np.char.add("2 in 3 ", side), " CL"),
         np.char.add(np.char.add("7 Points ", side), " CL")],
        "Common Cause",
    ).astype(object)


def label_direction(labels) -> np.ndarray:
    """+1 for a label saying above or increasing, -1 for below or decreasing, 0 for common cause."""
    text = pd.Series(labels, dtype=object)
    return np.select([text.str.contains("Above|Increasing"), text.str.contains("Below|Decreasing")], [1, -1], 0)
