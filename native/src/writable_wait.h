// Waiting on the event loop, without a thread or a timer, until an fd can be written: the shim's copy of a
// terminal's input waits so for a pty whose input buffer is full (the process reads slower than the user
// types or pastes), instead of dropping what does not fit.
#pragma once

#include <uv.h>

#include "error.h"

namespace ocirun {

class WritableWait {
 public:
  virtual ~WritableWait() = default;
  // Polls a copy of `fd` (its own: the caller may close `fd` at any time) for POLLOUT. The wait owns itself:
  // it deletes itself after ready() or cancel(), or at once when it cannot start (-1).
  int start(uv_loop_t* loop, int fd, SysError& e);
  // Ends the wait without calling ready(); nothing once ready() has been called.
  void cancel();

 protected:
  // Once, on the loop thread: the fd is writable (0), or polling it failed (a negative libuv error).
  virtual void ready(int status) = 0;

 private:
  void end();
  uv_poll_t poll_{};
  int fd_ = -1;
  bool done_ = false;
};

}  // namespace ocirun
