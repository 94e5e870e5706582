// ocirun's own containerd shim (containerd-shim-ocirun-v2, runtime type io.containerd.ocirun.v2) under a real
// containerd that this test starts on private paths, with the shim on its PATH: ctr run with output, exit
// status and a terminal; task exec (plain and -t), ps, pause, resume, kill; a create that fails; a shim
// killed with SIGKILL. Each container is served in the shim process (no runtime process per operation) and
// leaves nothing: no state under the shim's root, no socket, no mount, no shim. Then Kubernetes' way: a pod
// through the CRI API on the RuntimeClass handler of docs/containerd.md, all its containers in one shim.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { bin, fs, hostOnlyTests, os, path, repo, waitFor } from './helpers.mjs';
import { Containerd, containerdConfig } from './helpers/containerd.mjs';
import { inTerminal as onPty } from './helpers/terminal.mjs';
import { CriClient, decode, str } from './cri-client.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-shim-'));
const ns = `ocirun-shim-${process.pid}`;
const image = 'localhost/ocirun-shim-test:1';
const shimRoot = `/run/containerd/ocirun/${ns}`;
const k8sRoot = '/run/containerd/ocirun/k8s.io';
const RUNTIME = 'io.containerd.ocirun.v2';
/** The socket of the shim serving `group` (a container id, or a pod's sandbox id): the shim's naming. */
const shimSocket = (group, namespace = ns) => path.join('/run/containerd/s', createHash('sha256').update(`ocirun/${sock}/${namespace}/${group}`).digest('hex'));
// The host directories containerd and its shims make outside the private paths: removed at the end if this
// file made them (and they are empty). Found once this file's daemon may run (t.before).
let hostDirs = [];

fs.mkdirSync(path.join(dir, 'bin'));
fs.symlinkSync(path.join(repo, 'bin', 'containerd-shim-ocirun-v2'), path.join(dir, 'bin', 'containerd-shim-ocirun-v2'));
/** The RuntimeClass block of docs/containerd.md for ocirun's shim, exactly. */
const documented = /<!-- containerd-shim-config -->\n```toml\n([\s\S]*?)```/.exec(fs.readFileSync(path.join(repo, 'docs', 'containerd.md'), 'utf8'))[1];
fs.writeFileSync(path.join(dir, 'config.toml'), containerdConfig(dir, documented));
const containerd = new Containerd(dir, { binDir: path.join(dir, 'bin') });
const sock = containerd.sock;
const ctr = (args, opts) => containerd.ctr(ns, args, opts);
const ok = (args, opts) => containerd.ok(ns, args, opts);
// In the guest: a run, a running task (metrics, pause, update), a killed shim's cleanup and the pod with its
// OOM kill, what touches its cgroup v2 and systemd; the rest on this host only.
const onHost = hostOnlyTests(t);
const run = (args) => ['run', '--runtime', RUNTIME, '--fifo-dir', path.join(dir, 'fifo'), ...args];
const taskStatus = (id) => ok(['task', 'ls']).split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[2];
/** The shim processes: those whose command line is this checkout's shim. */
const shims = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
  try {
    return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path.join(repo, 'dist', 'shim', 'start.js'));
  } catch {
    return false;
  }
});
const mountsUnder = (d) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(d));
/** A real terminal for ctr -t, 91 columns by 33 rows. */
const inTerminal = (command, opts) => onPty(`stty cols 91 rows 33; ${command}`, opts);

t.before(async () => {
  await containerd.acquire();
  hostDirs = ['/run/containerd/s', shimRoot, k8sRoot, '/run/containerd/ocirun', '/run/containerd/runc/k8s.io', '/run/containerd/runc', '/run/containerd']
    .filter((d) => !fs.existsSync(d));
  await containerd.start();
  containerd.importImages(ns, image, repo);
});

