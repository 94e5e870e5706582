// ocirun-launch: how the `ocirun` command starts Node.
//
// A runtime is started by daemons, shells and CI with whatever environment they have, and Node obeys several
// variables before any script runs: NODE_OPTIONS can make it load and run any file (as root, here),
// NODE_EXTRA_CA_CERTS makes it read a certificate bundle (~100 ms). So this small program, and not Node, is
// what the `ocirun` command runs. It:
//   1. drops every NODE_* and UV_* variable and OPENSSL_CONF from the environment it passes on (the container's
//      environment comes from config.json alone, and hooks get the one the spec gives them);
//   2. starts Node from the prepared start-up snapshot (build/Release/ocirun.blob, made at install by
//      scripts/prepare-start.js) when the stamp beside it says that it was made by the very node binary that
//      is there now, from this very package directory; a snapshot that does not match its node binary makes
//      Node abort, so after a Node upgrade the launcher uses the plain bundle (dist/ocirun.js): slower, never
//      broken;
//   3. execs node with a fixed argv: `node --snapshot-blob BLOB -- ARGS...` or `node BUNDLE ARGS...`.
// It is a plain program (not code of the cloned child): it may use libc as it likes, but stays small.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char** environ;

namespace {

[[noreturn]] void fail(const char* what, const char* path) {
  dprintf(2, "ocirun: %s %s: %s\n", what, path, strerror(errno));
  _exit(1);
}

// The stamp: "node PATH", "node-id DEV INO SIZE MTIME_S MTIME_NS", "blob-size N", "package DIR", one a line.
struct Stamp {
  char node[PATH_MAX] = "";
  char node_id[128] = "";
  char blob_size[32] = "";
  char package[PATH_MAX] = "";
};

bool read_stamp(const char* file, Stamp* s) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buf[3 * PATH_MAX];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  for (char* line = strtok(buf, "\n"); line; line = strtok(nullptr, "\n")) {
    char* sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = 0;
    const char* v = sp + 1;
    if (!strcmp(line, "node")) snprintf(s->node, sizeof s->node, "%s", v);
    else if (!strcmp(line, "node-id")) snprintf(s->node_id, sizeof s->node_id, "%s", v);
    else if (!strcmp(line, "blob-size")) snprintf(s->blob_size, sizeof s->blob_size, "%s", v);
    else if (!strcmp(line, "package")) snprintf(s->package, sizeof s->package, "%s", v);
  }
  return s->node[0] && s->node_id[0] && s->blob_size[0] && s->package[0];
}

// The identity of a node binary as scripts/prepare-start.js writes it: any upgrade or replacement changes it.
void identity(const struct stat& st, char* out, size_t cap) {
  snprintf(out, cap, "%llu %llu %lld %lld %ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
           (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

bool snapshot_matches(const Stamp& s, const char* package, const char* blob) {
  struct stat st;
  char id[128];
  if (strcmp(s.package, package) != 0) return false;  // paths in the snapshot are those of its package
  if (stat(s.node, &st) != 0) return false;
  identity(st, id, sizeof id);
  if (strcmp(id, s.node_id) != 0) return false;
  if (stat(blob, &st) != 0) return false;
  char size[32];
  snprintf(size, sizeof size, "%lld", (long long)st.st_size);
  return strcmp(size, s.blob_size) == 0;
}

// `node` on the PATH, for a package whose snapshot was never prepared.
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

bool caller_only(const char* kv) {
  return !strncmp(kv, "NODE_", 5) || !strncmp(kv, "UV_", 3) || !strncmp(kv, "OPENSSL_CONF=", 13);
}

}  // namespace

int main(int argc, char** argv) {
  // The package: this program is <package>/build/Release/ocirun-launch.
  static char package[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", package, sizeof package - 1);
  if (n <= 0) fail("readlink", "/proc/self/exe");
  package[n] = 0;
  for (int up = 0; up < 3; up++) {
    char* slash = strrchr(package, '/');
    if (!slash || slash == package) {
      errno = ENOENT;
      fail("cannot find the package of", "/proc/self/exe");
    }
    *slash = 0;
  }

  static char blob[PATH_MAX], stamp_file[PATH_MAX], bundle[PATH_MAX];
  snprintf(blob, sizeof blob, "%s/build/Release/ocirun.blob", package);
  snprintf(stamp_file, sizeof stamp_file, "%s/build/Release/ocirun.blob.stamp", package);
  snprintf(bundle, sizeof bundle, "%s/dist/ocirun.js", package);

  static Stamp stamp;
  bool prepared = read_stamp(stamp_file, &stamp) && snapshot_matches(stamp, package, blob);
  static char node[PATH_MAX];
  if (prepared || (stamp.node[0] && access(stamp.node, X_OK) == 0)) snprintf(node, sizeof node, "%s", stamp.node);
  else if (!find_node(node, sizeof node)) {
    errno = ENOENT;
    fail("cannot find", "node");
  }

  // argv: node, then either the snapshot and "--" (so that no argument is taken for a Node option) or the
  // bundle (Node takes no option after the script), then the command line as given.
  char** nargv = static_cast<char**>(calloc(size_t(argc) + 4, sizeof(char*)));
  int k = 0;
  nargv[k++] = node;
  if (prepared) {
    nargv[k++] = const_cast<char*>("--snapshot-blob");
    nargv[k++] = blob;
    nargv[k++] = const_cast<char*>("--");
  } else {
    nargv[k++] = bundle;
  }
  for (int i = 1; i < argc; i++) nargv[k++] = argv[i];

  size_t envc = 0;
  while (environ[envc]) envc++;
  char** nenv = static_cast<char**>(calloc(envc + 1, sizeof(char*)));
  size_t j = 0;
  for (size_t i = 0; i < envc; i++)
    if (!caller_only(environ[i])) nenv[j++] = environ[i];

  execve(node, nargv, nenv);
  fail("exec", node);
}
