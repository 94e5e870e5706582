#include "safe_path.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ocirun {

namespace {

constexpr int kMaxSymlinks = 40;

size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

bool same_inode(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Replaces `rest` (pointing into buf) with "<target>/<rest>" in buf.
bool splice_symlink(char* buf, size_t cap, const char* target, size_t tlen, const char* rest) {
  char tmp[PATH_MAX * 2];
  size_t rlen = length(rest);
  if (tlen + 1 + rlen + 1 > sizeof tmp || tlen + 1 + rlen + 1 > cap) return false;
  for (size_t i = 0; i < tlen; i++) tmp[i] = target[i];
  tmp[tlen] = '/';
  for (size_t i = 0; i <= rlen; i++) tmp[tlen + 1 + i] = rest[i];
  for (size_t i = 0; i <= tlen + 1 + rlen; i++) buf[i] = tmp[i];
  return true;
}

enum Create { kNoCreate, kCreateDirs, kCreateDirsAndFile };

// The walk: every component is opened with O_NOFOLLOW relative to the directory reached so far; a symlink
// is read and its text spliced into the rest of the path (absolute ones restart at the root); ".." at the
// root stays at the root. The kernel never follows a link of the container's, so nothing resolves outside.
int walk(int root_fd, const char* path, Create create, mode_t mode, SysError& e) {
  // First the kernel's own resolution inside a root (openat2 RESOLVE_IN_ROOT, Linux 5.6): the rules of the
  // walk below in one call. Whatever it does not do falls back to the walk: a component to create, a magic
  // link (refused here, read as text below), a rename racing with "..", a kernel without openat2.
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fast = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
  if (fast >= 0) return int(fast);
  char buf[PATH_MAX * 2];
  copy_str(buf, sizeof buf, path);
  int cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return fail(e, "fcntl(F_DUPFD)", path);
  int links = 0;
  char* p = buf;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    char* end = p;
    while (*end && *end != '/') end++;
    const bool last = ({
      char* q = end;
      while (*q == '/') q++;
      !*q;
    });
    char saved = *end;
    *end = 0;
    if (p[0] == '.' && !p[1]) {
      *end = saved;
      p = end;
      continue;
    }
    int next;
    if (p[0] == '.' && p[1] == '.' && !p[2]) {
      next = same_inode(cur, root_fd) ? fcntl(cur, F_DUPFD_CLOEXEC, 0) : openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    } else {
      next = openat(cur, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT && create != kNoCreate) {
        if (last && create == kCreateDirsAndFile) {
          int f = openat(cur, p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (f >= 0) close(f);
        } else {
          mkdirat(cur, p, mode);
        }
        next = openat(cur, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      }
    }
    if (next < 0) {
      fail(e, "openat", path);
      close(cur);
      return -1;
    }
    struct stat st;
    if (fstat(next, &st) < 0) {
      fail(e, "fstat", path);
      close(next);
      close(cur);
      return -1;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(next, "", target, sizeof target - 1);
      close(next);
      if (n <= 0 || ++links > kMaxSymlinks || !splice_symlink(buf, sizeof buf, target, size_t(n), saved ? end + 1 : end)) {
        fail(e, "readlinkat", path, n < 0 ? errno : ELOOP);
        close(cur);
        return -1;
      }
      if (target[0] == '/') {  // absolute: from the root of the container
        close(cur);
        cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
      }
      p = buf;
      continue;
    }
    close(cur);
    cur = next;
    *end = saved;
    p = end;
  }
  return cur;
}

}  // namespace

int open_in_root(int root_fd, const char* path, SysError& e) {
  return walk(root_fd, path, kNoCreate, 0, e);
}

int mkdir_all_in_root(int root_fd, const char* path, mode_t mode, SysError& e) {
  return walk(root_fd, path, kCreateDirs, mode, e);
}

int open_parent_in_root(int root_fd, const char* path, char* base_buf, size_t base_cap, SysError& e) {
  char parent[PATH_MAX];
  copy_str(parent, sizeof parent, path);
  size_t len = length(parent);
  while (len > 1 && parent[len - 1] == '/') parent[--len] = 0;  // "a/b/" names "b"
  size_t slash = len;
  while (slash > 0 && parent[slash - 1] != '/') slash--;
  copy_str(base_buf, base_cap, parent + slash);
  if (!base_buf[0] || (base_buf[0] == '.' && (!base_buf[1] || (base_buf[1] == '.' && !base_buf[2]))))
    return fail(e, "resolve", path, EINVAL);
  parent[slash] = 0;
  return mkdir_all_in_root(root_fd, parent[0] ? parent : "/", 0755, e);
}

int ensure_target_in_root(int root_fd, const char* path, bool as_file, SysError& e) {
  return walk(root_fd, path, as_file ? kCreateDirsAndFile : kCreateDirs, 0755, e);
}

}  // namespace ocirun
