// Per-process settings applied while still privileged: scheduling, I/O priority, CPU affinity, LSM exec
// labels, rlimits; and HOME, as runc sets it.
#include "init.h"

namespace init {

// "0-3,6" -> sched_setaffinity.
void set_affinity(const char* list, ocirun::Step step) {
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

// Without execCPUAffinity the process may use every CPU its cpuset allows: never the CPU set of the runtime
// that started it (a runtime pinned to one CPU must not pin the container). The kernel limits the full mask
// to the cgroup's cpuset.
void reset_affinity() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) CPU_SET(cpu, &all);
  sched_setaffinity(0, sizeof all, &all);  // EINVAL only if no CPU of the set is allowed: keep what we have
}

// linux.memoryPolicy, for the process and what it forks.
void apply_memory_policy(const Control& c) {
  if (!c.set_mempolicy) return;
  static unsigned long mask[16];
  size_t words = c.mempolicy_words < 16 ? c.mempolicy_words : 16;
  memcpy(mask, c.mempolicy_mask, words * 8);
  if (syscall(SYS_set_mempolicy, c.mempolicy_mode, mask, words * 64 + 1) < 0)
    fail(ocirun::kStepMemoryPolicy, "set_mempolicy", "", errno);
}

// HOME absent or empty in the process's environment: the home of `uid` in the container's /etc/passwd (we are
// past pivot_root: the path cannot leave the container), "/" when it has no entry, as runc does. The file is
// the image's: only a regular file is read, and at most its first 1 MiB.
void default_home(uid_t uid) {
  const char* set = getenv("HOME");
  if (set && *set) return;
  static char buf[1 << 20];
  const char* home = "/";
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += size_t(n);
    buf[len] = 0;
    // name:password:uid:gid:gecos:home:shell
    for (char* line = buf; *line;) {
      char* end = strchr(line, '\n');
      char* next = end ? end + 1 : line + strlen(line);
      if (end) *end = 0;
      char* field[7] = {line};
      int k = 1;
      for (char* p = line; *p && k < 7; p++)
        if (*p == ':') *p = 0, field[k++] = p + 1;
      char* stop = nullptr;
      unsigned long id = k == 7 ? strtoul(field[2], &stop, 10) : 0;
      if (k == 7 && stop != field[2] && !*stop && id == uid) {
        if (*field[5]) home = field[5];
        break;
      }
      line = next;
    }
  }
  if (fd >= 0) close(fd);
  setenv("HOME", home, 1);
}

namespace {

struct SchedAttr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
};

}  // namespace

void apply_scheduling(const Control& c) {
  if (c.ioprio_class >= 0 && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (c.ioprio_class << 13) | c.ioprio_level) < 0)
    fail(ocirun::kStepIoPriority, "ioprio_set", "", errno);
  if (!c.set_sched) return;
  SchedAttr a = {sizeof(SchedAttr), uint32_t(c.sched[0]), c.sched[3], int32_t(c.sched[1]), uint32_t(c.sched[2]),
                 c.sched[4], c.sched[5], c.sched[6]};
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) fail(ocirun::kStepScheduler, "sched_setattr", "", errno);
}

// The LSM label the process execs into: written to /proc/self/attr/... just before the exec, through the
// container's procfs checked as such (a mount over the attr file must not take the label elsewhere).
static void set_exec_label(const char* rel, const char* fallback, const char* text, ocirun::Step step) {
  ocirun::SysError e;
  int proc = ocirun::open_procfs("/proc", e);
  if (proc < 0) fail(step, e.syscall, e.path, e.err, e.detail);
  int fd = ocirun::open_proc_file(proc, rel, O_WRONLY, rel, e);
  if (fd < 0 && fallback) fd = ocirun::open_proc_file(proc, fallback, O_WRONLY, fallback, e);
  close(proc);
  if (fd < 0) fail(step, e.syscall, e.path, e.err, e.detail);
  if (write(fd, text, strlen(text)) < 0) fail(step, "write", rel, errno);
  close(fd);
}

void apply_labels(const Control& c) {
  char buf[4096];
  if (c.apparmor) {
    snprintf(buf, sizeof buf, "exec %s", c.apparmor);
    set_exec_label("self/attr/apparmor/exec", "self/attr/exec", buf, ocirun::kStepApparmor);
  }
  if (c.selinux) set_exec_label("self/attr/exec", nullptr, c.selinux, ocirun::kStepSelinux);
}

// The kernel's numbering (asm-generic/resource.h), for errors that name the limit.
const char* const kRlimitNames[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
                                    "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
                                    "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                                    "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};

void apply_rlimits(const Control& c) {
  for (size_t i = 0; i < c.nrlimits; i++) {
    struct rlimit r = {c.rlimits[i].soft, c.rlimits[i].hard};
    unsigned res = unsigned(c.rlimits[i].resource);
    const char* name = res < sizeof kRlimitNames / sizeof *kRlimitNames ? kRlimitNames[res] : "";
    if (setrlimit(static_cast<decltype(RLIMIT_CPU)>(res), &r) < 0) fail(ocirun::kStepRlimits, "setrlimit", name, errno);
  }
}

}  // namespace init
