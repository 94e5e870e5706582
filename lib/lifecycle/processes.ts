// Finding and signalling a container's processes: those in its cgroups; for a record without cgroups, every
// process in the container's own pid namespace (with a shared pid namespace, only the init is known).
import * as fs from 'node:fs';
import { holdChild, pidfdOpen, sendFd, watchExit, type Exit } from '../native';
import { OcirunError, SystemError } from '../errors';
import type { ConsoleProxy } from './console';
import type { ContainerRecord } from '../state/store';
import type { Spec } from '../config/spec';
import { isAlive } from '../state/status';
import { cgroupPids } from '../cgroups/manager';

function pidNamespace(pid: number | string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The container has a pid namespace of its own: its init's death ends every process in it. */
export const ownPidNamespace = (spec: Spec): boolean => (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);

export function containerPids(rec: ContainerRecord): number[] {
  if (rec.cgroup) return cgroupPids(rec.cgroup);
  if (!isAlive(rec.pid, rec.startTime)) return [];
  const ownNs = ownPidNamespace(rec.spec);
  const ns = pidNamespace(rec.pid);
  if (!ownNs || !ns) return [rec.pid];
  const pids = [rec.pid];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === rec.pid) continue;
    if (pidNamespace(entry) === ns) pids.push(Number(entry));
  }
  return pids;
}

/** kill(2) of one process. Never of 0 or a negative pid: those are process groups (ours among them). */
export function signal(pid: number, sig: number | NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new SystemError(`refusing to signal pid ${pid}`, { step: 'signal' });
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Waits until the init is gone (or a zombie), through its pidfd; the container's namespaces and mounts go with its last process. */
export async function waitGone(rec: ContainerRecord, timeoutMs = 10_000): Promise<boolean> {
  if (!isAlive(rec.pid, rec.startTime)) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    return await Promise.race([watchExit(rec.pid, rec.startTime).then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * The foreground of `run` and `exec`: waits for a process spawned here (it keeps this process alive
 * meanwhile), drains the terminal proxy, if any, and gives its exit status (128+N when signal N ended it).
 * With `forwardSignals` (the CLI's, never a library caller's unless asked), the signals this process receives
 * go to it meanwhile.
 */
export async function waitForeground(child: { pid: number; exited: Promise<Exit> }, proxy?: ConsoleProxy, forwardSignals = false): Promise<number> {
  const forward = (sig: NodeJS.Signals) => signal(child.pid, sig);
  if (forwardSignals) for (const s of FORWARDED) process.on(s, forward);
  holdChild(child.pid, true);
  try {
    const r = await child.exited;
    await proxy?.drained;
    return r.signal ? 128 + r.signal : r.code;
  } finally {
    proxy?.close();
    if (forwardSignals) for (const s of FORWARDED) process.off(s, forward);
  }
}

/**
 * --pidfd-socket: a pidfd of the process (the container's init, or exec's process) goes to the AF_UNIX
 * socket at `socket` (SCM_RIGHTS, with the payload "pidfd"), so that the caller holds the process itself,
 * not a number that may be reused.
 */
export function sendPidfd(socket: string, pid: number, startTime = ''): void {
  const fd = pidfdOpen(pid, startTime);
  if (fd < 0) throw new OcirunError(`--pidfd-socket: process ${pid} is gone`);
  try {
    sendFd(socket, 'pidfd', fd);
  } finally {
    fs.closeSync(fd);
  }
}
