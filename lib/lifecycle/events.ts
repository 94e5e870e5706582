import { cgroupStats, toJson } from '../cgroups/stats';
import { OomWatch } from '../cgroups/oom';
import { watchExit } from '../native';
import { withCgroups } from './with-container';
import type { CommonOptions } from './options';

/** One stats event, as `runc events --stats` prints it. */
export async function stats(id: string, opts?: CommonOptions): Promise<string> {
  return withCgroups(id, 'events', opts, (cg) => toJson({ type: 'stats', id, data: cgroupStats(cg) }));
}

/**
 * The event stream: a stats event every `intervalMs` (the first after one interval, as runc's), and an `oom`
 * event whenever the OOM killer acts in the container (the kernel says when: lib/cgroups/oom.ts). Ends when
 * the container stops: its init's pidfd says when. An event that cannot be made or emitted ends the stream
 * with that error.
 */
export async function watch(id: string, intervalMs: number, emit: (line: string) => void, opts?: CommonOptions): Promise<void> {
  const { cg, rec } = await withCgroups(id, 'events', opts, (cg, rec) => ({ cg, rec })); // created, running or paused
  let failed: (err: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  const send = (event: () => object) => {
    try {
      emit(toJson(event()));
    } catch (err) {
      failed(err as Error);
    }
  };
  const tick = () => send(() => ({ type: 'stats', id, data: cgroupStats(cg) }));
  const oom = new OomWatch(cg, () => send(() => ({ type: 'oom', id })));
  const timer = setInterval(tick, Math.min(intervalMs, 2 ** 31 - 1)); // Node takes a longer delay for 1 ms
  try {
    await Promise.race([watchExit(rec.pid, rec.startTime), failure]);
  } finally {
    clearInterval(timer);
    oom.stop();
  }
}
