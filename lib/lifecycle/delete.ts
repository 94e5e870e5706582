import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError, notFound } from '../errors';
import { checkId } from '../state/store';
import { check } from '../state/status';
import { withContainer } from './with-container';
import { containerPids, waitGone } from './processes';
import { signalListed } from '../signals';
import { rootOf, type CommonOptions } from './options';
import { runHooksWarning } from '../hooks';
import { publicState } from './state';
import { killAll, removeCgroups } from '../cgroups/manager';
import { thawTree } from '../cgroups/freezer';

export interface DeleteOptions extends CommonOptions {
  /** Kill a container that is not stopped, then delete it. */
  force?: boolean;
}

/**
 * Deletes a stopped container (or any, with force): its processes are killed and its state removed. Unlike
 * runc, a `created` container is refused without force, as the runtime-spec requires.
 */
export async function destroy(id: string, opts?: DeleteOptions): Promise<void> {
  const root = rootOf(opts);
  checkId(id);
  if (!fs.existsSync(path.join(root, id))) {
    if (opts?.force) return;
    throw notFound(id);
  }
  await withContainer(id, undefined, opts, async ({ rec, dir, status }) => {
    if (status !== 'stopped') {
      if (!opts?.force) check('delete', id, status);
      signalListed(() => containerPids(rec), 9);
      // A frozen process dies only once thawed: a paused container (and any cgroup it froze below its own) is
      // thawed into its SIGKILL.
      if (rec.cgroup) await thawTree(rec.cgroup);
      if (!(await waitGone(rec))) throw new OcirunError(`container ${id} did not stop after SIGKILL`);
    }
    if (rec.cgroup) {
      // Whatever is left in the cgroups (a stopped init's orphans, with a shared pid namespace) goes too.
      await killAll(rec.cgroup);
      await removeCgroups(rec.cgroup);
    }
    dir.remove();
    opts?.onDebug?.(`delete: processes gone, ${rec.cgroup ? 'cgroups removed, ' : ''}state removed`);
    if (rec.spec.hooks?.poststop?.length)
      await runHooksWarning(rec.spec, 'poststop', publicState(rec, 'stopped'), opts?.onWarning);
  });
}

export { destroy as delete };
