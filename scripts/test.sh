#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, builds, runs every tap test on this host, then
# the cgroup v2 and systemd tests in the project's guest (scripts/vm: an emulated Debian kernel with systemd as
# PID 1, booted with cgroup v2, then with systemd's hybrid and legacy v1 layouts for the systemd tests).
# With test files as arguments, only those run, on this host. OCIRUN_GUEST=0 leaves the guest out.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test: run as root (the tests run real containers)" >&2; exit 1; }
bash scripts/setup.sh || exit 1
log=$(mktemp)
glog=$(mktemp)
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
  # The per-test-file cgroups (test/helpers.mjs) of files that could not remove theirs.
  find /sys/fs/cgroup -depth -type d -name 'ocirun-tests-*' -exec rmdir {} + 2>/dev/null
  rm -rf "$TMPDIR" "$log" "$glog"
}
trap sweep EXIT
trap 'exit 130' INT TERM HUP PIPE   # a signal must not skip the sweep
# Every container of the host suite is made under the allocation guard (test/alloc-guard): a cloned child that
# allocates before its exec dies loudly and fails the test that made it.
cc -shared -fPIC -O2 -o "$TMPDIR/alloc-guard.so" test/alloc-guard/guard.c || exit 1
export LD_PRELOAD="$TMPDIR/alloc-guard.so"
npx tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# One plain closing line for whoever reads only the end.
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
host="${pass:-0} passed, ${fail:-0} failed${skip:+, $skip skipped}"
[ -n "$summary" ] || status=1
# Three boots of the guest: cgroup v2 for the v2 tests, then systemd's hybrid and legacy v1 layouts for the
# systemd driver's.
guest() { # LABEL CGROUPS TESTS
  OCIRUN_GUEST_CGROUPS=$2 bash scripts/vm/run-guest.sh "OCIRUN_GUEST_LABEL='$1' OCIRUN_GUEST_TESTS='$3' sh scripts/vm/guest-tests.sh" 2>&1 | tee "$glog"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  local g
  g=$(grep -E '^guest: [0-9]+ passed' "$glog" | tail -1)
  [ -n "$g" ] || { g="guest: no result"; status=1; }
  gpass=$(sed -nE 's/^guest: ([0-9]+) passed.*/\1/p' <<<"$g")
  gfail=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$g")
  gskip=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$g")
  summaries+=("$1: ${g#guest: }")
  pass=$((${pass:-0} + ${gpass:-0})) fail=$((${fail:-0} + ${gfail:-0})) skip=$((${skip:-0} + ${gskip:-0}))
}
if [ $# -eq 0 ] && [ "${OCIRUN_GUEST:-1}" != 0 ]; then
  summaries=()
  guest 'cgroup v2 guest' unified ''   # scripts/vm/guest-tests.sh's list
  guest 'cgroup v1 (hybrid) guest' hybrid 'test/systemd.test.mjs'
  guest 'cgroup v1 (legacy) guest' legacy 'test/systemd.test.mjs'
  echo "host: $host; $(IFS=';'; echo "${summaries[*]}" | sed 's/;/; /g')"
  [ "$skip" = 0 ] && skip=
fi
echo "${pass:-0} passed, ${fail:-0} failed${skip:+, $skip skipped}"
[ "${skip:-0}" = 0 ] || status=1   # a skipped test is not a passing one
exit "$status"
