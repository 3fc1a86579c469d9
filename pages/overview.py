"""Overview: every project's headline result per site in one table, with links into each project."""

import streamlit as st

from mhin_eval import record
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, many_sites

access = auth.page_access()

cat = context.catalogue()
st.title("Overview of results")
st.markdown(
    "The main result of every indicator at every site. Time series show the average change over the first "
    f"{cat.setting('horizon_months', 12)} months after go-live against the expected trend (as a percentage for "
    "counts and rates, in the indicator's unit otherwise); before/after measures show the change between "
    "baseline and follow-up. n counts each site's own months or people."
)

project_ids, wanted = many_sites.overview_filters(cat, access.project_ids(cat))
for project in (cat.project(p) for p in project_ids):
    st.header(plain(project.name))
    records = record.filter_records(analyses.results_of_record(project.id), cat, **wanted)
    if records:
        table = components.results_frame(records)
        st.table(components.plain_table(many_sites.paginated(table, key=f"overview-page-{project.id}").set_index("Site")))
    else:
        st.caption("No result of this project matches the filters.")
    st.page_link("pages/project.py", label=f"Open {project.short_name}", icon=":material/arrow_forward:",
                 query_params={"project": project.id})

st.header("Data freshness")
many_sites.freshness_section(access.data_scope(cat), key="overview")
