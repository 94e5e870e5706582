#include "state_dir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace ocirun {
namespace {

std::string join(const char* dir, const char* name) { return std::string(dir) + "/" + name; }

int write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    data += n;
    len -= size_t(n);
  }
  return 0;
}

}  // namespace

int replace_file_at(int dirfd, const char* name, const char* data, size_t len, mode_t mode, const char* shown, SysError& e) {
  char tmp_name[256];
  snprintf(tmp_name, sizeof tmp_name, ".%s.%d", name, int(getpid()));
  int fd = openat(dirfd, tmp_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail(e, "open", join(shown, tmp_name).c_str());
  if (write_all(fd, data, len) < 0) {
    int err = errno;
    close(fd);
    unlinkat(dirfd, tmp_name, 0);
    return fail(e, "write", join(shown, tmp_name).c_str(), err);
  }
  close(fd);
  if (renameat(dirfd, tmp_name, dirfd, name) < 0) {
    int err = errno;
    unlinkat(dirfd, tmp_name, 0);
    return fail(e, "rename", join(shown, name).c_str(), err);
  }
  return 0;
}

int make_state_dir(const char* root, const char* tmp, const char* name, const char* record, size_t len,
                   MakeStateDir* outcome, int* fd, SysError& e) {
  *fd = -1;
  int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    if (errno == ENOENT) return *outcome = MakeStateDir::NoRoot, 0;
    return fail(e, "open", root);
  }
  struct stat st;
  if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    close(rootfd);
    return *outcome = MakeStateDir::Exists, 0;
  }
  if (mkdirat(rootfd, tmp, 0711) < 0) {
    int err = errno;
    close(rootfd);
    return fail(e, "mkdir", join(root, tmp).c_str(), err);
  }
  // From here on, a failure removes the directory and whatever was written in it.
  std::string tmp_path = join(root, tmp);
  int dfd = openat(rootfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  int rc = 0;
  if (dfd < 0) rc = fail(e, "open", tmp_path.c_str());
  else if (flock(dfd, LOCK_EX | LOCK_NB) < 0) rc = fail(e, "flock", tmp_path.c_str());
  else if (replace_file_at(dfd, "state.json", record, len, 0600, tmp_path.c_str(), e) < 0) rc = -1;
  else if (renameat2(rootfd, tmp, rootfd, name, RENAME_NOREPLACE) < 0) {
    if (errno == EEXIST) *outcome = MakeStateDir::Exists;
    else rc = fail(e, "renameat2", join(root, name).c_str());
  } else {
    close(rootfd);
    *fd = dfd;
    return *outcome = MakeStateDir::Made, 0;
  }
  if (dfd >= 0) {
    unlinkat(dfd, "state.json", 0);
    close(dfd);
  }
  unlinkat(rootfd, tmp, AT_REMOVEDIR);
  close(rootfd);
  return rc;
}

}  // namespace ocirun
