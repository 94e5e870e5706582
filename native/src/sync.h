// Numbered sync points between the runtime (parent) and the container's init, over one SOCK_SEQPACKET pair.
// Shared by the addon and the ocirun-init stub. Every message is one fixed-size SyncMsg.
//
//   parent                                  child (cloned from the runtime)       ocirun-init (exec'd stub)
//   clone (into the cgroup2 directory) -->
//   write the pid into v1 cgroup.procs
//          ----- kSyncCgroupDone --------->  (only with cgroups) then the cgroup namespace, if new
//                                            [stage 1: join namespaces, unshare]
//          <---- kSyncUsermapRequest ------  (only when a user namespace is new)
//   write uid_map/gid_map
//          ----- kSyncUsermapDone -------->
//          <---- kSyncChildPid ------------  (only when a second fork was needed for the pid namespace)
//                                            mounts, devices, pivot_root, hostname
//          <---- kSyncHookState ----------  (only with createContainer hooks, before pivot_root)
//          ----- kSyncHookState + memfd ->  runs them
//          <---- kSyncConsole + pty master - (only with process.terminal)
//                                            execveat(sealed memfd) ---------->   argv: its sync fd only
//          <---- kSyncControl ---------------------------------------------------
//          ----- kSyncControl + memfd (control.h) ------------------------------>  parses it strictly,
//                                                                                  resolves the executable
//          <---- kSyncReady --------------------------------------------------  (+ seccomp notify fd)
//   state.json written with the pid
//          ----- kSyncCommit -------------------------------------------------->  clears its death signal
//          <---- kSyncCommit --------------------------------------------------  then waits on exec.fifo
//   (the runtime may exit only after that answer: before it, its exit would still kill the init)
//   Any side may send kSyncError (carrying a SysError) instead; EOF before kSyncReady means init died, EOF
//   before kSyncCommit means the runtime died: the init exits rather than wait for a `start` that cannot
//   find it.
#pragma once

#include <cstdint>

#include "error.h"

namespace ocirun {

enum SyncType : int32_t {
  kSyncUsermapRequest = 1,
  kSyncUsermapDone = 2,
  kSyncChildPid = 3,
  kSyncReady = 4,
  kSyncError = 5,
  kSyncCommit = 6,
  kSyncConsole = 7,    // child -> parent, with the pty master attached (SCM_RIGHTS)
  kSyncHookState = 8,  // child -> parent: asks for the state; parent -> child: a memfd holding it
  kSyncCgroupDone = 9,  // parent -> child: the process is in all its cgroups
  kSyncControl = 10,    // stub -> parent: asks for its control message; parent -> stub: a sealed memfd of it
};

struct SyncMsg {
  int32_t type;
  int32_t pid;     // kSyncChildPid: the pid of the container's init, as seen by the parent
  SysError error;  // kSyncError
};

}  // namespace ocirun
