// linux.netDevices with devices the test makes itself (veth pairs, a tap device, a named network namespace):
// never the host's own interfaces. Each is removed at teardown whatever happened.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { fs, makeBundle, ocirun, ok, runContainer, testRoot, waitFor } from './helpers.mjs';

const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });
const exists = (dev) => fs.existsSync(`/sys/class/net/${dev}`);
let seq = 0;
const name = (kind) => `oc${kind}${process.pid % 10000}${seq++}`;

/** A veth pair made here; the end `moved` carries 10.123.<n>.1/24 and is up. */
function veth(t) {
  const host = name('h'), moved = name('m');
  ip('link', 'add', host, 'type', 'veth', 'peer', 'name', moved);
  t.teardown(() => { if (exists(host)) ip('link', 'del', host); });
  ip('addr', 'add', `10.123.${seq}.1/24`, 'dev', moved);
  ip('link', 'set', moved, 'up');
  return { host, moved, addr: `10.123.${seq}.1/24` };
}

t.test('a veth end moves in renamed, with its address and up state; the namespace takes it away at the end', async (t) => {
  const { host, moved, addr } = veth(t);
  const r = runContainer(t, ['sh', '-c', 'ip -o -4 addr show dev eth1; ip -o link show eth1'], (c) => (c.linux.netDevices = { [moved]: { name: 'eth1' } }));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`eth1\\s+inet ${addr.replace(/\./g, '\\.')}`), 'the address came with it');
  t.match(r.stdout, /eth1@\S+: <[^>]*\bUP\b/, 'up, as it was on the host');
  t.notOk(exists(moved), 'not on the host under its old name');
  // The kernel tears a dead network namespace down in a work queue, a moment after its last process.
  await waitFor(() => !exists(host), 10_000);
  t.pass('a veth dies with the container\'s network namespace, its peer with it');
});

t.test('into a joined network namespace: there while the container lives, back on the host after delete', async (t) => {
  // A network namespace that outlives the container, held by a process of the test's own (not `ip netns add`,
  // which would leave its /run/netns mount on the host).
  const holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  const netns = `/proc/${holder.pid}/ns/net`;
  await waitFor(() => fs.readlinkSync(netns) !== fs.readlinkSync('/proc/self/ns/net'));
  const inNs = (...args) => execFileSync('nsenter', [`--net=${netns}`, 'ip', ...args], { encoding: 'utf8' });
  const tap = name('t');
  ip('tuntap', 'add', 'dev', tap, 'mode', 'tap');
  t.teardown(() => { if (exists(tap)) ip('link', 'del', tap); });
  ip('addr', 'add', '10.124.0.1/24', 'dev', tap);
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.namespaces.find((n) => n.type === 'network').path = netns;
    c.linux.netDevices = { [tap]: { name: 'tap0' } };
  });
  ok(root, ['run', '-d', '--bundle', bundle, 'j']);
  t.notOk(exists(tap), 'gone from the host');
  t.match(inNs('-o', '-4', 'addr', 'show', 'dev', 'tap0'), /inet 10\.124\.0\.1\/24/, 'in the joined namespace as tap0, with its address');
  const e = ok(root, ['exec', 'j', 'ip', '-o', 'link', 'show', 'tap0']);
  t.match(e.stdout, /tap0:/, 'the container sees it');
  ok(root, ['delete', '--force', 'j']);
  t.ok(exists(tap), 'back on the host under its own name');
  t.match(ip('-o', '-4', 'addr', 'show', 'dev', tap), /inet 10\.124\.0\.1\/24/, 'with its address');
  t.notOk(/tap0/.test(inNs('-o', 'link')), 'not left in the namespace');
});

t.test('bad netDevices: a clear error naming the field, exit 1, the device still on the host, nothing left', async (t) => {
  const { moved } = veth(t);
  const cases = [
    [(c) => (c.linux.netDevices = { nosuch0: {} }), /\/linux\/netDevices\/nosuch0: no such network device in the runtime's network namespace/],
    [(c) => ((c.linux.netDevices = { [moved]: {} }), (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network'))), /\/linux\/netDevices: moving network devices needs a network namespace of the container's own/],
    [(c) => (c.linux.netDevices = { [moved]: { name: 'a/b' } }), /\/linux\/netDevices\/oc\w+\/name: not a valid network device name/],
    [(c) => (c.linux.netDevices = { [moved]: { name: 'x' }, lo: { name: 'x' } }), /\/linux\/netDevices\/lo\/name: x is also the name of/],
    [(c) => (c.linux.netDevices = { [moved]: { name: 'lo' } }), /\/linux\/netDevices\/oc\w+: .*lo.*(File exists|EEXIST)/],
  ];
  for (const [edit, message] of cases) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => ((c.process.args = ['true']), edit(c)));
    const r = ocirun(root, ['run', '--bundle', bundle, 'bad']);
    t.equal(r.status, 1, r.stderr);
    t.match(r.stderr, message);
    t.same(fs.readdirSync(root), [], 'no state left');
    t.ok(exists(moved), 'the device is still on the host');
  }
});
