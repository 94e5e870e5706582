// Signal names and numbers as callers pass them: `15`, `TERM`, `SIGTERM` (any case); and signalling a set of
// processes known only by a list of pids that may change under us.
import * as fs from 'node:fs';
import { OcirunError } from './errors';
import { pidfdOpen, pidfdSignal } from './native';

/**
 * The signals by name, from node:os, loaded at first use: create and delete use this module only to signal,
 * and loading node:os (its module and its binding, which asks uname) cost them ~0.3 ms.
 */
let names: Record<string, number> | undefined;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const signalNumbers = () => (names ??= (require('node:os') as typeof import('node:os')).constants.signals as Record<string, number>);

export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 0 && n <= 64) return n; // 0: only whether the container's process is there (kill(2)'s check)
  } else {
    const upper = s.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = signalNumbers()[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$|^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) return rt[0].startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[2] ?? 0);
    throw new OcirunError(`unknown signal ${JSON.stringify(raw)}`); // runc's words
  }
  throw new OcirunError(`invalid signal: ${raw}`);
}

/**
 * Signals every process that `list` names (a cgroup's or a pid namespace's), each through a pidfd: the pids
 * are listed, a pidfd is opened for each, and the list is read again; only a process still listed after its
 * pidfd was opened is signalled, so a pid that exited and was reused by a process elsewhere in between is
 * never hit. Returns how many were signalled.
 */
export function signalListed(list: () => number[], sig: number): number {
  const fds = new Map<number, number>();
  let sent = 0;
  try {
    for (const pid of list()) {
      const fd = pidfdOpen(pid);
      if (fd >= 0) fds.set(pid, fd);
    }
    const still = new Set(list());
    for (const [pid, fd] of fds) if (still.has(pid) && pidfdSignal(fd, sig)) sent++;
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return sent;
}
