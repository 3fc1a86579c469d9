"""Choices that survive page changes and live in the URL, so a copied link opens the same view.

Each choice has one name used three ways: the query-string parameter, a remembered session value
(non-widget keys outlive a page change) and the widget key. The URL wins over the remembered value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from mhin_eval.text import plain


def _initial(name: str, options: Sequence[str], default: str | None) -> str:
    from_url = st.query_params.get(name)
    if from_url in options and (_url_changed(name, options) or f"chosen:{name}" not in st.session_state):
        return from_url
    remembered = st.session_state.get(f"chosen:{name}")
    if remembered in options:
        return remembered
    return default if default in options else options[0]


def remember(name: str, value: str) -> None:
    """Keep a choice for other pages and write it into the query string."""
    st.session_state[f"chosen:{name}"] = value
    st.session_state[f"url:{name}"] = value
    if st.query_params.get(name) != value:
        st.query_params[name] = value


def _url_changed(name: str, options: Sequence[str]) -> bool:
    """True when the query string names a choice this session did not write (a link or an edited URL)."""
    from_url = st.query_params.get(name)
    return from_url in options and from_url != st.session_state.get(f"url:{name}")


def choose(
    label: str,
    options: Sequence[str],
    name: str,
    *,
    format_func: Callable[[str], str] = str,
    default: str | None = None,
    container=None,
    horizontal: bool = False,
    help: str | None = None,
) -> str:
    """A selectbox (or horizontal radio) whose value is shared across pages and kept in the URL. A radio reads
    its option labels as markdown, so they are passed as plain text (a selectbox shows them as they are)."""
    options = list(options)
    if not options:
        raise ValueError(f"no options for {label}")
    widget_key = f"w:{name}"
    initial = _initial(name, options, default)
    if st.session_state.get(widget_key) not in options or _url_changed(name, options):
        st.session_state.pop(widget_key, None)
    target = container or st
    if horizontal:
        value = target.radio(label, options, index=options.index(initial), format_func=lambda o: plain(format_func(o)),
                             key=widget_key, horizontal=True, help=help)
    else:
        value = target.selectbox(label, options, index=options.index(initial), format_func=format_func,
                                 key=widget_key, help=help)
    remember(name, value)
    return value


def follow_project(name: str, project_of: dict[str, str]) -> None:
    """A remembered choice of ``name`` (e.g. the site) that belongs to another project than the one chosen since
    (on the Projects page) is dropped, so the page opens on the chosen project's first option. A link naming the
    choice in its query string still wins."""
    project = st.session_state.get("chosen:project")
    remembered = st.session_state.get(f"chosen:{name}")
    if project is None or remembered is None or project_of.get(remembered) in (None, project):
        return
    if _url_changed(name, list(project_of)):
        return
    first = next((option for option, owner in project_of.items() if owner == project), None)
    if first is not None:
        st.session_state[f"chosen:{name}"] = first
        st.session_state.pop(f"w:{name}", None)
        if st.query_params.get(name) not in (None, first):
            st.query_params[name] = first
            st.session_state[f"url:{name}"] = first
