"""ITS data preparation and design matrix: time index, go-live, gaps, series labels (see its.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.periods import as_timestamp, column_dates

if TYPE_CHECKING:
    from mhin_eval.analysis.its import ITSOptions

COUNT_FAMILIES = ("poisson", "quasipoisson", "negbin")
MAX_NAMED_GAPS = 12

# ---------------------------------------------------------------------------------------------
# data preparation


@dataclass
class _Prepared:
    frame: pd.DataFrame  # columns: t, period, observed, offset, series, is_treated
    intervention_t: int
    dates: bool
    controlled: bool
    treated_label: object
    comparison_labels: list
    warnings: list[str] = field(default_factory=list)


def _prepare(data, intervention, time, value, offset, group, treated, options) -> _Prepared:
    """The model frame (one row per observed period of each series, treated series first, then by label and
    time) with the checks and notes every fit shares. Built from arrays, once: this runs for every fit."""
    notes: list[str] = []
    for column in [time, value] + [c for c in (offset, group) if c is not None]:
        if column not in data.columns:
            raise AnalysisError(f"The data have no column '{column}'.")
    if group is not None and treated is None:
        raise AnalysisError(f"Say which value of '{group}' is the treated series (treated=...).")
    if offset is not None and options.family == "gaussian":
        notes.append(
            f"The denominator '{offset}' was ignored: an offset applies to count models only; "
            "for a continuous outcome, analyse the rate itself."
        )
        offset = None

    raw_time = pd.Series(data[time].to_numpy())
    observed = _numeric(data[value], value)
    denominator = _numeric(data[offset], offset) if offset is not None else np.ones(len(data))
    series = data[group].to_numpy(dtype=object) if group is not None else np.full(len(data), "all", dtype=object)

    dates = pd.api.types.is_datetime64_any_dtype(raw_time)
    if not dates and not pd.api.types.is_numeric_dtype(raw_time):
        try:
            raw_time = column_dates(raw_time, time)
        except (ValueError, TypeError) as exc:
            raise AnalysisError(
                f"The time column '{time}' must hold integers or month-start dates ({exc})."
            ) from exc
        dates = True

    missing = raw_time.isna().to_numpy() | np.isnan(observed) | np.isnan(denominator)
    if group is not None:
        missing |= pd.isna(series)
    if missing.any():
        fields = ["time", "value"] + [c for c, given in (("denominator", offset), ("group", group)) if given]
        what = ", ".join(fields[:-1]) + " or " + fields[-1]
        count = int(missing.sum())
        notes.append(
            f"{count} row{'s' if count != 1 else ''} with a missing {what} "
            f"{'were' if count != 1 else 'was'} dropped."
        )
        keep = ~missing
        raw_time = raw_time[keep].reset_index(drop=True)
        observed, denominator, series = observed[keep], denominator[keep], series[keep]
    if len(observed) == 0:
        raise AnalysisError("No rows with both a time and a value remain.")

    if dates:
        instants = pd.to_datetime(raw_time)
        if instants.dt.tz is not None:  # read as the wall-clock month, as Period does
            instants = instants.dt.tz_localize(None)
        instants = instants.to_numpy()
        months = instants.astype("datetime64[M]")
        if np.any(instants.astype("datetime64[D]") != months.astype("datetime64[D]")):
            notes.append("Some dates were not the first of a month; each was read as its calendar month.")
        period = months.astype("datetime64[us]")
        month_number = months.astype(np.int64)  # months since 1970-01
        origin_year = int(month_number.min() // 12 + 1970)
        t = month_number + (1970 - origin_year) * 12 + 1
        try:
            go_live = as_timestamp(intervention).to_period("M").to_timestamp()
        except (ValueError, TypeError) as exc:
            raise AnalysisError(f"The go-live '{intervention}' is not a date ({exc}).") from exc
        intervention_t = int((go_live.year - origin_year) * 12 + go_live.month)
    else:
        numeric = raw_time.astype(float).to_numpy()
        if not np.allclose(numeric, np.round(numeric)):
            raise AnalysisError(f"The time column '{time}' must hold whole numbers or dates.")
        t = np.round(numeric).astype(int)
        period = t
        try:
            intervention_value = float(intervention)
        except (ValueError, TypeError) as exc:
            raise AnalysisError(
                f"The go-live '{intervention}' must be a time value like those in '{time}'."
            ) from exc
        if intervention_value != round(intervention_value):
            raise AnalysisError(f"The go-live '{intervention}' must be a whole number.")
        intervention_t = int(round(intervention_value))

    codes, labels = pd.factorize(series, sort=True)
    span = int(t.max() - t.min()) + 1
    if len(np.unique(codes * span + (t - t.min()))) < len(t):
        frame = pd.DataFrame({"series": series, "t": t, "period": period})
        duplicated = frame.duplicated(["series", "t"], keep=False)
        example = frame.loc[duplicated].iloc[0]
        where = f" in series '{example['series']}'" if group is not None else ""
        raise AnalysisError(
            f"Time point {_label(example['period'], dates)} appears more than once{where}; "
            "each series needs one value per period."
        )

    if options.family in COUNT_FAMILIES:
        if (observed < 0).any():
            raise AnalysisError(
                f"The {options.family} family needs counts, but '{value}' has negative values."
            )
        if not np.allclose(observed, np.round(observed)):
            raise AnalysisError(
                f"The {options.family} family needs whole-number counts, but '{value}' has fractions; "
                "use the gaussian family for a continuous outcome, or give counts with a denominator."
            )
        if offset is not None and (denominator <= 0).any():
            raise AnalysisError(f"The denominator '{offset}' must be positive in every row.")

    controlled = group is not None
    if controlled:
        in_order = list(pd.unique(series))
        matches = [label for label in in_order if _same_label(label, treated)]
        if not matches:
            raise AnalysisError(f"No rows have {group} = '{treated}' (the treated series).")
        treated_label = matches[0]
        comparison_labels = [label for label in in_order if label != treated_label]
        if not comparison_labels:
            raise AnalysisError(f"Controlled ITS needs at least one comparison series besides '{treated}'.")
    else:
        treated_label, comparison_labels = "all", []
    is_treated = series == treated_label
    order = np.lexsort((t, codes, ~is_treated))
    raw_time = raw_time.to_numpy()[order]
    observed, denominator, series, period, t, is_treated = (
        observed[order], denominator[order], series[order], period[order], t[order], is_treated[order])
    frame = pd.DataFrame({
        "raw_time": raw_time, "observed": observed, "denominator": denominator, "series": series,
        "period": period, "t": t.astype(int), "is_treated": is_treated,
        "offset": np.log(denominator) if offset is not None else 0.0, "post": t >= intervention_t,
    })

    for label in pd.unique(series):
        rows = series == label
        gaps = _gaps(t[rows], dates, pd.Series(period[rows]))
        if gaps:
            shown = ", ".join(gaps[:MAX_NAMED_GAPS])
            more = f" and {len(gaps) - MAX_NAMED_GAPS} more" if len(gaps) > MAX_NAMED_GAPS else ""
            where = f" for '{label}'" if controlled else ""
            notes.append(
                f"No data{where} for {shown}{more}; gaps are left as gaps and the time index still "
                "counts every period."
            )
    return _Prepared(frame, intervention_t, dates, controlled, treated_label, comparison_labels, notes)


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """Numbers from a column; text that is not a number is refused rather than treated as missing."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        raise AnalysisError(
            f"Column '{name}' holds text that is not a number (for example '{column[bad].iloc[0]}'); "
            "leave missing values blank."
        )
    return values.to_numpy(dtype=float)


