// The runtime side of creating a container: prepare every buffer, clone, answer the child's sync requests,
// and wait until the init stub reports that it is ready and waiting for `start`.
#pragma once

#include <sys/types.h>

#include "error.h"
#include "plan.h"

namespace ocirun {

// On success returns the host pid of the container's init (waiting on exec.fifo). On failure everything the
// spawn made (processes, fds, the fifo) is gone again.
pid_t spawn_container(const ContainerPlan& plan, SysError& e);

}  // namespace ocirun
