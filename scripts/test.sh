#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, builds, runs every tap test on this host.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests run real containers)" >&2; exit 1; }
bash scripts/setup.sh || exit 1
log=$(mktemp)
# The tests' temporary files (bundles, state roots) live under a directory of this run's own. Each test
# cleans up after itself; one killed at its timeout cannot, so the containers left in this run's state roots
# are force-deleted at the end (never those of anything else).
export TMPDIR
TMPDIR=$(mktemp -d /tmp/ocirun-test-XXXXXX)
chmod 755 "$TMPDIR"   # a container's mapped root (user namespace tests) must reach its bundle
sweep() {
  for root in "$TMPDIR"/ocirun-root-* "$TMPDIR"/ocirun-api-*; do
    [ -d "$root" ] || continue
    for id in $(ls "$root"); do bin/ocirun --root "$root" delete --force "$id" >/dev/null 2>&1; done
  done
  rm -rf "$TMPDIR" "$log"
}
trap sweep EXIT
trap 'exit 130' INT TERM HUP PIPE   # a signal must not skip the sweep
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
