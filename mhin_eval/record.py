"""Results of record: each site's main result for each indicator, computed once per data version and view,
described once (estimate, CI, n with its unit, method, period, warnings, sentence) and read by every page,
slide, table and CLI output, so that no two surfaces can show the same effect differently.

The headline of an interrupted time series is the **average effect over the first H months after go-live**
(H = the catalogue's ``horizon_months``): observed (fitted) against the counterfactual, as a ratio of the
summed months for counts and a mean difference for continuous outcomes (``ITSResult.average_effect``).
It is what a room asks ("what did the intervention do in its first year?"), it uses every post month
rather than one extrapolated point, and for a site with comparison series it is the controlled contrast.
Pooling across sites pools the same quantity (:func:`pool`). Before/after measures report the paired mean
difference, or the rate ratio of per-person counts.

A record belongs to a view: ``"full"`` (the evaluation team's) or ``"suppressed"`` (leads, partner sites),
which differ only in how counts of people appear in the text (mhin_eval.access.shown). Records are kept in
the store per data version (:meth:`mhin_eval.store.Store.recorded_results`), computed on first read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import pandas as pd

from mhin_eval.access.shown import Counts
from mhin_eval.analysis import pooling
from mhin_eval.analysis.its import ITSResult
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.catalogue import Catalogue, Indicator, Site
from mhin_eval.wording import direction, finding_sentence

VIEWS = ("full", "suppressed")
RECORD_FORMAT = 2  # raise when the stored form of a record changes, so older stored records are recomputed


@dataclass(frozen=True)
class ResultOfRecord:
    """One site's main result for one indicator, in numbers and in words, as one view shows it.

    ``n`` is the analysis's own number: months of the treated series (ITS) or people with both
    measurements (before/after); it is None where a suppressed view hides a count of people, and
    ``n_text`` is how every surface prints it. ``n_comparison`` counts the comparison series' months,
    reported separately and never added to ``n``.
    """

    project: str
    site: str
    site_name: str
    indicator: str
    label: str
    source: str
    method_name: str
    method: str
    quantity: str
    context: str
    estimate: Estimate | None
    n: int | None
    n_unit: str
    n_text: str
    n_detail: str
    n_comparison: int
    period: str
    sentence: str
    direction: str
    warnings: tuple[str, ...]
    data_version: int
    view: str

    def row(self) -> dict:
        """The record as one row of a results table (the columns of ``TIDY_COLUMNS``)."""
        est = self.estimate
        return {
            "project": self.project, "site": self.site, "site_name": self.site_name, "indicator": self.indicator,
            "label": self.label, "method_name": self.method_name, "quantity": self.quantity,
            "estimate": None if est is None else est.estimate,
            "ci_low": None if est is None else est.ci_low,
            "ci_high": None if est is None else est.ci_high,
            "p_value": None if est is None else est.p_value,
            "scale": "" if est is None else est.scale,
            "conf_level": None if est is None else est.conf_level,
            "n": self.n, "n_unit": self.n_unit, "n_comparison": self.n_comparison, "period": self.period,
            "method": self.method, "direction": self.direction, "sentence": self.sentence,
            "warnings": " ".join(self.warnings), "data_version": self.data_version, "view": self.view,
        }

    def tidy(self) -> pd.DataFrame:
        """The record as a one-row tidy frame."""
        return tidy([self])

    def to_json(self) -> dict:
        payload = asdict(self)
        payload["estimate"] = None if self.estimate is None else asdict(self.estimate)
        payload["warnings"] = list(self.warnings)
        return payload

    @classmethod
    def from_json(cls, payload: dict) -> ResultOfRecord:
        est = payload.get("estimate")
        return cls(**{**payload, "estimate": None if est is None else Estimate(**est),
                      "warnings": tuple(payload["warnings"])})


TIDY_COLUMNS = ("project", "site", "site_name", "indicator", "label", "method_name", "quantity", "estimate", "ci_low",
                "ci_high", "p_value", "scale", "conf_level", "n", "n_unit", "n_comparison", "period", "method", "direction",
                "sentence", "warnings", "data_version", "view")


def tidy(records: Iterable[ResultOfRecord]) -> pd.DataFrame:
    """Records as one tidy frame, a row each in the order given (pingouin-style: every table and CLI output
    is built from it)."""
    return pd.DataFrame([r.row() for r in records], columns=list(TIDY_COLUMNS))


# ------------------------------------------------------------------------------------------------ describe

def _its_span(result: ITSResult) -> tuple[str, str]:
    months = result.options.horizon
    span = "the first month" if months == 1 else f"the first {months} months"
    against = ("the expected trend and the comparison series" if result.difference_in_level_change is not None
               else "the expected trend")
    return span, against


def its_quantity(result: ITSResult) -> str:
    """What the ITS headline number is: "average change over the first 12 months after go-live against …"."""
    span, against = _its_span(result)
    return f"average change over {span} after go-live against {against}"


def its_context(result: ITSResult) -> str:
    """The words after the change in an ITS sentence: "on average over the first 12 months after go-live, …"."""
    span, against = _its_span(result)
    return f"on average over {span} after go-live, compared with {against}"


PREPOST_CONTEXT = "between baseline and follow-up"


def describe_its(result: ITSResult, site: Site, indicator: Indicator) -> tuple[Estimate | None, str]:
    """The ITS headline (the average effect over the first H months) and its sentence."""
    est = result.average_effect
    if est is None:
        return None, f"No estimate for {indicator.label} at {site.name}: " + " ".join(result.warnings)
    return est, finding_sentence(f"{indicator.label} at {site.name}", est, its_context(result), indicator.unit)


def describe_prepost(result, site: Site, indicator: Indicator, n_text: str | None = None) -> tuple[Estimate | None, str]:
    """Before/after headline in one sentence: rate ratio for per-person counts, mean difference otherwise.

    ``n_text`` stands in for the number of pairs (a suppressed view's ``*`` or rounded count).
    """
    est = getattr(result, "rate_ratio", None) or getattr(result, "mean_difference", None)
    if est is None:
        return None, f"No estimate for {indicator.label} at {site.name}: " + " ".join(result.warnings)
    n_text = n_text if n_text is not None else f"{result.n_pairs:,}"
    return est, finding_sentence(
        f"{indicator.label} at {site.name}", est,
        f"{PREPOST_CONTEXT} ({n_text} people with both measurements)", indicator.unit,
    )


ITS_FAMILY_NAMES = {
    "gaussian": "linear regression",
    "poisson": "Poisson regression",
    "quasipoisson": "quasi-Poisson regression",
    "negbin": "negative binomial regression",
}


def its_method_name(result: ITSResult) -> str:
    """The ITS model in a few words, for tables: "Controlled interrupted time series (quasi-Poisson)"."""
    family = ITS_FAMILY_NAMES.get(result.family, result.family).removesuffix(" regression")
    kind = "Controlled interrupted time series" if result.n_comparison else "Interrupted time series"
    return f"{kind} ({family})"


def its_method(result: ITSResult) -> str:
    """The ITS model in one line: family, standard errors, seasonality and what the headline compares."""
    options = result.options
    parts = [f"Interrupted time series, segmented {ITS_FAMILY_NAMES.get(result.family, result.family)}"]
    if options.standard_errors == "ar1":
        parts.append("AR(1)-corrected standard errors")
    elif options.standard_errors == "prais-winsten":
        parts.append("Prais–Winsten (AR(1)) errors")
    elif options.standard_errors == "newey-west":
        parts.append(f"Newey–West standard errors (lag {options.hac_lags})")
    if options.harmonics:
        parts.append(f"seasonality by {options.harmonics} Fourier pair{'s' if options.harmonics != 1 else ''}")
    if result.difference_in_level_change is not None:
        parts.append("against comparison series")
    what = "ratio of observed to expected" if result.scale == "ratio" else "mean difference from expected"
    return ", ".join(parts) + f"; headline: {what}, {its_quantity(result)}; {options.conf_level:.0%} CI."


def prepost_method(result) -> str:
    """The before/after analysis in one line."""
    if getattr(result, "rate_ratio", None) is not None:
        return ("Before and after: events per person in the 6 months before and after, rate ratio of the totals "
                "with a 95% CI; people with both periods only.")
    return ("Before and after: paired mean difference (follow-up minus baseline) with a t-based 95% CI; "
            "people with both measurements only.")


def its_n_detail(result: ITSResult, series_name: str = "the treated series") -> str:
    """n of an ITS in words: the treated series' own months, and the comparison months apart from them."""
    months = result.n_pre + result.n_post
    detail = f"{months} months of {series_name} ({result.n_pre} before and {result.n_post} after go-live)"
    if result.n_comparison:
        detail += f"; {result.n_comparison} months of comparison series, counted separately"
    return detail


def _its_record(result: ITSResult, site: Site, indicator: Indicator, counts: Counts, version: int,
                view: str) -> ResultOfRecord:
    est, sentence = describe_its(result, site, indicator)
    months = result.n_pre + result.n_post
    periods = pd.to_datetime(result.treated_fitted.get("period", pd.Series(dtype="datetime64[ns]")))
    return ResultOfRecord(
        project=indicator.project, site=site.id, site_name=site.name, indicator=indicator.id, label=indicator.label,
        source="series", method_name=its_method_name(result), method=its_method(result),
        quantity=its_quantity(result), context=its_context(result),
        estimate=est, n=months, n_unit="months", n_text=f"{months} months", n_detail=its_n_detail(result, site.name),
        n_comparison=int(result.n_comparison),
        period=f"{periods.min():%b %Y} – {periods.max():%b %Y}" if len(periods) else "",
        sentence=counts.text(sentence), direction=direction(est, indicator.better),
        warnings=tuple(counts.text(w) for w in result.warnings), data_version=version, view=view,
    )


def _prepost_record(result, site: Site, indicator: Indicator, counts: Counts, version: int,
                    view: str) -> ResultOfRecord:
    people = counts.n(result.n_pairs)
    est, sentence = describe_prepost(result, site, indicator, n_text=people)
    rate = indicator.default_model == "rate-ratio"
    detail = f"{people} people with both measurements"
    if result.n_missing_followup:
        detail += f"; {counts.n(result.n_missing_followup)} without follow-up"
    return ResultOfRecord(
        project=indicator.project, site=site.id, site_name=site.name, indicator=indicator.id, label=indicator.label,
        source="participant", method_name="Rate ratio, before vs after" if rate else "Paired mean difference",
        method=prepost_method(result),
        quantity="rate ratio, 6 months after vs 6 months before" if rate else "mean change from baseline to follow-up",
        context=PREPOST_CONTEXT,
        estimate=est, n=None if counts.suppressed else int(result.n_pairs), n_unit="people with both measurements",
        n_text=f"{people} people", n_detail=detail, n_comparison=0,
        period="6 months before vs 6 months after" if rate else "baseline vs follow-up",
        sentence=counts.text(sentence), direction=direction(est, indicator.better),
        warnings=tuple(counts.text(w) for w in result.warnings), data_version=version, view=view,
    )


def _no_record(reason: str, site: Site, indicator: Indicator, counts: Counts, version: int,
               view: str) -> ResultOfRecord:
    text = counts.text(reason)
    return ResultOfRecord(
        project=indicator.project, site=site.id, site_name=site.name, indicator=indicator.id, label=indicator.label,
        source=indicator.source, method_name="", method="", quantity="", context="", estimate=None, n=None, n_unit="", n_text="", n_detail="",
        n_comparison=0, period="", sentence=text, direction="no estimate", warnings=(text,), data_version=version,
        view=view,
    )


def describe(result, site: Site, indicator: Indicator, counts: Counts, version: int) -> ResultOfRecord:
    """The record of one analysis result (or of the AnalysisError that stopped it) as ``counts`` shows it."""
    view = "suppressed" if counts.suppressed else "full"
    if isinstance(result, AnalysisError):
        return _no_record(str(result), site, indicator, counts, version, view)
    if isinstance(result, ITSResult):
        return _its_record(result, site, indicator, counts, version, view)
    return _prepost_record(result, site, indicator, counts, version, view)


def results_of_record(store, catalogue: Catalogue, project: str, counts: Counts,
                      sites: Iterable[str] | None = None) -> tuple[ResultOfRecord, ...]:
    """The project's records for the store's current data version and this view, read from the store, or
    computed from all of the project's rows and stored when this version has none yet (normally done after
    each ingest by mhin_eval.recompute, which also reuses the records of unchanged series).

    ``sites`` keeps the records of those sites only (a user's scope); the records themselves never depend on
    who asks, so every user sees the same number for the same site.
    """
    view = "suppressed" if counts.suppressed else "full"
    version = store.version()
    payload = store.recorded_results(version, view, project, RECORD_FORMAT)
    if payload is None:
        from mhin_eval import recompute

        records = recompute.refresh_project(store, catalogue, project, views=(view,), workers=1)[view]
    else:
        records = tuple(ResultOfRecord.from_json(r) for r in json.loads(payload))
    if sites is not None:
        wanted = set(sites)
        records = tuple(r for r in records if r.site in wanted)
    return records


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a result of record")


def filter_records(records: Iterable[ResultOfRecord], catalogue: Catalogue, *, regions: Iterable[str] = (),
                   indicators: Iterable[str] = (), directions: Iterable[str] = ()) -> tuple[ResultOfRecord, ...]:
    """The records of sites in ``regions``, for indicators labelled as in ``indicators`` and with a direction
    of effect in ``directions`` ("improvement", …); an empty filter keeps everything."""
    regions, indicators, directions = set(regions), set(indicators), set(directions)
    region_of = {s.id: s.region for s in catalogue.sites} if regions else {}
    return tuple(r for r in records
                 if (not regions or region_of.get(r.site) in regions)
                 and (not indicators or r.label in indicators)
                 and (not directions or r.direction in directions))


def find(records: Iterable[ResultOfRecord], site: str, indicator: str) -> ResultOfRecord | None:
    return next((r for r in records if r.site == site and r.indicator == indicator), None)


# ------------------------------------------------------------------------------------------------ pooling

def pool(records: Iterable[ResultOfRecord], indicator: Indicator, method: str = "DL") -> pooling.PoolingResult:
    """Random-effects pooling (or fixed effect, ``method="FE"``) of the sites' headline estimates.

    Pools exactly the number each site's headline shows (weights from its standard error on the model
    scale); each site's row keeps its own analysis's estimate and interval, so the forest plot and pooled
    table repeat the headline. Raises AnalysisError when fewer than two sites have an estimate.
    """
    own = [r for r in records if r.indicator == indicator.id and r.estimate is not None and r.estimate.se is not None]
    pooled = pooling.pool([pooling.from_estimate(r.site_name, r.estimate) for r in own], method=method)
    sites = pooled.sites.copy()
    for column in ("estimate", "ci_low", "ci_high"):
        sites[column] = [getattr(r.estimate, column) for r in own]
    quantity = next((r.quantity for r in own), "")
    methods = pooled.methods + (f" Pooled: each site's {quantity} (its headline result); each site's interval is "
                                "its own analysis's, and the weights come from its standard error.")
    return replace(pooled, sites=sites, methods=methods)


_CONTROLLED = " and the comparison series"


def _common(texts: list[str]) -> str:
    """One wording for several sites: theirs when they agree, else the uncontrolled wording noting the
    comparison series that some sites have."""
    texts = list(dict.fromkeys(t for t in texts if t))
    if len(texts) <= 1:
        return texts[0] if texts else ""
    plain = list(dict.fromkeys(t.replace(_CONTROLLED, "") for t in texts))
    return plain[0] + " (and the comparison series where a site has them)" if len(plain) == 1 else "; ".join(texts)


def pooled_quantity(records: Iterable[ResultOfRecord], indicator: Indicator) -> str:
    """What a forest plot of this indicator pools, in words ("average change over the first 12 months …")."""
    return _common([r.quantity for r in records if r.indicator == indicator.id and r.estimate is not None])


def pooled_context(records: Iterable[ResultOfRecord], indicator: Indicator) -> str:
    """The words after the change in the pooled sentence, as in the sites' own sentences."""
    return _common([r.context for r in records if r.indicator == indicator.id and r.estimate is not None])
