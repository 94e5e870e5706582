#include "vfork_clone.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "off_thread.h"
#include "sync.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

namespace ocirun {

namespace {

// clone3 on a new stack: in the child the kernel has already switched the stack pointer, so the child must not
// return from here into its parent's frames; it calls fn(arg) on its own stack instead. The parent gets the pid
// or -errno (no errno: the child owns this thread's TLS until it is gone).
long clone3_on_stack(struct clone_args* args, void (*fn)(void*), void* arg) {
#if defined(__x86_64__)
  long ret;
  register void (*entry)(void*) asm("r12") = fn;
  register void* entry_arg asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov $60, %%eax\n\t"  // exit(127): fn does not return
      "mov $127, %%edi\n\t"
      "syscall\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(long(SYS_clone3)), "D"(args), "S"(sizeof *args), "r"(entry), "r"(entry_arg)
      : "rcx", "r11", "memory");
  return ret;
#else
  (void)args, (void)fn, (void)arg;
  return -ENOSYS;
#endif
}

void report_failure(VforkClone* req, int err) {
  SyncMsg m = {};
  m.type = kSyncError;
  fail(m.error, "clone3", "", err);
  send(req->report_fd, &m, sizeof m, MSG_NOSIGNAL);
}

void run_clone(VforkClone* req) {
  struct clone_args a = {};
  a.flags = req->flags | CLONE_VM | CLONE_VFORK | CLONE_PARENT_SETTID;
  a.parent_tid = uint64_t(reinterpret_cast<uintptr_t>(&req->pid));
  a.exit_signal = SIGCHLD;
  a.stack = uint64_t(reinterpret_cast<uintptr_t>(req->stack));
  a.stack_size = req->stack_size;
  long r = -1;
  if (req->cgroup_fd >= 0) {
    struct clone_args in = a;
    in.flags |= CLONE_INTO_CGROUP;
    in.cgroup = uint64_t(req->cgroup_fd);
    req->placed = true;
    r = clone3_on_stack(&in, req->fn, req->arg);
  }
  if (r < 0) {  // not into the cgroup (older than 5.7, or a cgroup that cannot take processes directly)
    req->placed = false;
    r = clone3_on_stack(&a, req->fn, req->arg);
  }
  if (r < 0) {
    req->err = int(-r);
    report_failure(req, req->err);
  }
  close(req->report_fd);
}

// The end of clones, for vfork_clone_wait. Never destroyed: a clone may still end as the process exits.
struct Finished {
  std::mutex mu;
  std::condition_variable cv;
};
Finished& finished = *new Finished;

}  // namespace

bool vfork_clone_supported() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

bool vfork_clone_start(VforkClone* req) {
  // A worker thread of the addon's (off_thread.h): they block every signal, so the child starts with all of them
  // blocked until it has reset Node's handlers, and they never end, so the child's death signal stays armed.
  return run_on_worker([req] {
    run_clone(req);
    {
      std::lock_guard<std::mutex> l(finished.mu);
      req->finished = true;
    }
    finished.cv.notify_all();
  });
}

void vfork_clone_wait(VforkClone* req) {
  std::unique_lock<std::mutex> l(finished.mu);
  finished.cv.wait(l, [req] { return req->finished; });
}

}  // namespace ocirun
