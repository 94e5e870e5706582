#include "child.h"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fmt.h"
#include "hooks.h"
#include "namespaces.h"
#include "procfs.h"
#include "rootfs.h"
#include "safe_path.h"
#include "sync.h"
#include "terminal.h"
#include "unix_socket.h"

namespace ocirun {

namespace {

int send_msg(int sock, const SyncMsg& m) { return send(sock, &m, sizeof m, MSG_NOSIGNAL) == sizeof m ? 0 : -1; }

[[noreturn]] void die(ChildContext& ctx, const SysError& e) {
  SyncMsg m = {};
  m.type = kSyncError;
  m.error = e;
  send_msg(ctx.sock, m);
  _exit(1);
}

// --- the steps, in the order kSteps runs them ---

int reset_signals(ChildContext&, SysError& e) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);  // EINVAL for SIGKILL/SIGSTOP: fine
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) < 0) return fail(e, "sigprocmask", "");
  return 0;
}

int protect_process(ChildContext& ctx, SysError& e) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_DUMPABLE)", "");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_PDEATHSIG)", "");
  // A parent that died before the prctl sent no signal: its end of the socket is closed then.
  struct pollfd p = {ctx.sock, POLLRDHUP, 0};
  if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP))) _exit(1);
  return 0;
}

// The v1 controllers: we move ourselves ("0" is the writing thread, and we have only one), then wait for the
// parent, which places us in the cgroup2 cgroup when clone3 could not.
int enter_cgroups(ChildContext& ctx, SysError& e) {
  const auto& files = ctx.plan->cgroupTasks;
  for (size_t i = 0; i < files.size(); i++) {
    if (write(ctx.tasks_fds[i], "0", 1) != 1) return fail(e, "write", files[i].c_str());
    close(ctx.tasks_fds[i]);
  }
  if (!ctx.wait_cgroups) return 0;
  SyncMsg m = {};
  if (recv(ctx.sock, &m, sizeof m, 0) != sizeof m) return fail(e, "recv", "sync socket", errno ? errno : EPIPE);
  if (m.type != kSyncCgroupDone) return fail(e, "recv", "sync socket", EPROTO);
  return 0;
}

int cgroup_namespace(ChildContext& ctx, SysError& e) {
  if (ctx.plan->cgroupNamespace && unshare(CLONE_NEWCGROUP) < 0) return fail(e, "unshare(CLONE_NEWCGROUP)", "");
  return 0;
}

int join(ChildContext& ctx, SysError& e) {
  if (join_namespaces(*ctx.plan, ctx.ns_fds, e) < 0) return -1;
  for (const auto& j : ctx.plan->joins)
    if (j.type == CLONE_NEWUSER) {
      // Our host uid means nothing there: become its root, or the exec of the stub would drop every capability.
      if (setresgid(0, 0, 0) < 0) return fail(e, "setresgid", j.path.c_str());
      if (setresuid(0, 0, 0) < 0) return fail(e, "setresuid", j.path.c_str());
    }
  return 0;
}

int unshare_new(ChildContext& ctx, SysError& e) {
  if (!ctx.two_stage) return 0;  // clone already made them
  unsigned long flags = ctx.plan->cloneFlags & ~(unsigned long)CLONE_NEWPID;
  if (flags && unshare(int(flags)) < 0) return fail(e, "unshare", "");
  return 0;
}

int user_mapping(ChildContext& ctx, SysError& e) {
  if (!(ctx.plan->cloneFlags & CLONE_NEWUSER)) return 0;
  SyncMsg m = {};
  m.type = kSyncUsermapRequest;
  // Dumpable for the parent's writes only (runc does the same): a non-dumpable process's /proc files belong to
  // root, which an unprivileged runtime and the setuid newuidmap (which checks the owner) are not.
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_DUMPABLE)", "");
  if (send_msg(ctx.sock, m) < 0) return fail(e, "send", "sync socket");
  if (recv(ctx.sock, &m, sizeof m, 0) != sizeof m) return fail(e, "recv", "sync socket", errno ? errno : EPIPE);
  if (m.type != kSyncUsermapDone) return fail(e, "recv", "sync socket", EPROTO);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_DUMPABLE)", "");
  // Become root of the new namespace: ids are mapped now, so files we create get the mapped owner.
  if (setresgid(0, 0, 0) < 0) return fail(e, "setresgid", "");
  if (setresuid(0, 0, 0) < 0) return fail(e, "setresuid", "");
  return 0;
}

