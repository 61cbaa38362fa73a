#!/usr/bin/env bash
# Make sure the browser tests have a Chromium: found where tests/browser/conftest.py looks
# (PORTAL_CHROMIUM, chromium, chromium-browser, /usr/bin/chromium), or installed from Debian
# when this user may do so (root with apt-get). Exit 0 when one is there, 1 when not.
set -uo pipefail

found() {
  local candidate
  for candidate in "${PORTAL_CHROMIUM:-}" "$(command -v chromium || true)" \
                   "$(command -v chromium-browser || true)" /usr/bin/chromium; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if found >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Chromium from Debian (for the browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
    found >/dev/null && exit 0
  fi
  echo "Installing Chromium failed (see apt-get's message above)." >&2
fi
exit 1
