// Idmapped bind mounts (the `idmap` and `ridmap` mount options): made by the runtime before the clone, as a
// detached copy of the source with MOUNT_ATTR_IDMAP set to a user namespace of the mount's mappings, which the
// cloned child attaches with move_mount. Host side only.
#pragma once

#include <string>

#include "error.h"

namespace ocirun {

// A user namespace with these uid_map and gid_map contents, as an fd of its ns file: a child is cloned into a
// new one, parked while its maps are written and its ns file opened, then let go and reaped.
int make_userns(const std::string& uid_map, const std::string& gid_map, SysError& e);

// A detached copy of `source` (with its submounts when `recursive_tree`), idmapped with `userns_fd` (its
// submounts too when `recursive_idmap`). The filesystem must support idmapped mounts (EINVAL otherwise).
int idmapped_tree(const char* source, bool recursive_tree, bool recursive_idmap, int userns_fd, SysError& e);

}  // namespace ocirun
