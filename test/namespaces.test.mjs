// Each namespace type, new and joined, seen from inside a real container.
import t from 'tap';
import { fs, hostMountsUnder, makeBundle, ocirun, ok, path, runContainer, state, testRoot, waitFor } from './helpers.mjs';

const ns = (pid, type) => fs.readlinkSync(`/proc/${pid}/ns/${type}`);

t.test('pid, uts, net, ipc, mount, cgroup: new namespaces', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'echo pid=$$; hostname; ip -o link | cut -d: -f2; cat /proc/self/cgroup | head -1; ls /proc | grep -c "^[0-9]"; cat /proc/sys/kernel/domainname'], (c) => {
    c.hostname = 'box';
    c.domainname = 'example.org';
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim());
  t.equal(lines[0], 'pid=1', 'the process is pid 1 of its own pid namespace');
  t.equal(lines[1], 'box', 'hostname');
  t.same(lines[2], 'lo', 'the network namespace holds only loopback');
  t.match(lines[3], /:\/$/, 'the cgroup namespace root is the container cgroup');
  t.ok(Number(lines[4]) <= 3, 'only the container processes are visible in /proc');
  t.equal(lines[5], 'example.org', 'domainname');
});

t.test('domainname and namespace inodes differ from the host', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.domainname = 'example.org';
  });
  ok(root, ['create', '--bundle', bundle, 'n']);
  const pid = state(root, 'n').pid;
  for (const type of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'])
    t.not(ns(pid, type), ns(process.pid, type), `${type} namespace is new`);
  t.equal(ns(pid, 'user'), ns(process.pid, 'user'), 'no user namespace was asked for');
});

t.test('joining namespaces by path, and a path of the wrong type', async (t) => {
  const root = testRoot(t);
  const first = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', first, 'a']);
  const pid = state(root, 'a').pid;
  const second = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    delete c.hostname;
    c.linux.namespaces = c.linux.namespaces.map((n) =>
      ['network', 'ipc', 'uts', 'pid'].includes(n.type) ? { type: n.type, path: `/proc/${pid}/ns/${{ network: 'net' }[n.type] ?? n.type}` } : n,
    );
  });
  ok(root, ['create', '--bundle', second, 'b']);
  const other = state(root, 'b').pid;
  for (const type of ['net', 'ipc', 'uts', 'pid']) t.equal(ns(other, type), ns(pid, type), `${type} joined`);
  t.not(ns(other, 'mnt'), ns(pid, 'mnt'), 'its own mount namespace');

  const wrong = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/ipc` } : n));
  });
  const r = ocirun(root, ['create', '--bundle', wrong, 'w']);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`/proc/${pid}/ns/ipc`));
  t.match(r.stderr, /not a net namespace/);
  t.notOk(fs.existsSync(`${root}/w`), 'nothing left behind');
});

t.test('user namespace: ids mapped, files created with the mapped owner', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; touch /tmp/made; ls -ln /dev/null'], (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], '0');
  t.match(lines[1], /^\s*0\s+200000\s+65536$/);
  t.match(lines[2], /^\s*0\s+300000\s+65536$/);
  const st = fs.statSync(`${r.bundle}/rootfs/tmp/made`);
  t.same([st.uid, st.gid], [200000, 300000], 'a file made inside is owned by the mapped host ids');
  t.match(lines[3], /^c.* 1,\s+3 /, '/dev/null is the real device (a bind of the host node)');
});

t.test('time namespace: offsets apply inside', async (t) => {
  const host = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const r = runContainer(t, ['cat', '/proc/uptime'], (c) => {
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 } };
  });
  t.equal(r.status, 0, r.stderr);
  const inside = Number(r.stdout.split(' ')[0]);
  t.ok(inside >= host + 86400 * 365 - 5, `uptime inside (${inside}) is a year ahead of the host's (${host})`);
});

t.test('time namespace: one without offsets, and joining another container\'s, with its offsets', async (t) => {
  const root = testRoot(t);
  const first = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.namespaces.push({ type: 'time' });
    c.linux.timeOffsets = { monotonic: { secs: 3600, nanosecs: 0 }, boottime: { secs: 86400 } };
  });
  ok(root, ['run', '-d', '--bundle', first, 'first']);
  const pid = state(root, 'first').pid;
  const bare = runContainer(t, ['cat', '/proc/self/timens_offsets'], (c) => c.linux.namespaces.push({ type: 'time' }));
  t.equal(bare.status, 0, bare.stderr);
  t.match(bare.stdout, /^monotonic\s+0\s+0\nboottime\s+0\s+0\n$/, 'a new time namespace without offsets');
  const joined = runContainer(t, ['cat', '/proc/self/timens_offsets'], (c) => c.linux.namespaces.push({ type: 'time', path: `/proc/${pid}/ns/time` }));
  t.equal(joined.status, 0, joined.stderr);
  t.match(joined.stdout, /^monotonic\s+3600\s+0\nboottime\s+86400\s+0\n$/, 'the joined one, with the first container\'s offsets');
});

