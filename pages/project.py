"""One page for every catalogue project: sections follow the indicators' metadata, not project-specific code.
Each section is a tab whose content is computed and drawn only when it is open."""

import streamlit as st

from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, exports, many_sites, sections, state

access = auth.page_access()

cat = context.catalogue()
project_id = state.choose("Project", access.project_ids(cat), "project",
                          format_func=lambda p: cat.project(p).short_name, container=st.sidebar)
project = cat.project(project_id)
st.title(plain(project.name))
st.markdown(plain(project.summary))
sites = access.sites_of(cat, project_id)
many = len(sites) > many_sites.FEW_SITES
if many:
    st.caption(f"{len(sites)} sites, go-live {min(s.go_live for s in sites):%B %Y} to "
               f"{max(s.go_live for s in sites):%B %Y}.")
else:
    st.caption(" · ".join(f"**{plain(s.name)}**: go-live {s.go_live:%B %Y}" for s in sites))
charted = many_sites.chosen_sites(sites, key=f"charted-{project_id}", container=st.sidebar)
per_row = 2 if many else len(sites)
exports.export_buttons(project_id)

series_indicators = cat.indicators_of(project_id, "series")
participant_indicators = cat.indicators_of(project_id, "participant")
equity_indicators = [i for i in series_indicators if "ethnicity" in i.breakdowns]
shown = {
    "Outcomes over time": bool(series_indicators),
    "Uptake": any(i.funnel_stage for i in series_indicators),
    "Equity by ethnicity": bool(equity_indicators),
    "Before and after": bool(participant_indicators),
    "Facilitators and barriers": True,
}
tabs = components.lazy_tabs([label for label, wanted in shown.items() if wanted])

if tab := tabs.get("Outcomes over time"):
    with tab:
        indicator_id = state.choose("Indicator", [i.id for i in series_indicators], "indicator",
                                    format_func=lambda i: cat.indicator(project_id, i).label, horizontal=True)
        indicator = cat.indicator(project_id, indicator_id)
        if many:
            many_sites.ranked_chart(project_id, indicator, analyses.results_of_record(project_id),
                                    key=f"ranked-{project_id}-{indicator.id}")
        for column, site in many_sites.chart_grid(charted, per_row):
            with column:
                components.its_block(project_id, site, indicator, key=f"{project_id}-{site.id}-{indicator.id}",
                                     comparisons=site.comparison_sites)

if tab := tabs.get("Uptake"):
    with tab:
        sections.funnel_section(project_id, charted)

if tab := tabs.get("Equity by ethnicity"):
    with tab:
        sections.equity_section(project_id, charted, equity_indicators)

if tab := tabs.get("Before and after"):
    with tab:
        measure_id = state.choose("Measure", [i.id for i in participant_indicators], "measure",
                                  format_func=lambda i: cat.indicator(project_id, i).label, horizontal=True)
        measure = cat.indicator(project_id, measure_id)
        for column, site in many_sites.chart_grid(charted, per_row):
            with column:
                components.prepost_block(project_id, site, measure, key=f"{project_id}-{site.id}-{measure.id}")
        for breakdown in measure.breakdowns:
            sections.stratified_section(project_id, charted, measure, breakdown)

if tab := tabs.get("Facilitators and barriers"):
    with tab:
        sections.findings_section(project_id, charted, heading=False)
