import * as fs from 'node:fs';
import * as path from 'node:path';
import { DamagedState, listIds, readRecord } from '../state/store';
import { SPEC_VERSION } from '../version';
import { statusOf } from '../state/status';
import { publicState, type ContainerState } from './state';
import { rootOf, type CommonOptions } from './options';

/** /etc/passwd's names by uid (the first entry of a uid wins); empty without the file. */
function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id && /^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
    }
  } catch {
    /* no passwd file: numbers only */
  }
  return names;
}

/**
 * The user that owns a container's state directory, by name, else `#<uid>`: what runc's list shows as the
 * owner (its `state` leaves it empty). `names` reads /etc/passwd at its first use.
 */
function ownerOf(dir: string, names: () => Map<number, string>): string {
  let uid: number;
  try {
    uid = fs.statSync(dir).uid;
  } catch {
    return '';
  }
  return names().get(uid) ?? `#${uid}`;
}

/** Every container under the root, in id order. */
export async function list(opts?: CommonOptions): Promise<ContainerState[]> {
  const root = rootOf(opts);
  const out: ContainerState[] = [];
  let known: Map<number, string> | undefined;
  const names = () => (known ??= userNames());
  for (const id of listIds(root)) {
    try {
      const rec = readRecord(root, id);
      const dir = path.join(root, id);
      out.push({ ...publicState(rec, statusOf(rec, dir)), owner: ownerOf(dir, names) });
    } catch (err) {
      // A damaged record is listed (stopped, nothing known) so that it can be seen and deleted; a container
      // deleted meanwhile is not.
      if (err instanceof DamagedState)
        out.push({ ociVersion: SPEC_VERSION, id, pid: 0, status: 'stopped', bundle: '', rootfs: '', created: '', owner: ownerOf(path.join(root, id), names) });
    }
  }
  return out;
}