t.test('configs the namespaces cannot satisfy are refused before any work', async (t) => {
  const cases = [
    [(c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'uts')), /\/hostname: setting the hostname needs a uts namespace of the container's own/],
    [(c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount')), /\/mounts: mounting needs a mount namespace of the container's own/],
    [(c) => ((c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount')), (c.mounts = [])), /\/linux\/maskedPaths: unable to restrict sys entries without a private MNT namespace/],
    [(c) => ((c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount')), (c.mounts = []), (c.linux.maskedPaths = []), (c.linux.readonlyPaths = []), (c.root.readonly = true)), /\/root\/readonly: a read-only rootfs needs a mount namespace/],
    [(c) => c.linux.namespaces.push({ type: 'pid' }), /\/linux\/namespaces\/6\/type: namespace pid is listed twice/],
    [(c) => c.linux.namespaces.push({ type: 'user' }), /needs uidMappings/],
    [(c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), /id mappings need a new user namespace/],
    [(c) => (c.linux.timeOffsets = { monotonic: { secs: 1 } }), /time offsets need a new time namespace/],
    [(c) => c.linux.namespaces.push({ type: 'bogus' }), /\/linux\/namespaces\/6\/type: must be one of/],
    // Mappings the kernel would refuse when they are written: named here instead.
    [(c) => userns(c, [{ containerID: 0, hostID: 200000, size: 100 }, { containerID: 50, hostID: 300000, size: 10 }]), /\/linux\/uidMappings\/1: overlaps range 0/],
    [(c) => userns(c, [{ containerID: 0, hostID: 200000, size: 100 }, { containerID: 100, hostID: 200050, size: 10 }]), /\/linux\/uidMappings\/1: overlaps range 0/],
    [(c) => userns(c, Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 200000 + i, size: 1 }))), /\/linux\/uidMappings: at most 340 ranges/],
  ];
  function userns(c, uid) {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = uid;
    c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  }
  for (const [edit, msg] of cases) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['true'];
      edit(c);
    });
    const r = ocirun(root, ['create', '--bundle', bundle, 'x']);
    t.equal(r.status, 1);
    t.match(r.stderr, msg);
    t.same(fs.readdirSync(root), [], 'no state left');
  }
});

t.test('user.* sysctls are allowed in a user namespace of the container\'s own', async (t) => {
  const r = runContainer(t, ['cat', '/proc/sys/user/max_user_namespaces'], (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    c.linux.sysctl = { 'user.max_user_namespaces': '7' };
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '7\n');
  const without = runContainer(t, ['true'], (c) => (c.linux.sysctl = { 'user.max_user_namespaces': '7' }));
  t.equal(without.status, 1);
  t.match(without.stderr, /sysctl user\.max_user_namespaces needs a new user namespace/);
});

t.test('hostname in a uts namespace joined by path; never in the host\'s', async (t) => {
  const root = testRoot(t);
  const first = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', first, 'utsowner']);
  const pid = state(root, 'utsowner').pid;
  const r = runContainer(t, ['hostname'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'uts');
    c.linux.namespaces.push({ type: 'uts', path: `/proc/${pid}/ns/uts` });
    c.hostname = 'joined-uts';
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'joined-uts\n');
  t.equal(ok(root, ['exec', 'utsowner', 'hostname']).stdout, 'joined-uts\n', 'the joined namespace has it now');
  const host = runContainer(t, ['true'], (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'uts');
    c.linux.namespaces.push({ type: 'uts', path: '/proc/self/ns/uts' });
  });
  t.equal(host.status, 1, "the runtime's own uts namespace is refused");
  t.match(host.stderr, /\/hostname: setting the hostname needs a uts namespace of the container's own/);
});

t.test('rootfsPropagation unbindable is in effect inside', async (t) => {
  const r = runContainer(t, ['cat', '/proc/self/mountinfo'], (c) => (c.linux.rootfsPropagation = 'unbindable'));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\d+ \d+ \S+ \S+ \/ \S+ unbindable /m, 'the root mount is unbindable');
});

t.test('rootfsPropagation shared is in effect inside', async (t) => {
  const r = runContainer(t, ['cat', '/proc/self/mountinfo'], (c) => (c.linux.rootfsPropagation = 'shared'));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\d+ \d+ \S+ \S+ \/ \S+ shared:\d+ /m, 'the root mount is shared');
  const dflt = runContainer(t, ['cat', '/proc/self/mountinfo']);
  t.match(dflt.stdout, /^\d+ \d+ \S+ \S+ \/ \S+ - /m, 'without it, private');
});

