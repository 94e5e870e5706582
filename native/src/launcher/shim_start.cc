// start: names the socket of the shim serving this container's group (/run/containerd/s/<sha256 of
// "ocirun/<address>/<namespace>/<group>">, the group being the pod: the CRI sandbox annotation of the bundle's
// config.json; a container outside any pod is its own; or the whole namespace with OCIRUN_SHIM_GROUP=namespace
// in containerd's environment); starts a shim there (Node, `serve`) under a flock of the socket directory if
// none answers; writes the address to the bundle's `address` file and prints it.
#include "shim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox_id.h"
#include "sha256.h"

namespace launcher {

namespace {

constexpr const char* kSocketDir = "/run/containerd/s";

// The whole of a small file, NUL-terminated (malloc'd), or null.
char* read_file(const char* path, size_t* len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  size_t cap = 1 << 16, n = 0;
  char* buf = static_cast<char*>(malloc(cap + 1));
  for (ssize_t r; buf && (r = read(fd, buf + n, cap - n)) != 0;) {
    if (r < 0) {
      if (errno == EINTR) continue;
      free(buf);
      buf = nullptr;
      break;
    }
    n += size_t(r);
    if (n == cap && cap < (64u << 20)) buf = static_cast<char*>(realloc(buf, (cap *= 2) + 1));
    else if (n == cap) break;  // no config is this large: read what fits
  }
  close(fd);
  if (buf) buf[n] = 0, *len = n;
  return buf;
}

// The group whose shim serves this container: "" (the namespace), the pod's sandbox id, or the container.
void group_of(const ShimFlags& f, char* out, size_t cap) {
  const char* grouping = getenv("OCIRUN_SHIM_GROUP");
  if (grouping && *grouping && strcmp(grouping, "pod") && strcmp(grouping, "namespace"))
    die("OCIRUN_SHIM_GROUP=%s: expected one of pod, namespace", grouping);
  if (grouping && !strcmp(grouping, "namespace")) return void(*out = 0);
  size_t len = 0;
  char* config = read_file("config.json", &len);
  if (!config || cri_sandbox_id(config, len, out, cap) != 1) snprintf(out, cap, "%s", f.id);
  free(config);
}

// Starts the shim's server on `socket_path`, in its own session (it outlives this process and containerd's
// restarts), and waits until it says it listens ("ready" on its stdout) or ends.
void serve_on(const ShimFlags& f, const char* socket_path, const char* node, const char* script, char** env) {
  unlink(socket_path);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  const char* argv[] = {node, script, "-namespace", f.namespace_, "-address", f.address, "-id", f.id, "-socket", socket_path,
                        f.debug ? "-debug" : "serve", f.debug ? "serve" : nullptr, nullptr};
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);  // dup2 makes its copy on 0 inheritable
    if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
    execve(node, const_cast<char* const*>(argv), env);
    dprintf(2, "exec %s: %s\n", node, strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  char said[4096], first_line[8];
  size_t n = 0, m = 0;
  bool ready = false, answered = false;  // its first line on stdout: "ready", or anything else
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while (!answered && (fds[0].fd >= 0 || fds[1].fd >= 0)) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    for (pollfd& p : fds) {
      if (p.fd < 0 || !p.revents) continue;
      char buf[1024];
      ssize_t r = read(p.fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        close(p.fd);
        p.fd = -1;
        continue;
      }
      for (ssize_t i = 0; &p == &fds[0] && !answered && i < r; i++) {
        if (m < sizeof first_line) first_line[m++] = buf[i];
        if (buf[i] == '\n') answered = true, ready = m == 6 && !memcmp(first_line, "ready\n", 6);
      }
      size_t take = size_t(r) < sizeof said - 1 - n ? size_t(r) : sizeof said - 1 - n;
      memcpy(said + n, buf, take);
      n += take;
    }
  }
  for (pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  if (ready) return;
  said[n] = 0;
  while (n && (said[n - 1] == '\n' || said[n - 1] == ' ')) said[--n] = 0;
  if (answered) die("the shim did not start: %s", said);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  die("the shim did not start: %s (the shim exited %d)", said, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace

void shim_start(const ShimFlags& f, const char* node, const char* script, char** env) {
  static char group[4096], key[16384], socket_path[sizeof(sockaddr_un::sun_path)], hash[65];
  group_of(f, group, sizeof group);
  if (snprintf(key, sizeof key, "ocirun/%s/%s/%s", f.address, f.namespace_, group) >= int(sizeof key)) die("-address or -namespace is too long");
  sha256_hex(key, strlen(key), hash);
  snprintf(socket_path, sizeof socket_path, "%s/%s", kSocketDir, hash);

  if (!connects(socket_path)) {
    // Two starts for one pod at once must not both start a shim (the second would unlink the first's
    // socket): the socket directory is locked while one looks again and starts.
    if ((mkdir("/run/containerd", 0711) < 0 && errno != EEXIST) || (mkdir(kSocketDir, 0711) < 0 && errno != EEXIST))
      die("mkdir %s: %s", kSocketDir, strerror(errno));
    int dir = open(kSocketDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) die("open %s: %s", kSocketDir, strerror(errno));
    while (flock(dir, LOCK_EX) < 0)
      if (errno != EINTR) die("flock %s: %s", kSocketDir, strerror(errno));
    if (!connects(socket_path)) serve_on(f, socket_path, node, script, env);
    close(dir);
  }

  char address[sizeof socket_path + 8];
  int len = snprintf(address, sizeof address, "unix://%s", socket_path);
  int fd = open("address", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, address, size_t(len)) != len || close(fd) < 0) die("write %s/address: %s", getcwd(key, sizeof key) ? key : ".", strerror(errno));
  if (write(1, address, size_t(len)) != len) die("write stdout: %s", strerror(errno));
  _exit(0);
}

}  // namespace launcher
