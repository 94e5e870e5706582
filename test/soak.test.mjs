// A short soak (bench/soak.mjs): 200 lifecycles (create, start, exec, pause, resume, kill, delete), 40 by
// each of four CLI callers and one library process at once, then nothing may be left: no mount, cgroup,
// process or state directory, and the library process's fds back to their count. Its RSS is printed; the
// 10 % bound is judged on the long run (`--cycles 2000`): in 40 cycles V8 is still touching its young
// generation for the first time, which is warm-up, not growth.
import t from 'tap';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repo } from './helpers.mjs';

t.test('200 cycles by 4 CLI callers and a library process: nothing leaks', { timeout: 115_000 }, async (t) => {
  const r = spawnSync(process.execPath, [path.join(repo, 'bench', 'soak.mjs'), '--cycles', '40', '--json'], { encoding: 'utf8', timeout: 110_000 });
  t.equal(r.status === null ? `killed by ${r.signal}` : typeof r.status, 'number', r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  t.comment(`${report.cycles} cycles in ${report.seconds} s; library fds ${report.library.fdsStart} -> ${report.library.fdsEnd}, RSS ${report.library.rssEarlyKB} -> ${report.library.rssEndKB} KB`);
  t.same(report.failures, [], 'every cycle completed');
  t.same(report.leftMounts, [], 'no mount left');
  t.same(report.leftCgroups, [], 'no cgroup left');
  t.same(report.aliveInits, [], 'no init left');
  t.same(report.processesInCgroups, [], 'no process left in the containers\' cgroups');
  t.same(report.leftState, [], 'no state directory left');
  t.equal(report.library.fdsEnd, report.library.fdsStart, 'the library process\'s fds are back to their count');
});
