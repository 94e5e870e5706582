// The container state machine: the status derived from the kernel (never stored), and the one table of which
// operation is allowed in which status. Every lifecycle verb asks `check` before it acts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError } from '../errors';
import type { ContainerRecord } from './store';
import { isFrozen } from '../cgroups/freezer';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The start time (clock ticks since boot) of a live, non-zombie process, or undefined. */
export function processStartTime(pid: number): string | undefined {
  if (!pid) return undefined;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after "(comm)": the comm may contain spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

export const isAlive = (pid: number, startTime: string) => !!pid && processStartTime(pid) === startTime;

export function statusOf(rec: ContainerRecord, dir: string): Status {
  if (rec.creating) return isAlive(rec.creating.pid, rec.creating.startTime) ? 'creating' : 'stopped';
  if (!isAlive(rec.pid, rec.startTime)) return 'stopped';
  if (isFrozen(rec.cgroup)) return 'paused';
  return waitingForStart(path.join(dir, 'exec.fifo')) ? 'created' : 'running';
}

/**
 * Whether the init still waits for `start`: it holds exec.fifo open until it has read start's byte, then
 * closes it and execs. So the fifo's presence alone proves nothing (a `start` killed between its write and
 * its unlink leaves it behind); a non-blocking open for writing does: ENXIO when no one holds it for reading.
 * Opening and closing it without writing wakes no one.
 */
function waitingForStart(fifo: string): boolean {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') return false;
    throw err;
  }
}

export type Operation = 'start' | 'kill' | 'delete' | 'exec' | 'exec --ignore-paused' | 'pause' | 'resume' | 'update' | 'events';

const ALLOWED: Record<Operation, Status[]> = {
  start: ['created'],
  kill: ['created', 'running', 'paused'],
  delete: ['stopped'],
  exec: ['created', 'running'],
  'exec --ignore-paused': ['created', 'running', 'paused'],
  pause: ['created', 'running'],
  resume: ['paused'],
  update: ['created', 'running', 'paused'],
  events: ['created', 'running', 'paused'],
};

function refusal(op: Operation, id: string, status: Status): string {
  switch (op) {
    case 'start':
      if (status === 'stopped') return 'cannot start a container that has stopped';
      if (status === 'running') return 'cannot start an already running container';
      return `cannot start a container in the ${status} state`;
    case 'kill':
      return 'container not running';
    case 'delete':
      return `cannot delete container ${id} that is not stopped: ${status}`;
    case 'exec':
    case 'exec --ignore-paused':
      if (status === 'paused') return 'cannot exec in a paused container (use --ignore-paused to override)';
      return status === 'stopped' ? 'cannot exec in a stopped container' : `cannot exec in a ${status} container`;
    case 'pause':
      return 'container not running';
    case 'resume':
      return 'container not paused';
    case 'update':
      return 'container not running'; // runc's ErrNotRunning, from libcontainer's Set
    case 'events':
      return `container with id ${id} is not running`;
  }
}

/** Throws the error callers match (contract.md) when `op` is not allowed in `status`. */
export function check(op: Operation, id: string, status: Status): void {
  if (!ALLOWED[op].includes(status)) throw new OcirunError(refusal(op, id, status));
}