t.test('masked directories share one read-only tmpfs', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'stat -c %d /tmp /var; touch /tmp/x 2>&1 || echo refused'], (c) => {
    c.linux.maskedPaths = ['/tmp', '/var'];
  });
  t.equal(r.status, 0, r.stderr);
  const [a, b, ...rest] = r.stdout.trim().split('\n');
  t.equal(a, b, 'the same filesystem');
  t.match(rest.join('\n'), /refused/, 'read-only');
});

/** `ocirun spec`'s config without a mount namespace and without what would need one. */
const sharingMounts = (c) => {
  c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
  c.mounts = [];
  c.linux.maskedPaths = [];
  c.linux.readonlyPaths = [];
};

t.test('no mount namespace of its own: the runtime\'s is shared, the rootfs entered by chroot, nothing mounted', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'cat /marker > /seen; exec sleep 100'];
    sharingMounts(c);
  });
  const rootfs = path.join(bundle, 'rootfs');
  fs.writeFileSync(path.join(rootfs, 'marker'), 'inside\n');
  // Other test files mount and unmount meanwhile: what is checked is the host's root mount (its propagation)
  // and anything under the bundle.
  const rootMount = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  const before = rootMount();
  ok(root, ['run', '-d', '--bundle', bundle, 'nm']);
  const pid = state(root, 'nm').pid;
  t.equal(ns(pid, 'mnt'), fs.readlinkSync('/proc/self/ns/mnt'), 'the runtime\'s mount namespace');
  t.not(ns(pid, 'pid'), fs.readlinkSync('/proc/self/ns/pid'), 'the other namespaces are its own');
  t.equal(fs.realpathSync(`/proc/${pid}/root`), rootfs, 'its root is the rootfs');
  t.equal(rootMount(), before, 'the host\'s root mount unchanged (propagation included)');
  t.same(hostMountsUnder(bundle), []);
  t.notOk(fs.existsSync(path.join(rootfs, 'dev', 'null')) && fs.statSync(path.join(rootfs, 'dev', 'null')).isCharacterDevice(), 'no device node made in the image');
  await waitFor(() => fs.existsSync(path.join(rootfs, 'seen')));
  await waitFor(() => fs.readFileSync(path.join(rootfs, 'seen'), 'utf8') === 'inside\n');
  t.pass('the process read the rootfs as / (and wrote its /seen there)');
  const e = ok(root, ['exec', 'nm', 'cat', '/marker']);
  t.equal(e.stdout, 'inside\n', 'exec enters the same root');
  const cwd = ok(root, ['exec', '--cwd', '/bin', 'nm', 'sh', '-c', 'pwd; ls /marker']);
  t.equal(cwd.stdout, '/bin\n/marker\n');
  ok(root, ['kill', 'nm', 'KILL']);
  ok(root, ['delete', '--force', 'nm']);
  t.same(fs.readdirSync(root), []);
});

t.test('no mount namespace of its own: --no-pivot is refused in runc\'s words', async (t) => {
  const r = runContainer(t, ['true'], sharingMounts, ['--no-pivot']);
  t.equal(r.status, 1);
  t.match(r.stderr, /unable to use no-pivot without a private MNT namespace/);
  t.same(fs.readdirSync(r.root), []);
});

t.test('joining a user namespace that another user owns (setgroups denied, one id mapped)', async (t) => {
  const { spawn } = await import('node:child_process');
  // nobody's own user namespace, as `unshare --user --map-root-user` makes it: root inside is nobody outside.
  const owner = spawn('unshare', ['--user', '--map-root-user', 'sleep', '100'], { uid: 65534, gid: 65534, stdio: 'ignore' });
  t.teardown(() => owner.kill('SIGKILL'));
  await waitFor(() => ns(owner.pid, 'user') !== fs.readlinkSync('/proc/self/ns/user'));
  const r = runContainer(t, ['sh', '-c', 'id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; ls /dev/pts'], (c) =>
    c.linux.namespaces.push({ type: 'user', path: `/proc/${owner.pid}/ns/user` }));
  t.equal(r.status, 0, r.stderr);
  const [uid, map, setgroups] = r.stdout.trim().split('\n');
  t.equal(uid, '0');
  t.match(map, /^\s*0\s+65534\s+1$/, 'its mapping: root is nobody');
  t.equal(setgroups, 'deny');
  t.match(r.stdout, /ptmx/, 'devpts mounted (without a gid= that namespace does not map)');
});
