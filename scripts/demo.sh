#!/usr/bin/env bash
# Builds ocirun if needed, makes a busybox rootfs, and runs one real container that shows what it sees.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (containers need it)" >&2; exit 1; }
bash scripts/setup.sh
bundle=$(mktemp -d /tmp/ocirun-demo-XXXXXX)
chmod 755 "$bundle"
trap 'rm -rf "$bundle"' EXIT
bash scripts/mkrootfs.sh "$bundle/rootfs"
(cd "$bundle" && "$OLDPWD/bin/ocirun" spec)
node -e '
  const fs = require("fs"), file = process.argv[1], c = JSON.parse(fs.readFileSync(file, "utf8"));
  c.process.terminal = false;
  c.hostname = "ocirun-demo";
  c.process.args = ["sh", "-c", "echo \"hostname: $(hostname)\"; echo \"my pid:   $$\"; echo \"user:     $(id)\"; echo \"processes: $(ls /proc | grep -c \"^[0-9]\")\"; echo \"network:  $(ip -o link | cut -d: -f2 | tr -d \" \\n\")\"; echo mounts:; cat /proc/mounts"];
  fs.writeFileSync(file, JSON.stringify(c, null, 2));' "$bundle/config.json"
echo "+ ocirun run --bundle $bundle demo"
bin/ocirun run --bundle "$bundle" "demo-$$"   # not exec: the trap above removes the bundle afterwards
