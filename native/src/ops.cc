#include "ops.h"


#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sys/wait.h>

namespace ocirun {

int lock_exclusive(int fd, SysError& e) {
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR) return fail(e, "flock", "");
  return 0;
}

int open_pidfd(pid_t pid, const char* start_time, int* fd, SysError& e) {
  *fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (*fd < 0) return errno == ESRCH ? 0 : fail(e, "pidfd_open", "");
  if (!*start_time) return 0;
  // The pidfd names one process for good; checking the start time now tells whether it is the one meant.
  char path[32], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
  int sfd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = sfd < 0 ? -1 : read(sfd, buf, sizeof buf - 1);
  if (sfd >= 0) close(sfd);
  const char* field = nullptr;
  if (n > 0) {
    buf[n] = 0;
    const char* p = strrchr(buf, ')');  // the comm may hold spaces and parentheses
    for (int i = 2; p && i < 22; i++) p = strchr(p + 1, ' ');
    field = p ? p + 1 : nullptr;
  }
  size_t len = strlen(start_time);
  if (!field || strncmp(field, start_time, len) != 0 || (field[len] != ' ' && field[len] != 0)) {
    close(*fd);
    *fd = -1;
  }
  return 0;
}

int pidfd_signal(int fd, int sig, bool* delivered, SysError& e) {
  *delivered = false;
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) == 0) return *delivered = true, 0;
  return errno == ESRCH ? 0 : fail(e, "pidfd_send_signal", "");
}

int rename_noreplace(const char* from, const char* to, SysError& e) {
  if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) return fail(e, "renameat2", to);
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

}  // namespace ocirun
