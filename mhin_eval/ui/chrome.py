"""What every page shares around its content: the accessible style (static/app.css), the page's own
<title>, and the sidebar menu of the pages the user's role may open."""

from __future__ import annotations

import copy
from pathlib import Path

import streamlit as st

STYLE = Path(__file__).parent / "static" / "app.css"
APP_NAME = "MHIN evaluation dashboard"
#: Where a link to the default page (Home) goes: the app's root, relative like Streamlit's other page links
#: ("overview"), so that it also works under a base path.
ROOT_HREF = "./"


def page_title(title: str) -> str:
    """The browser tab's title of a page (WCAG 2.4.2): the page first, then the dashboard."""
    return f"{title} · {APP_NAME}"


def apply_style() -> None:
    """Load app.css into the page (a style-only ``st.html`` adds no visible element)."""
    st.html(f"<style>{STYLE.read_text(encoding='utf-8')}</style>")


class _AtRoot(st.Page):
    """The default page as a link target. Streamlit gives the default page the URL path "" and ``st.page_link``
    writes that as ``href=""``, which a browser resolves to the page being shown: "Home" opened in a new tab,
    copied or read out by a screen reader would be the current page. A click still navigates by the page's
    script hash, which this keeps."""

    @property
    def url_path(self) -> str:
        return ROOT_HREF


def link_target(page):
    """``page`` as ``st.page_link`` should link it: the default page at the app's root, others as they are."""
    if page.url_path:
        return page
    link = copy.copy(page)
    link.__class__ = _AtRoot
    return link


def sidebar_menu(menu: dict[str, list]) -> None:
    """The pages as sidebar links under their section names.

    Drawn with ``st.page_link`` instead of Streamlit's own menu, whose sections put ``<div>`` between ``<ul>`` and
    ``<li>`` (invalid list markup that axe-core reports as serious)."""
    with st.sidebar.container(key="menu"):
        for section, pages in menu.items():
            st.markdown(f"**{section}**")
            for page in pages:
                st.page_link(link_target(page))
