"""Compare sites: each site's headline result (its result of record) in a forest plot, and the sites pooled."""

import streamlit as st

from mhin_eval import charts, record
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, many_sites, state
from mhin_eval.wording import change_phrase

access = auth.page_access()

cat = context.catalogue()
project_id = state.choose("Project", access.project_ids(cat), "project", format_func=lambda p: cat.project(p).short_name,
                          container=st.sidebar)
project = cat.project(project_id)
st.title(f"Compare sites: {plain(project.short_name)}")
st.markdown("Each site's headline result with its 95% confidence interval, as on the overview and site pages, and "
            "the sites pooled by random-effects meta-analysis. With few sites the pooled estimate and especially the "
            "prediction interval are imprecise.")

indicators = cat.indicators_of(project_id)
indicator_id = state.choose("Indicator", [i.id for i in indicators], "indicator",
                            format_func=lambda i: cat.indicator(project_id, i).label)
indicator = cat.indicator(project_id, indicator_id)
method = st.segmented_control("Pooling method", ["DL", "PM", "REML", "FE"], default="DL", key="pool-method",
                              help="DerSimonian–Laird, Paule–Mandel, restricted maximum likelihood, or fixed effect")

records = [r for r in analyses.results_of_record(project_id) if r.indicator == indicator_id]
quantity = record.pooled_quantity(records, indicator)
if quantity:
    st.caption(plain(f"Pooled: each site's {quantity}."))
result = analyses.pooled(project_id, indicator_id, method or "DL")
if isinstance(result, str):
    st.info(plain(result))
else:
    if result.pooled is not None:
        st.markdown(f"**{plain(f'Pooled across {result.k} sites, {indicator.label} {change_phrase(result.pooled, indicator.unit)}.')}**")
    if len(records) > many_sites.FOREST_MAX_SITES:
        many_sites.ranked_chart(project_id, indicator, records, key=f"ranked-{project_id}-{indicator_id}",
                                method=method or "DL")
    else:
        title = f"{indicator.label}: sites and pooled estimate"
        x_title = "Ratio of observed to expected" if result.scale == "ratio" else f"Difference ({indicator.unit})"
        components.chart(lambda: charts.forest_plot(result, title=title, x_title=x_title),
                         key=f"forest-{project_id}-{indicator_id}",
                         cached=("forest", project_id, indicator_id, method or "DL", title, x_title))
    components.show_warnings(result.warnings)
table = components.compare_frame(records, None if isinstance(result, str) else result)
st.table(components.plain_table(many_sites.paginated(table, key=f"compare-page-{project_id}").set_index("Site")))
if not isinstance(result, str):
    with st.expander("Heterogeneity and methods"):
        st.markdown(result.methods)
