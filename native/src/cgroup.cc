#include "cgroup.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

#include "fmt.h"

namespace ocirun {

namespace {

long bpf(int cmd, union bpf_attr* attr) { return syscall(SYS_bpf, cmd, attr, sizeof *attr); }

// BPF_PROG_ATTACH or BPF_PROG_DETACH of the device program `prog` on the cgroup `cg`.
long device_attach_op(int cmd, int cg, int prog, uint32_t flags) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = uint32_t(cg);
  attr.attach_bpf_fd = uint32_t(prog);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  return bpf(cmd, &attr);
}

// The verifier gives up with EAGAIN when a signal is pending for the calling thread (kernel/bpf/verifier.c), and
// the caller is Node's main thread: a profiler's SIGPROF, or the SIGCHLD of a daemon's children, made create
// fail. Signals stay blocked for the load (they are delivered once it returns), and EAGAIN is tried again, as
// libbpf does. No log is asked for: the kernel would format one line per instruction for every container.
int load_device_filter(union bpf_attr* load) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int prog = -1;
  for (int attempt = 0; attempt < 5; attempt++)
    if ((prog = int(bpf(BPF_PROG_LOAD, load))) >= 0 || errno != EAGAIN) break;
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return prog;
}

// A verified program, loaded once: a long-lived process (the library, a shim) attaches the same program to the
// cgroup of every container with the same device rules, instead of having the kernel verify it again each time.
// Kept while the process lives; a few rule sets at most, the oldest closed when more come.
struct LoadedFilter {
  std::vector<unsigned char> insns;
  int fd = -1;
};
std::mutex& filters_mutex = *new std::mutex;  // never destroyed: a worker thread may attach during exit
std::vector<LoadedFilter>& loaded_filters = *new std::vector<LoadedFilter>;
constexpr size_t kKeptFilters = 8;

// A duplicate of the program's fd (the caller closes it), loaded now if it is not kept yet.
int device_filter(const std::string& dir, const std::vector<unsigned char>& insns, SysError& e) {
  std::lock_guard<std::mutex> hold(filters_mutex);
  for (const LoadedFilter& f : loaded_filters)
    if (f.insns == insns) {
      int fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 0);
      return fd < 0 ? fail(e, "fcntl(F_DUPFD_CLOEXEC)", "device filter") : fd;
    }
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = uint64_t(uintptr_t(insns.data()));
  load.insn_cnt = uint32_t(insns.size() / sizeof(struct bpf_insn));
  load.license = uint64_t(uintptr_t("Apache"));
  int prog = load_device_filter(&load);
  if (prog < 0) {
    // Refused: loaded once more with the verifier's log, whose words say why (a log too small for them all
    // fails with ENOSPC and keeps what fitted; the first load's errno is the one reported).
    int err = errno;
    char log[4096];
    log[0] = 0;
    load.log_buf = uint64_t(uintptr_t(log));
    load.log_size = sizeof log;
    load.log_level = 1;
    if ((prog = load_device_filter(&load)) < 0) {
      fail(e, "bpf(BPF_PROG_LOAD)", dir.c_str(), err);
      if (log[0]) copy_str(e.detail, sizeof e.detail, log);
      return -1;
    }
  }
  int fd = fcntl(prog, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    close(prog);
    return fail(e, "fcntl(F_DUPFD_CLOEXEC)", "device filter");
  }
  if (loaded_filters.size() == kKeptFilters) {
    close(loaded_filters.front().fd);
    loaded_filters.erase(loaded_filters.begin());
  }
  loaded_filters.push_back({insns, prog});
  return fd;
}

// The kernel's id of the program `prog`, or 0.
uint32_t prog_id(int prog) {
  struct bpf_prog_info info;
  memset(&info, 0, sizeof info);
  union bpf_attr get;
  memset(&get, 0, sizeof get);
  get.info.bpf_fd = uint32_t(prog);
  get.info.info_len = sizeof info;
  get.info.info = uint64_t(uintptr_t(&info));
  return bpf(BPF_OBJ_GET_INFO_BY_FD, &get) < 0 ? 0 : info.id;
}

