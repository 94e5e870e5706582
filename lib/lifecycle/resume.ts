import { setFrozen } from '../cgroups/freezer';
import { withCgroups } from './with-container';
import type { CommonOptions } from './options';

/** Thaws a paused container. */
export async function resume(id: string, opts?: CommonOptions): Promise<void> {
  await withCgroups(id, 'resume', opts, (cg) => setFrozen(cg, false));
}
