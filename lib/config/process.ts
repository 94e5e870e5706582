// process.* -> the control words of the ocirun-init stub (see native/src/init/main.cc): user, groups, umask,
// capabilities, rlimits, no_new_privs, preserved fds, then "--" and the args.
import * as fs from 'node:fs';
import { ConfigError } from '../errors';
import type { Process } from './spec';

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
function capabilityMasks(caps: Process['capabilities']): string {
  const last = kernelLastCap();
  return SETS.map((set) => {
    let mask = 0n;
    (caps?.[set] ?? []).forEach((name, i) => {
      const bit = CAPABILITIES.indexOf(name);
      if (bit < 0) throw new ConfigError(`/process/capabilities/${set}/${i}`, `unknown capability ${name}`);
      if (bit <= last) mask |= 1n << BigInt(bit);
    });
    return mask.toString(16);
  }).join(',');
}

/** uint64 from JSON: values past 2^53 (RLIM_INFINITY) arrive rounded; strtoull saturates them. */
const u64 = (n: number) => BigInt(Math.trunc(n)).toString();

export function initArgv(p: Process, preserveFds: number): string[] {
  const words = [
    `uid=${p.user.uid}`,
    `gid=${p.user.gid}`,
    `groups=${(p.user.additionalGids ?? []).join(',')}`,
    `caps=${capabilityMasks(p.capabilities)}`,
    `nnp=${p.noNewPrivileges ? 1 : 0}`,
    `preserve=${preserveFds}`,
  ];
  if (p.user.umask !== undefined) words.push(`umask=${p.user.umask.toString(8)}`);
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
