#!/usr/bin/env bash
# Debian packages the test suite needs (a real browser). Installs them when missing and we are root;
# otherwise prints exactly what to install and fails.
set -euo pipefail
needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
else
  echo "The browser tests need Debian's Chromium. Install it with:" >&2
  echo "    sudo apt-get install -y ${needed[*]}" >&2
  exit 1
fi
