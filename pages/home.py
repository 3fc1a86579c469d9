"""Home: the network's projects and sites, what data each has, and how fresh it is."""

import streamlit as st

from mhin_eval import charts
from mhin_eval.text import plain
from mhin_eval.ui import auth, components, context

access = auth.page_access()

cat = context.catalogue()

st.title("MHIN evaluation dashboard")
st.markdown(
    "Outcomes of the Mental Health Implementation Network's projects at each partner site: "
    "before-and-after comparisons and interrupted time series around each site's go-live date."
)

st.header("Projects and sites")
projects = [cat.project(p) for p in access.project_ids(cat)]
columns = st.columns(len(projects))
for column, project in zip(columns, projects, strict=True):
    with column.container(border=True):
        st.subheader(plain(project.short_name))
        st.caption(plain(project.name))
        st.markdown(plain(project.summary))
        lines = []
        for site in access.sites_of(cat, project.id):
            lines.append(f"- **{plain(site.name)}**: go-live {site.go_live:%B %Y}")
        st.markdown("\n".join(lines))
        st.markdown(f"*Outcomes:* {plain(project.outcomes)}")

st.header("Data coverage")
st.caption("Each row is one site's indicator; a filled cell is a month with data, a white cell a missing month.")
coverage = context.coverage(access.data_scope(cat))
if coverage.empty:
    st.info("No indicator data is stored yet. Upload an extract or run `python -m mhin_eval seed`.")
else:
    labels = {(i.project, i.id): i.label for i in cat.indicators}
    site_names = {s.id: s.name for s in cat.sites}
    coverage = coverage.assign(
        site_label=coverage["site"].map(site_names).fillna(coverage["site"]),
        indicator_label=[labels.get(k, k[1]) for k in zip(coverage["project"], coverage["indicator"], strict=True)],
    )
    tabs = st.tabs([plain(p.short_name) for p in projects])
    for tab, project in zip(tabs, projects, strict=True):
        with tab:
            subset = coverage[coverage["project"] == project.id]
            components.chart(
                charts.coverage_heatmap(subset, title=f"{project.short_name}: months with data"),
                key=f"coverage-{project.id}",
            )

st.header("Data freshness")
freshness = context.freshness(access.data_scope(cat))
if freshness.empty:
    st.info("Nothing has been loaded yet.")
else:
    st.dataframe(components.freshness_table(freshness), hide_index=True)
