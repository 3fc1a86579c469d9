"""Presentation mode: one slide at a time, full screen at 16:9 for a projector (mhin_eval.ui.present)."""

import streamlit as st

from mhin_eval.ui import auth, context, exports, present, state

st.set_page_config(initial_sidebar_state="collapsed")
access = auth.page_access(notices=False)  # the slide's source line carries the synthetic-data marker

cat = context.catalogue()
project_id = state.choose("Project", access.project_ids(cat), "project",
                          format_func=lambda p: cat.project(p).short_name, container=st.sidebar)
sites = access.sites_of(cat, project_id)
choices = (["all"] if len(sites) > 1 else []) + [s.id for s in sites]
site_choice = state.choose("Sites", choices, "sites", container=st.sidebar,
                           format_func=lambda s: "All sites" if s == "all" else cat.site(s).name)
content = exports.view(project_id, None if site_choice == "all" else site_choice)
present.slide_show(content, f"{project_id}/{site_choice}", synthetic=context.has_demo_data())
