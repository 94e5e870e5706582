#include "spawn.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "cgroup.h"
#include "child.h"
#include "hooks.h"
#include "idmap.h"
#include "namespaces.h"
#include "off_thread.h"
#include "ops.h"
#include "procfs.h"
#include "sync.h"
#include "terminal.h"
#include "unix_socket.h"
#include "vfork_clone.h"

namespace ocirun {

namespace {

// The stub is exec'd from a sealed memfd copy, never from disk: a container that reaches /proc/PID/exe of its
// waiting init finds a file nobody can write to (the CVE-2019-5736 class).
int sealed_init_copy(const std::string& path, SysError& e) {
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return fail(e, "open", path.c_str());
  struct stat st;
  if (fstat(src, &st) < 0) {
    fail(e, "fstat", path.c_str());
    close(src);
    return -1;
  }
  int mem = int(syscall(SYS_memfd_create, "ocirun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mem < 0) {
    fail(e, "memfd_create", path.c_str());
    close(src);
    return -1;
  }
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mem, src, &off, size_t(st.st_size - off));
    if (n <= 0) {
      fail(e, "sendfile", path.c_str(), n < 0 ? errno : EIO);
      close(src);
      close(mem);
      return -1;
    }
  }
  close(src);
  if (fcntl(mem, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    fail(e, "fcntl(F_ADD_SEALS)", path.c_str());
    close(mem);
    return -1;
  }
  return mem;
}

// One sealed copy per process, made again only when the stub on disk changes: a sealed memfd cannot change,
// so every container a long-lived process (the library, a shim) makes can exec the same one. Spawns run on
// the addon's threads, several at once. Returns a duplicate, which the caller closes.
int sealed_init(const std::string& path, SysError& e) {
  static std::mutex& mu = *new std::mutex;  // never destroyed: a spawn may still run at exit
  std::lock_guard<std::mutex> hold(mu);
  static int cached = -1;
  static struct stat cached_st;
  static std::string cached_path;
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return fail(e, "stat", path.c_str());
  bool same = cached >= 0 && cached_path == path && st.st_dev == cached_st.st_dev && st.st_ino == cached_st.st_ino &&
              st.st_size == cached_st.st_size && st.st_mtim.tv_sec == cached_st.st_mtim.tv_sec &&
              st.st_mtim.tv_nsec == cached_st.st_mtim.tv_nsec;
  if (!same) {
    int fresh = sealed_init_copy(path, e);
    if (fresh < 0) return -1;
    if (cached >= 0) close(cached);
    cached = fresh;
    cached_st = st;
    cached_path = path;
  }
  int fd = fcntl(cached, F_DUPFD_CLOEXEC, 0);
  return fd < 0 ? fail(e, "fcntl(F_DUPFD_CLOEXEC)", "ocirun-init memfd") : fd;
}

// An unprivileged runtime (rootless) may itself write only a map of its own id, after setgroups is denied for
// gid_map; anything more is written by the setuid helpers newuidmap and newgidmap (Debian's uidmap), which
// check the ranges against /etc/subuid and /etc/subgid.
int helper_map(pid_t pid, const char* helper, const std::string& map, SysError& e) {
  std::vector<std::string> words = {helper, std::to_string(pid)};
  size_t start = 0;
  while (start < map.size()) {
    size_t end = map.find('\n', start);
    std::string line = map.substr(start, end == std::string::npos ? std::string::npos : end - start);
    for (size_t at = 0; at < line.size();) {
      size_t sp = line.find(' ', at);
      words.push_back(line.substr(at, sp == std::string::npos ? std::string::npos : sp - at));
      at = sp == std::string::npos ? line.size() : sp + 1;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  argv.push_back(nullptr);
  // Its complaint (stderr) becomes the error's detail.
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) return fail(e, "pipe2", helper);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  pid_t child;
  int err = posix_spawnp(&child, helper, &actions, nullptr, argv.data(), ::environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (err) {
    close(out[0]);
    fail(e, "posix_spawn", helper, err);
    if (err == ENOENT) copy_str(e.detail, sizeof e.detail, "mapping more than the caller's own id needs newuidmap and newgidmap (Debian's uidmap package)");
    return -1;
  }
  char said[200] = {};
  size_t n = 0;
  for (ssize_t r; n + 1 < sizeof said && (r = read(out[0], said + n, sizeof said - 1 - n)) != 0;)
    if (r > 0) n += size_t(r);
    else if (errno != EINTR) break;
  close(out[0]);
  while (n && (said[n - 1] == '\n' || said[n - 1] == ' ')) said[--n] = 0;
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  std::string file = "/proc/" + std::to_string(pid) + (helper[3] == 'u' ? "/uid_map" : "/gid_map");
  fail(e, helper, file.c_str(), EPERM);
  std::string why = std::string(said[0] ? said : "refused") + " (the ranges this user may map are in " +
                    (helper[3] == 'u' ? "/etc/subuid)" : "/etc/subgid)");
  copy_str(e.detail, sizeof e.detail, why.c_str());
  return -1;
}

// "0 <id> 1": the one line an unprivileged process may write for its own id.
bool own_id_only(const std::string& map, unsigned id) {
  return map == "0 " + std::to_string(id) + " 1\n";
}

int write_id_maps(pid_t pid, const ContainerPlan& p, SysError& e) {
  const bool unprivileged = geteuid() != 0;
  for (const char* name : {"uid_map", "gid_map"}) {
    const bool uid = name[0] == 'u';
    const std::string& map = uid ? p.uidMap : p.gidMap;
    if (map.empty()) continue;
    if (unprivileged && !own_id_only(map, uid ? geteuid() : getegid())) {
      if (helper_map(pid, uid ? "newuidmap" : "newgidmap", map, e) < 0) return -1;
      continue;
    }
    std::string rel = std::to_string(pid) + "/" + name;
    if (unprivileged && !uid) {
      std::string deny = std::to_string(pid) + "/setgroups";
      if (write_proc_file(deny.c_str(), "deny", 4, ("/proc/" + deny).c_str(), e) < 0) return -1;
    }
    if (write_proc_file(rel.c_str(), map.data(), map.size(), ("/proc/" + rel).c_str(), e) < 0) return -1;
  }
  return 0;
}

// The state for createContainer hooks (hooks.h), handed to the child, which gives it to each hook as stdin.
int send_hook_state(int sock, const std::string& tmpl, pid_t pid, SysError& e) {
  int fd = hook_state_memfd(tmpl.data(), tmpl.size(), pid, e);
  if (fd < 0) return -1;
  SyncMsg m = {};
  m.type = kSyncHookState;
  int rc = send_with_fd(sock, &m, sizeof m, fd) == sizeof m ? 0 : fail(e, "sendmsg", "sync socket");
  close(fd);
  return rc;
}

// The stub's control message, in a sealed memfd: it reads what the runtime wrote, and nothing can change it.
int send_control(int sock, const std::string& control, SysError& e) {
  int fd = int(syscall(SYS_memfd_create, "ocirun-control", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return fail(e, "memfd_create", "control message");
  int rc = 0;
  SyncMsg m = {};
  m.type = kSyncControl;
  if (write(fd, control.data(), control.size()) != ssize_t(control.size())) rc = fail(e, "write", "control message");
  else if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    rc = fail(e, "fcntl(F_ADD_SEALS)", "control message");
  else if (send_with_fd(sock, &m, sizeof m, fd) != sizeof m) rc = fail(e, "sendmsg", "sync socket");
  close(fd);
  return rc;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// clone3, born in the cgroup `cgroup_fd` when there is one (*placed says whether that happened); clone3
// without it where the kernel refuses (older than 5.7, or a cgroup that cannot take processes directly), and
// clone where there is no clone3.
pid_t clone_child(unsigned long flags, int cgroup_fd, bool* placed) {
  struct clone_args args = {};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  *placed = false;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = uint64_t(cgroup_fd);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *placed = true;
      return pid_t(pid);
    }
    args.flags = flags;
    args.cgroup = 0;
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS) pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  return pid_t(pid);
}

// The parent's half of the first sync point: the child waits until it is in its cgroup2 cgroup (it enters the
// v1 ones itself).
int place_in_cgroups(pid_t child, const ContainerPlan& plan, bool placed, int sock, SysError& e) {
  if (!placed && !plan.cgroupPath.empty() && join_cgroups(child, {plan.cgroupPath + "/cgroup.procs"}, e) < 0) return -1;
  SyncMsg m = {};
  m.type = kSyncCgroupDone;
  if (send(sock, &m, sizeof m, MSG_NOSIGNAL) != sizeof m) return fail(e, "send", "sync socket");
  return 0;
}

// The test suite's allocation guard (test/alloc-guard), when it is preloaded into this process: the child
// arms it first thing, so that any allocation it makes fails the test that made the container.
using ArmFn = void (*)();
ArmFn alloc_guard() {
  static ArmFn fn = reinterpret_cast<ArmFn>(dlsym(RTLD_DEFAULT, "ocirun_alloc_guard_arm"));
  return fn;
}

// The cloned child's entry on its own stack (vfork_clone.h).
void child_entry(void* ctx) { child_main(*static_cast<ChildContext*>(ctx)); }

// Enough for the child's deepest frames (path buffers of 2 * PATH_MAX), with room to spare; pages it does not
// touch cost nothing (MAP_NORESERVE). The lowest page stays unmapped: an overflow faults.
constexpr size_t kChildStack = 1 << 20;

// The clone through a worker thread of its own, into our own address space. False when it could not be started (no stack,
// no thread): the caller clones a copy instead. Otherwise *child is the child's pid, or -1 with `e` set: the
// clone failed (kSyncError from the worker), or the child ended before its first word.
bool vfork_begin(SpawnState& st, unsigned long flags, int cgroup_fd, int child_sock, SysError& e, pid_t* child) {
  void* stack = mmap(nullptr, kChildStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return false;
  if (mprotect(stack, 4096, PROT_NONE) < 0) {
    munmap(stack, kChildStack);
    return false;
  }
  VforkClone& req = st.vfork;
  req.flags = flags;
  req.cgroup_fd = cgroup_fd;
  req.fn = child_entry;
  req.arg = &st.child_data.ctx;
  req.stack = stack;
  req.stack_size = kChildStack;
  req.report_fd = child_sock;
  st.child_data.ctx.hello = true;
  if (!vfork_clone_start(&req)) {
    st.child_data.ctx.hello = false;
    req.stack = nullptr;
    munmap(stack, kChildStack);
    return false;
  }
  SyncMsg m;
  ssize_t n;
  while ((n = recv(st.sock, &m, sizeof m, 0)) < 0 && errno == EINTR) {
  }
  if (n == sizeof m && m.type == kSyncHello) {
    *child = req.pid;  // written by the kernel before the child ran
    st.placed = req.placed;
    return true;
  }
  if (n == sizeof m && m.type == kSyncError) {
    e = m.error;  // the worker's: clone3 and its errno
    set_step(e, kStepSpawn);
  } else
    fail(e, "recv", "container init exited before it was ready", n < 0 ? errno : EPIPE);
  if (req.pid > 0) st.child = req.pid;  // reaped by end()
  *child = -1;
  return true;
}

void reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

void SpawnState::end() {
  if (!done) {
    reap(init);
    if (child && child != init) reap(child);
    if (has_fifo) unlink(plan.fifoPath.c_str());
  }
  child = init = 0;
  has_fifo = false;
  if (vfork.stack) {  // the child has exec'd, or ended just now: its stack and what it read are free again
    vfork_clone_wait(&vfork);
    munmap(vfork.stack, vfork.stack_size);
    vfork.stack = nullptr;
  }
  for (int fd : fds) close(fd);
  fds.clear();
  sock = -1;
}

bool prepare_spawn(const std::string& init_path) {
  return run_on_worker([init_path] {
    have_workers(2);  // the spawn's job and its clone, made here rather than on the JS thread or the spawn's path
    SysError e;
    int fd = sealed_init(init_path, e);
    if (fd >= 0) close(fd);
  });
}

int spawn_begin(SpawnState& st, SysError& e) {
  const ContainerPlan& plan = st.plan;
  auto keep = [&st](int fd) {
    if (fd >= 0) st.fds.push_back(fd);
    return fd;
  };
  set_step(e, kStepSpawn);
  st.has_fifo = !plan.fifoPath.empty();
  if (st.has_fifo && mknod(plan.fifoPath.c_str(), S_IFIFO | 0622, 0) < 0) {
    st.has_fifo = false;  // not ours to remove
    return fail(e, "mknod", plan.fifoPath.c_str());
  }
  int init_fd = keep(sealed_init(plan.initPath, e));
  if (init_fd < 0) return -1;
  int fifo_fd = st.has_fifo ? keep(open(plan.fifoPath.c_str(), O_RDWR | O_CLOEXEC)) : -1;
  if (st.has_fifo && fifo_fd < 0) return fail(e, "open", plan.fifoPath.c_str());
  std::vector<int>& ns_fds = st.child_data.ns_fds;
  int rc = open_join_fds(plan.joins, ns_fds, e);
  for (int fd : ns_fds) keep(fd);
  if (rc < 0) return -1;
  // exec, no mount namespace of the container's own: its root, opened by pid like the namespaces above.
  int joined_root = -1;
  if (plan.joinExisting && !plan.rootfs.empty() && (joined_root = keep(open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC))) < 0)
    return fail(e, "open", plan.rootfs.c_str());
  if (plan.joinPidfd >= 0) {
    // The namespaces were opened by pid: they are the container's only if its init still lives now (a pid
    // reused in between would have given another process's).
    bool alive = false;
    if (pidfd_signal(plan.joinPidfd, 0, &alive, e) < 0) return -1;
    if (!alive) {
      fail(e, "pidfd_send_signal", "container init", ESRCH);
      copy_str(e.detail, sizeof e.detail, "container not running");
      return -1;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail(e, "socketpair", "");
  st.sock = keep(sv[0]);
  int child_sock = sv[1];
  int cgroup_fd = -1;
  if (!plan.cgroupPath.empty() && !plan.cgroupDeferred &&
      (cgroup_fd = keep(open(plan.cgroupPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC))) < 0) {
    close(child_sock);
    return fail(e, "open", plan.cgroupPath.c_str());
  }

  std::vector<int>& tasks_fds = st.child_data.tasks_fds;
  for (const auto& f : plan.cgroupTasks) {
    int fd = keep(open(f.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd < 0) {
      close(child_sock);
      set_step(e, kStepCgroups);
      return fail(e, "open", f.c_str());
    }
    tasks_fds.push_back(fd);
  }

  // In a user namespace (new or joined) the container's root may not be able to reach a bind source by path: each is
  // opened here too, by the runtime, for the child to fall back on (rootfs.h). A source that does not exist
  // yet (an earlier mount of the container makes it) has none.
  std::vector<int>& source_fds = st.child_data.source_fds;
  source_fds.assign(plan.mounts.size(), -1);
  bool in_userns = plan.cloneFlags & CLONE_NEWUSER;
  for (const auto& j : plan.joins) in_userns |= j.type == CLONE_NEWUSER;
  if (in_userns)
    for (size_t i = 0; i < plan.mounts.size(); i++)
      if (plan.mounts[i].kind == MountPlan::kBind && !plan.mounts[i].idmap)
        source_fds[i] = keep(static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, plan.mounts[i].source.c_str(),
            1 /* OPEN_TREE_CLONE */ | O_CLOEXEC | ((plan.mounts[i].flags & MS_REC) ? 0x8000 /* AT_RECURSIVE */ : 0))));
  // Idmapped binds: their idmapped copies, made here (mount_setattr needs the runtime's privileges), one user
  // namespace per distinct mapping.
  std::vector<std::pair<std::string, int>> userns_fds;
  for (size_t i = 0; i < plan.mounts.size(); i++) {
    const MountPlan& m = plan.mounts[i];
    if (!m.idmap) continue;
    std::string key = m.idmapUid + "|" + m.idmapGid;
    int userns = -1;
    for (const auto& [k, fd] : userns_fds) if (k == key) userns = fd;
    if (userns < 0 && (userns = keep(make_userns(m.idmapUid, m.idmapGid, e))) >= 0) userns_fds.push_back({key, userns});
    if (userns < 0 || (source_fds[i] = keep(idmapped_tree(m.source.c_str(), m.flags & MS_REC, m.idmapRecursive, userns, e))) < 0) {
      close(child_sock);
      set_step(e, kStepMounts);
      return add_context(e, "/mounts/", i, m.destination.c_str());
    }
  }

  // Everything the child reads is built here, before clone, and kept in the state until the child has exec'd
  // (with the vfork clone it reads it where it is).
  ChildContext& ctx = st.child_data.ctx;
  ctx = {};
  ctx.plan = &plan;
  ctx.sock = child_sock;
  ctx.parent_sock = st.sock;
  ctx.init_fd = init_fd;
  ctx.fifo_fd = fifo_fd;
  ctx.ns_fds = ns_fds.data();
  ctx.root_fd = joined_root;
  ctx.tasks_fds = tasks_fds.data();
  ctx.source_fds = source_fds.data();
  ctx.sync_target = 3 + plan.preserveFds;
  ctx.fifo_target = 4 + plan.preserveFds;
  // The stub's argv is its sync socket's number and nothing else: what it is told comes in the control
  // message, which cmdline does not show.
  std::vector<std::string>& words = st.child_data.words;
  words = {"ocirun-init", std::to_string(ctx.sync_target)};
  std::vector<char*>& argv = st.child_data.argv;
  std::vector<char*>& envp = st.child_data.envp;
  for (auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  argv.push_back(nullptr);
  for (auto& v : plan.env) envp.push_back(const_cast<char*>(v.c_str()));
  envp.push_back(nullptr);
  ctx.init_argv = argv.data();
  ctx.envp = envp.data();
  std::vector<std::vector<char*>>& hook_argv = st.child_data.hook_argv;
  std::vector<std::vector<char*>>& hook_envp = st.child_data.hook_envp;
  for (const auto& h : plan.createContainerHooks) {
    hook_argv.emplace_back();
    for (const auto& a : h.args) hook_argv.back().push_back(const_cast<char*>(a.c_str()));
    hook_argv.back().push_back(nullptr);
    hook_envp.emplace_back();
    for (const auto& v : h.env) hook_envp.back().push_back(const_cast<char*>(v.c_str()));
    hook_envp.back().push_back(nullptr);
  }
  ctx.arm_alloc_guard = alloc_guard();
  ctx.hook_argv = hook_argv.data();
  ctx.hook_envp = hook_envp.data();

  // Joining a user or pid namespace, or joining anything while making a user namespace, needs the two-stage
  // path: join first, then unshare, then fork into the pid namespace.
  bool joins_user_or_pid = false;
  for (const auto& j : plan.joins) joins_user_or_pid |= (j.type == CLONE_NEWUSER || j.type == CLONE_NEWPID);
  // A deferred placement (systemd's scope) is waited for even without a cgroup2 directory (legacy v1).
  ctx.wait_cgroups = !plan.cgroupPath.empty() || plan.cgroupDeferred;
  ctx.two_stage = joins_user_or_pid || (!plan.joins.empty() && (plan.cloneFlags & CLONE_NEWUSER));
  // A time namespace is always made by unshare in the child (its offsets must be written before entry).
  unsigned long flags = ctx.two_stage ? 0 : (plan.cloneFlags & ~(unsigned long)CLONE_NEWTIME);

  // The kernel lets a process join a time namespace only while no other shares its memory (EUSERS): that one
  // clone is a copy.
  bool joins_time = false;
  for (const auto& j : plan.joins) joins_time |= j.type == CLONE_NEWTIME;
  pid_t child;
  if (vfork_clone_supported() && !joins_time && vfork_begin(st, flags, cgroup_fd, child_sock, e, &child)) {
    if (child < 0) return -1;
  } else {
    // No signal handler of Node's may run in the child before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    child = clone_child(flags, cgroup_fd, &st.placed);
    if (child == 0) child_main(ctx);
    int clone_err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    close(child_sock);
    if (child < 0) return fail(e, "clone3", "", clone_err);
  }
  st.child = child;
  st.init = ctx.two_stage ? 0 : child;
  st.wait_cgroups = ctx.wait_cgroups;
  return 0;
}

Spawned spawn_finish(SpawnState& st, SysError& e) {
  Spawned out;
  const ContainerPlan& plan = st.plan;
  set_step(e, kStepSpawn);
  bool ok = !st.wait_cgroups || place_in_cgroups(st.child, plan, st.placed, st.sock, e) == 0;
  if (!ok) set_step(e, kStepCgroups);
  // Read while the init goes on with its steps, off the caller's path.
  if (ok && st.init > 0) process_start_time(st.init, out.start_time, sizeof out.start_time);
  while (ok) {
    SyncMsg m;
    int fd = -1;
    ssize_t n = recv_with_fd(st.sock, &m, sizeof m, &fd);
    if (fd >= 0 && m.type != kSyncReady && m.type != kSyncConsole) close(fd);
    if (n < 0 && errno == EINTR) continue;
    if (n != sizeof m) {
      fail(e, "recv", "container init exited before it was ready", n < 0 ? errno : EPIPE);
      break;
    }
    if (m.type == kSyncUsermapRequest) {
      if (write_id_maps(st.child, plan, e) < 0) break;
      SyncMsg reply = {};
      reply.type = kSyncUsermapDone;
      if (send(st.sock, &reply, sizeof reply, MSG_NOSIGNAL) != sizeof reply) {
        fail(e, "send", "sync socket");
        break;
      }
    } else if (m.type == kSyncConsole) {
      if (fd < 0) {
        fail(e, "recvmsg", "pty master", EPROTO);
        break;
      }
      if (deliver_pty_master(plan.consoleSocket, fd, &out.console_fd, e) < 0) break;
    } else if (m.type == kSyncControl) {
      if (send_control(st.sock, plan.initControl, e) < 0) break;
    } else if (m.type == kSyncHookState) {
      if (send_hook_state(st.sock, plan.hookStateTemplate, st.init ? st.init : st.child, e) < 0) break;
    } else if (m.type == kSyncChildPid) {
      st.init = m.pid;
      process_start_time(st.init, out.start_time, sizeof out.start_time);
      while (waitpid(st.child, nullptr, 0) < 0 && errno == EINTR) {
      }
      st.child = 0;
    } else if (m.type == kSyncReady) {
      if (st.init <= 0) {  // cannot happen (the init waits for kSyncChildPid to be sent): never return pid 0
        if (fd >= 0) close(fd);
        fail(e, "recv", "container init was ready before its pid was known", EPROTO);
        break;
      }
      out.pid = st.init;
      if (!out.start_time[0]) process_start_time(st.init, out.start_time, sizeof out.start_time);
      out.notify_fd = fd;
      out.sync_fd = fcntl(st.sock, F_DUPFD_CLOEXEC, 0);  // outlives the state, which closes its own end
      if (out.sync_fd >= 0) {
        st.done = true;
        return out;
      }
      fail(e, "fcntl(F_DUPFD)", "sync socket");
      if (fd >= 0) close(fd);
      out.notify_fd = -1;
      break;
    } else if (m.type == kSyncError) {
      e = m.error;
      break;
    }
  }
  // Failure: the state's destructor takes down whatever was started. The container's mounts die with its
  // mount namespace.
  if (out.console_fd >= 0) close(out.console_fd);
  out.console_fd = -1;
  out.pid = -1;
  return out;
}

int commit_container(int sync_fd, SysError& e) {
  SyncMsg m = {};
  m.type = kSyncCommit;
  ssize_t n = send(sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  if (n == sizeof m)  // the init's answer: it no longer dies with us
    while ((n = recv(sync_fd, &m, sizeof m, 0)) < 0 && errno == EINTR) {
    }
  int err = errno;
  close(sync_fd);
  if (n != sizeof m || m.type != kSyncCommit)
    return fail(e, "commit", "container init exited before it was committed", n < 0 ? err : EPIPE);
  return 0;
}

}  // namespace ocirun
