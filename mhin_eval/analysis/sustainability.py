"""Sustainability self-assessments (PSAT, CSAT or any catalogue instrument): domain and total scores
per site and round with confidence intervals across respondents, change between rounds, the domains
to act on first, and small-group suppression.

Scoring follows the instrument's catalogue entry. A respondent's domain score is the mean of the
domain's items they answered (Luke et al. 2014, Prev Chronic Dis 11:130184; Malone et al. 2021,
Implement Sci Commun 2:77); their total is the mean of their domain scores ("mean-of-domains") or
of all the items they answered ("mean-of-items"). Unanswered items are left out, never counted as 0.
So changing one item by d moves that respondent's domain score by d/k (k = items they answered in the
domain) and, with "mean-of-domains", their total by d/(k*D) (D = domains they have a score for); a
site's domain mean and total move by those amounts divided by its number of respondents.

A site's score in a round (one ``assessment_date``) is the mean of its respondents' scores with a
t-interval across respondents: the respondent is the unit, so the interval reflects how far the
staff and partners who answered agree. Change between two rounds is a paired t-interval on the
respondents who answered both rounds when at least two did (and at least the disclosure threshold);
otherwise Welch's unpaired interval on everyone who answered either round.

A group of fewer respondents than the disclosure threshold gets no score: its mean and interval are
missing and ``suppressed`` is True, so no single respondent's ratings can be read off a chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mhin_eval.analysis.group_moments import group_moments
from mhin_eval.analysis.results import AnalysisError, Estimate
from mhin_eval.catalogue import Instrument
from mhin_eval.wording import difference_phrase, fmt_number

TOTAL = "total"
TOTAL_LABEL = "Total score"
#: How many of the lowest-scoring domains of a round are flagged as where to act first.
LOWEST_FLAGGED = 2

SCORE_COLUMNS = (
    "site", "assessment_date", "domain", "label", "order", "n_respondents", "mean", "sd", "ci_low", "ci_high",
    "suppressed", "lowest",
)  # fmt: skip
CHANGE_COLUMNS = (
    "domain", "label", "order", "method", "n_first", "n_second", "n_paired", "first_mean", "second_mean",
    "difference", "ci_low", "ci_high", "p_value", "suppressed",
)  # fmt: skip


@dataclass(frozen=True)
class SustainabilityScores:
    """Domain and total scores per site and round (``table``, columns SCORE_COLUMNS), with the number
    of respondents per round (``respondents``: site, assessment_date, n_respondents)."""

    instrument: str
    table: pd.DataFrame
    respondents: pd.DataFrame
    threshold: int
    conf_level: float
    warnings: tuple[str, ...] = ()
    methods: str = ""

    def round(self, site: str, assessment_date) -> pd.DataFrame:
        """One site's rows for one round, domains in instrument order, total last."""
        t = self.table
        rows = t[(t["site"] == site) & (t["assessment_date"] == pd.Timestamp(assessment_date))]
        return rows.sort_values("order").reset_index(drop=True)

    def rounds(self, site: str) -> list[pd.Timestamp]:
        return sorted(self.respondents.loc[self.respondents["site"] == site, "assessment_date"].unique())

    @property
    def suppressed_rounds(self) -> pd.DataFrame:
        """Rounds answered by fewer respondents than the threshold (site, assessment_date, n_respondents)."""
        return self.respondents[self.respondents["n_respondents"] < self.threshold].reset_index(drop=True)

    def lowest(self, site: str, assessment_date) -> list[str]:
        """Labels of the domains flagged as lowest in that round (where to act first)."""
        rows = self.round(site, assessment_date)
        return list(rows.loc[rows["lowest"], "label"])


@dataclass(frozen=True)
class RoundChange:
    """Change of every domain and the total between two rounds at one site (``table``: CHANGE_COLUMNS).

    ``method`` is "paired" (respondents who answered both rounds) or "unpaired" (Welch)."""

    instrument: str
    site: str
    first: pd.Timestamp
    second: pd.Timestamp
    method: str
    table: pd.DataFrame
    conf_level: float
    warnings: tuple[str, ...] = ()
    methods: str = ""

    def estimate(self, domain: str = TOTAL) -> Estimate | None:
        """The change of one domain (or the total) as an Estimate in scale points, None when suppressed."""
        r = _domain_row(self.table, domain, "suppressed", "difference", "ci_low", "ci_high", "p_value")
        if r is None or bool(r["suppressed"]) or pd.isna(r["ci_low"]):
            return None
        p = None if pd.isna(r["p_value"]) else float(r["p_value"])
        return Estimate(float(r["difference"]), float(r["ci_low"]), float(r["ci_high"]), p, "difference",
                        self.conf_level)


