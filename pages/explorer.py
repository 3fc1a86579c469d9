"""ITS explorer: choose a series, go-live and model options; see estimates, chart, diagnostics and methods."""

import pandas as pd
import streamlit as st

from mhin_eval import evaluate
from mhin_eval.analysis.its import FAMILIES
from mhin_eval.analysis.results import AnalysisError
from mhin_eval.ui import analyses, auth, components, context, state

access = auth.page_access()

cat = context.catalogue()
st.title("Interrupted time series explorer")
st.markdown("Fit a segmented regression to any stored series and see how the result depends on the model.")

with st.sidebar:
    project_id = state.choose("Project", access.project_ids(cat), "project", format_func=lambda p: cat.project(p).short_name)
    site_id = state.choose("Site", [s.id for s in access.sites_of(cat, project_id)], "site",
                           format_func=lambda s: cat.site(s).name)
    indicators = cat.indicators_of(project_id, "series")
    indicator_id = state.choose("Indicator", [i.id for i in indicators], "indicator",
                                format_func=lambda i: cat.indicator(project_id, i).label)
site = cat.site(site_id)
indicator = cat.indicator(project_id, indicator_id)
series = analyses.project_series(project_id)
rows = series[(series["site"] == site_id) & (series["indicator"] == indicator_id)]
groups = ["all"] + sorted(rows.loc[rows["breakdown"] != "all", "group"].unique().tolist())
defaults = evaluate.default_its_options(cat, indicator)

left, right = st.columns(2)
with left:
    group = st.selectbox("Group", groups, key="its-group",
                         format_func=lambda g: "All groups together" if g == "all" else g)
    months = sorted({pd.Timestamp(p).date() for p in rows["period"]} | {site.go_live})
    go_live = st.selectbox(
        "Go-live (first month after)", months, index=months.index(site.go_live), key="its-go-live",
        format_func=lambda m: f"{m:%B %Y}" + (" (catalogue)" if m == site.go_live else ""),
        help="The first month of the post-intervention period; the catalogue's go-live is marked.",
    )
    family = st.selectbox("Model family", FAMILIES, index=FAMILIES.index(defaults.family), key="its-family",
                          help="Counts: Poisson, quasi-Poisson (overdispersion by Pearson χ²/df) or negative binomial; "
                               "continuous: gaussian (least squares).")
    comparisons = st.multiselect(
        "Comparison series (controlled ITS)",
        [s.id for s in cat.sites_of(project_id, include_comparison=True) if s.id != site_id],
        default=[c for c in site.comparison_sites], key="its-comparisons", format_func=lambda s: cat.site(s).name)
with right:
    harmonics = st.slider("Seasonality (Fourier pairs)", 0, 4, defaults.harmonics, key="its-harmonics")
    error_models = ["ar1", "newey-west", "model"] + (["prais-winsten"] if family == "gaussian" else [])
    error_names = {"ar1": "AR(1)-corrected (default)", "newey-west": "Newey–West", "model": "Model-based",
                   "prais-winsten": "Prais–Winsten AR(1) (gaussian)"}
    standard_errors = st.selectbox(
        "Standard errors", error_models, key="its-standard-errors", format_func=error_names.get,
        index=error_models.index(defaults.standard_errors) if defaults.standard_errors in error_models else 0,
        help="AR(1) reaches nominal coverage in short series (docs/its-coverage.md); Newey–West and Prais–Winsten "
             "reproduce published analyses; model-based assumes independent errors.")
    hac_lags = st.number_input("Newey–West lag (months)", 0, 24, int(defaults.hac_lags or 3), key="its-hac-lags",
                               disabled=standard_errors != "newey-west")
    small_sample = st.toggle("Small-sample adjustment (n/(n−k), t inference)", value=defaults.small_sample,
                             key="its-small-sample", disabled=standard_errors != "newey-west")
    slope = st.toggle("Model a slope change", value=True, key="its-slope")
    horizon = st.slider("Effect horizon (months after go-live)", 1, 36, defaults.horizon, key="its-horizon")

try:
    options = evaluate.default_its_options(
        cat, indicator, family=family, harmonics=harmonics, standard_errors=standard_errors, hac_lags=int(hac_lags),
        small_sample=small_sample and standard_errors == "newey-west", slope_change=slope, horizon=horizon,
    )
except AnalysisError as exc:
    st.error(str(exc))
    st.stop()

breakdown = "all" if group == "all" else rows.loc[rows["group"] == group, "breakdown"].iloc[0]
result = components.its_block(project_id, site, indicator, key="explorer", options=options,
                              comparisons=tuple(comparisons), breakdown=breakdown, group=group, details=False,
                              go_live=go_live if go_live != site.go_live else None)
if result is not None:
    st.subheader("Estimates and diagnostics")
    components.its_details(result, indicator)
