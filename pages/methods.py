"""Methods: plain-English methods and assumptions generated from the options the analyses used."""

import streamlit as st

from mhin_eval.analysis import equity, spc, synth
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, context

access = auth.page_access()

cat = context.catalogue()
st.title("Methods and assumptions")
st.markdown(
    "How each number on this dashboard is produced. The paragraphs below are generated from the same "
    "options and fitted models that the pages use, so they change when the settings change."
)

st.header("Settings")
st.markdown(
    f"- A time series' headline is its average change over the first {cat.setting('horizon_months')} months after go-live "
    "against the expected trend (against the comparison series too where a site has them); Compare sites pools "
    "that same number.\n"
    f"- Monthly seasonality: {cat.setting('seasonal_harmonics')} Fourier pairs (period {cat.setting('seasonal_period')}).\n"
    + (
        "- Standard errors allow for first-order autocorrelation of the residuals (AR(1) working correlation; "
        "its interval coverage is measured in docs/its-coverage.md).\n"
        if cat.setting("standard_errors") == "ar1"
        else f"- Newey–West standard errors with lag {cat.setting('hac_lags')} months and the small-sample adjustment.\n"
    )
    + f"- No estimate with fewer than {cat.setting('min_points_each_side')} points on either side of go-live; "
    f"a low-power warning with fewer than {cat.setting('low_power_points')}.\n"
    f"- Counts from 1 to {cat.setting('disclosure_threshold')} are suppressed in views shared outside the evaluation team."
)

for project in (cat.project(p) for p in access.project_ids(cat)):
    st.header(plain(project.name))
    for indicator in cat.indicators_of(project.id):
        for site in access.sites_of(cat, project.id):
            result = (analyses.its(project.id, site.id, indicator.id) if indicator.source == "series"
                      else analyses.prepost(project.id, site.id, indicator.id))
            if not isinstance(result, str):
                kind = "Interrupted time series" if indicator.source == "series" else "Before and after"
                with st.expander(plain(f"{indicator.label} ({kind}, {site.name} as the example)")):
                    st.markdown(plain(result.methods))
                break

st.header("Across sites, equity and process control")
pooled = analyses.pooled(cat.project_ids[0], cat.indicators_of(cat.project_ids[0], "series")[0].id)
if not isinstance(pooled, str):
    st.markdown(pooled.methods)
st.markdown(equity.RATES_METHODS)
st.markdown(equity.RATIOS_METHODS)
st.markdown(equity.CHANGE_METHODS)
st.markdown(spc.METHODS)
st.markdown(synth.METHODS_TEXT)
st.subheader("Process control: where this differs from NHSRplotthedots")
st.markdown(spc.DIFFERENCES)
