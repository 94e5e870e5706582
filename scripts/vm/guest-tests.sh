#!/bin/sh
# Inside the guest (scripts/vm/run-guest.sh): the tests that need a pure cgroup v2 host or a running systemd
# (OCIRUN_GUEST_TESTS chooses others; OCIRUN_GUEST_LABEL names the boot in the output). Each file
# runs under plain node, not tap's runner: under emulation the runner and its loaders cost ~20 s per file.
# Prints the TAP, then one line the host's test.sh reads: "guest: N passed, N failed, N skipped".
cd "$(dirname "$0")/../.." || exit 1
TMPDIR=$(mktemp -d /tmp/ocirun-guest-XXXXXX)
export TMPDIR TAP_TIMEOUT=900
chmod 755 "$TMPDIR"
status=0
pass=0 fail=0 skip=0
for f in ${OCIRUN_GUEST_TESTS:-test/cgroups.test.mjs test/systemd.test.mjs test/contract.test.mjs test/podman.test.mjs test/containerd.test.mjs test/docker.test.mjs test/rootless-systemd.test.mjs test/shim.test.mjs}; do
  out="$TMPDIR/$(basename "$f").tap"
  node "$f" > "$out" 2>&1 || status=1
  echo "# $f (${OCIRUN_GUEST_LABEL:-cgroup v2 guest})"
  cat "$out"
  # Assertions are the ok/not ok lines without a "# time=" (those close a subtest).
  p=$(grep -E '^\s*ok ' "$out" | grep -vc '# time=')
  n=$(grep -E '^\s*not ok ' "$out" | grep -vc '# time=')
  s=$(grep -E '^\s*(not )?ok .*# (SKIP|TODO)' "$out" | grep -vc '# time=')
  pass=$((pass + p - s)) fail=$((fail + n)) skip=$((skip + s))
done
[ "$skip" = 0 ] || status=1
echo "guest: $pass passed, $fail failed, $skip skipped"
exit $status
