// The pure parts of lib/cgroups: how device rules fold (the kernel's v1 semantics, which the v2 BPF program
// reproduces), and runc's conversions. The effect of each on real cgroups is in cgroups.test.mjs.
import t from 'tap';
import { path, repo } from './helpers.mjs';

const { devicePolicy, v1DeviceWrites, deviceProgram, DEFAULT_ALLOWED } = await import(path.join(repo, 'dist', 'cgroups', 'devices.js'));
const { sharesToWeight, blkioWeightToIoWeight, swapToV2, v2Writes, v1Writes } = await import(path.join(repo, 'dist', 'cgroups', 'resources.js'));

t.test('device rules fold like the v1 controller', async (t) => {
  const denyAll = { allow: false, access: 'rwm' };
  t.same(devicePolicy([denyAll]), { defaultAllow: false, exceptions: [] }, 'an "a" rule resets');
  const p = devicePolicy([denyAll, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }]);
  t.same(p.exceptions, [{ type: 'c', major: 1, minor: 3, access: 'rw' }], 'allows of one device merge');
  const q = devicePolicy([denyAll, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }]);
  t.same(q.exceptions, [{ type: 'c', major: 1, minor: 3, access: 'mr' }], 'a later deny takes its bits away');
  const r = devicePolicy([{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, access: 'w' }]);
  t.same(r, { defaultAllow: true, exceptions: [{ type: 'b', major: 8, minor: -1, access: 'w' }] }, 'allow-all with a deny');
  t.same(devicePolicy([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, denyAll]).exceptions, [], 'a reset forgets what came before');
});

t.test('v1 writes: reset, then one line per exception', async (t) => {
  const writes = v1DeviceWrites(devicePolicy([{ allow: false, access: 'rwm' }, ...DEFAULT_ALLOWED]));
  t.same(writes[0], { controller: 'devices', file: 'devices.deny', value: 'a', field: '/linux/resources/devices' });
  t.same(writes.slice(1).map((w) => w.value), ['c *:* m', 'b *:* m', 'c 1:3 mrw', 'c 1:8 mrw', 'c 1:7 mrw', 'c 5:0 mrw', 'c 1:5 mrw', 'c 1:9 mrw', 'c 5:1 mrw', 'c 136:* mrw', 'c 5:2 mrw', 'c 10:200 mrw']);
  t.ok(writes.slice(1).every((w) => w.file === 'devices.allow'));
});

t.test('the BPF program: 8-byte instructions, one block per exception, ending in the default', async (t) => {
  const prog = deviceProgram(devicePolicy([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]));
  t.equal(prog.length % 8, 0);
  const insns = [];
  for (let i = 0; i < prog.length; i += 8) insns.push([prog[i], prog[i + 1], prog.readInt16LE(i + 2), prog.readInt32LE(i + 4)]);
  t.same(insns.at(-2), [0xb7, 0, 0, 0], 'r0 = 0: deny by default');
  t.same(insns.at(-1), [0x95, 0, 0, 0], 'exit');
  const jumps = insns.filter(([op]) => op === 0x55);
  t.same(jumps.map(([, , , imm]) => imm), [2, 1, 3], 'type char, major 1, minor 3');
  t.ok(insns.some(([op, , , imm]) => op === 0xb7 && imm === 1), 'r0 = 1 when the exception matches');
});

t.test('conversions, as runc makes them', async (t) => {
  t.equal(sharesToWeight(0), 0, 'unset');
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(1024), 100, 'the default shares give the default weight (runc >= 1.3.2)');
  t.equal(sharesToWeight(512), 59);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(blkioWeightToIoWeight(10), 1);
  t.equal(blkioWeightToIoWeight(1000), 10000);
  t.equal(swapToV2(-1, 100), -1, 'unlimited');
  t.equal(swapToV2(0, -1), -1, 'memory unlimited, swap unset: both unlimited');
  t.equal(swapToV2(300, 100), 200, 'memory+swap minus memory');
  t.throws(() => swapToV2(300, undefined), /unable to set swap limit without memory limit/);
  t.throws(() => swapToV2(50, 100), /memory\+swap limit should be >= memory limit/);
});

t.test('resource writes for v2 and v1', async (t) => {
  const r = { memory: { limit: 100, swap: 100 }, cpu: { quota: -1, period: 50000 }, pids: { limit: -1 } };
  t.same(v2Writes(r).map((w) => [w.file, w.value]), [['memory.swap.max', '0'], ['memory.max', '100'], ['cpu.max', 'max 50000'], ['pids.max', 'max']]);
  t.same(v1Writes(r).map((w) => [w.controller, w.file, w.value]), [
    ['memory', 'memory.limit_in_bytes', '100'], ['memory', 'memory.memsw.limit_in_bytes', '100'],
    ['cpu', 'cpu.cfs_period_us', '50000'], ['cpu', 'cpu.cfs_quota_us', '-1'], ['pids', 'pids.max', 'max']]);
  t.same(v1Writes({ memory: { limit: -1 } }).map((w) => [w.file, w.value, !!w.optional]),
    [['memory.limit_in_bytes', '-1', false], ['memory.memsw.limit_in_bytes', '-1', true]], 'unlimited memory, swap unsaid: memory+swap unlimited where swap is accounted (runc)');
  t.throws(() => v2Writes({ network: { classID: 1 } }), /\/linux\/resources\/network: net_cls and net_prio are cgroup v1 controllers/);
  t.throws(() => v2Writes({ unified: { '../escape': '1' } }), /\/linux\/resources\/unified\/\.\.\/escape: not a controller interface file name/);
  t.throws(() => v2Writes({ unified: { 'cgroup.procs': '1' } }), /not a controller interface file name/, 'no cgroup.* core files');
});
