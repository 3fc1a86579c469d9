"""AppTest fixtures: each test gets its own data directory and empty Streamlit caches."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mhin_eval.catalogue import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory):
    """A data directory seeded once with the demo data and published context, with its results of record
    stored, as `make run`'s seed leaves it (copied per test)."""
    from mhin_eval.catalogue import load_catalogue
    from mhin_eval.store import Store, seed

    path = tmp_path_factory.mktemp("seeded-store")
    seed(Store(path, catalogue=load_catalogue()))  # seed computes the results of record, as every ingest does
    return path


@pytest.fixture
def app(seeded_dir, tmp_path, monkeypatch):
    """A fresh AppTest of the whole app (st.navigation) on a private copy of the seeded store."""
    import shutil

    data_dir = tmp_path / "store"
    shutil.copytree(seeded_dir, data_dir)
    monkeypatch.setenv("MHIN_DATA_DIR", str(data_dir))
    st.cache_data.clear()
    st.cache_resource.clear()
    # Served, the app shows no error details (.streamlit/config.toml); a failing test should show them.
    shown = st.config.get_option("client.showErrorDetails")
    st.config.set_option("client.showErrorDetails", "full")
    at = AppTest.from_file(APP, default_timeout=120)
    yield at
    st.config.set_option("client.showErrorDetails", shown)
    st.cache_data.clear()
    st.cache_resource.clear()


#: The access policy of the role tests: an evaluator, a programme lead and the Hull partner site's users.
POLICY = """
[[users]]
email = "eve.evaluator@mhin.nhs.uk"
role = "evaluator"

[[users]]
email = "lee.lead@mhin.nhs.uk"
role = "lead"

[[users]]
domain = "hey.nhs.uk"
role = "site"
sites = ["hull"]
"""
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
                 "client_id": "mhin", "client_secret": "x", "server_metadata_url":
                 "http://127.0.0.1:9/.well-known/openid-configuration"}}


@pytest.fixture
def signed_in(app, tmp_path, monkeypatch):
    """The app with login configured (:data:`POLICY`); call with an email to sign that user in."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("MHIN_ACCESS_POLICY", str(policy))
    app.secrets.update(AUTH)

    def sign_in(email: str | None):
        app.user = {"is_logged_in": email is not None, **({"email": email} if email else {})}
        return app

    return sign_in


_MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescaped(value):
    """Text (or a table of st.table, whose cells are markdown) as a reader sees it: mhin_eval.text.plain's
    backslash escapes and invisible word joiners removed."""
    if isinstance(value, str):
        return _MARKDOWN_ESCAPE.sub(r"\1", value).replace("\u2060", "")
    if isinstance(value, pd.DataFrame):
        out = value.apply(lambda c: c.map(unescaped)).rename(columns=unescaped)
        out.index = out.index.map(unescaped)
        out.index.name = unescaped(value.index.name)
        return out
    return value


def all_text(at: AppTest) -> str:
    """Every markdown, caption, title, header and alert text rendered, as a reader sees it, joined; st.html
    blocks (the presentation slide) by their text, without tags or style and script elements."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success"):
        parts.extend(unescaped(str(e.value)) for e in getattr(at, kind))
    for block in at.get("html"):
        body = re.sub(r"(?s)<(style|script)\b.*?</\1>", "", block.proto.body)
        parts.append(html.unescape(re.sub(r"<[^>]+>", " ", body)).strip())
    return "\n".join(p for p in parts if p)


def open_page(at: AppTest, page: str, **query) -> AppTest:
    """Run the app with ``query`` in the URL, switch to ``pages/<page>.py`` (the home page is the default)
    and check that it ran without an exception."""
    at.query_params.update(query)
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def lazy_expander_keys(at: AppTest) -> list[str]:
    """Keys of the page's expanders from components.details_on_demand: their content runs only when open."""
    return [e.proto.id.split("-", 2)[2] for e in at.expander if e.proto.id.startswith("$$ID-")]


def open_details(at: AppTest) -> AppTest:
    """Open every details-on-demand expander of the page (as clicks on them would) and rerun."""
    keys = lazy_expander_keys(at)
    for key in keys:
        at.session_state[key] = True
    if keys:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def each_view(at: AppTest, key: str = "section") -> Iterator[AppTest]:
    """The current page with each of its on-demand tabs (components.lazy_tabs, kept in ``?<key>=``) open in
    turn, and in each every details expander opened: everything a user can reach on the page without
    changing a choice."""
    labels = [t.label for t in at.tabs] if key in at.session_state else [None]
    for label in labels:
        if label is not None:  # as a click on the tab does: the widget's state and the URL both change
            at.session_state[key] = label
            at.query_params[key] = label
            at.run()
        yield open_details(at)
