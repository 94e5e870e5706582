// Resolving paths inside the container's rootfs without ever leaving it.
//
// Every lookup goes through openat2(2) with RESOLVE_IN_ROOT, so ".." and absolute symlinks in the rootfs are
// clamped at the rootfs, and magic links (/proc/*/fd, /proc/*/exe) are refused. Missing components are created
// one at a time with mkdirat(parent_fd, name), which never follows a symlink. All of it is allocation-free: it
// runs in the cloned child.
#pragma once

#include <sys/types.h>

#include "error.h"

namespace ocirun {

// Opens `path` (absolute or relative, interpreted inside the root) relative to root_fd.
int open_in_root(int root_fd, const char* path, int flags, SysError& e);

// mkdir -p inside the root; returns an O_PATH directory fd of the last component.
int mkdir_all_in_root(int root_fd, const char* path, mode_t mode, SysError& e);

// Opens the parent directory of `path` inside the root (created if missing) and points *base at the last
// component, copied into base_buf. Returns the parent's fd.
int open_parent_in_root(int root_fd, const char* path, char* base_buf, size_t base_cap, SysError& e);

// Makes sure a mount target exists inside the root (a directory, or an empty file when as_file) and returns
// an O_PATH fd of it; mount(2) then reaches it as /proc/self/fd/N.
int ensure_target_in_root(int root_fd, const char* path, bool as_file, SysError& e);

}  // namespace ocirun
