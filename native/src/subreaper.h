// The shim as a child subreaper: whatever a container leaves behind when its parent dies (a daemon's
// double-fork in a container that shares the shim's PID namespace, a process of an exec whose parent ended)
// is reparented to the shim and reaped here, as containerd's runc shim does.
//
// Reaping never takes a child whose exit someone else waits for: not with waitpid(-1), but one waitid(P_PID)
// per child of ours that is none of
//   - the addon's own (a container's init or exec'd process, a spawn waiting for its cgroup: child_watch.h),
//   - libuv's (Node's child_process: the loop's process handles),
//   - a child an addon thread is about to wait for (a hook, a helper): no pass runs while a job is in flight.
#pragma once

#include <uv.h>

#include "error.h"

namespace ocirun {

// Makes this process a child subreaper and reaps its orphans on SIGCHLD from now on (the watch does not keep
// the loop alive). The loop thread's alone.
int become_subreaper(uv_loop_t* loop, SysError& e);

}  // namespace ocirun
