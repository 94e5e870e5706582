import { OcirunError } from '../errors';
import { parseSignal, signalListed } from '../signals';
import * as fs from 'node:fs';
import { pidfdOpen, pidfdSignal } from '../native';
import { containerPids, ownPidNamespace } from './processes';
import { thawTree } from '../cgroups/freezer';
import type { CommonOptions } from './options';
import { withContainer } from './with-container';
import type { ContainerRecord } from '../state/store';

export interface KillOptions extends CommonOptions {
  /** Signal every process of the container, not only its init. */
  all?: boolean;
}

/** Sends a signal (number or name, with or without SIG; default TERM) to the container. */
export async function kill(id: string, sig: string | number = 'SIGTERM', opts?: KillOptions): Promise<void> {
  const n = typeof sig === 'number' ? sig : parseSignal(sig);
  // kill --all checks nothing: with cgroups, a stopped container's leftovers (its init gone, the rest in a
  // shared pid namespace) are still found; without, nothing is known once the init is gone.
  await withContainer(id, opts?.all ? undefined : 'kill', opts, async ({ rec, status }) => {
    if (opts?.all) {
      if (status === 'stopped' && !rec.cgroup) return;
      const sent = signalListed(() => containerPids(rec), n);
      opts.onDebug?.(`kill --all: signal ${n} to ${sent} process(es), each through a pidfd`);
    } else signalInit(rec, n, opts);
    // On v1 a frozen process dies only once thawed (v2 lets SIGKILL through, but the cgroup stays frozen for
    // what is left): SIGKILL to a paused container thaws it, as runc does, so that it stops and can be deleted.
    if (n === 9 && status === 'paused' && rec.cgroup) {
      await thawTree(rec.cgroup);
      opts?.onDebug?.('kill: SIGKILL to a paused container: thawed, so that it dies');
    }
  });
}

/**
 * Signal `n` to the container's init, through a pidfd taken from the start time on record (a reused pid is
 * never signalled). Without a pid namespace of its own the init's death takes nobody with it: SIGKILL then
 * goes to every process of the container's cgroup, as runc does.
 */
export function signalInit(rec: ContainerRecord, n: number, opts?: CommonOptions): void {
  if (n === 9 && !ownPidNamespace(rec.spec) && rec.cgroup) {
    const sent = signalListed(() => containerPids(rec), n);
    opts?.onDebug?.(`kill: no pid namespace of its own: SIGKILL to ${sent} process(es) of the cgroup`);
    return;
  }
  const fd = pidfdOpen(rec.pid, rec.startTime);
  if (fd < 0) throw new OcirunError('container not running: no such process');
  try {
    if (!pidfdSignal(fd, n)) throw new OcirunError('container not running: no such process');
    opts?.onDebug?.(`kill: signal ${n} to init ${rec.pid} through its pidfd`);
  } finally {
    fs.closeSync(fd);
  }
}
