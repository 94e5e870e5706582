// Build time only (scripts/prepare-start.js): the commands' code paths run once, without making a container,
// so that the V8 code cache made right after holds their compiled code (see lib/warm-up.ts). Two caches: the
// full one, and the light one of the commands that make no container (lib/cli/global-flags.ts), warmed by
// those commands alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from './main';
import { attempt, warmPlanAndState, warmState } from '../warm-up';

export async function warmUp(kind: 'full' | 'light' = 'full'): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-warm-up-'));
  const root = path.join(dir, 'state');
  const light = [['--version'], ['state', 'warm-up'], ['list'], ['list', '--format', 'json'], ['start', 'warm-up'], ['kill', 'warm-up', 'KILL'], ['delete', 'warm-up']];
  try {
    if (kind === 'light') await warmState(dir, root);
    else await warmPlanAndState(dir, root);
    for (const argv of kind === 'light' ? light : [['--help'], ['create', '--help'], ['features'], ...light])
      await attempt(() => main(['--root', root, ...argv]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
