"""Student's (1908) sleep data, R's ``datasets::sleep``: extra hours of sleep of 10 patients under drug 1
(the "before" here) and drug 2 ("after"). Expected values are R's ``t.test(extra ~ group, paired = TRUE)``
and ``wilcox.test(..., paired = TRUE)`` output as printed in shared/reference/README.md (group 2 − group 1)."""

from __future__ import annotations

import pandas as pd
import pytest

from mhin_eval.analysis.prepost import paired_prepost


@pytest.fixture(scope="module")
def sleep_result(reference_dir):
    raw = pd.read_csv(reference_dir / "sleep_student1908.csv", dtype={"group": str, "ID": str})
    records = pd.DataFrame(
        {
            "participant_id": raw["ID"],
            "measure": "extra sleep (hours)",
            "timepoint": raw["group"].map({"1": "drug 1", "2": "drug 2"}),
            "value": raw["extra"],
        }
    )
    return paired_prepost(records, before="drug 1", after="drug 2", better="higher")


def test_pairs_counted(sleep_result):
    assert sleep_result.n_pairs == 10
    assert sleep_result.n_missing_followup == 0
    assert sleep_result.n_missing_baseline == 0


def test_paired_t_matches_r(sleep_result):
    # README: paired t = 4.0621277, df = 9, p = 0.00283289 (R t.test, paired = TRUE)
    assert sleep_result.t_statistic == pytest.approx(4.0621277, abs=5e-8)
    assert sleep_result.t_df == 9
    assert sleep_result.t_p_value == pytest.approx(0.00283289, abs=5e-9)


def test_mean_difference_and_ci_match_r(sleep_result):
    # README: mean difference 1.58, 95% CI 0.7001142 – 2.4598858 (R t.test, paired = TRUE)
    diff = sleep_result.mean_difference
    assert diff.estimate == pytest.approx(1.58, abs=5e-3)
    assert diff.ci_low == pytest.approx(0.7001142, abs=5e-8)
    assert diff.ci_high == pytest.approx(2.4598858, abs=5e-8)
    assert diff.p_value == pytest.approx(0.00283289, abs=5e-9)


def test_wilcoxon_matches_r(sleep_result):
    # README: Wilcoxon signed-rank, normal approximation with continuity correction (ties and a zero
    # difference present): V = 45, p = 0.009090698 (R wilcox.test, paired = TRUE)
    w = sleep_result.wilcoxon
    assert w.statistic == 45
    assert w.n_zero == 1 and w.has_ties
    assert w.method == "normal approximation with continuity correction"
    assert w.p_value == pytest.approx(0.009090698, abs=5e-10)
