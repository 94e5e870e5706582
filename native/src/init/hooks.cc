// startContainer hooks, run by the stub inside the container between `start` and the process.
#include "init.h"

namespace init {

// startContainer hooks: after `start`, before the process; in the container (its root, its namespaces).
// A failing or timed-out hook stops the container here, as with runc: the process never runs.
void run_start_hooks(const Control& c) {
  if (!c.nhooks) return;
  // The pid over "__PID__" is ours as the container sees it (what runc's init reports).
  const char* tmpl = c.hook_state ? c.hook_state : "";
  ocirun::SysError e;
  int state = ocirun::hook_state_memfd(tmpl, strlen(tmpl), getpid(), e);
  if (state < 0) fail(ocirun::kStepStartContainerHook, e.syscall, e.path, e.err, e.detail);
  for (size_t i = 0; i < c.nhooks; i++) {
    const Hook& h = c.hooks[i];
    // A hook without env of its own runs with the process's, as runc's do.
    char* const* envp = h.envp[0] ? h.envp : environ;
    if (ocirun::run_hook({"startContainer", i, h.path, h.argv, envp, h.timeout}, state, e) < 0)
      fail(ocirun::kStepStartContainerHook, e.syscall, e.path, e.err, e.detail);
  }
  close(state);
}

}  // namespace init
