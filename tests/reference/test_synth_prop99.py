"""Synthetic control, synthetic DiD and DiD for California's Proposition 99 (first post year 1989).

Data: Abadie, Diamond & Hainmueller (2010), shared/reference/cigsales_prop99.csv — the same 39 states
x 1970-2000 panel as synthdid's ``california_prop99``.

Published numbers (packs per capita, average effect 1989-2000):

- Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), "Synthetic Difference-in-Differences",
  AER 111(12), Table 1: SDID -15.6 (se 8.4), SC -19.6 (9.9), DID -27.3 (17.7). The table is generated
  by the synthdid package's vignettes/paper-results.Rmd (chunk ``california-table``: the estimators
  ``synthdid_estimate``, ``sc_estimate``, ``did_estimate`` and ``sqrt(vcov(., method='placebo'))``
  with ``set.seed(12345)``, printed by ``round(california.table, digits=1)``); the rendered vignette
  (synth-inference/synthdid, articles/paper-results.html) prints "estimate -27.3 -19.6 -15.6" and
  "standard error 17.7 9.9 8.4" for DID, SC, SDID. Its Tables 7 and 8 (unit and time weights) are
  checked below as printed there. (Its DIFP, MC, SC_REG and DIFP_REG columns are variants not offered.)
- SDID to two decimals, -15.60: the azcausal README (github.com/amazon-science/azcausal, "Effect (±SE):
  -15.60" for CaliforniaProp99) and Stata ``sdid`` (Clarke, Pailañir, Athey & Imbens 2024), as printed
  in carlos-mendez.org/post/stata_sdid (slides: SDID -15.60, naive 2x2 DiD -27.35).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mhin_eval.analysis.synth import synth

CALIFORNIA = 3
GO_LIVE = 1989


@pytest.fixture(scope="module")
def cigsales(reference_dir):
    return pd.read_csv(reference_dir / "cigsales_prop99.csv")


@pytest.fixture(scope="module")
def results(cigsales):
    return {method: synth(cigsales, unit="state_id", time="year", value="cigsale", treated=CALIFORNIA,
                          intervention=GO_LIVE, method=method) for method in ("sdid", "sc", "did")}


@pytest.mark.parametrize(("method", "published"), [("sdid", -15.6), ("sc", -19.6), ("did", -27.3)])
def test_point_estimates_arkhangelsky_table_1(results, method, published):
    assert round(results[method].estimate, 1) == published


@pytest.mark.parametrize(("method", "published"), [("sdid", -15.60), ("did", -27.35)])
def test_point_estimates_to_two_decimals_azcausal_and_stata_sdid(results, method, published):
    assert round(results[method].estimate, 2) == published


@pytest.mark.xfail(strict=True, reason=(
    "Table 1's standard errors are Monte Carlo draws of Algorithm 4 (200 random placebo assignments, "
    "R seed 12345); with one treated unit we enumerate all 38 assignments (the limit as replications "
    "grow) and measure SDID 9.37, SC 10.62, DID 17.29 against the printed 8.4, 9.9, 17.7."))
@pytest.mark.parametrize(("method", "published"), [("sdid", 8.4), ("sc", 9.9), ("did", 17.7)])
def test_placebo_standard_errors_table_1(results, method, published):
    assert round(results[method].algorithm4_se, 1) == published


def test_placebo_standard_errors_are_near_table_1(results):
    """The enumerated Algorithm 4 placebo variance is within Monte Carlo reach of Table 1 (within 15%)."""
    for method, published in (("sdid", 8.4), ("sc", 9.9), ("did", 17.7)):
        assert abs(results[method].algorithm4_se - published) / published < 0.15


def test_the_interval_is_the_rescaled_placebo_spread_with_a_t_quantile(results, cigsales):
    """The shown interval is not Table 1's (mhin_eval.analysis.synth.placebo_spread): the placebo effects
    divided by their pre-period RMSPE, scaled back by California's, with t on 38 - 1 degrees of freedom.
    Measured: SDID se 4.97 (California fits far better before 1989 than the median placebo), SC 9.37,
    DID 14.75; the SDID and SC intervals exclude zero, as Table 1's do."""
    from scipy import stats

    from mhin_eval.analysis.synth import _fit, _placebo_panels, panel

    p = panel(cigsales, unit="state_id", time="year", value="cigsale", treated=CALIFORNIA, intervention=GO_LIVE)
    n0 = len(p.donors)
    for method, se in (("sdid", 4.97), ("sc", 9.37), ("did", 14.75)):
        result = results[method]
        placebos = _fit(_placebo_panels(p.Y, n0), n0 - 1, p.t0, method)  # California left out of the pools
        gaps = placebos.observed - placebos.synthetic
        ratios = placebos.tau / np.sqrt(np.mean(gaps[:, :p.t0] ** 2, axis=1))
        assert result.effect.se == pytest.approx(result.pre_rmspe * np.std(ratios, ddof=1))
        assert round(result.effect.se, 2) == se
        assert result.ci_df == 37
        q = stats.t.ppf(0.975, 37)
        assert result.effect.ci_low == pytest.approx(result.estimate - q * result.effect.se)
    assert results["sdid"].effect.ci_high < 0 and results["sc"].effect.ci_high < 0


