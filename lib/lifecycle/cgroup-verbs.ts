// Shared by the verbs that act on a container's cgroups (pause, resume, ps, update, events): open the
// container under its lock, check the state machine, and hand over its cgroups.
import { OcirunError } from '../errors';
import type { CgroupRecord } from '../cgroups/manager';
import { ContainerDir, type ContainerRecord } from '../state/store';
import { check, statusOf, type Operation, type Status } from '../state/status';
import { rootOf, type CommonOptions } from './options';

export async function withCgroups<T>(
  id: string,
  op: Operation | undefined,
  opts: CommonOptions | undefined,
  fn: (cg: CgroupRecord, rec: ContainerRecord, dir: ContainerDir, status: Status) => Promise<T> | T,
): Promise<T> {
  const dir = await ContainerDir.open(rootOf(opts), id);
  try {
    const rec = dir.read();
    const status = statusOf(rec, dir.dir);
    if (op) check(op, id, status);
    if (!rec.cgroup) throw new OcirunError(`container ${id} has no cgroups`);
    return await fn(rec.cgroup, rec, dir, status);
  } finally {
    dir.release();
  }
}
