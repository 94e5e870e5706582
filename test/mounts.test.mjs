// Mounts into the rootfs: kinds, options, order, propagation, /dev, and the root itself.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fs, os, path, hostMountsUnder, makeBundle, ocirun, ok, repo, runContainer, state, testRoot } from './helpers.mjs';

function hostDir(t, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-hostdir-'));
  fs.chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A user namespace of its own, root mapped to host 200000. */
const userns = (c) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
};

t.test('bind mounts of a directory and a file, read-only and read-write', async (t) => {
  const ro = hostDir(t, { 'a.txt': 'from host\n' });
  const rw = hostDir(t);
  const file = path.join(hostDir(t, { 'f.conf': 'file bind\n' }), 'f.conf');
  const r = runContainer(t, ['sh', '-c', 'cat /ro/a.txt; touch /ro/x 2>&1; echo w > /rw/out; cat /etc/f.conf'], (c) => {
    c.mounts.push({ destination: '/ro', type: 'bind', source: ro, options: ['rbind', 'ro'] });
    c.mounts.push({ destination: '/rw', type: 'none', source: rw, options: ['bind'] });
    c.mounts.push({ destination: '/etc/f.conf', type: 'bind', source: file, options: ['bind', 'ro'] });
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^from host\n/);
  t.match(r.stdout, /Read-only file system/);
  t.match(r.stdout, /file bind\n$/);
  t.equal(fs.readFileSync(path.join(rw, 'out'), 'utf8'), 'w\n', 'writes reach the host through a rw bind');
  t.notOk(fs.existsSync(path.join(ro, 'x')));
  t.same(hostMountsUnder(r.bundle), [], 'no mount is left on the host');
});

t.test('filesystem mounts with options, destinations created, config order respected', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'grep -E " /(scratch|scratch/inner|new/deep/dir) " /proc/self/mountinfo'], (c) => {
    c.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=700'] });
    c.mounts.push({ destination: '/scratch/inner', type: 'tmpfs', source: 'tmpfs', options: ['ro'] });
    c.mounts.push({ destination: '/new/deep/dir', type: 'tmpfs', source: 'tmpfs' });
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 3, 'all three mounts, the inner one on top of the outer one');
  t.match(lines[0], / \/scratch rw,nosuid,nodev,noexec.* tmpfs tmpfs rw,size=1024k,mode=700/);
  t.match(lines[1], / \/scratch\/inner ro,/);
  t.match(lines[2], / \/new\/deep\/dir /);
  t.notOk(fs.existsSync(path.join(r.bundle, 'rootfs', 'new', 'deep', 'dir', 'x')));
});

t.test('bind vs rbind, rro, and propagation flags', async (t) => {
  const dir = hostDir(t);
  fs.mkdirSync(path.join(dir, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(dir, 'sub')]);
  t.teardown(() => execFileSync('umount', ['-l', path.join(dir, 'sub')]));
  fs.writeFileSync(path.join(dir, 'sub', 'inner'), 'x');
  const r = runContainer(t, ['sh', '-c', 'ls /plain/sub; echo --; ls /rec/sub; touch /rec/sub/y 2>&1; echo --; grep -E " /(shared|private) " /proc/self/mountinfo'], (c) => {
    c.mounts.push({ destination: '/plain', type: 'bind', source: dir, options: ['bind'] });
    c.mounts.push({ destination: '/rec', type: 'bind', source: dir, options: ['rbind', 'rro'] });
    c.mounts.push({ destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['shared'] });
    c.mounts.push({ destination: '/private', type: 'tmpfs', source: 'tmpfs', options: ['private'] });
  });
  t.equal(r.status, 0, r.stderr);
  const [plain, rec, info] = r.stdout.split('--\n');
  t.equal(plain, '', 'bind does not carry the submount');
  t.match(rec, /^inner\n.*Read-only file system/s, 'rbind carries it, rro makes it read-only too');
  t.match(info, / \/shared .* shared:\d+/, 'shared propagation');
  t.notMatch(info.split('\n').find((l) => l.includes(' /private ')), /shared:/, 'private propagation');
});