def test_weights_are_on_the_simplex(results):
    for result in results.values():
        weights = np.array(list(result.unit_weights.values()))
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
        assert str(CALIFORNIA) not in result.unit_weights
    lam = np.array(list(results["sdid"].time_weights.values()))
    assert (lam >= 0).all() and lam.sum() == pytest.approx(1.0)
    assert set(results["sc"].time_weights.values()) == {0.0}


def test_sdid_time_weights_sit_on_the_last_pre_years(results):
    """Arkhangelsky et al. (2021), Figure 1 / Table 8: the time weights fall on 1986-1988."""
    lam = results["sdid"].time_weights
    assert sum(lam[str(year)] for year in (1986, 1987, 1988)) > 0.99


def test_california_ranks_first_among_sdid_placebos(results):
    """California's post/pre RMSPE ratio is the largest of the 39: p = 1/39."""
    assert results["sdid"].p_value == pytest.approx(1 / 39)
    assert len(results["sdid"].placebos) == 38


def test_average_effect_is_the_mean_of_the_period_effects(results):
    for result in results.values():
        table = result.tidy()
        periods = table[table["term"] == "period effect"]
        assert list(periods["period"]) == [str(y) for y in range(1989, 2001)]
        assert periods["estimate"].mean() == pytest.approx(result.estimate)


# Arkhangelsky et al. (2021) Tables 7 and 8, as printed by synthdid's vignettes/paper-results.Rmd
# (rendered articles/paper-results.html, chunk "Table 7 and 8: Unit and Time weights":
# xtable(round(weights, 3)) printed to two decimals). Columns: did, sc, sdid.
UNIT_WEIGHTS = """
Alabama 0.03 0.00 0.00|Arkansas 0.03 0.00 0.00|Colorado 0.03 0.01 0.06|Connecticut 0.03 0.10 0.08
Delaware 0.03 0.00 0.07|Georgia 0.03 0.00 0.00|Idaho 0.03 0.00 0.03|Illinois 0.03 0.00 0.05
Indiana 0.03 0.00 0.01|Iowa 0.03 0.00 0.03|Kansas 0.03 0.00 0.02|Kentucky 0.03 0.00 0.00
Louisiana 0.03 0.00 0.00|Maine 0.03 0.00 0.03|Minnesota 0.03 0.00 0.04|Mississippi 0.03 0.00 0.00
Missouri 0.03 0.00 0.01|Montana 0.03 0.23 0.04|Nebraska 0.03 0.00 0.05|Nevada 0.03 0.20 0.12
New Hampshire 0.03 0.04 0.10|New Mexico 0.03 0.00 0.04|North Carolina 0.03 0.00 0.03|North Dakota 0.03 0.00 0.00
Ohio 0.03 0.00 0.03|Oklahoma 0.03 0.00 0.00|Pennsylvania 0.03 0.00 0.01|Rhode Island 0.03 0.00 0.00
South Carolina 0.03 0.00 0.00|South Dakota 0.03 0.00 0.00|Tennessee 0.03 0.00 0.00|Texas 0.03 0.00 0.01
Utah 0.03 0.40 0.04|Vermont 0.03 0.00 0.00|Virginia 0.03 0.00 0.00|West Virginia 0.03 0.00 0.03
Wisconsin 0.03 0.00 0.04|Wyoming 0.03 0.00 0.00
"""
SDID_TIME_WEIGHTS = {1988: "0.43", 1987: "0.21", 1986: "0.37"}


def _printed(weight: float) -> str:
    """round(., 3) then two decimals, as the vignette's xtable output."""
    return f"{round(weight, 3):.2f}"


@pytest.fixture(scope="module")
def by_name(cigsales):
    return {method: synth(cigsales, unit="state", time="year", value="cigsale", treated="California",
                          intervention=GO_LIVE, method=method, inference=False) for method in ("did", "sc", "sdid")}


def test_unit_weights_arkhangelsky_table_7(by_name):
    rows = [row.rsplit(" ", 3) for line in UNIT_WEIGHTS.strip().splitlines() for row in line.split("|")]
    assert len(rows) == 38
    for state, *published in rows:
        measured = [_printed(by_name[m].unit_weights[state]) for m in ("did", "sc", "sdid")]
        assert measured == published, state


def test_time_weights_arkhangelsky_table_8(by_name):
    printed = {int(year): _printed(w) for year, w in by_name["sdid"].time_weights.items()}
    assert printed == {year: SDID_TIME_WEIGHTS.get(year, "0.00") for year in range(1970, 1989)}
    assert {_printed(w) for w in by_name["did"].time_weights.values()} == {"0.05"}
