#!/bin/sh
# Builds one of ocirun's two static programs: the init stub (native/src/init), which every container and exec
# starts, and the launcher (native/src/launcher), which every command starts. Against musl where its compiler
# wrapper is installed (Debian: musl-tools), else against glibc: both behave alike, but a static glibc program
# first asks the CPU about its caches with dozens of CPUID instructions, each of which traps to the hypervisor
# on a virtual machine (~0.3 ms a start measured on the development VM; musl's start: none of that). Both
# programs use the C library only (no C++ library, no exceptions), so the C++ compiler builds them either way.
# OCIRUN_STATIC_LIBC=glibc picks glibc even where musl is installed.
#   build-static.sh OUTPUT SOURCE...   (headers among the sources are dependencies only)
set -eu
out=$1
shift
srcs=
for f in "$@"; do
  case $f in *.cc) srcs="$srcs $f" ;; esac
done
cxx=${CXX:-g++}
flags="-std=c++17 -Os -Wall -Wextra -Wno-missing-field-initializers -fno-exceptions -fno-rtti -fno-threadsafe-statics"
specs=
if command -v musl-gcc >/dev/null 2>&1 && [ "${OCIRUN_STATIC_LIBC:-}" != glibc ]; then
  specs=$(sed -n 's/.*-specs "\{0,1\}\([^" ]*musl-gcc.specs\).*/\1/p' "$(command -v musl-gcc)" | head -n 1)
fi
if [ -n "$specs" ] && [ -f "$specs" ]; then
  # musl's headers have no kernel headers beside them: the kernel's own (linux/, asm/, asm-generic/) are
  # offered from a directory of their own, so that no other glibc header comes in.
  kernel="$(dirname "$out")/static-kernel-headers"
  multiarch=$($cxx -print-multiarch 2>/dev/null || true)
  mkdir -p "$kernel"
  ln -sfn /usr/include/linux "$kernel/linux"
  ln -sfn /usr/include/asm-generic "$kernel/asm-generic"
  if [ -n "$multiarch" ] && [ -d "/usr/include/$multiarch/asm" ]; then ln -sfn "/usr/include/$multiarch/asm" "$kernel/asm"
  else ln -sfn /usr/include/asm "$kernel/asm"; fi
  # shellcheck disable=SC2086
  $cxx $flags -specs "$specs" -isystem "$kernel" -static -s -nodefaultlibs -o "$out.tmp" $srcs -lc -lgcc
else
  # shellcheck disable=SC2086
  $cxx $flags -static -s -o "$out.tmp" $srcs
fi
mv -f "$out.tmp" "$out"
