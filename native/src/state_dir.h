// The file operations of a container's state directory (lib/state/store.ts decides what is written and when):
// each is a handful of syscalls relative to directory fds, made in one call from JS. A record is written
// through the fd of the directory whose lock is held, never through a path that could name another by then.
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

namespace ocirun {

enum class MakeStateDir { Made, Exists, NoRoot };

// Makes <root>/<tmp> (mode 0711), opens and locks it (flock: nobody else knows the name yet), writes its first
// record `state.json` (0600, through a temporary name), then renames it to <root>/<name> without replacing
// anything. Made: *fd is the open, locked directory. Exists: something is at <root>/<name> already. NoRoot:
// <root> is missing. On those and on failure (-1) nothing of this call is left.
int make_state_dir(const char* root, const char* tmp, const char* name, const char* record, size_t len,
                   MakeStateDir* outcome, int* fd, SysError& e);

// Replaces `name` in the directory `dirfd` with `data`, atomically: written to `.<name>.<pid>` there (mode),
// then renamed over it. `shown` names the directory in errors.
int replace_file_at(int dirfd, const char* name, const char* data, size_t len, mode_t mode, const char* shown, SysError& e);

}  // namespace ocirun
