// ocirun-init: the container's init between `create` and `start`.
//
// The cloned child execs this small static program from a sealed memfd once the container's namespaces and
// root filesystem are in place, so the process that waits for `start` holds neither a copy of Node's heap nor
// a path to any host binary. Its argv carries control words, then "--", then the process args; its environment
// is the process environment. In order, it:
//   1. finds the executable in the container (so that `create` fails when it is missing, as with runc),
//   2. applies rlimits, scheduling, I/O priority, the LSM exec label, personality and CPU affinity (some need
//      privileges that go later), and marks every fd above the preserved ones close-on-exec,
//   3. installs the seccomp filter and drops privileges (bounding set, groups/gid/uid with capabilities kept,
//      capset, ambient, no_new_privs, umask), in runc's order,
//   4. tells the runtime it is ready (handing it the seccomp notify fd, if any), waits until the runtime has
//      recorded it, and blocks reading exec.fifo until `start` writes to it,
//   5. runs the startContainer hooks, and execs the process.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/personality.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <ctype.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grp.h>

#include "../sync.h"
#include "../unix_socket.h"

using ocirun::SyncMsg;
using ocirun::SysError;

namespace {

struct Rlimit {
  int resource;
  rlim_t soft, hard;
};

// A startContainer hook: its strings decoded in place from the control word.
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
  const char* seccomp_hex = nullptr;  // the BPF program the runtime compiled, as hex
  unsigned seccomp_flags = 0;
  Hook hooks[16];
  size_t nhooks = 0;
  char* hook_state = nullptr;  // the state JSON the hooks read on stdin
  char** args = nullptr;
};

enum { kBounding, kEffective, kPermitted, kInheritable, kAmbient };

int sync_fd = -1;

[[noreturn]] void fail(const char* step, const char* syscall, const char* path, int err, const char* detail = "") {
  if (sync_fd >= 0) {
    SyncMsg m = {};
    m.type = ocirun::kSyncError;
    ocirun::set_step(m.error, step);
    ocirun::fail(m.error, syscall, path, err);
    ocirun::copy_str(m.error.detail, sizeof m.error.detail, detail);
    send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  } else {
    // After `start` the runtime is no longer listening: the process's stderr is all there is.
    dprintf(2, "ocirun-init: %s: %s %s: %s%s%s\n", step, syscall, path, strerror(err), *detail ? ": " : "", detail);
  }
  _exit(127);
}

int hexval(char ch) { return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10; }

// Decodes hex in place up to the first character that is not hex; returns the end of what was read.
char* unhex(char* s) {
  char* out = s;
  char* in = s;
  while (isxdigit((unsigned char)in[0]) && isxdigit((unsigned char)in[1])) {
    *out++ = char(hexval(in[0]) << 4 | hexval(in[1]));
    in += 2;
  }
  char* end = in;
  *out = 0;
  return end;
}

// "timeout:path:arg,arg,...:env,env,..." with every string hex-encoded (so no separator can clash).
void parse_hook(char* v, Hook& h) {
  h.timeout = unsigned(strtoul(v, &v, 10));
  if (*v++ != ':') fail("init-args", "parse", "hook", EINVAL);
  char* end = unhex(v);
  h.path = v;
  char** lists[2] = {h.argv, h.envp};
  for (char** list : lists) {
    if (*end != ':') fail("init-args", "parse", "hook", EINVAL);
    v = end + 1;
    size_t n = 0;
    while (isxdigit((unsigned char)*v) && n < 63) {
      end = unhex(v);
      list[n++] = v;
      if (*end != ',') break;
      v = end + 1;
    }
    if (!n) end = v;  // an empty list
    list[n] = nullptr;
  }
  if (!h.argv[0]) {
    h.argv[0] = h.path;
    h.argv[1] = nullptr;
  }
}