int pid_namespace(ChildContext& ctx, SysError& e) {
  if (!ctx.two_stage) return 0;
  // setns/unshare of a pid namespace only moves children: fork once more. CLONE_PARENT makes the runtime the
  // parent of the container's init, as on the one-stage path, so it can wait for it.
  unsigned long flags = CLONE_PARENT | (ctx.plan->cloneFlags & CLONE_NEWPID);
  // The runtime must learn the new init's host pid (kSyncChildPid, sent by us) before anything the init
  // sends: the init waits for EOF on this pipe, which comes when we exit, after sending.
  int order[2];
  if (pipe2(order, O_CLOEXEC) < 0) return fail(e, "pipe2", "");
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0 && errno == ENOMEM && !(flags & CLONE_NEWPID)) {
    fail(e, "clone", "");
    close(order[0]);
    close(order[1]);
    copy_str(e.detail, sizeof e.detail, "the pid namespace to join has no init process any more");
    return -1;
  }
  if (pid < 0) {
    close(order[0]);
    close(order[1]);
    return fail(e, "clone", "");
  }
  if (pid > 0) {
    SyncMsg m = {};
    m.type = kSyncChildPid;
    m.pid = int32_t(pid);
    send_msg(ctx.sock, m);
    _exit(0);  // closes order[1]
  }
  close(order[1]);
  if (ctx.arm_alloc_guard) ctx.arm_alloc_guard();  // a fork: this process is not the one that armed it
  char c;
  while (read(order[0], &c, 1) < 0 && errno == EINTR) {
  }
  close(order[0]);
  // The death signal is not inherited across fork.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return fail(e, "prctl(PR_SET_PDEATHSIG)", "");
  return 0;
}

int time_namespace(ChildContext& ctx, SysError& e) {
  if (!(ctx.plan->cloneFlags & CLONE_NEWTIME)) return 0;
  // Offsets can only be set before a process enters the namespace: unshare makes it the namespace of our
  // children and of our next exec (the stub), so write them in between.
  if (unshare(CLONE_NEWTIME) < 0) return fail(e, "unshare(CLONE_NEWTIME)", "");
  const std::string& offsets = ctx.plan->timeOffsets;
  if (offsets.empty()) return 0;
  return write_proc_file("self/timens_offsets", offsets.data(), offsets.size(), "/proc/self/timens_offsets", e);
}

int hostname(ChildContext& ctx, SysError& e) {
  const ContainerPlan& p = *ctx.plan;
  if (p.setHostname && sethostname(p.hostname.data(), p.hostname.size()) < 0) return fail(e, "sethostname", "");
  if (p.setDomainname && setdomainname(p.domainname.data(), p.domainname.size()) < 0)
    return fail(e, "setdomainname", "");
  return 0;
}

int session_keyring(ChildContext& ctx, SysError& e) {
  const std::string& name = ctx.plan->sessionKeyring;
  if (name.empty()) return 0;
  // Kernels without keys (ENOSYS) or with the keyring quota used up in a user namespace are tolerated, as runc.
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS && errno != EDQUOT)
    return fail(e, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)", name.c_str());
  return 0;
}

int rootfs_prepare(ChildContext& ctx, SysError& e) {
  ctx.root_fd = prepare_rootfs(*ctx.plan, e);
  return ctx.root_fd < 0 ? -1 : 0;
}
int rootfs_mounts(ChildContext& ctx, SysError& e) { return mount_all(*ctx.plan, ctx.root_fd, ctx.source_fds, e); }
int rootfs_devices(ChildContext& ctx, SysError& e) { return create_devices(*ctx.plan, ctx.root_fd, e); }
int rootfs_symlinks(ChildContext& ctx, SysError& e) { return create_symlinks(*ctx.plan, ctx.root_fd, e); }
int create_container_hooks(ChildContext& ctx, SysError& e) {
  const auto& hooks = ctx.plan->createContainerHooks;
  if (hooks.empty()) return 0;
  SyncMsg m = {};
  m.type = kSyncHookState;
  if (send_msg(ctx.sock, m) < 0) return fail(e, "send", "sync socket");
  int state = -1;
  if (recv_with_fd(ctx.sock, &m, sizeof m, &state) != sizeof m || m.type != kSyncHookState || state < 0)
    return fail(e, "recvmsg", "sync socket", EPROTO);
  // In the container's namespaces, with the host's paths still reachable.
  int rc = 0;
  for (size_t i = 0; i < hooks.size() && !rc; i++)
    rc = run_hook({"createContainer", i, hooks[i].path.c_str(), ctx.hook_argv[i].data(), ctx.hook_envp[i].data(), hooks[i].timeout},
                  state, e);
  close(state);
  return rc;
}

