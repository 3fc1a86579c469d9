"""Presentation mode: one 16:9 slide filling the screen (title, one-sentence finding, chart, source line),
moved by the arrow and Page Up/Down keys (what presentation clickers send) and kept in the URL (`slide`).

The slide is sized by CSS from the viewport (``dvh`` units), so it fits any projector without a round trip
to the server; the keys are one inline script that clicks the Previous and Next buttons (no network, no
user text in it). Every string on the slide comes from the export view (the results of record) and enters
the HTML through ``mhin_eval.text.html_text``.
"""

from __future__ import annotations

import streamlit as st

from mhin_eval import export
from mhin_eval.text import html_text
from mhin_eval.wording import DIRECTION_ICONS

#: Room kept above the slide for Streamlit's header (its sidebar and menu buttons) and below it.
TOP, BOTTOM = "3.75rem", "0.5rem"

SLIDE_CSS = f"""
<style>
[data-testid="stMainBlockContainer"] {{ padding: {TOP} 1rem {BOTTOM} 1rem; max-width: none; }}
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] {{ gap: 0; }}
[data-testid="stLayoutWrapper"]:has(> .st-key-present-slide) {{ height: auto !important; }}
.st-key-present-slide {{
  aspect-ratio: 16 / 9; height: auto !important; overflow: hidden !important; margin: 0 auto;
  width: min(100%, calc((100dvh - {TOP} - {BOTTOM}) * 16 / 9)) !important;
  max-height: calc(100dvh - {TOP} - {BOTTOM}); gap: 0.6dvh; padding: 0 1.2dvh;
  border-top: 0.8dvh solid #005EB8; box-sizing: border-box;
}}
.st-key-present-slide h1 {{ font-size: 4.6dvh; line-height: 1.15; margin: 1.2dvh 0 0.4dvh; padding: 0; color: #003087; }}
.st-key-present-slide .finding {{ font-size: 3.1dvh; line-height: 1.25; font-weight: 700; margin: 0; }}
.st-key-present-slide .meta {{ font-size: 2.1dvh; margin: 0.4dvh 0 0; color: #425563; }}
.st-key-present-slide .source {{ font-size: 1.8dvh; line-height: 1.3; margin: 0; color: #425563; }}
.st-key-present-slide .marker {{ background: #FFEB3B; color: #212B32; font-weight: 700; padding: 0 0.5em;
  border-radius: 4px; }}
.st-key-present-controls {{ align-items: center; flex-wrap: nowrap; gap: 1dvh; }}
.st-key-present-controls button {{ min-height: 4dvh; padding: 0 1.2dvh; }}
.st-key-present-controls p {{ font-size: 1.8dvh; }}
</style>
"""

#: Arrow keys and Page Up/Down click Previous or Next, unless a form field has the focus or a modifier is held.
KEYS_SCRIPT = """
<script>
(() => {
  if (window.mhinSlideKeys) return;
  window.mhinSlideKeys = true;
  const steps = {ArrowRight: "next", PageDown: "next", ArrowLeft: "previous", PageUp: "previous"};
  document.addEventListener("keydown", (event) => {
    const step = steps[event.key];
    if (!step || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const field = event.target && event.target.closest &&
      event.target.closest("input, textarea, select, [contenteditable], [role=combobox], [role=listbox], [role=slider]");
    if (field) return;
    const button = document.querySelector(`.st-key-present-${step} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });
})();
</script>
"""


def slide_number(view_id: str, count: int) -> int:
    """The slide shown (0-based): the URL's ``slide`` (1-based) when a link or an edited address gives it,
    else this session's position in the same view, else the first; written back to the URL."""
    from_url = st.query_params.get("slide", "")
    remembered = st.session_state.get("present:position")
    if from_url.isdigit() and from_url != st.session_state.get("present:url"):
        number = int(from_url) - 1
    elif remembered and remembered[0] == view_id:
        number = remembered[1]
    else:
        number = 0
    number = min(max(number, 0), max(count - 1, 0))
    st.session_state["present:position"] = (view_id, number)
    st.session_state["present:url"] = str(number + 1)
    if st.query_params.get("slide") != str(number + 1):
        st.query_params["slide"] = str(number + 1)
    return number


def _move(view_id: str, number: int) -> None:
    st.session_state["present:position"] = (view_id, number)


def source_line(content: export.ExportView, synthetic: bool) -> str:
    """The slide's source: the data and its date, the synthetic-data marker and any suppression, as HTML."""
    parts = [f"Source: MHIN evaluation, {html_text(content.title)} · {html_text(content.data_date)}"]
    if content.suppressed:
        parts.append(html_text(content.suppression_text))
    marker = f'<span class="marker">{html_text(export.SYNTHETIC_MARKER)}</span> ' if synthetic else ""
    return f'<p class="source">{marker}{" · ".join(parts)}</p>'


def heading(item: export.ChartItem) -> str:
    """The slide's title, finding and direction with n, as HTML in which every string is text."""
    meta = " · ".join(t for t in (DIRECTION_ICONS.get(item.direction, ""), item.n_text) if t)
    return (f"<h1>{html_text(item.title)}</h1><p class='finding'>{html_text(item.finding)}</p>"
            f"<p class='meta'>{html_text(meta)}</p>")


def slide_show(content: export.ExportView, view_id: str, *, synthetic: bool) -> None:
    """The slide of ``content`` the URL or session names, with Previous/Next buttons and the keys."""
    st.html(SLIDE_CSS)
    st.html(KEYS_SCRIPT, unsafe_allow_javascript=True)
    slides = content.items
    if not slides:
        st.info("There are no charts to present for this choice. Choose another project or site in the sidebar.")
        if synthetic:
            st.html(source_line(content, synthetic))
        return
    number = slide_number(view_id, len(slides))
    item = slides[number]
    with st.container(key="present-slide", height=600, border=False):
        st.html(heading(item))
        st.plotly_chart(export.projector_figure(item.figure, scale=1.3, height=None), theme=None, height="stretch",
                        key="present-chart", config={"displayModeBar": False, "responsive": True})
        with st.container(key="present-controls", horizontal=True):
            st.button("Previous", icon=":material/arrow_back:", key="present-previous", disabled=number == 0,
                      on_click=_move, args=(view_id, number - 1), help="Left arrow or Page Up")
            st.html(source_line(content, synthetic), width="stretch")
            st.markdown(f"{number + 1}&nbsp;/&nbsp;{len(slides)}", width="content")
            st.button("Next", icon=":material/arrow_forward:", key="present-next",
                      disabled=number >= len(slides) - 1, on_click=_move, args=(view_id, number + 1),
                      help="Right arrow or Page Down")