def _domain_row(table: pd.DataFrame, domain: str, *columns: str) -> dict | None:
    """Those columns of the first row of ``table`` for ``domain``, None when it has none. Plain arrays rather
    than a boolean filter of the frame: the summary reads rows like this several times per site."""
    at = np.flatnonzero(table["domain"].to_numpy(dtype=object) == domain)
    return {c: table[c].to_numpy()[at[0]] for c in columns} if len(at) else None


def _check(rows: pd.DataFrame, instrument: Instrument, threshold: int, conf_level: float) -> pd.DataFrame:
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be between 0 and 1")
    if threshold < 0:
        raise ValueError("threshold must be 0 or more")
    missing = [c for c in ("site", "instrument", "assessment_date", "respondent", "item", "score") if c not in rows]
    if missing:
        raise ValueError(f"sustainability rows lack column(s) {', '.join(missing)}")
    rows = rows[rows["instrument"] == instrument.id]
    unknown = sorted(set(rows["item"].unique()) - set(instrument.items))
    if unknown:
        raise ValueError(f"item(s) {', '.join(unknown[:5])} are not items of {instrument.short_name}")
    return rows


def respondent_scores(rows: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Each respondent's domain scores and total per site and round (long: site, assessment_date,
    respondent, domain, score, n_items), following the instrument's scoring rules."""
    return _respondent_scores(_check(rows, instrument, 0, 0.95), instrument)


