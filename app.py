"""mhin-eval: navigation and page registry."""

import streamlit as st

from mhin_eval.ui.context import show_data_notices

st.set_page_config(page_title="MHIN evaluation dashboard", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
]

page = st.navigation(PAGES)
show_data_notices()
page.run()
