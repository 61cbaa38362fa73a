#!/usr/bin/env bash
# The whole test suite: on SQLite (with the browser tests), then on PostgreSQL when
# PORTAL_TEST_DATABASE_URL is set. Under CI=true both must run; nothing may skip.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
status=0

echo "== ruff"
$BIN/ruff check . || status=1

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
exit $status
