"""Small-number suppression: what counts look like outside the evaluation team's own view.

The method is NHS Digital's disclosure control for sub-national counts ("Disclosure control methodology for
Hospital Episode Statistics (HES) and Emergency Care Data Set (ECDS)", applied from September 2018 and later
adopted for other NHS Digital datasets, e.g. SRHAD from 2019-20; the same rules are in NHS Digital's Data
Quality Maturity Index suppression rules). The catalogue sets the numbers (``disclosure_threshold = 7``,
``round_to = 5``):

- **Primary suppression.** A count from 1 to the threshold is hidden and shown as ``*``.
- **Zero is shown as 0.** The method hides values between 1 and 7, so a zero is not treated as disclosive.
  (The older MHMDS-era Mental Health Bulletin 2013-14 replaced "numbers less than five (including zero)"
  with ``*``; that rule was superseded and is not followed here.)
- **Rounding.** Every other count is rounded to the nearest ``round_to``, halves up. Counts are whole
  numbers, so with ``round_to = 5`` no count is ever halfway (12 -> 10, 13 -> 15); with an even
  ``round_to`` such as 10, 15 -> 20, and a non-whole value such as 12.5 -> 15.
- **Rates and percentages** (per 100,000, per patient, %) are computed from the *rounded* count and the
  *rounded* denominator, and hidden when either is hidden. The HES/ECDS method presents percentages from the
  rounded numerator and denominator (its note on percentages warns that these differ from percentages of
  unrounded numbers for small denominators). It also matters for safety: a rate from the unrounded count,
  shown beside its denominator, gives the unrounded count back (count = rate x denominator / per), which
  undoes the rounding that stops hidden cells from being worked out by subtraction.
- **Secondary suppression.** Wherever parts add up to a total (the groups of a breakdown and the ``all``
  row of the same site, indicator and period; the columns of a row and its row total), a total or part
  that is the only hidden cell is joined by the smallest shown non-zero part (or by the total when no such
  part exists). NHS Digital's 2018 method dropped secondary suppression in favour of rounding, but rounding
  alone does not always protect: shown ``total 15 = 10 + 10 + *`` forces ``* = 1`` (the total is at most 17,
  the parts at least 8 each). So after the pairwise rule an **audit** finds any hidden cell whose value is
  the only one consistent with what is shown, and hides one more cell, until none is left.

What the audit assumes a reader knows: a shown 0 is exactly 0; a shown non-zero number ``r`` means a count
that rounds to ``r`` and exceeds the threshold (e.g. 10 means 8 to 12); a ``*`` is a whole number of at
least 1 (zeros are never hidden); parts add up to their total. It does not assume the reader knows *why*
a cell is hidden: the ``reason`` column ("primary" / "secondary") is for the evaluation team's audit of the
suppression and must not be shown in a suppressed view (telling a reader that a ``*`` is "secondary" says
it is above the threshold, which can pin down the small one beside it).

Pages must show only the suppressed numbers in a suppressed view: a table of monthly counts next to a chart
of their unrounded 12-month sum, for example, would let a reader subtract. Suppress any table of summed
counts itself with :func:`suppress_table` (e.g. the rows of ``evaluate.group_window`` before
``equity.group_rates``, which then gives no rate for a hidden count and rates from the rounded ones).

References: NHS Digital, Disclosure control methodology for HES and ECDS (2018),
https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-statistics/change-to-disclosure-control-methodology-for-hes-and-ecds-from-september-2018 ;
NHS Digital, DQMI methodology, Suppression rules,
https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/data-quality/data-quality-maturity-index-methodology/suppression-rules ;
NHS Digital, Mental Health Bulletin 2013-14 (zeros then suppressed);
Hundepool A et al. Statistical Disclosure Control, Wiley 2012, ch. 4 (cell suppression and its audit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

HIDDEN = "*"
"""What a suppressed cell shows."""
PRIMARY = "primary"
SECONDARY = "secondary"
SERIES_BLOCK = ("project", "site", "indicator", "period")
"""Columns of a series frame that identify one set of parts and their total (besides breakdown)."""


@dataclass(frozen=True)
class SuppressionRule:
    """Counts from 1 to ``threshold`` are hidden; other counts are rounded to the nearest ``round_to``."""

    threshold: int = 7
    round_to: int = 5

    def __post_init__(self):
        for name in ("threshold", "round_to"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"SuppressionRule.{name} must be a whole number, not {value!r}")
        if self.threshold < 0:
            raise ValueError(f"SuppressionRule.threshold must be 0 or more, not {self.threshold}")
        if self.round_to < 1:
            raise ValueError(f"SuppressionRule.round_to must be 1 or more, not {self.round_to}")
        if 2 * (self.threshold + 1) < self.round_to:
            raise ValueError(
                f"round_to = {self.round_to} would show the smallest unsuppressed count ({self.threshold + 1}) "
                f"as 0; use round_to of at most {2 * (self.threshold + 1)} or a higher threshold"
            )

    @classmethod
    def from_catalogue(cls, catalogue) -> SuppressionRule:
        """The rule in the catalogue's ``[settings]`` (``disclosure_threshold``, ``round_to``)."""
        return cls(
            threshold=int(catalogue.setting("disclosure_threshold", 7)),
            round_to=int(catalogue.setting("round_to", 5)),
        )

    @property
    def note(self) -> str:
        """The footnote a suppressed table carries, in plain words."""
        rounding = f"other counts are rounded to the nearest {self.round_to}" if self.round_to > 1 else ""
        parts = [
            f"{HIDDEN} = a count from 1 to {self.threshold}, or a figure hidden so that such a count "
            "cannot be worked out from the others",
            rounding,
            "rates use the rounded counts",
        ]
        return "; ".join(p for p in parts if p) + "."

    @property
    def smallest_shown_group(self) -> int:
        """The fewest people (or respondents) a shown group may hold: groups of 1 to the threshold are hidden."""
        return self.threshold + 1

    def hides(self, count: float) -> bool:
        """True for a count the rule hides itself (1 to threshold); zero and missing counts are not hidden."""
        return not _missing(count) and 0 < count <= self.threshold

    def round(self, count: float) -> float:
        """``count`` to the nearest ``round_to``, halves up (12.5 -> 15 with round_to 5); missing stays NaN."""
        if _missing(count):
            return math.nan
        return float(math.floor(count / self.round_to + 0.5) * self.round_to)

    def show(self, count: float) -> str:
        """The text a suppressed view shows for a count on its own: ``*``, the rounded count, or "" if missing."""
        if _missing(count):
            return ""
        return HIDDEN if self.hides(count) else _fmt(self.round(count))

    def band(self, shown: float) -> tuple[int, int]:
        """The whole-number counts a reader can infer from a shown figure: (lowest, highest).

        0 means exactly 0; a shown ``r`` above 0 means a count above the threshold that rounds to ``r``.
        """
        if shown == 0:
            return 0, 0
        low = max(math.ceil(shown - self.round_to / 2), self.threshold + 1)
        high = math.ceil(shown + self.round_to / 2) - 1
        return low, high


