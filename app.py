"""mhin-eval: navigation and page registry."""

from pathlib import Path

import streamlit as st

FAVICON = Path(__file__).parent / "mhin_eval" / "ui" / "static" / "favicon.png"
st.set_page_config(page_title="MHIN evaluation dashboard", page_icon=str(FAVICON), layout="wide")

PAGES = {
    "Dashboard": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
        st.Page("pages/overview.py", title="Overview of results", icon=":material/table:", url_path="overview"),
        st.Page("pages/project.py", title="Projects", icon=":material/folder_open:", url_path="project"),
        st.Page("pages/site.py", title="Sites", icon=":material/location_on:", url_path="site"),
        st.Page("pages/compare.py", title="Compare sites", icon=":material/compare_arrows:", url_path="compare"),
        st.Page("pages/published.py", title="Published statistics", icon=":material/public:", url_path="published"),
    ],
    "Analysis": [
        st.Page("pages/explorer.py", title="Time-series explorer", icon=":material/insights:", url_path="explorer"),
        st.Page("pages/methods.py", title="Methods", icon=":material/menu_book:", url_path="methods"),
    ],
}

st.navigation(PAGES).run()
