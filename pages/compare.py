"""Compare sites: forest plots and pooled effects per indicator."""

import streamlit as st

from mhin_eval import charts
from mhin_eval.ui import analyses, auth, components, context, state
from mhin_eval.wording import change_phrase

access = auth.page_access()

cat = context.catalogue()
project_id = state.choose("Project", access.project_ids(cat), "project", format_func=lambda p: cat.project(p).short_name,
                          container=st.sidebar)
project = cat.project(project_id)
st.title(f"Compare sites: {project.short_name}")
st.markdown("Each site's estimate with its 95% confidence interval, and the sites pooled by random-effects "
            "meta-analysis. With few sites the pooled estimate and especially the prediction interval are imprecise.")

indicators = cat.indicators_of(project_id)
indicator_id = state.choose("Indicator", [i.id for i in indicators], "indicator",
                            format_func=lambda i: cat.indicator(project_id, i).label)
indicator = cat.indicator(project_id, indicator_id)
method = st.segmented_control("Pooling method", ["DL", "PM", "REML", "FE"], default="DL", key="pool-method",
                              help="DerSimonian–Laird, Paule–Mandel, restricted maximum likelihood, or fixed effect")
which = "level_change"
if indicator.source == "series":
    which = st.radio("Estimate", ["level_change", "slope_change"], horizontal=True, key="pool-which",
                     format_func=lambda w: {"level_change": "Level change at go-live",
                                            "slope_change": "Slope change per month"}[w])

result = analyses.pooled(project_id, indicator_id, method or "DL", which)
if isinstance(result, str):
    st.info(result)
else:
    if result.pooled is not None:
        st.markdown(f"**Pooled across {result.k} sites, {indicator.label} {change_phrase(result.pooled, indicator.unit)}.**")
    st.plotly_chart(charts.forest_plot(result, title=f"{indicator.label}: sites and pooled estimate",
                                       x_title="Rate ratio" if result.scale == "ratio" else f"Difference ({indicator.unit})"),
                    theme=None, key=f"forest-{project_id}-{indicator_id}")
    components.show_warnings(result.warnings)
    with st.expander("Heterogeneity and methods"):
        st.dataframe(result.sites, hide_index=True)
        st.markdown(result.methods)
