// The library inside a long-lived process (a daemon, the coming shim): it never blocks the event loop, never
// takes libuv's shared threadpool, reaps every process it starts and installs no signal handler of its own.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeBundle, repo, testRoot, waitFor } from './helpers.mjs';

const ocirun = await import(path.join(repo, 'dist', 'index.js'));

/** A root whose containers are force-deleted through the library at teardown. */
function libRoot(t) {
  const root = testRoot(t);
  t.teardown(async () => {
    for (const c of await ocirun.list({ root }).catch(() => [])) await ocirun.delete(c.id, { root, force: true }).catch(() => {});
  });
  return root;
}

/** A fifo in the bundle, bound into the container at /gate: the container blocks on it until the test writes. */
function gatedBundle(t, script) {
  let fifo;
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', script]));
  fifo = path.join(bundle, 'gate');
  execFileSync('mkfifo', [fifo]);
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.mounts.push({ destination: '/gate', type: 'bind', source: fifo, options: ['bind'] });
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  return { bundle, fifo };
}

/** Opens a fifo for writing once its reader is there (ENXIO until then), without ever blocking. */
function openWhenRead(fifo) {
  return new Promise((resolve, reject) => {
    const tick = setInterval(() => {
      try {
        const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        clearInterval(tick);
        resolve(fd);
      } catch (err) {
        if (err.code !== 'ENXIO') {
          clearInterval(tick);
          reject(err);
        }
      }
    }, 5);
  });
}

function withDeadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]);
}

t.test('foreground runs wait on the event loop, not on the threadpool; no signal handler is installed', async (t) => {
  const root = libRoot(t);
  const listeners = () => ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'].map((s) => process.listenerCount(s));
  const before = listeners();
  // One more than libuv's four threadpool threads: waits that each held a pool thread would starve file I/O.
  const gates = Array.from({ length: 5 }, () => gatedBundle(t, 'read x < /gate; exit 7'));
  const runs = gates.map((g, i) => ocirun.run(`fg${i}`, { root, bundle: g.bundle }));
  const writers = await withDeadline(Promise.all(gates.map((g) => openWhenRead(g.fifo))), 20_000, 'the containers to open their gates');
  await withDeadline(fs.promises.readFile(path.join(repo, 'package.json')), 5_000, 'a file read beside five foreground runs');
  t.pass('file I/O goes on while five containers run in the foreground');
  t.same(listeners(), before, 'no signal listener added by the library');
  for (const fd of writers) {
    fs.writeSync(fd, 'go\n');
    fs.closeSync(fd);
  }
  t.same(await Promise.all(runs), [7, 7, 7, 7, 7], 'each run gives its container\'s status');
  t.same(await ocirun.list({ root }), []);
});

t.test('a createContainer hook that waits does not hold up the event loop', async (t) => {
  const root = libRoot(t);
  const dir = fs.mkdtempSync('/tmp/ocirun-hookgate-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'gate');
  execFileSync('mkfifo', [fifo]);
  // The hook runs before pivot_root, where the host's /tmp is still in view. It waits for this process's
  // event loop to answer: a spawn on the JS thread would keep it waiting until its timeout.
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `read x < ${fifo}`], timeout: 10 }] };
  });
  const created = ocirun.create('hooked', { root, bundle });
  const fd = await withDeadline(openWhenRead(fifo), 20_000, 'the hook to open its gate');
  fs.writeSync(fd, 'go\n');
  fs.closeSync(fd);
  t.equal((await created).status, 'created');
});

/** The process's state letter from /proc, or undefined once it is gone. */
function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
  } catch {
    return undefined;
  }
}

t.test('every process the library starts is reaped: no zombie is left', async (t) => {
  const root = libRoot(t);
  // An init that exits by itself, and one killed by delete --force.
  const quick = makeBundle(t, (c) => (c.process.args = ['true']));
  const done = await ocirun.create('quick', { root, bundle: quick });
  await ocirun.start('quick', { root });
  await waitFor(() => procState(done.pid) !== 'S' && procState(done.pid) !== 'R', 10_000);
  await waitFor(() => procState(done.pid) === undefined, 10_000).catch(() => {});
  t.equal(procState(done.pid), undefined, 'the exited init was reaped, not left a zombie');
  await ocirun.delete('quick', { root });

  const slow = makeBundle(t, (c) => (c.process.args = ['sleep', '1000']));
  const running = await ocirun.create('slow', { root, bundle: slow });
  await ocirun.start('slow', { root });
  await ocirun.exec('slow', { root, args: ['true'] });
  await ocirun.delete('slow', { root, force: true });
  await waitFor(() => procState(running.pid) === undefined, 10_000).catch(() => {});
  t.equal(procState(running.pid), undefined, 'the init killed by delete --force was reaped');
  const zombies = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.split(') ')[1].split(' ')[1]) === process.pid && procState(p) === 'Z';
    } catch {
      return false;
    }
  });
  t.same(zombies, [], 'no zombie child of this process');
});

t.test('fifty foreground runs at once, with a timer firing every 10 ms', async (t) => {
  const root = libRoot(t);
  const bundle = makeBundle(t, (c) => (c.process.args = ['sh', '-c', 'exit 3']));
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => ocirun.run(`many${i}`, { root, bundle })));
  clearInterval(timer);
  t.same(results, Array(50).fill(3));
  t.same(await ocirun.list({ root }), []);
  t.comment(`50 concurrent runs in ${(performance.now() - t0).toFixed(0)} ms; the 10 ms timer's worst delay ${worst.toFixed(1)} ms`);
});
