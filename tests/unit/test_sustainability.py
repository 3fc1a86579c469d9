"""Sustainability scoring (issue 7): hand-computed scores for every shipped instrument, the exact
effect of changing one item, intervals across respondents, paired and unpaired change between
rounds, the lowest domains flagged, and suppression of small groups.

Hand computations use the t quantiles of a printed table: t(0.975, 2) = 4.302653, t(0.975, 3) = 3.182446.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis import sustainability as S
from mhin_eval.catalogue import DEFAULT_CATALOGUE, parse_catalogue

T_975_2 = 4.302653
T_975_3 = 3.182446
DAY1, DAY2 = pd.Timestamp("2023-03-01"), pd.Timestamp("2024-03-01")


def answers(instrument, respondent: str, scores: dict[str, float] | float, *, day=DAY1, site="hull",
            skip=()) -> list[dict]:
    """One respondent's rows: ``scores`` maps item or domain id to a score (a number = every item)."""
    rows = []
    for domain in instrument.domains:
        for n, item in enumerate(domain.items):
            if isinstance(scores, dict):
                value = scores.get(item, scores.get(domain.id, scores.get("*")))
                if isinstance(value, (list, tuple)):
                    value = value[n]
            else:
                value = scores
            rows.append({"project": "aaot", "site": site, "instrument": instrument.id, "assessment_date": day,
                         "respondent": respondent, "item": item, "score": np.nan if item in skip else float(value)})
    return rows


def frame(*groups) -> pd.DataFrame:
    return pd.DataFrame([r for g in groups for r in g])


@pytest.fixture(scope="module")
def psat(catalogue):
    return catalogue.instrument("psat")


@pytest.fixture(scope="module")
def csat(catalogue):
    return catalogue.instrument("csat")


# --------------------------------------------------------------------------- the shipped structures


def test_shipped_instruments_have_their_published_structure(psat, csat):
    """PSAT: 40 items, 8 domains x 5 (Luke et al. 2014); CSAT: 35 items, 7 domains x 5 (Malone et al. 2021)."""
    assert [d.label for d in psat.domains] == [
        "Environmental Support", "Funding Stability", "Partnerships", "Organizational Capacity",
        "Program Evaluation", "Program Adaptation", "Communications", "Strategic Planning"]
    assert [d.label for d in csat.domains] == [
        "Engaged Staff and Leadership", "Engaged Stakeholders", "Organizational Readiness", "Workflow Integration",
        "Implementation and Training", "Monitoring and Evaluation", "Outcomes and Effectiveness"]
    for instrument, n in ((psat, 40), (csat, 35)):
        assert len(instrument.items) == n and all(len(d.items) == 5 for d in instrument.domains)
        assert (instrument.scale_min, instrument.scale_max) == (1, 7)
        assert instrument.total_score == "mean-of-domains" and instrument.domain_score == "mean"
        assert "doi" in instrument.citation and instrument.url.startswith("https://sustaintool.org")
        assert "not reproduced" in instrument.item_wording
        assert not any(d.item_labels for d in instrument.domains), "no invented item wording"


# --------------------------------------------------------------------------- scoring by hand


def test_psat_scores_by_hand(psat):
    """Respondent A: Environmental Support 7,6,5,4,3 (mean 5), Funding Stability 1,2,3,4,5 (mean 3), other six
    domains all 4 -> total (5 + 3 + 6*4)/8 = 4.0. B: every item 6 -> 6.0. C: every item 5 but es5 not
    answered -> Environmental Support mean of 4 items = 5, total 5.0.
    Site: Environmental Support (5 + 6 + 5)/3 = 5.3333; Funding Stability (3 + 6 + 5)/3 = 4.6667;
    total (4 + 6 + 5)/3 = 5, sd 1, CI 5 -/+ 4.302653/sqrt(3) = 2.51586 to 7.48414."""
    rows = frame(
        answers(psat, "A", {"environmental-support": [7, 6, 5, 4, 3], "funding-stability": [1, 2, 3, 4, 5], "*": 4}),
        answers(psat, "B", 6),
        answers(psat, "C", 5, skip=("es5",)),
    )
    per = S.respondent_scores(rows, psat).set_index(["respondent", "domain"])["score"]
    assert per[("A", "environmental-support")] == pytest.approx(5.0)
    assert per[("A", "funding-stability")] == pytest.approx(3.0)
    assert per[("A", "total")] == pytest.approx(4.0)
    assert per[("C", "total")] == pytest.approx(5.0)
    n_items = S.respondent_scores(rows, psat).set_index(["respondent", "domain"])["n_items"]
    assert n_items[("C", "environmental-support")] == 4 and n_items[("C", "total")] == 39

    scores = S.site_scores(rows, psat, threshold=3)
    table = scores.round("hull", DAY1).set_index("domain")
    assert table.loc["environmental-support", "mean"] == pytest.approx(16 / 3)
    assert table.loc["funding-stability", "mean"] == pytest.approx(14 / 3)
    total = table.loc["total"]
    assert (total["mean"], total["sd"], total["n_respondents"]) == (pytest.approx(5.0), pytest.approx(1.0), 3)
    assert total["ci_low"] == pytest.approx(5 - T_975_2 / math.sqrt(3), abs=1e-5)
    assert total["ci_high"] == pytest.approx(5 + T_975_2 / math.sqrt(3), abs=1e-5)
    assert list(table["label"]) == [d.label for d in psat.domains] + ["Total score"]
    assert int(scores.respondents["n_respondents"].iloc[0]) == 3


