// The library's caller in bench/soak.mjs: N cycles (create, start, exec, pause, resume, kill, delete) in this
// one process, then one JSON line on stdout: the inits it made (pid:starttime), its failures, its open fd
// count after the first cycle and at the end, its RSS and V8 heap after the first tenth of the cycles and at
// the end (each after a GC: run with --expose-gc).
//
//   node --expose-gc bench/soak-library.mjs ROOT BUNDLE ID-PREFIX N
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ocirun = await import(path.join(repo, 'dist', 'index.js'));
const { processStartTime } = await import(path.join(repo, 'dist', 'state', 'status.js'));
const [root, bundle, prefix, count] = process.argv.slice(2);
const n = Number(count);

const fds = () => fs.readdirSync('/proc/self/fd').length;
/** Until every child of this process is reaped and its pidfd closed: counts taken then are comparable. */
async function settle() {
  const children = () => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean));
  for (let i = 0; i < 1000 && children().length; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); // the closed watches' callbacks
}
const rss = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss;
};
const heap = () => ({ used: process.memoryUsage().heapUsed >> 10, total: process.memoryUsage().heapTotal >> 10 });

const inits = [];
const failures = [];
let fdsStart = 0;
let rssEarly = 0;
let heapEarly;
for (let i = 0; i < n; i++) {
  const id = `${prefix}-${i}`;
  try {
    const st = await ocirun.create(id, { root, bundle });
    inits.push(`${st.pid}:${processStartTime(st.pid)}`); // pid and start time
    await ocirun.start(id, { root });
    const code = await ocirun.exec(id, { root, args: ['true'] });
    if (code !== 0) throw new Error(`exec exited ${code}`);
    await ocirun.pause(id, { root });
    await ocirun.resume(id, { root });
    await ocirun.kill(id, 'KILL', { root });
    await ocirun.delete(id, { root, force: true });
  } catch (err) {
    failures.push(`${id}: ${err.message}`);
    await ocirun.delete(id, { root, force: true }).catch(() => {});
  }
  if (i === 0) {
    await settle();
    fdsStart = fds();
  }
  if (i === Math.max(0, Math.floor(n / 10) - 1)) {
    rssEarly = rss();
    heapEarly = heap();
  }
}
await settle();
const rssEnd = rss();
console.log(JSON.stringify({ inits, failures, fdsStart, fdsEnd: fds(), rssEarly, rssEnd, heapEarly, heapEnd: heap() }));
