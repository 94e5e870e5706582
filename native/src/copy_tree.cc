#include "copy_tree.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ocirun {

namespace {

constexpr int kMaxDepth = 64;

struct Dirent64 {
  unsigned long long ino;
  long long off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

bool dot_or_dotdot(const char* n) { return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])); }

int copy_file(int src_dir, int dst_dir, const char* name, const struct stat& st, const char* what, SysError& e) {
  int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) return fail(e, "openat", what);
  int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    close(in);
    return fail(e, "openat", what);
  }
  int rc = 0;
  for (off_t left = st.st_size; left > 0 && !rc;) {
    ssize_t n = sendfile(out, in, nullptr, size_t(left));
    if (n < 0) rc = fail(e, "sendfile", what);
    else if (n == 0) break;  // the file shrank meanwhile
    else left -= n;
  }
  if (!rc && fchown(out, st.st_uid, st.st_gid) < 0) rc = fail(e, "fchown", what);
  if (!rc && fchmod(out, st.st_mode & 07777) < 0) rc = fail(e, "fchmod", what);
  close(in);
  close(out);
  return rc;
}

int copy_dir(int src, int dst, const char* what, int depth, SysError& e) {
  if (depth > kMaxDepth) return fail(e, "copy", what, ELOOP);
  alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, src, buf, sizeof buf);
    if (n < 0) return fail(e, "getdents64", what);
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      const Dirent64* d = reinterpret_cast<const Dirent64*>(buf + off);
      off += d->reclen;
      const char* name = d->name;
      if (dot_or_dotdot(name)) continue;
      struct stat st;
      if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail(e, "fstatat", what);
      int rc = 0;
      if (S_ISREG(st.st_mode)) {
        rc = copy_file(src, dst, name, st, what, e);
      } else if (S_ISDIR(st.st_mode)) {
        if (mkdirat(dst, name, st.st_mode & 07777) < 0) return fail(e, "mkdirat", what);
        int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int t = s < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || t < 0) rc = fail(e, "openat", what);
        else rc = copy_dir(s, t, what, depth + 1, e);
        if (!rc && fchown(t, st.st_uid, st.st_gid) < 0) rc = fail(e, "fchown", what);
        if (!rc && fchmod(t, st.st_mode & 07777) < 0) rc = fail(e, "fchmod", what);
        if (s >= 0) close(s);
        if (t >= 0) close(t);
      } else if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t len = readlinkat(src, name, target, sizeof target - 1);
        if (len < 0) return fail(e, "readlinkat", what);
        target[len] = 0;
        if (symlinkat(target, dst, name) < 0) rc = fail(e, "symlinkat", what);
        else if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) rc = fail(e, "fchownat", what);
      } else {  // device nodes, fifos, sockets
        if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) rc = fail(e, "mknodat", what);
        else if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) rc = fail(e, "fchownat", what);
      }
      if (rc < 0) return -1;
    }
  }
}

}  // namespace

int copy_tree(int src, int dst, const char* what, SysError& e) {
  mode_t old = umask(0);  // modes as the image has them
  int rc = copy_dir(src, dst, what, 0, e);
  umask(old);
  return rc;
}

}  // namespace ocirun