def test_csat_scores_by_hand(csat):
    """Every item 3 except Workflow Integration all 7: domain means 3 (six times) and 7, total 25/7 = 3.5714.
    Second respondent all 5 (total 5), third all 4 (total 4): site total (25/7 + 5 + 4)/3 = 4.1905;
    totals' sd (hand: deviations -0.6190, 0.8095, -0.1905; squares 0.3832, 0.6553, 0.0363;
    sum 1.0748 / 2 = 0.5374; sqrt 0.7331)."""
    rows = frame(answers(csat, "R1", {"workflow-integration": 7, "*": 3}), answers(csat, "R2", 5),
                 answers(csat, "R3", 4))
    per = S.respondent_scores(rows, csat).set_index(["respondent", "domain"])["score"]
    assert per[("R1", "workflow-integration")] == 7 and per[("R1", "engaged-stakeholders")] == 3
    assert per[("R1", "total")] == pytest.approx(25 / 7)
    table = S.site_scores(rows, csat).round("hull", DAY1).set_index("domain")
    assert table.loc["total", "mean"] == pytest.approx((25 / 7 + 9) / 3)
    assert table.loc["total", "sd"] == pytest.approx(0.7331, abs=1e-4)
    assert table.loc["workflow-integration", "mean"] == pytest.approx((7 + 5 + 4) / 3)
    assert table.loc["total", "ci_high"] - table.loc["total", "mean"] == pytest.approx(
        T_975_2 * 0.7331 / math.sqrt(3), abs=1e-4)


def test_total_as_mean_of_items_differs_from_mean_of_domains_when_items_are_missing():
    """Domain X: x1 = 1, x2 = 1 (mean 1); domain Y: y1 = 7, y2 and y3 not answered (mean 7).
    Mean of domains (1 + 7)/2 = 4; mean of items (1 + 1 + 7)/3 = 3."""
    raw = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    base = {"name": "Test", "short_name": "T", "scale_min": 1, "scale_max": 7,
            "domains": [{"id": "x", "label": "X", "items": ["x1", "x2"]},
                        {"id": "y", "label": "Y", "items": ["y1", "y2", "y3"]}]}
    raw["instruments"] = [dict(base, id="by-domain"), dict(base, id="by-item", total_score="mean-of-items")]
    cat = parse_catalogue(raw)
    for instrument, expected in ((cat.instrument("by-domain"), 4.0), (cat.instrument("by-item"), 3.0)):
        rows = frame(answers(instrument, "A", {"x": 1, "y": 7}, skip=("y2", "y3")))
        total = S.respondent_scores(rows, instrument).set_index("domain").loc["total", "score"]
        assert total == pytest.approx(expected), instrument.id