void parse(int argc, char** argv, Control& c) {
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    char* word = argv[i];
    char* eq = strchr(word, '=');
    if (!eq) fail("init-args", "parse", word, EINVAL);
    *eq = 0;
    const char* v = eq + 1;
    if (!strcmp(word, "sync")) c.sync_fd = sync_fd = atoi(v);
    else if (!strcmp(word, "fifo")) c.fifo_fd = atoi(v);
    else if (!strcmp(word, "uid")) c.uid = uid_t(strtoul(v, nullptr, 10));
    else if (!strcmp(word, "gid")) c.gid = gid_t(strtoul(v, nullptr, 10));
    else if (!strcmp(word, "groups")) {
      for (char* p = const_cast<char*>(v); *p && c.ngroups < NGROUPS_MAX;) {
        c.groups[c.ngroups++] = gid_t(strtoul(p, &p, 10));
        if (*p == ',') p++;
      }
    } else if (!strcmp(word, "umask")) c.umask_value = strtol(v, nullptr, 8);
    else if (!strcmp(word, "nnp")) c.no_new_privs = v[0] == '1';
    else if (!strcmp(word, "caps")) {  // bounding,effective,permitted,inheritable,ambient in hex
      c.set_caps = true;
      char* p = const_cast<char*>(v);
      for (int k = 0; k < 5 && *p; k++) {
        c.caps[k] = strtoull(p, &p, 16);
        if (*p == ',') p++;
      }
    } else if (!strcmp(word, "rlimit") && c.nrlimits < RLIM_NLIMITS) {  // resource:soft:hard
      char* p = const_cast<char*>(v);
      Rlimit& r = c.rlimits[c.nrlimits++];
      r.resource = int(strtol(p, &p, 10));
      r.soft = strtoull(p + 1, &p, 10);
      r.hard = strtoull(p + 1, &p, 10);
    } else if (!strcmp(word, "preserve")) c.preserve_fds = atoi(v);
    else if (!strcmp(word, "ioprio")) {  // class:level
      char* p = const_cast<char*>(v);
      c.ioprio_class = int(strtol(p, &p, 10));
      c.ioprio_level = int(strtol(p + 1, nullptr, 10));
    } else if (!strcmp(word, "sched")) {  // policy:nice:priority:flags:runtime:deadline:period
      c.set_sched = true;
      char* p = const_cast<char*>(v);
      for (int k = 0; k < 7 && *p; k++) {
        c.sched[k] = uint64_t(strtoll(p, &p, 10));
        if (*p == ':') p++;
      }
    } else if (!strcmp(word, "cpus.initial")) c.cpus_initial = v;
    else if (!strcmp(word, "cpus.final")) c.cpus_final = v;
    else if (!strcmp(word, "personality")) c.personality_domain = strtol(v, nullptr, 10);
    else if (!strcmp(word, "apparmor")) c.apparmor = v;
    else if (!strcmp(word, "selinux")) c.selinux = v;
    else if (!strcmp(word, "seccomp")) c.seccomp_hex = v;
    else if (!strcmp(word, "hook.start") && c.nhooks < 16) parse_hook(const_cast<char*>(v), c.hooks[c.nhooks++]);
    else if (!strcmp(word, "hook.state")) {
      c.hook_state = const_cast<char*>(v);
      unhex(c.hook_state);
    }
    else if (!strcmp(word, "seccomp.flags")) c.seccomp_flags = unsigned(strtoul(v, nullptr, 10));
    else fail("init-args", "parse", word, EINVAL);
  }
  if (i + 1 >= argc) fail("init-args", "parse", "--", EINVAL, "no process args");
  c.args = argv + i + 1;
}

bool is_executable_file(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

// Like execvp's search, but done before the wait so that `create` reports a missing executable.
void resolve(const char* name, char* out, size_t cap) {
  char detail[256];
  if (strchr(name, '/')) {
    snprintf(out, cap, "%s", name);
    if (is_executable_file(out)) return;
    snprintf(detail, sizeof detail, "exec: \"%s\": stat %s: %s", name, name, strerror(errno ? errno : EACCES));
    fail("exec-lookup", "stat", name, errno ? errno : EACCES, detail);
  }
  const char* path = getenv("PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const char* p = path;;) {
    const char* end = strchrnul(p, ':');
    int len = int(end - p);
    snprintf(out, cap, "%.*s%s%s", len, p, len ? "/" : "", name);
    if (is_executable_file(out)) return;
    if (!*end) break;
    p = end + 1;
  }
  snprintf(detail, sizeof detail, "exec: \"%s\": executable file not found in $PATH", name);
  fail("exec-lookup", "lookup", name, ENOENT, detail);
}

// "0-3,6" -> sched_setaffinity.
void set_affinity(const char* list, const char* step) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (char* p = const_cast<char*>(list); *p;) {
    long lo = strtol(p, &p, 10), hi = lo;
    if (*p == '-') hi = strtol(p + 1, &p, 10);
    for (long cpu = lo; cpu <= hi && cpu < CPU_SETSIZE; cpu++) CPU_SET(cpu, &set);
    if (*p == ',') p++;
    else if (*p) fail(step, "parse", list, EINVAL);
  }
  if (sched_setaffinity(0, sizeof set, &set) < 0) fail(step, "sched_setaffinity", list, errno);
}

struct SchedAttr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

