// Copying a directory tree between two directory fds with plain syscalls: tmpcopyup, which fills a new tmpfs
// with what the image had at its mount point. It runs in the cloned child, so it allocates nothing (one
// getdents buffer per level, on the stack) and follows no link: entries are opened with O_NOFOLLOW relative
// to their parent's fd, symlinks are copied as links.
#pragma once

#include "error.h"

namespace ocirun {

// Copies every entry of `src` into `dst` (both O_RDONLY|O_DIRECTORY fds): regular files, directories,
// symlinks, device nodes and fifos, with their mode and owner. `what` names the tree in errors.
int copy_tree(int src, int dst, const char* what, SysError& e);

}  // namespace ocirun
