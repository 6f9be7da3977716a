#!/usr/bin/env bash
# Chromium for the browser tests (tests/test_browser.py drives it with Playwright): the Debian
# package, since Playwright's own browser downloads are not reachable here. Installed when missing
# and this runs as root (CI does); otherwise says what to install. AVDF_CHROMIUM overrides the path.
set -euo pipefail
browser=${AVDF_CHROMIUM:-/usr/bin/chromium}
[ -x "$browser" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "browser: installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  exit 0
fi
echo "browser: no Chromium at $browser; install the 'chromium' package (or set AVDF_CHROMIUM to a Chromium binary)" >&2
exit 1
