import * as path from 'node:path';
import { DamagedState, listIds, readRecord } from '../state/store';
import { SPEC_VERSION } from '../version';
import { statusOf } from '../state/status';
import { publicState, type ContainerState } from './state';
import { rootOf, type CommonOptions } from './options';

/** Every container under the root, in id order. */
export async function list(opts?: CommonOptions): Promise<ContainerState[]> {
  const root = rootOf(opts);
  const out: ContainerState[] = [];
  for (const id of listIds(root)) {
    try {
      const rec = readRecord(root, id);
      out.push(publicState(rec, statusOf(rec, path.join(root, id))));
    } catch (err) {
      // A damaged record is listed (stopped, nothing known) so that it can be seen and deleted; a container
      // deleted meanwhile is not.
      if (err instanceof DamagedState) out.push({ ociVersion: SPEC_VERSION, id, pid: 0, status: 'stopped', bundle: '', rootfs: '', created: '', owner: '' });
    }
  }
  return out;
}
