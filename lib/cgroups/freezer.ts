// Freezing and thawing a container's cgroups (cgroup.freeze on v2, the freezer controller on v1), and reading
// whether they are frozen: the one cgroup fact the state machine needs, kept apart so that `state` loads
// nothing else of lib/cgroups.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, SystemError, systemErrorFrom } from '../errors';
import type { CgroupRecord } from './manager';
import { waitUntil } from '../wait';

/** Freezes or thaws the container, waiting until the kernel says it is done. */
export async function setFrozen(rec: CgroupRecord, frozen: boolean): Promise<void> {
  const v2 = rec.mode === 'unified';
  if (!v2 && !rec.v1.freezer) throw new ConfigError('/linux/resources', 'the freezer cgroup controller is not mounted on this host');
  const file = v2 ? path.join(rec.unified!, 'cgroup.freeze') : path.join(rec.v1.freezer, 'freezer.state');
  try {
    fs.writeFileSync(file, v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
  } catch (err) {
    throw systemErrorFrom(err, frozen ? 'pause' : 'resume', 'write', file, 'cgroups');
  }
  // v2 signals cgroup.events when the cgroup is frozen or thawed; v1 does not, and can stop at FREEZING while
  // tasks fork: ask again on each look.
  await waitUntil(() => isFrozen(rec) === frozen, {
    what: `the cgroup to be ${frozen ? 'frozen' : 'thawed'}`,
    watch: v2 ? path.join(rec.unified!, 'cgroup.events') : undefined,
    retry: !v2 && frozen ? () => fs.writeFileSync(file, 'FROZEN') : undefined,
  }).catch((err) => {
    throw new SystemError(`${frozen ? 'pause' : 'resume'}: the cgroup did not reach that state (${(err as Error).message})`, { step: 'cgroups', path: file });
  });
}

/** Whether the container's cgroup is frozen (v2: cgroup.events says so once every task is). */
export function isFrozen(rec: CgroupRecord | undefined): boolean {
  if (!rec) return false;
  try {
    if (rec.mode === 'unified') return /^frozen 1$/m.test(fs.readFileSync(path.join(rec.unified!, 'cgroup.events'), 'utf8'));
    return !!rec.v1.freezer && fs.readFileSync(path.join(rec.v1.freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  } catch {
    return false;
  }
}

/**
 * Thaws the container's cgroup and every cgroup below it that was frozen on its own (a container may make and
 * freeze sub-cgroups): a frozen process dies only once thawed, so whatever kills the container thaws first.
 */
export async function thawTree(rec: CgroupRecord): Promise<void> {
  const v2 = rec.mode === 'unified';
  const top = v2 ? rec.unified : rec.v1.freezer;
  if (!top) return;
  const file = v2 ? 'cgroup.freeze' : 'freezer.state';
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = path.join(dir, e.name);
      walk(sub);
      try {
        fs.writeFileSync(path.join(sub, file), v2 ? '0' : 'THAWED');
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(top);
  if (isFrozen(rec)) await setFrozen(rec, false);
}
