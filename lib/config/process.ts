// process.* (and linux.personality) -> the control message of the ocirun-init stub (native/src/control.h):
// user, groups, umask, capabilities, rlimits, no_new_privs, scheduling, LSM labels, preserved fds, the args.
import { ConfigError } from '../errors';
import type { Process, Spec } from './spec';
import { Ctl, ControlMessage } from './control';
import type { HostFacts } from './host';

export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const RLIMITS = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC',
  'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS', 'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
];

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/**
 * The five capability sets as masks. As runc (>= 1.2) does, a name ocirun does not know, or one the running
 * kernel does not, is left out with a warning, so that a config written for a newer kernel still runs; an
 * ambient capability that is not also inheritable (and permitted) cannot be raised, and is said so.
 */
function capabilityMasks(caps: Process['capabilities'], warn: (msg: string) => void, last: number): bigint[] {
  const masks = SETS.map((set) => {
    let mask = 0n;
    for (const name of caps?.[set] ?? []) {
      const bit = CAPABILITIES.indexOf(name);
      if (bit < 0) warn(`ignoring unknown capability ${name} in the ${set} set`);
      else if (bit > last) warn(`${name} is not known to the running kernel; dropped from the ${set} set`);
      else mask |= 1n << BigInt(bit);
    }
    return mask;
  });
  const [, , permitted, inheritable, ambient] = masks;
  for (let bit = 0; bit < CAPABILITIES.length; bit++)
    if ((ambient >> BigInt(bit)) & 1n && !((permitted & inheritable) >> BigInt(bit) & 1n))
      warn(`can't raise ambient capability ${CAPABILITIES[bit]}: it is not in the permitted and inheritable sets`);
  return masks;
}

/**
 * The process environment as runc builds it: a variable given twice keeps its last value (at the place of
 * its last mention); a value may hold anything, newlines included.
 */
export function processEnv(env: string[]): string[] {
  const last = new Map<string, number>();
  env.forEach((kv, i) => last.set(kv.slice(0, kv.indexOf('=')), i));
  return env.filter((kv, i) => last.get(kv.slice(0, kv.indexOf('='))) === i);
}

const IOPRIO_CLASS = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x1, SCHED_FLAG_RECLAIM: 0x2, SCHED_FLAG_DL_OVERRUN: 0x4, SCHED_FLAG_KEEP_POLICY: 0x8,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const PERSONALITY = { LINUX: 0x0000, LINUX32: 0x0008 } as const;

/** Labels need the LSM on the host; without it they cannot be honoured, so they are refused. */
function writeLabels(spec: Spec, m: ControlMessage, host: HostFacts): void {
  const p = spec.process;
  if (p.apparmorProfile) {
    if (!host.apparmor)
      throw new ConfigError('/process/apparmorProfile', 'AppArmor is not enabled on this host');
    m.str(Ctl.Apparmor, p.apparmorProfile, '/process/apparmorProfile');
  }
  if (p.selinuxLabel || spec.linux?.mountLabel) {
    if (!host.selinux)
      throw new ConfigError(p.selinuxLabel ? '/process/selinuxLabel' : '/linux/mountLabel', 'SELinux is not enabled on this host');
    if (p.selinuxLabel) m.str(Ctl.Selinux, p.selinuxLabel, '/process/selinuxLabel');
  }
}

function writeScheduler(s: NonNullable<Process['scheduler']>, m: ControlMessage): void {
  let flags = 0;
  for (const f of s.flags ?? []) flags |= SCHED_FLAG[f];
  const deadline = s.policy === 'SCHED_DEADLINE';
  if (deadline && !(s.runtime && s.deadline && s.period))
    throw new ConfigError('/process/scheduler', 'SCHED_DEADLINE needs runtime, deadline and period');
  m.u64(Ctl.Sched, SCHED_POLICY[s.policy], s.nice ?? 0, s.priority ?? 0, flags, s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0);
}

/** The compiled filter for the stub. The compiler and its syscall tables load only when a config has one. */
function writeSeccomp(profile: NonNullable<NonNullable<Spec['linux']>['seccomp']>, m: ControlMessage): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { compileSeccomp } = require('../seccomp/compile') as typeof import('../seccomp/compile');
  const filter = compileSeccomp(profile);
  if (filter.notify && !profile.listenerPath)
    throw new ConfigError('/linux/seccomp/listenerPath', 'SCMP_ACT_NOTIFY needs a listenerPath');
  m.bytes(Ctl.Seccomp, filter.program).u32(Ctl.SeccompFlags, filter.flags);
}

export const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
export const MPOL_FLAGS: Record<string, number> = {
  MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15,
};

/**
 * linux.memoryPolicy -> set_mempolicy(2)'s mode, flags and node mask, checked against the nodes the host has
 * (`hostNodes`, from /sys/devices/system/node/online) so that a missing node is an error naming the field.
 */
const MAX_NUMNODES = 1024;

