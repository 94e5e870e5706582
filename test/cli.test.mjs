// The command line as daemons and users type it: flag forms, --version, help, spec.
import t from 'tap';
import { bin, fs, os, path, makeBundle, ocirun, ok, spawn, state, testRoot, waitFor } from './helpers.mjs';

t.test('--version: three lines callers parse', async (t) => {
  const r = ocirun('/nonexistent', ['--version']);
  t.equal(r.status, 0);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ocirun version \d+\.\d+\.\d+$/);
  t.match(lines[1], /^commit: \S+$/);
  t.match(lines[2], /^spec: 1\.\d+\.\d+$/);
});

t.test('help for the program and every command', async (t) => {
  t.match(ocirun('/x', ['--help']).stdout, /COMMANDS:[\s\S]*create[\s\S]*delete/);
  for (const cmd of ['create', 'start', 'run', 'state', 'kill', 'delete', 'list', 'spec']) {
    const a = ocirun('/x', [cmd, '--help']);
    t.equal(a.status, 0);
    t.match(a.stdout, new RegExp(`USAGE:\\n   ocirun ${cmd} `), `${cmd} --help`);
    t.equal(ocirun('/x', ['help', cmd]).stdout, a.stdout, `help ${cmd}`);
  }
});

t.test('flag forms: --flag value, --flag=value, short, single-dash, repeated (last wins)', async (t) => {
  const root = testRoot(t);
  const decoy = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  const pidFile = path.join(bundle, 'p');
  const r = ocirun(decoy, ['--root', root, 'create', '-b', bundle, `--pid-file=${pidFile}`, 'f1']);
  t.equal(r.status, 0, r.stderr);
  t.ok(fs.existsSync(path.join(root, 'f1')), 'the last --root wins');
  t.same(fs.readdirSync(decoy), []);
  ok(root, ['create', `--bundle=${bundle}`, '-no-pivot', 'f2']);
  ok(root, ['create', '-bundle', bundle, '--no-new-keyring', '--preserve-fds=0', 'f3']);
  ok(root, ['--log-format=json', '--debug', 'kill', '-a', 'f1', 'KILL']);
  ok(root, ['--systemd-cgroup=false', 'delete', '-f', 'f1']);
  t.equal(state(root, 'f2').status, 'created');
  t.match(ocirun(root, ['--log-format', 'xml', 'state', 'f2']).stderr, /invalid log-format: xml/);
});

t.test("flags after the arguments, as runc's commands take them (but exec's and ps's, which belong to the process)", async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['create', 'f1', '--bundle', bundle]);
  ok(root, ['run', 'f2', '--bundle=' + bundle, '-d']);
  t.equal(state(root, 'f1').status, 'created');
  t.equal(ok(root, ['exec', 'f2', 'echo', '-n', 'x', '--all', '-f']).stdout, 'x --all -f', "exec: what follows the id is the command's");
  t.match(ok(root, ['ps', 'f2', '-f']).stdout, /^UID +PID +PPID/, "ps: -f after the id is ps(1)'s, not --format");
  t.equal(ocirun(root, ['delete', 'f1', '--', '--force']).status, 1, 'nothing after -- moves');
  ok(root, ['kill', 'f1', '--all', 'KILL']); // a boolean flag takes no value: KILL stays the signal
  await waitFor(() => state(root, 'f1').status === 'stopped');
  ok(root, ['kill', 'f2', 'KILL', '--all']);
  await waitFor(() => state(root, 'f2').status === 'stopped');
  ok(root, ['delete', 'f1', '--force']);
  ok(root, ['delete', 'f2', '-f']);
  t.same(fs.readdirSync(root), [], 'both deleted');
  t.match(ocirun(root, ['pause', 'f2', '--bogus']).stderr, /"pause" requires exactly 1 argument/, 'an unknown flag stays an argument');
});

t.test('--log with --log-format json: exactly one error line per failure', async (t) => {
  const root = testRoot(t);
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-log-')), 'log.json');
  t.teardown(() => fs.rmSync(path.dirname(log), { recursive: true, force: true }));
  const r = ocirun(root, ['--log', log, '--log-format', 'json', 'start', 'ghost']);
  t.equal(r.status, 1);
  t.match(r.stderr, /container "ghost" does not exist/);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  t.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  t.same(Object.keys(entry), ['level', 'msg', 'time']);
  t.equal(entry.level, 'error');
  t.equal(entry.msg, 'container "ghost" does not exist');
  t.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  ocirun(root, ['--log', log, 'delete', 'ghost']);
  const debugLog = path.join(path.dirname(log), 'debug.json');
  ocirun(root, ['--debug', '--log', debugLog, '--log-format', 'json', 'list']);
  const debug = JSON.parse(fs.readFileSync(debugLog, 'utf8').trim().split('\n')[0]);
  t.equal(debug.level, 'debug', '--debug adds debug lines');
  t.match(debug.msg, /^ocirun .*list$/);
  t.match(fs.readFileSync(log, 'utf8').trim().split('\n')[1], /^time="[^"]+" level=error msg="container \\"ghost\\" does not exist"$/);
});

t.test('spec writes a default config that runs as it is (but for the terminal)', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t);
  fs.rmSync(path.join(bundle, 'config.json'));
  ok(root, ['spec', '--bundle', bundle]);
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  t.equal(config.ociVersion, '1.0.2');
  t.same(config.process.args, ['sh']);
  t.equal(config.root.path, 'rootfs');
  t.match(ocirun(root, ['spec', '--bundle', bundle]).stderr, /exists\. Remove it first/);
  config.process.terminal = false;
  config.process.args = ['sh', '-c', 'hostname; touch / 2>&1 | grep -c Read-only'];
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  const r = ocirun(root, ['run', '--bundle', bundle, 'sp']);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'ocirun\n1\n');
});

t.test("an unknown command or help topic: runc's words, exit status 3", async (t) => {
  for (const args of [['help', 'foo'], ['foo']]) {
    const r = ocirun('/x', args);
    t.equal(r.status, 3, args.join(' '));
    t.equal(r.stderr, "ocirun: No help topic for 'foo'\n");
    t.equal(r.stdout, '');
  }
  const help = ocirun('/x', ['help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /^ocirun: an OCI container runtime/);
});

t.test('output to a full non-blocking pipe is all written before the command exits', async (t) => {
  const root = testRoot(t);
  const big = 'x'.repeat(3 << 20);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.annotations = { big };
  });
  ok(root, ['create', '--bundle', bundle, 'big']);
  // A caller whose stdout is non-blocking (a Node parent's own pipe is): the first write fills the socket and
  // the next answers EAGAIN, so the rest waits in a stream, which the command must drain before it exits.
  const setNonBlockingThenExec =
    'import fcntl, os, sys; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); os.execv(sys.argv[1], sys.argv[1:])';
  const child = spawn('python3', ['-c', setNonBlockingThenExec, bin, '--root', root, 'state', 'big'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  let err = '';
  child.stdout.on('data', (chunk) => out.push(chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const status = await new Promise((resolve) => child.on('close', resolve));
  t.equal(status, 0, err);
  const text = Buffer.concat(out).toString();
  t.equal(text.length > big.length, true, `all of the state came through (${text.length} bytes)`);
  t.equal(JSON.parse(text).annotations.big, big);
});
