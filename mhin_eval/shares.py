"""Proportions and denominators: what a share is out of, at validation and at analysis.

A proportion (catalogue ``kind = "proportion"``) is either a count out of the row's denominator
(the denominator bounds it) or, when the catalogue states ``scale = "0-1"`` or ``"0-100"``, a share
written on that scale. A value with neither is unbounded (150 and 1.5 could both be "a half") and is
refused. At analysis a share is modelled as its count with the denominator as offset and charted as a
percentage (``rate_per = 100``) of its denominator.

A series whose indicator has a denominator keeps its rate model when some months lack the
denominator: those months are left out, with a warning naming them (``months_without_denominator``),
never a silent switch to a plain count.
"""

from __future__ import annotations

import pandas as pd

from mhin_eval.catalogue import Indicator

SCALE_MAX = {"0-1": 1.0, "0-100": 100.0}


def share_checks(value: pd.Series, text: pd.Series, denominator: pd.Series, meta: pd.DataFrame, col) -> None:
    """Refuses proportions outside their stated scale, and proportions with neither denominator nor scale."""
    proportion = meta["kind"] == "proportion"
    scale = meta["scale"]
    for name, top in SCALE_MAX.items():
        outside = proportion & (scale == name) & value.notna() & ((value < 0) | (value > top))
        col.cells(outside, text, "value", f"A share outside the indicator's scale of {name.replace('-', ' to ')}",
                  f"Write the share on the {name.replace('-', ' to ')} scale"
                  + (" (e.g. 0.25 for a quarter)" if top == 1 else " (e.g. 25 for a quarter)")
                  + "; check the value is not a count or on the other scale.")
    unbounded = proportion & (scale.isna() | (scale == "")) & value.notna() & denominator.isna()
    col.cells(unbounded, text, "value", "A proportion with no denominator, so its scale is unknown",
              "Enter in 'denominator' the total this value is out of (the value is then the count out of it), or "
              "state the scale in the catalogue (scale = \"0-1\" or \"0-100\").")


def month_list(periods) -> str:
    """'Mar 2023, Apr 2023 and Jun 2023' (first ten, then how many more)."""
    words = [f"{pd.Timestamp(p):%b %Y}" for p in sorted(periods)]
    if len(words) > 10:
        return ", ".join(words[:10]) + f" and {len(words) - 10} more"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


_SINGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman"}


def _singular(noun_phrase: str) -> str:
    """The phrase with its first word in the singular ("patients in the outreach cohort" -> "patient in …")."""
    first, _, rest = noun_phrase.partition(" ")
    lower = first.lower()
    if lower in _SINGULAR:
        first = _SINGULAR[lower]
    elif lower.endswith("ies") and len(lower) > 4:
        first = first[:-3] + "y"
    elif lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        first = first[:-1]
    return f"{first} {rest}".strip()


def rate_unit(indicator: Indicator) -> str:
    """What one value per denominator is, in words: "detentions per 100,000 resident population", "attendances
    per patient in the outreach cohort" (a rate per 1 reads per one of the denominator, never "per 1 patients"),
    or the indicator's own unit when it has no denominator (a monthly count)."""
    if not indicator.denominator:
        return indicator.unit
    per = float(indicator.rate_per or 1)
    if per == 1:
        return f"{indicator.unit} per {_singular(indicator.denominator)}".strip()
    if per == 100 and indicator.kind == "proportion":
        return f"% of {indicator.denominator}"
    return f"{indicator.unit} per {per:,.0f} {indicator.denominator}".strip()


def uses_offset(indicator: Indicator) -> bool:
    """Counts, rates and proportions with a catalogue denominator are modelled per denominator."""
    return indicator.kind in ("count", "rate", "proportion") and bool(indicator.denominator)


def months_without_denominator(frame: pd.DataFrame, indicator: Indicator, name: str = "") -> tuple[pd.DataFrame, str | None]:
    """(the frame without months whose denominator is missing or not positive, a warning naming them).

    Only for indicators modelled per denominator; otherwise the frame comes back unchanged.
    """
    if not uses_offset(indicator) or frame.empty:
        return frame, None
    lacking = frame["value"].notna() & ~(frame["denominator"] > 0)
    if not lacking.any():
        return frame, None
    where = f" for {name}" if name else ""
    warning = (f"{lacking.sum()} month(s){where} left out: no denominator ({indicator.denominator}) in "
               f"{month_list(frame.loc[lacking, 'period'])}. The model stays a rate per denominator; add the "
               "denominators to include them.")
    return frame[~lacking], warning


SHARE_COLUMNS = ("observed", "fitted", "fitted_low", "fitted_high", "counterfactual", "counterfactual_low",
                 "counterfactual_high")


def as_shares(fitted: pd.DataFrame, frame: pd.DataFrame, indicator: Indicator, controlled: bool) -> pd.DataFrame:
    """A proportion's fitted frame on its share scale: counts divided by their month's denominator times
    ``rate_per`` (100: percent), with the denominator kept in a ``denominator`` column (the suppressed
    view converts its rounded counts with it). ``frame`` holds the modelled rows (period, series,
    denominator)."""
    keys = ["period", "series"] if controlled else ["period"]
    lookup = frame.set_index(keys)["denominator"]
    index = pd.MultiIndex.from_frame(fitted[["period", "group"]]) if controlled else pd.Index(fitted["period"])
    out = fitted.copy()
    out["denominator"] = lookup.reindex(index).to_numpy(dtype=float)
    for column in SHARE_COLUMNS:
        if column in out:
            out[column] = out[column] / out["denominator"] * indicator.rate_per
    return out
