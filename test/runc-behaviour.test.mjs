// Behaviours runc's users and callers rely on (issue: "Behave as runc does"), each with a real container.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { bin, fs, os, path, makeBundle, ocirun, ok, repo, runContainer, state, testRoot, waitFor } from './helpers.mjs';

const warnings = (stderr) => [...stderr.matchAll(/level=warning msg="([^"]*)"/g)].map((m) => m[1]);

t.test('an unknown capability is ignored with a warning; an ambient one that cannot be raised is said so', async (t) => {
  const r = runContainer(t, ['grep', '^CapBnd', '/proc/self/status'], (c) => {
    c.process.capabilities = { bounding: ['CAP_KILL', 'CAP_FROM_THE_FUTURE'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], ambient: ['CAP_KILL'] };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /CapBnd:\t0000000000000020/, 'the known one is applied');
  const w = warnings(r.stderr);
  t.ok(w.some((m) => /ignoring unknown capability CAP_FROM_THE_FUTURE/.test(m)), 'the unknown one is named');
  t.ok(w.some((m) => /can't raise ambient capability CAP_KILL/.test(m)), 'ambient without inheritable');
  const plain = runContainer(t, ['true']);
  t.same(warnings(plain.stderr), [], "the default spec warns about nothing");
});

t.test('a variable given twice keeps its last value; a value with a newline stays one variable', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'echo "A=$A"; env | grep -c "^A="; printf "%s" "$NL" | wc -l'], (c) => {
    c.process.env = ['PATH=/bin:/usr/bin', 'A=first', 'NL=one\ntwo', 'A=last'];
  });
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['A=last', '1', '1']);
});

t.test('the container gets the CPUs of its cpuset, not those of the runtime that started it', async (t) => {
  const own = fs.readFileSync('/proc/self/status', 'utf8').match(/Cpus_allowed_list:\s*(\S+)/)[1];
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['grep', 'Cpus_allowed_list', '/proc/self/status']));
  const out = path.join(bundle, 'out');
  const fd = fs.openSync(out, 'w');
  // ocirun pinned to CPU 0, as a daemon pinned by its unit would be.
  const r = spawnSync('taskset', ['-c', '0', bin, '--root', root, 'run', '--bundle', bundle, 'aff'], { stdio: ['ignore', fd, 'pipe'] });
  fs.closeSync(fd);
  t.equal(r.status, 0, r.stderr?.toString());
  t.match(fs.readFileSync(out, 'utf8'), new RegExp(`Cpus_allowed_list:\\s*${own}\\n`), `all of ${own}, not 0`);
});

t.test('startContainer hooks without env of their own run with the process environment', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['touch', '/tmp/ran'];
    c.process.env = ['PATH=/bin:/usr/bin', 'FROM_PROCESS=yes'];
    c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo "$FROM_PROCESS" > /tmp/hook-env'] }] };
  });
  ok(root, ['run', '--bundle', bundle, 'he']);
  t.equal(fs.readFileSync(path.join(bundle, 'rootfs', 'tmp', 'hook-env'), 'utf8'), 'yes\n');
});

t.test('a missing executable given by path: "exec /run.sh: no such file or directory", for run and exec', async (t) => {
  const r = runContainer(t, ['/run.sh']);
  t.equal(r.status, 1);
  t.match(r.stderr, /exec \/run\.sh: no such file or directory/);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', bundle, 'ex']);
  const e = ocirun(root, ['exec', 'ex', '/run.sh']);
  t.equal(e.status, 255);
  t.match(e.stderr, /exec \/run\.sh: no such file or directory/);
  t.equal(state(root, 'ex').status, 'running');
});

t.test('kill KILL of a container in the host pid namespace kills every process of its cgroup', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'sleep 100 & echo $! > /tmp/bg; sleep 100'];
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'pid');
  });
  ok(root, ['run', '-d', '--bundle', bundle, 'hp']);
  const bgFile = path.join(bundle, 'rootfs', 'tmp', 'bg');
  await waitFor(() => fs.existsSync(bgFile) && fs.readFileSync(bgFile, 'utf8').trim() !== '');
  const bg = Number(fs.readFileSync(bgFile, 'utf8'));
  const alive = (p) => {
    try {
      return !/^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.ok(alive(bg), 'the background process runs (its host pid, with the host pid namespace)');
  ok(root, ['kill', 'hp', 'KILL']);
  await waitFor(() => !alive(bg), 5000);
  t.pass('the background process is gone too');
  await waitFor(() => state(root, 'hp').status === 'stopped');
  ok(root, ['delete', 'hp']);
});

t.test('a cwd missing from the image is made inside the rootfs, for run and exec', async (t) => {
  const r = runContainer(t, ['pwd'], (c) => (c.process.cwd = '/not/in/image'));
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '/not/in/image\n');
  t.ok(fs.statSync(path.join(r.bundle, 'rootfs', 'not', 'in', 'image')).isDirectory());
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', bundle, 'cw']);
  const e = ocirun(root, ['exec', '--cwd', '/made/by/exec', 'cw', 'pwd']);
  t.equal(e.status, 0, e.stderr);
  t.equal(e.stdout, '/made/by/exec\n');
});

