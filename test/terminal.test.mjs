// Terminals: the console socket (as conmon and containerd receive the pty master), and the foreground
// terminal of run and exec driven through a real terminal (helpers/terminal.mjs).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { bin, fs, os, path, makeBundle, ok, state, testRoot, waitFor } from './helpers.mjs';
import { inTerminal } from './helpers/terminal.mjs';

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-tty-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A console-socket receiver like conmon's: accept, take the fd, then talk to the container through it. */
function receiver(t, sock, input) {
  const p = spawn('python3', ['-c', `
import socket, os, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
master = fds[0]
print("fd:" + os.readlink("/proc/self/fd/%d" % master), flush=True)
time.sleep(0.5)
os.write(master, sys.argv[2].encode())
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode()); sys.stdout.flush()
`, sock, input], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => p.kill());
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  return { ready: () => out.includes('listening'), output: () => out, done: new Promise((r) => p.on('exit', r)) };
}

t.test('console socket: the pty master goes to the caller before create returns', async (t) => {
  const root = testRoot(t);
  const dir = tmp(t);
  const sock = path.join(dir, 'console.sock');
  const rx = receiver(t, sock, 'typed\n');
  await waitFor(rx.ready);
  const bundle = makeBundle(t, (c) => {
    c.process.terminal = true;
    c.process.consoleSize = { height: 24, width: 80 };
    c.process.args = ['sh', '-c', 'tty; stty size; read x; echo got:$x'];
  });
  ok(root, ['create', '--bundle', bundle, '--console-socket', sock, 'cs']);
  await waitFor(() => rx.output().includes('fd:'));
  t.match(rx.output(), /fd:\/dev\/pts\/ptmx/, 'the master arrived (SCM_RIGHTS) during create');
  ok(root, ['start', 'cs']);
  await rx.done;
  const out = rx.output().replace(/\r/g, '');
  t.match(out, /\/dev\/pts\/0\n/, 'the process has the pty as its terminal');
  t.match(out, /24 80\n/, 'consoleSize');
  t.match(out, /got:typed\n/, 'input through the master');
  await waitFor(() => state(root, 'cs').status === 'stopped');
});

t.test('run in the foreground with a terminal: raw mode, size, input, exit status', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.terminal = true;
    c.process.args = ['sh', '-c', 'tty; stty size; read x; echo got:$x; exit 4'];
  });
  const r = inTerminal(`stty rows 30 cols 100; ${bin} --root ${root} run --bundle ${bundle} fg; echo "rc=$?"; stty -a | grep -o -- '-\\?icanon' | head -1`, { input: 'hello\n' });
  // Line by line: the typed input is echoed by the pty whenever it arrives, possibly between these lines.
  t.match(r.out, /^\/dev\/pts\/0$/m, 'a pty');
  t.match(r.out, /^30 100$/m, 'with the caller\'s window size');
  t.match(r.out, /^got:hello$/m, 'input reaches the process');
  t.match(r.out, /rc=4\n/, 'the exit status of the process');
  t.match(r.out, /\nicanon\n?$/, 'the caller\'s terminal is restored (canonical mode again)');
});

t.test('window size changes reach the container (SIGWINCH)', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.terminal = true;
    // The size every 0.2 s for 6 s: the resize below lands somewhere in between, however loaded the machine.
    c.process.args = ['sh', '-c', 'i=0; while [ $i -lt 30 ]; do stty size; sleep 0.2; i=$((i+1)); done'];
  });
  const r = inTerminal(`stty rows 30 cols 100; (sleep 3; stty rows 40 cols 120 </dev/tty) & ${bin} --root ${root} run --bundle ${bundle} wc; wait`);
  t.match(r.out, /30 100\n/, 'the size at start');
  t.match(r.out, /30 100\n(30 100\n)*40 120\n/, 'then the new size');
});

t.test('exec -t: in the foreground through a real terminal, and with a console socket', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', bundle, 'ex']);
  const r = inTerminal(`${bin} --root ${root} exec -t ex sh -c 'tty; exit 6'; echo "rc=$?"`);
  t.match(r.out, /^\/dev\/pts\/\d+\nrc=6\n/);
  const dir = tmp(t);
  const sock = path.join(dir, 'exec.sock');
  const rx = receiver(t, sock, 'x\n');
  await waitFor(rx.ready);
  const pidFile = path.join(dir, 'pid');
  ok(root, ['exec', '-t', '-d', '--console-socket', sock, '--pid-file', pidFile, 'ex', 'sh', '-c', 'read y; echo exec-got:$y']);
  t.ok(fs.existsSync(pidFile));
  await rx.done;
  t.match(rx.output(), /exec-got:x/);
  t.match(spawnSync(bin, ['--root', root, 'exec', '-t', '-d', 'ex', 'true'], { encoding: 'utf8' }).stderr, /needs --console-socket/);
});

t.test('the pty belongs to the process user, for run and exec', async (t) => {
  const root = testRoot(t);
  const dir = tmp(t);
  const sock = path.join(dir, 'owner.sock');
  const rx = receiver(t, sock, '');
  await waitFor(rx.ready);
  const bundle = makeBundle(t, (c) => {
    c.process.terminal = true;
    c.process.user = { uid: 1000, gid: 1000 };
    c.process.args = ['sh', '-c', 'stat -c owner:%u:%g $(tty)'];
  });
  ok(root, ['run', '-d', '--bundle', bundle, '--console-socket', sock, 'own']);
  await rx.done; // the receiver prints what it read once the process has gone
  t.match(rx.output(), /owner:1000:1000/, 'run');
  const plain = makeBundle(t, (c) => (c.process.args = ['sleep', '100']));
  ok(root, ['run', '-d', '--bundle', plain, 'host']);
  const esock = path.join(dir, 'exec-owner.sock');
  const ex = receiver(t, esock, '');
  await waitFor(ex.ready);
  ok(root, ['exec', '-t', '-d', '--console-socket', esock, '-u', '1001:1002', 'host', 'sh', '-c', 'stat -c owner:%u:%g $(tty)']);
  await ex.done;
  t.match(ex.output(), /owner:1001:1002/, 'exec');
});