int rootfs_enter(ChildContext& ctx, SysError& e) {
  int rc = enter_rootfs(*ctx.plan, ctx.root_fd, e);
  close(ctx.root_fd);
  ctx.root_fd = -1;
  return rc;
}
// exec into a container without a mount namespace of its own: its init's root, opened by the parent.
int joined_root(ChildContext& ctx, SysError& e) {
  if (ctx.root_fd < 0) return 0;
  int rc = 0;
  if (fchdir(ctx.root_fd) < 0) rc = fail(e, "fchdir", ctx.plan->rootfs.c_str());
  else if (chroot(".") < 0) rc = fail(e, "chroot", ctx.plan->rootfs.c_str());
  close(ctx.root_fd);
  ctx.root_fd = -1;
  return rc;
}
int rootfs_finish(ChildContext& ctx, SysError& e) { return finish_rootfs(*ctx.plan, e); }
int sysctls(ChildContext& ctx, SysError& e) { return write_sysctls(*ctx.plan, e); }
int readonly_paths(ChildContext& ctx, SysError& e) { return make_readonly_paths(*ctx.plan, e); }
int masked_paths(ChildContext& ctx, SysError& e) { return mask_paths(*ctx.plan, e); }

int console(ChildContext& ctx, SysError& e) {
  const ContainerPlan& p = *ctx.plan;
  if (!p.terminal) return 0;
  int master, slave;
  if (open_container_pty(p.consoleRows, p.consoleCols, &master, &slave, e) < 0) return -1;
  SyncMsg m = {};
  m.type = kSyncConsole;
  int rc = send_with_fd(ctx.sock, &m, sizeof m, master) == sizeof m ? 0 : fail(e, "sendmsg", "sync socket");
  close(master);
  if (rc < 0) {
    close(slave);
    return -1;
  }
  return become_terminal_session(slave, p.consoleUid, p.consoleGid, e);
}

int working_dir(ChildContext& ctx, SysError& e) {
  const char* cwd = ctx.plan->cwd.c_str();
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return fail(e, "open", "/");
  int fd = mkdir_all_in_root(root, cwd, 0755, e);
  close(root);
  if (fd < 0) return -1;
  int rc = fchdir(fd) < 0 ? fail(e, "fchdir", cwd) : 0;
  close(fd);
  return rc;
}

int exec_init(ChildContext& ctx, SysError& e) {
  // The fds the stub needs go to fixed numbers just above the preserved ones. Each is first copied above
  // those numbers, so that moving one onto its number cannot close another (the stub's memfd may sit on the
  // sync socket's number), and the originals are closed, so that none of ours stays inside the preserved
  // range. Every other fd this process holds is close-on-exec (libuv opens all of its own that way).
  const int floor = ctx.fifo_target + 1;
  int init = fcntl(ctx.init_fd, F_DUPFD_CLOEXEC, floor);
  int sock = fcntl(ctx.sock, F_DUPFD_CLOEXEC, floor);
  int fifo = ctx.fifo_fd >= 0 ? fcntl(ctx.fifo_fd, F_DUPFD_CLOEXEC, floor) : -1;
  if (init < 0 || sock < 0 || (ctx.fifo_fd >= 0 && fifo < 0)) return fail(e, "fcntl(F_DUPFD)", "");
  // Stdio given by the caller (a terminal has already taken 0-2): copied up as well, for the same reason.
  int stdio[3] = {-1, -1, -1};
  for (int i = 0; i < 3 && !ctx.plan->terminal; i++)
    if (ctx.plan->stdioFds[i] >= 0 && (stdio[i] = fcntl(ctx.plan->stdioFds[i], F_DUPFD_CLOEXEC, floor)) < 0)
      return fail(e, "fcntl(F_DUPFD)", "stdio");
  close(ctx.init_fd);
  close(ctx.sock);
  if (ctx.fifo_fd >= 0) close(ctx.fifo_fd);
  ctx.sock = sock;
  if (dup3(sock, ctx.sync_target, 0) < 0 || (fifo >= 0 && dup3(fifo, ctx.fifo_target, 0) < 0)) return fail(e, "dup3", "");
  ctx.sock = ctx.sync_target;  // so that a failing execveat still reports
  for (int i = 0; i < 3; i++)
    if (stdio[i] >= 0 && dup3(stdio[i], i, 0) < 0) return fail(e, "dup3", "stdio");
  // Node opens its stdio close-on-exec; the container must get them (and the preserved fds) open. The
  // preserved range holds only the caller's fds: the launcher fills the numbers the caller left closed.
  for (int fd = 0; fd < 3 + ctx.plan->preserveFds; fd++) fcntl(fd, F_SETFD, 0);
  syscall(SYS_execveat, init, "", ctx.init_argv, ctx.envp, AT_EMPTY_PATH);
  return fail(e, "execveat", "ocirun-init");
}

