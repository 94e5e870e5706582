// The exact command lines of ../shared/contract.md, as each caller sends them.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { bin, fs, path, makeBundle, ocirun, ok, repo, state, testRoot, waitFor } from './helpers.mjs';

function processFile(bundle, proc) {
  const file = path.join(bundle, 'process.json');
  fs.writeFileSync(file, JSON.stringify({ cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'], ...proc }));
  return file;
}

t.test('containerd and CRI-O: the cgroup commands', async (t) => {
  const root = testRoot(t);
  const B = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'sleep 100 & sleep 100'];
    c.linux.resources = { pids: { limit: 100 } };
  });
  ok(root, ['run', '-d', '--bundle', B, 'ctrd']);
  const pids = JSON.parse(ok(root, ['ps', '--format', 'json', 'ctrd']).stdout);
  t.equal(pids.length, 2, 'ps --format json: an array of pids');
  t.ok(pids.every(Number.isInteger));
  ok(root, ['update', '--resources=-', 'ctrd'], { input: JSON.stringify({ pids: { limit: 50 } }) });
  ok(root, ['update', '--resources', '-', 'ctrd'], { input: JSON.stringify({ pids: { limit: 40 } }) });
  t.equal(JSON.parse(ok(root, ['events', '--stats', 'ctrd']).stdout).data.pids.limit, 40, 'update took, events --stats saw it');
  ok(root, ['pause', 'ctrd']);
  t.equal(state(root, 'ctrd').status, 'paused');
  ok(root, ['resume', 'ctrd']);
  t.equal(state(root, 'ctrd').status, 'running');
  const stream = spawn(bin, ['--root', root, 'events', '--interval=1s', 'ctrd'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => stream.kill('SIGKILL'));
  let out = '';
  stream.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('\n'), 10_000);
  t.equal(JSON.parse(out.split('\n')[0]).type, 'stats', 'events --interval=1s: a stream of JSON lines');
});

t.test('containerd (runc shim)', async (t) => {
  const root = testRoot(t);
  const B = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', B, '--pid-file', `${B}/init.pid`, '--no-pivot', '--no-new-keyring', 'ctrd']);
  t.match(fs.readFileSync(`${B}/init.pid`, 'utf8'), /^\d+$/);
  ok(root, ['start', 'ctrd']);
  t.equal(JSON.parse(ok(root, ['state', 'ctrd']).stdout).status, 'running');
  const P = path.join(B, 'exec.pid');
  ok(root, ['exec', '--process', processFile(B, { args: ['sleep', '50'] }), '--detach', '--pid-file', P, 'ctrd']);
  t.match(fs.readFileSync(P, 'utf8'), /^\d+$/, 'exec pid file');
  t.same(JSON.parse(ok(root, ['list', '--format=json']).stdout).map((c) => c.id), ['ctrd']);
  t.equal(JSON.parse(ocirun('/nonexistent', ['features']).stdout).ociVersionMin, '1.0.0', 'features, no global flags');
  // TERM reaches every process; only the exec'd one dies of it (a pid 1 without a handler ignores it, as
  // under runc, which is why callers follow with KILL).
  const execPid = Number(fs.readFileSync(P, 'utf8'));
  ok(root, ['kill', '--all', 'ctrd', '15']);
  await waitFor(() => !fs.existsSync(`/proc/${execPid}/stat`) || fs.readFileSync(`/proc/${execPid}/stat`, 'utf8').includes(') Z'));
  ok(root, ['kill', 'ctrd', '9']);
  await waitFor(() => state(root, 'ctrd').status === 'stopped');
  ok(root, ['delete', 'ctrd']);
  const gone = ocirun(root, ['delete', '--force', 'ctrd']);
  t.equal(gone.status, 0, 'delete --force of a gone container succeeds');
  t.equal(gone.stderr, '', 'quietly');
});

