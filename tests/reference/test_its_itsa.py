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
gives the control states one shared intercept, and fits OLS with Newey-West lag 1, n/(n-k) and
t(n-k) (Stata ``newey``).

Data: shared/reference/cigsales_prop99.csv (Abadie, Diamond & Hainmueller 2010), the same 39 states
x 31 years as itsa's cigsales.dta.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json

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


@pytest.mark.xfail(
    strict=True,
    reason=(
        "Published P = 0.136 for _z_x_t1989; ours is 0.1368 (SE 0.66575, t(1201)). Newey-West terms here stay "
        "within each state; letting the lag-1 products run across the stacked states (last year of one state "
        "with the first of the next) gives SE 0.66460 and P = 0.1361, so the printed value looks computed with "
        "lags across panels. Not emulated: autocorrelation between different states is not a model anyone means."
    ),
)
def test_itsa_difference_in_slope_change_p_value_matches(itsa):
    # power_itsa.sthlp: "the coefficient for _z_x_t1989 ... is not statistically significant (P = 0.136)"
    assert itsa.difference_in_slope_change.p_value == pytest.approx(0.136, abs=_half_unit("0.136"))


def test_itsa_fit_matches_statsmodels_ols_with_panel_newey_west(cigsales, itsa):
    """Independent computation: statsmodels OLS on itsa's design, HAC lag 1 within each state, n/(n-k)."""
    data = cigsales.sort_values(["state_id", "year"])
    t = data.t.to_numpy(float)
    post = (t >= TRPERIOD).astype(float)
    z = (data.state_id == CALIFORNIA).to_numpy(float)
    X = np.column_stack([np.ones_like(t), t, post, (t - TRPERIOD) * post, z, z * t, z * post, z * (t - TRPERIOD) * post])
    fit = sm.OLS(data.cigsale.to_numpy(float), X).fit(
        cov_type="hac-panel", cov_kwds={"groups": data.state_id.to_numpy(), "maxlags": 1, "use_correction": "hac"}
    )
    df = len(data) - X.shape[1]
    assert list(itsa.coefficients.values()) == pytest.approx(list(fit.params), abs=1e-9)
    for estimate, column in ((itsa.difference_in_level_change, 6), (itsa.difference_in_slope_change, 7)):
        assert estimate.se == pytest.approx(fit.bse[column], rel=1e-9)
        p = 2 * stats.t.sf(abs(fit.params[column] / fit.bse[column]), df)
        assert estimate.p_value == pytest.approx(p, rel=1e-9)
        half = stats.t.ppf(0.975, df) * fit.bse[column]
        assert (estimate.ci_low, estimate.ci_high) == pytest.approx(
            (fit.params[column] - half, fit.params[column] + half), rel=1e-9
        )
    assert itsa.diagnostics["df_level_change"] == df == 1201


def test_itsa_from_the_command_line(reference_dir, itsa, tmp_path):
    path = tmp_path / "cigsales.csv"
    pd.read_csv(reference_dir / "cigsales_prop99.csv").assign(t=lambda f: f.year - FIRST_YEAR).to_csv(path)
    parser = argparse.ArgumentParser()
    cli_analyse.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["analyse", "its", "--input", str(path), "--time", "t", "--value", "cigsale", "--intervention",
         str(TRPERIOD), "--family", "gaussian", "--group", "state_id", "--treated", str(CALIFORNIA),
         "--slope-origin", "first-post", "--comparison-intercepts", "shared", "--standard-errors", "newey-west",
         "--hac-lags", "1", "--small-sample"]
    )  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    document = json.loads(out.getvalue())
    assert document["coefficients"] == pytest.approx(itsa.coefficients, abs=1e-9)
    assert document["difference_in_level_change"] == pytest.approx(itsa.difference_in_level_change.to_dict())
    assert document["difference_in_level_change"]["p_value"] == pytest.approx(0.631, abs=5e-4)
    assert document["level_change"]["estimate"] == pytest.approx(-20.0581, abs=5e-5)
    assert document["n_comparison"] == 38 * 31 and document["standard_errors"] == "newey-west"
    assert {row["quantity"] for row in document["table"]} >= {"average_effect", "difference_in_level_change"}
