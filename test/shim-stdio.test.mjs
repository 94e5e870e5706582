// The shim's copy of a terminal's output (lib/shim/stdio.ts: the pty master into containerd's stdout fifo).
// While nobody reads the fifo, the copy must stop reading the pty, so that the process blocks on its terminal
// as it would on a pipe, instead of the shim (one per pod or namespace, long-lived) holding all it cannot
// write in memory. And what a process writes just before it exits must all arrive: libuv ends a pty master's
// stream at the hangup with output still in the kernel (libuv issue 4992). When a background process keeps the
// terminal open after the exit, the copy still ends at the exit, with all the process wrote. The other way,
// input the process has not read yet waits in the shim when the pty is full, rather than being dropped.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fs, os, path, repo } from './helpers.mjs';

// Runs in a node process that python started with a fresh pty's master and slave as fds argv[2] and argv[3].
const copier = `
const fs = require('node:fs');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { ProcessIO } = require(${JSON.stringify(path.join(repo, 'dist', 'shim', 'stdio.js'))});
const [master, slave, fifo, mode] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4], process.argv[5]];
const total = mode === 'tail' || mode === 'held' ? 256 << 10 : 8 << 20;
/** Everything written to the fifo \`file\` until its last writer closes it, as containerd reads it. */
const readAll = (file) => {
  const reader = new net.Socket({ fd: fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
  const chunks = [];
  reader.on('data', (chunk) => chunks.push(chunk));
  return new Promise((r) => reader.on('end', () => r(Buffer.concat(chunks))));
};
(async () => {
  if (mode === 'input') {
    // A process that reads its terminal only after two seconds (by then a megabyte of input is waiting), then
    // counts it up to the end-of-file character. Meanwhile the copier's event loop must go on: a timer of
    // 100 ms fires before the process starts reading.
    const io = new ProcessIO({ stdin: fifo + '.in', stdout: fifo, stderr: '' }, true, { id: 'c', namespace: 'ns' });
    const copied = io.attachTerminal(master);
    const output = readAll(fifo);
    const started = fifo + '.started';
    const proc = spawn('sh', ['-c', 'stty -echo; sleep 2; date +%s%3N > ' + started + '; wc -c'], { stdio: [slave, slave, slave] });
    fs.closeSync(slave);
    const typing = new net.Socket({ fd: fs.openSync(fifo + '.in', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK), readable: false, writable: true });
    const timer = new Promise((r) => setTimeout(() => r(Date.now()), 100));
    typing.end(Buffer.concat([Buffer.from(('x'.repeat(99) + '\\n').repeat(10000)), Buffer.from([4])]));
    const status = await new Promise((r) => proc.on('exit', r));
    await copied;
    io.close();
    const counted = Number(/(\\d+)\\s*$/.exec((await output).toString())?.[1]); // after the echo of what came before stty -echo
    const loopWentOn = (await timer) < Number(fs.readFileSync(started, 'utf8'));
    console.log(JSON.stringify({ counted, status, loopWentOn }));
    return;
  }
  if (mode === 'held') {
    // After the process's exit its terminal stays open (a background process of its holds it: here, this
    // process keeps the slave): at the exit (the shim's processExited) the copy takes what the pty holds and
    // ends, instead of waiting for the other side to close.
    const io = new ProcessIO({ stdin: '', stdout: fifo, stderr: '' }, true, { id: 'c', namespace: 'ns' });
    const copied = io.attachTerminal(master);
    const output = readAll(fifo);
    const writer = spawn('dd', ['if=/dev/zero', 'bs=64k', 'count=' + (total >> 16), 'status=none'], { stdio: ['ignore', slave, 'inherit'] });
    await new Promise((r) => writer.on('exit', r));
    io.processExited();
    await copied;
    const received = (await output).length;
    fs.closeSync(slave);
    console.log(JSON.stringify({ received }));
    return;
  }
  const io = new ProcessIO({ stdin: '', stdout: fifo, stderr: '' }, true, { id: 'c', namespace: 'ns' });
  const copied = io.attachTerminal(master);
  // The container's process: its output written to its terminal, then it exits.
  const writer = spawn('dd', ['if=/dev/zero', 'bs=64k', 'count=' + (total >> 16), 'status=none'], { stdio: ['ignore', slave, 'inherit'] });
  fs.closeSync(slave);
  if (mode === 'tail') {
    // Read all along, as containerd does.
    const received = (await readAll(fifo)).length;
    await copied;
    console.log(JSON.stringify({ received }));
    return;
  }
  const exit = new Promise((r) => writer.on('exit', r));
  let exited = false;
  exit.then(() => (exited = true));
  const written = () => Number(/wchar: (\\d+)/.exec(fs.readFileSync('/proc/' + writer.pid + '/io', 'utf8'))[1]);
  // Until the writer is done (nothing held it back) or has written nothing more for a second (it is blocked).
  let last = -1;
  for (let still = 0; !exited && still < 20; ) {
    await new Promise((r) => setTimeout(r, 50));
    const w = exited ? last : written();
    still = w === last ? still + 1 : 0;
    last = w;
  }
  const heldBack = !exited;
  const writtenUnread = exited ? total : last;
  const buffers = process.memoryUsage().arrayBuffers;
  // Then containerd reads: everything arrives, the writer ends, and so does the copy.
  const output = readAll(fifo);
  const status = await exit;
  await copied;
  const received = (await output).length;
  console.log(JSON.stringify({ heldBack, writtenUnread, buffers, received, status }));
})();
`;

/** The copier on a fresh pty (python opens it), with the fifo at `fifo`; its JSON report. */
function copy(t, mode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-shim-stdio-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'stdout');
  spawnSync('mkfifo', [fifo, `${fifo}.in`]);
  const script = path.join(dir, 'copier.cjs');
  fs.writeFileSync(script, copier);
  const start = `import os, sys; m, s = os.openpty(); os.set_inheritable(m, True); os.set_inheritable(s, True)
os.execv(sys.argv[1], [sys.argv[1], sys.argv[2], str(m), str(s), *sys.argv[3:]])`;
  const r = spawnSync('python3', ['-c', start, process.execPath, script, fifo, mode], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

t.test('a terminal\'s output nobody reads: the process is held back, nothing piles up in the shim, nothing is lost', async (t) => {
  const out = copy(t, 'hold');
  t.ok(out.heldBack, 'the writer is blocked while the fifo is not read');
  t.ok(out.writtenUnread < 1 << 20, `it got at most a few buffers' worth out before that (${out.writtenUnread} bytes)`);
  t.ok(out.buffers < 4 << 20, `the copier holds no more than that (${out.buffers} bytes of buffers)`);
  t.equal(out.received, 8 << 20, 'every byte arrives once the fifo is read');
  t.equal(out.status, 0, 'and the writer ends');
});

t.test('what a process writes to its terminal just before it exits all arrives (ten times over)', async (t) => {
  for (let round = 1; round <= 10; round++) t.equal(copy(t, 'tail').received, 256 << 10, `round ${round}`);
});

t.test('a terminal a background process keeps open: at the exit the copy ends with all the process wrote (ten times over)', async (t) => {
  for (let round = 1; round <= 10; round++) t.equal(copy(t, 'held').received, 256 << 10, `round ${round}`);
});

t.test('a megabyte typed into a terminal whose process reads it later: the shim goes on meanwhile, and all of it arrives', async (t) => {
  const out = copy(t, 'input');
  t.equal(out.status, 0);
  t.ok(out.loopWentOn, 'the event loop did not wait for the process to read');
  t.equal(out.counted, 1_000_000, 'every byte before the end-of-file character');
});
