// create/start/state/kill/delete/run/list through the CLI, as a user or a daemon calls them.
import t from 'tap';
import { fs, path, makeBundle, ocirun, ok, state, testRoot, waitFor } from './helpers.mjs';

t.test('create leaves the process waiting; start runs it; it stops; delete removes it', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'echo ran > /ran; sleep 100']));
  const pidFile = path.join(bundle, 'init.pid');
  ok(root, ['create', '--bundle', bundle, '--pid-file', pidFile, 'c1']);
  const pidText = fs.readFileSync(pidFile, 'utf8');
  t.match(pidText, /^\d+$/, 'pid file holds the decimal pid, no newline');
  const s = state(root, 'c1');
  t.same(Object.keys(s), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  t.equal(s.status, 'created');
  t.equal(s.pid, Number(pidText));
  t.equal(s.bundle, bundle);
  t.notOk(fs.existsSync(path.join(bundle, 'rootfs', 'ran')), 'the user program has not run before start');
  t.ok(fs.existsSync(`/proc/${s.pid}`), 'the container process exists after create returned');

  t.match(ocirun(root, ['delete', 'c1']).stderr, /cannot delete container c1 that is not stopped: created/);
  ok(root, ['start', 'c1']);
  await waitFor(() => fs.existsSync(path.join(bundle, 'rootfs', 'ran')));
  t.equal(state(root, 'c1').status, 'running');
  const again = ocirun(root, ['start', 'c1']);
  t.equal(again.status, 1);
  t.match(again.stderr, /cannot start an already running container/);
  t.match(ocirun(root, ['delete', 'c1']).stderr, /that is not stopped: running/);

  ok(root, ['kill', 'c1', 'KILL']);
  await waitFor(() => state(root, 'c1').status === 'stopped');
  const stopped = ok(root, ['state', 'c1']).stdout;
  t.equal(JSON.parse(stopped).pid, 0, 'pid 0 once stopped');
  t.equal(ok(root, ['state', 'c1']).stdout, stopped, 'state of a stopped container does not change');
  const k = ocirun(root, ['kill', 'c1', 'TERM']);
  t.equal(k.status, 1);
  t.match(k.stderr, /container not running/);
  t.equal(ocirun(root, ['start', 'c1']).status, 1, 'start of a stopped container fails');
  ok(root, ['delete', 'c1']);
  const gone = ocirun(root, ['state', 'c1']);
  t.equal(gone.status, 1);
  t.match(gone.stderr, /container "c1" does not exist/);
  t.notOk(fs.existsSync(path.join(root, 'c1')), 'state dir removed');
});

t.test('kill accepts numbers, names, and names with SIG', async (t) => {
  const root = testRoot(t);
  // Each trap records which signal arrived; /ready says the traps are in place.
  const script = 'rm -f /got; for s in USR1 HUP TERM; do trap "echo $s > /got; exit 0" $s; done; touch /ready; while :; do sleep 0.05; done';
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', script]));
  const rootfs = path.join(bundle, 'rootfs');
  for (const [sig, name] of [['15', 'TERM'], ['TERM', 'TERM'], ['SIGTERM', 'TERM'], ['usr1', 'USR1'], ['SIGHUP', 'HUP'], ['1', 'HUP']]) {
    fs.rmSync(path.join(rootfs, 'ready'), { force: true });
    ok(root, ['create', '--bundle', bundle, 'k']);
    ok(root, ['start', 'k']);
    await waitFor(() => fs.existsSync(path.join(rootfs, 'ready')));
    ok(root, ['kill', 'k', sig]);
    await waitFor(() => state(root, 'k').status === 'stopped');
    t.equal(fs.readFileSync(path.join(rootfs, 'got'), 'utf8'), `${name}\n`, `${sig} arrives as SIG${name}`);
    ok(root, ['delete', 'k']);
  }
  t.match(ocirun(root, ['kill', 'nope', 'TERM']).stderr, /does not exist/);
  ok(root, ['create', '--bundle', bundle, 'k2']);
  t.equal(ocirun(root, ['kill', 'k2', 'NOTASIGNAL']).stderr, 'ocirun: unknown signal "NOTASIGNAL"\n', "runc's words");
  t.equal(ocirun(root, ['kill', 'k2', '65']).stderr, 'ocirun: invalid signal: 65\n');
  ok(root, ['kill', '--all', 'k2', 'KILL']);
  await waitFor(() => state(root, 'k2').status === 'stopped');
  ok(root, ['delete', 'k2']);
});

t.test('kill with no signal sends TERM; kill --all reaches every process', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'sleep 100 & sleep 100 & trap "exit 3" TERM; wait']));
  ok(root, ['run', '-d', '--bundle', bundle, 'a']);
  const pid = state(root, 'a').pid;
  await waitFor(() => fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').length === 2);
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').map(Number);
  ok(root, ['kill', '-a', 'a', '9']);
  await waitFor(() => children.every((c) => !fs.existsSync(`/proc/${c}/stat`) || fs.readFileSync(`/proc/${c}/stat`, 'utf8').includes(') Z')));
  t.pass('both background processes got the signal');
  await waitFor(() => state(root, 'a').status === 'stopped');
  ok(root, ['delete', 'a']);
});