def _same_label(label, treated) -> bool:
    return label == treated or str(label) == str(treated)


def _label(period, dates: bool) -> str:
    return pd.Timestamp(period).strftime("%Y-%m") if dates else str(period)


def _gaps(t: np.ndarray, dates: bool, periods: pd.Series) -> list[str]:
    t = np.sort(t)
    if len(t) < 2:
        return []
    step = int(np.gcd.reduce(np.diff(t))) if not dates else 1
    if step == 0:
        return []
    expected = np.arange(t[0], t[-1] + 1, step)
    missing = np.setdiff1d(expected, t)
    if dates:
        first = pd.Timestamp(periods.min())
        first_t = int(t[0])
        return [(first + pd.DateOffset(months=int(m - first_t))).strftime("%Y-%m") for m in missing]
    return [str(int(m)) for m in missing]


# ---------------------------------------------------------------------------------------------
# design


def _design(t, post, is_treated, series, prepared: _Prepared, options: ITSOptions) -> pd.DataFrame:
    """Segmented-regression design; ``post`` and ``is_treated`` are 0/1 arrays."""
    t = np.asarray(t, dtype=float)
    post = np.asarray(post, dtype=float)
    origin = prepared.intervention_t - (1 if options.slope_origin == "last-pre" else 0)
    since = (t - origin) * post
    columns: dict[str, np.ndarray] = {"intercept": np.ones_like(t), "trend": t, "level_change": post}
    if options.slope_change:
        columns["slope_change"] = since
    for k in range(1, options.harmonics + 1):
        angle = 2 * np.pi * k * t / options.period
        columns[f"sin_{k}"] = np.sin(angle)
        columns[f"cos_{k}"] = np.cos(angle)
    if prepared.controlled:
        treated = np.asarray(is_treated, dtype=float)
        columns["treated"] = treated
        columns["treated_trend"] = treated * t
        columns["treated_level_change"] = treated * post
        if options.slope_change:
            columns["treated_slope_change"] = treated * since
        series = np.asarray(series, dtype=object)
        own_intercepts = prepared.comparison_labels[1:] if options.comparison_intercepts == "each" else []
        for label in own_intercepts:
            columns[f"series[{label}]"] = (series == label).astype(float)
    return pd.DataFrame(columns)


def _effect_terms(prepared: _Prepared, options: ITSOptions) -> tuple[str, str | None]:
    prefix = "treated_" if prepared.controlled else ""
    return f"{prefix}level_change", (f"{prefix}slope_change" if options.slope_change else None)
