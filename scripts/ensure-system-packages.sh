#!/usr/bin/env bash
# Debian packages the test suite needs: a real browser (chromium), and LibreOffice Impress with
# poppler-utils to turn exported slide decks into PDF and PNG pages, and Liberation fonts (metric-compatible
# with Arial, the decks' and charts' font) so rendered pages match PowerPoint's line breaks, and Node.js with
# npm for the local OpenID Connect provider of the login tests, PostgreSQL's server (initdb, pg_ctl) for the
# throw-away database the store tests run on, and nginx in front of the app replicas of the replica tests
# (deploy/). Installs them when missing and
# we are root; otherwise prints exactly what to install and fails.
set -euo pipefail
needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -x /usr/bin/soffice ] || needed+=(libreoffice-impress)
[ -x /usr/bin/pdftoppm ] || needed+=(poppler-utils)
[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || needed+=(fonts-liberation)
command -v node >/dev/null 2>&1 || needed+=(nodejs)
command -v npm >/dev/null 2>&1 || needed+=(npm)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || needed+=(postgresql)
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  # nginx-light (Debian 12) has all deploy/ uses; later Debian releases ship only nginx.
  if apt-cache show nginx-light >/dev/null 2>&1; then needed+=(nginx-light); else needed+=(nginx); fi
fi
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
else
  echo "The tests need Debian's Chromium, LibreOffice Impress, poppler-utils, Liberation fonts, Node.js, npm, PostgreSQL and nginx. Install them with:" >&2
  echo "    sudo apt-get install -y --no-install-recommends ${needed[*]}" >&2
  exit 1
fi
