// process.* (and linux.personality) -> the control words of the ocirun-init stub (native/src/init/main.cc):
// user, groups, umask, capabilities, rlimits, no_new_privs, scheduling, LSM labels, preserved fds, then "--"
// and the args.
import * as fs from 'node:fs';
import { ConfigError } from '../errors';
import type { Process, Spec } from './spec';

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

let lastCap: number | undefined;
function kernelLastCap(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    } catch {
      lastCap = CAPABILITIES.length - 1;
    }
  }
  return lastCap;
}

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/** The five capability sets as hex masks; capabilities the running kernel does not know are dropped. */
function capabilityMasks(caps: Process['capabilities'], warn: (msg: string) => void): string {
  const last = kernelLastCap();
  return SETS.map((set) => {
    let mask = 0n;
    (caps?.[set] ?? []).forEach((name, i) => {
      const bit = CAPABILITIES.indexOf(name);
      if (bit < 0) throw new ConfigError(`/process/capabilities/${set}/${i}`, `unknown capability ${name}`);
      if (bit <= last) mask |= 1n << BigInt(bit);
      else warn(`${name} is not known to the running kernel; dropped from the ${set} set`);
    });
    return mask.toString(16);
  }).join(',');
}

/** uint64 from JSON: values past 2^53 (RLIM_INFINITY) arrive rounded; strtoull saturates them. */
const u64 = (n: number) => BigInt(Math.trunc(n)).toString();

const IOPRIO_CLASS = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x1, SCHED_FLAG_RECLAIM: 0x2, SCHED_FLAG_DL_OVERRUN: 0x4, SCHED_FLAG_KEEP_POLICY: 0x8,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const PERSONALITY = { LINUX: 0x0000, LINUX32: 0x0008 } as const;

/** Whether the host has an LSM enabled (its parameters file says Y, or its filesystem is there). */
export const hostHas = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim() === 'Y' || fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
};

/** Labels need the LSM on the host; without it they cannot be honoured, so they are refused. */
function lsmWords(spec: Spec): string[] {
  const words: string[] = [];
  const p = spec.process;
  if (p.apparmorProfile) {
    if (!hostHas('/sys/module/apparmor/parameters/enabled'))
      throw new ConfigError('/process/apparmorProfile', 'AppArmor is not enabled on this host');
    words.push(`apparmor=${p.apparmorProfile}`);
  }
  if (p.selinuxLabel || spec.linux?.mountLabel) {
    if (!hostHas('/sys/fs/selinux'))
      throw new ConfigError(p.selinuxLabel ? '/process/selinuxLabel' : '/linux/mountLabel', 'SELinux is not enabled on this host');
    if (p.selinuxLabel) words.push(`selinux=${p.selinuxLabel}`);
  }
  return words;
}

function schedulerWord(s: NonNullable<Process['scheduler']>): string {
  let flags = 0;
  for (const f of s.flags ?? []) flags |= SCHED_FLAG[f];
  const deadline = s.policy === 'SCHED_DEADLINE';
  if (deadline && !(s.runtime && s.deadline && s.period))
    throw new ConfigError('/process/scheduler', 'SCHED_DEADLINE needs runtime, deadline and period');
  const fields = [SCHED_POLICY[s.policy], s.nice ?? 0, s.priority ?? 0, flags, s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0];
  return `sched=${fields.map((n) => u64(n)).join(':')}`;
}

/** The compiled filter for the stub. The compiler and its syscall tables load only when a config has one. */
function seccompWords(profile: NonNullable<NonNullable<Spec['linux']>['seccomp']>): string[] {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { compileSeccomp } = require('../seccomp/compile') as typeof import('../seccomp/compile');
  const filter = compileSeccomp(profile);
  if (filter.notify && !profile.listenerPath)
    throw new ConfigError('/linux/seccomp/listenerPath', 'SCMP_ACT_NOTIFY needs a listenerPath');
  return [`seccomp=${filter.program.toString('hex')}`, `seccomp.flags=${filter.flags}`];
}

export function initArgv(spec: Spec, preserveFds: number, warn: (msg: string) => void = () => {}): string[] {
  const p = spec.process;
  const user = p.user ?? {};
  const words = [
    `uid=${user.uid ?? 0}`,
    `gid=${user.gid ?? 0}`,
    `groups=${(user.additionalGids ?? []).join(',')}`,
    `caps=${capabilityMasks(p.capabilities, warn)}`,
    `nnp=${p.noNewPrivileges ? 1 : 0}`,
    `preserve=${preserveFds}`,
    ...lsmWords(spec),
  ];
  if (user.umask !== undefined) words.push(`umask=${user.umask.toString(8)}`);
  if (p.ioPriority) words.push(`ioprio=${IOPRIO_CLASS[p.ioPriority.class]}:${p.ioPriority.priority ?? 0}`);
  if (p.scheduler) words.push(schedulerWord(p.scheduler));
  if (p.execCPUAffinity?.initial) words.push(`cpus.initial=${p.execCPUAffinity.initial}`);
  if (p.execCPUAffinity?.final) words.push(`cpus.final=${p.execCPUAffinity.final}`);
  const pers = spec.linux?.personality;
  if (pers) {
    if (pers.flags?.length) throw new ConfigError('/linux/personality/flags', 'personality flags are not supported');
    words.push(`personality=${PERSONALITY[pers.domain]}`);
  }
  const seccomp = spec.linux?.seccomp;
  if (seccomp) words.push(...seccompWords(seccomp));
  const seen = new Set<string>();
  (p.rlimits ?? []).forEach((r, i) => {
    const n = RLIMITS.indexOf(r.type);
    if (n < 0) throw new ConfigError(`/process/rlimits/${i}/type`, `unknown rlimit ${r.type}`);
    if (seen.has(r.type)) throw new ConfigError(`/process/rlimits/${i}/type`, `${r.type} is given twice`);
    if (r.soft > r.hard) throw new ConfigError(`/process/rlimits/${i}`, 'soft limit is above the hard limit');
    seen.add(r.type);
    words.push(`rlimit=${n}:${u64(r.soft)}:${u64(r.hard)}`);
  });
  return [...words, '--', ...p.args];
}
