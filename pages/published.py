"""Published context: NHS England's official Mental Health Act statistics beside the PCREF sites' own data."""

import pandas as pd
import streamlit as st

from mhin_eval import charts
from mhin_eval.loaders import published_context
from mhin_eval.text import plain
from mhin_eval.ui import analyses, auth, components, context, state

access = auth.page_access()

cat = context.catalogue()
sites = [s for s in cat.sites if not s.is_comparison and access.allows_site(s.id) and s.icb_code and "ethnicity" in
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
st.caption(f"Source: NHS England, *{plain(source)}* ({plain(year)}), Open Government Licence v3.0. Crude rates per "
           "100,000 population.")

MAIN_GROUPS = ["Asian or Asian British", "Black or Black British", "Mixed", "White", "Other Ethnic Groups"]
icb_rows = frame.loc[frame["level"] == "ICB", "org_name"].dropna()
icb_name = icb_rows.iloc[0].title().replace("Nhs ", "NHS ") if not icb_rows.empty else "ICB"
published = frame[(frame["statistic"] == "crude_rate") & frame["level"].isin(["England", "ICB"])
                  & frame["group"].isin(MAIN_GROUPS)]
published = published.assign(source=published["level"].map({"England": "England (published)",
                                                             "ICB": f"{icb_name} (published)"}))

own = analyses.equity_tables(site.project, site_id, "mha-detentions", "White", "latest-12")
own_rows = pd.DataFrame(columns=["group", "rate", "ci_low", "ci_high"])
own_note = own if isinstance(own, str) else ""
if not isinstance(own, str):
    rates_table, _, words = own
    own_rows = rates_table.table
own_label = f"{site.name} project data" + (" (synthetic demo)" if context.has_demo_data() else "")

st.subheader(plain(f"All detentions per 100,000 by ethnic group: England, {icb_name} and {site.name}"))
table = pd.DataFrame({"Ethnic group": MAIN_GROUPS})
for label, part in published.groupby("source", sort=False):
    table[label] = table["Ethnic group"].map(part.set_index("group")["value"])
if not own_rows.empty:
    table[own_label] = table["Ethnic group"].map(own_rows.set_index("group")["rate"].round(1))
st.table(components.plain_table(table.set_index("Ethnic group")).style.format("{:.1f}", na_rep="–"))
st.caption(
    "Published rates are for 2023-24 and cover everyone detained in the area; the project column is the site's own "
    f"{'synthetic ' if context.has_demo_data() else ''}data for {plain(words) if not own_note else 'no period'}, as an "
    "annual rate. "
    "Published figures come without confidence intervals."
)

chart_rows = pd.concat(
    [
        published.assign(rate=published["value"], ci_low=float("nan"), ci_high=float("nan"))[
            ["group", "source", "rate", "ci_low", "ci_high"]],
        own_rows.assign(source=own_label)[["group", "source", "rate", "ci_low", "ci_high"]],
    ],
    ignore_index=True,
)
chart_rows = chart_rows.assign(
    order=chart_rows["group"].map({g: n for n, g in enumerate(MAIN_GROUPS)}),
).sort_values(["order", "source"])
st.plotly_chart(
    charts.group_rates_chart(
        chart_rows.assign(group=chart_rows["group"] + " · " + chart_rows["source"], count=float("nan"),
                          denominator=float("nan"), note=""),
        title="All detentions per 100,000 population", unit="per 100,000"),
    theme=None, key=f"published-rates-{site_id}")

trust = frame[frame["level"] == "NHS Trust"]
if not trust.empty:
    st.subheader(plain(f"{site.trust_name}: published counts, {year}"))
    st.table(components.plain_table(trust[["measure_id", "published_value"]].rename(
        columns={"measure_id": "Measure", "published_value": "Count as published"}).set_index("Measure")))
