// The OOM killer's work in a container's memory cgroup, counted and watched. The kernel says when to look:
// cgroup v2 through inotify on memory.events (fs.watch), v1 through an eventfd registered for
// memory.oom_control (native watchOom). No timer. Used by `events` and by the shim (TaskOOM).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchOom } from '../native';
import type { CgroupRecord } from './manager';
import { keyed } from './stats';

/** How many times the kernel's OOM killer has acted in the container's memory cgroup. */
export function oomKills(rec: CgroupRecord): bigint {
  if (rec.mode === 'unified') return keyed(path.join(rec.unified!, 'memory.events')).oom_kill ?? 0n;
  return rec.v1.memory ? keyed(path.join(rec.v1.memory, 'memory.oom_control')).oom_kill ?? 0n : 0n;
}

/**
 * Calls `onOom` each time the count of OOM kills has grown since the last look (several kills between two
 * looks are one call). Does not keep the process alive. A cgroup without a memory controller (or already
 * removed, or one the kernel will not watch) has nothing to watch; a cgroup removed while watched ends the
 * notifications.
 */
export class OomWatch {
  private seen = 0n;
  private end: (() => void) | undefined;

  constructor(
    private readonly cgroup: CgroupRecord | undefined,
    private readonly onOom: () => void,
  ) {
    const look = () => this.check();
    try {
      if (cgroup?.mode === 'unified') {
        const watcher = fs.watch(path.join(cgroup.unified!, 'memory.events'), { persistent: false }, look);
        watcher.on('error', () => this.stop()); // the cgroup went away
        this.end = () => watcher.close();
      } else if (cgroup?.v1.memory) this.end = watchOom(cgroup.v1.memory, look);
    } catch {
      // No memory controller there, or the cgroup is gone: nothing to watch (check() still counts on demand, as
      // the shim does when the init exits). A watch never fails what it serves.
    }
    this.seen = cgroup ? oomKills(cgroup) : 0n; // after the watch began: every kill from here on is told
  }

  /** Tells of the kills since the last look: on each notification, and whenever the caller asks. */
  check(): void {
    const n = this.cgroup ? oomKills(this.cgroup) : 0n;
    if (n <= this.seen) return; // nothing new, or the cgroup is gone (read as 0)
    this.seen = n;
    this.onOom();
  }

  stop(): void {
    this.end?.();
    this.end = undefined;
  }
}
