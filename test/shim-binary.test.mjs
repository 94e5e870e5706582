// The shim binary's `start` and `delete`, which the launcher does without Node (native/src/launcher/
// shim_binary.h). start: the socket it names for a container must be the one of its pod's shim whatever the
// bundle's config.json looks like: the group as JSON.parse reads the CRI sandbox annotation, the name as
// Node's sha256 computes it (for keys of every length around SHA-256's block boundaries). A listener made here
// stands for the running shim, so that start only finds it; the address goes to stdout and to the bundle's
// `address` file. delete: the DeleteResponse as protobufjs reads it, the socket of a dead shim removed, and
// what a shim left behind (a container's state, a mounted rootfs) cleaned up by the Node side.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { fs, makeBundle, ok, os, path, repo } from './helpers.mjs';
import { holdContainerdHostDirs } from './helpers/containerd.mjs';

const shimBin = path.join(repo, 'bin', 'containerd-shim-ocirun-v2');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-shim-binary-'));
const ns = `ocirun-shim-binary-${process.pid}`;
const shimRoot = `/run/containerd/ocirun/${ns}`;
const { decode } = await import(path.join(repo, 'dist', 'shim', 'proto.js'));
const SOCKETS = '/run/containerd/s';
const KEY = 'io.kubernetes.cri.sandbox-id';
let release;
/** The host directories this file makes (the shim's sockets' and state's, and their parent): removed at the end. */
let madeDirs = [];

t.before(async () => {
  release = await holdContainerdHostDirs();
  madeDirs = [SOCKETS, '/run/containerd/ocirun', '/run/containerd'].filter((d) => !fs.existsSync(d));
  fs.mkdirSync(SOCKETS, { recursive: true, mode: 0o711 });
});
t.teardown(() => {
  // A start that named another socket than expected started a real shim there: stopped (it is ours, by pid).
  for (const p of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(ns)) process.kill(Number(p), 'SIGKILL');
    } catch { /* gone */ }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(shimRoot, { recursive: true, force: true });
  for (const d of madeDirs) try { fs.rmdirSync(d); } catch { /* not empty: not only ours */ }
  release?.();
});

/** The group as the shim defines it: the annotation when it is a string, else the container. */
function groupOf(config, id) {
  try {
    const value = JSON.parse(config).annotations?.[KEY];
    return typeof value === 'string' && !value.includes('\0') ? value : id;
  } catch {
    return id;
  }
}
const socketFor = (address, group) => path.join(SOCKETS, createHash('sha256').update(`ocirun/${address}/${ns}/${group}`).digest('hex'));

