// Bad input: exit 1, a message naming what is wrong, and nothing left behind (state, mounts, processes).
import t from 'tap';
import { fs, path, hostMountsUnder, makeBundle, ocirun, testRoot } from './helpers.mjs';

/** Processes whose root directory lies inside `dir`: a container that should not exist. */
function processesRootedIn(dir) {
  const found = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readlinkSync(`/proc/${p}/root`).startsWith(dir)) found.push(p);
    } catch {}
  }
  return found;
}

function expectRefused(t, root, bundle, args, message) {
  const r = ocirun(root, [...args, 'bad']);
  t.equal(r.status, 1, `exit 1 for ${message}`);
  t.match(r.stderr, message);
  t.same(fs.readdirSync(root), [], 'no state dir');
  if (bundle) {
    t.same(hostMountsUnder(bundle), [], 'no mount');
    t.same(processesRootedIn(bundle), [], 'no process');
  }
}

t.test('bundle problems', async (t) => {
  const root = testRoot(t);
  expectRefused(t, root, null, ['create', '--bundle', '/nonexistent-bundle'], /bundle \/nonexistent-bundle: no such directory/);
  const empty = makeBundle(t);
  fs.rmSync(path.join(empty, 'config.json'));
  expectRefused(t, root, empty, ['create', '--bundle', empty], /config\.json not found/);
  fs.writeFileSync(path.join(empty, 'config.json'), '{"ociVersion": ');
  expectRefused(t, root, empty, ['create', '--bundle', empty], /invalid JSON/);
  const noRootfs = makeBundle(t, (c) => (c.root.path = 'missing'));
  expectRefused(t, root, noRootfs, ['create', '--bundle', noRootfs], /\/root\/path: rootfs .*missing does not exist/);
});

t.test('schema errors name the JSON pointer', async (t) => {
  const cases = [
    [(c) => (c.process.args = []), /\/process\/args: must contain at least 1 item/],
    [(c) => delete c.process.cwd, /\/process\/cwd: is required/],
    [(c) => (c.process.cwd = 'relative'), /\/process\/cwd: must match/],
    [(c) => (c.ociVersion = '2.0.0'), /\/ociVersion: must be a 1\.x semantic version/],
    [(c) => (c.process.user.uid = -1), /\/process\/user\/uid: must be >= 0/],
    [(c) => (c.mounts[0].options = 'ro'), /\/mounts\/0\/options: must be array/],
    [(c) => (c.process.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), /\/process\/rlimits\/0\/type: unknown rlimit RLIMIT_BOGUS/],
    [(c) => (c.mounts = [{ destination: '/x', type: 'bind', source: '/no/such/source', options: ['bind'] }]), /\/mounts\/0\/source: bind source \/no\/such\/source does not exist/],
    [(c) => (c.process.terminal = true), /\/process\/terminal: a terminal needs --console-socket/],
  ];
  for (const [edit, message] of cases) {
    const root = testRoot(t);
    const bundle = makeBundle(t, edit);
    expectRefused(t, root, bundle, ['create', '--bundle', bundle], message);
  }
});

t.test('unknown properties are accepted, as the spec requires', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.someFutureField = { x: 1 };
    c.process.alsoNew = true;
  });
  t.equal(ocirun(root, ['run', '--bundle', bundle, 'u']).status, 0);
});

t.test('failures inside the container setup', async (t) => {
  const root = testRoot(t);
  const missing = makeBundle(t, (c) => (c.process.args = ['nosuch']));
  expectRefused(t, root, missing, ['create', '--bundle', missing], /exec: "nosuch": executable file not found in \$PATH/);
  const notExec = makeBundle(t, (c) => (c.process.args = ['/etc/passwd']));
  expectRefused(t, root, notExec, ['run', '--bundle', notExec], /exec-lookup: .*\/etc\/passwd/);
  let index = -1;
  const badMount = makeBundle(t, (c) => (index = c.mounts.push({ destination: '/x', type: 'nosuchfs', source: 'none' }) - 1));
  // Which of the mounts failed: its index in the config and its destination.
  expectRefused(t, root, badMount, ['create', '--bundle', badMount], new RegExp(`mounts: /mounts/${index} \\(/x\\): mount /x: No such device`));
});

t.test('unknown ids, wrong states and bad arguments', async (t) => {
  const root = testRoot(t);
  for (const cmd of [['start'], ['state'], ['kill'], ['delete']]) {
    const r = ocirun(root, [...cmd, 'ghost']);
    t.equal(r.status, 1);
    t.match(r.stderr, /container "ghost" does not exist/, `${cmd[0]} of an unknown id`);
  }
  t.match(ocirun(root, ['create', 'a/b']).stderr, /invalid container id format/);
  t.match(ocirun(root, ['start']).stderr, /"start" requires exactly 1 argument/);
  t.match(ocirun(root, ['create', '--bogus', 'x']).stderr, /flag provided but not defined: -bogus/);
  t.match(ocirun(root, ['frobnicate']).stderr, /No help topic for 'frobnicate'/); // runc's words (issue 11)
  t.equal(ocirun(root, ['kill', 'x', 'TERM', 'extra']).status, 1);
});
