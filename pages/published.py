"""Published statistics: NHS England's official figures for each site's trust and area beside England's, and
beside the site's own data."""

import streamlit as st

from mhin_eval.ui import auth, context, state
from mhin_eval.ui import published as published_ui

access = auth.page_access(real_published=True)

cat = context.catalogue()
sites = published_ui.shown_sites(access)
st.title("Published national statistics")
st.markdown(
    "Official figures published by NHS England, shown beside England's and the sites' own data for context. "
    "They are **real published statistics**, not project results, and cover whole trusts and "
    "integrated care boards (ICBs), not the project's services."
)
if not sites:
    st.info("No site you can see has a trust or ICB code linking it to published statistics.")
    st.stop()

site_id = state.choose("Site", [s.id for s in sites], "site", format_func=lambda s: cat.site(s).name,
                       container=st.sidebar)
site = cat.site(site_id)
if site.trust_name:
    st.caption(published_ui.plain(f"{site.name}: {site.trust_name} ({site.trust_code})"))

published_ui.measures_section(site)
published_ui.mha_section(site)
