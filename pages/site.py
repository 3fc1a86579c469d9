"""Site page: everything for one site, for a partner site checking its own indicators."""

import streamlit as st

from mhin_eval import charts
from mhin_eval.ui import analyses, auth, components, context, exports, sections, state

access = auth.page_access()

cat = context.catalogue()
sites = [s for s in cat.sites if not s.is_comparison and access.allows_site(s.id)]
site_id = state.choose("Site", [s.id for s in sites], "site", format_func=lambda s: cat.site(s).name,
                       container=st.sidebar)
site = cat.site(site_id)
project = cat.project(site.project)
state.remember("project", project.id)

st.title(site.name)
st.markdown(f"**{project.name}** · go-live {site.go_live:%B %Y}" + (f" · {site.delivery}" if site.delivery else ""))
if site.fidelity_score is not None:
    st.caption(f"Assertive-outreach fidelity: {site.fidelity_score} of 6 core components.")
exports.export_buttons(project.id, site_id)

st.header("Results at a glance")
st.table(components.headline_frame([h for h in analyses.headlines(project.id) if h.site == site_id],
                                   include_site=False).set_index("Indicator"))

series_indicators = cat.indicators_of(project.id, "series")
if series_indicators:
    st.header("Indicator detail")
    indicator_id = state.choose("Indicator", [i.id for i in series_indicators], "indicator",
                                format_func=lambda i: cat.indicator(project.id, i).label)
    indicator = cat.indicator(project.id, indicator_id)
    its_tab, spc_tab = st.tabs(["Change at go-live (time series)", "Statistical process control"])
    with its_tab:
        components.its_block(project.id, site, indicator, key=f"site-{site_id}-{indicator_id}",
                             comparisons=site.comparison_sites)
    with spc_tab:
        result = analyses.spc_chart_data(project.id, site_id, indicator_id)
        if isinstance(result, str):
            st.info(result)
        else:
            unit = f"per {indicator.rate_per:,.0f}" if indicator.kind == "rate" else indicator.unit
            st.plotly_chart(charts.spc_chart(result, title=f"{indicator.label}: {site.name}", y_title=unit.capitalize(),
                                             unit=unit), theme=None, key=f"spc-{site_id}-{indicator_id}")
            st.caption("Making Data Count XmR chart; limits recalculated from go-live.")
            components.show_warnings(result.warnings)

participant_indicators = cat.indicators_of(project.id, "participant")
if participant_indicators:
    st.header("Before and after")
    measure_id = state.choose("Measure", [i.id for i in participant_indicators], "measure",
                              format_func=lambda i: cat.indicator(project.id, i).label)
    components.prepost_block(project.id, site, cat.indicator(project.id, measure_id), key=f"site-{site_id}-{measure_id}")

sections.findings_section(project.id, (site,))
