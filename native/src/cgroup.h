// Cgroup work the runtime does in C++: attaching a device-filter BPF program to a cgroup2 directory, and
// moving a process into cgroups by writing its pid. The directories and resource files are the TypeScript
// side's (lib/cgroups); only what needs a raw syscall, or happens between clone and the child's next step,
// is here.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "error.h"

namespace ocirun {

// BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program (`insns`, 8 bytes each), then BPF_PROG_ATTACH to
// the cgroup directory `dir` with BPF_F_ALLOW_MULTI. The verifier's first complaint goes into e.detail. A
// program is loaded once per process and attached again for every container with the same rules. With
// `replace`, every other device program attached to that directory is detached afterwards (left there by
// earlier containers in a cgroup that outlived them).
int attach_device_filter(const std::string& dir, const std::vector<unsigned char>& insns, bool replace, SysError& e);

// Writes `pid` into each of the cgroup.procs files.
int join_cgroups(pid_t pid, const std::vector<std::string>& procs_files, SysError& e);

}  // namespace ocirun
