// The steps a failure can name (SystemError.step): the same list as native/src/steps.h, in its order, for
// both sides of the language boundary. test/contract.test.mjs checks that the two agree.
export const STEPS = [
  'cgroups', 'systemd', 'spawn', 'signals', 'protect', 'join-namespaces', 'unshare', 'user-mapping',
  'pid-namespace', 'cgroup-namespace', 'time-namespace', 'hostname', 'session-keyring', 'prepare-rootfs',
  'mounts', 'devices', 'symlinks', 'createContainer-hooks', 'pivot-root', 'finish-rootfs', 'sysctl',
  'readonly-paths', 'masked-paths', 'console', 'console-socket', 'cwd', 'exec-init', 'init-args',
  'init-control', 'exec-lookup', 'cpu-affinity', 'memory-policy', 'io-priority', 'scheduler', 'apparmor',
  'selinux', 'rlimits', 'personality', 'close-fds', 'no-new-privileges', 'user', 'capabilities', 'seccomp',
  'startContainer-hook', 'exec', 'net-devices', 'seccomp-notify', 'oom-score-adj', 'pid-file', 'signal',
] as const;

export type Step = (typeof STEPS)[number];
