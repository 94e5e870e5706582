// ocirun-init: the container's init between `create` and `start`.
//
// The cloned child execs this small static program from a sealed memfd once the container's namespaces and
// root filesystem are in place, so the process that waits for `start` holds neither a copy of Node's heap nor
// a path to any host binary. Its argv is only its sync socket's number; it asks the runtime for its control
// message there (native/src/control.h: user, capabilities, rlimits, seccomp, args, hooks); its environment is
// the process environment. In order, it:
//   1. finds the executable in the container (so that `create` fails when it is missing, as with runc),
//   2. applies rlimits, scheduling, I/O priority, the LSM exec label, personality and CPU affinity (some need
//      privileges that go later), and marks every fd above the preserved ones close-on-exec,
//   3. installs the seccomp filter and drops privileges (bounding set, groups/gid/uid with capabilities kept,
//      capset, ambient, no_new_privs, umask), in runc's order,
//   4. tells the runtime it is ready (handing it the seccomp notify fd, if any), waits until the runtime has
//      recorded it, and blocks reading exec.fifo until `start` writes to it,
//   5. runs the startContainer hooks, and execs the process.
#include "init.h"

using namespace init;

namespace {

[[noreturn]] void die_by_signal(int sig) { _exit(128 + sig); }

// The kernel's own sigaction call: libc's refuses the signals its threads use (glibc 32-33, musl 32-34), and
// the stub, which has no threads, catches 34 as runc's init does whatever libc it is built with. x86-64 and
// arm64 share this layout of the kernel's struct; x86-64 also wants a restorer, which die_by_signal, never
// returning, never reaches.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};
constexpr unsigned long kSaRestorer = 0x04000000;

void catch_signal(int sig) {
#if defined(__x86_64__) || defined(__aarch64__)
  KernelSigaction sa = {die_by_signal, kSaRestorer, reinterpret_cast<void (*)()>(die_by_signal), 0};
  syscall(SYS_rt_sigaction, sig, &sa, nullptr, sizeof sa.mask);
#else
  struct sigaction sa = {};
  sa.sa_handler = die_by_signal;
  sigaction(sig, &sa, nullptr);
#endif
}

// As pid 1 of its namespace the stub would ignore every signal it has no handler for; a `kill` of a created
// container must end it, as it ends runc's. Handlers are reset to the default by the exec of the process.
void exit_on_terminating_signals() {
  static const int kSignals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1,   SIGUSR2, SIGPIPE, SIGALRM,
                                 SIGTERM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR};
  for (int sig : kSignals) catch_signal(sig);
  for (int sig = 34; sig <= 64; sig++) catch_signal(sig);  // the real-time signals a program may use
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
  // From here on the container outlives the runtime that made it; the runtime waits for this answer before
  // it may exit, or its exit could still deliver the death signal.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (send(c.sync_fd, &m, sizeof m, MSG_NOSIGNAL) != sizeof m) _exit(1);
  close(c.sync_fd);
  sync_fd = -1;
  if (c.fifo_fd < 0) return;  // exec: no `start` to wait for
  char byte;
  while ((n = read(c.fifo_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(1);
  close(c.fifo_fd);
}

}  // namespace

int main(int argc, char** argv) {
  static Control c;
  parse(argc, argv, c);
  if (c.cpus_initial) set_affinity(c.cpus_initial, ocirun::kStepCpuAffinity);
  else reset_affinity();
  static char exe[PATH_MAX];
  resolve(c.args[0], exe, sizeof exe);
  default_home(c.uid);
  exit_on_terminating_signals();
  apply_rlimits(c);
  apply_scheduling(c);  // may need CAP_SYS_NICE: before privileges go
  apply_labels(c);
  if (c.personality_domain >= 0 && personality(unsigned(c.personality_domain)) < 0)
    fail(ocirun::kStepPersonality, "personality", "", errno);
  if (c.cpus_final) set_affinity(c.cpus_final, ocirun::kStepCpuAffinity);
  apply_memory_policy(c);
  // Every fd above the preserved ones (the sync socket and the fifo included) closes on exec.
  if (syscall(SYS_close_range, 3 + c.preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) < 0)
    fail(ocirun::kStepCloseFds, "close_range", "", errno);
  // The filter goes on as late as it can, in runc's order: without no_new_privs installing it needs
  // CAP_SYS_ADMIN, so before the privileges go; with it, after. The syscalls left after it (sendmsg, read,
  // close, execve, and capset & co. in the first case) are the ones a profile must allow, as with runc.
  int notify_fd = -1;
  if (c.seccomp && !c.no_new_privs) notify_fd = install_seccomp(c);
  drop_privileges(c);
  if (c.seccomp && c.no_new_privs) notify_fd = install_seccomp(c);
  report_ready_and_wait(c, notify_fd);
  run_start_hooks(c);
  execve(exe, c.args, environ);
  fail(ocirun::kStepExec, "execve", exe, errno);
}
