import * as path from 'node:path';
import { listIds, readRecord } from '../state/store';
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
    } catch {
      /* deleted meanwhile */
    }
  }
  return out;
}
