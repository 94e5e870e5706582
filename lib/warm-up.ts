// Build time only (scripts/prepare-start.js): the code paths every bundle shares, run once without making a
// container, so that the V8 code cache made after them holds their compiled code (V8 compiles a function
// lazily, at its first call: one that never ran before the cache was made is parsed and compiled at every
// start). Best effort: a step this host cannot take (no cgroup filesystem, say) is skipped; the cache is then
// only less complete. Used by the CLI's warm-up (lib/cli/warm-up.ts) and the shim's (lib/shim/warm-up.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultSpec } from './config/default-spec';
import { loadBundle } from './config/load';
import { buildPlan } from './config/plan';
import { planCgroups } from './cgroups/manager';
import { ContainerDir } from './state/store';
import { publicState } from './lifecycle/state';
import type { Resources } from './cgroups/types';
import { utcTimestamp } from './timestamp';

export const attempt = async (step: () => unknown): Promise<void> => {
  try {
    await step();
  } catch {
    /* see above */
  }
};

/**
 * A bundle in `dir` with what a daemon's container has (resources, seccomp), validated and planned; its
 * state written and read under `root` (left there as container "warm-up", stopped).
 */
export async function warmPlanAndState(dir: string, root: string): Promise<void> {
  const spec = defaultSpec();
  spec.linux!.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 }, cpu: { shares: 512 } };
  spec.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }, { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] }],
  };
  fs.mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  await attempt(() => {
    const bundle = loadBundle(dir);
    const cgroups = planCgroups(spec.linux?.resources as Resources, undefined, 'warm-up'); // reads, writes nothing
    buildPlan(bundle, { id: 'warm-up', stateDir: dir, hookState: {}, cgroups: cgroups.record });
  });
  await warmState(dir, root, spec);
}

/** A container "warm-up" of the spec in `dir` (stopped), written and read under `root`. */
export async function warmState(dir: string, root: string, spec = defaultSpec()): Promise<void> {
  await attempt(async () => {
    const rec = { id: 'warm-up', pid: 0, startTime: '', bundle: dir, rootfs: dir, created: utcTimestamp(), owner: '', spec };
    const d = ContainerDir.create(root, 'warm-up', rec);
    d.write(rec);
    publicState(d.read(), 'stopped');
    d.release();
  });
}