t.test('readonly root, and --no-pivot', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'touch /x 2>&1; touch /tmp/y 2>&1; echo done'], (c) => {
    c.root.readonly = true;
  });
  t.match(r.stdout, /touch: \/x: Read-only file system/);
  t.match(r.stdout, /touch: \/tmp\/y: Read-only file system/);
  // Only shows that a --no-pivot container runs in its rootfs: from inside, MS_MOVE + chroot and pivot_root
  // look alike (the moved rootfs covers the host's mounts either way).
  const np = runContainer(t, ['sh', '-c', 'ls /bin/busybox && cat /proc/self/mountinfo | wc -l'], () => {}, ['--no-pivot']);
  t.equal(np.status, 0, np.stderr);
  t.match(np.stdout, /^\/bin\/busybox\n/);
});

t.test('--no-pivot: the runtime\'s whole proc and sysfs are gone from the container\'s namespace', async (t) => {
  // listmount(2) sees every mount of the namespace, also those below the chroot that mountinfo leaves out.
  const tool = path.join(os.tmpdir(), `ns-mounts-${process.pid}`);
  execFileSync('cc', ['-O2', '-o', tool, path.join(repo, 'test', 'helpers', 'ns-mounts.c')]);
  t.teardown(() => fs.rmSync(tool, { force: true }));
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--no-pivot', '--bundle', bundle, 'np']);
  const mounts = execFileSync(tool, [String(state(root, 'np').pid)], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' '));
  const hostDev = (p) => String(fs.statSync(p).dev);
  t.ok(mounts.some(([type]) => type === 'proc'), 'the container\'s own proc is there');
  t.same(mounts.filter(([type, dev]) => (type === 'proc' && dev === hostDev('/proc')) || (type === 'sysfs' && dev === hostDev('/sys'))), [],
    'no mount of the host\'s proc or sysfs left below the chroot');
});

t.test('/dev: default nodes, configured devices, pts, shm and symlinks', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'cd /dev && ls -l null zero full random urandom tty fuse; for l in fd stdin stdout stderr ptmx; do readlink $l; done; grep -E " /dev/(pts|shm) " /proc/self/mountinfo'], (c) => {
    c.linux.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
  });
  t.equal(r.status, 0, r.stderr);
  for (const [name, nums] of [['null', '1,\\s+3'], ['zero', '1,\\s+5'], ['full', '1,\\s+7'], ['random', '1,\\s+8'], ['urandom', '1,\\s+9'], ['tty', '5,\\s+0']])
    t.match(r.stdout, new RegExp(`crw-rw-rw-.* ${nums} .*${name}\\n`), `/dev/${name}`);
  t.match(r.stdout, /crw------- .* 10,\s+229 .*fuse\n/, 'configured device with its mode');
  t.match(r.stdout, /\/proc\/self\/fd\n\/proc\/self\/fd\/0\n\/proc\/self\/fd\/1\n\/proc\/self\/fd\/2\npts\/ptmx\n/);
  t.match(r.stdout, / \/dev\/pts .* - devpts /);
  t.match(r.stdout, / \/dev\/shm .* - tmpfs /);
});

t.test('rootfsPropagation applies to the container root', async (t) => {
  for (const [prop, want] of [['rshared', /shared:\d+/], ['rprivate', null], ['rslave', null]]) {
    const r = runContainer(t, ['awk', '$5 == "/"', '/proc/self/mountinfo'], (c) => (c.linux.rootfsPropagation = prop));
    t.equal(r.status, 0, r.stderr);
    if (want) t.match(r.stdout, want, `${prop}: the root mount is shared`);
    else t.notMatch(r.stdout, /shared:/, `${prop}: the root mount is not shared`);
  }
});

