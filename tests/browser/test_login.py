"""The real login round trip in headless Chromium: st.login() against a local OpenID Connect provider
(npm oidc-provider), then the access policy's role and site scope on the served pages (issue 5)."""

from __future__ import annotations

import secrets

import pytest

from tests.browser.conftest import assert_no_exception, screenshot, wait_for_app
from tests.browser.oidc_fixture import ACCOUNTS, OidcClient, log_in, start_provider, write_auth_secrets
from tests.browser.serving import free_port, start_app, stop_app

pytestmark = pytest.mark.browser

SITE_USER = "hull.user@hey.nhs.uk"
UNKNOWN_USER = "unknown.person@example.org"
LEAD = "lead@mhin.nhs.uk"
POLICY = f"""
[[users]]
email = "{SITE_USER}"
role = "site"
sites = ["hull"]

[[users]]
email = "{LEAD}"
role = "lead"
"""


@pytest.fixture(scope="module")
def auth_app_url(tmp_path_factory):
    """The app served with an [auth] section pointing at a local OIDC provider, and a test access policy.

    STREAMLIT_SECRETS_FILES is the environment form of Streamlit's ``secrets.files`` option: the app reads
    this secrets file only."""
    assert {SITE_USER, UNKNOWN_USER, LEAD} <= set(ACCOUNTS), "tests/browser/oidc/accounts.json lacks a test user"
    tmp = tmp_path_factory.mktemp("login")
    app_port, provider_port = free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    client = OidcClient("mhin-dashboard", secrets.token_urlsafe(24), f"{app_url}/oauth2callback")
    provider, issuer = start_provider(provider_port, client, post_logout_uri=app_url)
    try:
        policy = tmp / "access-policy.toml"
        policy.write_text(POLICY, encoding="utf-8")
        secrets_file = write_auth_secrets(tmp / "secrets.toml", issuer, client)
        app, url = start_app(tmp / "store", port=app_port, extra_env={
            "STREAMLIT_SECRETS_FILES": str(secrets_file), "MHIN_ACCESS_POLICY": str(policy)})
        assert url == app_url
        yield app_url
        stop_app(app)
    finally:
        stop_app(provider)


def _wait_for_sidebar_text(page, text: str) -> None:
    """Wait until the sidebar shows ``text`` (addresses carry an invisible word joiner, mhin_eval.text.plain)."""
    page.wait_for_function(
        """(text) => { const bar = document.querySelector('[data-testid="stSidebar"]');
                       return bar !== null && bar.innerText.replaceAll('\u2060', '').includes(text); }""",
        arg=text, timeout=30_000)


def _sidebar_text(pg) -> str:
    return pg.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")


def _selectbox_options(pg, label: str) -> list[str]:
    box = pg.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=pg.get_by_role("combobox", name=label))
    box.get_by_role("button", name="Open").click()
    options = pg.get_by_role("listbox").get_by_role("option")
    options.first.wait_for()
    texts = [t.strip() for t in options.all_inner_texts()]
    pg.keyboard.press("Escape")
    return texts


def test_anonymous_visitor_sees_only_the_login_button(auth_app_url, page):
    page.goto(auth_app_url)
    wait_for_app(page)
    assert_no_exception(page)
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stTable"], [data-testid="stDataFrame"]').count() == 0
    assert page.errors == [], "\n".join(page.errors)


def test_site_user_logs_in_and_sees_only_their_site(auth_app_url, page, artifacts_dir, catalogue):
    log_in(page, auth_app_url, SITE_USER)
    assert_no_exception(page)
    _wait_for_sidebar_text(page, f"Signed in as {SITE_USER}")
    assert f"Signed in as {SITE_USER} · site · Hull" in _sidebar_text(page)

    # A link naming another site still opens Hull, and the selector offers nothing else.
    page.goto(f"{auth_app_url}/site?site=manchester")
    wait_for_app(page, min_charts=1)
    assert_no_exception(page)
    assert page.locator("h1").first.inner_text().strip() == "Hull"
    assert _selectbox_options(page, "Site") == ["Hull"]
    main = page.locator('[data-testid="stMain"]').inner_text()
    others = [s.name for s in catalogue.sites if s.id != "hull"]
    assert [name for name in others if name in main] == []
    screenshot(page, artifacts_dir / "login-site-user.png")
    assert page.errors == [], "\n".join(page.errors)


def test_site_user_overview_tables_name_no_other_site(auth_app_url, page, catalogue):
    log_in(page, auth_app_url, SITE_USER)
    page.goto(f"{auth_app_url}/overview")
    wait_for_app(page)
    assert_no_exception(page)
    tables = page.locator('[data-testid="stMain"] [data-testid="stTable"], [data-testid="stMain"] [data-testid="stDataFrame"]')
    assert tables.count() >= 1
    text = "\n".join(tables.all_inner_texts())
    assert "Hull" in text
    others = [s.name for s in catalogue.sites if s.id != "hull"]
    assert [name for name in others if name in text] == []
    assert page.errors == [], "\n".join(page.errors)


def test_user_not_in_the_policy_sees_no_data(auth_app_url, page, artifacts_dir):
    log_in(page, auth_app_url, UNKNOWN_USER)
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert f"You are signed in as {UNKNOWN_USER}, but this address is not in the dashboard's access policy" in main
    assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stTable"], [data-testid="stDataFrame"]').count() == 0
    screenshot(page, artifacts_dir / "login-unknown-user.png")
    assert page.errors == [], "\n".join(page.errors)

    # The menu of a user without access has no Sites page: a link to it runs the front page instead.
    page.goto(f"{auth_app_url}/site?site=hull")
    wait_for_app(page)
    assert "not in the dashboard's access policy" in page.locator('[data-testid="stMain"]').inner_text()
    assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stTable"], [data-testid="stDataFrame"]').count() == 0
    assert [e for e in page.errors if "does not seem to exist" not in e] == [], "\n".join(page.errors)


def test_lead_logs_in_and_chooses_among_every_site(auth_app_url, page, catalogue):
    log_in(page, auth_app_url, LEAD)
    assert_no_exception(page)
    _wait_for_sidebar_text(page, f"Signed in as {LEAD}")
    assert f"Signed in as {LEAD} · lead · all sites" in _sidebar_text(page)
    page.goto(f"{auth_app_url}/site?site=manchester")
    wait_for_app(page, min_charts=1)
    assert page.locator("h1").first.inner_text().strip() == "Manchester"
    assert _selectbox_options(page, "Site") == [s.name for s in catalogue.sites if not s.is_comparison]
    assert page.errors == [], "\n".join(page.errors)