t.teardown(async () => {
  await containerd.destroy([ns, 'k8s.io']);
  fs.rmSync(shimRoot, { recursive: true, force: true });
  for (const d of fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/${ns}`).filter((d) => fs.existsSync(d))) fs.rmdirSync(d);
  for (const d of hostDirs) try { fs.rmdirSync(d); } catch { /* not empty: not only ours */ }
  containerd.release();
});

/** The directory of a process's memory cgroup (v1's memory hierarchy, or cgroup v2). */
function memoryDir(pid) {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const v1 = lines.find(([, ctrls]) => ctrls.split(',').includes('memory'));
  return v1 ? `/sys/fs/cgroup/memory${v1[2]}` : `/sys/fs/cgroup${lines.find(([h]) => h === '0')[2]}`;
}
const memoryLimit = (pid) => Number(fs.readFileSync(path.join(memoryDir(pid), fs.existsSync('/sys/fs/cgroup/memory') ? 'memory.limit_in_bytes' : 'memory.max'), 'utf8'));

/** Nothing of the shim's left: no state, no shim process, no socket of the `groups`' shims, no rootfs mount. */
async function nothingLeft(t, groups, namespace = ns) {
  await waitFor(() => shims().length === 0, 10_000).catch(() => undefined);
  t.same(shims(), [], 'no shim process');
  t.same(groups.map((g) => shimSocket(g, namespace)).filter((s) => fs.existsSync(s)), [], 'no shim socket');
  for (const root of [shimRoot, k8sRoot]) t.same(fs.existsSync(root) ? fs.readdirSync(root) : [], [], `no container state under ${root}`);
  t.same(mountsUnder(dir).filter((m) => m.includes('/state/')), [], 'no rootfs mount');
  t.equal(ok(['container', 'ls', '-q']), '', 'no container');
}

t.test('ctr run --rm with the ocirun shim: output and exit status; nothing left', async (t) => {
  t.equal(ok(run(['--rm', image, 's1', 'echo', 'hello from the ocirun shim'])), 'hello from the ocirun shim\n');
  const r = ctr(run(['--rm', image, 's2', 'sh', '-c', 'echo to-stderr >&2; exit 4']));
  t.equal(r.status, 4, 'the exit status');
  t.equal(r.stderr, 'to-stderr\n', 'stderr apart');
  await nothingLeft(t, ['s1', 's2']);
});

t.test('a running task: exec, exec -t, ps, pause, resume, kill; ocirun --root sees the shim\'s container', async (t) => {
  ok(run(['-d', image, 's3', 'sleep', '1000']));
  const st = JSON.parse(execFileSync(bin, ['--root', shimRoot, 'state', 's3'], { encoding: 'utf8' }));
  t.equal(st.status, 'running');
  t.equal(shims().length, 1, 'one shim process serves it');
  const fifo = path.join(dir, 'fifo');
  t.equal(ok(['task', 'exec', '--fifo-dir', fifo, '--exec-id', 'e1', 's3', 'sh', '-c', 'echo $((6*7))']), '42\n', 'exec output');
  t.equal(ctr(['task', 'exec', '--fifo-dir', fifo, '--exec-id', 'e2', 's3', 'sh', '-c', 'exit 5']).status, 5, 'exec exit status');
  const tty = inTerminal(`ctr --address ${sock} --namespace ${ns} task exec -t --fifo-dir ${fifo} --exec-id e3 s3 sh -c 'sleep 0.3; tty; stty size'`);
  t.equal(tty.status, 0);
  t.match(tty.out, /\/dev\/pts\/\d+\n33 91\n/, 'exec -t: a pty of its own, sized as the caller\'s terminal');
  ok(['task', 'exec', '--fifo-dir', fifo, '-d', '--exec-id', 'e4', 's3', 'sleep', '999']);
  const ps = ok(['task', 'ps', 's3']).trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
  t.equal(ps.length, 2, 'task ps: the init and the exec\'d process');
  t.ok(ps.includes(st.pid));
  const metrics = Object.fromEntries(ok(['task', 'metrics', 's3']).trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)));
  t.equal(metrics['pids.current'], '2', 'task metrics (the shim\'s Stats): the init and the exec\'d process');
  t.ok(Number(metrics['memory.usage_in_bytes'] ?? metrics['memory.usage']) > 0, 'and the memory in use');
  ok(['task', 'kill', '--exec-id', 'e4', '-s', 'SIGKILL', 's3']);
  const pids = () => ok(['task', 'ps', 's3']).trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
  await waitFor(() => pids().length === 1, 10_000);
  t.same(pids(), [st.pid], 'task kill --exec-id: that process alone (through the pidfd the shim holds)');
  ok(['task', 'pause', 's3']);
  t.equal(taskStatus('s3'), 'PAUSED');
  t.equal(JSON.parse(execFileSync(bin, ['--root', shimRoot, 'state', 's3'], { encoding: 'utf8' })).status, 'paused');
  ok(['task', 'resume', 's3']);
  t.equal(taskStatus('s3'), 'RUNNING');
  ok(['task', 'exec', '--fifo-dir', fifo, '-d', '--exec-id', 'e5', 's3', 'sleep', '999']);
  const procs = path.join(memoryDir(st.pid), 'cgroup.procs');
  ok(['task', 'kill', '--all', '-s', 'SIGKILL', 's3']);
  await waitFor(() => taskStatus('s3') === 'STOPPED', 10_000);
  await waitFor(() => fs.readFileSync(procs, 'utf8').trim() === '', 10_000);
  t.pass('kill --all: the exec\'d process too, no process left in the container\'s cgroup');
  ok(['task', 'rm', 's3']);
  ok(['container', 'rm', 's3']);
  await nothingLeft(t, ['s3']);
});

onHost('ctr run -t through a real terminal: the pty, its size, the exit status', async (t) => {
  const r = inTerminal(`ctr --address ${sock} --namespace ${ns} run --rm -t --runtime ${RUNTIME} --fifo-dir ${path.join(dir, 'fifo')} ${image} s4 sh -c 'sleep 0.3; tty; stty size; exit 3'`);
  t.equal(r.status, 3, r.out);
  t.match(r.out, /\/dev\/pts\/0\n33 91\n/);
  await nothingLeft(t, ['s4']);
});

onHost('exec -t whose background process keeps the terminal open: the exit and the output come at the exit', async (t) => {
  t.teardown(() => {
    // Gone already when the test passed; when it failed, what ctr still waits for goes with the task.
    ctr(['task', 'rm', '-f', 's8']);
    ctr(['container', 'rm', 's8']);
  });
  ok(run(['-d', image, 's8', 'sleep', '1000']));
  // The background sleep ignores SIGHUP and holds the pty for 1000 s after sh exits: the shim told the exit
  // only once every holder had closed it, and ctr waited that long (with runc's shim it returns at once).
  const r = inTerminal(`ctr --address ${sock} --namespace ${ns} task exec -t --fifo-dir ${path.join(dir, 'fifo')} --exec-id bg s8 sh -c "trap '' HUP; sleep 1000 & echo started; exit 4"`, { timeout: 30_000 });
  t.equal(r.status, 4, r.out);
  t.match(r.out, /^started\n/, 'its output');
  t.equal(ok(['task', 'ps', 's8']).trim().split('\n').length - 1, 2, 'while the background process still runs beside the init');
  ok(['task', 'kill', '--all', '-s', 'SIGKILL', 's8']);
  await waitFor(() => taskStatus('s8') === 'STOPPED', 10_000);
  ok(['task', 'rm', 's8']);
  ok(['container', 'rm', 's8']);
  await nothingLeft(t, ['s8']);
});

onHost('an init that exits in a shared pid namespace: its execs are ended, and their exits told before its own', async (t) => {
  // In the host's pid namespace nothing ends the exec with the init (the kernel empties only a pid namespace of
  // the container's own): the shim does, as containerd's runc shim does, and tells the init's exit last.
  t.teardown(() => {
    ctr(['task', 'rm', '-f', 's9']);
    ctr(['container', 'rm', 's9']);
  });
  ok(run(['-d', '--with-ns', `pid:/proc/${process.pid}/ns/pid`, image, 's9', 'sleep', '1000']));
  ok(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '-d', '--exec-id', 'x', 's9', 'sleep', '1000']);
  const log = path.join(dir, 'events-s9');
  const out = fs.openSync(log, 'w');
  const events = spawn('ctr', ['--address', sock, 'events'], { stdio: ['ignore', out, 'ignore'] });
  fs.closeSync(out);
  t.teardown(() => events.kill());
  // Subscribed once an event of ours shows up (a pause and resume, again until one does).
  await waitFor(() => {
    if (fs.readFileSync(log, 'utf8').includes('/tasks/resumed')) return true;
    ok(['task', 'pause', 's9']);
    ok(['task', 'resume', 's9']);
    return false;
  }, 10_000);
  const exits = () => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('/tasks/exit'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{')))).filter((e) => e.container_id === 's9').map((e) => e.id);
  // The init dies on its own (not through the shim, which would signal every process of the container).
  const initPid = Number(ok(['task', 'ls']).split('\n').find((l) => l.startsWith('s9 ')).trim().split(/\s+/)[1]);
  const execPid = ok(['task', 'ps', 's9']).trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])).find((p) => p !== initPid);
  process.kill(initPid, 'SIGKILL');
  await waitFor(() => exits().length === 2, 10_000);
  t.same(exits(), ['x', 's9'], "the exec's exit first, then the init's");
  t.notOk(fs.existsSync(`/proc/${execPid}`), 'the exec is gone');
  t.equal(taskStatus('s9'), 'STOPPED');
  ok(['task', 'rm', 's9']);
  ok(['container', 'rm', 's9']);
  await nothingLeft(t, ['s9']);
});

onHost('stdin through the fifo: what ctr run is given on its stdin reaches the process, which sees its end', async (t) => {
  t.equal(ok(run(['--rm', image, 's10', 'sh', '-c', 'cat; echo end-of-input']), { input: 'line one\nline two\n' }), 'line one\nline two\nend-of-input\n');
  await nothingLeft(t, ['s10']);
});

onHost('log URIs: binary:// (a logging program fed the output on fds 3 and 4) and file://', async (t) => {
  const logs = fs.mkdtempSync(path.join(dir, 'logs-'));
  const logger = path.join(logs, 'logger.sh');
  // containerd's contract: the program closes fd 5 once ready; its arguments come from the URI's query.
  fs.writeFileSync(logger, '#!/bin/sh\nexec 5>&-\ncat <&3 > "$2/$CONTAINER_NAMESPACE-$CONTAINER_ID.out" &\ncat <&4 > "$2/$CONTAINER_NAMESPACE-$CONTAINER_ID.err"\nwait\n', { mode: 0o755 });
  ok(run(['--rm', '--log-uri', `binary://${logger}?dir=${logs}`, image, 's8', 'sh', '-c', 'echo to-out; echo to-err >&2']));
  const out = path.join(logs, `${ns}-s8.out`);
  await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8') === 'to-out\n');
  t.equal(fs.readFileSync(out, 'utf8'), 'to-out\n', 'stdout through the logging program');
  t.equal(fs.readFileSync(path.join(logs, `${ns}-s8.err`), 'utf8'), 'to-err\n', 'stderr too, apart');
  const file = path.join(logs, 'file.log');
  ok(run(['--rm', '--log-uri', `file://${file}`, image, 's9', 'echo', 'to-a-file']));
  t.equal(fs.readFileSync(file, 'utf8'), 'to-a-file\n', 'file://');
  await nothingLeft(t, ['s8', 's9']);
});

onHost('the binary contract: two starts for one pod at once get one shim, which Shutdown ends', async (t) => {
  const bundle = fs.mkdtempSync(path.join(dir, 'pod-bundle-'));
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ annotations: { 'io.kubernetes.cri.sandbox-id': `sandbox-${process.pid}` } }));
  const shimBin = path.join(repo, 'bin', 'containerd-shim-ocirun-v2');
  const start = (id) => new Promise((resolve) => {
    const child = spawn(shimBin, ['-namespace', ns, '-address', sock, '-publish-binary', '/usr/bin/containerd', '-id', id, 'start'], { cwd: bundle, env: { ...process.env, TTRPC_ADDRESS: `${sock}.ttrpc` } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
  const [a, b] = await Promise.all([start('c-one'), start('c-two')]);
  t.same([a.code, b.code], [0, 0]);
  t.match(a.out, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/, 'an address under containerd\'s socket directory');
  t.equal(b.out, a.out, 'the same shim for both');
  t.equal(fs.readFileSync(path.join(bundle, 'address'), 'utf8'), a.out, 'and the address file in the bundle');
  t.equal(shims().length, 1, 'one shim process');
  t.equal(fs.statSync(a.out.slice('unix://'.length)).mode & 0o777, 0o600, 'its socket is its owner\'s alone');
  const { Client } = await import(path.join(repo, 'dist', 'shim', 'ttrpc.js'));
  const { encode } = await import(path.join(repo, 'dist', 'shim', 'proto.js'));
  const client = await Client.connect(a.out.slice('unix://'.length));
  await t.rejects(client.call('containerd.task.v2.Task', 'NoSuchMethod', Buffer.alloc(0)), { code: 12 }, 'an unknown method: Unimplemented');
  await client.call('containerd.task.v2.Task', 'Shutdown', encode('containerd.task.v2.ShutdownRequest', { id: 'c-one' }));
  client.close();
  await nothingLeft(t, [`sandbox-${process.pid}`]);
});

onHost('a create that fails: containerd gives ocirun\'s message; nothing left', async (t) => {
  const r = ctr(run(['--rm', image, 's5', 'nosuchcommand']));
  t.not(r.status, 0);
  t.match(r.stderr, /exec: "nosuchcommand": executable file not found in \$PATH/);
  ctr(['container', 'rm', 's5']);
  await nothingLeft(t, ['s5']);
});

onHost('containerd killed (SIGKILL) and restarted while a task runs: the same shim serves it afterwards (exec, kill, delete, events)', async (t) => {
  ok(run(['-d', image, 's7', 'sleep', '1000']));
  const [shim] = shims();
  await containerd.stop('SIGKILL');
  t.ok(fs.existsSync(`/proc/${shim}`), 'the shim outlives containerd');
  await containerd.start();
  t.equal(taskStatus('s7'), 'RUNNING', 'containerd found the task again, through the shim\'s address file');
  t.equal(ok(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '--exec-id', 'after', 's7', 'echo', 'after the restart']), 'after the restart\n');
  t.same(shims(), [shim], 'still the same shim process');
  ok(['task', 'kill', '-s', 'SIGKILL', 's7']);
  await waitFor(() => taskStatus('s7') === 'STOPPED', 10_000);
  ok(['task', 'rm', 's7']);
  ok(['container', 'rm', 's7']);
  await nothingLeft(t, ['s7']);
});

onHost('the shim is the subreaper of what a container leaves behind: an orphan comes to it, and is reaped when it ends', async (t) => {
  // In this test's PID namespace (the host's), a process whose parent ends goes to the nearest subreaper (not to an init of
  // the container's own namespace).
  ok(run(['-d', '--with-ns', `pid:/proc/${process.pid}/ns/pid`, image, 's11', 'sh', '-c', '(sleep 1000 &); exec sleep 999']));
  const [shim] = shims();
  const init = Number(ok(['task', 'ls']).split('\n').find((l) => l.startsWith('s11 ')).trim().split(/\s+/)[1]);
  const stat = (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    } catch {
      return undefined; // gone: reaped
    }
  };
  let orphan;
  await waitFor(() => (orphan = ok(['task', 'ps', 's11']).trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0])).find((p) => p !== init)), 10_000);
  t.equal(stat(orphan)?.[1], shim, 'the orphan\'s parent is the shim');
  process.kill(orphan, 'SIGKILL');
  const reaped = await waitFor(() => stat(orphan) === undefined, 10_000).then(() => true, () => false);
  t.ok(reaped, `the shim reaped it (its state now: ${stat(orphan)?.[0] ?? 'gone'})`);
  t.equal(stat(init)?.[0] === 'Z', false, 'the container\'s init is no zombie either');
  ok(['task', 'kill', '-s', 'SIGKILL', 's11']);
  await waitFor(() => taskStatus('s11') === 'STOPPED', 10_000);
  t.equal(ok(['task', 'ls']).split('\n').find((l) => l.startsWith('s11 ')).trim().split(/\s+/)[2], 'STOPPED', 'and its exit still reached containerd');
  ok(['task', 'rm', 's11']);
  ok(['container', 'rm', 's11']);
  await nothingLeft(t, ['s11']);
});

