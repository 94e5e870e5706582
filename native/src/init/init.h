// The ocirun-init stub's parts (see main.cc for the sequence): its control words, and the steps they drive.
#pragma once

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../control.h"
#include "../hooks.h"
#include "../procfs.h"
#include "../sync.h"
#include "../unix_socket.h"

namespace init {

using ocirun::SyncMsg;

struct Rlimit {
  int resource;
  rlim_t soft, hard;
};

// A startContainer hook: its strings point into the control message.
struct Hook {
  unsigned timeout = 0;  // seconds; 0: none
  char* path = nullptr;
  char* argv[64] = {};
  char* envp[64] = {};
};

struct Control {
  int sync_fd = -1, fifo_fd = -1;
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t groups[NGROUPS_MAX];
  size_t ngroups = 0;
  long umask_value = -1;
  bool no_new_privs = false;
  bool set_caps = false;
  uint64_t caps[5] = {};  // bounding, effective, permitted, inheritable, ambient
  Rlimit rlimits[RLIM_NLIMITS];
  size_t nrlimits = 0;
  int preserve_fds = 0;
  int ioprio_class = -1, ioprio_level = 0;
  bool set_sched = false;
  uint64_t sched[7] = {};  // policy, nice, priority, flags, runtime, deadline, period
  const char* cpus_initial = nullptr;
  const char* cpus_final = nullptr;
  long personality_domain = -1;
  const char* apparmor = nullptr;
  const char* selinux = nullptr;
  bool set_mempolicy = false;  // linux.memoryPolicy: set_mempolicy(mode, mask, words * 64)
  unsigned mempolicy_mode = 0;
  const unsigned char* mempolicy_mask = nullptr;
  size_t mempolicy_words = 0;
  const unsigned char* seccomp = nullptr;  // the BPF program the runtime compiled
  size_t seccomp_len = 0;
  unsigned seccomp_flags = 0;
  Hook hooks[16];
  size_t nhooks = 0;
  size_t hook_args = 0, hook_env = 0;  // entries of the last hook's argv/envp
  const char* hook_state = nullptr;  // the state JSON the hooks read on stdin
  char** args = nullptr;
};

extern int sync_fd;  // the runtime's sync socket until the commit; -1 after

enum { kBounding, kEffective, kPermitted, kInheritable, kAmbient };

// Reports a failure to the runtime (or, after the commit, on stderr) and exits 127.
[[noreturn]] void fail(ocirun::Step step, const char* syscall, const char* path, int err, const char* detail = "");

void parse(int argc, char** argv, Control& c);                      // control.cc
void resolve(const char* name, char* out, size_t cap);               // control.cc
void set_affinity(const char* list, ocirun::Step step);               // process.cc
void reset_affinity();                                                // process.cc
void default_home(uid_t uid);                                         // process.cc
void apply_scheduling(const Control& c);                              // process.cc
void apply_labels(const Control& c);                                  // process.cc
void apply_memory_policy(const Control& c);                           // process.cc
void apply_rlimits(const Control& c);                                 // process.cc
int install_seccomp(const Control& c);                                // privileges.cc
void drop_privileges(const Control& c);                               // privileges.cc
void run_start_hooks(const Control& c);                               // hooks.cc

}  // namespace init
