// Build time only (scripts/prepare-start.js): the commands' code paths run once, without making a container,
// so that the V8 code cache made right after holds their compiled code (see lib/warm-up.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from './main';
import { attempt, warmPlanAndState } from '../warm-up';

export async function warmUp(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-warm-up-'));
  const root = path.join(dir, 'state');
  try {
    await warmPlanAndState(dir, root);
    for (const argv of [['--version'], ['--help'], ['create', '--help'], ['state', 'warm-up'], ['list'], ['list', '--format', 'json'], ['kill', 'warm-up', 'KILL'], ['delete', 'warm-up'], ['features']])
      await attempt(() => main(['--root', root, ...argv]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