def suppress_series(
    frame: pd.DataFrame,
    rule: SuppressionRule,
    *,
    count_column: str = "value",
    denominator_column: str = "denominator",
    total_group: str = "all",
    rate_per: float | None = None,
) -> pd.DataFrame:
    """A series frame as a suppressed view shows it: the same rows, counts rounded or hidden.

    Each ``(project, site, indicator, period)`` is one table: the row with breakdown and group
    ``total_group`` is the total, and the groups of each other breakdown are its parts. When there is no
    total row, the groups' sum is treated as shown, since pages show it as the "all" series.

    Returns a copy with ``count_column`` as float (NaN when hidden or missing, rounded otherwise), ``shown``
    (``*``, the rounded count as text, or "" when missing), ``suppressed``, ``reason`` ("primary",
    "secondary" or ""; for the evaluation team only), and ``denominator_column`` rounded (hidden when it is
    1 to threshold itself). With ``rate_per`` a ``rate`` column is (re)computed from the rounded count and
    denominator, NaN when either is hidden. Pass only counts (indicator kinds count, rate, proportion);
    means and scores are not counts.
    """
    _need_columns(frame, [count_column, "breakdown", "group"], "suppress_series")
    if "rate" in frame.columns and rate_per is None:
        raise ValueError(
            "suppress_series: the frame has a 'rate' column, computed from unrounded counts; pass rate_per "
            "(the indicator's multiplier, e.g. 100000) so it is recomputed from the shown counts"
        )
    counts = _counts(frame[count_column], count_column)
    out = frame.copy()
    positions = np.arange(len(frame))
    block_columns = [c for c in SERIES_BLOCK if c in frame.columns]
    values = list(counts)
    selectable = [True] * len(values)
    equations: list[tuple[int | None, list[int]]] = []
    breakdown = frame["breakdown"].astype(str).to_numpy()
    group = frame["group"].astype(str).to_numpy()
    is_total = (breakdown == total_group) & (group == total_group)
    blocks = frame.groupby(block_columns, sort=False, dropna=False).indices if block_columns else {(): positions}
    for key, rows in blocks.items():
        totals = [int(r) for r in rows if is_total[r]]
        if len(totals) > 1:
            raise ValueError(
                f"suppress_series: {len(totals)} total rows ({total_group}/{total_group}) for "
                f"{dict(zip(block_columns, _tuple(key), strict=True))}; keep one row per site, indicator and period"
            )
        by_breakdown: dict[str, list[int]] = {}
        for r in rows:
            if not is_total[r]:
                by_breakdown.setdefault(breakdown[r], []).append(int(r))
        shared_virtual: tuple[int, float] | None = None
        for name in sorted(by_breakdown):
            parts = by_breakdown[name]
            if totals:
                equations.append((totals[0], parts))
                continue
            part_values = [values[p] for p in parts]
            if any(_missing(v) for v in part_values):
                continue
            part_sum = float(sum(part_values))
            if shared_virtual is None or shared_virtual[1] != part_sum:
                values.append(part_sum)
                selectable.append(False)
                shared_virtual = (len(values) - 1, part_sum)
            equations.append((shared_virtual[0], parts))
    reasons = _protect(np.asarray(values, dtype=float), equations, rule, np.asarray(selectable))[: len(frame)]
    hidden = reasons != ""
    out[count_column] = _rounded(counts, hidden, rule)
    out["shown"] = _shown(out[count_column].to_numpy(), hidden)
    out["suppressed"] = hidden
    out["reason"] = reasons
    if denominator_column in frame.columns:
        denominators = pd.to_numeric(frame[denominator_column], errors="coerce").to_numpy(dtype=float)
        denominator_hidden = np.array([rule.hides(d) for d in denominators], dtype=bool)
        out[denominator_column] = _rounded(denominators, denominator_hidden, rule)
        if rate_per is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = out[count_column].to_numpy(dtype=float) / out[denominator_column].to_numpy(dtype=float)
            rate = np.where(np.isfinite(rate), rate * rate_per, np.nan)
            out["rate"] = rate
    elif rate_per is not None:
        raise ValueError(f"suppress_series: rate_per needs a {denominator_column!r} column")
    return out