function writeMemoryPolicy(mp: NonNullable<NonNullable<Spec['linux']>['memoryPolicy']>, hostNodes: Set<number>, m: ControlMessage): void {
  const where = '/linux/memoryPolicy';
  const mode = MPOL_MODES[mp.mode];
  if (mode === undefined) throw new ConfigError(`${where}/mode`, `unknown memory policy mode ${mp.mode}`);
  let flags = 0;
  (mp.flags ?? []).forEach((f, i) => {
    if (MPOL_FLAGS[f] === undefined) throw new ConfigError(`${where}/flags/${i}`, `unknown memory policy flag ${f}`);
    flags |= MPOL_FLAGS[f];
  });
  const nodes = new Set<number>();
  for (const part of (mp.nodes ?? '').split(',').filter(Boolean)) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!r) throw new ConfigError(`${where}/nodes`, `not a node list: ${mp.nodes}`);
    const [from, to] = [Number(r[1]), Number(r[2] ?? r[1])];
    // The kernel has at most 1024 nodes (MAX_NUMNODES): a larger one is no node, and never a mask to build.
    if (to >= MAX_NUMNODES) throw new ConfigError(`${where}/nodes`, `node ${to} is out of range (the kernel has at most ${MAX_NUMNODES})`);
    if (from > to) throw new ConfigError(`${where}/nodes`, `not a node list: ${part} runs backwards`);
    for (let n = from; n <= to; n++) nodes.add(n);
  }
  const relative = (flags & MPOL_FLAGS.MPOL_F_RELATIVE_NODES) !== 0;
  for (const n of nodes)
    if (!relative && !hostNodes.has(n)) throw new ConfigError(`${where}/nodes`, `node ${n} does not exist on this host (online: ${[...hostNodes].join(',')})`);
  const needsNodes = mode === MPOL_MODES.MPOL_BIND || mode === MPOL_MODES.MPOL_INTERLEAVE || mode === MPOL_MODES.MPOL_WEIGHTED_INTERLEAVE || mode === MPOL_MODES.MPOL_PREFERRED_MANY;
  if (needsNodes && !nodes.size) throw new ConfigError(`${where}/nodes`, `${mp.mode} needs nodes`);
  if ((mode === MPOL_MODES.MPOL_DEFAULT || mode === MPOL_MODES.MPOL_LOCAL) && nodes.size)
    throw new ConfigError(`${where}/nodes`, `${mp.mode} takes no nodes`);
  const words = Math.max(1, Math.ceil((Math.max(-1, ...nodes) + 1) / 64));
  const mask = Array.from({ length: words }, (_, w) => [...nodes].filter((n) => n >> 6 === w).reduce((acc, n) => acc | (1n << BigInt(n & 63)), 0n));
  const payload = Buffer.alloc(4 + 8 * mask.length);
  payload.writeUInt32LE(mode | flags, 0);
  mask.forEach((w, i) => payload.writeBigUInt64LE(w, 4 + 8 * i));
  m.bytes(Ctl.MemoryPolicy, payload);
}

/** The stub's control message for the container's process (hooks are added by the caller, see hooks.ts). */
export function initControl(spec: Spec, preserveFds: number, host: HostFacts, warn: (msg: string) => void = () => {}): ControlMessage {
  const p = spec.process;
  const user = p.user ?? {};
  const m = new ControlMessage();
  p.args.forEach((a, i) => m.str(Ctl.Arg, a, `/process/args/${i}`));
  m.u32(Ctl.Uid, user.uid ?? 0).u32(Ctl.Gid, user.gid ?? 0);
  for (const g of user.additionalGids ?? []) m.u32(Ctl.Group, g);
  m.u64(Ctl.Caps, ...capabilityMasks(p.capabilities, warn, host.lastCap));
  if (p.noNewPrivileges) m.flag(Ctl.NoNewPrivs);
  m.u32(Ctl.PreserveFds, preserveFds);
  writeLabels(spec, m, host);
  if (user.umask !== undefined) m.u32(Ctl.Umask, user.umask);
  if (p.ioPriority) m.u32(Ctl.Ioprio, IOPRIO_CLASS[p.ioPriority.class], p.ioPriority.priority ?? 0);
  if (p.scheduler) writeScheduler(p.scheduler, m);
  if (p.execCPUAffinity?.initial) m.str(Ctl.CpusInitial, p.execCPUAffinity.initial, '/process/execCPUAffinity/initial');
  if (p.execCPUAffinity?.final) m.str(Ctl.CpusFinal, p.execCPUAffinity.final, '/process/execCPUAffinity/final');
  const pers = spec.linux?.personality;
  if (pers) {
    if (pers.flags?.length) throw new ConfigError('/linux/personality/flags', 'personality flags are not supported');
    m.u32(Ctl.Personality, PERSONALITY[pers.domain]);
  }
  const seccomp = spec.linux?.seccomp;
  if (seccomp) writeSeccomp(seccomp, m);
  if (spec.linux?.memoryPolicy) writeMemoryPolicy(spec.linux.memoryPolicy, host.numaNodes, m);
  const seen = new Set<string>();
  (p.rlimits ?? []).forEach((r, i) => {
    const n = RLIMITS.indexOf(r.type);
    if (n < 0) throw new ConfigError(`/process/rlimits/${i}/type`, `unknown rlimit ${r.type}`);
    if (seen.has(r.type)) throw new ConfigError(`/process/rlimits/${i}/type`, `${r.type} is given twice`);
    if (r.soft > r.hard) throw new ConfigError(`/process/rlimits/${i}`, 'soft limit is above the hard limit');
    seen.add(r.type);
    m.rlimit(n, r.soft, r.hard);
  });
  return m;
}