@pytest.mark.parametrize("instrument_id", ["psat", "csat"])
def test_changing_one_item_changes_only_its_domain_and_the_total_by_the_documented_amounts(
        catalogue, instrument_id):
    """Raising one item of one respondent by 3 points moves that respondent's domain by 3/5 and their total
    by 3/(5 D) (D domains), so the site's domain mean by 3/(5 n) and total by 3/(5 D n) with n respondents;
    every other domain is unchanged."""
    instrument = catalogue.instrument(instrument_id)
    domain = instrument.domains[1]
    item = domain.items[2]
    n, d = 3, len(instrument.domains)
    before = frame(answers(instrument, "A", 2), answers(instrument, "B", 4), answers(instrument, "C", 6))
    after = before.copy()
    after.loc[(after["respondent"] == "A") & (after["item"] == item), "score"] = 5.0
    for level, key in ((S.respondent_scores, "respondent"),):
        b = level(before, instrument).set_index([key, "domain"])["score"]
        a = level(after, instrument).set_index([key, "domain"])["score"]
        delta = (a - b)[lambda s: s.abs() > 1e-12]
        assert delta.to_dict() == {("A", domain.id): pytest.approx(3 / 5), ("A", "total"): pytest.approx(3 / (5 * d))}
    b = S.site_scores(before, instrument).table.set_index("domain")["mean"]
    a = S.site_scores(after, instrument).table.set_index("domain")["mean"]
    delta = (a - b)[lambda s: s.abs() > 1e-12]
    assert delta.to_dict() == {domain.id: pytest.approx(3 / (5 * n)), "total": pytest.approx(3 / (5 * d * n))}


def test_lowest_domains_are_flagged_where_to_act(psat):
    """Domain means 4 everywhere except Funding Stability 2 and Communications 3 -> those two are flagged."""
    rows = frame(*[answers(psat, r, {"funding-stability": 2, "communications": 3, "*": 4}) for r in "ABC"])
    scores = S.site_scores(rows, psat)
    assert scores.lowest("hull", DAY1) == ["Funding Stability", "Communications"]
    assert not scores.round("hull", DAY1).set_index("domain").loc["total", "lowest"]


def test_published_site_totals_are_the_mean_of_their_domain_means():
    """Table 4 of Support Care Cancer 2023;31:422 (doi:10.1007/s00520-023-07844-x) gives PSAT domain means
    and a sustainability score per site, all rounded to 0.1. The mean of the rounded domain means is within
    the rounding (0.05 + 0.05) of the published score for every site."""
    published = {
        "A": ([6.1, 5.2, 5.1, 4.8, 4.6, 5.9, 5.3, 4.6], 5.2),
        "B": ([5.2, 3.4, 5.2, 5.4, 6.2, 6.3, 5.7, 5.5], 5.4),
        "C youth": ([5.6, 4.9, 5.0, 5.6, 5.4, 5.6, 4.2, 4.9], 5.2),
        "C adult": ([3.8, 3.8, 2.2, 3.7, 4.2, 5.6, 3.5, 3.2], 3.7),
    }
    for site, (domains, total) in published.items():
        assert abs(np.mean(domains) - total) <= 0.1 + 1e-9, site


# --------------------------------------------------------------------------- change between rounds


def _two_rounds(psat, second_ids=("A", "B", "C")):
    """Round 1 totals 4, 6, 5 (every item at that level); round 2 totals 5, 6.5 (four domains 6, four 7), 6."""
    first = [answers(psat, r, level) for r, level in zip("ABC", (4, 6, 5), strict=True)]
    half = {d.id: (6 if n < 4 else 7) for n, d in enumerate(psat.domains)}
    second = [answers(psat, r, level, day=DAY2) for r, level in zip(second_ids, (5, half, 6), strict=True)]
    return frame(*first, *second)


def test_paired_change_by_hand(psat):
    """Changes 1, 0.5, 1: mean 0.8333, sd sqrt(1/12) = 0.288675, se 0.166667, CI 0.8333 -/+ 4.302653 x 0.166667
    = 0.11622 to 1.55044; t = 5 on 2 df, two-sided p = 1 - 5/sqrt(27) = 0.037750."""
    change = S.round_change(_two_rounds(psat), psat, "hull", DAY1, DAY2, threshold=3)
    assert change.method == "paired"
    total = change.table.set_index("domain").loc["total"]
    assert total["n_paired"] == 3
    assert total["difference"] == pytest.approx(5 / 6)
    assert total["ci_low"] == pytest.approx(5 / 6 - T_975_2 / 6, abs=1e-5)
    assert total["ci_high"] == pytest.approx(5 / 6 + T_975_2 / 6, abs=1e-5)
    assert total["p_value"] == pytest.approx(1 - 5 / math.sqrt(27), abs=1e-6)
    est = change.estimate()
    assert est.estimate == pytest.approx(5 / 6) and est.scale == "difference"