t.test('a tmpfs without mode= takes the mode of the directory it covers; a new one is 1777', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['stat', '-c', '%n %a', '/covered', '/explicit', '/made/here'];
    c.mounts.push({ destination: '/covered', type: 'tmpfs', source: 'tmpfs' });
    c.mounts.push({ destination: '/explicit', type: 'tmpfs', source: 'tmpfs', options: ['mode=711'] });
    c.mounts.push({ destination: '/made/here', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  });
  for (const d of ['covered', 'explicit']) {
    fs.mkdirSync(path.join(bundle, 'rootfs', d));
    fs.chmodSync(path.join(bundle, 'rootfs', d), 0o750);
  }
  const r = ocirun(root, ['run', '--bundle', bundle, 'tm']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '/covered 750\n/explicit 711\n/made/here 1777\n');
});

t.test('tmpcopyup fills the new tmpfs with what the image had there (files, directories, links, modes, owners)', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'stat -c "%n %a %u:%g" /seed/a.txt /seed/sub; cat /seed/sub/b.txt; readlink /seed/link; echo new > /seed/a.txt; grep " /seed " /proc/self/mountinfo'];
    c.mounts.push({ destination: '/seed', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid'] });
  });
  const seed = path.join(bundle, 'rootfs', 'seed');
  fs.mkdirSync(path.join(seed, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(seed, 'a.txt'), 'image\n', { mode: 0o640 });
  fs.chmodSync(path.join(seed, 'a.txt'), 0o640);
  fs.chownSync(path.join(seed, 'a.txt'), 1000, 1001);
  fs.chmodSync(path.join(seed, 'sub'), 0o710);
  fs.writeFileSync(path.join(seed, 'sub', 'b.txt'), 'deep\n');
  fs.symlinkSync('a.txt', path.join(seed, 'link'));
  const r = ocirun(root, ['run', '--bundle', bundle, 'cu']);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.same(lines.slice(0, 4), ['/seed/a.txt 640 1000:1001', '/seed/sub 710 0:0', 'deep', 'a.txt']);
  t.match(lines[4], / \/seed .* - tmpfs /, 'a tmpfs');
  t.equal(fs.readFileSync(path.join(seed, 'a.txt'), 'utf8'), 'image\n', 'the image is untouched');
});

