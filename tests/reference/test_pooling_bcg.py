"""BCG vaccine trials (Colditz et al. 1994, JAMA; metafor's ``dat.bcg``), 13 trials. Expected values are
those printed in shared/reference/README.md, from metafor's test suite (agreeing with Stata ``metan``):
log risk ratios with variance 1/a − 1/n1 + 1/c − 1/n2, and log odds ratios."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mhin_eval.analysis.pooling import from_two_by_two, pool

DECIMALS_4 = 5e-5


@pytest.fixture(scope="module")
def bcg(reference_dir):
    return pd.read_csv(reference_dir / "bcg.csv")


def _sites(bcg, measure):
    return [
        from_two_by_two(f"{r.author} {r.year}", r.tpos, r.tpos + r.tneg, r.cpos, r.cpos + r.cneg, measure)
        for r in bcg.itertuples()
    ]


def test_fixed_effect_log_rr(bcg):
    # README: fixed effect, log RR −0.4303 (−0.5097, −0.3509), Q = 152.2330
    result = pool(_sites(bcg, "RR"), method="FE")
    assert result.k == 13
    assert result.pooled_model.estimate == pytest.approx(-0.4303, abs=DECIMALS_4)
    assert result.pooled_model.ci_low == pytest.approx(-0.5097, abs=DECIMALS_4)
    assert result.pooled_model.ci_high == pytest.approx(-0.3509, abs=DECIMALS_4)
    assert result.q == pytest.approx(152.2330, abs=DECIMALS_4)
    assert result.q_df == 12


def test_dersimonian_laird_log_rr(bcg):
    # README: DL, log RR −0.7141 (−1.0644, −0.3638); RR 0.4896 (0.3449, 0.6950); τ² 0.3088; I² 92.1173%
    result = pool(_sites(bcg, "RR"), method="DL")
    assert result.pooled_model.estimate == pytest.approx(-0.7141, abs=DECIMALS_4)
    assert result.pooled_model.ci_low == pytest.approx(-1.0644, abs=DECIMALS_4)
    assert result.pooled_model.ci_high == pytest.approx(-0.3638, abs=DECIMALS_4)
    assert result.scale == "ratio" and result.pooled.scale == "ratio"
    assert result.pooled.estimate == pytest.approx(0.4896, abs=DECIMALS_4)
    assert result.pooled.ci_low == pytest.approx(0.3449, abs=DECIMALS_4)
    assert result.pooled.ci_high == pytest.approx(0.6950, abs=DECIMALS_4)
    assert result.tau2 == pytest.approx(0.3088, abs=DECIMALS_4)
    assert result.tau == pytest.approx(math.sqrt(result.tau2))
    assert result.i2 == pytest.approx(92.1173, abs=DECIMALS_4)


def test_dersimonian_laird_log_or(bcg):
    # README: DL, log OR −0.7474 (−1.1242, −0.3706); τ² 0.3663; I² 92.6455%; Q 163.1649
    result = pool(_sites(bcg, "OR"), method="DL")
    assert result.pooled_model.estimate == pytest.approx(-0.7474, abs=DECIMALS_4)
    assert result.pooled_model.ci_low == pytest.approx(-1.1242, abs=DECIMALS_4)
    assert result.pooled_model.ci_high == pytest.approx(-0.3706, abs=DECIMALS_4)
    assert result.tau2 == pytest.approx(0.3663, abs=DECIMALS_4)
    assert result.i2 == pytest.approx(92.6455, abs=DECIMALS_4)
    assert result.q == pytest.approx(163.1649, abs=DECIMALS_4)