void apply_scheduling(const Control& c) {
  if (c.ioprio_class >= 0 && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (c.ioprio_class << 13) | c.ioprio_level) < 0)
    fail("io-priority", "ioprio_set", "", errno);
  if (!c.set_sched) return;
  SchedAttr a = {sizeof(SchedAttr), uint32_t(c.sched[0]), c.sched[3], int32_t(c.sched[1]), uint32_t(c.sched[2]),
                 c.sched[4], c.sched[5], c.sched[6]};
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) fail("scheduler", "sched_setattr", "", errno);
}

// The LSM label the process execs into: written to /proc/self/attr/... just before the exec.
void set_exec_label(const char* file, const char* fallback, const char* text, const char* step) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 && fallback) fd = open(fallback, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) < 0) fail(step, "write", file, errno);
  close(fd);
}

void apply_labels(const Control& c) {
  char buf[4096];
  if (c.apparmor) {
    snprintf(buf, sizeof buf, "exec %s", c.apparmor);
    set_exec_label("/proc/self/attr/apparmor/exec", "/proc/self/attr/exec", buf, "apparmor");
  }
  if (c.selinux) set_exec_label("/proc/self/attr/exec", nullptr, c.selinux, "selinux");
}

// Installs the filter; returns its notify fd when the flags ask for a listener, else -1.
int install_seccomp(const Control& c) {
  size_t len = strlen(c.seccomp_hex) / 2;
  static unsigned char program[4096 * sizeof(struct sock_filter)];
  if (len > sizeof program || len % sizeof(struct sock_filter)) fail("seccomp", "parse", "", EINVAL);
  for (size_t i = 0; i < len; i++) program[i] = (unsigned char)(hexval(c.seccomp_hex[2 * i]) << 4 | hexval(c.seccomp_hex[2 * i + 1]));
  struct sock_fprog prog = {(unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter*)program};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c.seccomp_flags, &prog);
  if (fd < 0) fail("seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)", "", errno);
  return (c.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? int(fd) : -1;
}

void apply_rlimits(const Control& c) {
  for (size_t i = 0; i < c.nrlimits; i++) {
    struct rlimit r = {c.rlimits[i].soft, c.rlimits[i].hard};
    if (setrlimit(__rlimit_resource(c.rlimits[i].resource), &r) < 0) fail("rlimits", "setrlimit", "", errno);
  }
}

// startContainer hooks: after `start`, before the process; in the container (its root, its namespaces).
// A failing or timed-out hook stops the container here, as with runc: the process never runs.
void run_start_hooks(const Control& c) {
  for (size_t i = 0; i < c.nhooks; i++) {
    const Hook& h = c.hooks[i];
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) fail("startContainer-hook", "pipe2", h.path, errno);
    pid_t pid = fork();
    if (pid < 0) fail("startContainer-hook", "fork", h.path, errno);
    if (pid == 0) {
      dup2(in[0], 0);
      execve(h.path, h.argv, h.envp);
      _exit(127);
    }
    close(in[0]);
    // The state, with __PID__ replaced by our pid as the container sees it (what runc's init reports).
    if (c.hook_state) {
      const char* mark = strstr(c.hook_state, "__PID__");
      char pidtext[16];
      int n = snprintf(pidtext, sizeof pidtext, "%d", (int)getpid());
      size_t head = mark ? size_t(mark - c.hook_state) : strlen(c.hook_state);
      // A hook need not read its stdin: write errors (EPIPE) are ignored, SIGPIPE is ours to ignore too.
      signal(SIGPIPE, SIG_IGN);
      if (write(in[1], c.hook_state, head) >= 0 && mark && write(in[1], pidtext, size_t(n)) >= 0)
        if (write(in[1], mark + 7, strlen(mark + 7)) < 0) { /* see above */ }
      signal(SIGPIPE, SIG_DFL);
    }
    close(in[1]);
    int status = 0;
    for (unsigned waited_ms = 0;; waited_ms += 10) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (h.timeout && waited_ms >= h.timeout * 1000) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        char detail[128];
        snprintf(detail, sizeof detail, "startContainer hook #%zu timed out after %us", i, h.timeout);
        fail("startContainer-hook", "wait", h.path, ETIMEDOUT, detail);
      }
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      char detail[128];
      snprintf(detail, sizeof detail, "startContainer hook #%zu failed: %s %d", i,
               WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      fail("startContainer-hook", "execve", h.path, ECANCELED, detail);
    }
  }
}

[[noreturn]] void die_by_signal(int sig) { _exit(128 + sig); }

