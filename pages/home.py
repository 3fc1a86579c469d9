"""Home: the network's projects and sites, what data each has, and how fresh it is."""

import streamlit as st

from mhin_eval import charts, charts_ranked
from mhin_eval.coverage import labelled
from mhin_eval.text import plain
from mhin_eval.ui import auth, components, context, many_sites

access = auth.page_access()

cat = context.catalogue()
scope = access.data_scope(cat)

st.title("MHIN evaluation dashboard")
st.markdown(
    "Outcomes of the Mental Health Implementation Network's projects at each partner site: "
    "before-and-after comparisons and interrupted time series around each site's go-live date."
)

st.header("Projects and sites")
projects = [cat.project(p) for p in access.project_ids(cat)]
sites = {p.id: access.sites_of(cat, p.id) for p in projects}
many = {p.id for p in projects if len(sites[p.id]) > many_sites.FEW_SITES}
columns = st.columns(len(projects))
for column, project in zip(columns, projects, strict=True):
    with column.container(border=True):
        st.subheader(plain(project.short_name))
        st.caption(plain(project.name))
        st.markdown(plain(project.summary))
        if project.id in many:
            st.markdown(f"**{len(sites[project.id]):,} sites**, go-live "
                        f"{min(s.go_live for s in sites[project.id]):%B %Y} to "
                        f"{max(s.go_live for s in sites[project.id]):%B %Y}.")
        else:
            st.markdown("\n".join(f"- **{plain(site.name)}**: go-live {site.go_live:%B %Y}" for site in sites[project.id]))
        st.markdown(f"*Outcomes:* {plain(project.outcomes)}")

st.header("Data coverage")
if many:
    st.caption("Each row is one indicator; the darker a cell, the more of the sites with that indicator have data "
               "that month. Below each chart, the sites' series with missing months.")
else:
    st.caption("Each row is one site's indicator; a filled cell is a month with data, a white cell a missing month.")
coverage = None if len(many) == len(projects) else context.coverage(scope)
if coverage is not None and coverage.empty:
    st.info("No indicator data is stored yet. Upload an extract or run `python -m mhin_eval seed`.")
else:
    tabs = components.lazy_tabs([plain(p.short_name) for p in projects], key="coverage")
    for project in projects:
        if tab := tabs.get(plain(project.short_name)):
            with tab:
                title = f"{project.short_name}: months with data"
                if project.id in many:
                    shares, gaps = context.coverage_summary(project.id, scope)
                    components.chart(lambda s=shares, t=title: charts_ranked.coverage_share_heatmap(s, title=t),
                                     key=f"coverage-{project.id}", cached=("coverage-share", project.id, title))
                    if gaps.empty:
                        st.caption("Every site has data in every month.")
                    else:
                        st.markdown(f"**Site series with missing months** ({len(gaps):,})")
                        st.table(components.plain_table(
                            many_sites.paginated(gaps, key=f"coverage-page-{project.id}").set_index("Site")))
                else:
                    subset = coverage[coverage["project"] == project.id]
                    components.chart(lambda s=subset, t=title: charts.coverage_heatmap(labelled(s, cat), title=t),
                                     key=f"coverage-{project.id}", cached=("coverage", project.id, title))

st.header("Data freshness")
many_sites.freshness_section(scope, key="home")
