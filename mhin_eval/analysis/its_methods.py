"""The methods paragraph of an ITS result: what was fitted, how its intervals were made, references."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mhin_eval.analysis.its_data import _label, _Prepared
from mhin_eval.analysis.its_inference import _Fit

if TYPE_CHECKING:
    from mhin_eval.analysis.its import ITSOptions

REFERENCES = {
    "lopez_bernal_2017": (
        "Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the evaluation "
        "of public health interventions: a tutorial. Int J Epidemiol 2017;46(1):348-355."
    ),
    "lopez_bernal_2018": (
        "Lopez Bernal J, Cummins S, Gasparrini A. The use of controls in interrupted time series studies "
        "of public health interventions. Int J Epidemiol 2018;47(6):2082-2093."
    ),
    "newey_west_1987": (
        "Newey WK, West KD. A simple, positive semi-definite, heteroskedasticity and autocorrelation "
        "consistent covariance matrix. Econometrica 1987;55(3):703-708."
    ),
    "liang_zeger_1986": (
        "Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models. Biometrika "
        "1986;73(1):13-22."
    ),
    "marriott_pope_1954": (
        "Marriott FHC, Pope JA. Bias in the estimation of autocorrelations. Biometrika 1954;41(3/4):390-402."
    ),
    "satterthwaite_1946": (
        "Satterthwaite FE. An approximate distribution of estimates of variance components. Biometrics "
        "Bulletin 1946;2(6):110-114."
    ),
    "giesbrecht_burns_1985": (
        "Giesbrecht FG, Burns JC. Two-stage analysis based on a mixed model: large-sample asymptotic "
        "theory and small-sample simulation results. Biometrics 1985;41(2):477-486."
    ),
    "turner_2021": (
        "Turner SL, Forbes AB, Karahalios A, Taljaard M, McKenzie JE. Evaluation of statistical methods "
        "used in the analysis of interrupted time series studies: a simulation study. BMC Med Res "
        "Methodol 2021;21:181."
    ),
    "welch_1947": (
        "Welch BL. The generalization of 'Student's' problem when several different population variances are "
        "involved. Biometrika 1947;34(1/2):28-35."
    ),
    "linden_2015": (
        "Linden A. Conducting interrupted time-series analysis for single- and multiple-group comparisons. "
        "Stata Journal 2015;15(2):480-500."
    ),
    "prais_winsten_1954": (
        "Prais SJ, Winsten CB. Trend estimators and serial correlation. Cowles Commission Discussion "
        "Paper No. 383, Chicago, 1954."
    ),
}


def _methods(
    prepared: _Prepared,
    options: ITSOptions,
    value: str,
    offset: str | None,
    fit: _Fit,
    count: bool,
    level_df: float,
) -> str:
    go_live = _label(
        pd.Timestamp(prepared.frame["period"].iloc[0])
        + pd.DateOffset(months=prepared.intervention_t - int(prepared.frame["t"].iloc[0]))
        if prepared.dates
        else prepared.intervention_t,
        prepared.dates,
    )
    refs = [REFERENCES["lopez_bernal_2017"]]
    parts = [
        f"Interrupted time series analysis by segmented regression of {value} on time (Lopez Bernal et al. 2017), "
        f"with a level change at go-live ({go_live})"
        + (
            (
                " and a slope change centred at the last pre-period point, so the level change is the step at "
                "the interruption."
                if options.slope_origin == "last-pre"
                else " and a slope change counted from the first post-period point, so the level change is the "
                "change at that point (Linden 2015, Stata itsa)."
            )
            if options.slope_change
            else "; no slope change was modelled."
        )
    ]
    family_text = {
        "gaussian": "Ordinary least squares (gaussian)",
        "poisson": "A Poisson generalised linear model with log link",
        "quasipoisson": (
            "A quasi-Poisson generalised linear model with log link, its scale set to the Pearson "
            f"chi-squared divided by the residual degrees of freedom ({fit.scale_used:.3g})"
        ),
        "negbin": (
            "A negative binomial (NB2) model with log link, its dispersion estimated by maximum "
            f"likelihood (alpha = {fit.extra.get('alpha', float('nan')):.3g})"
        ),
    }[options.family]
    if options.prais_winsten:
        family_text = (
            "Prais-Winsten regression with AR(1) errors, keeping the first observation of each series "
            f"(Prais & Winsten 1954; iterated rho = {fit.extra['rho']:.3f})"
        )
        refs.append(REFERENCES["prais_winsten_1954"])
    parts.append(
        family_text + (f", with log({offset}) as offset, was fitted." if offset else ", was fitted.")
    )
    if prepared.controlled:
        count_comparison = len(prepared.comparison_labels)
        parts.append(
            f"The treated series ({prepared.treated_label}) was compared with "
            + (
                f"{count_comparison} pooled comparison series ("
                + ("own intercepts" if options.comparison_intercepts == "each" else "one shared intercept")
                + "; shared trend, level and slope change)"
                if count_comparison > 1
                else f"the comparison series {prepared.comparison_labels[0]}"
            )
            + "; treated-by-period interactions give the difference in level"
            + (" and slope" if options.slope_change else "")
            + " change"
            + (
                " as ratios of rate ratios (Lopez Bernal et al. 2018)."
                if count
                else " (Lopez Bernal et al. 2018)."
            )
        )
        refs.append(REFERENCES["lopez_bernal_2018"])
    if options.slope_origin == "first-post" or (
        prepared.controlled and options.comparison_intercepts == "shared"
    ):
        refs.append(REFERENCES["linden_2015"])
    if options.harmonics:
        parts.append(
            f"Seasonality was modelled by {options.harmonics} Fourier pair{'s' if options.harmonics > 1 else ''} "
            f"(sine and cosine) with period {options.period}."
        )
    else:
        parts.append("No seasonal terms were included.")
    if options.newey_west:
        convention = (
            "with the n/(n-k) small-sample adjustment and t inference on n-k degrees of freedom (Stata newey)"
            if options.small_sample
            else "without small-sample adjustment and with normal (z) inference (R sandwich::NeweyWest)"
        )
        within = ", autocorrelation terms kept within each series" if prepared.controlled else ""
        if prepared.controlled and options.hac_across_series:
            within = (
                ", the series laid end to end in label order so that lag products also cross from one series "
                "to the next (as Stata itsa 3.x, glm with vce(hac nwest), on a stacked panel)"
            )
        parts.append(
            f"Standard errors are Newey-West (Newey & West 1987) with lag {options.hac_lags}, Bartlett weights, "
            f"no prewhitening{within}, {convention}."
        )
        refs.append(REFERENCES["newey_west_1987"])
    elif options.ar1:
        within = " within each series and independent between series" if prepared.controlled else ""
        if options.family not in ("gaussian", "quasipoisson"):
            scale_text = "the scale fixed at 1 by the family"
        elif prepared.controlled:
            scale_text = (
                "a scale for each series, its Pearson chi-squared over its expectation under that correlation "
                f"({fit.extra['ar1_scale']:.3g} for the treated series), so noisy comparison series do not set the "
                "precision of the treated series' changes"
            )
        else:
            scale_text = (
                f"the scale re-estimated as the Pearson chi-squared over its expectation under that correlation "
                f"({fit.extra['ar1_scale']:.3g})"
            )
        parts.append(
            "Standard errors allow for first-order autocorrelation: the estimates are unchanged and their "
            "covariance is a sandwich with an AR(1) working correlation"
            f"{within} (Liang & Zeger 1986), its rho ({fit.extra['ar1_rho']:.3f}) estimated from the lag-1 "
            f"autocorrelation of the {'Pearson ' if count else ''}residuals ({fit.extra['ar1_lag1_autocorrelation']:.3f}) "
            "corrected for small-sample bias by matching its expectation under the fitted design (Marriott & "
            f"Pope 1954; Turner et al. 2021 on the underestimation of autocorrelation in short series), and {scale_text}."
        )
        refs += [REFERENCES[key] for key in ("liang_zeger_1986", "marriott_pope_1954", "turner_2021")]
    elif fit.series_scales is not None:
        parts.append(
            "Standard errors are model-based with a residual scale for each series (its Pearson chi-squared over "
            "its own residual degrees of freedom, the number of its periods minus the leverages of its rows), so "
            "the treated series' changes take their precision from the treated series alone and noisy comparison "
            "series cannot narrow or widen them."
        )
        refs.append(REFERENCES["welch_1947"])
    else:
        parts.append(
            "Standard errors are model-based"
            + (" (scaled by the quasi-Poisson dispersion)." if options.family == "quasipoisson" else ".")
        )
    level = f"{options.conf_level:.0%}"
    if fit.ar1 is not None:
        distribution = (
            "t distribution with Satterthwaite degrees of freedom for each estimate, allowing for the "
            f"estimation of rho and the scale (Satterthwaite 1946; Giesbrecht & Burns 1985; {level_df:.1f} for "
            f"the {'difference in ' if prepared.controlled else ''}level change, at most {fit.ar1.max_df:.0f}"
            + (
                ", the treated series' own residual degrees of freedom less one)"
                if prepared.controlled
                else ")"
            )
        )
        refs += [REFERENCES["satterthwaite_1946"], REFERENCES["giesbrecht_burns_1985"]]
    elif fit.use_t and fit.series_scales is not None:
        distribution = (
            "t distribution with Welch-Satterthwaite degrees of freedom combining each series' residual "
            f"degrees of freedom (Welch 1947; {level_df:.1f} for the "
            f"{'difference in ' if prepared.controlled else ''}level change; the treated series alone has "
            f"{fit.series_scales.df[0]:.0f})"
        )
    elif fit.use_t:
        distribution = f"t distribution on {fit.df_resid} degrees of freedom"
    else:
        distribution = "normal distribution"
    parts.append(
        f"{level} Wald confidence intervals use the "
        + distribution
        + ("; ratios and their intervals are exponentiated from the log scale." if count else ".")
    )
    parts.append(
        f"The headline effect is averaged over the first {options.horizon} months after go-live"
        + (
            " (the sum of the fitted counts over the sum of the counterfactual counts, its interval by the delta "
            "method on the log scale)."
            if count
            else " (the mean of fitted minus counterfactual values)."
        )
    )
    parts.append(
        f"Relative and absolute effects are reported {options.horizon} periods after the last pre-period point "
        "against the counterfactual (the pre-period trend extended"
        + (", plus the comparison group's change" if prepared.controlled else "")
        + "), with delta-method intervals for absolute and cumulative effects."
    )
    return " ".join(parts) + "\n\nReferences: " + " ".join(refs)
