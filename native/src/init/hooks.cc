// startContainer hooks, run by the stub inside the container between `start` and the process.
#include "init.h"

namespace init {

// startContainer hooks: after `start`, before the process; in the container (its root, its namespaces).
// A failing or timed-out hook stops the container here, as with runc: the process never runs.
void run_start_hooks(const Control& c) {
  for (size_t i = 0; i < c.nhooks; i++) {
    const Hook& h = c.hooks[i];
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) fail("startContainer-hook", "pipe2", h.path, errno);
    pid_t pid = fork();
    if (pid < 0) fail("startContainer-hook", "fork", h.path, errno);
    if (pid == 0) {
      dup2(in[0], 0);
      execve(h.path, h.argv, h.envp);
      _exit(127);
    }
    close(in[0]);
    // The state, with __PID__ replaced by our pid as the container sees it (what runc's init reports).
    if (c.hook_state) {
      const char* mark = strstr(c.hook_state, "__PID__");
      char pidtext[16];
      int n = snprintf(pidtext, sizeof pidtext, "%d", (int)getpid());
      size_t head = mark ? size_t(mark - c.hook_state) : strlen(c.hook_state);
      // A hook need not read its stdin: write errors (EPIPE) are ignored, SIGPIPE is ours to ignore too.
      signal(SIGPIPE, SIG_IGN);
      if (write(in[1], c.hook_state, head) >= 0 && mark && write(in[1], pidtext, size_t(n)) >= 0)
        if (write(in[1], mark + 7, strlen(mark + 7)) < 0) { /* see above */ }
      signal(SIGPIPE, SIG_DFL);
    }
    close(in[1]);
    int status = 0;
    for (unsigned waited_ms = 0;; waited_ms += 10) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (h.timeout && waited_ms >= h.timeout * 1000) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        char detail[128];
        snprintf(detail, sizeof detail, "startContainer hook #%zu timed out after %us", i, h.timeout);
        fail("startContainer-hook", "wait", h.path, ETIMEDOUT, detail);
      }
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      char detail[128];
      snprintf(detail, sizeof detail, "startContainer hook #%zu failed: %s %d", i,
               WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      fail("startContainer-hook", "execve", h.path, ECANCELED, detail);
    }
  }
}

}  // namespace init
