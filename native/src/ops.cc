#include "ops.h"


#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
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

int process_start_time(pid_t pid, char* out, size_t size) {
  char path[32], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char* p = strrchr(buf, ')');  // the comm may hold spaces and parentheses
  for (int i = 2; p && i < 22; i++) p = strchr(p + 1, ' ');
  if (!p) return -1;
  size_t len = strcspn(p + 1, " ");
  if (len == 0 || len >= size) return -1;
  memcpy(out, p + 1, len);
  out[len] = 0;
  return 0;
}

int open_pidfd(pid_t pid, const char* start_time, int* fd, SysError& e) {
  *fd = int(syscall(SYS_pidfd_open, pid, 0));
  if (*fd < 0) return errno == ESRCH ? 0 : fail(e, "pidfd_open", "");
  if (!*start_time) return 0;
  // The pidfd names one process for good; checking the start time now tells whether it is the one meant.
  char now[32];
  if (process_start_time(pid, now, sizeof now) < 0 || strcmp(now, start_time) != 0) {
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

int try_lock_exclusive(int fd, bool* locked, SysError& e) {
  while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return *locked = false, 0;
    if (errno != EINTR) return fail(e, "flock", "");
  }
  *locked = true;
  return 0;
}

int unlock(int fd, SysError& e) {
  while (flock(fd, LOCK_UN) < 0)
    if (errno != EINTR) return fail(e, "flock", "");
  return 0;
}

int mount_fs(const char* type, const char* source, const char* target, unsigned long flags, const char* data, SysError& e) {
  if (flags & MS_BIND) {
    if (mount(source, target, nullptr, flags & (MS_BIND | MS_REC), nullptr) < 0) return fail(e, "mount", target);
    unsigned long rest = flags & ~(MS_BIND | MS_REC);
    if (rest && mount(nullptr, target, nullptr, rest | MS_BIND | MS_REMOUNT, nullptr) < 0) return fail(e, "mount(MS_REMOUNT)", target);
    return 0;
  }
  if (mount(source, target, type, flags, data && *data ? data : nullptr) < 0) return fail(e, "mount", target);
  return 0;
}

int unmount_detach(const char* target, SysError& e) {
  if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) return fail(e, "umount2", target);
  return 0;
}

int make_pipe(int fds[2], SysError& e) {
  if (pipe2(fds, O_CLOEXEC) < 0) return fail(e, "pipe2", "");
  return 0;
}

int dup_fd(int fd, int* out, SysError& e) {
  *out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return *out < 0 ? fail(e, "fcntl(F_DUPFD_CLOEXEC)", "") : 0;
}

int set_nonblocking(int fd, SysError& e) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return fail(e, "fcntl(F_SETFL, O_NONBLOCK)", "");
  return 0;
}

int open_fifo(const char* path, bool write, int* fd, SysError& e) {
  *fd = open(path, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0) return fail(e, "open", path);
  int flags = fcntl(*fd, F_GETFL);
  if (flags < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    int err = errno;
    close(*fd);
    *fd = -1;
    return fail(e, "fcntl(F_SETFL)", path, err);
  }
  return 0;
}

}  // namespace ocirun
