import { execFileSync } from 'node:child_process';
import { cgroupPids } from '../cgroups/manager';
import { withCgroups } from './with-container';
import type { CommonOptions } from './options';

/** Host pids of every process in the container's cgroups. */
export async function ps(id: string, opts?: CommonOptions): Promise<number[]> {
  return withCgroups(id, undefined, opts, (cg, rec, _dir, status) => (status === 'stopped' && !rec.pid ? [] : cgroupPids(cg)));
}

/** runc's table: the host's `ps` (with `psArgs`, default -ef), keeping the header and the container's rows. */
export function psTable(pids: number[], psArgs: string[]): string {
  const out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  const [header, ...lines] = out.split('\n');
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new Error(`ps: no PID column in "${header}"`);
  const mine = new Set(pids.map(String));
  return [header, ...lines.filter((l) => mine.has(l.trim().split(/\s+/)[col]))].join('\n') + '\n';
}
