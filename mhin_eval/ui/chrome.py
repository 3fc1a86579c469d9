"""What every page shares around its content: the accessible style (static/app.css), the page's own
<title>, and the sidebar menu of the pages the user's role may open."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

STYLE = Path(__file__).parent / "static" / "app.css"
APP_NAME = "MHIN evaluation dashboard"


def page_title(title: str) -> str:
    """The browser tab's title of a page (WCAG 2.4.2): the page first, then the dashboard."""
    return f"{title} · {APP_NAME}"


def apply_style() -> None:
    """Load app.css into the page (a style-only ``st.html`` adds no visible element)."""
    st.html(f"<style>{STYLE.read_text(encoding='utf-8')}</style>")


def sidebar_menu(menu: dict[str, list]) -> None:
    """The pages as sidebar links under their section names.

    Drawn with ``st.page_link`` instead of Streamlit's own menu, whose sections put ``<div>`` between ``<ul>`` and
    ``<li>`` (invalid list markup that axe-core reports as serious)."""
    with st.sidebar.container(key="menu"):
        for section, pages in menu.items():
            st.markdown(f"**{section}**")
            for page in pages:
                st.page_link(page)