def _respondent_scores(rows: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """respondent_scores of rows already checked and narrowed to the instrument."""
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


def _t_quantile(conf_level: float, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return stats.t.ppf(0.5 + conf_level / 2, df)


def _by_group(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, mean, variance) of ``values`` per group code 0..n_groups-1, values kept in their given order."""
    at = np.argsort(groups, kind="stable")
    n = np.bincount(groups, minlength=n_groups)
    mean, var = group_moments(values[at], n)
    return n, mean, var


def site_scores(
    rows: pd.DataFrame, instrument: Instrument, *, threshold: int = 0, conf_level: float = 0.95,
    flag_lowest: int = LOWEST_FLAGGED,
) -> SustainabilityScores:
    """Mean domain and total scores per site and round with t-intervals across respondents.

    Groups with fewer than ``threshold`` respondents are suppressed (no mean, no interval). The
    ``flag_lowest`` lowest domain means of each round (ties included) are flagged ``lowest``.
    """
    rows = _check(rows, instrument, threshold, conf_level)
    return _site_scores(_respondent_scores(rows, instrument), instrument, threshold, conf_level, flag_lowest)


def _site_scores(scores: pd.DataFrame, instrument: Instrument, threshold: int, conf_level: float,
                 flag_lowest: int) -> SustainabilityScores:
    """site_scores from respondent scores: every domain of every (site, round) at once (issue 16)."""
    order, labels = _order(instrument)
    domains = list(order)
    if scores.empty:
        table = pd.DataFrame([], columns=list(SCORE_COLUMNS))
        respondents = pd.DataFrame(columns=["site", "assessment_date", "n_respondents"])
    else:
        grouped = scores.groupby(["site", "assessment_date"], sort=True)
        keys = grouped.size().index
        code = grouped.ngroup().to_numpy() * len(domains) + scores["domain"].map(order).to_numpy()
        n, mean, var = _by_group(scores["score"].to_numpy(dtype=float), code, len(keys) * len(domains))
        suppressed = (n < threshold) | (n == 0)
        sd = np.sqrt(var)
        half = _t_quantile(conf_level, np.where(n >= 2, n - 1, np.nan)) * sd / np.sqrt(n)
        shown = ~suppressed & (n >= 2)
        table = pd.DataFrame({
            "site": keys.get_level_values(0).repeat(len(domains)),
            "assessment_date": pd.to_datetime(keys.get_level_values(1).repeat(len(domains))),
            "domain": np.tile(np.array(domains, dtype=object), len(keys)),
            "label": np.tile(np.array([labels[d] for d in domains], dtype=object), len(keys)),
            "order": np.tile(np.arange(len(domains), dtype=np.int64), len(keys)),
            "n_respondents": n.astype(np.int64), "mean": np.where(suppressed, np.nan, mean),
            "sd": np.where(shown, sd, np.nan), "ci_low": np.where(shown, mean - half, np.nan),
            "ci_high": np.where(shown, mean + half, np.nan), "suppressed": suppressed, "lowest": False,
        })
        ranked = table[(table["domain"] != TOTAL) & ~table["suppressed"]]
        rank = ranked.groupby(["site", "assessment_date"])["mean"].rank(method="min")
        table.loc[rank.index, "lowest"] = (rank <= flag_lowest).to_numpy()
        table["lowest"] = table["lowest"].astype(bool)
        respondents = (
            scores[scores["domain"] == TOTAL].groupby(["site", "assessment_date"]).size().rename("n_respondents")
            .reset_index()
        )
    warnings = []
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
    scores = _respondent_scores(rows[rows["site"] == site], instrument)
    for day in (first, second):
        if not (scores["assessment_date"] == day).any():
            raise AnalysisError(f"No answers at {site} in the round of {day:%d %b %Y}.")
    pairs = pd.DataFrame({"site": [site], "first": [first], "second": [second]})
    return _changes(scores, pairs, instrument, threshold, conf_level)[site]


def _changes(scores: pd.DataFrame, pairs: pd.DataFrame, instrument: Instrument, threshold: int,
             conf_level: float) -> dict[str, RoundChange]:
    """round_change of many sites at once: ``pairs`` (site, first, second), one row per site, each round
    answered (issue 16). The t-intervals: Student (1908) paired, Welch (1947) Biometrika 34:28 unpaired."""
    order, labels = _order(instrument)
    n_domains, n_pairs = len(order), len(pairs)
    n_groups = n_pairs * n_domains
    people, respondent = pd.factorize(scores["respondent"], sort=True, use_na_sentinel=False)
    n_people = max(len(respondent), 1)
    pair = scores["site"].map(pd.Series(np.arange(n_pairs), index=pairs["site"].to_numpy()))
    known = pair.notna().to_numpy()
    pair = np.where(known, pair.fillna(0).to_numpy(), 0).astype(np.int64)
    dates = scores["assessment_date"].to_numpy()
    domain = scores["domain"].map(order).to_numpy()
    value = scores["score"].to_numpy(dtype=float)
    is_total = scores["domain"].to_numpy() == TOTAL
    side = []
    for column in ("first", "second"):
        at = np.flatnonzero(known & (dates == pd.to_datetime(pairs[column]).to_numpy()[pair]))
        group = pair[at] * n_domains + domain[at]
        side.append({"at": at, "group": group, "key": group * n_people + people[at],
                     "who": pair[at] * n_people + people[at], "total": is_total[at],
                     "moments": _by_group(value[at], group, n_groups)})
    a, b = side
    both = np.intersect1d(a["who"][a["total"]], b["who"][b["total"]])
    n_both = np.bincount(both // n_people, minlength=n_pairs)
    paired = n_both >= max(2, threshold)
    everyone = np.bincount(np.union1d(a["who"], b["who"]) // n_people, minlength=n_pairs)

    key, ia, ib = np.intersect1d(a["key"], b["key"], assume_unique=True, return_indices=True)
    keep = np.isin((key // n_people // n_domains) * n_people + key % n_people, both)
    n_paired, d_mean, d_var = _by_group(value[b["at"][ib[keep]]] - value[a["at"][ia[keep]]], key[keep] // n_people,
                                        n_groups)
    d_sd = np.sqrt(d_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        d_half = _t_quantile(conf_level, np.where(n_paired >= 2, n_paired - 1, np.nan)) * d_sd / np.sqrt(n_paired)
        d_p = 2 * stats.t.sf(np.abs(d_mean / (d_sd / np.sqrt(n_paired))), np.maximum(n_paired - 1, 1))
    d_flat = d_sd == 0
    d_low = np.where(d_flat, d_mean, d_mean - d_half)
    d_high = np.where(d_flat, d_mean, d_mean + d_half)
    d_p = np.where(n_paired < 2, np.nan, np.where(d_flat, np.where(d_mean == 0, 1.0, 0.0), d_p))

    (n1, m1, var1), (n2, m2, var2) = a["moments"], b["moments"]
    diff = m2 - m1
    with np.errstate(divide="ignore", invalid="ignore"):
        v1, v2 = var1 / n1, var2 / n2
        se = np.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        w_half = _t_quantile(conf_level, df) * se
        w_p = 2 * stats.t.sf(np.abs(diff / se), df)
    w_flat = se == 0
    w_low = np.where(w_flat, diff, diff - w_half)
    w_high = np.where(w_flat, diff, diff + w_half)
    w_p = np.where(w_flat, np.where(diff == 0, 1.0, 0.0), w_p)
    w_none = (n1 < 2) | (n2 < 2)
    w_low, w_high, w_p = (np.where(w_none, np.nan, x) for x in (w_low, w_high, w_p))

    by_pair = np.repeat(paired, n_domains)
    n_used = np.where(by_pair, n_paired, np.minimum(n1, n2))
    hidden = n_used < max(threshold, 1)

    def pick(when_paired, when_unpaired):
        return np.where(hidden | (n_used == 0), np.nan, np.where(by_pair, when_paired, when_unpaired))

    method = np.where(paired, "paired", "unpaired").astype(object)
    table = pd.DataFrame({
        "domain": np.tile(np.array(list(order), dtype=object), n_pairs),
        "label": np.tile(np.array([labels[d] for d in order], dtype=object), n_pairs),
        "order": np.tile(np.arange(n_domains, dtype=np.int64), n_pairs), "method": np.repeat(method, n_domains),
        "n_first": n1, "n_second": n2, "n_paired": n_paired,
        "first_mean": np.where(hidden, np.nan, m1), "second_mean": np.where(hidden, np.nan, m2),
        "difference": pick(d_mean, diff), "ci_low": pick(d_low, w_low), "ci_high": pick(d_high, w_high),
        "p_value": pick(d_p, w_p), "suppressed": hidden,
    }, columns=list(CHANGE_COLUMNS))
    all_hidden = hidden.reshape(n_pairs, n_domains).all(axis=1)
    out = {}
    for k, (site, first, second) in enumerate(pairs[["site", "first", "second"]].itertuples(index=False)):
        first, second = pd.Timestamp(first), pd.Timestamp(second)
        warnings = []
        if not paired[k]:
            warnings.append(
                f"Only {n_both[k]} respondent(s) answered both rounds, so the rounds are compared as independent "
                "groups (Welch); a change may partly reflect who answered."
            )
        elif everyone[k] - n_both[k]:
            warnings.append(f"{everyone[k] - n_both[k]} respondent(s) answered only one of the two rounds and are "
                            "not in the paired comparison.")
        if all_hidden[k]:
            warnings.append(f"Fewer than {threshold} respondents in the comparison: no change is shown.")
        out[site] = RoundChange(
            instrument=instrument.id, site=site, first=first, second=second, method=method[k],
            table=table.iloc[k * n_domains:(k + 1) * n_domains].reset_index(drop=True), conf_level=conf_level,
            warnings=tuple(warnings),
            methods=(
                f"Change from {first:%d %b %Y} to {second:%d %b %Y}: "
                + ("mean of each respondent's change with a paired t-interval (respondents who answered both "
                   "rounds)." if paired[k] else "difference of round means with Welch's unpaired t-interval.")
            ),
        )
    return out


def methods_text(instrument: Instrument, threshold: int, conf_level: float) -> str:
    """The scoring and interval methods in one paragraph, for the page and the slides."""
    total = ("the mean of their domain scores" if instrument.total_score == "mean-of-domains"
             else "the mean of all the items they answered")
    return (
        f"{instrument.name} ({instrument.short_name}), items scored {instrument.scale_text}. A respondent's domain "
        f"score is the mean of the domain's items they answered, and their total is {total}. A site's score in a "
        f"round is the mean across its respondents with a {conf_level:.0%} t-interval; groups of fewer than "
        f"{threshold} respondents are not shown. The {LOWEST_FLAGGED} lowest-scoring domains of a round are "
        f"flagged as where to act first. Source: {instrument.citation}"
    )


# --------------------------------------------------------------------------- summary for pages and slides


@dataclass(frozen=True)
class SiteSustainability:
    """One site's latest round in words, with its scores and the change since the round before."""

    site: str
    latest: pd.Timestamp
    n_respondents: int
    scores: pd.DataFrame
    change: RoundChange | None
    lowest: tuple[str, ...]
    sentence: str
    suppressed: bool


@dataclass(frozen=True)
class SustainabilitySummary:
    """Every site's latest round of one instrument (for the sustainability slide and overview tables)."""

    instrument: str
    instrument_name: str
    scores: SustainabilityScores
    sites: tuple[SiteSustainability, ...] = field(default_factory=tuple)
    methods: str = ""

    def table(self) -> pd.DataFrame:
        """Site x domain means of the latest rounds (missing when suppressed), for a slide table."""
        records = []
        for s in self.sites:
            row = {"site": s.site, "round": s.latest, "respondents": s.n_respondents}
            for r in s.scores.itertuples():
                row[r.label] = None if r.suppressed else round(float(r.mean), 1)
            records.append(row)
        return pd.DataFrame(records)


def site_sentence(site_name: str, instrument: Instrument, scores: pd.DataFrame, n: int, latest: pd.Timestamp,
                  change: RoundChange | None, threshold: int) -> str:
    """'Hull, PSAT round of Mar 2024 (9 respondents): total 4.8 of 7 (95% CI ...); lowest: ...; change ...'."""
    head = f"{site_name}, {instrument.short_name} round of {latest:%b %Y} ({n} respondent{'s' if n != 1 else ''})"
    t = _domain_row(scores, TOTAL, "suppressed", "mean", "ci_low", "ci_high")
    if t is None or bool(t["suppressed"]):
        return f"{head}: fewer than {threshold} respondents, so no scores are shown."
    text = f"{head}: total {fmt_number(t['mean'])} on the {instrument.scale_text} scale"
    if not pd.isna(t["ci_low"]):
        text += f" (95% CI {fmt_number(t['ci_low'])} to {fmt_number(t['ci_high'])})"
    lowest = scores["lowest"].to_numpy(dtype=bool)
    if lowest.any():
        text += "; lowest: " + ", ".join(
            f"{label} {fmt_number(mean)}"
            for label, mean in zip(scores["label"].to_numpy(dtype=object)[lowest], scores["mean"].to_numpy()[lowest],
                                   strict=True)
        )
    est = change.estimate(TOTAL) if change is not None else None
    if est is not None:
        text += f"; since {change.first:%b %Y} the total {difference_phrase(est, 'points')} ({change_basis(change)})"
    return text + "."


def change_basis(change: RoundChange) -> str:
    """'paired, 8 respondents in both rounds' or 'unpaired, 6 and 9 respondents'."""
    total = _domain_row(change.table, TOTAL, "n_paired", "n_first", "n_second")
    if change.method == "paired":
        return f"paired, {int(total['n_paired'])} respondents in both rounds"
    return f"unpaired, {int(total['n_first'])} and {int(total['n_second'])} respondents"


def sustainability_summary(
    rows: pd.DataFrame, instrument: Instrument, *, threshold: int = 0, site_names: dict[str, str] | None = None,
    conf_level: float = 0.95,
) -> SustainabilitySummary:
    """Each site's latest round of ``instrument`` (scores, lowest domains, change since the previous round)
    with a sentence per site; the one function pages and slide decks both call.

    Every site is scored and compared at once (one respondent scoring, one change computation), so the
    summary stays under a second or two at 500 sites (issue 16)."""
    rows = _check(rows, instrument, threshold, conf_level)
    answers = _respondent_scores(rows, instrument)
    scores = _site_scores(answers, instrument, threshold, conf_level, LOWEST_FLAGGED)
    site_names = site_names or {}
    rounds: dict[str, list[tuple[pd.Timestamp, int, int]]] = {}
    for i, r in enumerate(scores.respondents.itertuples(index=False)):
        rounds.setdefault(r.site, []).append((pd.Timestamp(r.assessment_date), int(r.n_respondents), i))
    pairs = pd.DataFrame(
        [(site, days[-2][0], days[-1][0]) for site, days in rounds.items() if len(days) > 1],
        columns=["site", "first", "second"],
    )
    changes = _changes(answers, pairs, instrument, threshold, conf_level) if len(pairs) else {}
    width = len(instrument.domains) + 1
    label, lowest = scores.table["label"].to_numpy(dtype=object), scores.table["lowest"].to_numpy(dtype=bool)
    is_total = scores.table["domain"].to_numpy(dtype=object) == TOTAL
    hidden = scores.table["suppressed"].to_numpy(dtype=bool)
    sites = []
    for site in sorted(rounds, key=lambda s: site_names.get(s, s)):
        latest, n, i = rounds[site][-1]
        at = slice(i * width, (i + 1) * width)  # the table has every domain of each round in respondents' order
        table = scores.table.iloc[at].reset_index(drop=True)
        change = changes.get(site)
        sites.append(SiteSustainability(
            site=site, latest=latest, n_respondents=n, scores=table, change=change,
            lowest=tuple(label[at][lowest[at]]),
            sentence=site_sentence(site_names.get(site, site), instrument, table, n, latest, change, threshold),
            suppressed=bool(hidden[at][is_total[at]].all()),
        ))
    return SustainabilitySummary(instrument=instrument.id, instrument_name=instrument.name, scores=scores,
                                 sites=tuple(sites), methods=scores.methods)
