#!/usr/bin/env bash
# The whole test suite: on SQLite (with the browser tests), then on PostgreSQL when
# PORTAL_TEST_DATABASE_URL is set. Under CI=true both must run; nothing may skip.
# Chromium for the browser tests is installed when missing and this user can (root with
# apt-get); when it cannot be, the browser tests skip and the run ends by saying so.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0
browser_skipped=0

echo "== ruff"
$BIN/ruff check . || status=1

if ! bash scripts/ensure-chromium.sh; then
  browser_skipped=1
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true but Chromium is missing: the browser tests must run" >&2
    status=1
  fi
fi

echo "== tests on SQLite (with browser tests)"
env -u PORTAL_TEST_DATABASE_URL $BIN/pytest -q -p no:cacheprovider || status=1

if [ -n "${PORTAL_TEST_DATABASE_URL:-}" ]; then
  echo "== tests on PostgreSQL ($PORTAL_TEST_DATABASE_URL)"
  $BIN/pytest -q -p no:cacheprovider -m "not browser" || status=1
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but PORTAL_TEST_DATABASE_URL is not set: the PostgreSQL suite must run" >&2
  status=1
else
  echo "(PostgreSQL suite skipped: set PORTAL_TEST_DATABASE_URL=postgresql+psycopg://... to run it)"
fi

if [ "$browser_skipped" = 1 ] && [ "${CI:-}" != "true" ]; then
  cat >&2 <<'MSG'

###########################################################################
#  THE BROWSER TESTS WERE SKIPPED: no Chromium was found, and it could not
#  be installed (that needs root and apt-get).
#  To run them: install Debian's Chromium
#      sudo apt-get update && sudo apt-get install -y chromium
#  or point PORTAL_CHROMIUM at a Chromium binary, then run
#      make test                      (everything), or
#      .venv/bin/pytest -q tests/browser
###########################################################################
MSG
fi
exit $status
