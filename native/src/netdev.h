// linux.netDevices: a network device of one network namespace moved into another over rtnetlink, renamed in
// the same request (so that it never shows under a name that clashes), with the permanent addresses of
// global scope it had put back on it there (the kernel drops them on the move) and brought up again if it
// was up. Host side only: it runs in the runtime, never in a cloned child.
#pragma once

#include "error.h"

namespace ocirun {

// Moves device `name` from the network namespace `from_ns` (an fd; -1: the calling thread's) to `to_ns`,
// named `new_name` there (empty: the same name). ENODEV when there is no such device; EEXIST when the name
// is taken on the other side.
int move_net_device(int from_ns, const char* name, int to_ns, const char* new_name, SysError& e);

// The same with the namespaces named by their ns files (`from_ns` "": the calling thread's).
int move_net_device(const char* from_ns, const char* name, const char* to_ns, const char* new_name, SysError& e);

}  // namespace ocirun
