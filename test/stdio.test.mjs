// stdio pass-through, preserved fds, and no ocirun process holding a caller's pipes after create/start.
import t from 'tap';
import { spawn } from 'node:child_process';
import { bin, fs, os, path, makeBundle, ocirun, ok, runContainer, testRoot } from './helpers.mjs';

t.test('run passes stdin, stdout and stderr through', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'tr a-z A-Z; echo to-stderr >&2']));
  const r = ocirun(root, ['run', '--bundle', bundle, 'io'], { input: 'hello container\n' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'HELLO CONTAINER\n');
  t.equal(r.stderr, 'to-stderr\n');
});

t.test('create hands its pipes to the container and keeps no copy of them', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'echo from-container']));
  const create = spawn(bin, ['--root', root, 'create', '--bundle', bundle, 'p'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  create.stdout.on('data', (d) => (out += d));
  const eof = new Promise((resolve) => create.stdout.on('end', resolve));
  const exited = await new Promise((resolve) => create.on('exit', resolve));
  t.equal(exited, 0);
  t.equal(out, '', 'nothing written before start');
  ok(root, ['start', 'p']);
  // EOF arrives only when every holder of the write end is gone: the container, and nobody of ocirun's.
  const timer = setTimeout(() => t.fail('no EOF: something still holds create\'s stdout'), 5000);
  await eof;
  clearTimeout(timer);
  t.equal(out, 'from-container\n');
});

t.test('--preserve-fds passes fds 3.. and nothing else', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo; cat <&3; cat <&4']));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-fds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'a'), 'fd three\n');
  fs.writeFileSync(path.join(dir, 'b'), 'fd four\n');
  const a = fs.openSync(path.join(dir, 'a'), 'r');
  const b = fs.openSync(path.join(dir, 'b'), 'r');
  const outFile = path.join(dir, 'out');
  const out = fs.openSync(outFile, 'w');
  const child = spawn(bin, ['--root', root, 'run', '--preserve-fds', '2', '--bundle', bundle, 'fds'], { stdio: ['ignore', out, 'inherit', a, b] });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  [a, b, out].forEach((fd) => fs.closeSync(fd));
  t.equal(code, 0);
  const [fds, ...rest] = fs.readFileSync(outFile, 'utf8').split('\n');
  t.equal(fds.trim(), '0 1 2 3 4 5', 'stdio, the two preserved fds, and the one ls opened');
  t.same(rest, ['fd three', 'fd four', '']);
});
