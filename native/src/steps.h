// Every step a failure can name, on both sides of the language boundary: the cloned child's init sequence,
// the parent's spawn, the init stub's, and the runtime's own (TypeScript). One list, in the order a create
// meets them; lib/steps.ts holds the same names, and test/contract.test.mjs checks that the two agree. A
// SysError carries the step's name (a fixed-size string: it crosses the sync socket as bytes).
#pragma once

namespace ocirun {

#define OCIRUN_STEPS(X)                                                                                          \
  /* the runtime, before and around the clone */                                                                 \
  X(kStepCgroups, "cgroups") X(kStepSystemd, "systemd") X(kStepSpawn, "spawn")                                    \
  /* the cloned child (child.cc) */                                                                               \
  X(kStepSignals, "signals") X(kStepProtect, "protect") X(kStepJoinNamespaces, "join-namespaces")                 \
  X(kStepUnshare, "unshare") X(kStepUserMapping, "user-mapping") X(kStepPidNamespace, "pid-namespace")            \
  X(kStepCgroupNamespace, "cgroup-namespace") X(kStepTimeNamespace, "time-namespace") X(kStepHostname, "hostname") \
  X(kStepSessionKeyring, "session-keyring") X(kStepPrepareRootfs, "prepare-rootfs") X(kStepMounts, "mounts")      \
  X(kStepDevices, "devices") X(kStepSymlinks, "symlinks") X(kStepCreateContainerHooks, "createContainer-hooks")   \
  X(kStepPivotRoot, "pivot-root") X(kStepFinishRootfs, "finish-rootfs") X(kStepSysctl, "sysctl")                  \
  X(kStepReadonlyPaths, "readonly-paths") X(kStepMaskedPaths, "masked-paths") X(kStepConsole, "console")          \
  X(kStepConsoleSocket, "console-socket") X(kStepCwd, "cwd") X(kStepExecInit, "exec-init")                        \
  /* the init stub (init/) */                                                                                     \
  X(kStepInitArgs, "init-args") X(kStepInitControl, "init-control") X(kStepExecLookup, "exec-lookup")             \
  X(kStepCpuAffinity, "cpu-affinity") X(kStepMemoryPolicy, "memory-policy") X(kStepIoPriority, "io-priority")     \
  X(kStepScheduler, "scheduler") X(kStepApparmor, "apparmor") X(kStepSelinux, "selinux") X(kStepRlimits, "rlimits") \
  X(kStepPersonality, "personality") X(kStepCloseFds, "close-fds") X(kStepNoNewPrivileges, "no-new-privileges")   \
  X(kStepUser, "user") X(kStepCapabilities, "capabilities") X(kStepSeccomp, "seccomp")                            \
  X(kStepStartContainerHook, "startContainer-hook") X(kStepExec, "exec")                                          \
  /* the runtime, after the spawn (TypeScript) */                                                                 \
  X(kStepNetDevices, "net-devices") X(kStepSeccompNotify, "seccomp-notify") X(kStepOomScoreAdj, "oom-score-adj") X(kStepPidFile, "pid-file")        \
  X(kStepSignal, "signal")

enum Step : unsigned char {
#define OCIRUN_STEP_ENUM(id, name) id,
  OCIRUN_STEPS(OCIRUN_STEP_ENUM)
#undef OCIRUN_STEP_ENUM
};

inline const char* step_name(Step s) {
  static constexpr const char* kNames[] = {
#define OCIRUN_STEP_NAME(id, name) name,
      OCIRUN_STEPS(OCIRUN_STEP_NAME)
#undef OCIRUN_STEP_NAME
  };
  return kNames[s];
}

}  // namespace ocirun
