import { SPEC_VERSION } from '../version';
import { readRecord, type ContainerRecord } from '../state/store';
import { statusOf, type Status } from '../state/status';
import * as path from 'node:path';
import { rootOf, type CommonOptions } from './options';

/** The runtime-spec state of a container, with runc's field order. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export function publicState(rec: ContainerRecord, status: Status): ContainerState {
  const annotated = rec.annotations && Object.keys(rec.annotations).length > 0;
  return {
    ociVersion: SPEC_VERSION,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    ...(annotated ? { annotations: rec.annotations } : {}),
    owner: rec.owner,
  };
}

export async function state(id: string, opts?: CommonOptions): Promise<ContainerState> {
  const root = rootOf(opts);
  const rec = readRecord(root, id);
  return publicState(rec, statusOf(rec, path.join(root, id)));
}