t.test('--debug says what each step does', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
  const r = ocirun(root, ['--debug', 'run', '--bundle', bundle, 'dbg']);
  t.equal(r.status, 0, r.stderr);
  const lines = [...r.stderr.matchAll(/level=debug msg="([^"]*)"/g)].map((m) => m[1]);
  for (const step of [/^config: .*config\.json validated; plan: \d+ mounts/, /^state: .* in place and locked/, /^cgroups \(\w+\): /, /^spawn: init \d+ is ready/, /^commit: init \d+ recorded/, /^start: at the commit \(run\)/, /^delete: processes gone/])
    t.ok(lines.some((l) => step.test(l)), `a line for ${step}`);
  // create and start apart: the init waits on exec.fifo until start writes it.
  const debugLines = (res) => [...res.stderr.matchAll(/level=debug msg="([^"]*)"/g)].map((m) => m[1]);
  const c = ocirun(root, ['--debug', 'create', '--bundle', bundle, 'apart']);
  t.equal(c.status, 0, c.stderr);
  t.ok(debugLines(c).some((l) => /^commit: .* it now waits on exec\.fifo for start/.test(l)), 'create: the init waits on exec.fifo');
  const s = ocirun(root, ['--debug', 'start', 'apart']);
  t.equal(s.status, 0, s.stderr);
  t.ok(debugLines(s).some((l) => /^start: wrote exec\.fifo/.test(l)), 'start: writes exec.fifo');
  const quiet = ocirun(root, ['run', '--bundle', bundle, 'q']);
  t.notMatch(quiet.stderr, /level=debug/, 'nothing without --debug');
});

t.test('linux.memoryPolicy: set_mempolicy before the exec; a node the host lacks names the field', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const cases = [
    [{ mode: 'MPOL_BIND', nodes: '0' }, 'mode=2 flags=0 nodes=0x1'],
    [{ mode: 'MPOL_INTERLEAVE', nodes: '0' }, 'mode=3 flags=0 nodes=0x1'],
    [{ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, 'mode=1 flags=0x8000 nodes=0x1'],
    [{ mode: 'MPOL_LOCAL' }, 'mode=4 flags=0 nodes=0'],
  ];
  // The helper goes into each bundle's rootfs; compiled once, statically, for the busybox image.
  const helper = path.join(repo, 'build', 'test-mempolicy');
  execFileSync('cc', ['-static', '-O2', '-o', helper, path.join(repo, 'test/fixtures/mempolicy.c')]);
  t.teardown(() => fs.rmSync(helper, { force: true }));
  for (const [policy, expected] of cases) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['/mempolicy'];
      c.linux.memoryPolicy = policy;
    });
    fs.copyFileSync(helper, path.join(bundle, 'rootfs', 'mempolicy'));
    fs.chmodSync(path.join(bundle, 'rootfs', 'mempolicy'), 0o755);
    const r = ocirun(root, ['run', '--bundle', bundle, 'mp']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout, `${expected}\n`, `${policy.mode}${policy.flags ? ` ${policy.flags}` : ''}`);
  }
  const missing = runContainer(t, ['true'], (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0,63' }));
  t.equal(missing.status, 1);
  t.match(missing.stderr, /\/linux\/memoryPolicy\/nodes: node 63 does not exist on this host/);
  const mode = runContainer(t, ['true'], (c) => (c.linux.memoryPolicy = { mode: 'MPOL_NOPE' }));
  t.match(mode.stderr, /\/linux\/memoryPolicy\/mode: unknown memory policy mode MPOL_NOPE/);
});

t.test('Intel RDT, which this host cannot give, is refused naming the field', async (t) => {
  for (const [edit, message] of [
    [(c) => (c.linux.intelRdt = { closID: 'x', l3CacheSchema: 'L3:0=ff' }), /\/linux\/intelRdt: Intel RDT needs the resctrl filesystem/],
  ]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => ((c.process.args = ['true']), edit(c)));
    const r = ocirun(root, ['run', '--bundle', bundle, 'rf']);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
    t.notOk(fs.existsSync(path.join(root, 'rf')), 'nothing left behind');
  }
});

/** A --pidfd-socket receiver: takes the pidfd, then SIGKILLs the process through it (never by pid). */
function pidfdReceiver(t, sock) {
  const p = spawn('python3', ['-c', `
import socket, signal, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 64, 1)
print("got " + msg.decode() + " " + str(len(fds)), flush=True)
signal.pidfd_send_signal(fds[0], signal.SIGKILL)
print("killed", flush=True)
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => p.kill());
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  return { ready: () => out.includes('listening'), output: () => out, done: new Promise((r) => p.on('exit', r)) };
}

t.test('--pidfd-socket: create, run and exec hand over a pidfd that signals the process', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-pidfd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const rx = pidfdReceiver(t, path.join(dir, 'create.sock'));
  await waitFor(rx.ready);
  ok(root, ['create', '--bundle', bundle, '--pidfd-socket', path.join(dir, 'create.sock'), 'pf']);
  await rx.done;
  t.match(rx.output(), /got pidfd 1\nkilled\n/, 'create: the pidfd arrived and was used');
  await waitFor(() => state(root, 'pf').status === 'stopped');
  ok(root, ['delete', 'pf']);
  ok(root, ['run', '-d', '--bundle', bundle, 'host']);
  const ex = pidfdReceiver(t, path.join(dir, 'exec.sock'));
  await waitFor(ex.ready);
  const r = ocirun(root, ['exec', '--pidfd-socket', path.join(dir, 'exec.sock'), 'host', 'sleep', '100']);
  t.equal(r.status, 137, "exec's process was killed through its pidfd");
  await ex.done;
  t.equal(state(root, 'host').status, 'running', 'the container itself runs on');
});