t.test('conmon (podman)', async (t) => {
  const root = testRoot(t);
  const B = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'cat <&3; sleep 100']));
  const P = path.join(B, 'conmon.pid');
  const dataFile = path.join(B, 'data');
  fs.writeFileSync(dataFile, 'fd3\n');
  const fd = fs.openSync(dataFile, 'r');
  const out = fs.openSync(path.join(B, 'out'), 'w');
  const create = spawn(bin, ['--root', root, 'create', '--bundle', B, '--pid-file', P, '--no-pivot', '--no-new-keyring', '--preserve-fds', '1', 'cmn'], { stdio: ['ignore', out, 'inherit', fd] });
  t.equal(await new Promise((r) => create.on('exit', r)), 0);
  fs.closeSync(fd);
  fs.closeSync(out);
  ok(root, ['start', 'cmn']);
  await waitFor(() => fs.readFileSync(path.join(B, 'out'), 'utf8') === 'fd3\n');
  const EP = path.join(B, 'exec.pid');
  ok(root, ['exec', '--pid-file', EP, '--process', processFile(B, { args: ['sleep', '50'] }), '--detach', '--preserve-fds', '0', '--cap', 'CAP_NET_RAW', 'cmn']);
  t.ok(fs.existsSync(EP));
  ok(root, ['delete', '--force', 'cmn']);
});

t.test('CRI-O and the conformance suite', async (t) => {
  const root = testRoot(t);
  const B = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const P = path.join(B, 'p.pid');
  ok(root, ['create', '--pid-file', P, '--bundle', B, 'conf']);
  ok(root, ['start', 'conf']);
  const r = ocirun('/ignored', [`--root=${root}`, 'kill', '-a', 'conf', 'KILL']);
  t.equal(r.status, 0, r.stderr);
  await waitFor(() => state(root, 'conf').status === 'stopped');
  ok(root, ['delete', '--force', 'conf']);
  ok(root, ['create', '--pid-file', P, '--bundle', B, 'conf2']);
  ok(root, ['kill', 'conf2', 'TERM']);
  await waitFor(() => state(root, 'conf2').status === 'stopped');
  ok(root, ['delete', 'conf2']);
});

t.test('the stub\'s control message: the TypeScript tags are the native header\'s', async (t) => {
  const header = fs.readFileSync(path.join(repo, 'native/src/control.h'), 'utf8');
  const ts = fs.readFileSync(path.join(repo, 'lib/config/control.ts'), 'utf8');
  const native = Object.fromEntries([...header.matchAll(/^\s+kCtl(\w+) = (\d+),/gm)].filter((m) => m[1] !== 'Last').map((m) => [m[1], Number(m[2])]));
  const enumBody = ts.slice(ts.indexOf('export const enum Ctl'), ts.indexOf('}', ts.indexOf('export const enum Ctl')));
  const script = Object.fromEntries([...enumBody.matchAll(/^\s+(\w+) = (\d+),/gm)].map((m) => [m[1], Number(m[2])]));
  t.ok(Object.keys(native).length >= 20, 'the header was read');
  t.same(script, native, 'same names, same numbers');
  t.equal(Number(/kCtlLast = (\d+)/.exec(header)[1]), Math.max(...Object.values(native)), 'kCtlLast is the highest tag');
});

t.test('the steps a failure names: one list, the same on both sides, and every one the code uses is in it', async (t) => {
  const header = fs.readFileSync(path.join(repo, 'native/src/steps.h'), 'utf8');
  const native = [...header.matchAll(/X\(kStep\w+, "([^"]+)"\)/g)].map((m) => m[1]);
  const { STEPS } = await import(path.join(repo, 'dist', 'steps.js'));
  t.ok(native.length >= 40, 'the header was read');
  t.same([...STEPS], native, 'same names, same order');
  t.equal(new Set(native).size, native.length, 'no name twice');
  // Nothing names a step by its text on the native side: set_step and the stub's fail take the enumeration.
  const sources = ['native/src', 'native/src/init'].flatMap((d) =>
    fs.readdirSync(path.join(repo, d)).filter((f) => f.endsWith('.cc')).map((f) => path.join(repo, d, f)));
  for (const f of sources) t.notMatch(fs.readFileSync(f, 'utf8'), /set_step\([^,]+, "|\bfail\("[a-z]/, `${path.basename(f)}: no step as a string`);
  // A step the TypeScript side names is one of the list (the compiler checks the type; this checks the text).
  const ts = execFileSync('grep', ['-rhoE', "step: '[a-zA-Z-]+'", path.join(repo, 'lib')], { encoding: 'utf8' });
  for (const m of ts.matchAll(/step: '([^']+)'/g)) t.ok(native.includes(m[1]), `lib names step "${m[1]}", which is in the list`);
});
