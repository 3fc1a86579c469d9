"""The vectorized sustainability scores, round changes and summary (issue 16) give the same results as the
row-wise implementation they replaced (tests/unit/sustainability_reference.py, the oracle), on randomized
data with the awkward cases: respondents answering different rounds, missing items and whole domains,
respondents with no answers, groups below the threshold, single respondents, all-equal scores (sd 0),
both total-score rules, thresholds 0, 3 and 5, and rows of another instrument.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis import sustainability as S
from mhin_eval.catalogue import DEFAULT_CATALOGUE, parse_catalogue
from tests.unit import sustainability_reference as R

DATES = pd.to_datetime(["2022-03-01", "2023-03-01", "2023-09-15", "2024-03-01", "2025-01-10"])


@pytest.fixture(scope="module")
def small_instruments():
    raw = tomllib.loads(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    base = {"name": "Test", "short_name": "T", "scale_min": 1, "scale_max": 7,
            "domains": [{"id": "x", "label": "X", "items": ["x1", "x2"]},
                        {"id": "y", "label": "Y", "items": ["y1", "y2", "y3"]},
                        {"id": "z", "label": "Z", "items": ["z1"]}]}
    raw["instruments"] = [dict(base, id="by-domain"), dict(base, id="by-item", total_score="mean-of-items")]
    cat = parse_catalogue(raw)
    return cat.instrument("by-domain"), cat.instrument("by-item")


def random_rows(instrument, seed: int, n_sites: int = 7) -> pd.DataFrame:
    """Sites with 1-4 rounds and 1-12 respondents who answer some of the rounds; a third of the answers
    all at one level (so sd 0 and paired changes all equal), missing items, whole missing domains,
    respondents with no answers at all, and two sites whose respondents all answer one level."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sites):
        site = f"site-{s:02d}"
        constant = s in (0, 1)
        dates = sorted(rng.choice(DATES, size=2 if constant else rng.integers(1, 5), replace=False))
        people = [f"r{p:02d}" for p in rng.permutation(5 if constant else rng.integers(1, 13))]
        for day in dates:
            for person in people:
                if rng.random() < 0.3 and len(people) > 1 and not constant:
                    continue
                level = int(rng.integers(1, 8))
                flat = constant or rng.random() < 0.33
                silent = rng.random() < 0.05
                gone = {d.id for d in instrument.domains if rng.random() < 0.1}
                for domain in instrument.domains:
                    for item in domain.items:
                        if constant:
                            value = 4.0 if s == 0 else float(3 + (day == dates[-1]))
                        elif silent or domain.id in gone or rng.random() < 0.12:
                            value = np.nan
                        else:
                            value = float(level if flat else rng.integers(1, 8))
                        rows.append({"site": site, "instrument": instrument.id, "assessment_date": day,
                                     "respondent": person, "item": item, "score": value})
    rows.append({"site": "site-00", "instrument": "other", "assessment_date": DATES[0], "respondent": "r00",
                 "item": "not-an-item", "score": 1.0})
    return pd.DataFrame(rows)


def assert_tables(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new.reset_index(drop=True), old.reset_index(drop=True), check_exact=False,
                                  rtol=1e-12)


def assert_scores(new, old) -> None:
    assert_tables(new.table, old.table)
    assert_tables(new.respondents, old.respondents)
    assert (new.warnings, new.methods, new.threshold, new.conf_level) == (
        old.warnings, old.methods, old.threshold, old.conf_level)


def assert_change(new, old) -> None:
    assert (new is None) == (old is None)
    if new is None:
        return
    assert (new.site, new.first, new.second, new.method, new.warnings, new.methods, new.conf_level) == (
        old.site, old.first, old.second, old.method, old.warnings, old.methods, old.conf_level)
    assert_tables(new.table, old.table)


CASES = [(total, threshold, seed) for total in ("psat", "by-domain", "by-item") for threshold in (0, 3, 5)
         for seed in (1, 2)]


def instrument_of(name, catalogue, small_instruments):
    return catalogue.instrument("psat") if name == "psat" else dict(
        zip(("by-domain", "by-item"), small_instruments, strict=True))[name]


@pytest.mark.parametrize(("name", "threshold", "seed"), CASES)
def test_site_scores_equal_the_row_wise_oracle(catalogue, small_instruments, name, threshold, seed):
    instrument = instrument_of(name, catalogue, small_instruments)
    rows = random_rows(instrument, seed)
    for conf in (0.95, 0.8):
        assert_scores(S.site_scores(rows, instrument, threshold=threshold, conf_level=conf),
                      R.site_scores(rows, instrument, threshold=threshold, conf_level=conf))


