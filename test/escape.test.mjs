// Attempts to make ocirun act outside the rootfs: symlinks in the image aimed at host paths for mount
// destinations, devices and the working directory; the host binary behind /proc/PID/exe; leaked fds.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { bin, fs, os, path, hostMountsUnder, makeBundle, ocirun, ok, runContainer, state, testRoot, waitFor } from './helpers.mjs';

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

t.test('bind mounts through dangling symlinks (the last component, or one on the way) land inside the rootfs', async (t) => {
  const source = target(t);
  fs.writeFileSync(path.join(source, 'f'), 'bound\n');
  const host = target(t); // where an absolute link would lead if it were followed on the host
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', `cat ${host}/last/f ${host}/way/sub/f`];
    c.mounts.push({ destination: '/last', type: 'bind', source, options: ['rbind'] });
    c.mounts.push({ destination: '/way/sub', type: 'bind', source, options: ['rbind'] });
  });
  const rootfs = path.join(bundle, 'rootfs');
  fs.symlinkSync(`${host}/last`, path.join(rootfs, 'last')); // dangling: the last component
  fs.symlinkSync(`${host}/way`, path.join(rootfs, 'way')); // dangling: a component on the way
  const r = ocirun(root, ['run', '--bundle', bundle, 'dl']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'bound\nbound\n', 'both mounted where the links point, read inside');
  t.ok(fs.statSync(path.join(rootfs, host, 'last')).isDirectory(), 'the target was made inside the rootfs');
  t.ok(fs.statSync(path.join(rootfs, host, 'way', 'sub')).isDirectory());
  t.same(fs.readdirSync(host), [], 'nothing made at the host path the links name');
  t.same(hostMountsUnder(host), []);
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

/** `ls -l /proc/PID/fd` as { fd: target } (the shell's own fds, seen while ls runs). */
const fdTable = (ls) => Object.fromEntries([...ls.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [m[1], m[2]]));

t.test('fds the caller did not pass never reach the container, whatever --preserve-fds says', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'ls -l /proc/$$/fd']));
  const run = (args, extra) => {
    const base = path.join(os.tmpdir(), `ocirun-fds-${process.pid}-${args.join('')}`);
    const out = fs.openSync(`${base}.out`, 'w+');
    try {
      // fd 3 is handed to ocirun open and inheritable: a pipe, as a daemon's leaked fd would be.
      const r = spawnSync(bin, ['--root', root, 'run', '--bundle', bundle, ...args, 'f'], { stdio: ['ignore', out, 'pipe', ...extra] });
      return { status: r.status, stderr: r.stderr.toString(), fds: fdTable(fs.readFileSync(`${base}.out`, 'utf8')) };
    } finally {
      fs.closeSync(out);
      fs.rmSync(`${base}.out`, { force: true });
    }
  };
  const none = run([], ['pipe']);
  t.equal(none.status, 0, none.stderr);
  t.same(Object.keys(none.fds).filter((fd) => fd > 2), [], 'an inheritable fd 3 without --preserve-fds stays out');
  // Three preserved, one passed: 4 and 5 were closed in the caller, so nothing of ocirun's may sit there.
  const more = run(['--preserve-fds', '3'], ['pipe']);
  t.equal(more.status, 0, more.stderr);
  t.match(more.fds['3'], /^(pipe|socket):/, 'the passed fd arrives');
  for (const fd of ['4', '5']) t.ok(more.fds[fd] === undefined || more.fds[fd] === '/dev/null', `fd ${fd} is empty or /dev/null, not ocirun's: ${more.fds[fd]}`);
  t.same(Object.keys(more.fds).filter((fd) => fd > 5), [], 'nothing above the preserved range');
});

