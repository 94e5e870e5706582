// Small operations the runtime performs on the host side outside of spawn: waiting for a child, locking a
// state directory. Plain syscalls with the error contract; binding.cc only converts.
#pragma once

#include <sys/types.h>

#include "error.h"

namespace ocirun {


// flock(LOCK_EX), retried on EINTR.
int lock_exclusive(int fd, SysError& e);

// The start time of a process (clock ticks since boot, the 22nd field of /proc/PID/stat), as text in `out`; -1
// when there is no such process. Plain syscalls, no allocation.
int process_start_time(pid_t pid, char* out, size_t size);

// A pidfd for `pid`, if it is still the process that started at `start_time` (clock ticks since boot, the
// 22nd field of /proc/PID/stat; "" takes any): *fd is -1 when it is gone, or when the pid is another's now.
int open_pidfd(pid_t pid, const char* start_time, int* fd, SysError& e);

// pidfd_send_signal: *delivered is false when the process has exited (ESRCH). Signal 0 only checks that.
int pidfd_signal(int fd, int sig, bool* delivered, SysError& e);

// flock(LOCK_EX|LOCK_NB): *locked says whether the lock was free (and is now ours).
int try_lock_exclusive(int fd, bool* locked, SysError& e);

// flock(LOCK_UN): the fd stays open, on the same file, for a later lock.
int unlock(int fd, SysError& e);

// mount(2) on the host, for a container's rootfs that its manager (containerd) hands over as mounts. A bind
// is made first and then remounted with `flags`, as the kernel wants for a bind's flags.
int mount_fs(const char* type, const char* source, const char* target, unsigned long flags, const char* data, SysError& e);

// umount2(target, MNT_DETACH); EINVAL (nothing mounted there) and ENOENT are not errors.
int unmount_detach(const char* target, SysError& e);

// pipe2(O_CLOEXEC): fds[0] reads, fds[1] writes; both blocking.
int make_pipe(int fds[2], SysError& e);

// A fifo opened without waiting for its other side (O_NONBLOCK), then made blocking again, so that a process
// given it reads or writes as on a pipe. `write`: opened O_RDWR (a writer that is its own reader never gets
// ENXIO or, later, EPIPE); else O_RDONLY. Close-on-exec.
int open_fifo(const char* path, bool write, int* fd, SysError& e);

// A second fd for the file `fd` is open on (F_DUPFD_CLOEXEC): the same open file, flags and offset shared.
int dup_fd(int fd, int* out, SysError& e);

// O_NONBLOCK on the open file `fd` refers to (and so on every fd of it).
int set_nonblocking(int fd, SysError& e);


}  // namespace ocirun
