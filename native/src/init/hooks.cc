// startContainer hooks, run by the stub inside the container between `start` and the process.
#include "init.h"

namespace init {

namespace {

// The state the hooks read, in a memfd, with "__PID__" replaced by our pid as the container sees it (what
// runc's init reports).
int state_memfd(const Control& c) {
  int fd = int(syscall(SYS_memfd_create, "ocirun-hook-state", MFD_CLOEXEC));
  if (fd < 0) fail("startContainer-hook", "memfd_create", "hook state", errno);
  const char* state = c.hook_state ? c.hook_state : "";
  const char* mark = strstr(state, "__PID__");
  char pidtext[16];
  int n = snprintf(pidtext, sizeof pidtext, "%d", int(getpid()));
  size_t head = mark ? size_t(mark - state) : strlen(state);
  bool ok = write(fd, state, head) == ssize_t(head);
  if (ok && mark) ok = write(fd, pidtext, size_t(n)) == n && write(fd, mark + 7, strlen(mark + 7)) == ssize_t(strlen(mark + 7));
  if (!ok) fail("startContainer-hook", "write", "hook state", errno ? errno : EIO);
  return fd;
}

}  // namespace

// startContainer hooks: after `start`, before the process; in the container (its root, its namespaces).
// A failing or timed-out hook stops the container here, as with runc: the process never runs.
void run_start_hooks(const Control& c) {
  if (!c.nhooks) return;
  int state = state_memfd(c);
  for (size_t i = 0; i < c.nhooks; i++) {
    const Hook& h = c.hooks[i];
    ocirun::SysError e;
    if (ocirun::run_hook({"startContainer", i, h.path, h.argv, h.envp, h.timeout}, state, e) < 0)
      fail("startContainer-hook", e.syscall, e.path, e.err, e.detail);
  }
  close(state);
}

}  // namespace init
