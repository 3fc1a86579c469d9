"""Node packages the browser tests use, installed project-locally from their package-lock.json with ``npm ci``
(tests/browser/oidc: the login tests' OIDC provider; tests/browser/axe: axe-core for the accessibility test)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

NODE_INSTALL_HINT = "sudo apt-get install -y --no-install-recommends nodejs npm (or run `make test`, which does it as root)"


def npm_ci(directory: Path, why: str, timeout: float = 300) -> None:
    """``npm ci`` into ``directory`` when its node_modules is missing or older than package-lock.json.

    npm writes node_modules/.package-lock.json last, so its presence marks a finished install; a lock on
    package-lock.json keeps parallel test workers from installing at once."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"`{tool}` not found; {why}. Install it: {NODE_INSTALL_HINT}")
    lock, installed = directory / "package-lock.json", directory / "node_modules" / ".package-lock.json"
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
            return
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory, capture_output=True,
                              text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"`npm ci` in {directory} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