t.test('delete --force kills a running container; of an unknown id it succeeds', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '--detach', '--bundle', bundle, 'f']);
  const pid = state(root, 'f').pid;
  ok(root, ['delete', '--force', 'f']);
  t.notOk(fs.existsSync(path.join(root, 'f')));
  t.notOk(fs.existsSync(`/proc/${pid}/stat`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'));
  t.equal(ocirun(root, ['delete', '--force', 'nope']).status, 0);
  const plain = ocirun(root, ['delete', 'nope']);
  t.equal(plain.status, 1);
  t.match(plain.stderr, /does not exist/);
  ok(root, ['create', '--bundle', bundle, 'g']);
  ok(root, ['delete', '-f', 'g']);
  t.notOk(fs.existsSync(path.join(root, 'g')), 'a created container is deleted with -f');
});

t.test('run in the foreground exits with the status of the process, 128+N on signal N', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'echo out; echo err >&2; exit 7']));
  const r = ocirun(root, ['run', '--bundle', bundle, 'r']);
  t.equal(r.status, 7);
  t.equal(r.stdout, 'out\n');
  t.equal(r.stderr, 'err\n');
  t.notOk(fs.existsSync(path.join(root, 'r')), 'run deletes the container after it exits');
  const kept = ocirun(root, ['run', '--keep', '--bundle', bundle, 'r2']);
  t.equal(kept.status, 7);
  t.equal(state(root, 'r2').status, 'stopped', '--keep leaves it for delete');
  ok(root, ['delete', 'r2']);

  const { spawn } = await import('node:child_process');
  const { bin } = await import('./helpers.mjs');
  const sleeper = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const child = spawn(bin, ['--root', root, 'run', '--bundle', sleeper, 's'], { stdio: 'ignore' });
  await waitFor(() => ocirun(root, ['state', 's']).stdout.includes('"running"'));
  ok(root, ['kill', 's', 'KILL']);
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 137, 'killed by SIGKILL: 128+9');
});

t.test('list prints a table, json and ids', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  t.equal(ok(root, ['list', '--format', 'json']).stdout, '[]\n');
  ok(root, ['create', '--bundle', bundle, 'l1']);
  ok(root, ['create', '--bundle', bundle, 'l2']);
  const all = JSON.parse(ok(root, ['list', '--format=json']).stdout);
  t.same(all.map((c) => [c.id, c.status]), [['l1', 'created'], ['l2', 'created']]);
  t.equal(ok(root, ['list', '-q']).stdout, 'l1\nl2\n');
  const table = ok(root, ['list']).stdout.split('\n');
  t.match(table[0], /^ID {10}PID {9}STATUS {6}BUNDLE +CREATED +OWNER$/, "runc's columns: at least 12 wide");
  t.match(table[1], /^l1 {10}\d+ +created {5}\S+ +\S+ +root$/);
  // As runc's list (not its state): the owner is the user that owns the container's state directory.
  t.equal(all[0].owner, 'root');
  t.equal(state(root, 'l1').owner, '', 'state leaves it empty, as runc');
  fs.chownSync(path.join(root, 'l2'), 4321, 0);
  t.equal(JSON.parse(ok(root, ['list', '--format=json']).stdout)[1].owner, '#4321', 'a uid without a name: #uid');
});

t.test('annotations appear in state', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.annotations = { 'org.example.key': 'value' };
  });
  ok(root, ['create', '--bundle', bundle, 'an']);
  t.same(state(root, 'an').annotations, { 'org.example.key': 'value' });
});

t.test('a signal ends a created container, as it ends runc\'s', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  // 34 is the first real-time signal a program may use (glibc keeps 32-33 for its threads, musl 32-34: the init
  // stub, built against either, catches it all the same) and 64 the last.
  for (const sig of ['TERM', 'HUP', '34', '64']) {
    ok(root, ['create', '--bundle', bundle, `ct${sig}`]);
    ok(root, ['kill', `ct${sig}`, sig]);
    await waitFor(() => state(root, `ct${sig}`).status === 'stopped');
    t.pass(`${sig} stopped the waiting container`);
  }
});

t.test('kill ID 0: success while the container runs, "container not running" once it does not', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', bundle, 'z']);
  const r = ocirun(root, ['kill', 'z', '0']);
  t.equal(r.status, 0, r.stderr);
  t.equal(state(root, 'z').status, 'running', 'signal 0 does nothing to the process');
  ok(root, ['kill', 'z', 'KILL']);
  await waitFor(() => state(root, 'z').status === 'stopped');
  const after = ocirun(root, ['kill', 'z', '0']);
  t.equal(after.status, 1);
  t.match(after.stderr, /container not running/);
});

