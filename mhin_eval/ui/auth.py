"""The current user's access: OIDC login with ``st.login`` when an ``[auth]`` secrets section is
configured, else local single-user mode as an evaluator (with a visible notice).

Every page calls ``page_access()`` first: it shows the login button or the "not in the policy"
message and stops the page when the user may see nothing, and otherwise returns the user's
``Access`` (scope and suppression) that every data read below takes.
"""

from __future__ import annotations

import streamlit as st

from mhin_eval.access import Access, AccessPolicy, PolicyError, Role, load_policy
from mhin_eval.access.policy import policy_path
from mhin_eval.access.shown import Counts
from mhin_eval.text import plain
from mhin_eval.ui import context

SUPPRESSED_VIEW_KEY = "view:suppressed"
LOCAL_NOTICE = (
    "Local single-user mode: no login is configured, so you are an evaluator who sees every site and "
    "unsuppressed numbers. Configure `[auth]` in `.streamlit/secrets.toml` to require NHS login."
)
LOCAL_SUPPRESSED_NOTICE = (
    "Local single-user mode: no login is configured, so you are an evaluator who sees every site; small numbers "
    "are suppressed while “Show what others see” is on. Configure `[auth]` in `.streamlit/secrets.toml` to "
    "require NHS login."
)


def auth_configured() -> bool:
    """True when Streamlit has an ``[auth]`` secrets section (then everyone must log in)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


@st.cache_resource(show_spinner=False, max_entries=4)
def _parsed_policy(path: str, stamp: tuple | None) -> AccessPolicy:
    return load_policy(path, catalogue=context.catalogue())


def _policy() -> AccessPolicy:
    """The access policy, parsed once per version of the file (every page asks for it several times a run)."""
    path = policy_path()
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        stamp = None
    return _parsed_policy(str(path), stamp)


def _logged_in_email() -> str | None:
    if not st.user.get("is_logged_in", False):
        return None
    return st.user.get("email")


def signed_in_access() -> Access | None:
    """The user's access before the evaluator's view switch: local evaluator, policy role, or None."""
    if not auth_configured():
        return Access.local_evaluator()
    email = _logged_in_email()
    if email is None:
        return None
    return _policy().access_for(email)


def current_access() -> Access:
    """The signed-in user's access with the evaluator's suppressed-view switch applied.

    Only call after ``page_access()`` let the page through; a user without access raises."""
    access = signed_in_access()
    if access is None:
        raise PermissionError("no access")
    if access.role is Role.EVALUATOR and st.session_state.get(SUPPRESSED_VIEW_KEY, False):
        access = access.with_suppression(True)
    return access


def page_access(*, real_published: bool = False, notices: bool = True) -> Access:
    """Gate at the top of every page: login, unknown-user message, or the user's access and banners
    (``real_published``: the page shows real published statistics beside any synthetic data; ``notices=False``:
    the page shows the synthetic-data marker itself, as the presentation slide does in its source line)."""
    try:
        access = signed_in_access()
    except PolicyError as exc:
        st.error(f"The access policy cannot be read: {exc}", icon=":material/error:")
        st.stop()
    if access is None:
        if _logged_in_email() is None:
            st.title("MHIN evaluation dashboard")
            st.markdown("Sign in with your NHS account to see the evaluation results you have access to.")
            if st.button("Log in", type="primary", icon=":material/login:"):
                st.login()
        else:
            email = _logged_in_email()
            if st.session_state.get("audit:login") != email:
                context.get_store().record_event("login refused", email, "not in the access policy")
                st.session_state["audit:login"] = email
            st.title("No access yet")
            st.info(
                f"You are signed in as {st.user.get('email')}, but this address is not in the dashboard's "
                "access policy. Ask the MHIN evaluation team to add you (they will need your NHS email "
                "address and the sites you work for).",
                icon=":material/lock:",
            )
            if st.button("Log out"):
                st.logout()
        st.stop()
    access = current_access()
    if not access.local and st.session_state.get("audit:login") != access.user:
        context.get_store().record_event("login", access.user, f"{access.role}; sites: {access.sites or 'all'}")
        st.session_state["audit:login"] = access.user
    _drop_out_of_scope_query(access)
    _identity_sidebar(access)
    if notices:
        context.show_data_notices(real_published=real_published)
    counts = Counts.for_access(access, context.catalogue())
    if counts.suppressed and notices:
        st.info(counts.notice(evaluator=access.role is Role.EVALUATOR), icon=":material/visibility_off:")
    elif counts.suppressed:  # a page that draws its own markers (the slide) still says so, in one line
        st.caption(counts.short_notice())
    return access


def _drop_out_of_scope_query(access: Access) -> None:
    """A link naming a site or project outside the user's scope is cleaned, not followed."""
    cat = context.catalogue()
    if st.query_params.get("site") and not access.allows_site(st.query_params["site"]):
        del st.query_params["site"]
    if st.query_params.get("project") and st.query_params["project"] not in access.project_ids(cat):
        del st.query_params["project"]


def _site_names(access: Access) -> str:
    cat = context.catalogue()
    return ", ".join(cat.site(s).name if s in {x.id for x in cat.sites} else s for s in access.sites or ())


def _identity_sidebar(access: Access) -> None:
    with st.sidebar:
        if access.local:
            st.caption(LOCAL_SUPPRESSED_NOTICE if access.suppressed else LOCAL_NOTICE)
        else:
            scope = "all sites" if access.sites is None else _site_names(access)
            st.caption(f"Signed in as **{plain(access.user)}** · {access.role} · {plain(scope)}")
            if st.button("Log out", key="auth-logout"):
                st.logout()
        if access.role is Role.EVALUATOR:
            st.toggle(
                "Show what others see (suppressed)",
                key=SUPPRESSED_VIEW_KEY,
                help="Small counts hidden and others rounded, as programme leads and partner sites see them.",
            )
        elif access.suppressed:
            st.caption("Small numbers are suppressed: counts from 1 to "
                       f"{context.catalogue().setting('disclosure_threshold', 7)} show as *, others are rounded to 5.")
