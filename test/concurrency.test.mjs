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
    ok(root, ['delete', '--force', 'same']);
  }
});

t.test('a create killed at any point is cleaned by delete --force', async (t) => {
  const root = testRoot(t);
  const cgroup = `/ocirun-killed-${process.pid}`;
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.cgroupsPath = cgroup;
  });
  const cgroupDirs = () => fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}${cgroup}`).filter((d) => fs.existsSync(d));
  afterContainers(t, () => cgroupDirs().forEach((d) => fs.rmdirSync(d)));
  // A createRuntime hook that announces itself and then blocks for as long as the create that ran it lives:
  // no create can finish, so every kill lands mid-create, and the one made once the announcement is there
  // lands after the cgroups, the state and the container's process exist.
  const marker = path.join(bundle, 'hook-ran');
  const hook = `: > ${marker}; while kill -0 $PPID 2>/dev/null; do sleep 0.05; done`;
  writeConfig(bundle, (c) => (c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', hook] }] }));
  const killPoints = [0, 5, 10, 20, 30, 'hook'];
  let landed = 0;
  for (const point of killPoints) {
    fs.rmSync(marker, { force: true });
    const p = spawn(bin, ['--root', root, 'create', '--bundle', bundle, 'k'], { stdio: 'ignore' });
    const exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
    if (point === 'hook') await waitFor(() => fs.existsSync(marker), 20_000);
    else await new Promise((r) => setTimeout(r, point));
    p.kill('SIGKILL');
    const { signal } = await exited;
    if (signal === 'SIGKILL') landed++;
    const st = ocirun(root, ['state', 'k']);
    const pid = st.status === 0 ? JSON.parse(st.stdout).pid : 0;
    ok(root, ['delete', '--force', 'k']);
    t.same(fs.readdirSync(root), [], `after a kill at ${point}, nothing left`);
    t.same(cgroupDirs(), [], 'no cgroup either');
    if (pid) t.notOk(fs.existsSync(`/proc/${pid}/stat`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'its process is gone');
  }
  t.equal(landed, killPoints.length, 'every kill landed before create finished');
});

t.test('operations on one container are serialised', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', bundle, 's']);
  const rs = await Promise.all([cli(root, ['start', 's']), cli(root, ['start', 's']), cli(root, ['start', 's'])]);
  t.same(rs.map((r) => r.status).sort(), [0, 1, 1], 'one start wins, the others see a running container');
  t.ok(rs.filter((r) => r.status === 1).every((r) => /cannot start an already running container/.test(r.stderr)));
});
