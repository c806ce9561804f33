#!/usr/bin/env bash
# `make test`'s pytest: the end-to-end suite (tests/e2e: one local cloud, its tests mostly
# waiting on jobs) and the other tests (unit, functional, infra, containers: mostly computing)
# as two pytest processes side by side, each with a temporary directory of its own; the other
# tests' report follows the end-to-end one. (pytest-xdist's --dist loadgroup would keep the
# end-to-end tests on one worker, but xdist 3.8 under pytest 9 ignores the groups.)
#   scripts/test.sh [PYTEST OPTIONS]    e.g. -x, -k NAME
#   TEST_SERIAL=1 scripts/test.sh       one process, everything in turn
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
if [ -n "${TEST_SERIAL:-}" ]; then
    exec "$BIN/python" -m pytest "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
started=$(date +%s)
echo "pytest: tests/e2e here; the other tests beside it (their report follows)"
"$BIN/python" -m pytest --ignore=tests/e2e --basetemp="$tmp/rest" "$@" > "$tmp/rest.log" 2>&1 &
rest=$!
"$BIN/python" -m pytest tests/e2e --basetemp="$tmp/e2e" "$@"
e2e=$?
wait "$rest"
others=$?
echo
echo "== the other tests (unit, functional, infra, containers):"
cat "$tmp/rest.log"
echo "pytest: end-to-end exit $e2e, the others exit $others, $(($(date +%s) - started)) s in all"
[ "$e2e" -eq 0 ] && [ "$others" -eq 0 ]
