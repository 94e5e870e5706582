// Build time only (scripts/prepare-start.js): the commands' code paths run once, without making a container,
// so that the V8 code cache made right after holds their compiled code. Best effort: a step this host cannot
// take (no cgroup filesystem, say) is skipped; the cache is then only less complete.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from './main';
import { defaultSpec } from '../config/default-spec';
import { loadBundle } from '../config/load';
import { buildPlan } from '../config/plan';
import { planCgroups } from '../cgroups/manager';
import { ContainerDir } from '../state/store';
import { publicState } from '../lifecycle/state';
import type { Resources } from '../cgroups/types';

const attempt = async (step: () => unknown): Promise<void> => {
  try {
    await step();
  } catch {
    /* see above */
  }
};

export async function warmUp(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-warm-up-'));
  const root = path.join(dir, 'state');
  try {
    const spec = defaultSpec();
    spec.linux!.resources = { memory: { limit: 64 << 20 }, pids: { limit: 100 }, cpu: { shares: 512 } };
    spec.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64'],
      syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }, { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] }],
    };
    fs.mkdirSync(path.join(dir, 'rootfs'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
    await attempt(() => {
      const bundle = loadBundle(dir);
      const cgroups = planCgroups(spec.linux?.resources as Resources, undefined, 'warm-up'); // reads, writes nothing
      buildPlan(bundle, { id: 'warm-up', stateDir: dir, hookState: {}, cgroups: cgroups.record });
    });
    await attempt(async () => {
      const rec = { id: 'warm-up', pid: 0, startTime: '', bundle: dir, rootfs: dir, created: new Date().toISOString(), owner: '', spec };
      const d = await ContainerDir.create(root, 'warm-up', rec);
      d.write(rec);
      publicState(d.read(), 'stopped');
      d.release();
    });
    for (const argv of [['--version'], ['--help'], ['create', '--help'], ['state', 'warm-up'], ['list'], ['list', '--format', 'json'], ['kill', 'warm-up', 'KILL'], ['delete', 'warm-up'], ['features']])
      await attempt(() => main(['--root', root, ...argv]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
