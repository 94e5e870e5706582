#include "procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ocirun {

namespace {

bool on_procfs(int fd) {
  struct statfs st;
  return fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

}  // namespace

int open_procfs(const char* mountpoint, SysError& e) {
  int fd = open(mountpoint, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(e, "open", mountpoint);
  // The root of a procfs has inode 1: a subdirectory of some procfs bound there would not.
  struct stat st;
  if (!on_procfs(fd) || fstat(fd, &st) < 0 || st.st_ino != 1) {
    close(fd);
    fail(e, "fstatfs", mountpoint, EXDEV);
    copy_str(e.detail, sizeof e.detail, "not the root of a procfs mount");
    return -1;
  }
  return fd;
}

int open_proc_file(int proc_fd, const char* rel, int flags, const char* shown, SysError& e) {
  struct open_how how = {};
  how.flags = unsigned(flags | O_CLOEXEC | O_NOFOLLOW);
  // procfs's own symlinks ("self", "thread-self") stay beneath and on the mount; magic links do not.
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
  int fd = int(syscall(SYS_openat2, proc_fd, rel, &how, sizeof how));
  if (fd < 0) {
    fail(e, "openat2", shown);
    // EXDEV: something is mounted on the way; ELOOP: a magic link. Either way not the kernel's own file.
    if (e.err == EXDEV || e.err == ELOOP) copy_str(e.detail, sizeof e.detail, "not a file of the procfs itself (a mount or link is in the way)");
    return -1;
  }
  if (!on_procfs(fd)) {
    close(fd);
    fail(e, "fstatfs", shown, EXDEV);
    copy_str(e.detail, sizeof e.detail, "not on a procfs");
    return -1;
  }
  return fd;
}

int write_proc_file(const char* rel, const char* data, size_t len, const char* shown, SysError& e) {
  int proc = open_procfs("/proc", e);
  if (proc < 0) return -1;
  int fd = open_proc_file(proc, rel, O_WRONLY, shown, e);
  close(proc);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, len);
  int err = errno;
  close(fd);
  if (n != ssize_t(len)) return fail(e, "write", shown, n < 0 ? err : EIO);
  return 0;
}

}  // namespace ocirun
