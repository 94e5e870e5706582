// exec: a new process in a created or running container, as containerd and conmon run it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { bin, fs, os, path, makeBundle, ocirun, ok, state, testRoot, waitFor } from './helpers.mjs';

function running(t, edit = () => {}) {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.process.env = ['PATH=/bin:/usr/bin', 'BASE=1'];
    edit(c);
  });
  ok(root, ['run', '-d', '--bundle', bundle, 'x']);
  return { root, bundle, pid: state(root, 'x').pid };
}

const ns = (pid, type) => fs.readlinkSync(`/proc/${pid}/ns/${type}`);

t.test('the process joins every namespace and sees the container', async (t) => {
  const { root, pid } = running(t, (c) => (c.hostname = 'inside'));
  const r = ocirun(root, ['exec', 'x', 'sh', '-c', 'echo $$ $BASE; hostname; tr "\\0" " " < /proc/1/cmdline; echo; exit 3']);
  t.equal(r.status, 3, 'the exit status of the process');
  const [pids, host, sleepers] = r.stdout.trim().split('\n');
  t.match(pids, /^\d+ 1$/, 'the container environment');
  t.not(pids.split(' ')[0], '1', 'not the init');
  t.equal(host, 'inside');
  t.equal(sleepers.trim(), 'sleep 100', 'the init is pid 1 of the same pid namespace');
  const d = ocirun(root, ['exec', '-d', '--pid-file', '/tmp/ocirun-exec-test.pid', 'x', 'sleep', '50']);
  t.equal(d.status, 0, d.stderr);
  const epid = Number(fs.readFileSync('/tmp/ocirun-exec-test.pid', 'utf8'));
  fs.rmSync('/tmp/ocirun-exec-test.pid');
  for (const type of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup']) t.equal(ns(epid, type), ns(pid, type), `${type} joined`);
  t.equal(fs.readlinkSync(`/proc/${epid}/root`), fs.readlinkSync(`/proc/${pid}/root`), 'the same root');
});

t.test('flags: -e, --cwd, -u, --additional-gids, --cap, --no-new-privs, --preserve-fds', async (t) => {
  const { root } = running(t);
  const r = ocirun(root, ['exec', '-e', 'A=1', '--env=BASE=2', '--cwd', '/tmp', '-u', '1000:1001', '--additional-gids', '5', '-g', '6',
    '--cap', 'CAP_NET_RAW', '--no-new-privs', 'x', 'sh', '-c', 'echo $A $BASE; pwd; id; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status']);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], '1 2', 'env added and overridden');
  t.equal(lines[1], '/tmp');
  t.match(lines[2], /^uid=1000 gid=1001 groups=5(\(\w+\))?,6$/);
  t.match(lines[3], /CapEff:\t0000000000000000/, 'a non-root user keeps no effective capability across its exec (as with runc)');
  t.match(lines[4], /NoNewPrivs:\t1/);
  // runc's --cap: bounding, effective and permitted, never inheritable.
  const asRoot = ocirun(root, ['exec', '--cap', 'CAP_NET_RAW', 'x', 'grep', '-E', '^Cap(Inh|Prm|Eff|Bnd)', '/proc/self/status']);
  t.equal(asRoot.status, 0, asRoot.stderr);
  const sets = Object.fromEntries([...asRoot.stdout.matchAll(/^Cap(\w+):\t([0-9a-f]+)$/gm)].map((m) => [m[1], BigInt(`0x${m[2]}`)]));
  t.equal(sets.Inh, 0n, 'nothing inheritable');
  for (const set of ['Prm', 'Eff', 'Bnd']) t.ok((sets[set] >> 13n) & 1n, `CAP_NET_RAW (13) in Cap${set}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-exec-fds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'in'), 'preserved\n');
  const fd = fs.openSync(path.join(dir, 'in'), 'r');
  const out = fs.openSync(path.join(dir, 'out'), 'w');
  const child = spawn(bin, ['--root', root, 'exec', '--preserve-fds', '1', 'x', 'sh', '-c', 'cat <&3; ls /proc/self/fd | wc -l'], { stdio: ['ignore', out, 'inherit', fd] });
  t.equal(await new Promise((r) => child.on('exit', r)), 0);
  fs.closeSync(fd);
  fs.closeSync(out);
  t.equal(fs.readFileSync(path.join(dir, 'out'), 'utf8'), 'preserved\n5\n', 'fd 3 passed, nothing else but 0-2 and ls\'s own');
});

t.test('--process FILE gives the whole process, checked like config.json', async (t) => {
  const { root, bundle } = running(t);
  const file = path.join(bundle, 'process.json');
  fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo $ONLY; id -u'], env: ['ONLY=this', 'PATH=/bin'], cwd: '/', user: { uid: 7, gid: 7 } }));
  const r = ocirun(root, ['exec', '--process', file, 'x']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'this\n7\n');
  fs.writeFileSync(file, JSON.stringify({ args: [], cwd: '/', user: { uid: 0, gid: 0 } }));
  const bad = ocirun(root, ['exec', '--process', file, 'x']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /\/process\/args: must contain at least 1 item/);
});

t.test('the container\'s seccomp filter and user namespace apply to exec\'d processes', async (t) => {
  const { root } = running(t, (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] };
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
  });
  const r = ocirun(root, ['exec', 'x', 'sh', '-c', 'cat /proc/self/uid_map; mkdir /tmp/d 2>&1; true']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\s*0\s+300000\s+65536\n/);
  t.match(r.stdout, /Permission denied/);
});

t.test('errors: no pid file on failure, stopped or unknown containers, a missing command', async (t) => {
  const { root } = running(t);
  const pidFile = path.join(os.tmpdir(), `ocirun-exec-fail-${process.pid}`);
  const r = ocirun(root, ['exec', '-d', '--pid-file', pidFile, 'x', 'nosuch']);
  t.equal(r.status, 255, "exec's errors exit 255, as runc's (issue 11)");
  t.match(r.stderr, /exec: "nosuch": executable file not found/);
  t.notOk(fs.existsSync(pidFile), 'no pid file: how conmon learns that exec failed');
  t.match(ocirun(root, ['exec', 'x']).stderr, /a command is required/);
  t.match(ocirun(root, ['exec', 'ghost', 'true']).stderr, /container "ghost" does not exist/);
  t.match(ocirun(root, ['exec', '--apparmor', 'p', 'x', 'true']).stderr, /AppArmor is not enabled on this host/);
  t.match(ocirun(root, ['exec', '--process-label', 'l', 'x', 'true']).stderr, /SELinux is not enabled on this host/);
  t.equal(ocirun(root, ['exec', '--ignore-paused', 'x', 'true']).status, 0, '--ignore-paused is accepted');
  ok(root, ['kill', 'x', 'KILL']);
  await waitFor(() => state(root, 'x').status === 'stopped');
  const s = ocirun(root, ['exec', 'x', 'true']);
  t.equal(s.status, 255);
  t.equal(s.stderr, 'ocirun: exec failed: cannot exec in a stopped container\n', "runc's words, its prefix for every exec failure included");
});

t.test('a --pid-file in a directory that does not exist: a clear error before anything is made', async (t) => {
  const { root } = running(t);
  const missing = path.join(os.tmpdir(), `ocirun-no-such-dir-${process.pid}`, 'p');
  const e = ocirun(root, ['exec', '-d', '--pid-file', missing, 'x', 'sleep', '100']);
  t.equal(e.status, 255);
  t.equal(e.stderr, `ocirun: exec failed: --pid-file ${missing}: the directory ${path.dirname(missing)} does not exist\n`);
  t.equal(JSON.parse(ok(root, ['ps', '--format', 'json', 'x']).stdout).length, 1, 'no process was started');
  const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
  const c = ocirun(root, ['create', '--bundle', bundle, '--pid-file', missing, 'y']);
  t.equal(c.status, 1);
  t.match(c.stderr, /--pid-file .*: the directory .* does not exist/);
  t.notOk(fs.existsSync(path.join(root, 'y')), 'no state left');
});
