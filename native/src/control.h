// The init stub's control message: everything the runtime tells ocirun-init about the process it is to
// become (user, capabilities, rlimits, seccomp, the args, the startContainer hooks and their state).
//
// It travels over the sync socket, not in argv: the stub's argv is only "ocirun-init <sync fd>", so nothing
// of it is readable by other users in /proc/PID/cmdline, and its size is not bounded by ARG_MAX (a state with
// a large annotation fits). The stub asks with kSyncControl; the runtime answers kSyncControl with a sealed
// memfd attached that holds the message (sync.h).
//
// The message is a sequence of records: a header { uint32 tag; uint32 length } then `length` bytes, all
// little-endian. Numbers are fixed-size; a string's bytes end with its one NUL. The stub parses strictly: an
// unknown tag, a wrong length, a string with a NUL inside or none at its end, or a second record of a
// single-valued tag fails the container with the record's tag. lib/config/control.ts writes it; test
// contract.test.mjs checks that its tags are these.
#pragma once

#include <stdint.h>

namespace ocirun {

enum ControlTag : uint32_t {
  kCtlArg = 1,            // string, repeated: the process args, in order (at least one)
  kCtlUid = 2,            // u32
  kCtlGid = 3,            // u32
  kCtlGroup = 4,          // u32, repeated: the additional gids
  kCtlCaps = 5,           // 5 x u64: bounding, effective, permitted, inheritable, ambient
  kCtlNoNewPrivs = 6,     // empty
  kCtlUmask = 7,          // u32
  kCtlRlimit = 8,         // u32 resource, u64 soft, u64 hard; repeated
  kCtlIoprio = 9,         // u32 class, u32 level
  kCtlSched = 10,         // 7 x u64: policy, nice, priority, flags, runtime, deadline, period
  kCtlCpusInitial = 11,   // string: a cpu list
  kCtlCpusFinal = 12,     // string
  kCtlPersonality = 13,   // u32 domain
  kCtlApparmor = 14,      // string: the profile
  kCtlSelinux = 15,       // string: the label
  kCtlSeccomp = 16,       // bytes: the BPF program, a multiple of 8
  kCtlSeccompFlags = 17,  // u32
  kCtlHook = 18,          // u32 timeout (seconds, 0: none), then the path as a string: a startContainer hook
  kCtlHookArg = 19,       // string, repeated: argv of the last kCtlHook (args[0] included)
  kCtlHookEnv = 20,       // string, repeated: its environment
  kCtlHookState = 21,     // string: the state the hooks read; the stub writes its pid over "__PID__"
  kCtlPreserveFds = 22,   // u32
  kCtlFifo = 23,          // empty: exec.fifo is open at the sync socket's number + 1 (create, not exec)
  kCtlMemoryPolicy = 24,  // u32 mode|flags, then the node mask as u64 words (set_mempolicy's)
  kCtlLast = 24,
};

}  // namespace ocirun