def test_unpaired_change_when_different_people_answer(psat):
    """Round 2 answered by D, E, F: Welch. Means 5 and 35/6; variances 1 and 7/12; se = sqrt(1/3 + 7/36)
    = 0.726483; df = (19/36)^2 / ((1/3)^2/2 + (7/36)^2/2) = 3.740933 (t quantile at that df from scipy)."""
    from scipy import stats

    change = S.round_change(_two_rounds(psat, ("D", "E", "F")), psat, "hull", DAY1, DAY2)
    assert change.method == "unpaired"
    total = change.table.set_index("domain").loc["total"]
    assert (total["n_first"], total["n_second"], total["n_paired"]) == (3, 3, 0)
    se, df = math.sqrt(19 / 36), (19 / 36) ** 2 / ((1 / 3) ** 2 / 2 + (7 / 36) ** 2 / 2)
    assert df == pytest.approx(3.740933, abs=1e-6)
    half = stats.t.ppf(0.975, df) * se
    assert total["difference"] == pytest.approx(5 / 6)
    assert (total["ci_low"], total["ci_high"]) == (pytest.approx(5 / 6 - half), pytest.approx(5 / 6 + half))
    assert any("independent groups" in w for w in change.warnings)


def test_partly_overlapping_rounds_pair_the_respondents_in_both(psat):
    """A, B and C answer round 1; A, B and D round 2 -> paired on A and B (changes 1 and 0.5), D left out."""
    change = S.round_change(_two_rounds(psat, ("A", "B", "D")), psat, "hull", DAY1, DAY2)
    total = change.table.set_index("domain").loc["total"]
    assert change.method == "paired" and total["n_paired"] == 2
    assert total["difference"] == pytest.approx(0.75)
    assert any("only one of the two rounds" in w for w in change.warnings)


# --------------------------------------------------------------------------- suppression and counts


def test_groups_below_the_threshold_are_suppressed(psat):
    """Three respondents: shown at threshold 3, suppressed (no mean, no interval) at threshold 4."""
    rows = frame(*[answers(psat, r, level) for r, level in zip("ABC", (4, 5, 6), strict=True)])
    shown = S.site_scores(rows, psat, threshold=3)
    assert not shown.table["suppressed"].any() and shown.table["mean"].notna().all()
    hidden = S.site_scores(rows, psat, threshold=4)
    assert hidden.table["suppressed"].all()
    assert hidden.table[["mean", "sd", "ci_low", "ci_high"]].isna().all().all()
    assert not hidden.table["lowest"].any()
    assert list(hidden.suppressed_rounds["n_respondents"]) == [3]
    assert "3 respondent(s), fewer than 4" in hidden.warnings[0]
    change = S.round_change(_two_rounds(psat), psat, "hull", DAY1, DAY2, threshold=4)
    assert change.method == "unpaired" and change.table["suppressed"].all()
    assert change.table["difference"].isna().all() and change.estimate() is None


def test_a_domain_nobody_answered_is_not_scored(psat):
    rows = frame(*[answers(psat, r, 5, skip=psat.domain("communications").items) for r in "ABC"])
    table = S.site_scores(rows, psat).round("hull", DAY1).set_index("domain")
    assert table.loc["communications", "n_respondents"] == 0 and bool(table.loc["communications", "suppressed"])
    assert table.loc["total", "mean"] == pytest.approx(5.0)


def test_summary_gives_each_sites_latest_round_in_words(psat):
    rows = pd.concat([_two_rounds(psat), frame(*[answers(psat, r, 5, site="sheffield") for r in "AB"])])
    summary = S.sustainability_summary(rows, psat, threshold=3, site_names={"hull": "Hull", "sheffield": "Sheffield"})
    hull, sheffield = summary.sites
    assert hull.site == "hull" and hull.latest == DAY2 and hull.n_respondents == 3
    assert hull.sentence.startswith("Hull, PSAT round of Mar 2024 (3 respondents): total 5.8 on the 1 to 7 scale")
    assert "since Mar 2023 the total rose by 0.8 points" in hull.sentence
    assert "paired, 3 respondents in both rounds" in hull.sentence
    assert sheffield.suppressed and "fewer than 3 respondents" in sheffield.sentence
    table = summary.table()
    assert list(table["site"]) == ["hull", "sheffield"]
    assert table.loc[0, "Total score"] == pytest.approx(5.8) and pd.isna(table.loc[1, "Total score"])


def test_bad_arguments_are_refused(psat):
    rows = frame(answers(psat, "A", 4))
    with pytest.raises(ValueError, match="conf_level"):
        S.site_scores(rows, psat, conf_level=1.5)
    with pytest.raises(ValueError, match="not items of PSAT"):
        S.site_scores(rows.assign(item="zz1"), psat)
    with pytest.raises(S.AnalysisError, match="No answers"):
        S.round_change(rows, psat, "hull", DAY1, DAY2)
