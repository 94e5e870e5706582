import * as fs from 'node:fs';
import * as path from 'node:path';
import { OcirunError, notFound } from '../errors';
import { ContainerDir, DamagedState, checkId } from '../state/store';
import { check } from '../state/status';
import { withContainer, type Held } from './with-container';
import { containerPids, waitGone } from './processes';
import { signalListed } from '../signals';
import { rootOf, type CommonOptions } from './options';
import { runHooksWarning } from '../hooks';
import { publicState } from './state';
import { dropCgroupPathLock, killAll, planCgroups, removeCgroups } from '../cgroups/manager';
import { cgroupDriver } from '../cgroups/driver';
import { thawTree } from '../cgroups/freezer';
import { moveNetDevicesOut } from './net-devices';
import { turn } from '../turn';

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
  try {
    await deleteRecorded(id, opts);
  } catch (err) {
    if (!(err instanceof DamagedState) || !opts?.force) throw err;
    await deleteDamaged(root, id, opts);
  }
}

/**
 * delete --force of a container whose record cannot be read: what it was is unknown, but a container made with
 * the default cgroupsPath has its cgroups where the id alone says; what lives there is killed and they and
 * the directory go. Processes elsewhere (an explicit cgroupsPath) cannot be found, and a warning says so.
 */
async function deleteDamaged(root: string, id: string, opts?: DeleteOptions): Promise<void> {
  const dir = await ContainerDir.open(root, id);
  try {
    const guess = planCgroups(undefined, undefined, id).record;
    guess.created = [guess.unified, ...Object.values(guess.v1)].filter((d): d is string => !!d && fs.existsSync(d));
    if (guess.created.length) {
      await killAll(guess);
      await removeCgroups(guess);
    }
    dir.remove();
    opts?.onWarning?.(
      `container "${id}" had a damaged state.json: removed it${guess.created.length ? ' and its default cgroups, with what ran there' : ''}; ` +
        'processes in a cgroup of its own choosing cannot be found',
    );
  } finally {
    dir.release();
  }
}

async function deleteRecorded(id: string, opts?: DeleteOptions): Promise<void> {
  await withContainer(id, undefined, opts, async ({ rec, dir, status }) => {
    if (status !== 'stopped') {
      if (!opts?.force) check('delete', id, status);
      signalListed(() => containerPids(rec), 9);
      // A frozen process dies only once thawed: a paused container (and any cgroup it froze below its own) is
      // thawed into its SIGKILL.
      if (rec.cgroup) await thawTree(rec.cgroup);
      if (!(await waitGone(rec))) throw new OcirunError(`container ${id} did not stop after SIGKILL`);
    }
    await removeStopped({ rec, dir }, opts);
  });
}

/** What is left of a container whose init is gone: its net devices back, its cgroups, its directory; poststop. */
async function removeStopped({ rec, dir }: Held, opts?: DeleteOptions): Promise<void> {
  if (rec.spec.linux?.netDevices) moveNetDevicesOut(rec.spec, opts?.onWarning ?? (() => {}));
  // Whatever is left in the cgroups (a stopped init's orphans, with a shared pid namespace) goes too.
  if (rec.cgroup) await (await cgroupDriver(rec.cgroup)).remove(rec.cgroup);
  if (rec.cgroup && !rec.cgroup.systemd && rec.spec.linux?.cgroupsPath) dropCgroupPathLock(rootOf(opts), rec.cgroup);
  dir.remove();
  opts?.onDebug?.(`delete: processes gone, ${rec.cgroup ? 'cgroups removed, ' : ''}state removed`);
  if (rec.spec.hooks?.poststop?.length)
    await runHooksWarning(rec.spec, 'poststop', publicState(rec, 'stopped'), opts?.onWarning);
}

/**
 * run's delete of the container it made, once it has reaped its init: under the lock again, on the directory
 * its create made and kept open (deleted meanwhile, or made anew by another create: nothing left to do here),
 * with the record run holds, not read back. What delete needs of a record (pid, cgroups, hooks, net devices)
 * is fixed at create; update changes only resources.
 */
export async function deleteReaped(held: Held, opts?: DeleteOptions): Promise<void> {
  await turn();
  try {
    if (await held.dir.relock()) await removeStopped(held, opts);
  } finally {
    held.dir.release();
  }
}

export { destroy as delete };
