#include "idmap.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt.h"
#include "procfs.h"

namespace ocirun {
namespace {

constexpr unsigned kOpenTreeClone = 1;              // <linux/mount.h>
constexpr unsigned kAtRecursive = 0x8000;           // <fcntl.h>, newer than this libc's
constexpr unsigned long long kMountAttrIdmap = 0x00100000;

struct MountAttr {
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

// /proc/<pid>/<file>, written beneath a checked procfs (procfs.h), the whole map in one write.
int write_map(pid_t pid, const char* file, const std::string& map, SysError& e) {
  char rel[48];
  append_str(rel, append_uint(rel, 0, sizeof rel, unsigned(pid)), sizeof rel, file);
  char shown[64];
  append_str(shown, append_str(shown, 0, sizeof shown, "/proc/"), sizeof shown, rel);
  return write_proc_file(rel, map.data(), map.size(), shown, e);
}

}  // namespace

int make_userns(const std::string& uid_map, const std::string& gid_map, SysError& e) {
  int park[2];
  if (pipe2(park, O_CLOEXEC) < 0) return fail(e, "pipe2", "");
  // Like fork, into a new user namespace; the child only waits for the pipe to close (async-signal-safe calls
  // only: this process has threads).
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid == 0) {
    char c;
    close(park[1]);
    while (read(park[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(park[0]);
  if (pid < 0) {
    close(park[1]);
    return fail(e, "clone(CLONE_NEWUSER)", "");
  }
  int ns = -1;
  if (write_map(pid, "/uid_map", uid_map, e) == 0 && write_map(pid, "/gid_map", gid_map, e) == 0) {
    char path[64];
    append_str(path, append_uint(path, append_str(path, 0, sizeof path, "/proc/"), sizeof path, unsigned(pid)), sizeof path, "/ns/user");
    if ((ns = open(path, O_RDONLY | O_CLOEXEC)) < 0) fail(e, "open", path);
  }
  close(park[1]);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return ns;
}

int idmapped_tree(const char* source, bool recursive_tree, bool recursive_idmap, int userns_fd, SysError& e) {
  int tree = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source, kOpenTreeClone | O_CLOEXEC | (recursive_tree ? kAtRecursive : 0)));
  if (tree < 0) return fail(e, "open_tree(OPEN_TREE_CLONE)", source);
  MountAttr attr = {kMountAttrIdmap, 0, 0, static_cast<unsigned long long>(userns_fd)};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive_idmap ? kAtRecursive : 0), &attr, sizeof attr) < 0) {
    fail(e, "mount_setattr(MOUNT_ATTR_IDMAP)", source);
    if (e.err == EINVAL) copy_str(e.detail, sizeof e.detail, "mount_setattr(MOUNT_ATTR_IDMAP): invalid argument (a filesystem that cannot be idmapped, or a mount that already is)");
    close(tree);
    return -1;
  }
  return tree;
}

}  // namespace ocirun
