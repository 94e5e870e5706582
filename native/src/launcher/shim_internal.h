// What the launcher's shim actions (shim_binary.h) share.
#pragma once

namespace launcher {

// containerd's flags, in Go's flag syntax.
struct ShimFlags {
  const char* namespace_ = "";
  const char* address = "";
  const char* id = "";
  const char* bundle = "";
  bool debug = false;
  const char* action = "";
};

// "containerd-shim-ocirun-v2: <message>" on stderr, and exit status 1.
[[noreturn]] void die(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Whether something listens on the unix socket at `socket_path`.
bool connects(const char* socket_path);

[[noreturn]] void shim_start(const ShimFlags& f, const char* node, const char* script, char** env);
// Returns when there is more to do than answering (the Node side does it).
void shim_delete_if_clean(const ShimFlags& f);

}  // namespace launcher
