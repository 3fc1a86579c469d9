"""Overview: every project's headline result per site in one table, with links into each project."""

import pandas as pd
import streamlit as st

from mhin_eval.ui import analyses, context
from mhin_eval.wording import DIRECTION_ICONS, fmt_estimate

context.show_data_notices()

cat = context.catalogue()
st.title("Overview of results")
st.markdown(
    "The main result of every indicator at every site. Time series show the change at "
    f"{cat.setting('horizon_months', 12)} months after go-live against the expected trend (as a ratio: "
    "below 1 means fewer than expected); before/after measures show the change between baseline and follow-up."
)

for project in cat.projects:
    st.header(project.name)
    rows = []
    for h in analyses.headlines(project.id):
        indicator = cat.indicator(project.id, h.indicator)
        rows.append(
            {
                "Site": h.site_name,
                "Indicator": h.label,
                "Result": h.sentence,
                "Estimate (95% CI)": fmt_estimate(h.estimate, "" if h.estimate is None or h.estimate.scale == "ratio"
                                                  else indicator.unit),
                "Direction": DIRECTION_ICONS[h.direction],
                "n": h.n,
                "Period": h.period,
                "Method": h.method,
                "Warnings": len(h.warnings),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={"Result": st.column_config.TextColumn(width="large")})
    st.page_link("pages/project.py", label=f"Open {project.short_name}", icon=":material/arrow_forward:",
                 query_params={"project": project.id})

st.header("Data freshness")
st.dataframe(context.freshness(), hide_index=True)
