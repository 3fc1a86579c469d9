"""Small typed result pieces shared by every analysis module."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, is_dataclass

import numpy as np
import pandas as pd


class AnalysisError(ValueError):
    """The data cannot support the requested estimate; the message says why in plain words."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval on the scale users read.

    ``scale`` says what the number is: "ratio" (rate ratio, 1 = no change),
    "difference" (same unit as the outcome, 0 = no change), "proportion", "rate".
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float | None = None
    scale: str = "difference"
    conf_level: float = 0.95
    se: float | None = None  # standard error on the model scale (log scale for ratios), for pooling

    @property
    def null_value(self) -> float:
        return 1.0 if self.scale == "ratio" else 0.0

    @property
    def excludes_null(self) -> bool:
        return not (self.ci_low <= self.null_value <= self.ci_high)

    def to_dict(self) -> dict:
        return {
            "estimate": _clean(self.estimate),
            "ci_low": _clean(self.ci_low),
            "ci_high": _clean(self.ci_high),
            "p_value": _clean(self.p_value),
        }

    @property
    def model_scale(self) -> tuple[float, float]:
        """(estimate, standard error) on the scale the model was fitted on: log for ratios."""
        if self.se is None:
            raise ValueError("this estimate carries no standard error")
        est = math.log(self.estimate) if self.scale == "ratio" else self.estimate
        return est, self.se


def _clean(value):
    """JSON-safe scalar: numpy types to Python, NaN/inf to None."""
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    return value


def to_jsonable(obj):
    """Recursively turn result dataclasses, frames and numpy values into JSON-safe objects."""
    if isinstance(obj, Estimate):
        return obj.to_dict()
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, pd.DataFrame):
        frame = obj.copy()
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        return [{k: to_jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_frame())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (pd.Timestamp,)):
        return obj.strftime("%Y-%m-%d")
    return _clean(obj)


__all__ = ["AnalysisError", "Estimate", "asdict", "to_jsonable"]
