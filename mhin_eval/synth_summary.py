"""Synthetic-control results in words: the donor mix and whether the methods agree (pure, no UI)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from mhin_eval.analysis.results import Estimate


def weights_in_words(weights: dict[str, float], names: dict[str, str] | None = None, *, top: int = 4) -> str:
    """'Built mostly from X (34%), Y (23%) and 3 others (12%).' from donor weights summing to one."""
    names = names or {}
    ranked = sorted(((w, d) for d, w in weights.items() if w > 0.005), reverse=True)
    if not ranked:
        return "No donor carries weight: the comparison is an equal mix of all donors."
    shown, rest = ranked[:top], ranked[top:]
    parts = [f"{names.get(d, d)} ({w:.0%})" for w, d in shown]
    if rest:
        parts.append(f"{len(rest)} other{'s' if len(rest) > 1 else ''} ({sum(w for w, _ in rest):.0%})")
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    lead = "Built mostly from" if shown[0][0] >= 0.2 else "Built from a spread of donors:"
    return f"{lead} {text}."


@dataclass(frozen=True)
class MethodEffect:
    """One method's estimate for the robustness panel; ``quantity`` says what the number is."""

    method: str
    estimate: Estimate | None
    quantity: str


def direction(est: Estimate | None) -> str:
    """'lower', 'higher' or 'unclear' (the interval includes no change, or there is no interval)."""
    if est is None or est.ci_low is None or est.ci_high is None or est.ci_low != est.ci_low:
        return "unclear"
    if est.ci_high < est.null_value:
        return "lower"
    if est.ci_low > est.null_value:
        return "higher"
    return "unclear"


WORDS = {"lower": "a fall", "higher": "a rise", "unclear": "no clear change"}


def agreement(effects: list[MethodEffect]) -> str:
    """One sentence: do the methods point the same way?"""
    found = [(e.method, direction(e.estimate)) for e in effects if e.estimate is not None]
    if len(found) < 2:
        return "Only one method gives an estimate here, so there is nothing to compare it with."
    kinds = {d for _, d in found}
    if len(kinds) == 1:
        return f"The {len(found)} methods agree: each shows {WORDS[kinds.pop()]}."
    if "lower" in kinds and "higher" in kinds:
        lead = "The methods disagree on the direction"
    else:
        lead = "No method points the opposite way to another, but not all find a clear change"
    return lead + ": " + "; ".join(f"{m} shows {WORDS[d]}" for m, d in found) + "."


ROBUSTNESS_COLUMNS = ("Method", "Effect", "95% CI", "What the number is")


def _g(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3g}"


def robustness_table(effects: list[MethodEffect]) -> pd.DataFrame:
    """The robustness panel as the tab, deck and report show it: one row per method, numbers to 3 significant
    figures, "—" where a method gives no estimate or interval."""
    return pd.DataFrame([{
        "Method": e.method,
        "Effect": _g(None if e.estimate is None else e.estimate.estimate),
        "95% CI": ("—" if e.estimate is None or _g(e.estimate.ci_low) == "—"
                   else f"{_g(e.estimate.ci_low)} to {_g(e.estimate.ci_high)}"),
        "What the number is": e.quantity,
    } for e in effects], columns=list(ROBUSTNESS_COLUMNS))
