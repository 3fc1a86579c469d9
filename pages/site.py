"""Site page: everything for one site, for a partner site checking its own indicators."""

import streamlit as st

from mhin_eval import charts
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, exports, sections, state, trust_context
from mhin_eval.ui import synth as synth_tab

access = auth.page_access()

cat = context.catalogue()
sites = [s for s in cat.sites if not s.is_comparison and access.allows_site(s.id)]
state.follow_project("site", {s.id: s.project for s in sites})
site_id = state.choose("Site", [s.id for s in sites], "site", format_func=lambda s: cat.site(s).name,
                       container=st.sidebar)
site = cat.site(site_id)
project = cat.project(site.project)
state.remember("project", project.id)

st.title(plain(site.name))
st.markdown(f"**{plain(project.name)}** · go-live {site.go_live:%B %Y}"
            + (f" · {plain(site.delivery)}" if site.delivery else ""))
if site.fidelity_score is not None:
    st.caption(f"Assertive-outreach fidelity: {site.fidelity_score} of 6 core components.")
exports.export_buttons(project.id, site_id)

st.header("Results at a glance")
st.table(components.plain_table(components.results_frame(
    [r for r in analyses.results_of_record(project.id) if r.site == site_id], include_site=False).set_index("Indicator")))

series_indicators = cat.indicators_of(project.id, "series")
participant_indicators = cat.indicators_of(project.id, "participant")
equity_indicators = [i for i in series_indicators if "ethnicity" in i.breakdowns]
shown = {  # every section of the project page that has data for one site
    "Change at go-live (time series)": bool(series_indicators),
    "Statistical process control": bool(series_indicators),
    "Uptake": any(i.funnel_stage for i in series_indicators),
    "Equity by ethnicity": bool(equity_indicators),
    "Before and after": bool(participant_indicators),
    "Against similar sites": site.donor_pool is not None,
    "Trust context": any(i.context for i in cat.indicators_of(project.id, "series", include_context=True)),
    "Facilitators and barriers": True,
}
tabs = components.lazy_tabs([label for label, wanted in shown.items() if wanted])


def chosen_indicator():
    indicator_id = state.choose("Indicator", [i.id for i in series_indicators], "indicator",
                                format_func=lambda i: cat.indicator(project.id, i).label)
    return cat.indicator(project.id, indicator_id)


if tab := tabs.get("Change at go-live (time series)"):
    with tab:
        indicator = chosen_indicator()
        components.its_block(project.id, site, indicator, key=f"site-{site_id}-{indicator.id}",
                             comparisons=site.comparison_sites)

if tab := tabs.get("Statistical process control"):
    with tab:
        indicator = chosen_indicator()
        result = analyses.spc_chart_data(project.id, site_id, indicator.id)
        if isinstance(result, str):
            st.info(plain(result))
        else:
            unit = f"per {indicator.rate_per:,.0f}" if indicator.kind == "rate" else indicator.unit
            title = f"{indicator.label}: {site.name}"
            components.chart(lambda: charts.spc_chart(result, title=title, y_title=unit.capitalize(), unit=unit),
                             key=f"spc-{site_id}-{indicator.id}", cached=("spc", project.id, site_id, indicator.id,
                                                                        title, unit))
            st.caption("Making Data Count XmR chart; limits recalculated from go-live.")
            components.show_warnings(result.warnings)

if tab := tabs.get("Uptake"):
    with tab:
        sections.funnel_section(project.id, (site,))

if tab := tabs.get("Equity by ethnicity"):
    with tab:
        sections.equity_section(project.id, (site,), equity_indicators)

if tab := tabs.get("Before and after"):
    with tab:
        measure_id = state.choose("Measure", [i.id for i in participant_indicators], "measure",
                                  format_func=lambda i: cat.indicator(project.id, i).label)
        components.prepost_block(project.id, site, cat.indicator(project.id, measure_id),
                                 key=f"site-{site_id}-{measure_id}")

if tab := tabs.get("Against similar sites"):
    with tab:
        synth_tab.against_similar_sites(project.id, site)

if tab := tabs.get("Trust context"):
    with tab:
        trust_context.trust_context(project.id, site)

if tab := tabs.get("Facilitators and barriers"):
    with tab:
        sections.findings_section(project.id, (site,), heading=False)
