"""The row-wise implementation before vectorizing, kept as the oracle (issue 16).

A verbatim copy of ``site_scores``, ``round_change`` and ``sustainability_summary`` (with their helpers)
from mhin_eval/analysis/sustainability.py as they were before they were vectorized for 500 sites;
tests/unit/test_sustainability_vectorized.py checks the fast versions give the same results. Test-only:
never import this from mhin_eval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from mhin_eval.analysis.results import AnalysisError
from mhin_eval.analysis.sustainability import (
    CHANGE_COLUMNS,
    LOWEST_FLAGGED,
    SCORE_COLUMNS,
    TOTAL,
    TOTAL_LABEL,
    RoundChange,
    SiteSustainability,
    SustainabilityScores,
    SustainabilitySummary,
    methods_text,
)
from mhin_eval.catalogue import Instrument
from mhin_eval.wording import difference_phrase, fmt_number


def _check(rows: pd.DataFrame, instrument: Instrument, threshold: int, conf_level: float) -> pd.DataFrame:
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be between 0 and 1")
    if threshold < 0:
        raise ValueError("threshold must be 0 or more")
    missing = [c for c in ("site", "instrument", "assessment_date", "respondent", "item", "score") if c not in rows]
    if missing:
        raise ValueError(f"sustainability rows lack column(s) {', '.join(missing)}")
    rows = rows[rows["instrument"] == instrument.id]
    unknown = sorted(set(rows["item"]) - set(instrument.items))
    if unknown:
        raise ValueError(f"item(s) {', '.join(unknown[:5])} are not items of {instrument.short_name}")
    return rows


def respondent_scores(rows: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Each respondent's domain scores and total per site and round (long: site, assessment_date,
    respondent, domain, score, n_items), following the instrument's scoring rules."""
    rows = _check(rows, instrument, 0, 0.95)
    columns = ["site", "assessment_date", "respondent", "domain", "score", "n_items"]
    answered = rows[rows["score"].notna()].copy()
    if answered.empty:
        return pd.DataFrame(columns=columns)
    answered["assessment_date"] = pd.to_datetime(answered["assessment_date"])
    domain_of = {item: d.id for d in instrument.domains for item in d.items}
    answered["domain"] = answered["item"].map(domain_of)
    keys = ["site", "assessment_date", "respondent"]
    domains = (
        answered.groupby([*keys, "domain"], sort=False)["score"]
        .agg(score="mean", n_items="count")
        .reset_index()
    )
    if instrument.total_score == "mean-of-items":
        total = answered.groupby(keys, sort=False)["score"].agg(score="mean", n_items="count").reset_index()
    else:
        total = domains.groupby(keys, sort=False).agg(score=("score", "mean"), n_items=("n_items", "sum")).reset_index()
    total["domain"] = TOTAL
    out = pd.concat([domains, total[domains.columns]], ignore_index=True)
    return out[columns].sort_values(["site", "assessment_date", "respondent", "domain"], kind="stable").reset_index(
        drop=True
    )


def _order(instrument: Instrument) -> tuple[dict[str, int], dict[str, str]]:
    order = {d.id: n for n, d in enumerate(instrument.domains)}
    order[TOTAL] = len(instrument.domains)
    labels = {d.id: d.label for d in instrument.domains}
    labels[TOTAL] = TOTAL_LABEL
    return order, labels


def _mean_ci(values: np.ndarray, conf_level: float) -> tuple[float, float, float, float]:
    """(mean, sd, ci_low, ci_high): t-interval of a mean; no interval for fewer than 2 values."""
    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + conf_level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def site_scores(
    rows: pd.DataFrame, instrument: Instrument, *, threshold: int = 0, conf_level: float = 0.95,
    flag_lowest: int = LOWEST_FLAGGED,
) -> SustainabilityScores:
    """Mean domain and total scores per site and round with t-intervals across respondents.

    Groups with fewer than ``threshold`` respondents are suppressed (no mean, no interval). The
    ``flag_lowest`` lowest domain means of each round (ties included) are flagged ``lowest``.
    """
    rows = _check(rows, instrument, threshold, conf_level)
    scores = respondent_scores(rows, instrument)
    order, labels = _order(instrument)
    records, warnings = [], []
    for (site, date), part in scores.groupby(["site", "assessment_date"], sort=True):
        for domain in order:
            values = part.loc[part["domain"] == domain, "score"].to_numpy(dtype=float)
            n = len(values)
            suppressed = n < threshold or n == 0
            mean, sd, low, high = (math.nan,) * 4 if suppressed else _mean_ci(values, conf_level)
            records.append({"site": site, "assessment_date": date, "domain": domain, "label": labels[domain],
                            "order": order[domain], "n_respondents": n, "mean": mean, "sd": sd, "ci_low": low,
                            "ci_high": high, "suppressed": suppressed, "lowest": False})
    table = pd.DataFrame(records, columns=list(SCORE_COLUMNS))
    if not table.empty:
        table["assessment_date"] = pd.to_datetime(table["assessment_date"])
        ranked = table[(table["domain"] != TOTAL) & ~table["suppressed"]]
        rank = ranked.groupby(["site", "assessment_date"])["mean"].rank(method="min")
        table.loc[rank.index, "lowest"] = (rank <= flag_lowest).to_numpy()
        table["lowest"] = table["lowest"].astype(bool)
        table["suppressed"] = table["suppressed"].astype(bool)
    respondents = (
        scores[scores["domain"] == TOTAL].groupby(["site", "assessment_date"]).size().rename("n_respondents")
        .reset_index()
        if not scores.empty
        else pd.DataFrame(columns=["site", "assessment_date", "n_respondents"])
    )
    for r in respondents.itertuples():
        if r.n_respondents < threshold:
            warnings.append(
                f"{r.site}, round of {pd.Timestamp(r.assessment_date):%d %b %Y}: {r.n_respondents} respondent(s), "
                f"fewer than {threshold}; no scores are shown for this round."
            )
        elif r.n_respondents < 2:
            warnings.append(f"{r.site}, round of {pd.Timestamp(r.assessment_date):%d %b %Y}: one respondent, "
                            "so no confidence interval.")
    return SustainabilityScores(
        instrument=instrument.id, table=table, respondents=respondents, threshold=threshold,
        conf_level=conf_level, warnings=tuple(warnings), methods=methods_text(instrument, threshold, conf_level),
    )


