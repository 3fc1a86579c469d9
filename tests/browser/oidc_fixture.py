"""A real OpenID Connect login for the browser tests: the npm package oidc-provider served on localhost
(tests/browser/oidc/provider.js), the app started with an ``[auth]`` secrets file and an access policy
pointing at it, and the provider's login form driven in Chromium.

Plain functions; tests/browser/test_login.py wraps them in fixtures.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.browser.npm import npm_ci
from tests.browser.serving import wait_for_app

OIDC_DIR = Path(__file__).parent / "oidc"
ACCOUNTS = [a["email"] for a in json.loads((OIDC_DIR / "accounts.json").read_text(encoding="utf-8"))]


@dataclass(frozen=True)
class OidcClient:
    """The one client the provider knows: the served app."""

    client_id: str
    client_secret: str
    redirect_uri: str


def ensure_provider_installed(timeout: float = 300) -> None:
    """The provider's node packages (oidc-provider), installed into tests/browser/oidc when missing."""
    npm_ci(OIDC_DIR, "the login tests run a local OIDC provider on Node.js", timeout=timeout)


def start_provider(port: int, client: OidcClient, post_logout_uri: str | None = None,
                   timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Start provider.js on 127.0.0.1:port; return (process, issuer) once its discovery document answers."""
    ensure_provider_installed()
    # --name=value: a random secret may start with "-", which node's parseArgs would take for an option.
    args = ["node", str(OIDC_DIR / "provider.js"), f"--port={port}", f"--client-id={client.client_id}",
            f"--client-secret={client.client_secret}", f"--redirect-uri={client.redirect_uri}"]
    if post_logout_uri:
        args.append(f"--post-logout-uri={post_logout_uri}")
    proc = subprocess.Popen(args, cwd=OIDC_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the OIDC provider exited early:\n" + proc.stdout.read().decode(errors="replace"))
        try:
            with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=2) as r:
                if r.status == 200 and json.load(r)["issuer"] == issuer:
                    return proc, issuer
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the OIDC provider did not answer within {timeout:.0f} s")


def write_auth_secrets(path: Path, issuer: str, client: OidcClient) -> Path:
    """A secrets.toml whose ``[auth]`` section sends ``st.login()`` to the provider.

    ``prompt = "login"``: Streamlit asks for ``select_account`` by default, a prompt oidc-provider refuses
    ("unsupported prompt value requested")."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{client.redirect_uri}"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{client.client_id}"\n'
        f'client_secret = "{client.client_secret}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        'client_kwargs = { prompt = "login" }\n',
        encoding="utf-8",
    )
    return path


def log_in(pg, app_url: str, email: str, timeout: float = 60_000) -> None:
    """From the app's front page through the provider's login and consent forms back to the app.

    Console errors of the provider's own pages (its development form loads a web font, which this
    offline machine cannot reach) are dropped from ``pg.errors``: they are not the app's."""
    pg.goto(app_url)
    wait_for_app(pg, timeout=timeout)
    errors_before = list(pg.errors)
    pg.get_by_role("button", name="Log in").click()
    pg.wait_for_selector('input[name="login"]', timeout=timeout)
    pg.fill('input[name="login"]', email)
    pg.fill('input[name="password"]', "any password: the development login form checks none")
    pg.click('button[type="submit"]')
    pg.wait_for_url(lambda url: url.startswith(app_url) or "/interaction/" in url, timeout=timeout)
    if "/interaction/" in pg.url:  # the consent form of a first login
        pg.get_by_role("button", name="Continue").click()
    pg.wait_for_url(lambda url: url.startswith(app_url), timeout=timeout)
    pg.errors[:] = errors_before
    wait_for_app(pg, timeout=timeout)
