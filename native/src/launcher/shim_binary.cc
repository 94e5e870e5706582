#include "shim_binary.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim_internal.h"

namespace launcher {

namespace {

// Go's flag syntax: -name value, -name=value, --name, booleans alone; the first other argument is the action.
// False for anything else (the Node side reports it).
bool parse(int argc, char** argv, int first, ShimFlags* f) {
  static const char* const strings[] = {"namespace", "address", "publish-binary", "id", "bundle", "socket"};
  for (int i = first; i < argc; i++) {
    const char* a = argv[i];
    if (a[0] != '-') {
      f->action = a;
      return true;
    }
    const char* name = a + (a[1] == '-' ? 2 : 1);
    const char* eq = strchr(name, '=');
    size_t len = eq ? size_t(eq - name) : strlen(name);
    auto is = [&](const char* flag) { return strlen(flag) == len && !strncmp(name, flag, len); };
    if (is("debug")) {
      if (eq && strcmp(eq + 1, "true") && strcmp(eq + 1, "false")) return false;
      f->debug = !eq || !strcmp(eq + 1, "true");
      continue;
    }
    bool known = false;
    for (const char* s : strings) known = known || is(s);
    if (!known) return false;  // -v, a flag containerd does not pass
    const char* value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : nullptr);
    if (!value) return false;
    if (is("namespace")) f->namespace_ = value;
    else if (is("address")) f->address = value;
    else if (is("id")) f->id = value;
    else if (is("bundle")) f->bundle = value;
  }
  return true;
}

}  // namespace

bool connects(const char* socket_path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

void die(const char* fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "containerd-shim-ocirun-v2: %s\n", msg);
  _exit(1);
}

void shim_action_if_here(int argc, char** argv, int first, const char* node, const char* script, char** env) {
  ShimFlags f;
  if (!parse(argc, argv, first, &f)) return;
  if (!strcmp(f.action, "start") || !strcmp(f.action, "delete")) {
    if (!*f.namespace_) die("-namespace is required");
    if (!strcmp(f.action, "start")) shim_start(f, node, script, env);
    shim_delete_if_clean(f);
  }
}

}  // namespace launcher
