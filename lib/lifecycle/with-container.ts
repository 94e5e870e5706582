// The one way a verb acts on an existing container: open it under its lock, read its record, derive its
// status, check the state machine for the operation (when the verb names one), act, release the lock.
import { OcirunError } from '../errors';
import { turn } from '../turn';
import type { CgroupRecord } from '../cgroups/manager';
import { ContainerDir, type ContainerRecord } from '../state/store';
import { check, statusOf, type Operation, type Status } from '../state/status';
import { rootOf, type CommonOptions } from './options';

export interface Opened {
  rec: ContainerRecord;
  dir: ContainerDir;
  status: Status;
}

/** A container whose directory the holder has locked, with its record as it stands. */
export type Held = Pick<Opened, 'rec' | 'dir'>;

/** `op` undefined: the verb checks the status itself (kill --all, delete --force). */
export async function withContainer<T>(
  id: string,
  op: Operation | undefined,
  opts: CommonOptions | undefined,
  fn: (c: Opened) => Promise<T> | T,
): Promise<T> {
  await turn();
  const dir = await ContainerDir.open(rootOf(opts), id);
  try {
    const rec = dir.read();
    const status = statusOf(rec, dir.dir);
    if (op) check(op, id, status);
    return await fn({ rec, dir, status });
  } finally {
    dir.release();
  }
}

/** For the verbs that act on a container's cgroups (pause, resume, ps, update, events). */
export async function withCgroups<T>(
  id: string,
  op: Operation | undefined,
  opts: CommonOptions | undefined,
  fn: (cg: CgroupRecord, rec: ContainerRecord, dir: ContainerDir, status: Status) => Promise<T> | T,
): Promise<T> {
  return withContainer(id, op, opts, ({ rec, dir, status }) => {
    if (!rec.cgroup) throw new OcirunError(`container ${id} has no cgroups`);
    return fn(rec.cgroup, rec, dir, status);
  });
}
