#!/usr/bin/env node
// Benchmark: `ocirun run`, `runc run`, `crun run` and `node -e 0` on one busybox bundle, alternating so that
// machine noise hits every runtime alike; medians and ratios, never one absolute time. Then the per-command
// cost of the CLI over Node's own start-up, and containers per second through the library from one process.
//
//   sudo node bench/run.js [--runs N]
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.join(__dirname, '..');
const ocirunBin = path.join(repo, 'bin', 'ocirun');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 30;

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function makeBundle() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-bench-'));
  fs.chmodSync(dir, 0o755);
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), path.join(dir, 'rootfs')]);
  const { defaultSpec } = require(path.join(repo, 'dist', 'index.js'));
  const c = defaultSpec();
  c.process.terminal = false;
  c.process.args = ['true'];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return dir;
}

function time(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function compare(title, cases) {
  const samples = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) for (const [name, argv] of cases) samples[name].push(time(argv(i)));
  const base = median(samples[cases[0][0]]);
  console.log(`\n${title} (${runs} runs each, alternating; median ms, ratio to ${cases[0][0]})`);
  for (const [name] of cases) {
    const m = median(samples[name]);
    console.log(`  ${name.padEnd(22)} ${m.toFixed(1).padStart(8)} ms   x${(m / base).toFixed(2)}`);
  }
  return Object.fromEntries(cases.map(([name]) => [name, median(samples[name])]));
}

async function main() {
  if (process.getuid() !== 0) throw new Error('run as root');
  const bundle = makeBundle();
  const roots = {};
  for (const r of ['ocirun', 'runc', 'crun']) roots[r] = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${r}-`));
  try {
    const cases = [['ocirun run', (i) => [ocirunBin, '--root', roots.ocirun, 'run', '--bundle', bundle, `b${i}`]]];
    for (const r of ['runc', 'crun']) {
      const bin = which(r);
      if (!bin) {
        console.log(`(${r} not installed: apt-get install ${r})`);
        continue;
      }
      const argv = (i) => [bin, '--root', roots[r], 'run', '--bundle', bundle, `${r}-${i}`];
      const probe = spawnSync(argv('probe')[0], argv('probe').slice(1), { encoding: 'utf8' });
      if (probe.status !== 0) {
        // crun 1.8 refuses hybrid cgroup hosts (like the development machine) whatever its flags.
        console.log(`(${r} cannot run containers on this host, left out: ${probe.stderr.trim().split('\n').pop()})`);
        continue;
      }
      cases.push([`${r} run`, argv]);
    }
    cases.push(['node -e 0', () => [process.execPath, '-e', '0']]);
    compare('Whole container: run of `true`', cases);

    // The CLI's own work on top of Node's start-up.
    execFileSync(ocirunBin, ['--root', roots.ocirun, 'create', '--bundle', bundle, 'idle'], { stdio: 'ignore' });
    const cli = compare('One CLI command', [
      ['node -e 0', () => [process.execPath, '-e', '0']],
      ['ocirun --version', () => [ocirunBin, '--version']],
      ['ocirun state', () => [ocirunBin, '--root', roots.ocirun, 'state', 'idle']],
    ]);
    console.log(`  ocirun's own work per command: ${(cli['ocirun state'] - cli['node -e 0']).toFixed(1)} ms over node's start-up`);
    execFileSync(ocirunBin, ['--root', roots.ocirun, 'delete', '--force', 'idle']);

    const lib = require(path.join(repo, 'dist', 'index.js'));
    const n = runs * 2;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await lib.run(`lib${i}`, { root: roots.ocirun, bundle });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`\nLibrary, one process: ${(n / secs).toFixed(1)} containers/s (run = create+start+wait+delete of \`true\`)`);
  } finally {
    for (const [r, root] of Object.entries(roots)) {
      for (const id of fs.readdirSync(root)) spawnSync(r === 'ocirun' ? ocirunBin : r, ['--root', root, 'delete', '--force', id]);
      fs.rmSync(root, { recursive: true, force: true });
    }
    fs.rmSync(bundle, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
