#!/usr/bin/env bash
# Installs what building and testing ocirun needs on a fresh Debian machine, then builds it.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || need+=(busybox-static)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
[ -f /usr/include/seccomp.h ] || need+=(libseccomp-dev)   # the oracle of the seccomp differential tests
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)   # the cgroup v2 guest (scripts/vm)
command -v xz >/dev/null || need+=(xz-utils)
command -v podman >/dev/null || need+=(podman)              # the real callers (test/podman, test/containerd)
command -v containerd >/dev/null || need+=(containerd)      # (brings runc, the benchmarks' peer)
command -v dockerd >/dev/null || need+=(docker.io)          # test/docker: a private dockerd on ocirun
command -v docker-compose >/dev/null || need+=(docker-compose)   # and compose on it
command -v strace >/dev/null || need+=(strace)              # fault injection: holds the child in a race window
command -v crun >/dev/null || need+=(crun)                  # the benchmarks' other peer (cgroup v2 guest)
[ -x /lib/systemd/systemd ] || need+=(systemd)              # PID 1 of the cgroup v2 guest (the systemd driver)
command -v dbus-daemon >/dev/null || need+=(dbus)           # the guest's system bus; a private bus for the D-Bus client
command -v musl-gcc >/dev/null || need+=(musl-tools)         # the static programs' C library (scripts/build-static.sh)
command -v newuidmap >/dev/null || need+=(uidmap)           # rootless: subordinate id ranges (test/rootless)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: please install: ${need[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ "${CI:-}" = true ]; then
  npm ci --no-audit --no-fund   # builds the addon (install) and the TypeScript (prepare)
else
  npm run --silent build
fi