struct InitStep {
  Step id;
  int (*run)(ChildContext&, SysError&);
};

// The init sequence. The order is the contract:
constexpr InitStep kSteps[] = {
    // Node's handlers and its ignored SIGPIPE must not leak into the container; nothing else can run first.
    {kStepSignals, reset_signals},
    // Until the stub is exec'd, /proc/PID/exe is the host's node binary (CVE-2019-5736): not dumpable means
    // no other process may open it. The death signal makes us die with the runtime while create is unfinished.
    {kStepProtect, protect_process},
    // In every cgroup before anything else runs: limits apply to all that follows, and the cgroup namespace
    // below takes these cgroups as its root.
    {kStepCgroups, enter_cgroups},
    // Joined namespaces first: new ones are then owned by the joined user namespace.
    {kStepJoinNamespaces, join},
    {kStepUnshare, unshare_new},
    // Before anything creates a file: ids must be mapped so that files get a valid owner.
    {kStepUserMapping, user_mapping},
    {kStepPidNamespace, pid_namespace},
    // Owned by the container's user namespace, rooted at the container's cgroups; before the mounts, so that a
    // cgroup mount shows only the container's tree.
    {kStepCgroupNamespace, cgroup_namespace},
    {kStepTimeNamespace, time_namespace},
    {kStepHostname, hostname},
    // The host's session keyring must not be reachable from the container.
    {kStepSessionKeyring, session_keyring},
    // The rootfs: propagation and bind first (nothing may leak to the host), then the config's mounts in
    // order, then /dev (it may sit on a tmpfs mount from the config), then pivot_root.
    {kStepPrepareRootfs, rootfs_prepare},
    {kStepMounts, rootfs_mounts},
    {kStepDevices, rootfs_devices},
    {kStepSymlinks, rootfs_symlinks},
    // In the container's namespaces with its mounts in place, before pivot_root: the spec's moment.
    {kStepCreateContainerHooks, create_container_hooks},
    {kStepPivotRoot, rootfs_enter},
    // After pivot_root: "/" is now the rootfs, and the old root is gone.
    {kStepFinishRootfs, rootfs_finish},
    // runc's order: sysctls are written before /proc/sys becomes read-only, masks go on last.
    {kStepSysctl, sysctls},
    {kStepReadonlyPaths, readonly_paths},
    {kStepMaskedPaths, masked_paths},
    // The pty comes from the container's /dev/pts, so after pivot_root; it replaces stdio before the exec.
    {kStepConsole, console},
    {kStepCwd, working_dir},
    {kStepExecInit, exec_init},
};

// exec: a new process joins a running container. The same protections first; then every namespace of the
// container (the mount namespace puts us at its root), the fork into its pid namespace, the cwd, the stub.
constexpr InitStep kJoinSteps[] = {
    {kStepSignals, reset_signals},
    {kStepProtect, protect_process},  // non-dumpable before the pid namespace: the container must not see node
    {kStepCgroups, enter_cgroups},  // in the container's cgroups before its cgroup namespace is joined
    {kStepJoinNamespaces, join},
    {kStepPivotRoot, joined_root},
    {kStepPidNamespace, pid_namespace},
    {kStepConsole, console},
    {kStepCwd, working_dir},
    {kStepExecInit, exec_init},
};

template <size_t N>
void run_steps(ChildContext& ctx, const InitStep (&steps)[N]) {
  for (const InitStep& s : steps) {
    SysError e;
    if (s.run(ctx, e) < 0) {
      set_step(e, s.id);
      die(ctx, e);
    }
  }
}

}  // namespace

void child_main(ChildContext& ctx) {
  // The copy of the parent's end of the sync socket goes at once: were the parent killed before our death
  // signal is armed (protect_process), our next wait on the socket ends (EOF) instead of blocking for ever
  // with the container's lock and cgroup held.
  close(ctx.parent_sock);
  if (ctx.arm_alloc_guard) ctx.arm_alloc_guard();
  if (ctx.hello) {
    SyncMsg m = {};
    m.type = kSyncHello;
    if (send_msg(ctx.sock, m) < 0) _exit(1);
  }
  if (ctx.plan->joinExisting)
    run_steps(ctx, kJoinSteps);
  else
    run_steps(ctx, kSteps);
  _exit(1);  // unreachable: exec_init either execs or fails
}

}  // namespace ocirun
