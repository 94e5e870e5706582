#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, builds, runs every tap test on this host.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests run real containers)" >&2; exit 1; }
bash scripts/setup.sh || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
npx tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# One plain closing line for whoever reads only the end.
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
echo "${pass:-0} passed, ${fail:-0} failed${skip:+, $skip skipped}"
[ "${skip:-0}" = 0 ] || status=1   # a skipped test is not a passing one
exit "$status"
