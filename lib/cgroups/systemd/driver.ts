// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a transient scope unit,
// made with StartTransientUnit around the container's first process (its pid in PIDs, Delegate=yes), then the
// cgroup files are written as the cgroupfs driver writes them, for what systemd does not express (runc's
// order). update sets the unit's properties and the files; delete stops the unit and waits for it to go; a
// failed create stops and resets it, so that not even a failed unit is left.
import * as fs from 'node:fs';
import { ConfigError } from '../../errors';
import { attachDeviceFilter } from '../../native';
import type { CgroupDriver } from '../driver';
import { applyWrites, dirsToMake, killAll, makeDirs, removeCgroups, type CgroupRecord } from '../manager';
import { waitUntil } from '../../wait';
import { DBusFailure, Systemd } from './bus';
import { SYSTEMD_V1_HIERARCHIES } from './unit';
import { resourceProperties, type Property } from './properties';

const b = (value: boolean) => ({ sig: 'b', value });
const s = (value: string) => ({ sig: 's', value });

/** What every scope gets, before the plan's (its description, resources and annotations, which may override). */
function baseProperties(rec: CgroupRecord, pid: number): Property[] {
  return [
    ['Slice', s(rec.systemd!.slice)],
    ['Delegate', b(true)],
    ['PIDs', { sig: 'au', value: [pid] }],
    ['DefaultDependencies', b(false)],
    ['MemoryAccounting', b(true)],
    ['CPUAccounting', b(true)],
    [rec.mode === 'unified' ? 'IOAccounting' : 'BlockIOAccounting', b(true)],
    ['TasksAccounting', b(true)],
  ];
}

/** The manager that owns the scope: the system's, or the rootless caller's own on its bus. */
async function withSystemd<T>(rec: CgroupRecord, fn: (sd: Systemd) => Promise<T>): Promise<T> {
  const sd = await Systemd.connect(rec.systemd!.bus);
  try {
    return await fn(sd);
  } finally {
    sd.close();
  }
}

/** systemd removes the scope's cgroup (and what the container made below it) when the unit stops. */
async function gone(rec: CgroupRecord): Promise<void> {
  const dir = rec.unified ?? rec.v1['name=systemd'];
  if (dir) await waitUntil(() => !fs.existsSync(dir), { what: `${dir} to be removed by systemd`, timeoutMs: 10_000 });
}

/** The unit stopped and forgotten; then the v1 directories the runtime made (systemd's are gone with it). */
async function stopAndForget(sd: Systemd, rec: CgroupRecord): Promise<void> {
  const unit = rec.systemd!.unit;
  await sd.stopUnit(unit);
  await sd.resetFailed(unit);
  await gone(rec);
  await removeCgroups(rec);
}

export const systemd: CgroupDriver = {
  placesAfterClone: true,
  async make(plan) {
    // The scope is made in place(), around the process. On cgroup v1 its directory in the hierarchies systemd
    // does not manage is the runtime's to make now, so that the child can join them before anything runs.
    const rec = plan.record;
    // The directories named before the create (dirsToMake) include systemd's own (the slices, the scope):
    // systemd makes and removes those. Only what is made here is the runtime's.
    rec.created = [];
    try {
      for (const [c, dir] of Object.entries(rec.v1))
        if (!SYSTEMD_V1_HIERARCHIES.has(c)) makeDirs(dir, rec.created, c === 'cpuset', new Set(dirsToMake({ ...rec, v1: { [c]: dir } })));
    } catch (err) {
      await removeCgroups(rec);
      throw err;
    }
  },
  async claim() {
    // Two creates of one unit name: systemd lets only one start it (the other gets UnitExists).
    return () => undefined;
  },
  async place(plan, pid) {
    const rec = plan.record;
    const unit = rec.systemd!.unit;
    const props = [...baseProperties(rec, pid), ...(plan.properties ?? [])];
    await withSystemd(rec, async (sd) => {
      try {
        await sd.startUnit(unit, props);
      } catch (err) {
        if (!(err instanceof DBusFailure && err.dbusName === 'org.freedesktop.systemd1.UnitExists')) {
          rec.systemd!.started = true; // a job was queued or the unit half made: it is ours to take down
          throw err;
        }
        // A failed or stopped leftover of that name is forgotten and the start tried again; a live unit is
        // someone else's.
        await sd.resetFailed(unit);
        try {
          await sd.startUnit(unit, props);
        } catch (again) {
          if (again instanceof DBusFailure && again.dbusName === 'org.freedesktop.systemd1.UnitExists')
            throw new ConfigError('/linux/cgroupsPath', `systemd unit ${unit} already exists`);
          rec.systemd!.started = true;
          throw again;
        }
      }
      rec.systemd!.started = true;
      applyWrites(rec, plan.writes);
      if (plan.deviceProgram) attachDeviceFilter(rec.unified!, plan.deviceProgram, false); // systemd's own stays
    });
  },
  async update(rec, writes) {
    await withSystemd(rec, (sd) => sd.setProperties(rec.systemd!.unit, resourceProperties(writes, rec.mode !== 'unified')));
    applyWrites(rec, writes);
  },
  async remove(rec) {
    await killAll(rec);
    await withSystemd(rec, (sd) => stopAndForget(sd, rec));
  },
  async undo(rec) {
    if (!rec.systemd!.started) return removeCgroups(rec); // no unit of ours: only the v1 directories made here
    await killAll(rec).catch(() => undefined);
    await withSystemd(rec, (sd) => stopAndForget(sd, rec));
  },
};
