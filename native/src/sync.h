// The create protocol, in the order it runs: the numbered sync points between the runtime (parent, spawn.cc,
// then lib/lifecycle/create.ts) and the container's init, over one SOCK_SEQPACKET pair. Shared by the addon
// and the ocirun-init stub. Every message is one fixed-size SyncMsg; fds travel with it (SCM_RIGHTS).
//
//   runtime                                 child (cloned from the runtime)       ocirun-init (exec'd stub)
//   [create.ts] state dir (hidden, locked, renamed into place), cgroups made and claimed (flock)
//   [spawn.cc] exec.fifo, the stub's sealed memfd, the namespace fds, the v1 `tasks` fds, all opened
//   clone3 (born in the cgroup2 directory) ->  (vfork clone, vfork_clone.h: kSyncHello first; the parent
//                                            learns its pid then) moves itself into the v1 cgroups ("0" into
//                                            tasks)
//   (no CLONE_INTO_CGROUP: the pid into cgroup.procs)
//   (systemd driver, cgroupDeferred: spawn_begin returns here and [lib/cgroups/systemd] starts the scope
//   with the child's pid over D-Bus; spawn_finish then goes on)
//          ----- kSyncCgroupDone --------->  (only with cgroups) then the cgroup namespace, if new
//                                            [stage 1: join namespaces, unshare]
//          <---- kSyncUsermapRequest ------  (only when a user namespace is new)
//   write uid_map/gid_map (procfs.h)
//          ----- kSyncUsermapDone -------->
//          <---- kSyncChildPid ------------  (only when a second fork was needed for the pid namespace)
//                                            time namespace, hostname, keyring, the rootfs: mounts,
//                                            devices, symlinks
//          <---- kSyncHookState ----------  (only with createContainer hooks, before pivot_root)
//          ----- kSyncHookState + memfd ->  runs them (hooks.h)
//                                            pivot_root, sysctls, read-only and masked paths
//          <---- kSyncConsole + pty master - (only with process.terminal; terminal.h)
//   master to --console-socket, or kept      cwd, then execveat(sealed memfd) -->  argv: its sync fd only
//          <---- kSyncControl ---------------------------------------------------
//          ----- kSyncControl + memfd (control.h) ------------------------------>  parses it strictly,
//                                                                                  resolves the executable,
//                                                                                  rlimits, labels, seccomp,
//                                                                                  drops privileges
//          <---- kSyncReady --------------------------------------------------  (+ seccomp notify fd)
//   [create.ts] the notify fd to its listener, oom_score_adj (procfs.h), state.json with the pid,
//   the prestart and createRuntime hooks (lib/hooks.ts)
//          ----- kSyncCommit -------------------------------------------------->  clears its death signal
//          <---- kSyncCommit --------------------------------------------------  then waits on exec.fifo
//   (the runtime may exit only after that answer: before it, its exit would still kill the init)
//   `start` writes exec.fifo ------------------------------------------------->  startContainer hooks,
//                                                                                  execve of the process
//   (run, unless it proxies a terminal, plans no exec.fifo: the init goes on at the commit's answer, as
//   exec's does; run then runs only what follows a start, the poststart hooks)
//   Any side may send kSyncError (carrying a SysError) instead; EOF before kSyncReady means init died, EOF
//   before kSyncCommit means the runtime died: the init exits rather than wait for a `start` that cannot
//   find it. exec runs the same protocol without the rootfs part, joining the container instead.
#pragma once

#include <stdint.h>

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
  kSyncHello = 11,      // child -> parent, first of all when a worker thread cloned it: it runs, its pid is known
};

struct SyncMsg {
  int32_t type;
  int32_t pid;     // kSyncChildPid: the pid of the container's init, as seen by the parent
  SysError error;  // kSyncError
};

}  // namespace ocirun
