import { OcirunError } from '../errors';
import { parseSignal, signalListed } from '../signals';
import { ContainerDir } from '../state/store';
import { check, statusOf } from '../state/status';
import * as fs from 'node:fs';
import { pidfdOpen, pidfdSignal } from '../native';
import { containerPids } from './processes';
import { rootOf, type CommonOptions } from './options';

export interface KillOptions extends CommonOptions {
  /** Signal every process of the container, not only its init. */
  all?: boolean;
}

/** Sends a signal (number or name, with or without SIG; default TERM) to the container. */
export async function kill(id: string, sig: string | number = 'SIGTERM', opts?: KillOptions): Promise<void> {
  const n = typeof sig === 'number' ? sig : parseSignal(sig);
  const dir = await ContainerDir.open(rootOf(opts), id);
  try {
    const rec = dir.read();
    const status = statusOf(rec, dir.dir);
    if (opts?.all) {
      // With cgroups, a stopped container's leftovers (its init gone, the rest in a shared pid namespace)
      // are still found; without, nothing is known once the init is gone.
      if (status === 'stopped' && !rec.cgroup) return;
      signalListed(() => containerPids(rec), n);
      return;
    }
    check('kill', id, status);
    // Through a pidfd taken from the start time on record: a reused pid is never signalled.
    const fd = pidfdOpen(rec.pid, rec.startTime);
    if (fd < 0) throw new OcirunError('container not running: no such process');
    try {
      if (!pidfdSignal(fd, n)) throw new OcirunError('container not running: no such process');
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    dir.release();
  }
}

