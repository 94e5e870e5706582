#!/usr/bin/env bash
# mkrootfs.sh DIR: a minimal busybox root filesystem for demos, tests and benchmarks.
# Needs Debian's busybox-static (installed if missing and we are root).
set -euo pipefail
dir=${1:?usage: mkrootfs.sh DIR}
bb=/bin/busybox
if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
  if [ -x /usr/bin/busybox ] && ldd /usr/bin/busybox 2>&1 | grep -q 'not a dynamic'; then bb=/usr/bin/busybox
  else
    [ "$(id -u)" = 0 ] || { echo "mkrootfs: install busybox-static first" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    bb=/bin/busybox
  fi
fi
chmod 755 "$dir" 2>/dev/null || mkdir -m 755 -p "$dir"
mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var}
cp "$bb" "$dir/bin/busybox"
for app in $("$dir/bin/busybox" --list); do
  [ -e "$dir/bin/$app" ] || ln -s busybox "$dir/bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
echo 'root:x:0:' > "$dir/etc/group"
chmod 1777 "$dir/tmp"
