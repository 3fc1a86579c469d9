"""Published context: NHS England's official Mental Health Act statistics beside the PCREF sites' own data."""

import pandas as pd
import streamlit as st

from mhin_eval import charts
from mhin_eval.loaders import published_context
from mhin_eval.ui import analyses, context, state

context.show_data_notices()

cat = context.catalogue()
sites = [s for s in cat.sites if not s.is_comparison and s.icb_code and "ethnicity" in
         {b for i in cat.indicators_of(s.project) for b in i.breakdowns}]
st.title("Published national statistics")
st.markdown(
    "Official figures published by NHS England, shown beside the sites' own data for context. "
    "They are **real published statistics**, not project results, and cover whole trusts and "
    "integrated care boards (ICBs), not the project's services."
)
if not sites:
    st.info("No catalogue site has a published-statistics code and an ethnicity breakdown.")
    st.stop()

site_id = state.choose("Site", [s.id for s in sites], "site", format_func=lambda s: cat.site(s).name,
                       container=st.sidebar)
site = cat.site(site_id)


@st.cache_data(show_spinner=False)
def _context(version: int, site_id: str) -> pd.DataFrame:
    return published_context(context.get_store().published(), cat, site_id)


frame = _context(context.data_version(), site_id)
if frame.empty:
    st.info("The Mental Health Act annual statistics are not loaded. Upload the published file on the Upload page.")
    st.stop()

source = frame["source_title"].iloc[0]
year = frame["year"].iloc[0]
st.caption(f"Source: NHS England, *{source}* ({year}), Open Government Licence v3.0. Crude rates per 100,000 population.")

rates = frame[(frame["statistic"] == "crude_rate") & (frame["level"].isin(["England", "ICB"]))]
groups = [g for g in rates["group"].unique() if g not in ("All", "Not known", "Not stated")]
chart_rows = rates[rates["group"].isin(groups)].assign(
    group=lambda d: d["group"] + " · " + d["level"].map({"England": "England", "ICB": "ICB"})
)
st.subheader(f"Detention rates by ethnicity: England and {site.name}'s ICB")
table = rates.pivot_table(index="group", columns="level", values="value", aggfunc="first").reset_index()
icb_name = frame.loc[frame["level"] == "ICB", "org_name"].dropna()
if not icb_name.empty:
    table = table.rename(columns={"ICB": icb_name.iloc[0].title()})
st.dataframe(table.rename(columns={"group": "Ethnic group"}), hide_index=True)

fig_frame = pd.DataFrame(
    {"group": chart_rows["group"], "rate": chart_rows["value"], "ci_low": chart_rows["value"],
     "ci_high": chart_rows["value"], "count": float("nan"), "denominator": float("nan"), "note": ""}
)
st.plotly_chart(
    charts.group_rates_chart(fig_frame, title=f"All detentions per 100,000, {year} (published, no intervals given)",
                             unit="per 100,000"),
    theme=None, key=f"published-rates-{site_id}")

trust = frame[frame["level"] == "NHS Trust"]
if not trust.empty:
    st.subheader(f"{site.trust_name}: published counts")
    st.dataframe(trust[["measure_id", "group", "value", "published_value"]].rename(
        columns={"measure_id": "Measure", "group": "Group", "value": "Count", "published_value": "As published"}),
        hide_index=True)

st.subheader(f"The site's own data: {site.name}")
own = analyses.equity_tables(site.project, site_id, "mha-detentions", "White", "after")
if isinstance(own, str):
    st.info(own)
else:
    rates_table, _ = own
    st.caption("Project data since go-live (see the project page for the analysis). Demo data is synthetic.")
    st.dataframe(rates_table.table, hide_index=True)
