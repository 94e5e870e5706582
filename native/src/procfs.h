// Writes the runtime makes into /proc, made so that no mount can redirect them (the CVE-2025-52881 class).
//
// A path under /proc is never opened as a whole: the procfs root is opened first and checked to be a procfs
// (fstatfs, inode 1), then the file is opened beneath it with openat2(RESOLVE_BENEATH | RESOLVE_NO_XDEV |
// RESOLVE_NO_MAGICLINKS): a bind mount placed over a /proc file or a /proc that is not a procfs makes the
// open fail instead of writing somewhere else. Allocation-free: the cloned child and the init stub
// use it too.
#pragma once

#include "error.h"

namespace ocirun {

// An O_PATH fd of the procfs mounted at `mountpoint` (normally "/proc"), checked to be a procfs mount root.
int open_procfs(const char* mountpoint, SysError& e);

// Opens `rel` (relative, e.g. "sys/net/core/somaxconn" or "self/attr/exec") beneath a procfs fd, staying on
// that mount; the result is checked to be on a procfs too. `shown` names the file in errors.
int open_proc_file(int proc_fd, const char* rel, int flags, const char* shown, SysError& e);

// The whole write: opens `rel` under the procfs at "/proc" and writes `len` bytes of `data` in one write(2).
int write_proc_file(const char* rel, const char* data, size_t len, const char* shown, SysError& e);

}  // namespace ocirun