@pytest.mark.parametrize(("name", "threshold", "seed"), CASES)
def test_round_changes_equal_the_row_wise_oracle(catalogue, small_instruments, name, threshold, seed):
    instrument = instrument_of(name, catalogue, small_instruments)
    rows = random_rows(instrument, seed)
    compared = 0
    for site, part in rows[rows["instrument"] == instrument.id].groupby("site"):
        dates = sorted(part["assessment_date"].unique())
        for first in dates:
            for second in [*dates, DATES[-1] + pd.Timedelta(days=1)]:
                try:
                    old = R.round_change(rows, instrument, site, first, second, threshold=threshold)
                except S.AnalysisError as exc:
                    with pytest.raises(S.AnalysisError) as raised:
                        S.round_change(rows, instrument, site, first, second, threshold=threshold)
                    assert str(raised.value) == str(exc)
                    continue
                assert_change(S.round_change(rows, instrument, site, first, second, threshold=threshold), old)
                compared += 1
    assert compared > 10


@pytest.mark.parametrize(("name", "threshold", "seed"), CASES)
def test_summary_equals_the_row_wise_oracle(catalogue, small_instruments, name, threshold, seed):
    instrument = instrument_of(name, catalogue, small_instruments)
    rows = random_rows(instrument, seed, n_sites=9)
    names = {f"site-{s:02d}": f"Site {9 - s}" for s in range(9)}
    new = S.sustainability_summary(rows, instrument, threshold=threshold, site_names=names)
    old = R.sustainability_summary(rows, instrument, threshold=threshold, site_names=names)
    assert_scores(new.scores, old.scores)
    assert (new.instrument, new.instrument_name, new.methods) == (old.instrument, old.instrument_name, old.methods)
    assert [s.site for s in new.sites] == [s.site for s in old.sites]
    for a, b in zip(new.sites, old.sites, strict=True):
        assert (a.latest, a.n_respondents, a.lowest, a.sentence, a.suppressed) == (
            b.latest, b.n_respondents, b.lowest, b.sentence, b.suppressed)
        assert_tables(a.scores, b.scores)
        assert_change(a.change, b.change)
    pd.testing.assert_frame_equal(new.table(), old.table())
    assert sum(s.change is not None for s in new.sites) >= 3


def test_the_random_data_has_the_awkward_cases(catalogue):
    """The oracle comparisons above only mean something if the data reach every branch."""
    psat = catalogue.instrument("psat")
    rows = random_rows(psat, 1)
    scores = R.site_scores(rows, psat, threshold=3)
    table = scores.table
    assert (table["n_respondents"] == 1).any() and (table["n_respondents"] == 0).any()
    assert table["suppressed"].any() and (~table["suppressed"] & (table["sd"] == 0)).any()
    changes = [R.round_change(rows, psat, site, *sorted(part["assessment_date"].unique())[-2:])
               for site, part in rows[rows["instrument"] == "psat"].groupby("site")
               if part["assessment_date"].nunique() > 1]
    methods = {c.method for c in changes}
    assert methods == {"paired", "unpaired"}
    p = pd.concat([c.table for c in changes])
    assert (p["p_value"] == 1).any() and (p["p_value"] == 0).any() and p["p_value"].between(0.001, 0.999).any()
    assert any("only one of the two rounds" in w for c in changes for w in c.warnings)


def test_no_answers_give_the_same_empty_results(catalogue):
    psat = catalogue.instrument("psat")
    rows = random_rows(psat, 3).assign(score=np.nan)
    assert_scores(S.site_scores(rows, psat, threshold=3), R.site_scores(rows, psat, threshold=3))
    new, old = (m.sustainability_summary(rows, psat, threshold=3) for m in (S, R))
    assert_scores(new.scores, old.scores)
    assert new.sites == old.sites == ()


def test_group_moments_equal_numpys_mean_and_variance_bit_for_bit():
    """Every group size from 0 to 300 (numpy's three summation regimes: under 8, up to 128, split beyond),
    values that are not exact in binary, and groups of one repeated value (whose sd must be exactly numpy's)."""
    from mhin_eval.analysis.group_moments import group_moments

    rng = np.random.default_rng(7)
    sizes = np.concatenate([np.arange(301), rng.integers(0, 40, size=200)])
    values = rng.integers(1, 36, size=sizes.sum()) / rng.choice([3.0, 5.0, 7.0, 15.0], size=sizes.sum())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = rng.random(len(sizes)) < 0.3
    for g in np.flatnonzero(flat):
        values[starts[g]:starts[g] + sizes[g]] = values[starts[g]]
    mean, var = group_moments(values, sizes)
    for g, (start, n) in enumerate(zip(starts, sizes, strict=True)):
        part = values[start:start + n]
        if n == 0:
            assert np.isnan(mean[g]) and np.isnan(var[g])
            continue
        assert mean[g] == np.mean(part), n
        if n == 1:
            assert np.isnan(var[g])
        else:
            assert var[g] == np.var(part, ddof=1), n
