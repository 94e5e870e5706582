// The cloned child may not allocate (a malloc lock held by another thread at clone time would deadlock it).
// test/alloc-guard/guard.c makes a breach loud: preloaded into ocirun's Node, it is armed by the child first
// thing, and any malloc or free after that kills the child with a message. scripts/test.sh preloads it for
// the whole suite, so every container shape the suite makes is checked; this file checks the guard itself
// and the shapes most likely to allocate (user namespace device binds with long paths, hooks, exec).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fs, os, path, repo, makeBundle, ocirun, ok, testRoot } from './helpers.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-alloc-guard-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const guard = path.join(dir, 'guard.so');
execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', guard, path.join(repo, 'test/alloc-guard/guard.c')]);
const env = { ...process.env, LD_PRELOAD: guard, OCIRUN_ALLOC_GUARD_VERBOSE: '1' };

t.test('the guard kills a process that allocates once armed', async (t) => {
  const breach = path.join(dir, 'breach');
  execFileSync('cc', ['-o', breach, path.join(repo, 'test/alloc-guard/breach.c'), guard]);
  let r;
  try {
    r = execFileSync(breach, { env: { ...process.env, LD_LIBRARY_PATH: dir }, stdio: 'pipe' });
  } catch (err) {
    r = err;
  }
  t.equal(r.signal, 'SIGKILL', 'killed');
  t.equal(r.stdout.toString(), 'before\n', 'allocations before arming pass through');
  t.match(r.stderr.toString(), /alloc-guard: malloc in the cloned child/);
});

t.test('the runtime goes on allocating on memory that was a finished child\'s stack', async (t) => {
  // The runtime's cloned child shares its memory; once it has gone, a thread of the runtime may get a stack
  // where the child's was. The guard once took that thread for the child and killed the runtime (seen in CI).
  const reuse = path.join(dir, 'reuse');
  execFileSync('cc', ['-o', reuse, path.join(repo, 'test/alloc-guard/reuse.c'), guard, '-lpthread']);
  let r;
  try {
    r = execFileSync(reuse, { env: { ...process.env, LD_LIBRARY_PATH: dir }, stdio: 'pipe' });
  } catch (err) {
    r = err;
  }
  t.equal(r.signal ?? null, null, `not killed: ${r.stderr}`);
  t.equal(r.toString?.() ?? r.stdout.toString(), 'went on\n');
});

t.test('containers of every kind are made without an allocation in the child', async (t) => {
  // A host device whose path is longer than std::string's inline buffer: in a user namespace it is bound
  // from the host's node (mknod is refused there).
  const long = `/dev/ocirun-guard-null-${process.pid}`;
  execFileSync('mknod', ['-m', '666', long, 'c', '1', '3']);
  t.teardown(() => fs.rmSync(long, { force: true }));
  const hook = path.join(dir, 'hook.sh');
  fs.writeFileSync(hook, '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });
  const shapes = {
    plain: () => {},
    'user namespace, long device path': (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.devices = [{ path: long, type: 'c', major: 1, minor: 3 }];
    },
    'hooks, sysctl, time namespace, masks': (c) => {
      c.hooks = { createContainer: [{ path: hook }], startContainer: [{ path: '/bin/true' }] };
      c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { monotonic: { secs: 10, nanosecs: 0 } };
    },
  };
  for (const [name, edit] of Object.entries(shapes)) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '100'];
      edit(c);
    });
    const created = ocirun(root, ['create', '--bundle', bundle, 'g'], { env });
    t.equal(created.status, 0, `${name}: created (${created.stderr})`);
    t.match(created.stderr, /alloc-guard: armed/, `${name}: the child armed the guard`);
    t.notMatch(created.stderr, /in the cloned child/, `${name}: no allocation in the child`);
    const exec = ocirun(root, ['exec', 'g', 'true'], { env });
    t.equal(exec.status, 0, `${name}: exec (${exec.stderr})`);
    t.notMatch(exec.stderr, /in the cloned child/, `${name}: no allocation in exec's child`);
    ok(root, ['delete', '--force', 'g']);
  }
});
