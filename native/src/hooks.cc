#include "hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"

namespace ocirun {

namespace {

// runc's words: "error running <kind> hook #<i>: " then `what`, `n` and `unit`, into e.detail.
void describe(SysError& e, const HookRun& h, const char* what, unsigned long n, const char* unit) {
  char detail[sizeof e.detail];
  size_t len = append_str(detail, 0, sizeof detail, "error running ");
  len = append_str(detail, len, sizeof detail, h.kind);
  len = append_str(detail, len, sizeof detail, " hook #");
  len = append_uint(detail, len, sizeof detail, h.index);
  len = append_str(detail, len, sizeof detail, ": ");
  len = append_str(detail, len, sizeof detail, what);
  len = append_uint(detail, len, sizeof detail, n);
  append_str(detail, len, sizeof detail, unit);
  copy_str(e.detail, sizeof e.detail, detail);
}

int reap(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return -1;
  return 0;
}

}  // namespace

int hook_state_memfd(const char* tmpl, size_t len, long pid, SysError& e) {
  int fd = int(syscall(SYS_memfd_create, "ocirun-hook-state", MFD_CLOEXEC));
  if (fd < 0) return fail(e, "memfd_create", "hook state");
  static const char kMark[] = "__PID__";
  const size_t mark_len = sizeof kMark - 1;
  size_t at = len;
  for (size_t i = 0; i + mark_len <= len && at == len; i++)
    if (__builtin_memcmp(tmpl + i, kMark, mark_len) == 0) at = i;
  char digits[24];
  size_t n = append_uint(digits, 0, sizeof digits, (unsigned long)pid);
  auto put = [&](const char* p, size_t k) { return write(fd, p, k) == ssize_t(k); };
  bool ok = put(tmpl, at) && (at == len || (put(digits, n) && put(tmpl + at + mark_len, len - at - mark_len)));
  if (!ok) {
    fail(e, "write", "hook state", errno ? errno : EIO);
    close(fd);
    return -1;
  }
  return fd;
}

int run_hook(const HookRun& h, int state_fd, SysError& e) {
  if (lseek(state_fd, 0, SEEK_SET) < 0) return fail(e, "lseek", "hook state");
  long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return fail(e, "clone", h.path);
  if (pid == 0) {
    dup2(state_fd, 0);
    execve(h.path, h.argv, h.envp);
    _exit(127);
  }
  int status = 0;
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {  // cannot wait with a timeout: stop it rather than wait for ever
    int err = errno;
    kill(pid_t(pid), SIGKILL);
    reap(pid_t(pid), &status);
    return fail(e, "pidfd_open", h.path, err);
  }
  struct pollfd p = {pidfd, POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, h.timeout ? int(h.timeout * 1000) : -1)) < 0 && errno == EINTR) {
  }
  close(pidfd);
  if (rc <= 0) {  // the timeout (or poll failing): the hook does not get to run on
    int err = rc < 0 ? errno : ETIMEDOUT;
    kill(pid_t(pid), SIGKILL);
    reap(pid_t(pid), &status);
    fail(e, "poll", h.path, err);
    if (err == ETIMEDOUT) describe(e, h, "hook ran past specified timeout of ", h.timeout, ".0s");
    return -1;
  }
  if (reap(pid_t(pid), &status) < 0) return fail(e, "waitpid", h.path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  fail(e, "execve", h.path, ECANCELED);
  if (WIFEXITED(status))
    describe(e, h, "exit status ", WEXITSTATUS(status), "");
  else
    describe(e, h, "signal: ", unsigned(WTERMSIG(status)), "");
  return -1;
}

}  // namespace ocirun
