// delete: what containerd runs after every shim's end (a clean one too) and after a failed create. When the
// shim left nothing behind, as it does when it ends by Shutdown, nothing is cleaned up but the socket of a
// shim that no longer answers, and the answer is a DeleteResponse; anything else is left to the Node side:
// the container's state under the shim's root (the container is killed and removed) or its rootfs still
// mounted (unmounted).
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim_internal.h"

namespace launcher {

namespace {

// Whether `dir` is a mount point in /proc/self/mountinfo (1, 0; -1 when that cannot be read).
int mounted_on(const char* dir) {
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -1;
  char* line = nullptr;
  size_t cap = 0;
  int found = 0;
  while (!found && getline(&line, &cap, f) > 0) {
    // The fifth field, with the kernel's octal escapes (\040 for a space) undone.
    char* p = line;
    for (int i = 0; i < 4 && p; i++) p = strchr(p, ' ') ? strchr(p, ' ') + 1 : nullptr;
    if (!p) continue;
    char point[PATH_MAX];
    size_t n = 0;
    for (; *p && *p != ' ' && *p != '\n' && n + 1 < sizeof point; p++) {
      if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
        point[n++] = char((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
        p += 3;
      } else {
        point[n++] = *p;
      }
    }
    point[n] = 0;
    found = !strcmp(point, dir);
  }
  free(line);
  fclose(f);
  return found;
}

size_t put_varint(unsigned char* out, unsigned long long v) {
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) out[n++] = static_cast<unsigned char>(v | 0x80);
  out[n++] = static_cast<unsigned char>(v);
  return n;
}

// containerd.task.v2.DeleteResponse (proto/shim.proto) { exit_status = 2: 137 (SIGKILL, as a dead shim's
// container is taken to have ended), exited_at = 3: now (google.protobuf.Timestamp { seconds = 1, nanos = 2 }) }.
size_t delete_response(unsigned char* out) {
  timespec now = {};
  clock_gettime(CLOCK_REALTIME, &now);
  unsigned char ts[24];
  size_t t = 0;
  ts[t++] = 0x08;  // field 1, varint
  t += put_varint(ts + t, static_cast<unsigned long long>(now.tv_sec));
  if (now.tv_nsec) {
    ts[t++] = 0x10;  // field 2, varint
    t += put_varint(ts + t, static_cast<unsigned long long>(now.tv_nsec));
  }
  size_t n = 0;
  out[n++] = 0x10;  // field 2, varint
  n += put_varint(out + n, 128 + 9);
  out[n++] = 0x1a;  // field 3, length-delimited
  n += put_varint(out + n, t);
  memcpy(out + n, ts, t);
  return n + t;
}

bool plain_name(const char* s) { return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

}  // namespace

void shim_delete_if_clean(const ShimFlags& f) {
  if (!plain_name(f.namespace_) || !plain_name(f.id)) return;
  char bundle[PATH_MAX], path[PATH_MAX];
  if (*f.bundle) snprintf(bundle, sizeof bundle, "%s", f.bundle);
  else if (!getcwd(bundle, sizeof bundle)) return;
  struct stat st;
  if (snprintf(path, sizeof path, "/run/containerd/ocirun/%s/%s", f.namespace_, f.id) >= int(sizeof path) || lstat(path, &st) == 0 || errno != ENOENT)
    return;  // the container's state is there: Node removes it
  if (snprintf(path, sizeof path, "%s/rootfs", bundle) >= int(sizeof path) || mounted_on(path) != 0) return;

  // The socket of this container's shim, as start wrote it: removed when nothing answers there any more.
  char address[PATH_MAX + 8] = {};
  int fd = snprintf(path, sizeof path, "%s/address", bundle) < int(sizeof path) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    ssize_t n = read(fd, address, sizeof address - 1);
    close(fd);
    address[n > 0 ? n : 0] = 0;
    const char* socket_path = !strncmp(address, "unix://", 7) ? address + 7 : address;
    if (!strncmp(socket_path, "/run/containerd/s/", 18) && !strstr(socket_path, "/..") && !connects(socket_path)) unlink(socket_path);
  }

  unsigned char out[64];
  size_t n = delete_response(out);
  if (write(1, out, n) != ssize_t(n)) die("write stdout: %s", strerror(errno));
  _exit(0);
}

}  // namespace launcher
