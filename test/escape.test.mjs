// Attempts to make ocirun act outside the rootfs: symlinks in the image aimed at host paths for mount
// destinations, devices and the working directory; the host binary behind /proc/PID/exe; leaked fds.
import t from 'tap';
import { fs, os, path, hostMountsUnder, makeBundle, ocirun, ok, runContainer, state, testRoot } from './helpers.mjs';

function target(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-escape-target-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('symlinks in the rootfs cannot redirect mounts, devices or cwd to the host', async (t) => {
  const host = target(t);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'pwd -P; ls -d /abs/m /rel/m /abs/dev/evil'];
    c.mounts.push({ destination: '/abs/m', type: 'tmpfs', source: 'tmpfs' });
    c.mounts.push({ destination: '/rel/m', type: 'tmpfs', source: 'tmpfs' });
    c.mounts.push({ destination: '/dotdot/../../../../m2', type: 'tmpfs', source: 'tmpfs' });
    c.linux.devices = [{ type: 'c', path: '/abs/dev/evil', major: 1, minor: 3 }];
    c.process.cwd = '/abs/cwd';
  });
  const rootfs = path.join(bundle, 'rootfs');
  fs.symlinkSync(host, path.join(rootfs, 'abs'));
  fs.symlinkSync(`../../../../../../../../${host}`, path.join(rootfs, 'rel'));
  const again = ocirun(root, ['run', '--bundle', bundle, 'e2']);
  t.equal(again.status, 0, again.stderr);
  t.same(fs.readdirSync(host), [], 'nothing was created in the host directory');
  t.same(hostMountsUnder(host), [], 'nothing was mounted on the host');
  t.ok(fs.existsSync(path.join(rootfs, host, 'm')), 'the absolute symlink resolved inside the rootfs');
  t.ok(fs.existsSync(path.join(rootfs, 'm2')), '".." stops at the rootfs');
  t.equal(again.stdout.split('\n')[0], `${host}/cwd`, 'cwd resolved inside the rootfs');
});

t.test('a symlink to a magic link is resolved as text, inside the rootfs', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.mounts.push({ destination: '/magic/escaped', type: 'tmpfs', source: 'tmpfs' });
  });
  // /proc is mounted first, so /magic leads into the container's /proc and its magic link to the runtime's root.
  fs.symlinkSync('/proc/self/root', path.join(bundle, 'rootfs', 'magic'));
  const r = ocirun(root, ['run', '--bundle', bundle, 'm']);
  t.equal(r.status, 0, r.stderr);
  t.notOk(fs.existsSync('/escaped'), 'nothing was made at the host root');
  t.ok(fs.existsSync(path.join(bundle, 'rootfs', 'escaped')), 'it landed at the rootfs root');
  t.same(hostMountsUnder('/escaped'), []);
});

t.test('the waiting init is a sealed copy, not a host binary', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', bundle, 'x']);
  const pid = state(root, 'x').pid;
  t.match(fs.readlinkSync(`/proc/${pid}/exe`), /^\/memfd:ocirun-init/);
  t.throws(() => fs.openSync(`/proc/${pid}/exe`, 'r+'), /ETXTBSY|EPERM|EACCES/, 'its exe cannot be opened for writing');
  const buf = fs.readFileSync(`/proc/${pid}/exe`);
  t.ok(buf.length > 0 && !buf.includes(Buffer.from('node::Start')), 'it is not the node binary');
});

t.test('the process gets only fds 0-2 and a cwd inside its root', async (t) => {
  // ls as the container process itself (a shell would be mid-pipeline): its fds are 0-2 and its own dir fd.
  const r = runContainer(t, ['ls', '/proc/self/fd'], (c) => (c.process.cwd = '/tmp'));
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['0', '1', '2', '3'], 'stdio, and the directory ls has open');
  const cwd = runContainer(t, ['readlink', '/proc/self/cwd'], (c) => (c.process.cwd = '/tmp'));
  t.equal(cwd.stdout, '/tmp\n', 'the cwd, seen from inside');
});

t.test('capabilities are the configured ones; no_new_privs set', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status'], (c) => {
    c.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 6] };
    c.process.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /CapInh:\t0000000000000020/);
  t.match(r.stdout, /CapPrm:\t0000000000000020/);
  t.match(r.stdout, /CapEff:\t0000000000000020/);
  t.match(r.stdout, /CapBnd:\t0000000000000021/);
  t.match(r.stdout, /CapAmb:\t0000000000000020/);
  t.match(r.stdout, /NoNewPrivs:\t1/);
  const id = runContainer(t, ['id'], (c) => (c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 6], umask: 0o077 }));
  t.match(id.stdout, /uid=1000 gid=1001 groups=5\(tty\)?,6|uid=1000 gid=1001 groups=5,6/);
  const um = runContainer(t, ['sh', '-c', 'umask'], (c) => (c.process.user = { uid: 0, gid: 0, umask: 0o027 }));
  t.equal(um.stdout.trim(), '0027');
});

t.test('each container gets its own session keyring unless --no-new-keyring', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', bundle, 'keyed']);
  t.match(fs.readFileSync('/proc/keys', 'utf8'), /keyring\s+_ses\.keyed:/);
  ok(root, ['create', '--bundle', bundle, '--no-new-keyring', 'shared']);
  t.notMatch(fs.readFileSync('/proc/keys', 'utf8'), /_ses\.shared/);
});
