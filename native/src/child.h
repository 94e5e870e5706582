// The cloned child: the container's init until it execs the ocirun-init stub.
//
// It runs in the runtime's address space (vfork_clone.h; elsewhere a copy of it), Node's heap included, so it may
// only make plain syscalls: no malloc, no locks, no V8, no writes to anything but its own stack and ChildContext.
// Everything it reads was prepared by the parent in ChildContext.
#pragma once

#include <vector>

#include "error.h"
#include "plan.h"

namespace ocirun {

struct ChildContext {
  const ContainerPlan* plan;
  int sock;            // our end of the sync socketpair
  int parent_sock;     // the parent's end: closed first thing, so that the parent's death is our EOF
  int init_fd;         // sealed memfd holding ocirun-init
  int fifo_fd;         // exec.fifo, opened O_RDWR: the stub blocks reading it until `start`
  const int* ns_fds;   // fds of the namespaces to join, in plan.joins order
  bool two_stage;      // namespaces are joined before new ones are made; the pid namespace needs a fork
  bool wait_cgroups;   // the parent sends kSyncCgroupDone once the process is in its cgroup2 cgroup
  const int* source_fds;  // per plan.mounts entry: a detached copy of a bind source (user namespace), else -1
  const int* tasks_fds;  // the v1 `tasks` files of plan.cgroupTasks, opened by the parent, in that order
  int sync_target;     // fd numbers the stub finds its sync socket and fifo at (above the preserved fds)
  int fifo_target;
  char* const* init_argv;  // the stub's argv, ready for execveat
  char* const* envp;
  // createContainer hooks, ready for execve: argv and envp per hook (null-terminated).
  const std::vector<char*>* hook_argv;
  const std::vector<char*>* hook_envp;
  int root_fd = -1;    // set by the prepare-rootfs step
  bool hello = false;  // cloned by a worker thread (vfork_clone.h): say kSyncHello first, the parent waits for it
  // Test builds only: the allocation guard's switch (test/alloc-guard), found in the parent when the guard is
  // preloaded; once called, any malloc or free in this process ends it loudly.
  void (*arm_alloc_guard)() = nullptr;
};

// Runs the init sequence; never returns. On failure it sends kSyncError and exits.
[[noreturn]] void child_main(ChildContext& ctx);

}  // namespace ocirun
