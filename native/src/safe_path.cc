#include "safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ocirun {

namespace {

int openat2_in_root(int root_fd, const char* path, int flags) {
  struct open_how how = {};
  how.flags = unsigned(flags) | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* rel = path;
  while (*rel == '/') rel++;  // inside the root, "/a" and "a" name the same thing
  if (!*rel) rel = ".";
  return int(syscall(SYS_openat2, root_fd, rel, &how, sizeof how));
}

// Length of the prefix of `path` up to (not including) the component that starts at or after `from`.
size_t next_component_end(const char* path, size_t from) {
  size_t i = from;
  while (path[i] == '/') i++;
  while (path[i] && path[i] != '/') i++;
  return i;
}

}  // namespace

int open_in_root(int root_fd, const char* path, int flags, SysError& e) {
  int fd = openat2_in_root(root_fd, path, flags);
  if (fd < 0) return fail(e, "openat2", path);
  return fd;
}

int mkdir_all_in_root(int root_fd, const char* path, mode_t mode, SysError& e) {
  char prefix[PATH_MAX];
  copy_str(prefix, sizeof prefix, path);
  int dir = openat2_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
  if (dir < 0) return fail(e, "openat2", "/");
  size_t end = 0;
  while (prefix[end]) {
    size_t start = end;
    end = next_component_end(prefix, start);
    if (end == start) break;
    char saved = prefix[end];
    prefix[end] = 0;
    int next = openat2_in_root(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      const char* name = prefix + start;
      while (*name == '/') name++;
      if (mkdirat(dir, name, mode) < 0 && errno != EEXIST) {
        fail(e, "mkdirat", prefix);
        close(dir);
        return -1;
      }
      next = openat2_in_root(root_fd, prefix, O_PATH | O_DIRECTORY);
    }
    if (next < 0) {
      fail(e, "openat2", prefix);
      close(dir);
      return -1;
    }
    close(dir);
    dir = next;
    prefix[end] = saved;
  }
  return dir;
}

int open_parent_in_root(int root_fd, const char* path, char* base_buf, size_t base_cap, SysError& e) {
  char parent[PATH_MAX];
  copy_str(parent, sizeof parent, path);
  size_t len = 0;
  while (parent[len]) len++;
  while (len > 1 && parent[len - 1] == '/') parent[--len] = 0;  // "a/b/" names "b"
  size_t slash = len;
  while (slash > 0 && parent[slash - 1] != '/') slash--;
  copy_str(base_buf, base_cap, parent + slash);
  if (!base_buf[0] || (base_buf[0] == '.' && (!base_buf[1] || (base_buf[1] == '.' && !base_buf[2])))) {
    e.err = EINVAL;
    copy_str(e.syscall, sizeof e.syscall, "resolve");
    copy_str(e.path, sizeof e.path, path);
    return -1;
  }
  parent[slash] = 0;
  return mkdir_all_in_root(root_fd, parent[0] ? parent : "/", 0755, e);
}

int ensure_target_in_root(int root_fd, const char* path, bool as_file, SysError& e) {
  if (!as_file) {
    int fd = mkdir_all_in_root(root_fd, path, 0755, e);
    return fd;
  }
  char base[NAME_MAX + 1];
  int parent = open_parent_in_root(root_fd, path, base, sizeof base, e);
  if (parent < 0) return -1;
  // O_NOFOLLOW|O_EXCL: an existing entry (file or symlink) is left as it is and resolved below, in the root.
  int created = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (created >= 0)
    close(created);
  else if (errno != EEXIST) {
    fail(e, "openat", path);
    close(parent);
    return -1;
  }
  close(parent);
  return open_in_root(root_fd, path, O_PATH, e);
}

}  // namespace ocirun
