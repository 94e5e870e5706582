// Running one OCI hook from native code: the createContainer hooks (in the cloned child) and the
// startContainer hooks (in the init stub) share this runner, so both have the same semantics as the
// runtime-side hooks of lib/hooks.ts: the state on stdin, the hook's own argv and env, killed after its
// timeout, any exit status but 0 (or a signal) a failure.
//
// The state is a memfd, not a pipe: the hook may read it or not, and nothing blocks on a full pipe before the
// timeout can fire. The wait is a pidfd polled with the timeout: no sleeping loop. Allocation-free, no fork()
// (glibc's takes locks): a raw clone, then execve.
#pragma once

#include <stddef.h>

#include "error.h"

namespace ocirun {

struct HookRun {
  const char* kind;  // "createContainer", "startContainer": named in errors
  size_t index;      // its position among the hooks of its kind
  const char* path;
  char* const* argv;
  char* const* envp;
  unsigned timeout;  // seconds; 0: none
};

// The state hooks read on stdin: `tmpl` (the container state, with "__PID__" where the pid goes) in a memfd,
// with `pid` written over the mark. Each hook reads it from its start. Returns the fd, or -1.
int hook_state_memfd(const char* tmpl, size_t len, long pid, SysError& e);

// Runs the hook with `state_fd` (read from its start) as stdin and waits for it. On failure `e` says which hook
// and how (exit status, signal, timeout) in its detail.
int run_hook(const HookRun& h, int state_fd, SysError& e);

}  // namespace ocirun
