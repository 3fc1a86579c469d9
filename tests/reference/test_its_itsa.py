"""Stata ``itsa`` multiple-group ITS: California's Proposition 99 against the 38 other states.

Published: Linden's help file for ``power itsa`` (SSC S459461; mirrored in the repository
labordynamicsinstitute/ssc-mirror, fmwww.bc.edu/repec/bocode/p/power_itsa.sthlp, commit
05594cbfce989e59265bf902e1ff6b004436eabe, section "Multiple-group ITSA") re-estimates "the first
example of a multiple-group ITSA in the itsa package" (Linden 2015, Stata Journal 15(2):480-500),

    itsa cigsale, treatid(3) trperiod(1989) lag(1) fig posttrend replace

and prints its coefficients as the inputs of ``power multi_itsa`` (tint, tpre, tpost, tstep, cint,
cpre, cpost, cstep), the difference in level change (_z_x = -2.806417, P = 0.631), the P-value of
the difference in slope change (_z_x_t1989, P = 0.136) and the treated counterfactual in 1989
(98.416). itsa counts time from 0 at the first year, puts the step at the first post-period point,
gives the control states one shared intercept, and fits OLS with Newey-West lag 1 and n/(n-k).
itsa 3.x (fmwww.bc.edu/repec/bocode/i/itsa.ado in the same mirror) fits ``glm2 ..., force vce(hac
nwest 1) vfactor(N/df)`` on the stacked panel, so its lag products also pair the last year of one
state with the first year of the next; ``hac_across_series`` reproduces that, and is needed for the
second printed P-value (within-state lags give 0.1368, printed 0.136 only with the stacked lags).
itsa 3.x reports z, we report t(n - k) with ``small_sample``; at 1,201 df the P-values agree to the
printed 3 decimals either way.

Data: shared/reference/cigsales_prop99.csv (Abadie, Diamond & Hainmueller 2010), the same 39 states
x 31 years as itsa's cigsales.dta.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from mhin_eval import cli_analyse
from mhin_eval.analysis.its import ITSOptions, fit_its

CALIFORNIA = 3
FIRST_YEAR = 1970
TRPERIOD = 1989 - FIRST_YEAR
ITSA = ITSOptions(
    family="gaussian",
    slope_origin="first-post",
    comparison_intercepts="shared",
    standard_errors="newey-west",
    hac_lags=1,
    small_sample=True,
    hac_across_series=True,
)


@pytest.fixture(scope="module")
def cigsales(reference_dir):
    return pd.read_csv(reference_dir / "cigsales_prop99.csv").assign(t=lambda f: f.year - FIRST_YEAR)


@pytest.fixture(scope="module")
def itsa(cigsales):
    return fit_its(cigsales, TRPERIOD, time="t", value="cigsale", group="state_id", treated=CALIFORNIA, options=ITSA)


def _half_unit(printed: str) -> float:
    """Half a unit in the last printed decimal: the tolerance that reproduces a printed number."""
    return 0.5 * 10.0 ** -len(printed.split(".")[1])


# power_itsa.sthlp, power multi_itsa examples: value printed there -> our quantity
PUBLISHED = [
    ("cint", "135.4995", lambda c: c["intercept"]),
    ("cpre", "-.5477701", lambda c: c["trend"]),
    ("cpost", "-1.051279", lambda c: c["trend"] + c["slope_change"]),
    ("cstep", "-17.25168", lambda c: c["level_change"]),
    ("tint", "132.2258", lambda c: c["intercept"] + c["treated"]),
    ("tpre", "-1.779474", lambda c: c["trend"] + c["treated_trend"]),
    (
        "tpost",
        "-3.274126",
        lambda c: c["trend"] + c["slope_change"] + c["treated_trend"] + c["treated_slope_change"],
    ),
    ("tstep", "-20.0581", lambda c: c["level_change"] + c["treated_level_change"]),
    ("_z_x", "-2.806417", lambda c: c["treated_level_change"]),
    (
        "counterfactual 1989",
        "98.416",
        lambda c: c["intercept"] + c["treated"] + TRPERIOD * (c["trend"] + c["treated_trend"]),
    ),
]


@pytest.mark.parametrize(("name", "printed", "ours"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_itsa_coefficients_match_the_published_table(itsa, name, printed, ours):
    assert ours(itsa.coefficients) == pytest.approx(float(printed), abs=_half_unit(printed))


def test_itsa_changes_are_reported_as_itsa_defines_them(itsa):
    assert itsa.level_change.estimate == pytest.approx(-20.0581, abs=_half_unit("-20.0581"))
    assert itsa.difference_in_level_change.estimate == pytest.approx(-2.806417, abs=_half_unit("-2.806417"))
    assert (itsa.n_pre, itsa.n_post, itsa.n_comparison) == (19, 12, 38 * 31)
    assert "one shared intercept" in itsa.methods and "first post-period point" in itsa.methods


def test_itsa_difference_in_level_change_p_value_matches(itsa):
    # power_itsa.sthlp: "the coefficient for _z_x1989 ... is not statistically significant (P = 0.631)"
    assert itsa.difference_in_level_change.p_value == pytest.approx(0.631, abs=_half_unit("0.631"))


def test_itsa_difference_in_slope_change_p_value_matches(itsa):
    # power_itsa.sthlp: "the coefficient for _z_x_t1989 ... is not statistically significant (P = 0.136)"
    assert itsa.difference_in_slope_change.p_value == pytest.approx(0.136, abs=_half_unit("0.136"))


def test_itsa_stacked_newey_west_matches_statsmodels_hac_on_the_stacked_series(cigsales, itsa):
    """Independent computation: statsmodels OLS on itsa's design, states stacked in Stata's panel order
    (state, year), HAC lag 1 over the whole stacked series with the n/(n-k) correction."""
    data, X = _itsa_design(cigsales)
    fit = sm.OLS(data.cigsale.to_numpy(float), X).fit(
        cov_type="HAC", cov_kwds={"maxlags": 1, "use_correction": True}, use_t=True
    )
    assert list(itsa.coefficients.values()) == pytest.approx(list(fit.params), abs=1e-9)
    for estimate, column in ((itsa.difference_in_level_change, 6), (itsa.difference_in_slope_change, 7)):
        assert estimate.se == pytest.approx(fit.bse[column], rel=1e-9)
        assert estimate.p_value == pytest.approx(fit.pvalues[column], rel=1e-9)
    assert "lag products also cross from one series to the next" in itsa.methods


def _itsa_design(cigsales):
    data = cigsales.sort_values(["state_id", "year"])
    t = data.t.to_numpy(float)
    post = (t >= TRPERIOD).astype(float)
    z = (data.state_id == CALIFORNIA).to_numpy(float)
    X = np.column_stack([np.ones_like(t), t, post, (t - TRPERIOD) * post, z, z * t, z * post, z * (t - TRPERIOD) * post])
    return data, X


def test_within_state_newey_west_matches_statsmodels_panel_hac(cigsales):
    """Our default keeps lag products within each state: statsmodels OLS with HAC lag 1 per state
    (hac-panel), n/(n-k), and t(n-k) computed here (statsmodels' hac-panel t uses the number of groups)."""
    within = fit_its(
        cigsales, TRPERIOD, time="t", value="cigsale", group="state_id", treated=CALIFORNIA,
        options=replace(ITSA, hac_across_series=False),
    )  # fmt: skip
    data, X = _itsa_design(cigsales)
    fit = sm.OLS(data.cigsale.to_numpy(float), X).fit(
        cov_type="hac-panel", cov_kwds={"groups": data.state_id.to_numpy(), "maxlags": 1, "use_correction": "hac"}
    )
    df = len(data) - X.shape[1]
    assert list(within.coefficients.values()) == pytest.approx(list(fit.params), abs=1e-9)
    for estimate, column in ((within.difference_in_level_change, 6), (within.difference_in_slope_change, 7)):
        assert estimate.se == pytest.approx(fit.bse[column], rel=1e-9)
        p = 2 * stats.t.sf(abs(fit.params[column] / fit.bse[column]), df)
        assert estimate.p_value == pytest.approx(p, rel=1e-9)
        half = stats.t.ppf(0.975, df) * fit.bse[column]
        assert (estimate.ci_low, estimate.ci_high) == pytest.approx(
            (fit.params[column] - half, fit.params[column] + half), rel=1e-9
        )
    assert within.diagnostics["df_level_change"] == df == 1201


def test_itsa_from_the_command_line(reference_dir, itsa, tmp_path):
    path = tmp_path / "cigsales.csv"
    pd.read_csv(reference_dir / "cigsales_prop99.csv").assign(t=lambda f: f.year - FIRST_YEAR).to_csv(path)
    parser = argparse.ArgumentParser()
    cli_analyse.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["analyse", "its", "--input", str(path), "--time", "t", "--value", "cigsale", "--intervention",
         str(TRPERIOD), "--family", "gaussian", "--group", "state_id", "--treated", str(CALIFORNIA),
         "--slope-origin", "first-post", "--comparison-intercepts", "shared", "--standard-errors", "newey-west",
         "--hac-lags", "1", "--small-sample", "--hac-across-series"]
    )  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    document = json.loads(out.getvalue())
    assert document["coefficients"] == pytest.approx(itsa.coefficients, abs=1e-9)
    assert document["difference_in_level_change"] == pytest.approx(itsa.difference_in_level_change.to_dict())
    assert document["difference_in_level_change"]["p_value"] == pytest.approx(0.631, abs=5e-4)
    assert document["difference_in_slope_change"]["p_value"] == pytest.approx(0.136, abs=5e-4)
    assert document["level_change"]["estimate"] == pytest.approx(-20.0581, abs=5e-5)
    assert document["n_comparison"] == 38 * 31 and document["standard_errors"] == "newey-west"
    assert {row["quantity"] for row in document["table"]} >= {"average_effect", "difference_in_level_change"}