let n = 0;
/** start in a bundle holding `config` (none when undefined), with a listener on `expected`. */
async function start(t, { config, address = '/run/test/containerd.sock', id = 'c1', env = {}, expected }) {
  const bundle = fs.mkdtempSync(path.join(dir, `bundle-${n++}-`));
  if (config !== undefined) fs.writeFileSync(path.join(bundle, 'config.json'), config);
  const server = net.createServer();
  await new Promise((resolve) => server.listen(expected, resolve));
  try {
    const r = spawnSync(shimBin, ['-namespace', ns, '-address', address, '-publish-binary', '/usr/bin/containerd', '-id', id, 'start'], {
      cwd: bundle, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000,
    });
    return { ...r, address: fs.existsSync(path.join(bundle, 'address')) ? fs.readFileSync(path.join(bundle, 'address'), 'utf8') : undefined };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

t.test('the group: the CRI sandbox annotation as JSON.parse reads it, else the container', async (t) => {
  const configs = {
    'compact': JSON.stringify({ ociVersion: '1.0.2', annotations: { [KEY]: 'pod-a' } }),
    'pretty, with everything JSON has before it': JSON.stringify({ process: { args: ['sh'], env: [], terminal: false }, n: [1, -2.5e-3, 0, true, false, null, {}, []], annotations: { x: 'y', [KEY]: 'pod-b' } }, null, 2),
    'the key inside a string elsewhere': `{"process":{"args":["\\"${KEY}\\":\\"decoy\\""]},"annotations":{"${KEY}":"pod-c"}}`,
    'the key written with escapes': `{"annotations":{"io.kubernetes.cri.sandbox\\u002did":"pod-d"}}`,
    'a value with escapes and characters beyond ASCII': `{"annotations":{"${KEY}":"pod\\té\\u00e9\\ud83d\\ude00\\"\\\\\\/"}}`,
    'a lone surrogate in the value': `{"annotations":{"${KEY}":"pod-\\ud800-e"}}`,
    'a duplicate key: the last wins': `{"annotations":{"${KEY}":"first","${KEY}":"last"}}`,
    'a second annotations object replaces the first': `{"annotations":{"${KEY}":"first"},"annotations":{"other":"x"}}`,
    'not a string': `{"annotations":{"${KEY}":42}}`,
    'a NUL in the value': `{"annotations":{"${KEY}":"a\\u0000b"}}`,
    'no annotations': '{"ociVersion":"1.0.2"}',
    'annotations not an object': '{"annotations":[1,2]}',
    'not JSON': `{"annotations":{"${KEY}":"pod-x"}`,
    'trailing text': `{"annotations":{"${KEY}":"pod-x"}} x`,
    'a control character in a string': `{"annotations":{"${KEY}":"pod\n-x"}}`,
    'a long value': JSON.stringify({ annotations: { [KEY]: 'p'.repeat(3000) } }),
    'no config.json': undefined,
  };
  for (const [name, config] of Object.entries(configs)) {
    const group = config === undefined ? 'c1' : groupOf(config, 'c1');
    const expected = socketFor('/run/test/containerd.sock', group);
    const r = await start(t, { config, expected });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    t.equal(r.stdout, `unix://${expected}`, `${name}: the shim of group ${JSON.stringify(group).slice(0, 40)}`);
    t.equal(r.address, r.stdout, `${name}: the address file`);
  }
});

t.test('the socket name: sha256 of keys of every length around the block boundaries', async (t) => {
  const fixed = `ocirun//${ns}/c1`.length;
  for (const total of [...Array(24).keys()].map((i) => 44 + i).concat([110, 118, 119, 120, 121, 128, 1000])) {
    const address = `/${'a'.repeat(Math.max(0, total - fixed - 1))}`;
    const expected = socketFor(address, 'c1');
    const r = await start(t, { config: undefined, address, expected });
    t.equal(r.stdout, `unix://${expected}`, `a key of ${`ocirun/${address}/${ns}/c1`.length} bytes`);
  }
});

t.test('OCIRUN_SHIM_GROUP: namespace makes one group of it; anything else is refused', async (t) => {
  const config = JSON.stringify({ annotations: { [KEY]: 'pod-a' } });
  const r = await start(t, { config, env: { OCIRUN_SHIM_GROUP: 'namespace' }, expected: socketFor('/run/test/containerd.sock', '') });
  t.equal(r.stdout, `unix://${socketFor('/run/test/containerd.sock', '')}`);
  const bad = await start(t, { config, env: { OCIRUN_SHIM_GROUP: 'node' }, expected: socketFor('/run/test/containerd.sock', 'pod-a') });
  t.equal(bad.status, 1);
  t.equal(bad.stderr, 'containerd-shim-ocirun-v2: OCIRUN_SHIM_GROUP=node: expected one of pod, namespace\n');
  t.equal(bad.address, undefined, 'no address file');
  const noNs = spawnSync(shimBin, ['-address', '/x', '-id', 'c1', 'start'], { cwd: dir, encoding: 'utf8' });
  t.equal(noNs.status, 1);
  t.equal(noNs.stderr, 'containerd-shim-ocirun-v2: -namespace is required\n');
  const badFlag = spawnSync(shimBin, ['-namespace', ns, '-nosuchflag', 'start'], { cwd: dir, encoding: 'utf8' });
  t.equal(badFlag.status, 1);
  t.equal(badFlag.stderr, 'containerd-shim-ocirun-v2: flag provided but not defined: -nosuchflag\n', 'a flag it does not know: as the shim\'s other actions say it');
});

/** delete as containerd runs it: -id, -bundle, in the bundle. */
function shimDelete(bundle, id) {
  const r = spawnSync(shimBin, ['-namespace', ns, '-address', '/run/test/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', id, '-bundle', bundle, 'delete'], {
    cwd: bundle, timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr.toString(), response: r.status === 0 ? decode('containerd.task.v2.DeleteResponse', r.stdout) : undefined };
}
const exitedAt = (response) => Number(response.exited_at.seconds) * 1000 + Math.floor((response.exited_at.nanos ?? 0) / 1e6);

t.test('delete after a clean end: the DeleteResponse; the socket of a shim that is gone removed, a live one kept', async (t) => {
  const bundle = fs.mkdtempSync(path.join(dir, 'clean-'));
  const dead = path.join(SOCKETS, `ocirun-test-dead-${process.pid}`);
  fs.writeFileSync(dead, ''); // what a killed shim leaves: the socket's file, nobody listening
  fs.writeFileSync(path.join(bundle, 'address'), `unix://${dead}`);
  const before = Date.now();
  const r = shimDelete(bundle, 'c-clean');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.response.exit_status, 137, 'exit_status: a SIGKILL');
  t.ok(exitedAt(r.response) >= before - 1000 && exitedAt(r.response) <= Date.now() + 1000, 'exited_at: now');
  t.notOk(fs.existsSync(dead), 'the dead shim\'s socket removed');

  const live = path.join(SOCKETS, `ocirun-test-live-${process.pid}`);
  const server = net.createServer();
  await new Promise((resolve) => server.listen(live, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  fs.writeFileSync(path.join(bundle, 'address'), `unix://${live}`);
  t.equal(shimDelete(bundle, 'c-clean').status, 0);
  t.ok(fs.existsSync(live), 'a live shim\'s socket (the pod\'s shim serves others) kept');
  fs.writeFileSync(path.join(bundle, 'address'), `unix://${path.join(dir, 'elsewhere')}`);
  fs.writeFileSync(path.join(dir, 'elsewhere'), '');
  t.equal(shimDelete(bundle, 'c-clean').status, 0);
  t.ok(fs.existsSync(path.join(dir, 'elsewhere')), 'nothing outside containerd\'s socket directory is removed');
});

t.test('delete after a shim that died: its container killed and its state removed, its rootfs unmounted', async (t) => {
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  ok(shimRoot, ['create', '--bundle', bundle, 'c-left']);
  const pid = JSON.parse(ok(shimRoot, ['state', 'c-left']).stdout).pid;
  const r = shimDelete(bundle, 'c-left');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.response.exit_status, 137);
  t.notOk(fs.existsSync(path.join(shimRoot, 'c-left')), 'its state removed');
  const alive = () => { try { return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'); } catch { return false; } };
  t.notOk(alive(), 'its process killed');

  const mounted = fs.mkdtempSync(path.join(dir, 'mounted-'));
  fs.mkdirSync(path.join(mounted, 'rootfs'));
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(mounted, 'rootfs')]);
  t.teardown(() => spawnSync('umount', ['-l', path.join(mounted, 'rootfs')]));
  const m = shimDelete(mounted, 'c-mounted');
  t.equal(m.status, 0, m.stderr);
  t.notOk(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${path.join(mounted, 'rootfs')} `), 'the rootfs unmounted');
});

t.test('the launcher called by the shim\'s name through a symlink (as an installed package links it) is the shim', async (t) => {
  const link = path.join(dir, 'bin', 'containerd-shim-ocirun-v2');
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(path.join(repo, 'build', 'Release', 'ocirun-launch'), link);
  const v = spawnSync(link, ['-v'], { encoding: 'utf8' });
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, /^containerd-shim-ocirun-v2:\n {2}Version: /);
  const expected = socketFor('/run/test/containerd.sock', 'c9');
  const server = net.createServer();
  await new Promise((resolve) => server.listen(expected, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const bundle = fs.mkdtempSync(path.join(dir, 'linked-'));
  const r = spawnSync(link, ['-namespace', ns, '-address', '/run/test/containerd.sock', '-id', 'c9', 'start'], { cwd: bundle, encoding: 'utf8' });
  t.equal(r.stdout, `unix://${expected}`, 'and its start');
});
