#!/usr/bin/env node
// Benchmark: ocirun against runc and crun (each where it can run here) and `node -e 0`, on one busybox bundle,
// alternating so that machine noise hits every runtime alike. Medians and same-run ratios, never one absolute
// time. Sections:
//   1. a whole container (`run` of `true`);
//   2. one CLI command that makes no container (--version, state, list);
//   3. each lifecycle step on its own (create, start, state, kill, delete), against runc's and crun's, and a
//      create of a config that carries a daemon's seccomp profile (podman's default, where podman is installed);
//   4. the kernel's share that no runtime avoids on a v1/hybrid host: the RCU grace period of the first write
//      of a pid into a v1 cgroup.procs, measured apart;
//   5. containers per second through the library in one process, against a `runc run` loop, in alternating
//      rounds;
//   6. where a library container's time goes, step by step (from the debug lines the library reports).
// Every command runs in a clean environment (no NODE_*, UV_* or OPENSSL_CONF), and ocirun once more with the
// caller's NODE_EXTRA_CA_CERTS and NODE_OPTIONS set, which must change nothing. Inside the cgroup v2 guest
// (ratios only: it is emulated): scripts/vm/run-guest.sh 'node bench/run.js --runs 20'.
//
//   sudo node bench/run.js [--runs N]
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.join(__dirname, '..');
// The command as installed: an installed package's bin/ocirun is the launcher itself (scripts/prepare-start.js);
// a checkout's is a shell script in front of it, which costs about 2 ms that no user of the package pays.
const launcher = path.join(repo, 'build', 'Release', 'ocirun-launch');
const ocirunBin = fs.existsSync(launcher) ? launcher : path.join(repo, 'bin', 'ocirun');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 30;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(NODE_|UV_)|^OPENSSL_CONF$/.test(k)));
const callerEnv = { ...cleanEnv, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', NODE_OPTIONS: '--max-old-space-size=4096' };

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function makeBundle(args, edit = () => {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-bench-'));
  fs.chmodSync(dir, 0o755);
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), path.join(dir, 'rootfs')]);
  const { defaultSpec } = require(path.join(repo, 'dist', 'index.js'));
  const c = defaultSpec();
  c.process.terminal = false;
  c.process.args = args;
  edit(c);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return dir;
}

/**
 * The seccomp profile a daemon passes with every container: podman's default (containers-common's
 * /usr/share/containers/seccomp.json), put in the runtime-spec's form for this machine's architecture and the
 * config's capabilities, as podman does. Undefined where it is not installed.
 */
function daemonSeccomp(caps) {
  const file = '/usr/share/containers/seccomp.json';
  const arch = { x64: ['amd64', 'SCMP_ARCH_X86_64'], arm64: ['arm64', 'SCMP_ARCH_AARCH64'] }[process.arch];
  if (!arch || !fs.existsSync(file)) return undefined;
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const applies = ({ includes: inc = {}, excludes: exc = {} }) =>
    (!inc.arches?.length || inc.arches.includes(arch[0])) && (inc.caps ?? []).every((c) => caps.includes(c)) &&
    !(exc.arches ?? []).includes(arch[0]) && !(exc.caps ?? []).some((c) => caps.includes(c));
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: [arch[1], ...((p.archMap ?? []).find((m) => m.architecture === arch[1])?.subArchitectures ?? [])],
    syscalls: p.syscalls.filter(applies).map(({ names, action, args, errnoRet }) => ({ names, action, ...(args ? { args } : {}), ...(errnoRet !== undefined ? { errnoRet } : {}) })),
  };
}

// stderr goes to a file, not a pipe: a container made by create keeps create's stdio, and a pipe would not
// see EOF before the container ends.
const errFile = path.join(os.tmpdir(), `ocirun-bench-stderr-${process.pid}`);
process.on('exit', () => fs.rmSync(errFile, { force: true }));

