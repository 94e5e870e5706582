// The two ways a container gets its cgroup: cgroupfs (the runtime makes the directories and writes the files)
// and systemd (--systemd-cgroup: a transient scope unit, made over D-Bus around the container's first
// process, then the same files). What acts on the cgroup once it exists (pids, kill, freeze, stats) works on
// its directory and is the same for both (manager.ts, freezer.ts, stats.ts); what differs is here.
import * as fs from 'node:fs';
import { claimCgroup, createCgroups, killAll, removeCgroups, applyWrites, type CgroupPlan, type CgroupRecord } from './manager';
import type { CgroupWrite } from './types';

export interface CgroupDriver {
  /** The process must exist before its cgroup (systemd's scope is made with its pid): spawn waits for place(). */
  readonly placesAfterClone: boolean;
  /** Before the clone: the cgroup made and its resources written, or nothing left on failure. */
  make(plan: CgroupPlan): Promise<void>;
  /**
   * Holds the cgroup against a concurrent create of the same path until the process is in it, and refuses a
   * cgroup that already has processes. Returns the release.
   */
  claim(rec: CgroupRecord): Promise<() => void>;
  /** placesAfterClone: the cloned child waits at its first sync point while its cgroup is made around it. */
  place(plan: CgroupPlan, pid: number): Promise<void>;
  /** New resource values for a live container. */
  update(rec: CgroupRecord, writes: CgroupWrite[]): Promise<void>;
  /** delete: whatever is still in the container's cgroup is killed, then the cgroup goes. */
  remove(rec: CgroupRecord): Promise<void>;
  /**
   * A create that failed: kills what it placed and removes what it made. `placed`: our process may be in the
   * cgroup (it was claimed); if not, a cgroup with processes is someone else's and stays.
   */
  undo(rec: CgroupRecord, placed: boolean): Promise<void>;
}

const cgroupfs: CgroupDriver = {
  placesAfterClone: false,
  make: createCgroups,
  async claim(rec) {
    const fd = await claimCgroup(rec);
    return () => fs.closeSync(fd);
  },
  async place() {
    /* born in it */
  },
  async update(rec, writes) {
    applyWrites(rec, writes);
  },
  async remove(rec) {
    await killAll(rec);
    await removeCgroups(rec);
  },
  async undo(rec, placed) {
    if (placed) await killAll(rec).catch(() => undefined);
    await removeCgroups(rec, { leavePopulated: !placed });
  },
};

/** The driver that made (or will make) this cgroup: the record says, so later commands need no flag. */
export async function cgroupDriver(rec: CgroupRecord): Promise<CgroupDriver> {
  if (!rec.systemd) return cgroupfs;
  return (await import('./systemd/driver')).systemd;
}
