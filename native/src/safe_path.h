// Resolving paths inside the container's rootfs without ever leaving it.
//
// A path is walked one component at a time with openat(O_PATH|O_NOFOLLOW) from the rootfs fd. Symlinks of the
// image are read and resolved as text inside the rootfs (an absolute target restarts at the rootfs, ".." stops
// there), so the kernel never follows one of the container's links, magic links included. Missing components
// are created as they are reached (mkdirat on the parent fd), which is how a symlink to a missing directory
// gets its target made inside the rootfs. Where the path exists, openat2(RESOLVE_IN_ROOT) does the same in one
// call (it too never leaves the root, and refuses magic links, which the walk then reads as text). All of it
// is allocation-free: it runs in the cloned child.
#pragma once

#include <sys/types.h>

#include "error.h"

namespace ocirun {

// Opens `path` (absolute or relative, interpreted inside the root) as an O_PATH fd.
int open_in_root(int root_fd, const char* path, SysError& e);

// mkdir -p inside the root; returns an O_PATH directory fd of the last component.
int mkdir_all_in_root(int root_fd, const char* path, mode_t mode, SysError& e);

// Opens the parent directory of `path` inside the root (created if missing) and points *base at the last
// component, copied into base_buf. Returns the parent's fd.
int open_parent_in_root(int root_fd, const char* path, char* base_buf, size_t base_cap, SysError& e);

// Makes sure a mount target exists inside the root (a directory, or an empty file when as_file) and returns
// an O_PATH fd of it; mount(2) then reaches it as /proc/self/fd/N.
int ensure_target_in_root(int root_fd, const char* path, bool as_file, SysError& e);

}  // namespace ocirun