def _paired(first: pd.Series, second: pd.Series, conf_level: float):
    diff = (second - first).to_numpy(dtype=float)
    n = len(diff)
    mean, sd, low, high = _mean_ci(diff, conf_level)
    if n < 2:
        return mean, low, high, math.nan
    if sd == 0:
        return mean, mean, mean, (1.0 if mean == 0 else 0.0)
    t = mean / (sd / math.sqrt(n))
    return mean, low, high, float(2 * stats.t.sf(abs(t), n - 1))


def _welch(first: np.ndarray, second: np.ndarray, conf_level: float):
    n1, n2 = len(first), len(second)
    diff = float(np.mean(second) - np.mean(first))
    if n1 < 2 or n2 < 2:
        return diff, math.nan, math.nan, math.nan
    v1, v2 = np.var(first, ddof=1) / n1, np.var(second, ddof=1) / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return diff, diff, diff, (1.0 if diff == 0 else 0.0)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(stats.t.ppf(0.5 + conf_level / 2, df)) * se
    return diff, diff - half, diff + half, float(2 * stats.t.sf(abs(diff / se), df))


def round_change(
    rows: pd.DataFrame, instrument: Instrument, site: str, first, second, *, threshold: int = 0,
    conf_level: float = 0.95,
) -> RoundChange:
    """Change of each domain and the total from round ``first`` to round ``second`` at one site.

    Paired (mean of each respondent's change, t-interval) when at least max(2, threshold) respondents
    have a total in both rounds; otherwise unpaired (Welch's t-interval). A domain is suppressed when
    fewer than ``threshold`` respondents enter its comparison (pairs, or either round when unpaired).
    """
    rows = _check(rows, instrument, threshold, conf_level)
    first, second = pd.Timestamp(first), pd.Timestamp(second)
    scores = respondent_scores(rows[rows["site"] == site], instrument)
    a = scores[scores["assessment_date"] == first]
    b = scores[scores["assessment_date"] == second]
    if a.empty or b.empty:
        raise AnalysisError(f"No answers at {site} in the round of {(first if a.empty else second):%d %b %Y}.")
    both = set(a.loc[a["domain"] == TOTAL, "respondent"]) & set(b.loc[b["domain"] == TOTAL, "respondent"])
    method = "paired" if len(both) >= max(2, threshold) else "unpaired"
    order, labels = _order(instrument)
    records = []
    for domain in order:
        x = a[a["domain"] == domain].set_index("respondent")["score"]
        y = b[b["domain"] == domain].set_index("respondent")["score"]
        common = sorted(set(x.index) & set(y.index) & both)
        if method == "paired":
            n_used = len(common)
            diff, low, high, p = _paired(x[common], y[common], conf_level) if common else (math.nan,) * 4
        else:
            n_used = min(len(x), len(y))
            diff, low, high, p = (
                _welch(x.to_numpy(float), y.to_numpy(float), conf_level) if n_used else (math.nan,) * 4
            )
        suppressed = n_used < max(threshold, 1)
        records.append({
            "domain": domain, "label": labels[domain], "order": order[domain], "method": method,
            "n_first": len(x), "n_second": len(y), "n_paired": len(common),
            "first_mean": math.nan if suppressed else float(x.mean()),
            "second_mean": math.nan if suppressed else float(y.mean()),
            "difference": math.nan if suppressed else diff, "ci_low": math.nan if suppressed else low,
            "ci_high": math.nan if suppressed else high, "p_value": math.nan if suppressed else p,
            "suppressed": suppressed,
        })
    table = pd.DataFrame(records, columns=list(CHANGE_COLUMNS))
    warnings = []
    if method == "unpaired":
        warnings.append(
            f"Only {len(both)} respondent(s) answered both rounds, so the rounds are compared as independent "
            "groups (Welch); a change may partly reflect who answered."
        )
    else:
        left_out = len(set(a["respondent"]) | set(b["respondent"])) - len(both)
        if left_out:
            warnings.append(f"{left_out} respondent(s) answered only one of the two rounds and are not in the "
                            "paired comparison.")
    if table["suppressed"].all():
        warnings.append(f"Fewer than {threshold} respondents in the comparison: no change is shown.")
    return RoundChange(
        instrument=instrument.id, site=site, first=first, second=second, method=method, table=table,
        conf_level=conf_level, warnings=tuple(warnings),
        methods=(
            f"Change from {first:%d %b %Y} to {second:%d %b %Y}: "
            + ("mean of each respondent's change with a paired t-interval (respondents who answered both rounds)."
               if method == "paired" else "difference of round means with Welch's unpaired t-interval.")
        ),
    )


