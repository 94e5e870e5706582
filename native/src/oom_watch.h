// OOM notifications of a cgroup v1 memory controller on the event loop. v1 has no file that inotify reports
// (v2's memory.events has: lib/cgroups/oom.ts watches that one itself); the kernel signals an eventfd
// registered through the directory's cgroup.event_control for its memory.oom_control instead, once per OOM
// and once more when the cgroup is removed. The eventfd is polled by libuv: no thread, no timer.
#pragma once

#include <uv.h>

#include <string>

#include "error.h"

namespace ocirun {

class OomWatch {
 public:
  virtual ~OomWatch() = default;
  // Registers an eventfd for `memory_dir` (a v1 memory cgroup directory) and starts polling it. Does not keep
  // the loop alive. The watch owns itself: it deletes itself after stop(), or at once when it cannot start
  // (-1, nothing left open).
  int start(uv_loop_t* loop, const std::string& memory_dir, SysError& e);
  // Ends the watch: the eventfd is closed and the watch deletes itself once libuv lets go of its handle.
  void stop();

 protected:
  // On the loop thread, each time the eventfd is signalled (it is drained first): an OOM, or the cgroup's
  // removal. Reading memory.oom_control's oom_kill tells which.
  virtual void signalled() = 0;

 private:
  uv_poll_t poll_{};
  int fd_ = -1;
};

}  // namespace ocirun
