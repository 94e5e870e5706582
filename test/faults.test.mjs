// Faults from outside: a state record damaged or a cgroup removed behind ocirun's back, an init killed while
// paused, a frozen cgroup named by cgroupsPath, a full disk under --root. Each command gives a clear error or
// recovers, never hangs, and `delete --force` always leaves nothing. And a clone the kernel refuses.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterContainers, bin, fs, os, path, makeBundle, ocirun, ok, state, testRoot, waitFor } from './helpers.mjs';

const alive = (pid) => {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const cgroupsOf = (pid) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');

t.test('a damaged state.json: a clear error, listed, and delete --force removes the container and its processes', async (t) => {
  for (const [name, damage] of [['emptied', () => ''], ['cut in half', (s) => s.slice(0, s.length >> 1)]]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
    ok(root, ['run', '-d', '--bundle', bundle, 'd']);
    const pid = state(root, 'd').pid;
    const file = path.join(root, 'd', 'state.json');
    fs.writeFileSync(file, damage(fs.readFileSync(file, 'utf8')));
    const st = ocirun(root, ['state', 'd']);
    t.equal(st.status, 1, `${name}: state fails`);
    t.match(st.stderr, /container "d": its state\.json is damaged .*delete --force d/, `${name}: and says what to do`);
    t.notMatch(st.stderr, /\n\s+at /, 'no stack trace');
    t.match(ok(root, ['list']).stdout, /^d\s+0\s+stopped/m, `${name}: listed, so that it can be seen`);
    const del = ocirun(root, ['delete', '--force', 'd']);
    t.equal(del.status, 0, del.stderr);
    t.match(del.stderr, /had a damaged state\.json/);
    await waitFor(() => !alive(pid), 5000);
    t.notOk(fs.existsSync(path.join(root, 'd')), `${name}: no state left`);
  }
});

t.test('a cgroup removed by hand after the container stopped: delete still works', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
  ok(root, ['run', '--keep', '--bundle', bundle, 'g']);
  const rec = JSON.parse(fs.readFileSync(path.join(root, 'g', 'state.json'), 'utf8')).cgroup;
  for (const d of new Set([rec.unified, ...Object.values(rec.v1)].filter(Boolean))) fs.rmdirSync(d);
  const r = ocirun(root, ['delete', 'g']);
  t.equal(r.status, 0, r.stderr);
  t.notOk(fs.existsSync(path.join(root, 'g')));
});

t.test('an init SIGKILLed while paused: the state stays paused until resume, and delete --force cleans up', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', bundle, 'p']);
  const pid = state(root, 'p').pid;
  ok(root, ['pause', 'p']);
  process.kill(pid, 'SIGKILL'); // pending: a frozen task dies once thawed
  t.equal(state(root, 'p').status, 'paused');
  const r = ocirun(root, ['delete', '--force', 'p']);
  t.equal(r.status, 0, r.stderr);
  await waitFor(() => !alive(pid), 5000);
  t.notOk(fs.existsSync(path.join(root, 'p')));
});

t.test('a cgroupsPath naming a frozen cgroup is refused at once (it would never let the process run)', async (t) => {
  const name = `ocirun-frozen-${process.pid}`;
  const v2 = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' /sys/fs/cgroup rw') && fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dirs = v2 ? [`/sys/fs/cgroup/${name}`] : [`/sys/fs/cgroup/freezer/${name}`];
  for (const d of dirs) fs.mkdirSync(d);
  afterContainers(t, () => dirs.forEach((d) => fs.existsSync(d) && fs.rmdirSync(d)));
  fs.writeFileSync(path.join(dirs[0], v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '1' : 'FROZEN');
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.cgroupsPath = `/${name}`;
  });
  const r = ocirun(root, ['run', '-d', '--bundle', bundle, 'f'], { timeout: 20_000 });
  t.equal(r.status, 1, r.stderr);
  t.match(r.stderr, /\/linux\/cgroupsPath: container's cgroup is frozen/);
  t.notOk(fs.existsSync(path.join(root, 'f')), 'nothing left behind');
  t.ok(fs.readdirSync('/sys/fs/cgroup').every((c) => !fs.existsSync(`/sys/fs/cgroup/${c}/${name}`) || dirs.includes(`/sys/fs/cgroup/${c}/${name}`)), 'no cgroup made either');
});

t.test('a full disk under --root: create fails clearly and leaves nothing', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', root]);
  t.teardown(() => {
    execFileSync('umount', [root]);
    fs.rmdirSync(root);
  });
  fs.writeFileSync(path.join(root, '.filler'), Buffer.alloc(60 * 1024)); // what is left cannot hold a record
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const r = ocirun(root, ['create', '--bundle', bundle, 'full']);
  t.equal(r.status, 1);
  t.match(r.stderr, /ENOSPC|no space left/i);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.same(fs.readdirSync(root).filter((n) => n !== '.filler'), [], 'no state directory, hidden or not');
});

t.test('a clone the kernel refuses (no network namespace left): create fails at once with clone3 and its errno, and leaves nothing', async (t) => {
  // In a user namespace of the test's own, whose limit of network namespaces is 0: the container's clone (its
  // user namespace inside that one) gets ENOSPC, with CLONE_INTO_CGROUP and without.
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    delete c.linux.resources;
  });
  const script = 'echo 0 > /proc/sys/user/max_net_namespaces && exec "$@"';
  const r = spawnSync('unshare', ['--user', '--map-root-user', 'sh', '-c', script, 'sh', bin, '--root', root, 'run', '--bundle', bundle, 'refused'],
    { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.signal, null, 'it did not hang');
  t.equal(r.status, 1, r.stderr);
  t.match(r.stderr, /^ocirun: spawn: clone3 No space left on device/);
  t.same(fs.readdirSync(root), [], 'no state directory, hidden or not');
});
