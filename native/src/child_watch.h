// Waiting for a process on the event loop: its pidfd polled by libuv, no thread, no timer, no signal handler.
// A watch that reaps takes the exit status of that one child with waitid(P_PIDFD), never with a waitpid(-1)
// that would take the children of Node's own child_process.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include "error.h"

namespace ocirun {

// The children whose exit the addon waits for itself (a container's init or exec'd process, a spawn waiting
// for its cgroup): the orphan reaper (subreaper.h) leaves them alone. The loop thread's alone.
void own_child(pid_t pid);
void disown_child(pid_t pid);
bool owns_child(pid_t pid);

class PidfdWatch {
 public:
  virtual ~PidfdWatch() = default;
  // Starts watching `pidfd` (taken over: closed when the watch ends). `reap`: the process is a child of this
  // one, reaped when it exits. A watch that does not keep the loop alive lets the process exit before it.
  // The watch owns itself: it deletes itself after exited(), or at once when it cannot start (-1).
  int start(uv_loop_t* loop, int pidfd, bool reap, bool keep_alive, SysError& e);
  void keep_alive(bool on);
  // Whether the exit is reaped here; settable until the process exits.
  void set_reap(bool on) { reap_ = on; }

 protected:
  // On the loop thread, once: the exit code (-1 when a signal ended it) and signal; both 0 for a process that
  // is not reaped here.
  virtual void exited(int code, int sig) = 0;

 private:
  uv_poll_t poll_{};
  int fd_ = -1;
  bool reap_ = false;
};

}  // namespace ocirun
