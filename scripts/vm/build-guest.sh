#!/usr/bin/env bash
# Builds the cgroup-v2 test guest: Debian's own kernel (linux-image-amd64, booted as the uncompressed vmlinux
# through its PVH entry) and a busybox initramfs that mounts the host's / read-only over virtio-9p. Cached in
# $OCIRUN_GUEST_DIR (default /var/cache/ocirun-guest); rebuilt only when the kernel package changes.
set -euo pipefail
OUT=${OCIRUN_GUEST_DIR:-/var/cache/ocirun-guest}
HERE=$(cd "$(dirname "$0")" && pwd)
need() { command -v "$1" >/dev/null || { echo "build-guest: installing $2" >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null; }; }
need qemu-system-x86_64 qemu-system-x86
need busybox busybox-static
need xz xz-utils

kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
PKG=$(kernel_package)
[ -n "$PKG" ] || { apt-get update -qq; PKG=$(kernel_package); }
[ -n "$PKG" ] || { echo "build-guest: no linux-image-amd64 in the apt lists (apt-get update?)" >&2; exit 1; }
if [ -f "$OUT/vmlinux" ] && [ -f "$OUT/initramfs.cpio" ] && [ "$(cat "$OUT/kernel-package" 2>/dev/null)" = "$PKG" ] \
   && [ "$OUT/initramfs.cpio" -nt "$HERE/guest-init.sh" ] && [ "$OUT/initramfs.cpio" -nt "$HERE/build-guest.sh" ]; then
  exit 0
fi
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download -q "$PKG" >/dev/null 2>&1) || { echo "build-guest: apt-get download $PKG failed" >&2; exit 1; }
dpkg-deb -x "$WORK"/*.deb "$WORK/pkg"
KVER=${PKG#linux-image-}

# vmlinuz is a bzImage around an xz stream: the ELF inside has the PVH note that qemu's -kernel boots directly.
python3 - "$WORK/pkg/boot/vmlinuz-$KVER" "$WORK/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
at = data.find(b'\xfd7zXZ\x00')
if at < 0: sys.exit('build-guest: no xz stream in the kernel image')
d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
elf = d.decompress(data[at:])
if elf[:4] != b'\x7fELF': sys.exit('build-guest: the decompressed kernel is not an ELF file')
open(sys.argv[2], 'wb').write(elf)
PY

# The initramfs: busybox, the modules for virtio-mmio, 9p and overlay (in dependency order), loop and BFQ (the
# tests give a loop device the BFQ scheduler: the guest has no disk of its own), and the init.
R=$WORK/initramfs
mkdir -p "$R"/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$R/bin/busybox"
for m in virtio_ring virtio virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p overlay loop bfq; do
  f=$(find "$WORK/pkg/lib/modules/$KVER" -name "$m.ko" | head -1)
  [ -n "$f" ] || { echo "build-guest: module $m missing from $PKG" >&2; exit 1; }
  cp "$f" "$R/modules/"
  echo "$m" >> "$R/modules/order"
done
cp "$HERE/guest-init.sh" "$R/init"
chmod 755 "$R/init"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null) > "$WORK/initramfs.cpio"
mv "$WORK/vmlinux" "$OUT/vmlinux"
mv "$WORK/initramfs.cpio" "$OUT/initramfs.cpio"
echo "$PKG" > "$OUT/kernel-package"
echo "build-guest: $PKG in $OUT" >&2
