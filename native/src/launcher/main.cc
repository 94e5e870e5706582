// ocirun-launch: how the `ocirun` command starts Node.
//
// A runtime is started by daemons, shells and CI with whatever environment they have, and Node obeys several
// variables before any script runs: NODE_OPTIONS can make it load and run any file (as root, here),
// NODE_EXTRA_CA_CERTS makes it read a certificate bundle (~100 ms). So this small program, and not Node, is
// what the `ocirun` command runs. It:
//   1. drops every NODE_* and UV_* variable and OPENSSL_CONF from the environment it passes on (the container's
//      environment comes from config.json alone, and hooks get the one the spec gives them);
//   2. fills the fd numbers a container is to inherit (--preserve-fds, LISTEN_FDS) that the caller left closed;
//   3. execs, with a fixed argv, the node binary ocirun was built with (build/Release/node-path, written by
//      scripts/prepare-start.js; `node` on the PATH when there is none): `node <package>/dist/cli/start.js
//      ARGS...`, which runs the bundled CLI with its V8 code cache. Node takes no option after the script.
// The same program starts the containerd shim: installed under the name containerd-shim-ocirun-v2, called by
// that name (a symlink to it), or called with --shim as its first argument (the checkout's
// bin/containerd-shim-ocirun-v2 script), it runs <package>/dist/shim/start.js (the shim's bundle, with its
// code cache) instead; the actions containerd waits for (start, and delete when there is nothing to clean up)
// are done here, without Node (shim_binary.h).
// It is a plain program (not code of the cloned child): it may use libc as it likes, but stays small.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim_binary.h"

extern char** environ;

namespace {

[[noreturn]] void fail(const char* what, const char* path) {
  dprintf(2, "ocirun: %s %s: %s\n", what, path, strerror(errno));
  _exit(1);
}

// The node binary recorded at build time, if it is still there.
bool recorded_node(const char* file, char* out, size_t cap) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n <= 0) return false;
  out[n] = 0;
  out[strcspn(out, "\n")] = 0;
  return out[0] == '/' && access(out, X_OK) == 0;
}

// `node` on the PATH, for a package whose start was never prepared.
bool find_node(char* out, size_t cap) {
  const char* path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char* end = strchrnul(path, ':');
    int len = int(end - path);
    snprintf(out, cap, "%.*s/node", len ? len : 1, len ? path : ".");
    if (access(out, X_OK) == 0) return true;
    path = *end ? end + 1 : end;
  }
  return false;
}

// The fds a container is to inherit (--preserve-fds N and LISTEN_FDS): 3 .. 3+N-1. Those the caller left
// closed are filled with /dev/null, so that none of Node's own fds (its event loop, a state lock) can land on
// one of those numbers and be handed to the container.
void fill_preserved_fds(int argc, char** argv) {
  long n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--preserve-fds") && i + 1 < argc) n += strtol(argv[i + 1], nullptr, 10);
    else if (!strncmp(argv[i], "--preserve-fds=", 15)) n += strtol(argv[i] + 15, nullptr, 10);
  }
  const char* listen = getenv("LISTEN_FDS");
  if (listen) n += strtol(listen, nullptr, 10);
  long max = sysconf(_SC_OPEN_MAX);
  if (n <= 0 || max <= 3) return;
  if (n > max - 3) n = max - 3;
  for (int fd = 3; fd < 3 + n; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) fail("open", "/dev/null");
    if (null_fd != fd) {
      if (dup2(null_fd, fd) < 0) fail("dup2", "/dev/null");
      close(null_fd);
    }
  }
}

bool caller_only(const char* kv) {
  return !strncmp(kv, "NODE_", 5) || !strncmp(kv, "UV_", 3) || !strncmp(kv, "OPENSSL_CONF=", 13);
}

}  // namespace

int main(int argc, char** argv) {
  // The package: this program is <package>/build/Release/ocirun-launch, or its copy <package>/bin/ocirun in
  // an installed package (scripts/prepare-start.js).
  static char package[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", package, sizeof package - 1);
  if (n <= 0) fail("readlink", "/proc/self/exe");
  package[n] = 0;
  const char* name = strrchr(package, '/');
  bool installed_shim = name && !strcmp(name, "/containerd-shim-ocirun-v2");
  // Called by that name through a symlink to this program (what containerd runs finds the shim on its PATH):
  // the shim too.
  const char* called = argc > 0 ? strrchr(argv[0], '/') : nullptr;
  bool named_shim = installed_shim || (called ? !strcmp(called, "/containerd-shim-ocirun-v2") : argc > 0 && !strcmp(argv[0], "containerd-shim-ocirun-v2"));
  bool shim = named_shim || (argc > 1 && !strcmp(argv[1], "--shim"));
  int levels = name && (!strcmp(name, "/ocirun") || installed_shim) ? 2 : 3;
  for (int up = 0; up < levels; up++) {
    char* slash = strrchr(package, '/');
    if (!slash || slash == package) {
      errno = ENOENT;
      fail("cannot find the package of", "/proc/self/exe");
    }
    *slash = 0;
  }

  static char node_file[PATH_MAX], start[PATH_MAX], node[PATH_MAX];
  if (snprintf(node_file, sizeof node_file, "%s/build/Release/node-path", package) >= int(sizeof node_file) ||
      snprintf(start, sizeof start, "%s/dist/%s", package, shim ? "shim/start.js" : "cli/start.js") >= int(sizeof start)) {
    errno = ENAMETOOLONG;
    fail("the package path is too long:", package);
  }
  if (!recorded_node(node_file, node, sizeof node) && !find_node(node, sizeof node)) {
    errno = ENOENT;
    fail("cannot find", "node");
  }

  size_t envc = 0;
  while (environ[envc]) envc++;
  char** nenv = static_cast<char**>(calloc(envc + 1, sizeof(char*)));
  size_t j = 0;
  for (size_t i = 0; i < envc; i++)
    if (!caller_only(environ[i])) nenv[j++] = environ[i];

  int first = shim && !named_shim ? 2 : 1;  // the first argument that is the command's own
  if (shim) launcher::shim_action_if_here(argc, argv, first, node, start, nenv);
  if (!shim) fill_preserved_fds(argc, argv);
  char** nargv = static_cast<char**>(calloc(size_t(argc) + 2, sizeof(char*)));
  int k = 0;
  nargv[k++] = node;
  nargv[k++] = start;
  for (int i = first; i < argc; i++) nargv[k++] = argv[i];

  execve(node, nargv, nenv);
  fail("exec", node);
}
