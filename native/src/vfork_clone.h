// The container's child cloned into the runtime's own address space (clone3 with CLONE_VM | CLONE_VFORK), not a
// copy of it: no page tables of Node's heap copied at clone and torn down again at exec, no copy-on-write faults
// and TLB shootdowns in Node afterwards (about 1.3 ms of CPU per container in a library process).
//
// The clone is made on a worker thread of its own (off_thread.h), which the kernel holds until the child has
// exec'd or exited: meanwhile the child runs on a stack the caller gave it, with that thread's TLS (its errno),
// which nothing else touches. Worker threads live as long as the process, as they must: a death signal the child
// arms (PR_SET_PDEATHSIG) fires when the thread that cloned it ends. The child must keep the cloned child's rule
// (child.h: plain syscalls, no allocation, no locks) all the more: everything it writes outside its stack, the
// runtime sees.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace ocirun {

struct VforkClone {
  // In.
  uint64_t flags = 0;       // namespaces; CLONE_VM, CLONE_VFORK and CLONE_PARENT_SETTID are added
  int cgroup_fd = -1;       // tried first with CLONE_INTO_CGROUP when >= 0
  void (*fn)(void*) = nullptr;  // the child's entry; never returns
  void* arg = nullptr;
  void* stack = nullptr;    // lowest address of the child's stack
  size_t stack_size = 0;
  int report_fd = -1;       // the child's end of the sync socket: kSyncError is sent on it if the clone
                            // fails, and it is closed once the clone is over either way
  // Out. pid is written by the kernel before the child runs; placed before the attempt that made it.
  volatile pid_t pid = 0;
  volatile bool placed = false;
  // The clone is over (the child exec'd, exited, or was never made).
  bool finished = false;
  int err = 0;              // the failed clone's errno
};

// Whether this build can clone this way: x86-64, the one architecture whose stack switch is written (and
// tested); elsewhere spawn.cc clones a copy of the address space, as before.
bool vfork_clone_supported();

// Hands `req` to a worker thread and returns at once (false, with nothing started, when no thread could be had).
// The caller learns that the child runs from the child (its first message), or that the clone failed from the
// kSyncError on the socket. `req`, the stack and everything the child reads must stay until vfork_clone_wait.
bool vfork_clone_start(VforkClone* req);

// Until the worker is done with `req`: the child has exec'd or exited. Kill and reap a child that must not go on
// first.
void vfork_clone_wait(VforkClone* req);

}  // namespace ocirun
