// A container's OOM kills, told to containerd as TaskOOM: the kernel's oom_kill counter of its memory cgroup
// (memory.events on cgroup v2, watched through inotify, which the kernel raises when the file changes;
// memory.oom_control on v1, read when the init exits, before its TaskExit, so that an OOM-killed init is
// reported as such). A container without a memory cgroup has nothing to watch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupRecord } from '../cgroups/manager';
import { oomKills } from '../cgroups/stats';

export class OomWatch {
  private seen: bigint;
  private watcher: fs.FSWatcher | undefined;

  constructor(
    private readonly cgroup: CgroupRecord | undefined,
    private readonly onOom: () => void,
  ) {
    this.seen = this.count();
    if (cgroup?.mode === 'unified' && cgroup.unified) {
      try {
        this.watcher = fs.watch(path.join(cgroup.unified, 'memory.events'), () => this.check());
        this.watcher.on('error', () => this.stop());
      } catch {
        /* no memory controller there: the check at exit still runs */
      }
    }
  }

  private count(): bigint {
    try {
      return this.cgroup ? oomKills(this.cgroup) : 0n;
    } catch {
      return this.seen ?? 0n; // the cgroup is gone
    }
  }

  /** Tells of the kills since the last look; called on each change, and once more when the init exits. */
  check(): void {
    const n = this.count();
    if (n > this.seen) {
      this.seen = n;
      this.onOom();
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