def suppress_table(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    rule: SuppressionRule,
    parts_of: Mapping[str, Sequence[str]] | None = None,
    total_row: tuple[str, object] | None = None,
    by: Sequence[str] = (),
    derived: Mapping[str, str | Sequence[str]] | None = None,
) -> pd.DataFrame:
    """A result table as a suppressed view shows it: counts rounded or hidden, with secondary suppression.

    - ``parts_of`` maps a total column to the count columns that add up to it in every row (a row total,
      e.g. ``{"total": ["online", "face_to_face"]}``).
    - ``total_row = (column, label)`` marks the row holding the sum of the other rows in each count column
      (e.g. ``("group", "All")``); with ``by`` the rows are split into blocks (e.g. by period), each with
      its own total row. Both together make a two-way table with margins.
    - ``derived`` names columns computed from count columns (``{"rate": "count", "ci_low": "count"}``);
      they are hidden (NaN) wherever one of their counts is hidden. Rates on shown counts should be
      computed from the rounded counts this returns, not carried over.

    Returns a copy with each count column as float (NaN when hidden or missing, rounded otherwise) and, for
    each count column ``c``, ``c + "_shown"`` (``*``, the rounded count as text, or "") and ``c + "_reason"``
    ("primary", "secondary" or ""; for the evaluation team only).
    """
    count_columns = list(count_columns)
    parts_of = dict(parts_of or {})
    _need_columns(frame, count_columns + list(by) + ([total_row[0]] if total_row else []), "suppress_table")
    for total, parts in parts_of.items():
        unknown = [c for c in [total, *parts] if c not in count_columns]
        if unknown:
            raise ValueError(
                f"suppress_table: parts_of uses {unknown}, which are not in count_columns {count_columns}"
            )
    derived = {k: [v] if isinstance(v, str) else list(v) for k, v in (derived or {}).items()}
    _need_columns(frame, list(derived), "suppress_table (derived)")
    for column, bases in derived.items():
        unknown = [b for b in bases if b not in count_columns]
        if unknown:
            raise ValueError(f"suppress_table: derived column {column!r} is built on {unknown}, not count columns")
    n_rows = len(frame)
    cell = {c: np.arange(n_rows) + k * n_rows for k, c in enumerate(count_columns)}
    values = np.concatenate([_counts(frame[c], c) for c in count_columns]) if count_columns else np.array([])
    equations: list[tuple[int | None, list[int]]] = []
    for total, parts in parts_of.items():
        for r in range(n_rows):
            equations.append((int(cell[total][r]), [int(cell[p][r]) for p in parts]))
    if total_row is not None:
        label_column, label = total_row
        labels = frame[label_column].to_numpy()
        blocks = frame.groupby(list(by), sort=False, dropna=False).indices if by else {(): np.arange(n_rows)}
        for key, rows in blocks.items():
            totals = [int(r) for r in rows if labels[r] == label]
            if len(totals) > 1:
                where = f" in block {dict(zip(by, _tuple(key), strict=True))}" if by else ""
                raise ValueError(f"suppress_table: {len(totals)} rows with {label_column} = {label!r}{where}; keep one")
            if not totals:
                continue
            parts = [int(r) for r in rows if labels[r] != label]
            for c in count_columns:
                equations.append((int(cell[c][totals[0]]), [int(cell[c][p]) for p in parts]))
    reasons = _protect(values, equations, rule, np.ones(len(values), dtype=bool))
    out = frame.copy()
    for c in count_columns:
        reason = reasons[cell[c]]
        hidden = reason != ""
        out[c] = _rounded(values[cell[c]], hidden, rule)
        out[f"{c}_shown"] = _shown(out[c].to_numpy(), hidden)
        out[f"{c}_reason"] = reason
    for column, bases in derived.items():
        hidden = np.zeros(n_rows, dtype=bool)
        for b in bases:
            hidden |= reasons[cell[b]] != ""
        out[column] = pd.to_numeric(out[column], errors="coerce").mask(hidden)
    return out


