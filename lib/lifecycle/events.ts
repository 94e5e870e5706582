import { cgroupStats, oomKills, toJson } from '../cgroups/stats';
import { readRecord } from '../state/store';
import { statusOf } from '../state/status';
import { withCgroups } from './with-container';
import { rootOf, type CommonOptions } from './options';
import * as path from 'node:path';

/** One stats event, as `runc events --stats` prints it. */
export async function stats(id: string, opts?: CommonOptions): Promise<string> {
  return withCgroups(id, 'events', opts, (cg) => toJson({ type: 'stats', id, data: cgroupStats(cg) }));
}

/**
 * The event stream: a stats event every `intervalMs`, and an `oom` event whenever the OOM killer acts in the
 * container. Ends when the container stops.
 */
export async function watch(id: string, intervalMs: number, emit: (line: string) => void, opts?: CommonOptions): Promise<void> {
  const cg = await withCgroups(id, 'events', opts, (c) => c);
  const root = rootOf(opts);
  let ooms = oomKills(cg);
  let next = 0;
  for (;;) {
    const rec = readRecord(root, id);
    if (statusOf(rec, path.join(root, id)) === 'stopped') return;
    const n = oomKills(cg);
    if (n > ooms) emit(toJson({ type: 'oom', id }));
    ooms = n;
    if (Date.now() >= next) {
      emit(toJson({ type: 'stats', id, data: cgroupStats(cg) }));
      next = Date.now() + intervalMs;
    }
    await new Promise((r) => setTimeout(r, Math.min(100, intervalMs)));
  }
}
