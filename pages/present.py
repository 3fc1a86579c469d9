"""Presentation mode: one chart at a time in large type, with previous and next, for a projector."""

import html

import streamlit as st

from mhin_eval import export
from mhin_eval.text import plain
from mhin_eval.ui import auth, context, exports, state
from mhin_eval.wording import DIRECTION_ICONS

access = auth.page_access()

cat = context.catalogue()
project_id = state.choose("Project", access.project_ids(cat), "project",
                          format_func=lambda p: cat.project(p).short_name, container=st.sidebar)
sites = access.sites_of(cat, project_id)
choices = (["all"] if len(sites) > 1 else []) + [s.id for s in sites]
site_choice = st.sidebar.radio("Sites", choices, key=f"present-site-{project_id}",
                               format_func=lambda s: "All sites" if s == "all" else cat.site(s).name)
content = exports.view(project_id, None if site_choice == "all" else site_choice)
slides = content.items

position_key = f"present-slide-{project_id}-{site_choice}"
position = min(st.session_state.get(position_key, 0), max(len(slides) - 1, 0))


def move(step: int) -> None:
    st.session_state[position_key] = min(max(position + step, 0), len(slides) - 1)


previous_col, where_col, next_col = st.columns([1, 4, 1], vertical_alignment="center")
previous_col.button("Previous", icon=":material/arrow_back:", on_click=move, args=(-1,), disabled=position == 0,
                    key="present-previous", use_container_width=True)
next_col.button("Next", icon=":material/arrow_forward:", on_click=move, args=(1,), key="present-next",
                disabled=position >= len(slides) - 1, use_container_width=True)
where_col.caption(plain(f"{content.title} · {content.data_date} · chart {position + 1} of {len(slides)}"
                        + (f" · {content.suppression_text}" if content.suppressed else "")))

if not slides:
    st.info("There are no charts to present for this choice.")
    st.stop()

item = slides[position]
st.markdown(
    f"<h1 style='font-size:2.6rem;margin:0'>{html.escape(item.title)}</h1>"
    f"<p style='font-size:1.7rem;font-weight:700;line-height:1.3;margin:0.4rem 0'>{html.escape(item.finding)}</p>"
    f"<p style='font-size:1.3rem;margin:0'>{html.escape(DIRECTION_ICONS.get(item.direction, ''))} · "
    f"{html.escape(item.n_text)}</p>",
    unsafe_allow_html=True,
)
st.plotly_chart(export.projector_figure(item.figure), theme=None, key="present-chart")
st.caption(plain(item.method + (" " + " ".join(item.warnings) if item.warnings else "")))
