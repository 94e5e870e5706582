// The runtime side of creating a container: prepare every buffer, clone, answer the child's sync requests,
// and wait until the init stub reports that it is ready and waiting for `start`.
#pragma once

#include <sys/types.h>

#include "error.h"
#include "plan.h"

namespace ocirun {

struct Spawned {
  pid_t pid = -1;       // host pid of the container's init, waiting on exec.fifo
  int notify_fd = -1;   // the seccomp notify fd the init sent with kSyncReady, when its filter has a listener
  int sync_fd = -1;     // our end of the sync socket: commit_container() on it once the pid is recorded
  int console_fd = -1;  // the pty master, when process.terminal and no console socket: the caller proxies it
};

// Tells the waiting init that the runtime has recorded it (kSyncCommit), and closes the sync socket.
int commit_container(int sync_fd, SysError& e);

// On failure (pid -1) everything the spawn made (processes, fds, the fifo) is gone again.
Spawned spawn_container(const ContainerPlan& plan, SysError& e);

}  // namespace ocirun