# --------------------------------------------------------------------------- the protection itself


def _protect(
    values: np.ndarray, equations: Iterable[tuple[int | None, list[int]]], rule: SuppressionRule, selectable: np.ndarray
) -> np.ndarray:
    """Reason per cell ("primary", "secondary", ""): primary suppression, the pairwise rule, then the audit.

    ``equations`` are (total cell, part cells): the parts add up to the total. A missing part (NaN) is left
    out: the pairwise rule still applies to the rest, but the audit uses only complete equations, since
    with a part unknown the rest need not add up. An equation whose total is missing constrains nothing.
    ``selectable`` is False for cells that have no row to hide (an implied total).
    """
    missing = np.isnan(values)
    reasons = np.full(len(values), "", dtype=object)
    reasons[~missing & (values > 0) & (values <= rule.threshold)] = PRIMARY
    eqs, complete = [], []
    for total, parts in equations:
        present = [p for p in parts if not missing[p]]
        if total is not None and not missing[total] and present:
            eqs.append((total, present))
            if len(present) == len(parts):
                complete.append((total, present))
    components = _components(complete)
    while True:
        changed = False
        for eq in eqs:
            if sum(reasons[c] != "" for c in (eq[0], *eq[1])) == 1:
                pick = _complement(eq, values, reasons, selectable)
                if pick is not None:
                    reasons[pick] = SECONDARY
                    changed = True
        if changed:
            continue
        for comp in components:
            determined = _determined(comp, values, reasons, rule)
            if determined is None:
                continue
            pick = next(
                (p for eq in comp if determined in (eq[0], *eq[1])
                 if (p := _complement(eq, values, reasons, selectable)) is not None),
                None,
            )
            if pick is None:
                shown = sorted(
                    {c for eq in comp for c in (eq[0], *eq[1])
                     if reasons[c] == "" and values[c] > 0 and selectable[c]},
                    key=lambda c: (values[c], c),
                )
                pick = shown[0] if shown else None
            if pick is not None:
                reasons[pick] = SECONDARY
                changed = True
        if not changed:
            return reasons


