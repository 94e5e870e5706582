// The library: a Node daemon runs containers in-process, without spawning ocirun per operation.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle, repo, waitFor } from './helpers.mjs';

const ocirun = await import(path.join(repo, 'dist', 'index.js'));

function apiRoot(t) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-api-'));
  t.teardown(async () => {
    for (const c of await ocirun.list({ root })) await ocirun.delete(c.id, { root, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  });
  return root;
}

t.test('create, start, state, kill, delete through the library', async (t) => {
  const root = apiRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const created = await ocirun.create('lib1', { root, bundle });
  t.equal(created.status, 'created');
  t.same(created, await ocirun.state('lib1', { root }), 'what create returns is what state reads');
  await ocirun.start('lib1', { root });
  t.equal((await ocirun.state('lib1', { root })).status, 'running');
  await ocirun.kill('lib1', 'KILL', { root });
  await ocirun.delete('lib1', { root, force: true });
  await t.rejects(ocirun.state('lib1', { root }), { message: 'container "lib1" does not exist' });
});

t.test('errors are typed: ConfigError with a pointer, SystemError with errno fields', async (t) => {
  const root = apiRoot(t);
  const bad = makeBundle(t, (c) => (c.process.args = []));
  await t.rejects(ocirun.create('x', { root, bundle: bad }), { name: 'ConfigError', pointer: '/process/args' });
  const badMount = makeBundle(t, (c) => c.mounts.push({ destination: '/x', type: 'nosuchfs', source: 'none' }));
  await t.rejects(ocirun.create('y', { root, bundle: badMount }), {
    name: 'SystemError',
    code: 'ENODEV',
    errno: -19,
    syscall: 'mount',
    path: '/x',
    step: 'mounts',
  });
});

t.test('the state root: made when missing, refused naming its path when it is not a directory', async (t) => {
  const top = apiRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
  const root = path.join(top, 'not', 'yet');
  await ocirun.create('fresh', { root, bundle });
  t.equal(fs.statSync(root).mode & 0o777, 0o711, 'made, and only traversable by others');
  t.equal(fs.statSync(path.join(root, 'fresh', 'state.json')).mode & 0o777, 0o600, 'the record is the owner\'s alone');
  await t.rejects(ocirun.create('fresh', { root, bundle }), { message: 'container "fresh" already exists' });
  t.same(fs.readdirSync(root), ['fresh'], 'the refused create left nothing beside it');
  await ocirun.delete('fresh', { root, force: true });
  t.same(fs.readdirSync(root), [], 'a created container\'s directory (exec.fifo and all) is gone with it');
  t.equal(await ocirun.run('ran', { root, bundle }), 0);
  t.same(fs.readdirSync(root), [], 'and so is a started one\'s');

  const file = path.join(top, 'a-file');
  fs.writeFileSync(file, '');
  await t.rejects(ocirun.create('x', { root: file, bundle }), {
    name: 'SystemError', code: 'ENOTDIR', syscall: 'open', path: file,
    message: `container "x": making its state directory: open ${file}: Not a directory`,
  });
});

t.test('run returns the exit status; containers per second from one process', async (t) => {
  const root = apiRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'exit 5']));
  t.equal(await ocirun.run('r', { root, bundle }), 5);
  const quick = makeBundle(t, (c) => (c.process.args = ['true']));
  const n = 20;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) t.equal(await ocirun.run(`q${i}`, { root, bundle: quick }), 0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  t.comment(`library: ${(n / secs).toFixed(1)} containers/s (create+start+wait+delete, sequential)`);
  t.same(await ocirun.list({ root }), [], 'run deleted each of them');
});

t.test('run deletes the directory its create made, not another one found under its id', async (t) => {
  const root = apiRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const running = ocirun.run('same', { root, bundle });
  await waitFor(async () => (await ocirun.state('same', { root }).catch(() => undefined))?.status === 'running');
  // What a delete and a create of the same id by another process leave: another directory at the path (here
  // with a copy of the record, so that a delete by id would take it for the container). Then the init ends.
  const dir = path.join(root, 'same');
  const moved = path.join(root, '.moved:same'); // not an id: list skips it
  fs.renameSync(dir, moved);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(moved, 'state.json'), path.join(dir, 'state.json'));
  process.kill(JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).pid, 'SIGKILL');
  t.equal(await running, 128 + 9, 'run reports its container killed');
  t.ok(fs.existsSync(path.join(dir, 'state.json')), 'the directory now at the path is not run\'s: left alone');
  // run's own directory back, for the teardown's delete (its cgroups).
  fs.rmSync(dir, { recursive: true });
  fs.renameSync(moved, dir);
});

t.test('the process waiting for start is small', async (t) => {
  const root = apiRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const { pid } = await ocirun.create('m', { root, bundle });
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(rollup)[1]);
  t.comment(`waiting init: Pss ${kb('Pss')} kB, Anonymous ${kb('Anonymous')} kB, Private_Dirty ${kb('Private_Dirty')} kB`);
  t.ok(kb('Pss') < 1024, `Pss ${kb('Pss')} kB is under 1 MiB (runc's waiting init: about 8.7 MB)`);
  t.ok(kb('Anonymous') < 256, 'no copy of the Node heap');
});

t.test('stdio of the caller\'s choosing: create and execStarted write where the fds given point', async (t) => {
  const root = apiRoot(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-api-stdio-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const input = path.join(dir, 'in');
  fs.writeFileSync(input, 'from-stdin\n');
  const open = (name, flags) => fs.openSync(name === 'in' ? input : path.join(dir, name), flags);
  const [inFd, outFd, errFd] = [open('in', 'r'), open('out', 'w'), open('err', 'w')];
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'read line; echo "out:$line"; echo err-line >&2; exec sleep 100']));
  await ocirun.create('io1', { root, bundle, stdio: [inFd, outFd, errFd] });
  for (const fd of [inFd, outFd, errFd]) fs.closeSync(fd); // the container holds its own copies
  await ocirun.start('io1', { root });
  const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8');
  await waitFor(() => read('out') === 'out:from-stdin\n' && read('err') === 'err-line\n');
  t.equal(read('out'), 'out:from-stdin\n', 'stdout is the file given, stdin read from the one given');
  t.equal(read('err'), 'err-line\n', 'stderr apart');
  const execOut = open('exec-out', 'w');
  const p = await ocirun.execStarted('io1', { root, args: ['sh', '-c', 'echo from-exec; exit 6'], stdio: [execOut, execOut, execOut] });
  fs.closeSync(execOut);
  t.ok(p.pid > 0, 'running when execStarted resolves');
  // `exited` does not keep a process alive (a daemon's server does): this test holds its loop meanwhile.
  const hold = setInterval(() => {}, 1000);
  t.same(await p.exited, { code: 6, signal: 0 }, 'its exit, reaped by the caller\'s process');
  clearInterval(hold);
  t.equal(read('exec-out'), 'from-exec\n');
});
