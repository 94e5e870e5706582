// The runtime side of creating a container: prepare every buffer, clone, answer the child's sync requests,
// and wait until the init stub reports that it is ready and waiting for `start`.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "child.h"
#include "error.h"
#include "plan.h"
#include "vfork_clone.h"

namespace ocirun {

struct Spawned {
  pid_t pid = -1;       // host pid of the container's init, waiting on exec.fifo
  int notify_fd = -1;   // the seccomp notify fd the init sent with kSyncReady, when its filter has a listener
  int sync_fd = -1;     // our end of the sync socket: commit_container() on it once the pid is recorded
  int console_fd = -1;  // the pty master, when process.terminal and no console socket: the caller proxies it
  // The init's start time (/proc/PID/stat's 22nd field), read while it was still setting up: with the pid it
  // names the process for good in the record.
  char start_time[32] = {};
};

// Makes this process's sealed copy of the init stub (the spawn's first slow step: a copy of a static binary)
// on one of the addon's threads, while the caller goes on reading the config: the spawn then takes it as made.
// Errors are the spawn's to report: it makes the copy again if this one failed. False if no thread was had.
bool prepare_spawn(const std::string& init_path);

// Tells the waiting init that the runtime has recorded it (kSyncCommit), and closes the sync socket.
int commit_container(int sync_fd, SysError& e);

// What the cloned child reads, built by spawn_begin: kept until the child has exec'd, since with the vfork clone
// it reads it in place.
struct ChildData {
  ChildContext ctx = {};
  std::vector<int> ns_fds, tasks_fds, source_fds;
  std::vector<std::string> words;
  std::vector<char*> argv, envp;
  std::vector<std::vector<char*>> hook_argv, hook_envp;
};

// One spawn, from clone to the init's kSyncReady. Between spawn_begin and spawn_finish the child exists and
// waits at its first sync point (kSyncCgroupDone): a cgroup manager that needs its pid (systemd, whose scope
// is made with the pid in it) places it then. Destroying a state whose spawn did not finish kills and reaps
// what it started, closes its fds and removes the fifo.
struct SpawnState {
  ContainerPlan plan;
  ChildData child_data;
  // The clone, when a worker thread of its own made it (vfork_clone.h): then vfork.stack is set, and is ours to
  // unmap once the clone is over.
  VforkClone vfork;
  std::vector<int> fds;  // closed by the destructor
  int sock = -1;         // our end of the sync socket (in fds)
  pid_t child = 0;       // the cloned child; the init itself unless two stages were needed
  pid_t init = 0;
  bool placed = false;   // born in its cgroup2 directory
  bool wait_cgroups = false;
  bool has_fifo = false;
  bool done = false;     // the init is ready: it is the caller's now
  SpawnState() = default;
  SpawnState(const SpawnState&) = delete;
  SpawnState& operator=(const SpawnState&) = delete;
  ~SpawnState() { end(); }
  // Closes the fds and, unless the spawn is done, kills and reaps what it started. Safe to call twice.
  void end();
};

// Up to the clone: 0 with st.child set, or -1 with nothing left running.
int spawn_begin(SpawnState& st, SysError& e);

// From the cgroup sync point on. On failure (pid -1) everything the spawn made (processes, fds, the fifo) is
// gone again.
Spawned spawn_finish(SpawnState& st, SysError& e);

}  // namespace ocirun