function time(argv, env = cleanEnv) {
  const err = fs.openSync(errFile, 'w+');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', err], env });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${fs.readFileSync(errFile, 'utf8')}`);
    return ms;
  } finally {
    fs.closeSync(err);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const row = (name, ms, base) => `  ${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms   x${(ms / base).toFixed(2)}`;

/** cases: [name, (i) => argv, env?]; alternating; medians and ratios to the first case. */
function compare(title, cases) {
  const samples = cases.map(() => []);
  for (let i = 0; i < runs; i++) cases.forEach(([, argv, env], k) => samples[k].push(time(argv(i), env)));
  const medians = samples.map(median);
  console.log(`\n${title} (${runs} runs each, alternating; median, ratio to ${cases[0][0]})`);
  cases.forEach(([name], k) => console.log(row(name, medians[k], medians[0])));
  return Object.fromEntries(cases.map(([name], k) => [name, medians[k]]));
}

/** Until `pid` is a zombie or reaped (/proc/PID/stat answers ESRCH while the task is on its way out). */
function waitGone(pid) {
  for (;;) {
    try {
      if (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) return;
    } catch (err) {
      if (err.code !== 'ESRCH') return; // ENOENT: reaped
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
}

/**
 * Each lifecycle step alone, for every runtime, alternating runtimes per cycle; and, with `daemonBundle`, the
 * create of a config with a daemon's seccomp profile (then deleted, untimed). `node -e 0` runs in every cycle
 * too, so that "over node" compares times taken in the same minutes.
 */
function lifecycleSteps(runtimes, bundle, daemonBundle) {
  const steps = ['create', 'start', 'state', 'kill', 'delete', ...(daemonBundle ? ['create, seccomp'] : [])];
  const samples = Object.fromEntries(runtimes.map(([name]) => [name, Object.fromEntries(steps.map((s) => [s, []]))]));
  const nodeSamples = [];
  for (let i = 0; i < runs; i++)
    for (const [name, bin, root] of runtimes) {
      nodeSamples.push(time([process.execPath, '-e', '0']));
      const id = `step-${i}`;
      const cmd = (...a) => [bin, '--root', root, ...a];
      if (daemonBundle) {
        samples[name]['create, seccomp'].push(time(cmd('create', '--bundle', daemonBundle, `${id}-sec`)));
        spawnSync(bin, ['--root', root, 'delete', '--force', `${id}-sec`], { env: cleanEnv });
      }
      samples[name].create.push(time(cmd('create', '--bundle', bundle, id)));
      samples[name].start.push(time(cmd('start', id)));
      samples[name].state.push(time(cmd('state', id)));
      const pid = JSON.parse(spawnSync(bin, ['--root', root, 'state', id], { encoding: 'utf8', env: cleanEnv }).stdout).pid;
      samples[name].kill.push(time(cmd('kill', id, 'KILL')));
      waitGone(pid);
      samples[name].delete.push(time(cmd('delete', id)));
    }
  const nodeMs = median(nodeSamples);
  console.log(`\nEach step alone (${runs} cycles; median ms; in brackets: over node -e 0, ${nodeMs.toFixed(1)} ms in these cycles; ratio to runc)` +
    (daemonBundle ? '; "create, seccomp": a config with podman\'s default seccomp profile' : ''));
  console.log(`  ${'step'.padEnd(16)}${runtimes.map(([n]) => n.padStart(24)).join('')}`);
  for (const s of steps) {
    const m = runtimes.map(([n]) => median(samples[n][s]));
    const base = m[runtimes.findIndex(([n]) => n === 'runc')] ?? m[0];
    console.log(`  ${s.padEnd(16)}${m.map((v) => `${v.toFixed(1)} [${(v - nodeMs).toFixed(1).padStart(5)}] x${(v / base).toFixed(2)}`.padStart(24)).join('')}`);
  }
}

/**
 * The first write of a pid into a v1 cgroup.procs after a quiet moment waits for an RCU grace period (the
 * kernel's cgroup_threadgroup_rwsem); every runtime pays it once per container on a v1 or hybrid host.
 */
function gracePeriod() {
  const pids = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup \S+ .*\bpids\b/.test(l));
  if (!pids) return undefined;
  const dir = path.join(pids.split(' ')[4], `ocirun-bench-grace-${process.pid}`);
  fs.mkdirSync(dir);
  const samples = [];
  try {
    for (let i = 0; i < Math.min(runs, 15); i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // quiet, as between two commands
      const child = require('node:child_process').spawn('sleep', ['10']);
      const t0 = process.hrtime.bigint();
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(child.pid));
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      child.kill('SIGKILL');
      waitGone(child.pid);
    }
  } finally {
    for (;;) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }
  return median(samples);
}

// A library container's steps, each ending at the debug line that follows it (lib/lifecycle: create, start,
// delete), in order.
const STEPS = [
  ['config read, validated and planned', /^config: /],
  ['state directory', /^state: /],
  ['cgroups made', /^cgroups/],
  ['cgroups claimed', /^spawn: clone3/],
  ['spawn (the kernel, the child, the init stub)', /^spawn: init \d+ is ready/],
  ['record, hooks, commit', /^commit: /],
  ['start', /^start: /],
  ['the exit, then delete', /^delete: /],
];

/**
 * Where a library container's time goes: `n` runs in a row, each step timed from the debug lines the library
 * gives its onDebug. Means, not medians: inside the guest the clock moves in 4 ms steps, which only a mean
 * of many containers averages out.
 */
async function stepTimes(lib, root, bundle, n, nextId) {
  const sums = new Array(STEPS.length + 1).fill(0);
  let counted = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const seen = [];
    const t0 = performance.now();
    await lib.run(nextId(), { root, bundle, onDebug: (msg) => seen.push([msg, performance.now()]) });
    const end = performance.now();
    const at = STEPS.map(([, re]) => seen.find(([msg]) => re.test(msg))?.[1]);
    if (at.some((t) => t === undefined)) continue;
    [...at, end].forEach((t, k) => (sums[k] += t - (k ? at[k - 1] : t0)));
    total += end - t0;
    counted++;
  }
  if (!counted) return console.log('\n(no container gave all its debug lines: steps not timed)');
  const parts = [...STEPS.map(([name]) => name), 'the rest'].map((name, k) => `${name} ${(sums[k] / counted).toFixed(2)}`);
  console.log(`\nWhere a library container's time goes (${counted} in a row, mean ms): ${parts.join(', ')}; in all ${(total / counted).toFixed(2)}`);
}

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root');
  const had = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'].filter((k) => process.env[k]);
  console.log(`Environment: commands run without NODE_*, UV_* and OPENSSL_CONF${had.length ? ` (this shell sets ${had.join(', ')})` : ''}; ` +
    `"caller env" rows add NODE_EXTRA_CA_CERTS and NODE_OPTIONS. node ${process.version}, ${os.cpus().length} cpus, ${os.release()}. ` +
    `ocirun is ${path.relative(repo, ocirunBin)}${ocirunBin === launcher ? ' (what an installed bin/ocirun is)' : ''}.`);
  const trueBundle = makeBundle(['true']);
  const sleepBundle = makeBundle(['sleep', '100']);
  const seccomp = daemonSeccomp(require(path.join(repo, 'dist', 'index.js')).defaultSpec().process.capabilities.bounding);
  const daemonBundle = seccomp && makeBundle(['sleep', '100'], (c) => (c.linux.seccomp = seccomp));
  const roots = {};
  for (const r of ['ocirun', 'runc', 'crun']) roots[r] = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${r}-`));
  const node = ['node -e 0', () => [process.execPath, '-e', '0']];
  try {
    const peers = [];
    for (const r of ['runc', 'crun']) {
      const bin = which(r);
      if (!bin) {
        console.log(`(${r} not installed)`);
        continue;
      }
      const probe = spawnSync(bin, ['--root', roots[r], 'run', '--bundle', trueBundle, `${r}-probe`], { encoding: 'utf8' });
      if (probe.status !== 0) {
        // crun 1.8 refuses hybrid cgroup hosts (like the development machine) whatever its flags.
        console.log(`(${r} cannot run containers on this host, left out: ${probe.stderr.trim().split('\n').pop()})`);
        continue;
      }
      peers.push([r, bin, roots[r]]);
    }
    const runCase = (name, bin, root, env) => [name, (i) => [bin, '--root', root, 'run', '--bundle', trueBundle, `${name.split(' ')[0]}-${env ? 'e' : 'r'}${i}`], env];
    const whole = compare('Whole container: run of `true`', [
      node,
      runCase('ocirun run', ocirunBin, roots.ocirun),
      runCase('ocirun run (caller env)', ocirunBin, roots.ocirun, callerEnv),
      ...peers.map(([r, bin, root]) => runCase(`${r} run`, bin, root)),
    ]);

    time([ocirunBin, '--root', roots.ocirun, 'create', '--bundle', sleepBundle, 'idle']);
    const st = () => [ocirunBin, '--root', roots.ocirun, 'state', 'idle'];
    compare('One CLI command', [
      node,
      ['ocirun --version', () => [ocirunBin, '--version']],
      ['ocirun state', st],
      ['ocirun state (caller env)', st, callerEnv],
      ['ocirun list', () => [ocirunBin, '--root', roots.ocirun, 'list']],
      ...peers.map(([r, bin, root]) => [`${r} list`, () => [bin, '--root', root, 'list']]),
    ]);
    spawnSync(ocirunBin, ['--root', roots.ocirun, 'delete', '--force', 'idle'], { env: cleanEnv });

    lifecycleSteps([['ocirun', ocirunBin, roots.ocirun], ...peers], sleepBundle, daemonBundle);

    const grace = gracePeriod();
    if (grace !== undefined) {
      console.log(`\nThe kernel's share: first write of a pid into a v1 cgroup.procs after 100 ms of quiet: ${grace.toFixed(1)} ms (median)`);
      console.log('  runc pays it once per container; ocirun does not (its process moves itself, through tasks)');
      console.log(`  ocirun run over node -e 0: ${(whole['ocirun run'] - whole['node -e 0']).toFixed(1)} ms; ` +
        `ocirun run / (node -e 0 + grace period): x${(whole['ocirun run'] / (whole['node -e 0'] + grace)).toFixed(2)}`);
    } else console.log('\n(no v1 cgroup hierarchy: no grace period to measure)');

    // Rounds that alternate the library's block with each peer's loop, so that a busy spell of this machine
    // (or of the guest's emulator) hits both sides of a ratio: the ratio is the median of the rounds'.
    const lib = require(path.join(repo, 'dist', 'index.js'));
    const rounds = 5;
    const block = Math.max(2, Math.round((runs * 3) / rounds));
    const rate = async (work) => {
      const t0 = process.hrtime.bigint();
      await work();
      return block / (Number(process.hrtime.bigint() - t0) / 1e9);
    };
    let seq = 0;
    const inRow = () => rate(async () => {
      for (let i = 0; i < block; i++) await lib.run(`lib${seq++}`, { root: roots.ocirun, bundle: trueBundle });
    });
    // Eight in flight: what a daemon running many containers gets (the spawns run on the addon's threads while
    // the JS thread goes on with the others).
    const eightAtOnce = () => rate(async () => {
      let left = block;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (left-- > 0) await lib.run(`par${seq++}`, { root: roots.ocirun, bundle: trueBundle });
      }));
    });
    const loop = (bin, root) => rate(async () => {
      for (let i = 0; i < block; i++) time([bin, '--root', root, 'run', '--bundle', trueBundle, `loop${seq++}`]);
    });
    await lib.run('warm', { root: roots.ocirun, bundle: trueBundle });
    const seen = { row: [], eight: [], peers: peers.map(() => []), rowRatio: peers.map(() => []), eightRatio: peers.map(() => []) };
    for (let r = 0; r < rounds; r++) {
      const rowRate = await inRow();
      const eightRate = await eightAtOnce();
      seen.row.push(rowRate);
      seen.eight.push(eightRate);
      for (const [k, [, bin, root]] of peers.entries()) {
        const peer = await loop(bin, root);
        seen.peers[k].push(peer);
        seen.rowRatio[k].push(rowRate / peer);
        seen.eightRatio[k].push(eightRate / peer);
      }
    }
    console.log(`\nLibrary, one process (${rounds} rounds of ${block}, alternating with each runtime's loop; medians): ` +
      `${median(seen.row).toFixed(1)} containers/s in a row (run = create+start+wait+delete of \`true\`), ` +
      `${median(seen.eight).toFixed(1)} containers/s with eight in flight`);
    for (const [k, [r]] of peers.entries())
      console.log(`  a \`${r} run\` loop: ${median(seen.peers[k]).toFixed(1)} containers/s; the library: ` +
        `x${median(seen.rowRatio[k]).toFixed(2)} in a row, x${median(seen.eightRatio[k]).toFixed(2)} eight at once ` +
        `(rounds' ratios in a row: ${seen.rowRatio[k].map((x) => x.toFixed(2)).join(' ')})`);
    await stepTimes(lib, roots.ocirun, trueBundle, rounds * block, () => `steps${seq++}`);
  } finally {
    for (const [r, root] of Object.entries(roots)) {
      const bin = r === 'ocirun' ? ocirunBin : which(r);
      if (bin) for (const id of fs.readdirSync(root)) spawnSync(bin, ['--root', root, 'delete', '--force', id], { env: cleanEnv });
      fs.rmSync(root, { recursive: true, force: true });
    }
    fs.rmSync(trueBundle, { recursive: true, force: true });
    fs.rmSync(sleepBundle, { recursive: true, force: true });
    if (daemonBundle) fs.rmSync(daemonBundle, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
