import { setFrozen } from '../cgroups/freezer';
import { withCgroups } from './with-container';
import type { CommonOptions } from './options';

/** Freezes every process of the container (cgroup.freeze, or the v1 freezer); returns once all are frozen. */
export async function pause(id: string, opts?: CommonOptions): Promise<void> {
  await withCgroups(id, 'pause', opts, (cg) => setFrozen(cg, true));
}
