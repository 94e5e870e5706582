// Many invocations at once: per-container locking, atomic creation, and recovery from a killed create.
import t from 'tap';
import { spawn } from 'node:child_process';
import { afterContainers, bin, fs, path, makeBundle, ocirun, ok, testRoot, waitFor, writeConfig } from './helpers.mjs';

function cli(root, args) {
  return new Promise((resolve) => {
    const p = spawn(bin, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (status) => resolve({ status, stderr: err }));
  });
}

/** A bundle of `sleep 100` with an explicit cgroupsPath, and the cgroup directories of it that exist. */
function withCgroupsPath(t, name) {
  const root = testRoot(t);
  const cgroup = `/ocirun-${name}-${process.pid}`;
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.cgroupsPath = cgroup;
  });
  const cgroupDirs = () => fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}${cgroup}`).filter((d) => fs.existsSync(d));
  afterContainers(t, () => cgroupDirs().forEach((d) => fs.rmdirSync(d)));
  return { root, bundle, cgroupDirs };
}

t.test('20 parallel creates, then 20 parallel deletes', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const created = await Promise.all(ids.map((id) => cli(root, ['create', '--bundle', bundle, id])));
  t.same(created.map((r) => r.status), ids.map(() => 0), created.map((r) => r.stderr).join(''));
  const states = ids.map((id) => JSON.parse(ok(root, ['state', id]).stdout));
  t.ok(states.every((s) => s.status === 'created'));
  t.equal(new Set(states.map((s) => s.pid)).size, 20, 'twenty distinct processes');
  const deleted = await Promise.all(ids.map((id) => cli(root, ['delete', '--force', id])));
  t.same(deleted.map((r) => r.status), ids.map(() => 0));
  t.same(fs.readdirSync(root), []);
});

t.test('two creates of one id: exactly one wins', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all([cli(root, ['create', '--bundle', bundle, 'same']), cli(root, ['create', '--bundle', bundle, 'same'])]);
    t.same(rs.map((r) => r.status).sort(), [0, 1]);
    t.match(rs.find((r) => r.status === 1).stderr, /container "same" already exists/);
    t.same(fs.readdirSync(root), ['same'], 'the loser left nothing of its own (no hidden directory half made)');
    ok(root, ['delete', '--force', 'same']);
  }
});

t.test('a create killed at any point is cleaned by delete --force', async (t) => {
  const { root, bundle, cgroupDirs } = withCgroupsPath(t, 'killed');
  // A createRuntime hook that announces itself and then blocks for as long as the create that ran it lives:
  // no create can finish, so every kill lands mid-create, and the one made once the announcement is there
  // lands after the cgroups, the state and the container's process exist.
  const marker = path.join(bundle, 'hook-ran');
  const hook = `: > ${marker}; while kill -0 $PPID 2>/dev/null; do sleep 0.05; done`;
  writeConfig(bundle, (c) => (c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', hook] }] }));
  // Each kill point is an event seen from outside (never a delay): at once; once the state directory is
  // there; once the cgroup is; once the hook runs (the container's process exists then).
  const stateDir = path.join(root, 'k');
  const killPoints = {
    'at once': () => true,
    'the state directory': () => fs.existsSync(stateDir),
    'the cgroup': () => cgroupDirs().length > 0,
    'the hook': () => fs.existsSync(marker),
  };
  let landed = 0;
  for (const [point, reached] of Object.entries(killPoints)) {
    fs.rmSync(marker, { force: true });
    const p = spawn(bin, ['--root', root, 'create', '--bundle', bundle, 'k'], { stdio: 'ignore' });
    const exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
    await waitFor(reached, 20_000);
    p.kill('SIGKILL');
    const { signal } = await exited;
    if (signal === 'SIGKILL') landed++;
    // The record, not `state` (which reports pid 0 for a stopped container): the process create made.
    const record = path.join(stateDir, 'state.json');
    const pid = fs.existsSync(record) ? JSON.parse(fs.readFileSync(record, 'utf8')).pid : 0;
    if (point === 'the hook') t.ok(pid > 0, 'killed at the hook, the container had its process');
    ok(root, ['delete', '--force', 'k']);
    t.same(fs.readdirSync(root), [], `after a kill at ${point}, nothing left`);
    t.same(cgroupDirs(), [], 'no cgroup either');
    if (point === 'the hook') t.notOk(fs.existsSync(`/proc/${pid}/stat`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'its process is gone');
  }
  t.equal(landed, Object.keys(killPoints).length, 'every kill landed before create finished');
});

t.test('operations on one container are serialised', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', bundle, 's']);
  const rs = await Promise.all([cli(root, ['start', 's']), cli(root, ['start', 's']), cli(root, ['start', 's'])]);
  t.same(rs.map((r) => r.status).sort(), [0, 1, 1], 'one start wins, the others see a running container');
  t.ok(rs.filter((r) => r.status === 1).every((r) => /cannot start an already running container/.test(r.stderr)));
});

t.test('two creates naming one cgroupsPath: exactly one wins, and the loser leaves the winner alone', async (t) => {
  const { root, bundle, cgroupDirs } = withCgroupsPath(t, 'shared');
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all([cli(root, ['create', '--bundle', bundle, 'a']), cli(root, ['create', '--bundle', bundle, 'b'])]);
    t.same(rs.map((r) => r.status).sort(), [0, 1], `round ${round}: one wins`);
    const loser = rs[0].status ? 'a' : 'b';
    const winner = loser === 'a' ? 'b' : 'a';
    t.match(rs.find((r) => r.status === 1).stderr, /cgroup is not empty/);
    t.notOk(fs.existsSync(path.join(root, loser)), 'the loser left no state');
    const pid = JSON.parse(ok(root, ['state', winner]).stdout).pid;
    for (const d of cgroupDirs()) t.match(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8'), new RegExp(`^${pid}$`, 'm'), `${d} still holds the winner`);
    ok(root, ['delete', '--force', winner]);
    t.same(cgroupDirs(), [], 'the winner\'s delete removed the cgroup');
  }
});

t.test('a create that looks while another makes the cgroup waits: the one that made it wins and owns it', async (t) => {
  const { root, bundle, cgroupDirs } = withCgroupsPath(t, 'stalled');
  // strace holds the first create for 150 ms after each mkdir: its cgroup directories appear one by one and
  // its process is not in them yet. The second starts once the first directory is there. Before the lock of
  // the path, it made the rest, claimed the cgroup first and won, owning directories it had not made.
  const first = spawn('strace', ['-qq', '-o', '/dev/null', '-e', 'trace=mkdir,mkdirat', '-e', 'inject=mkdir,mkdirat:delay_exit=150000',
    bin, '--root', root, 'create', '--bundle', bundle, 'first'], { stdio: 'ignore' });
  const firstExit = new Promise((r) => first.on('exit', r));
  await waitFor(() => cgroupDirs().length > 0, 20_000);
  const second = await cli(root, ['create', '--bundle', bundle, 'second']);
  t.equal(await firstExit, 0, 'the create that made the cgroup won');
  t.equal(second.status, 1, 'the other lost');
  t.match(second.stderr, /cgroup is not empty/);
  ok(root, ['delete', '--force', 'first']);
  t.same(cgroupDirs(), [], "the winner's delete removed the cgroup");
  t.same(fs.readdirSync(root), [], 'and no lock file is left');
});

t.test('a container directory never appears without its record', async (t) => {
  // strace holds create (not its children) for 200 ms after each mkdir: the moment a directory exists and nothing
  // is in it yet;
  // meanwhile the test looks at the state root as any other command would.
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  fs.mkdirSync(root, { recursive: true });
  const create = spawn('strace', ['-qq', '-o', '/dev/null', '-e', 'trace=mkdir,mkdirat', '-e', 'inject=mkdir,mkdirat:delay_exit=200000',
    bin, '--root', root, 'create', '--bundle', bundle, 'r'], { stdio: 'ignore' });
  const exited = new Promise((r) => create.on('exit', r));
  let done = false;
  exited.then(() => (done = true));
  let seen = 0;
  let without = 0;
  while (!done) {
    for (const id of fs.readdirSync(root).filter((n) => !n.startsWith('.'))) {
      seen++;
      if (!fs.existsSync(path.join(root, id, 'state.json')) && fs.existsSync(path.join(root, id))) without++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(await exited, 0, 'created');
  t.ok(seen > 0, 'the watcher saw the container');
  t.equal(without, 0, 'never without state.json');
  ok(root, ['delete', '--force', 'r']);
});