t.test('masked paths are never bound from a /dev/null that is not the null device', async (t) => {
  // A createContainer hook stands in for a racer (another container sharing the rootfs, CVE-2025-31133): it
  // turns the container's /dev/null into a link to a host-wide procfs file before the masks go on.
  const root = testRoot(t);
  const hook = path.join(target(t), 'swap-null.sh');
  fs.writeFileSync(hook, '#!/bin/sh\nb=$(sed -n \'s/.*"bundle":"\\([^"]*\\)".*/\\1/p\')\nrm -f "$b/rootfs/dev/null"\nln -s /proc/sys/kernel/core_pattern "$b/rootfs/dev/null"\n', { mode: 0o755 });
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'echo pwned > /proc/kcore'];
    c.hooks = { createContainer: [{ path: hook }] };
  });
  const pattern = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
  const r = ocirun(root, ['create', '--bundle', bundle, 'n']);
  t.equal(r.status, 1, 'create refuses');
  t.match(r.stderr, /masked-paths.*\/dev\/null is not the null device/);
  t.equal(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), pattern, 'core_pattern untouched');
  t.notOk(fs.existsSync(path.join(root, 'n')), 'nothing left behind');
});

t.test('a sysctl is written to the procfs itself, never through a mount placed over it', async (t) => {
  const host = path.join(target(t), 'somaxconn');
  fs.writeFileSync(host, 'host file\n');
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.mounts.push({ destination: '/proc/sys/net/core/somaxconn', type: 'bind', source: host, options: ['bind'] });
    c.linux.sysctl = { 'net.core.somaxconn': '1234' };
  });
  const r = ocirun(root, ['run', '--bundle', bundle, 's']);
  t.equal(r.status, 1, 'refused');
  t.match(r.stderr, /sysctl.*\/proc\/sys\/net\/core\/somaxconn.*(mount or link is in the way|cross-device)/i);
  t.equal(fs.readFileSync(host, 'utf8'), 'host file\n', 'the file bound over it was not written');
  t.notOk(fs.existsSync(path.join(root, 's')), 'nothing left behind');
});

t.test('a /proc or /sys that is a symlink in the image is refused, never followed', async (t) => {
  for (const [dest, to] of [['proc', '/tmp'], ['sys', '/proc']]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
    const link = path.join(bundle, 'rootfs', dest);
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(to, link);
    const r = ocirun(root, ['run', '--bundle', bundle, 'l']);
    t.equal(r.status, 1, `/${dest} -> ${to}: refused`);
    t.match(r.stderr, new RegExp(`/mounts/\\d+ \\(/${dest}\\): is a symlink in the image: proc and sysfs must be mounted on a real directory`));
    t.notOk(fs.existsSync(path.join(root, 'l')), 'nothing left behind');
  }
});

t.test('a device node swapped for a link to a host file right after mknod never changes that file', async (t) => {
  // strace holds the cloned child for 300 ms as each mknodat returns (fault injection), and the test swaps
  // the new node for a symlink to a host file in that window, as a racer sharing the rootfs could. A runtime
  // that then changed the node's mode by name (chmod after mknod) would change the host file's mode.
  const dir = target(t);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'secret\n');
  fs.chmodSync(victim, 0o600);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.devices = [{ path: '/race/node', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
  });
  const node = path.join(bundle, 'rootfs', 'race', 'node');
  fs.mkdirSync(path.dirname(node));
  const { spawn } = await import('node:child_process');
  const run = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=mknodat', '-e', 'inject=mknodat:delay_exit=300000',
    bin, '--root', root, 'run', '--bundle', bundle, 'race'], { stdio: 'ignore' });
  const exited = new Promise((r) => run.on('exit', r));
  await waitFor(() => {
    try {
      return fs.lstatSync(node).isCharacterDevice();
    } catch {
      return false;
    }
  }, 20_000);
  fs.unlinkSync(node);
  fs.symlinkSync(victim, node);
  await exited;
  t.equal(fs.statSync(victim).mode & 0o7777, 0o600, 'the host file keeps its mode');
  t.equal(fs.readFileSync(victim, 'utf8'), 'secret\n');
});
