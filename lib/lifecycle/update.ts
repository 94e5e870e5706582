import { cgroupDriver } from '../cgroups/driver';
import { v1Writes, v2Writes } from '../cgroups/resources';
import type { Resources } from '../cgroups/types';
import { withCgroups } from './with-container';
import type { CommonOptions } from './options';

type Section = Exclude<keyof Resources, 'devices'>;
const SECTIONS: Section[] = ['memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified'];

/**
 * Changes the resources of a live container. Each section given is merged into the container's own and
 * written in full (so that swap is converted against the current memory limit); the record keeps the result.
 * Device rules are not updated, as with runc.
 */
export async function update(id: string, changes: Resources, opts?: CommonOptions): Promise<void> {
  await withCgroups(id, 'update', opts, async (cg, rec, dir) => {
    const linux = (rec.spec.linux ??= {});
    const current = (linux.resources ?? {}) as Resources;
    const merged: Resources = { ...current };
    const patch: Resources = {};
    // As runc's update: memory made unlimited without a word on swap makes memory+swap unlimited too (else the
    // old memory+swap limit would stay below it, which v1 refuses).
    if (changes.memory?.limit === -1 && changes.memory.swap === undefined) changes = { ...changes, memory: { ...changes.memory, swap: -1 } };
    for (const s of SECTIONS) {
      const change = changes[s];
      if (change === undefined) continue;
      const before = current[s];
      const next = Array.isArray(change) || typeof change !== 'object' ? change : { ...(before as object), ...change };
      (merged as Record<string, unknown>)[s] = next;
      (patch as Record<string, unknown>)[s] = next;
    }
    await (await cgroupDriver(cg)).update(cg, cg.mode === 'unified' ? v2Writes(patch) : v1Writes(patch));
    linux.resources = merged as Record<string, unknown>;
    dir.write(rec);
  });
}
