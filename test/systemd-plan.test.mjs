// The systemd driver's pure parts, without systemd: unit and slice names, the GVariant values of annotations,
// the translation of resources into unit properties. And its D-Bus client against a real dbus-daemon (a
// private bus of the test's own): marshalling, replies, errors, signals. The driver with a real systemd runs
// in the guest (test/systemd.test.mjs).
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repo, waitFor } from './helpers.mjs';

const load = (m) => import(path.join(repo, 'dist', 'cgroups', m));
const { systemdUnit, expandSlice } = await load('systemd/unit.js');
const { parseGVariant } = await load('systemd/gvariant.js');
const { annotationProperties, deviceProperties, resourceProperties, maskBytes } = await load('systemd/properties.js');
const { v2Writes } = await load('resources.js');
const { devicePolicy, DEFAULT_ALLOWED } = await load('devices.js');
const { Connection, DBusError, wire } = await load('systemd/dbus.js');

const throwsField = (t, fn, re) => t.throws(fn, re);

t.test('unit names and slices, as systemd expands them', async (t) => {
  t.same(systemdUnit('kubepods-besteffort-pod12.slice:cri-containerd:abc', 'x'), {
    slice: 'kubepods-besteffort-pod12.slice',
    unit: 'cri-containerd-abc.scope',
    path: '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope',
  });
  t.same(systemdUnit(undefined, 'c1'), { slice: 'system.slice', unit: 'runc-c1.scope', path: '/system.slice/runc-c1.scope' }, "runc's default");
  t.same(systemdUnit(':p:n', 'x').slice, 'system.slice', 'an empty slice is system.slice');
  t.same(systemdUnit('-.slice::n', 'x'), { slice: '-.slice', unit: 'n.scope', path: '/n.scope' }, 'the root slice, no prefix');
  t.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  for (const [p, re] of [
    ['a:b', /expected "slice:prefix:name"/],
    ['a:b:c:d', /expected "slice:prefix:name"/],
    ['system:p:n', /"system" is not a slice name/],
    ['.slice:p:n', /is not a slice name/],
    ['-a.slice:p:n', /empty component/],
    ['a-.slice:p:n', /empty component/],
    ['a/b.slice:p:n', /must not contain "\/"/],
    ['system.slice:p:', /has no name/],
    ['system.slice:p:n.slice', /a slice as the container's own unit is not supported/],
    ['system.slice:p:a b', /characters systemd refuses/],
    [`system.slice:p:${'n'.repeat(250)}`, /longer than 255/],
  ])
    throwsField(t, () => systemdUnit(p, 'x'), { message: re, pointer: '/linux/cgroupsPath' });
});

t.test('GVariant text values, typed', async (t) => {
  const cases = [
    ['true', 'b', true],
    ['uint64 123', 't', 123n],
    ['@t 5', 't', 5n],
    ['42', 'i', 42],
    ['-7', 'i', -7],
    ['int64 -9000000000', 'x', -9000000000n],
    ['1.5', 'd', 1.5],
    ["'inactive-or-failed'", 's', 'inactive-or-failed'],
    ['"a\\"b\\u00e9"', 's', 'a"bé'],
    ['[1, 2, 3]', 'ai', [1, 2, 3]],
    ['@as []', 'as', []],
    ["['a', 'b']", 'as', ['a', 'b']],
    ['(1, "x")', '(is)', [1, 'x']],
    ['uint32 0x10', 'u', 16],
    ['[uint64 1, 2]', 'at', [1n, 2n]],
  ];
  for (const [text, sig, value] of cases) t.same(parseGVariant(text), { sig, value }, text);
  for (const [text, re] of [
    ["'open", /unterminated string/],
    ['[]', /empty array needs a type/],
    ['uint8 3', /unexpected "u"/],
    ['byte 300', /out of range/],
    ['uint64 -1', /out of range/],
    ['int32 1.5', /not an integer/],
    ['1 2', /unexpected "2"/],
    ['[1, "a"]', /a s value where i is wanted/],
    ['', /a value is missing/],
  ])
    t.throws(() => parseGVariant(text), { message: re }, text);
});

t.test('annotations: typed properties; "Sec" in seconds becomes "USec"; bad ones name the field', async (t) => {
  t.same(annotationProperties({
    'org.systemd.property.TimeoutStopUSec': 'uint64 123456789',
    'org.systemd.property.CollectMode': "'inactive-or-failed'",
    'org.systemd.property.RuntimeMaxSec': '1.5',
    'org.systemd.property.Unknown': '@ay [1]',
    'other.annotation': 'ignored',
  }), [
    ['TimeoutStopUSec', { sig: 't', value: 123456789n }],
    ['CollectMode', { sig: 's', value: 'inactive-or-failed' }],
    ['RuntimeMaxUSec', { sig: 't', value: 1500000n }],
    ['Unknown', { sig: 'ay', value: [1] }],
  ]);
  const field = (k) => `/annotations/org.systemd.property.${k}`;
  for (const [k, v, re] of [
    ['TimeoutStopUSec', '123', /"123" is int32; TimeoutStopUSec takes uint64 \(write "uint64 123"\)/],
    ['CollectMode', 'true', /"true" is boolean; CollectMode takes string/],
    ['Delegate', "'yes'", /takes boolean/],
    ['RuntimeMaxSec', "'soon'", /is not a number of seconds/],
    ['RuntimeMaxSec', '-1', /is not a number of seconds/],
    ['lowercase', 'true', /is not a systemd property name/],
    ['X', 'true', /is not a systemd property name/],
    ['CollectMode', "'open", /is not a GVariant value: an unterminated string/],
  ])
    t.throws(() => annotationProperties({ [`org.systemd.property.${k}`]: v }), { pointer: field(k), message: re }, `${k}=${v}`);
});

t.test('resources become the unit properties runc sets; unified keys override', async (t) => {
  const writes = v2Writes({
    memory: { limit: 2 ** 30, reservation: 2 ** 20, swap: 2 ** 31 },
    cpu: { shares: 1024, quota: 12345, period: 100000, cpus: '0-2,9', mems: '0' },
    pids: { limit: 100 },
    blockIO: { weight: 500 },
    unified: { 'memory.high': '5000000', 'pids.max': 'max' },
  });
  const props = Object.fromEntries(resourceProperties(writes));
  t.same(props, {
    MemorySwapMax: { sig: 't', value: 1n << 30n },
    MemoryMax: { sig: 't', value: 1n << 30n },
    MemoryLow: { sig: 't', value: 1n << 20n },
    CPUWeight: { sig: 't', value: 100n },
    CPUQuotaPeriodUSec: { sig: 't', value: 100000n },
    CPUQuotaPerSecUSec: { sig: 't', value: 130000n }, // 123.45 ms per s, rounded up to whole percent
    AllowedCPUs: { sig: 'ay', value: Buffer.from([0b111, 0b10]) },
    AllowedMemoryNodes: { sig: 'ay', value: Buffer.from([1]) },
    TasksMax: { sig: 't', value: 2n ** 64n - 1n }, // unified pids.max "max" after pids.limit 100
    IOWeight: { sig: 't', value: 4950n }, // blkio 500 on io.weight's scale, as runc converts
    MemoryHigh: { sig: 't', value: 5000000n },
  });
  t.same(resourceProperties(v2Writes({ pids: { limit: 0 } })), [], 'pids 0 stays a file write only');
  t.same(resourceProperties(v2Writes({ cpu: { quota: -1, period: 50000 } })), [
    ['CPUQuotaPeriodUSec', { sig: 't', value: 50000n }],
    ['CPUQuotaPerSecUSec', { sig: 't', value: 2n ** 64n - 1n }],
  ]);
  t.throws(() => maskBytes('1-a', '/linux/resources/cpu/cpus'), { pointer: '/linux/resources/cpu/cpus' });
});

t.test('device rules: strict with the allowed nodes, or auto when the default allows', async (t) => {
  const names = (type, major) => (type === 'c' && major === 136 ? 'pts' : undefined);
  const strict = deviceProperties(devicePolicy([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }, ...DEFAULT_ALLOWED]), names);
  t.same(strict[0], ['DevicePolicy', { sig: 's', value: 'strict' }]);
  t.same(strict[1][1].value, [
    ['/dev/block/8:0', 'r'], ['char-*', 'm'], ['block-*', 'm'], ['/dev/char/1:3', 'rwm'], ['/dev/char/1:8', 'rwm'],
    ['/dev/char/1:7', 'rwm'], ['/dev/char/5:0', 'rwm'], ['/dev/char/1:5', 'rwm'], ['/dev/char/1:9', 'rwm'],
    ['/dev/char/5:1', 'rwm'], ['char-pts', 'rwm'], ['/dev/char/5:2', 'rwm'], ['/dev/char/10:200', 'rwm'],
  ]);
  t.same(deviceProperties(devicePolicy([{ allow: true, access: 'rwm' }]), names), [
    ['DevicePolicy', { sig: 's', value: 'auto' }], ['DeviceAllow', { sig: 'a(ss)', value: [] }],
  ]);
});

