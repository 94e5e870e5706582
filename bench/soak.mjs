#!/usr/bin/env node
// Soak: many container lifecycles at once, then a check that nothing leaked. Four CLI callers and one library
// process (bench/soak-library.mjs) each run N cycles side by side, on one bundle and one --root. A cycle is
// create, start, exec, pause, resume, kill, delete. At the end it checks, and prints:
//   - no mount left that names the soak's bundle or root (and the host's mount count before and after);
//   - no cgroup left with the soak's prefix, in any hierarchy (v1 and v2);
//   - no process left: none of the inits seen is alive, none is in a cgroup with the prefix;
//   - no state directory left under the root;
//   - the library process's open fds back to their count after its first cycle;
//   - its RSS after the last cycle within 10 % of its RSS after the first tenth of them (both after a GC, with
//     V8's young generation at its full size from the start; V8's heap figures are printed beside it).
// Exit status 0 only when every check holds. --json prints the figures as one JSON line.
//
//   node bench/soak.mjs [--cycles N (each caller's, default 2000)] [--callers 4] [--json] [--trace]
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(repo, 'bin', 'ocirun');
const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const cycles = Number(arg('--cycles', 2000));
const callers = Number(arg('--callers', 4));
const asJson = process.argv.includes('--json');
const prefix = `soak${process.pid}`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-soak-'));
const bundle = path.join(work, 'bundle');
const root = path.join(work, 'root');
fs.mkdirSync(bundle, { mode: 0o755 });
fs.chmodSync(work, 0o755);
execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), path.join(bundle, 'rootfs')]);
const { defaultSpec } = await import(path.join(repo, 'dist', 'index.js'));
const spec = defaultSpec();
spec.process.terminal = false;
spec.process.args = ['sleep', '1000'];
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));

const mountCount = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;
const ourMounts = () =>
  fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(work) || l.includes(prefix));

/** Every cgroup directory, in every hierarchy, whose name has the soak's prefix. */
function ourCgroups() {
  const found = [];
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .filter((l) => / - cgroup2? /.test(l)).map((l) => l.split(' ')[4]);
  const walk = (dir, depth) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.includes(prefix)) found.push(p);
      else if (depth < 6) walk(p, depth + 1);
    }
  };
  for (const m of new Set(mounts)) walk(m, 0);
  return found;
}

/**
 * Live processes in a cgroup with the prefix. Zombies do not count: one whose runtime has exited belongs to
 * the host's init (or the caller's subreaper), which reaps it in its own time.
 */