// The device programs attached to a cgroup itself (at most the kernel's 64), and the id of ours.
struct DevicePrograms {
  uint32_t ids[64];
  int count = -1;     // -1: the query failed
  uint32_t ours = 0;  // 0: our program's id is unknown

  bool has_ours() const {
    for (int i = 0; ours && i < count; i++)
      if (ids[i] == ours) return true;
    return false;
  }
};

DevicePrograms device_programs(int cg, int prog) {
  DevicePrograms p;
  p.ours = prog_id(prog);
  union bpf_attr query;
  memset(&query, 0, sizeof query);
  query.query.target_fd = uint32_t(cg);
  query.query.attach_type = BPF_CGROUP_DEVICE;
  query.query.prog_ids = uint64_t(uintptr_t(p.ids));
  query.query.prog_cnt = 64;
  if (bpf(BPF_PROG_QUERY, &query) == 0) p.count = int(query.query.prog_cnt);
  return p;
}

// Detaches from `cg` every device program but ours: those earlier containers left in a cgroup that outlived
// them, whose rules would otherwise still apply (a device is allowed only if every program allows it).
int detach_others(int cg, const DevicePrograms& progs, const std::string& dir, SysError& e) {
  if (!progs.ours || progs.count < 0) return fail(e, "bpf(BPF_PROG_QUERY)", dir.c_str());
  for (int i = 0; i < progs.count; i++) {
    if (progs.ids[i] == progs.ours) continue;
    union bpf_attr by_id;
    memset(&by_id, 0, sizeof by_id);
    by_id.prog_id = progs.ids[i];
    int old = int(bpf(BPF_PROG_GET_FD_BY_ID, &by_id));
    if (old < 0) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return fail(e, "bpf(BPF_PROG_GET_FD_BY_ID)", dir.c_str());
    }
    int rc = int(device_attach_op(BPF_PROG_DETACH, cg, old, 0));
    int err = errno;
    close(old);
    if (rc < 0 && err != ENOENT) return fail(e, "bpf(BPF_PROG_DETACH)", dir.c_str(), err);
  }
  return 0;
}

}  // namespace

int attach_device_filter(const std::string& dir, const std::vector<unsigned char>& insns, bool replace, SysError& e) {
  int prog = device_filter(dir, insns, e);
  if (prog < 0) return -1;
  int cg = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    close(prog);
    return fail(e, "open", dir.c_str());
  }
  // EINVAL may mean that this very program is attached there already (a cgroup that outlived an earlier
  // container with the same rules, made by this process): the filter wanted is in effect then. The cgroup's
  // programs, asked for that, serve `replace` too.
  int rc = 0;
  DevicePrograms progs;
  bool known = false;
  if (device_attach_op(BPF_PROG_ATTACH, cg, prog, BPF_F_ALLOW_MULTI) < 0) {
    int err = errno;
    if (err == EINVAL) {
      progs = device_programs(cg, prog);
      known = true;
    }
    if (err != EINVAL || !progs.has_ours()) rc = fail(e, "bpf(BPF_PROG_ATTACH)", dir.c_str(), err);
  }
  if (rc == 0 && replace) rc = detach_others(cg, known ? progs : device_programs(cg, prog), dir, e);
  close(cg);
  close(prog);  // the attachment keeps the program alive for as long as the cgroup has it
  return rc;
}

int join_cgroups(pid_t pid, const std::vector<std::string>& procs_files, SysError& e) {
  char buf[16];
  size_t n = append_uint(buf, 0, sizeof buf, unsigned(pid));
  for (const auto& f : procs_files) {
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail(e, "open", f.c_str());
    ssize_t w = write(fd, buf, n);
    int err = errno;
    close(fd);
    if (w != ssize_t(n)) return fail(e, "write", f.c_str(), w < 0 ? err : EIO);
  }
  return 0;
}

}  // namespace ocirun