t.test('the D-Bus client against a real dbus-daemon: calls, errors, signals, marshalling round trips', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-dbus-'));
  const address = path.join(dir, 'bus');
  const daemon = spawn('dbus-daemon', ['--session', `--address=unix:path=${address}`, '--nofork', '--nopidfile'], { stdio: 'ignore' });
  t.teardown(() => {
    daemon.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let c; // the socket file appears just before the daemon listens on it
  await waitFor(async () => (c = await Connection.open(address).catch(() => undefined)) !== undefined);
  t.teardown(() => c.close());
  const bus = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
  const [names] = await c.call({ ...bus, member: 'ListNames' });
  t.ok(names.includes('org.freedesktop.DBus'), 'a method call and its reply');
  const failed = await c.call({ ...bus, member: 'GetNameOwner', signature: 's', body: ['org.ocirun.Nobody'] }).catch((e) => e);
  t.ok(failed instanceof DBusError, 'an error reply rejects the call');
  t.equal(failed.dbusName, 'org.freedesktop.DBus.Error.NameHasNoOwner', 'with its D-Bus name');
  const seen = [];
  c.onSignal((m) => seen.push([m.member, m.body]));
  await c.call({ ...bus, member: 'AddMatch', signature: 's', body: ["type='signal',member='NameOwnerChanged',arg0='org.ocirun.Test'"] });
  await c.call({ ...bus, member: 'RequestName', signature: 'su', body: ['org.ocirun.Test', 0] });
  await waitFor(() => seen.some(([m]) => m === 'NameOwnerChanged'));
  t.match(seen.find(([m]) => m === 'NameOwnerChanged')[1], ['org.ocirun.Test', '', /^:1\./], 'a matched signal arrives');

  // Every type the driver sends, through the wire and back.
  const body = ['u.scope', 'replace', [
    ['Delegate', { sig: 'b', value: true }], ['PIDs', { sig: 'au', value: [1, 2] }], ['MemoryMax', { sig: 't', value: 2n ** 64n - 1n }],
    ['AllowedCPUs', { sig: 'ay', value: Buffer.from([3, 0, 1]) }], ['DeviceAllow', { sig: 'a(ss)', value: [['/dev/char/1:3', 'rwm']] }],
    ['KillSignal', { sig: 'i', value: -2 }], ['X', { sig: 'd', value: 0.25 }], ['Y', { sig: 'a(sv)', value: [] }],
  ], []];
  const msg = { type: 1, destination: 'd', path: '/p', interface: 'i.f', member: 'M', signature: 'ssa(sv)a(sa(sv))', body };
  const back = wire.decode(wire.encode(msg, 9)).message;
  t.same(back.body, body);
  t.equal(back.serial, 9);
});

t.test('the D-Bus client: a bus that hangs up or refuses gives a clear error, at once', async (t) => {
  const net = await import('node:net');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-dbus-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const serve = (name, onConnection) => new Promise((resolve) => {
    const server = net.createServer(onConnection).listen(path.join(dir, name), () => resolve(server));
    t.teardown(() => server.close());
  });
  // A bus that reads the greeting, then hangs up without a word: no error event, only the end of the stream.
  await serve('hangup', (s) => s.once('data', () => s.end()));
  await t.rejects(Connection.open(path.join(dir, 'hangup')), { message: /closed the connection during authentication/ });
  await serve('refuse', (s) => s.once('data', () => s.end('REJECTED EXTERNAL\r\n')));
  await t.rejects(Connection.open(path.join(dir, 'refuse')), { message: /the bus refused authentication: REJECTED EXTERNAL/ });
  await t.rejects(Connection.open(path.join(dir, 'nobody-listens')), { code: 'ENOENT' });
});