def site_sentence(site_name: str, instrument: Instrument, scores: pd.DataFrame, n: int, latest: pd.Timestamp,
                  change: RoundChange | None, threshold: int) -> str:
    """'Hull, PSAT round of Mar 2024 (9 respondents): total 4.8 of 7 (95% CI ...); lowest: ...; change ...'."""
    head = f"{site_name}, {instrument.short_name} round of {latest:%b %Y} ({n} respondent{'s' if n != 1 else ''})"
    total = scores[scores["domain"] == TOTAL]
    if total.empty or bool(total["suppressed"].iloc[0]):
        return f"{head}: fewer than {threshold} respondents, so no scores are shown."
    t = total.iloc[0]
    text = f"{head}: total {fmt_number(t['mean'])} on the {instrument.scale_text} scale"
    if not pd.isna(t["ci_low"]):
        text += f" (95% CI {fmt_number(t['ci_low'])} to {fmt_number(t['ci_high'])})"
    lowest = scores[scores["lowest"]]
    if not lowest.empty:
        text += "; lowest: " + ", ".join(f"{r.label} {fmt_number(r.mean)}" for r in lowest.itertuples())
    est = change.estimate(TOTAL) if change is not None else None
    if est is not None:
        text += f"; since {change.first:%b %Y} the total {difference_phrase(est, 'points')} ({change_basis(change)})"
    return text + "."


def change_basis(change: RoundChange) -> str:
    """'paired, 8 respondents in both rounds' or 'unpaired, 6 and 9 respondents'."""
    total = change.table[change.table["domain"] == TOTAL].iloc[0]
    if change.method == "paired":
        return f"paired, {int(total['n_paired'])} respondents in both rounds"
    return f"unpaired, {int(total['n_first'])} and {int(total['n_second'])} respondents"


def sustainability_summary(
    rows: pd.DataFrame, instrument: Instrument, *, threshold: int = 0, site_names: dict[str, str] | None = None,
    conf_level: float = 0.95,
) -> SustainabilitySummary:
    """Each site's latest round of ``instrument`` (scores, lowest domains, change since the previous round)
    with a sentence per site; the one function pages and slide decks both call."""
    scores = site_scores(rows, instrument, threshold=threshold, conf_level=conf_level)  # checks every row once
    site_names = site_names or {}
    # Each site's change reads that site's rows only: passing every site's rows made the summary quadratic in
    # the number of sites (minutes at 500).
    rows_of = {site: group for site, group in rows.groupby("site", sort=False, observed=True)}
    sites = []
    for site in sorted(scores.respondents["site"].unique(), key=lambda s: site_names.get(s, s)):
        rounds = scores.rounds(site)
        latest = pd.Timestamp(rounds[-1])
        table = scores.round(site, latest)
        n = int(scores.respondents.set_index(["site", "assessment_date"]).loc[(site, latest), "n_respondents"])
        change = None
        if len(rounds) > 1:
            try:
                change = round_change(rows_of[site], instrument, site, rounds[-2], latest, threshold=threshold,
                                      conf_level=conf_level)
            except AnalysisError:
                change = None
        suppressed = bool(table.loc[table["domain"] == TOTAL, "suppressed"].all())
        sites.append(SiteSustainability(
            site=site, latest=latest, n_respondents=n, scores=table, change=change,
            lowest=tuple(table.loc[table["lowest"], "label"]),
            sentence=site_sentence(site_names.get(site, site), instrument, table, n, latest, change, threshold),
            suppressed=suppressed,
        ))
    return SustainabilitySummary(instrument=instrument.id, instrument_name=instrument.name, scores=scores,
                                 sites=tuple(sites), methods=scores.methods)