t.test('process.user absent, or without gid: uid and gid 0, as runc takes them (create and exec --process)', async (t) => {
  const root = testRoot(t);
  const noUser = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'id -u; id -g'];
    delete c.process.user;
  });
  const r = ocirun(root, ['run', '--bundle', noUser, 'nu']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '0\n0\n');
  const uidOnly = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'id -u; id -g'];
    c.process.user = { uid: 1000 };
  });
  t.equal(ocirun(root, ['run', '--bundle', uidOnly, 'uo']).stdout, '1000\n0\n');
  // exec --process files written by tools often have only args, cwd and env.
  const running = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', running, 'ex']);
  const file = path.join(running, 'process.json');
  fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'id -u; id -g'], cwd: '/', env: ['PATH=/bin:/usr/bin'] }));
  const e = ocirun(root, ['exec', '--process', file, 'ex']);
  t.equal(e.status, 0, e.stderr);
  t.equal(e.stdout, '0\n0\n');
});

t.test('HOME absent or empty: the user\'s home from the container\'s /etc/passwd ("/" without an entry), for run and exec', async (t) => {
  const root = testRoot(t);
  const home = (name, env, user) => {
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sh', '-c', 'echo "$HOME"'];
      c.process.env = ['PATH=/bin:/usr/bin', ...env];
      if (user) c.process.user = user;
    });
    const r = ocirun(root, ['run', '--bundle', bundle, name]);
    t.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  t.equal(home('h1', []), '/root\n', 'root: /root, from /etc/passwd');
  t.equal(home('h2', ['HOME=']), '/root\n', 'an empty HOME is replaced');
  t.equal(home('h3', ['HOME=/custom']), '/custom\n', 'a HOME of the config is kept');
  t.equal(home('h4', [], { uid: 1000, gid: 1000 }), '/\n', 'a user without an entry: /');
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.process.env = ['PATH=/bin:/usr/bin'];
  });
  ok(root, ['run', '-d', '--bundle', bundle, 'hx']);
  t.equal(ok(root, ['exec', 'hx', 'sh', '-c', 'echo "$HOME"']).stdout, '/root\n', 'exec too');
});

t.test('a start killed after its write still leaves the container reported running', async (t) => {
  // start writes one byte into exec.fifo, then unlinks it. Killed in between, it leaves the fifo behind with
  // the process running: exactly the state made here by writing the byte without start.
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'touch /ran; sleep 100']));
  ok(root, ['create', '--bundle', bundle, 'half']);
  fs.writeFileSync(path.join(root, 'half', 'exec.fifo'), '0');
  await waitFor(() => fs.existsSync(path.join(bundle, 'rootfs', 'ran')));
  t.ok(fs.existsSync(path.join(root, 'half', 'exec.fifo')), 'the fifo is still there');
  await waitFor(() => state(root, 'half').status === 'running');
  const again = ocirun(root, ['start', 'half']);
  t.equal(again.status, 1);
  t.match(again.stderr, /cannot start an already running container/);
  ok(root, ['kill', 'half', 'KILL']);
  await waitFor(() => state(root, 'half').status === 'stopped');
  ok(root, ['delete', 'half']);
});

t.test('kill and exec never reach a process that took the init\'s pid', async (t) => {
  // The init has exited and its pid now names another process (a host sleep of ours): the record's pid is
  // rewritten to it, its start time left as the init's, as pid reuse would leave it.
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', '--bundle', bundle, 'r']);
  const { spawn } = await import('node:child_process');
  const file = path.join(root, 'r', 'state.json');
  const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
  // A start time counts clock ticks (10 ms): a process started in the init's tick would pass for it, which is
  // not the case this test is about (pid reuse takes far longer). Until the tick has moved on, another one.
  const startOf = (pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  let other = spawn('sleep', ['100'], { stdio: 'ignore' });
  while (startOf(other.pid) === rec.startTime) {
    other.kill('SIGKILL');
    other = spawn('sleep', ['100'], { stdio: 'ignore' });
  }
  t.teardown(() => other.kill('SIGKILL'));
  fs.writeFileSync(file, JSON.stringify({ ...rec, pid: other.pid }));
  t.match(ocirun(root, ['kill', 'r', 'KILL']).stderr, /container not running/);
  t.equal(ocirun(root, ['exec', 'r', 'true']).status, 255, 'exec refused');
  t.equal(ocirun(root, ['kill', 'r', '0']).status, 1);
  t.ok(fs.existsSync(`/proc/${other.pid}`) && other.exitCode === null && other.signalCode === null, 'the other process lives');
  fs.writeFileSync(file, JSON.stringify(rec));
  ok(root, ['delete', '--force', 'r']);
});

t.test('kill never signals a process that took the init\'s pid while kill was at work', async (t) => {
  // test/fixtures/pid-reuse.py holds `ocirun kill` (strace) just before it signals, lets the init die and be
  // reaped, and gives its pid to a process of its own. With a pid, that process would be killed.
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const { execFileSync } = await import('node:child_process');
  const { repo } = await import('./helpers.mjs');
  const out = JSON.parse(execFileSync('python3', [path.join(repo, 'test/fixtures/pid-reuse.py'), path.join(repo, 'bin/ocirun'), root, bundle], { encoding: 'utf8' }));
  t.ok(out.reused, 'the pid was taken by another process');
  t.ok(out.victimAlive, 'and that process lives');
  t.equal(out.killStatus, 1);
  t.match(out.killStderr, /container not running/);
});
