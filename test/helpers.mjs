// Shared by the tests: real bundles on a real busybox rootfs, the real CLI, and cleanup that runs even when a
// test fails (every container under the test's own --root is force-deleted, every bundle removed).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const bin = path.join(repo, 'bin', 'ocirun');
const { defaultSpec } = await import(path.join(repo, 'dist', 'index.js'));

/**
 * On v1 and hybrid hosts, each test file's processes (and so the runtimes it starts) live in cgroups of their
 * own, below this process's: a container's default cgroup, named by its id below the runtime's own, then never
 * meets the one of a test file running in parallel that reuses the id ("x", "c"). On a pure v2 host a cgroup
 * with processes cannot delegate controllers to children, so there the files run one at a time instead
 * (scripts/vm/guest-tests.sh). Left at exit, and removed.
 */
function isolateCgroups() {
  const mounts = new Map(); // controllers ("" for cgroup2) -> mount point
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , opts] = post.split(' ');
    if (fstype === 'cgroup2') mounts.set('', pre.split(' ')[4]);
    if (fstype === 'cgroup') for (const o of opts.split(',')) mounts.set(o, pre.split(' ')[4]);
  }
  if (mounts.get('') === '/sys/fs/cgroup') return;
  const moved = [];
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, ctrls, own] = line.split(':');
    const mount = mounts.get(ctrls === '' ? '' : ctrls.split(',')[0]);
    if (!mount) continue;
    const home = path.join(mount, own);
    const dir = path.join(home, `ocirun-tests-${process.pid}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ['cpuset.cpus', 'cpuset.mems'])
      if (fs.existsSync(path.join(dir, f))) fs.writeFileSync(path.join(dir, f), fs.readFileSync(path.join(home, f)));
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid));
    moved.push([home, dir]);
  }
  process.on('exit', () => {
    for (const [home, dir] of moved) {
      try {
        fs.writeFileSync(path.join(home, 'cgroup.procs'), String(process.pid));
        fs.rmdirSync(dir);
      } catch {
        /* a container leaked: scripts/test.sh's sweep removes it and then this */
      }
    }
  });
}
isolateCgroups();

let template;
/** A busybox rootfs made once per test process, copied into each bundle. */
function rootfsTemplate() {
  if (template) return template;
  template = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-rootfs-'));
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), template]);
  process.on('exit', () => fs.rmSync(template, { recursive: true, force: true }));
  return template;
}

/**
 * One teardown per test for what the helpers make: every container in its state roots is force-deleted
 * first, then the roots and bundles are removed. (tap runs teardowns last-registered first, which would remove
 * a bundle while a container still writes into its rootfs.)
 */
const cleanups = new WeakMap();
function cleanupOf(t) {
  let c = cleanups.get(t);
  if (c) return c;
  c = { roots: [], paths: [], after: [] };
  cleanups.set(t, c);
  t.teardown(() => {
    for (const root of c.roots)
      for (const id of fs.existsSync(root) ? fs.readdirSync(root) : [])
        spawnSync(bin, ['--root', root, 'delete', '--force', id]);
    for (const p of [...c.roots, ...c.paths]) fs.rmSync(p, { recursive: true, force: true, maxRetries: 5 });
    for (const fn of c.after) fn();
  });
  return c;
}

/** Runs `fn` at teardown once the test's containers are deleted (for what a test made around them). */
export function afterContainers(t, fn) {
  cleanupOf(t).after.push(fn);
}

/** A state root of its own for one test, force-cleaned at teardown. */
export function testRoot(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-root-'));
  cleanupOf(t).roots.push(root);
  return root;
}

/**
 * A bundle with a copy of the busybox rootfs and a config built from `ocirun spec`'s default
 * (terminal off, writable root). `edit(config)` may change it. Removed at teardown.
 */
export function makeBundle(t, edit = () => {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-bundle-'));
  fs.chmodSync(dir, 0o755); // a mapped root (user namespace) must be able to reach the rootfs
  execFileSync('cp', ['-a', rootfsTemplate(), path.join(dir, 'rootfs')]);
  const config = defaultSpec();
  config.process.terminal = false;
  config.root.readonly = false;
  edit(config);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  cleanupOf(t).paths.push(dir);
  return dir;
}

export function writeConfig(bundle, edit) {
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
}

/**
 * Runs the CLI to completion: { status, stdout, stderr }. Output goes through files, not pipes: a container
 * made by create keeps create's stdio, so a pipe would not see EOF before the container exits.
 */
let seq = 0;
export function ocirun(root, args, opts = {}) {
  const base = path.join(os.tmpdir(), `ocirun-out-${process.pid}-${seq++}`);
  const out = fs.openSync(`${base}.out`, 'w+');
  const err = fs.openSync(`${base}.err`, 'w+');
  try {
    const stdin = opts.input !== undefined ? 'pipe' : 'ignore';
    const r = spawnSync(bin, ['--root', root, ...args], { timeout: 30_000, ...opts, stdio: [stdin, out, err] });
    return {
      status: r.status,
      signal: r.signal,
      stdout: fs.readFileSync(`${base}.out`, 'utf8'),
      stderr: fs.readFileSync(`${base}.err`, 'utf8'),
    };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(`${base}.out`, { force: true });
    fs.rmSync(`${base}.err`, { force: true });
  }
}

/** Runs the CLI and throws with its stderr unless it exits 0. */
export function ok(root, args, opts = {}) {
  const r = ocirun(root, args, opts);
  if (r.status !== 0) throw new Error(`ocirun ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

export const state = (root, id) => JSON.parse(ok(root, ['state', id]).stdout);

/** Runs a container to completion in the foreground and returns its output and exit status. */
export function runContainer(t, args, edit = () => {}, extra = []) {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = args;
    edit(c);
  });
  return { ...ocirun(root, ['run', '--bundle', bundle, ...extra, 'c']), root, bundle };
}

export async function waitFor(cond, ms = 5000) {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Mount points whose path mentions `needle`: must be none once a test's containers are gone. */
export function hostMountsUnder(needle) {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.includes(needle));
}

/**
 * Tests a file defines on this host only, not in the emulated guest (some ten times slower), where only what
 * touches its cgroup v2 and systemd runs: `onHost(name, fn)` defines one here; in the guest it is not defined
 * (never skipped), and `onHost.comment()` names those the guest left out.
 */
export function hostOnlyTests(t) {
  const inGuest = process.env.OCIRUN_IN_GUEST === '1';
  const left = [];
  const onHost = (name, fn) => (inGuest ? left.push(name) : t.test(name, fn));
  onHost.comment = () => left.length && t.comment(`in the guest, defined on the host only: ${left.join('; ')}`);
  return onHost;
}

export { spawn, fs, path, os };