function processesInOurCgroups() {
  const pids = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(prefix)) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** A process is named by its pid and its start time (the runtime's own reading): a pid reused later is another process. */
const { processStartTime } = await import(path.join(repo, 'dist', 'state', 'status.js'));
const identity = (pid) => {
  const start = processStartTime(Number(pid));
  return start === undefined ? undefined : `${pid}:${start}`;
};
const stillThere = (id) => identity(id.split(':')[0]) === id && !fs.readFileSync(`/proc/${id.split(':')[0]}/stat`, 'utf8').includes(') Z');

const initsSeen = new Set();
const failures = [];

/**
 * One CLI command; its stdout and stderr go through files, not pipes: the container that create makes keeps
 * create's stdio, and a pipe would not end before the container does.
 */
let seq = 0;
const trace = process.argv.includes('--trace') ? (line) => process.stderr.write(`soak: ${line}\n`) : () => {};
function cli(args) {
  trace(`ocirun ${args.join(' ')}`);
  const base = path.join(work, `cli-${seq++}`);
  const out = fs.openSync(`${base}.out`, 'w+');
  const err = fs.openSync(`${base}.err`, 'w+');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--root', root, ...args], { stdio: ['ignore', out, err], timeout: 60_000 });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const stdout = fs.readFileSync(`${base}.out`, 'utf8');
      const stderr = fs.readFileSync(`${base}.err`, 'utf8');
      fs.closeSync(out);
      fs.closeSync(err);
      fs.rmSync(`${base}.out`);
      fs.rmSync(`${base}.err`);
      if (code === 0) resolve(stdout);
      else reject(new Error(`ocirun ${args.join(' ')}: exit ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

async function cliCycle(id) {
  await cli(['create', '--bundle', bundle, id]);
  const who = identity(JSON.parse(await cli(['state', id])).pid);
  if (who) initsSeen.add(who);
  await cli(['start', id]);
  await cli(['exec', id, 'true']);
  await cli(['pause', id]);
  await cli(['resume', id]);
  await cli(['kill', id, 'KILL']);
  await cli(['delete', '--force', id]);
}

async function cliCaller(k, n) {
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-c${k}-${i}`;
    try {
      await cliCycle(id);
    } catch (err) {
      failures.push(`${id}: ${err.message}`);
      await cli(['delete', '--force', id]).catch(() => {});
    }
  }
}

/** The library's share, in a process of its own so that its fds and memory are its alone. */
function libraryCaller(n) {
  return new Promise((resolve, reject) => {
    // V8's young generation starts at its full size (16 MB semi-spaces): left to grow, it doubles twice in the
    // first few hundred cycles, which is V8 sizing its heap, not a leak, and would hide one in the RSS figure.
    const v8 = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
    const child = spawn(process.execPath, [...v8, path.join(repo, 'bench', 'soak-library.mjs'), root, bundle, `${prefix}-lib`, String(n)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        for (const pid of r.inits) initsSeen.add(pid);
        failures.push(...r.failures);
        resolve(r);
      } catch {
        reject(new Error(`the library process exited ${code} without a report: ${out}`));
      }
    });
  });
}

const mountsBefore = mountCount();

const t0 = performance.now();
const [lib] = await Promise.all([libraryCaller(cycles), ...Array.from({ length: callers }, (_, k) => cliCaller(k, cycles))]);
const seconds = (performance.now() - t0) / 1000;

const leftMounts = ourMounts();
const leftCgroups = ourCgroups();
const alive = [...initsSeen].filter((id) => {
  try {
    return stillThere(id);
  } catch {
    return false;
  }
});
const inCgroups = processesInOurCgroups();
const leftState = fs.existsSync(root) ? fs.readdirSync(root) : [];
const rssGrowth = lib.rssEnd / lib.rssEarly - 1;
const checks = {
  'no mount left': leftMounts.length === 0,
  'no cgroup left': leftCgroups.length === 0,
  'no process left': alive.length === 0 && inCgroups.length === 0,
  'no state dir left': leftState.length === 0,
  'library fds back to their count': lib.fdsEnd === lib.fdsStart,
  'library RSS within 10 %': Math.abs(rssGrowth) <= 0.1,
  'every cycle completed': failures.length === 0,
};
const report = {
  cycles: cycles * (callers + 1),
  cyclesPerCaller: cycles,
  callers: `${callers} CLI + 1 library`,
  seconds: Number(seconds.toFixed(1)),
  cyclesPerSecond: Number(((cycles * (callers + 1)) / seconds).toFixed(1)),
  hostMounts: { before: mountsBefore, after: mountCount() },
  leftMounts,
  leftCgroups,
  aliveInits: alive,
  processesInCgroups: inCgroups,
  leftState,
  library: {
    fdsStart: lib.fdsStart,
    fdsEnd: lib.fdsEnd,
    rssEarlyKB: lib.rssEarly >> 10,
    rssEndKB: lib.rssEnd >> 10,
    rssGrowthPercent: Number((rssGrowth * 100).toFixed(1)),
    heapEarly: lib.heapEarly,
    heapEnd: lib.heapEnd,
  },
  failures: failures.slice(0, 10),
  checks,
};
fs.rmSync(work, { recursive: true, force: true });
if (asJson) console.log(JSON.stringify(report));
else {
  console.log(`soak: ${report.cycles} cycles (${cycles} by each of ${report.callers}) in ${report.seconds} s, ${report.cyclesPerSecond} cycles/s`);
  console.log(`host mounts ${mountsBefore} before, ${report.hostMounts.after} after`);
  console.log(`library: fds ${lib.fdsStart} -> ${lib.fdsEnd}; RSS ${report.library.rssEarlyKB} KB after the first tenth, ${report.library.rssEndKB} KB at the end (${report.library.rssGrowthPercent} %)`);
  console.log(`library V8 heap used/total KB: ${lib.heapEarly.used}/${lib.heapEarly.total} after the first tenth, ${lib.heapEnd.used}/${lib.heapEnd.total} at the end`);
  for (const [name, okay] of Object.entries(checks)) console.log(`${okay ? 'ok  ' : 'FAIL'} ${name}`);
  if (failures.length) console.log(`failures (first 10):\n  ${failures.slice(0, 10).join('\n  ')}`);
}
process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
