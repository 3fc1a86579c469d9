"""What a view shows of the analyses' counts: as they are for the evaluation team, or suppressed
(mhin_eval.access.suppression) for leads, partner sites and an evaluator's suppressed view.

One place for pages and exports alike: counts of people in text, observed points of a time series,
per-person means, the series rows a suppressed view draws, and the note on an SPC chart drawn from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd

from mhin_eval import evaluate
from mhin_eval.access.policy import Access
from mhin_eval.access.suppression import SuppressionRule, suppress_series
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.spc import SPCResult
from mhin_eval.catalogue import Catalogue, Indicator

COUNT_KINDS = ("count", "rate", "proportion")  # indicator kinds whose stored values are counts
_PEOPLE_COUNT = re.compile(
    r"\b\d[\d,]*(?=\s+(?:of\b|rows?\b|row\(s\)|participants?\b|participant\(s\)|people\b|persons?\b"
    r"|complete pairs?\b|famil(?:y|ies)\b))|(?<=\bof )\d[\d,]*\b"
)
_SHARE = re.compile(r"\s*\(\d+(?:\.\d+)?%\)")
#: A number of respondents, except a threshold ("fewer than 8 respondents").
_RESPONDENTS = re.compile(r"(?<!fewer than )\b\d[\d,]*(?=\s+respondents?\b|\s+respondent\(s\))")


@dataclass(frozen=True)
class Counts:
    """How counts appear in one view (page or export): as they are, or suppressed (mhin_eval.access.suppression)."""

    suppressed: bool
    rule: SuppressionRule

    @classmethod
    def for_access(cls, access: Access, catalogue: Catalogue) -> Counts:
        return cls(bool(access.suppressed), SuppressionRule.from_catalogue(catalogue))

    @property
    def threshold(self) -> int:
        return self.rule.threshold

    def n(self, value) -> str:
        """A count of people for text: ``*``, rounded, or as it is in the evaluation team's view."""
        if value is None:
            return ""
        return self.rule.show(value) if self.suppressed else f"{int(value):,}"

    def text(self, text: str) -> str:
        """Analysis text (warnings) with its counts of people suppressed and shares of them dropped.

        A share such as "(31%)" is worked out from unrounded counts, so it would give a rounded count back.
        """
        if not self.suppressed:
            return text
        text = _SHARE.sub("", text)
        return _PEOPLE_COUNT.sub(lambda m: self.rule.show(float(m.group(0).replace(",", ""))), text)

    def respondents(self, text: str) -> str:
        """Text with its numbers of respondents (people who answered an assessment) as this view shows
        counts of people: 1 to the threshold as ``*``, others rounded; thresholds are kept."""
        if not self.suppressed:
            return text
        return _RESPONDENTS.sub(lambda m: self.rule.show(float(m.group(0).replace(",", ""))), text)

    def short_notice(self) -> str | None:
        """:meth:`notice` in one line, for a page with no room for all of it (a slide); None when not suppressed."""
        if not self.suppressed:
            return None
        return (f"Small numbers suppressed: counts from 1 to {self.threshold} show as *, others are rounded to the "
                f"nearest {self.rule.round_to}, so that no one can be recognised.")

    def notice(self, *, evaluator: bool) -> str | None:
        """What a suppressed view says at the top of every page: which numbers are hidden or rounded, and why
        (for the ``evaluator``'s own switch, or because the reader's role only sees suppressed numbers);
        None when nothing is suppressed."""
        if not self.suppressed:
            return None
        who = ("You switched on “Show what others see”: this is the view of programme leads and partner sites."
               if evaluator else
               "Programme leads and partner sites see suppressed numbers; only the evaluation team sees them "
               "unrounded.")
        return (f"**Small numbers suppressed.** Counts from 1 to {self.threshold} show as *, other counts are "
                f"rounded to the nearest {self.rule.round_to}, and rates, shares and means per person are worked "
                "out from the rounded counts, so that no one can be recognised from a small number (NHS Digital's "
                f"disclosure control). Individual people's values are not shown. {who}")

    def per_person(self, total: float | None, people: int | None) -> float | None:
        """A mean count per person as a suppressed view shows it: rounded total over rounded people."""
        if total is None or not people:
            return None
        if not self.suppressed:
            return total / people
        if self.rule.hides(total) or self.rule.hides(people):
            return None
        return self.rule.round(total) / self.rule.round(people) if self.rule.round(people) else None

    def prepost_means(self, result) -> tuple[float | None, float | None]:
        """Before and after means of a before/after result as the view shows them: per-person counts from
        the rounded totals over the rounded number of people in a suppressed view, score means as they are."""
        if hasattr(result, "total_before"):
            return (self.per_person(result.total_before, result.n_pairs),
                    self.per_person(result.total_after, result.n_pairs))
        return result.mean_before, result.mean_after

    def shown_series(self, series: pd.DataFrame, indicators: tuple[Indicator, ...]) -> pd.DataFrame | None:
        """The count indicators' rows as a suppressed view shows them (secondary suppression included)."""
        if not self.suppressed:
            return None
        kinds = [i.id for i in indicators if i.kind in COUNT_KINDS]
        rows = series[series["indicator"].isin(kinds)].drop(columns=["rate"], errors="ignore")
        return suppress_series(rows, self.rule).assign(_raw=rows["value"]) if len(rows) else rows.assign(_raw=[])

    def its_result(self, result: ITSResult, indicator: Indicator, shown: pd.DataFrame | None,
                   series_sites: dict[str, str]) -> ITSResult:
        """The result as drawn: every observed count as the suppressed series shows it (model lines stay:
        they are estimates). ``series_sites`` maps the fitted frame's series labels to site ids."""
        if not self.suppressed or indicator.kind not in COUNT_KINDS or "observed" not in result.fitted:
            return result
        fitted = result.fitted.copy()
        labels = fitted["group"] if "group" in fitted else pd.Series(next(iter(series_sites)), index=fitted.index)
        observed = pd.Series(float("nan"), index=fitted.index)
        for label, site_id in series_sites.items():
            mask = labels.astype(str) == str(label)
            observed[mask] = fitted.loc[mask, "period"].map(self.observed(shown, site_id, indicator.id)).astype(float)
        if "denominator" in fitted:  # a proportion drawn as shares (mhin_eval.shares.as_shares)
            observed = observed / fitted["denominator"] * indicator.rate_per
        fitted["observed"] = observed
        return replace(result, fitted=fitted, warnings=tuple(self.text(w) for w in result.warnings))

    def spc_note(self, indicator: Indicator) -> str | None:
        """What a suppressed view's SPC chart of a count indicator says about its limits, else None."""
        if not self.suppressed or indicator.kind not in COUNT_KINDS:
            return None
        return (f"Limits computed from counts rounded to the nearest {self.rule.round_to} for disclosure control; "
                "an evaluator's view may show different signals.")

    def spc_result(self, result: SPCResult, indicator: Indicator) -> SPCResult:
        """The XmR chart as this view draws it: one computed from suppressed counts carries ``spc_note``."""
        note = self.spc_note(indicator)
        return result if note is None else replace(result, disclosure_note=note)

    def observed(self, shown: pd.DataFrame, site_id: str, indicator_id: str) -> pd.Series:
        """Suppressed monthly totals of one series by period: the stored "all" row as suppressed, else the
        hidden or rounded sum of the groups (shown as the "all" series)."""
        rows = shown[(shown["site"] == site_id) & (shown["indicator"] == indicator_id)]
        totals = rows[(rows["breakdown"] == evaluate.ALL) & (rows["group"] == evaluate.ALL)]
        if len(totals):
            return totals.set_index("period")["value"]
        raw = evaluate.series_rows(shown.assign(value=shown["_raw"]), site_id, indicator_id)
        return raw.set_index("period")["value"].map(
            lambda v: float("nan") if pd.isna(v) or self.rule.hides(v) else self.rule.round(v))

    def site_series(self, series: pd.DataFrame, site_id: str, indicator: Indicator,
                    shown: pd.DataFrame | None = None) -> pd.DataFrame:
        """One site's monthly series of an indicator as the view draws it: period, value, denominator.

        Group totals come from ``evaluate.series_rows`` as on every page. In a suppressed view the counts are the
        observed points the pages draw (``observed``: rounded, or NaN when hidden) and denominators are rounded
        or hidden as ``suppress_series`` does; means and scores stay as they are. ``shown`` is the view's
        suppressed series when the caller already has it.
        """
        rows = evaluate.series_rows(series, site_id, indicator.id)
        if not self.suppressed or indicator.kind not in COUNT_KINDS or rows.empty:
            return rows
        if shown is None:
            shown = self.shown_series(series, (indicator,))
        observed = self.observed(shown, site_id, indicator.id)
        denominator = rows["denominator"].map(
            lambda d: float("nan") if pd.isna(d) or self.rule.hides(d) else self.rule.round(d))
        return rows.assign(value=rows["period"].map(observed).astype(float), denominator=denominator.astype(float))