onHost('OCIRUN_SHIM_GROUP=namespace in containerd\'s environment: one shim serves every container of the namespace', async (t) => {
  await containerd.stop();
  await containerd.start({ OCIRUN_SHIM_GROUP: 'namespace' });
  t.teardown(async () => {
    await containerd.stop();
    await containerd.start();
  });
  ok(run(['-d', image, 'g1', 'sleep', '1000']));
  ok(run(['-d', image, 'g2', 'sleep', '1000']));
  t.equal(shims().length, 1, 'two containers outside any pod, one shim');
  t.equal(ok(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '--exec-id', 'e', 'g2', 'echo', 'served']), 'served\n');
  for (const id of ['g1', 'g2']) {
    ok(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitFor(() => taskStatus(id) === 'STOPPED', 10_000);
    ok(['task', 'rm', id]);
    ok(['container', 'rm', id]);
    if (id === 'g1') t.equal(shims().length, 1, 'the shim stays while it serves another');
  }
  await nothingLeft(t, ['']);
});

onHost('OCIRUN_SHIM_LINGER with namespace grouping: an idle shim waits for the next container, then ends', async (t) => {
  await containerd.stop();
  await containerd.start({ OCIRUN_SHIM_GROUP: 'namespace', OCIRUN_SHIM_LINGER: '2' });
  t.teardown(async () => {
    await containerd.stop();
    await containerd.start();
  });
  t.equal(ok(run(['--rm', image, 'l1', 'echo', 'first'])), 'first\n');
  const [shim] = shims();
  t.ok(shim, 'the shim stays after its last container');
  t.equal(ok(run(['--rm', image, 'l2', 'echo', 'second'])), 'second\n');
  t.same(shims(), [shim], 'and serves the next one: no shim started for it');
  await waitFor(() => shims().length === 0, 15_000);
  t.pass('it ends once idle for the time asked');
  await nothingLeft(t, ['']);

  await containerd.stop();
  await containerd.start({ OCIRUN_SHIM_LINGER: 'soon' });
  const r = ctr(run(['--rm', image, 'l3', 'true']));
  t.not(r.status, 0);
  t.match(r.stderr, /OCIRUN_SHIM_LINGER=soon: expected seconds, from 0 to 86400/, 'a bad value: the shim says so, and does not start');
  ctr(['container', 'rm', 'l3']);
  await nothingLeft(t, ['l3']);
});