// As pid 1 of its namespace the stub would ignore every signal it has no handler for; a `kill` of a created
// container must end it, as it ends runc's. Handlers are reset to the default by the exec of the process.
void exit_on_terminating_signals() {
  static const int kSignals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1,   SIGUSR2, SIGPIPE, SIGALRM,
                                 SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR};
  struct sigaction sa = {};
  sa.sa_handler = die_by_signal;
  for (int sig : kSignals) sigaction(sig, &sa, nullptr);
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) sigaction(sig, &sa, nullptr);
}

void report_ready_and_wait(const Control& c, int notify_fd) {
  SyncMsg m = {};
  m.type = ocirun::kSyncReady;
  if (ocirun::send_with_fd(c.sync_fd, &m, sizeof m, notify_fd) != sizeof m) _exit(1);
  if (notify_fd >= 0) close(notify_fd);
  // Wait until the runtime has recorded our pid: if it dies first, nobody could ever start or delete us.
  ssize_t n;
  while ((n = recv(c.sync_fd, &m, sizeof m, 0)) < 0 && errno == EINTR) {
  }
  if (n != sizeof m || m.type != ocirun::kSyncCommit) _exit(1);
  // From here on the container outlives the runtime that made it.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  close(c.sync_fd);
  sync_fd = -1;
  if (c.fifo_fd < 0) return;  // exec: no `start` to wait for
  char byte;
  while ((n = read(c.fifo_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(1);
  close(c.fifo_fd);
}

int capset_all(const uint64_t* caps) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = uint32_t(caps[kEffective] >> (32 * i));
    data[i].permitted = uint32_t(caps[kPermitted] >> (32 * i));
    data[i].inheritable = uint32_t(caps[kInheritable] >> (32 * i));
  }
  return int(syscall(SYS_capset, &hdr, data));
}

void drop_privileges(const Control& c) {
  if (c.set_caps)
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
      if (!(c.caps[kBounding] >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        fail("capabilities", "prctl(PR_CAPBSET_DROP)", "", errno);
  // Keep the capabilities across the uid change; capset below sets the final ones.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("user", "prctl(PR_SET_KEEPCAPS)", "", errno);
  if (setgroups(c.ngroups, c.groups) < 0) fail("user", "setgroups", "", errno);
  if (setresgid(c.gid, c.gid, c.gid) < 0) fail("user", "setresgid", "", errno);
  if (setresuid(c.uid, c.uid, c.uid) < 0) fail("user", "setresuid", "", errno);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("user", "prctl(PR_SET_KEEPCAPS)", "", errno);
  if (c.set_caps) {
    if (capset_all(c.caps) < 0) fail("capabilities", "capset", "", errno);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // The kernel keeps an ambient capability only while it is permitted and inheritable; like runc, the
    // others are left out rather than failing (runc's own default config lists ambient without inheritable).
    const uint64_t ambient = c.caps[kAmbient] & c.caps[kPermitted] & c.caps[kInheritable];
    for (int cap = 0; cap < 64; cap++)
      if ((ambient >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        fail("capabilities", "prctl(PR_CAP_AMBIENT_RAISE)", "", errno);
  }
  if (c.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no-new-privileges", "prctl", "", errno);
  if (c.umask_value >= 0) umask(mode_t(c.umask_value));
}

}  // namespace

int main(int argc, char** argv) {
  static Control c;
  parse(argc, argv, c);
  if (c.cpus_initial) set_affinity(c.cpus_initial, "cpu-affinity");
  static char exe[PATH_MAX];
  resolve(c.args[0], exe, sizeof exe);
  exit_on_terminating_signals();
  apply_rlimits(c);
  apply_scheduling(c);  // may need CAP_SYS_NICE: before privileges go
  apply_labels(c);
  if (c.personality_domain >= 0 && personality(unsigned(c.personality_domain)) < 0)
    fail("personality", "personality", "", errno);
  if (c.cpus_final) set_affinity(c.cpus_final, "cpu-affinity");
  // Every fd above the preserved ones (the sync socket and the fifo included) closes on exec.
  if (syscall(SYS_close_range, 3 + c.preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
    fail("close-fds", "close_range", "", errno);
  // The filter goes on as late as it can, in runc's order: without no_new_privs installing it needs
  // CAP_SYS_ADMIN, so before the privileges go; with it, after. The syscalls left after it (sendmsg, read,
  // close, execve, and capset & co. in the first case) are the ones a profile must allow, as with runc.
  int notify_fd = -1;
  if (c.seccomp_hex && !c.no_new_privs) notify_fd = install_seccomp(c);
  drop_privileges(c);
  if (c.seccomp_hex && c.no_new_privs) notify_fd = install_seccomp(c);
  report_ready_and_wait(c, notify_fd);
  run_start_hooks(c);
  execve(exe, c.args, environ);
  fail("exec", "execve", exe, errno);
}
