// The malformed-config corpus (scripts/gen-malformed.js): each case is refused by `create` with exit 1 and one
// message naming the JSON pointer of the offending field, quickly, leaving nothing behind: no state
// directory, no cgroup, no mount, no process.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { bin, fs, os, path, repo, hostMountsUnder, makeBundle, testRoot } from './helpers.mjs';

const { malformedCases } = createRequire(import.meta.url)(path.join(repo, 'scripts', 'gen-malformed.js'));
const cases = malformedCases(true);

function create(root, bundle, id) {
  return new Promise((resolve) => {
    const started = Date.now();
    const p = spawn(bin, ['--root', root, 'create', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    // After the exit, the rest of stderr: its end, unless a container that should not exist holds the pipe.
    p.on('exit', (status) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      const done = () => resolve({ status, stderr, ms });
      if (p.stderr.readableEnded) return done();
      const late = setTimeout(done, 1000);
      p.stderr.on('end', () => (clearTimeout(late), done()));
    });
  });
}

/** Every cgroup directory named `name` below the hierarchies' roots (and the test's own cgroups). */
function cgroupsNamed(name) {
  const found = [];
  const walk = (dir, depth) => {
    if (depth > 4) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name === name) found.push(path.join(dir, e.name));
      walk(path.join(dir, e.name), depth + 1);
    }
  };
  try {
    walk('/sys/fs/cgroup', 0);
  } catch {
    /* a hierarchy went away meanwhile */
  }
  return found;
}

t.test(`${cases.length} malformed configs are refused cleanly`, async (t) => {
  t.ok(cases.length >= 200, `at least 200 cases (${cases.length})`);
  const root = testRoot(t);
  const shared = makeBundle(t); // one busybox rootfs for every case
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-malformed-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const slow = [];
  const results = [];
  for (let i = 0; i < cases.length; i += 4) {
    results.push(
      ...(await Promise.all(
        cases.slice(i, i + 4).map(async (c, k) => {
          const bundle = path.join(dir, `b${i + k}`);
          fs.mkdirSync(bundle);
          fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c.config.root?.path === 'rootfs' ? { ...c.config, root: { ...c.config.root, path: path.join(shared, 'rootfs') } } : c.config));
          const id = `m${i + k}`;
          return { c, id, bundle, r: await create(root, bundle, id) };
        }),
      )),
    );
  }
  for (const { c, id, bundle, r } of results) {
    const lines = r.stderr.trim().split('\n');
    const ok = r.status === 1 && lines.length === 1 && lines[0].includes(c.pointer) && !/\n\s+at /.test(r.stderr);
    t.ok(ok, `${c.name}: exit ${r.status}, ${JSON.stringify(r.stderr.trim().slice(0, 300))}`);
    if (r.ms > 1000) slow.push(`${c.name} (${r.ms} ms)`);
    t.notOk(fs.existsSync(path.join(root, id)), `${c.name}: no state left`) || undefined;
    t.same(cgroupsNamed(id), [], `${c.name}: no cgroup left`);
    t.same(hostMountsUnder(bundle), [], `${c.name}: no mount left`);
  }
  t.same(fs.readdirSync(root).filter((n) => !n.startsWith('.')), [], 'the state root is empty');
  t.same(fs.readdirSync(root).filter((n) => n.startsWith('.')), [], 'no hidden leftovers either');
  t.comment(`over 1 s: ${slow.length ? slow.join(', ') : 'none'}`);
  t.ok(slow.length === 0, 'each refused within a second');
});
