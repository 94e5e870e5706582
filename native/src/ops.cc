#include "ops.h"

#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

namespace ocirun {

int wait_exit(pid_t pid, int* code, int* sig, SysError& e) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return fail(e, "waitpid", "");
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return 0;
}

int lock_exclusive(int fd, SysError& e) {
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) return fail(e, "flock", "");
  return 0;
}

int try_lock_exclusive(int fd, bool* locked, SysError& e) {
  while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return *locked = false, 0;
    if (errno != EINTR) return fail(e, "flock", "");
  }
  *locked = true;
  return 0;
}

int set_winsize(int fd, unsigned short rows, unsigned short cols, const char* what, SysError& e) {
  struct winsize ws = {rows, cols, 0, 0};
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return fail(e, "ioctl(TIOCSWINSZ)", what);
  return 0;
}

}  // namespace ocirun