def _complement(eq, values, reasons, selectable) -> int | None:
    """The cell to hide beside a lone hidden one: the smallest shown non-zero part, else the total."""
    total, parts = eq
    candidates = [p for p in parts if reasons[p] == "" and values[p] > 0 and selectable[p]]
    if candidates:
        return min(candidates, key=lambda c: (values[c], c))
    if reasons[total] == "" and values[total] > 0 and selectable[total]:
        return total
    return None


def _components(eqs):
    """Equations grouped by shared cells (union-find): each group is audited on its own."""
    parent: dict[int, int] = {}

    def find(c):
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for total, parts in eqs:
        for p in parts:
            parent[find(p)] = find(total)
    groups: dict[int, list] = {}
    for eq in eqs:
        groups.setdefault(find(eq[0]), []).append(eq)
    return list(groups.values())


def _domain(c, values, reasons, rule) -> tuple[float, float]:
    if reasons[c] != "":
        return 1.0, math.inf
    low, high = rule.band(rule.round(values[c]))
    return float(low), float(high)


def _determined(comp, values, reasons, rule) -> int | None:
    """A hidden cell of this group whose value is the only one consistent with the shown cells, or None."""
    cells = sorted({c for eq in comp for c in (eq[0], *eq[1])})
    hidden = [c for c in cells if reasons[c] != ""]
    if not hidden:
        return None
    domains = {c: _domain(c, values, reasons, rule) for c in cells}
    if len(comp) == 1:
        total, parts = comp[0]
        for c in hidden:
            if c == total:
                low = sum(domains[p][0] for p in parts)
                high = sum(domains[p][1] for p in parts)
            else:
                others = [p for p in parts if p != c]
                low = domains[total][0] - sum(domains[p][1] for p in others)
                high = domains[total][1] - sum(domains[p][0] for p in others)
            low, high = max(low, domains[c][0]), min(high, domains[c][1])
            if low == high:
                return c
        return None
    return _determined_milp(comp, cells, hidden, domains, values)


def _determined_milp(comp, cells, hidden, domains, values) -> int | None:
    """Several linked equations (a two-way table, or several breakdowns of one total): integer programmes
    give each hidden cell's least and greatest feasible value."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    index = {c: k for k, c in enumerate(cells)}
    cap = 2 * float(np.nansum(values[cells])) + 10
    a = np.zeros((len(comp), len(cells)))
    for row, (total, parts) in enumerate(comp):
        a[row, index[total]] = -1
        for p in parts:
            a[row, index[p]] += 1
    low = np.array([domains[c][0] for c in cells])
    high = np.array([min(domains[c][1], cap) for c in cells])
    constraint = LinearConstraint(a, 0, 0)
    bounds = Bounds(low, high)
    integrality = np.ones(len(cells))
    for c in hidden:
        objective = np.zeros(len(cells))
        objective[index[c]] = 1
        least = milp(objective, constraints=constraint, bounds=bounds, integrality=integrality)
        greatest = milp(-objective, constraints=constraint, bounds=bounds, integrality=integrality)
        if least.status != 0 or greatest.status != 0:
            return None
        if round(-greatest.fun) - round(least.fun) < 1:
            return c
    return None


# --------------------------------------------------------------------------- helpers


def _missing(value) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _tuple(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _need_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: column(s) {missing} not in the frame; its columns are {list(frame.columns)}")


def _counts(column: pd.Series, name: str) -> np.ndarray:
    """The column as floats, refusing anything that is not a count (a whole number of at least 0)."""
    values = pd.to_numeric(column, errors="coerce")
    not_number = values.isna() & column.notna()
    bad = not_number | (values < 0) | (values.notna() & (values != np.floor(values)))
    if bad.any():
        label = column.index[bad.to_numpy()][0]
        value = column[label]
        value = repr(value) if isinstance(value, str) else f"{value}"
        raise ValueError(
            f"column {name!r}, row {label!r}: {value} is not a count (a whole number of 0 or more); "
            "suppress counts only (indicator kinds count, rate, proportion), not means or scores"
        )
    return values.to_numpy(dtype=float)


def _rounded(values: np.ndarray, hidden: np.ndarray, rule: SuppressionRule) -> np.ndarray:
    rounded = np.array([rule.round(v) for v in values], dtype=float)
    rounded[hidden] = np.nan
    return rounded


def _shown(rounded: np.ndarray, hidden: np.ndarray) -> list[str]:
    return [HIDDEN if h else ("" if math.isnan(v) else _fmt(v)) for v, h in zip(rounded, hidden, strict=True)]
