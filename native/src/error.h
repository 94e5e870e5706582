// The one error contract of the native core.
//
// Every failure carries the init step it happened in, the syscall that failed, the path it acted on (may be
// empty) and errno. It is a plain fixed-size struct so that a cloned child, which may not allocate, can fill it
// on its stack and send it to the parent as one message; the parent turns it into a JS error in binding.cc.
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "steps.h"

namespace ocirun {

constexpr size_t kMaxErrPath = 1024;
constexpr size_t kMaxErrSyscall = 48;
constexpr size_t kMaxErrStep = 32;

struct SysError {
  int32_t err = 0;                  // errno value; 0 means "no error"
  char step[kMaxErrStep] = {};      // the step's name (steps.h), e.g. "mounts", "pivot-root"
  char syscall[kMaxErrSyscall] = {};
  char path[kMaxErrPath] = {};
  // Detail for failures that are not a syscall (e.g. "executable file not found in $PATH").
  char detail[256] = {};
  // Which of several things the step was doing, added on the way up ("mount #3 (/proc)").
  char context[kMaxErrPath / 2] = {};

  bool failed() const { return err != 0 || detail[0] != 0; }
};

// Bounded copy that never allocates: safe in a cloned child.
inline void copy_str(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  if (src)
    for (; src[i] && i + 1 < cap; i++) dst[i] = src[i];
  dst[i] = 0;
}

// Record a failed syscall. Returns -1 so call sites can write `return fail(e, ...)`.
inline int fail(SysError& e, const char* syscall, const char* path, int err = errno) {
  e.err = err ? err : EIO;
  copy_str(e.syscall, sizeof e.syscall, syscall);
  copy_str(e.path, sizeof e.path, path);
  return -1;
}

inline void set_step(SysError& e, Step step) { copy_str(e.step, sizeof e.step, step_name(step)); }

// "<what><index> (<name>)" as the error's context ("/mounts/3 (/proc)", "device #2 (/dev/fuse)"),
// allocation-free. Returns -1 for `return add_context(...)`.
inline int add_context(SysError& e, const char* what, unsigned long index, const char* name) {
  const size_t cap = sizeof e.context;
  size_t n = append_str(e.context, 0, cap, what);
  n = append_uint(e.context, n, cap, index);
  if (name && *name) {
    n = append_str(e.context, n, cap, " (");
    n = append_str(e.context, n, cap, name);
    append_str(e.context, n, cap, ")");
  }
  return -1;
}

}  // namespace ocirun
