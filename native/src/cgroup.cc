#include "cgroup.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fmt.h"

namespace ocirun {

namespace {

long bpf(int cmd, union bpf_attr* attr) { return syscall(SYS_bpf, cmd, attr, sizeof *attr); }

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

}  // namespace

int attach_device_filter(const std::string& dir, const std::vector<unsigned char>& insns, SysError& e) {
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
  int cg = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    close(prog);
    return fail(e, "open", dir.c_str());
  }
  union bpf_attr attach;
  memset(&attach, 0, sizeof attach);
  attach.target_fd = uint32_t(cg);
  attach.attach_bpf_fd = uint32_t(prog);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = bpf(BPF_PROG_ATTACH, &attach) < 0 ? fail(e, "bpf(BPF_PROG_ATTACH)", dir.c_str()) : 0;
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