t.test('a read-only /dev bound from a directory: taken as it is (no node made in it), pts, shm and mqueue mounted under it', async (t) => {
  const dev = hostDir(t);
  for (const d of ['pts', 'shm', 'mqueue']) fs.mkdirSync(path.join(dev, d));
  execFileSync('mknod', ['-m', '666', path.join(dev, 'null'), 'c', '1', '3']); // the masked paths are bound to it
  const r = runContainer(t, ['sh', '-c', 'ls /dev; grep " /dev" /proc/self/mountinfo | cut -d" " -f5,6; echo x > /dev/null && echo null-ok; touch /dev/new 2>&1; true'], (c) => {
    c.mounts = c.mounts.filter((m) => m.destination !== '/dev');
    c.mounts.splice(1, 0, { destination: '/dev', type: 'bind', source: dev, options: ['rbind', 'ro', 'nosuid'] });
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.same(lines.slice(0, 4), ['mqueue', 'null', 'pts', 'shm'], 'only what the directory holds: no default node, symlink or ptmx added');
  t.ok(lines.includes('/dev ro,nosuid,relatime'), 'read-only');
  for (const d of ['/dev/pts', '/dev/shm', '/dev/mqueue']) t.ok(lines.some((l) => l.startsWith(`${d} `)), `${d} mounted on it`);
  t.ok(lines.includes('null-ok'));
  t.match(r.stdout, /touch: \/dev\/new: Read-only file system/);
  t.same(fs.readdirSync(dev).sort(), ['mqueue', 'null', 'pts', 'shm'], 'the source directory untouched');
});

t.test('bind flags as runc sets them: any option set or cleared remounts with exactly those; locked flags in a user namespace', async (t) => {
  const src = hostDir(t, { f: 'x' });
  execFileSync('mount', ['--bind', src, src]);
  t.teardown(() => execFileSync('umount', [src]));
  execFileSync('mount', ['-o', 'remount,bind,ro,nosuid,nodev,noexec,noatime', src]);
  const flagsOf = (options, edit = () => {}) => {
    // Under /tmp (1777): a mapped root may make the mount point there.
    const r = runContainer(t, ['sh', '-c', 'grep " /tmp/m " /proc/self/mountinfo | cut -d" " -f6'], (c) => {
      c.mounts.push({ destination: '/tmp/m', type: 'bind', source: src, options });
      edit(c);
    });
    return r.status === 0 ? r.stdout.trim() : r.stderr;
  };
  for (const [options, want] of [
    [['rbind'], 'ro,nosuid,nodev,noexec,noatime'], // nothing asked: the source's flags
    [['rbind', 'rw'], 'rw,noatime'], // a cleared flag alone remounts; the atime flag is kept unless one is given
    [['rbind', 'rw', 'dev', 'exec', 'suid'], 'rw,noatime'],
    [['rbind', 'nosymfollow'], 'rw,noatime,nosymfollow'],
    [['rbind', 'ro', 'relatime'], 'ro,relatime'],
    [['rbind', 'norelatime'], 'rw,noatime'],
  ])
    t.equal(flagsOf(options), want, options.join(','));
  t.equal(flagsOf(['rbind', 'nosymfollow'], userns), 'ro,nosuid,nodev,noexec,noatime,nosymfollow', 'in a user namespace the locked flags stay');
  t.match(flagsOf(['rbind', 'rw'], userns), /\/mounts\/\d+ \(\/tmp\/m\): \/tmp\/m: mount\(MS_REMOUNT\|MS_BIND\): operation not permitted: the options clear a flag .* locked/, 'clearing a locked flag is an error that says so');
});


t.test('mounts go in config order: a bind of what an earlier mount made, with and without a user namespace', async (t) => {
  for (const [label, edit] of [['no user namespace', () => {}], ['user namespace', userns]]) {
    const r = runContainer(t, ['sh', '-c', 'echo seen > /tmp/made/f; cat /tmp/again/f; stat -c %d /tmp/made /tmp/again'], (c) => {
      c.mounts.push({ destination: '/tmp/made', type: 'tmpfs', source: 'tmpfs' });
      c.mounts.push({ destination: '/tmp/again', type: 'bind', source: 'rootfs/tmp/made', options: ['rbind'] }); // made by the one before
      edit(c);
    });
    t.equal(r.status, 0, `${label}: ${r.stderr}`);
    const [seen, a, b] = r.stdout.trim().split('\n');
    t.equal(seen, 'seen', `${label}: the bind shows the tmpfs the earlier mount made`);
    t.equal(a, b, `${label}: one filesystem`);
  }
});

t.test('in a user namespace, a bind source its root cannot reach is still mounted (runc\'s way: from the runtime\'s copy)', async (t) => {
  const top = hostDir(t);
  fs.chmodSync(top, 0o700); // the container's root (host uid 200000) may not pass
  fs.mkdirSync(path.join(top, 'inner'));
  fs.writeFileSync(path.join(top, 'inner', 'f'), 'reached\n');
  const r = runContainer(t, ['sh', '-c', 'cat /tmp/m/f; ls /tmp/m'], (c) => {
    c.mounts.push({ destination: '/tmp/m', type: 'bind', source: path.join(top, 'inner'), options: ['rbind', 'ro'] });
    userns(c);
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'reached\nf\n');
});

t.test('idmapped binds: the mount\'s own mapping or the container\'s, idmap and ridmap, one directory for two mappings', async (t) => {
  const shared = hostDir(t, { f: 'x' });
  fs.mkdirSync(path.join(shared, 'sub'));
  execFileSync('chown', ['-R', '1000:1000', shared]);
  const inner = hostDir(t, { g: 'y' }); // mounted at sub: a submount that only ridmap reaches
  execFileSync('chown', ['-R', '1000:1000', inner]);
  execFileSync('mount', ['--bind', inner, path.join(shared, 'sub')]);
  t.teardown(() => execFileSync('umount', [path.join(shared, 'sub')]));
  const map = (c) => [{ containerID: 1000, hostID: c, size: 1 }];
  // (Only where the directory is the container root's can it write there: the default capabilities have no
  // CAP_DAC_OVERRIDE.)
  const run = (option, base, own = true) => runContainer(t, ['sh', '-c', `stat -c %u:%g /tmp/m/f /tmp/m/sub/g${own ? '; touch /tmp/m/made-by-$(hostname)' : ''}`], (c) => {
    c.hostname = `h${base}${own ? '' : '-theirs'}`;
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: base, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: base, size: 65536 }];
    c.mounts.push({ destination: '/tmp/m', type: 'bind', source: shared, options: ['rbind', option], ...(own ? { uidMappings: map(base), gidMappings: map(base) } : {}) });
  });
  const owners = (r) => r.stdout.trim().split('\n');
  const idmap = run('idmap', 200000);
  t.equal(idmap.status, 0, idmap.stderr);
  t.same(owners(idmap), ['0:0', '65534:65534'], 'idmap: host 1000 is the container\'s root; the submount is not mapped (overflow ids)');
  const ridmap = run('ridmap', 300000);
  t.equal(ridmap.status, 0, ridmap.stderr);
  t.same(owners(ridmap), ['0:0', '0:0'], 'ridmap: the submount too; the same directory under another mapping');
  for (const h of ['h200000', 'h300000'])
    t.equal(`${fs.statSync(path.join(shared, `made-by-${h}`)).uid}`, '1000', `${h}'s root creates files owned by 1000 on the host`);
  // Without its own mapping the mount takes the container's: host ids shifted by it, so host 1000 is 1000.
  const theirs = run('idmap', 200000, false);
  t.equal(theirs.status, 0, theirs.stderr);
  t.same(owners(theirs)[0], '1000:1000', 'the container\'s mapping: host 1000 appears as 1000 inside');
  t.same(hostMountsUnder(shared).length, 1, 'only the test\'s own submount is left on the host');
});

t.test('bad idmapped mounts: the field named, exit 1, nothing left', async (t) => {
  const dir = hostDir(t);
  const m = (extra) => ({ destination: '/tmp/m', type: 'bind', source: dir, options: ['rbind', 'idmap'], ...extra });
  const maps = [{ containerID: 0, hostID: 1000, size: 10 }];
  for (const [edit, message] of [
    [(c) => c.mounts.push(m({})), /\/mounts\/\d+\/options: an idmapped mount needs uidMappings and gidMappings/],
    [(c) => c.mounts.push(m({ uidMappings: maps })), /\/mounts\/\d+\/gidMappings: uidMappings and gidMappings go together/],
    [(c) => (userns(c), c.mounts.push(m({ uidMappings: [...maps, { containerID: 5, hostID: 5000, size: 2 }], gidMappings: maps }))), /\/mounts\/\d+\/uidMappings\/1: overlaps range 0/],
    [(c) => c.mounts.push({ destination: '/tmp/m', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }), /\/mounts\/\d+\/options: idmap is for bind mounts/],
    [(c) => c.mounts.push({ destination: '/tmp/m', type: 'bind', source: dir, options: ['rbind'], uidMappings: maps, gidMappings: maps }), /\/mounts\/\d+\/uidMappings: a mount's own idmappings need the idmap or ridmap option/],
    [(c) => (userns(c), c.mounts.push({ ...m({}), source: '/sys/kernel' })), /\/mounts\/\d+ \(\/tmp\/m\): .*mount_setattr\(MOUNT_ATTR_IDMAP\): invalid argument/],
  ]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => ((c.process.args = ['true']), edit(c)));
    const r = ocirun(root, ['run', '--bundle', bundle, 'bad']);
    t.equal(r.status, 1, r.stderr);
    t.match(r.stderr, message);
    t.same(fs.readdirSync(root), [], 'no state');
    t.same(hostMountsUnder(bundle), [], 'no mount');
  }
});