t.test('a shim killed with SIGKILL: containerd\'s cleanup (the shim\'s delete) leaves nothing', async (t) => {
  ok(run(['-d', image, 's6', 'sleep', '1000']));
  const [shim] = shims();
  t.ok(shim, 'its shim runs');
  process.kill(Number(shim), 'SIGKILL');
  await waitFor(() => taskStatus('s6') === undefined || taskStatus('s6') === 'STOPPED', 20_000);
  ctr(['task', 'rm', '-f', 's6']);
  ok(['container', 'rm', 's6']);
  await nothingLeft(t, ['s6']);
});

/** ContainerStatusResponse.status: state (0 CREATED, 1 RUNNING, 2 EXITED; a proto3 zero is absent), exit code, reason. */
function containerStatus(resp) {
  const s = decode(resp[1][0]);
  return { state: s[3]?.[0] ?? 0, exitCode: s[7]?.[0] ?? 0, reason: str(s, 10) };
}

t.test('Kubernetes: a pod on the handler of docs/containerd.md, its containers in one shim; ExecSync, logs, an OOM kill', async (t) => {
  const cri = new CriClient(sock);
  t.teardown(() => cri.close());
  const logs = fs.mkdtempSync(path.join(dir, 'pod-logs-'));
  const NODE = 2; // NamespaceMode: the host's network, so that no CNI plugin is needed
  const podConfig = { 1: { 1: 'shim-pod', 2: 'uid-shim-pod', 3: 'default', 4: 0 }, 3: logs, 8: { 2: { 1: { 1: NODE } } } };
  const pod = str(await cri.runtime('RunPodSandbox', { 1: podConfig, 2: 'ocirun' }), 1);
  t.teardown(async () => {
    await cri.runtime('StopPodSandbox', { 1: pod }).catch(() => {});
    await cri.runtime('RemovePodSandbox', { 1: pod }).catch(() => {});
  });
  t.equal(JSON.parse(execFileSync(bin, ['--root', k8sRoot, 'state', pod], { encoding: 'utf8' })).status, 'running', 'the sandbox runs, in ocirun\'s shim');
  const container = async (name, command, resources) => {
    const config = { 1: { 1: name, 2: 0 }, 2: { 1: image }, 3: command, 11: `${name}.log`, ...(resources ? { 15: { 1: resources } } : {}) };
    const id = str(await cri.runtime('CreateContainer', { 1: pod, 2: config, 3: podConfig }), 1);
    await cri.runtime('StartContainer', { 1: id });
    return id;
  };
  const hello = await container('hello', ['sh', '-c', 'echo hello from a pod; exec sleep 1000']);
  const other = await container('other', ['sleep', '1000']);
  t.equal(containerStatus(await cri.runtime('ContainerStatus', { 1: hello })).state, 1, 'CONTAINER_RUNNING');
  t.equal(shims().length, 1, 'the sandbox and both containers are served by one shim process');
  // UpdateContainerResources (the shim's Update): 96 MiB of memory (field 4 of LinuxContainerResources).
  await cri.runtime('UpdateContainerResources', { 1: other, 2: { 4: 96 * 1024 * 1024 } });
  const otherPid = JSON.parse(execFileSync(bin, ['--root', k8sRoot, 'state', other], { encoding: 'utf8' })).pid;
  t.equal(memoryLimit(otherPid), 96 * 1024 * 1024, 'UpdateContainerResources: the limit in the container\'s cgroup');
  const exec = await cri.runtime('ExecSync', { 1: hello, 2: ['sh', '-c', 'echo $((6*7)); exit 3'], 3: 10 });
  t.equal(str(exec, 1), '42\n', 'ExecSync: its output');
  t.equal(exec[3]?.[0], 3, 'and its exit code');
  const log = path.join(logs, 'hello.log');
  await waitFor(() => fs.existsSync(log) && /stdout F hello from a pod/.test(fs.readFileSync(log, 'utf8')));
  t.pass('the container\'s output is in the pod log, in CRI format');
  // 32 MiB of memory (field 4 of LinuxContainerResources) and a process that wants more: the kernel kills it.
  const hog = await container('hog', ['sh', '-c', 'tail /dev/zero'], { 4: 32 * 1024 * 1024 });
  await waitFor(async () => containerStatus(await cri.runtime('ContainerStatus', { 1: hog })).state === 2, 30_000);
  const oom = containerStatus(await cri.runtime('ContainerStatus', { 1: hog }));
  t.equal(oom.reason, 'OOMKilled', 'TaskOOM reached containerd: the status says OOMKilled');
  t.equal(oom.exitCode, 137);
  for (const id of [hello, other, hog]) {
    await cri.runtime('StopContainer', { 1: id, 2: 1 });
    await cri.runtime('RemoveContainer', { 1: id });
  }
  await cri.runtime('StopPodSandbox', { 1: pod });
  await cri.runtime('RemovePodSandbox', { 1: pod });
  await nothingLeft(t, [pod], 'k8s.io');
  const cgroups = fs.readdirSync('/sys/fs/cgroup').flatMap((h) => [pod, hello, other, hog].map((id) => `/sys/fs/cgroup/${h}/k8s.io/${id}`)).filter((d) => fs.existsSync(d));
  t.same(cgroups, [], 'no cgroup of the pod\'s left');
});

onHost.comment();
