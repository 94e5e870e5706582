// The container's root filesystem, built in the cloned child inside its new mount namespace.
// Each function is one init step (see child.cc for their order and why).
#pragma once

#include "error.h"
#include "plan.h"

namespace ocirun {

// Sets rootfsPropagation on "/", makes the rootfs's parent mount private and bind-mounts the rootfs onto itself
// (pivot_root needs a mount point whose parent is not shared). Returns an fd of the rootfs mount.
int prepare_rootfs(const ContainerPlan& p, SysError& e);

// The config's mounts, in config order, every destination resolved inside the rootfs.
// `source_fds`: per mount, -1 or a detached copy of the bind source that the runtime made before the clone
// (open_tree: a user namespace may not reach the source by path); used only when the path is refused.
int mount_all(const ContainerPlan& p, int root_fd, const int* source_fds, SysError& e);

// Device nodes (mknod, or a bind of the host's node inside a user namespace) and /dev symlinks.
int create_devices(const ContainerPlan& p, int root_fd, SysError& e);
int create_symlinks(const ContainerPlan& p, int root_fd, SysError& e);

// pivot_root into the rootfs and detach the old root (or MS_MOVE + chroot with --no-pivot).
int enter_rootfs(const ContainerPlan& p, int root_fd, SysError& e);

// Remounts "/" read-only when root.readonly is set; keeps the flags the kernel locks in a user namespace.
int finish_rootfs(const ContainerPlan& p, SysError& e);

// After pivot_root: linux.sysctl, linux.readonlyPaths, linux.maskedPaths (in runc's order). Paths are
// resolved inside the new root like every other; paths that do not exist are skipped.
int write_sysctls(const ContainerPlan& p, SysError& e);
int make_readonly_paths(const ContainerPlan& p, SysError& e);
int mask_paths(const ContainerPlan& p, SysError& e);

}  // namespace ocirun
