#!/usr/bin/env bash
# Runs one shell command inside the cgroup-v2 guest, in the checkout, and exits with its status.
#   scripts/vm/run-guest.sh 'npx tap test/cgroup.test.mjs'
# The guest sees the host's / read-only (the addon is built on the host and shared in), the checkout through
# a writable overlay, and a job directory shared read-write for the command, its output and its status.
# OCIRUN_GUEST_CGROUPS=hybrid or legacy boots it with systemd's cgroup v1 layout of that name instead of v2.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
G=${OCIRUN_GUEST_DIR:-/var/cache/ocirun-guest}
bash "$HERE/build-guest.sh"
JOB=$(mktemp -d "${TMPDIR:-/tmp}/ocirun-guest.XXXXXX")
QEMU_PID=
cleanup() { [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null; rm -rf "$JOB"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
{
  echo "export OCIRUN_IN_GUEST=1 CI=${CI:-} TMPDIR=/tmp"
  printf '%s\n' "$*"
} > "$JOB/cmd"
cgroups=
[ "${OCIRUN_GUEST_CGROUPS:-unified}" != unified ] && cgroups="ocirun.cgroups=$OCIRUN_GUEST_CGROUPS"
started=$(date +%s.%N)
qemu-system-x86_64 -machine microvm,pit=on,pic=off,rtc=on -accel tcg,thread=multi -cpu max \
  -smp "${OCIRUN_GUEST_CPUS:-2}" -m "${OCIRUN_GUEST_MEM:-3072}" -nodefaults -no-user-config -nographic -no-reboot \
  -serial file:"$JOB/console" \
  -kernel "$G/vmlinux" -initrd "$G/initramfs.cpio" \
  -append "console=ttyS0 quiet systemd.show_status=0 $cgroups panic=-1 tsc_early_khz=2000000 ocirun.job=$JOB ocirun.repo=$REPO" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-device,fsdev=root,mount_tag=root \
  -fsdev local,id=job,path="$JOB",security_model=passthrough \
  -device virtio-9p-device,fsdev=job,mount_tag=job </dev/null &
QEMU_PID=$!
wait "$QEMU_PID" || true
QEMU_PID=
ended=$(date +%s.%N)
[ -f "$JOB/output" ] && cat "$JOB/output"
if [ ! -f "$JOB/status" ]; then
  echo "run-guest: the guest ended without a status; its console:" >&2
  tail -40 "$JOB/console" >&2 || true
  exit 1
fi
echo "run-guest: guest ran for $(echo "$ended - $started" | bc 2>/dev/null || python3 -c "print(round($ended-$started,1))")s" >&2
exit "$(cat "$JOB/status")"
