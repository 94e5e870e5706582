#!/usr/bin/env node
// The malformed-config corpus: config.json files made from a valid one, each broken in one way, with the JSON
// pointer of the field that is wrong. test/malformed.test.mjs feeds every case to `ocirun create`, which must
// refuse it with exit 1 and a message naming that pointer, within a second, leaving nothing behind.
// `node scripts/gen-malformed.js` writes the small cases to test/fixtures/malformed/cases.json (to read, and to
// seed a fuzzer); the size cases (10 MB strings, 100 000-element arrays) are made when the test runs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { defaultSpec } = require('../dist/config/default-spec.js');

const base = () => {
  const c = defaultSpec();
  c.process.terminal = false;
  c.process.args = ['true'];
  return c;
};
const cases = [];
/** One case: `edit` breaks a fresh valid config; `pointer` is the field the message must name. */
function add(name, pointer, edit) {
  const config = base();
  edit(config);
  cases.push({ name, pointer: typeof pointer === 'function' ? pointer(config) : pointer, config });
}
const lastMount = (field) => (c) => `/mounts/${c.mounts.length - 1}/${field}`;
const at = (obj, ptr) => ptr.split('/').slice(1).reduce((o, k) => o[k], obj);
const set = (obj, ptr, v) => {
  const keys = ptr.split('/').slice(1);
  const last = keys.pop();
  let o = obj;
  for (const k of keys) o = o[k] ??= {};
  o[last] = v;
};

// 1. Wrong types, field by field.
const typed = {
  '/ociVersion': 'string', '/process/terminal': 'boolean', '/process/cwd': 'string', '/process/args': 'array',
  '/process/env': 'array', '/process/user/uid': 'number', '/process/user/gid': 'number', '/process/noNewPrivileges': 'boolean',
  '/process/rlimits': 'array', '/process/capabilities': 'object', '/process/capabilities/bounding': 'array',
  '/root': 'object', '/root/path': 'string', '/root/readonly': 'boolean', '/hostname': 'string', '/mounts': 'array',
  '/mounts/0': 'object', '/mounts/0/destination': 'string', '/mounts/0/type': 'string', '/mounts/0/options': 'array',
  '/linux': 'object', '/linux/namespaces': 'array', '/linux/namespaces/0': 'object', '/linux/namespaces/0/type': 'string',
  '/linux/maskedPaths': 'array', '/linux/readonlyPaths': 'array', '/linux/resources': 'object', '/annotations': 'object',
};
const wrong = { string: [42, true, [], {}], number: ['1', true, [], {}], boolean: ['yes', 1, [], {}], array: ['x', 1, {}], object: ['x', 1, []] };
for (const [ptr, type] of Object.entries(typed))
  for (const v of wrong[type]) add(`type ${ptr} = ${JSON.stringify(v)}`, ptr, (c) => set(c, ptr, v));
for (const [ptr, v] of [['/process/args/0', 1], ['/process/env/0', 2], ['/linux/maskedPaths/0', false], ['/mounts/1/options/0', 3], ['/process/capabilities/bounding/0', 4], ['/annotations/x', 5]])
  add(`type ${ptr} = ${JSON.stringify(v)}`, ptr, (c) => set(c, ptr, v));

// 2. Numbers out of range.
for (const [ptr, v] of [
  ['/process/user/uid', -1], ['/process/user/gid', -1], ['/process/user/uid', 2 ** 32], ['/process/user/gid', 1.5],
  ['/process/user/umask', -1], ['/process/oomScoreAdj', 1001], ['/process/oomScoreAdj', -1001],
  ['/process/consoleSize/height', -1], ['/process/consoleSize/width', 1e6], ['/process/user/additionalGids/0', -5],
])
  add(`range ${ptr} = ${v}`, ptr.replace(/\/0$/, '/0'), (c) => {
    if (ptr.startsWith('/process/consoleSize')) c.process.consoleSize = { height: 10, width: 10 };
    if (ptr.startsWith('/process/user/additionalGids')) c.process.user.additionalGids = [0];
    set(c, ptr, v);
  });
add('rlimit soft above hard', '/process/rlimits/0', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]));
add('rlimit negative', '/process/rlimits/0/soft', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 5 }]));
add('id mapping of size 0', '/linux/uidMappings/0/size', (c) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
});
add('device major negative', '/linux/devices/0/major', (c) => (c.linux.devices = [{ path: '/dev/x', type: 'c', major: -1, minor: 1 }]));
add('hook timeout 0', '/hooks/prestart/0/timeout', (c) => (c.hooks = { prestart: [{ path: '/bin/true', timeout: 0 }] }));
add('hook timeout negative', '/hooks/prestart/0/timeout', (c) => (c.hooks = { prestart: [{ path: '/bin/true', timeout: -3 }] }));
add('memory limit a string', '/linux/resources/memory/limit', (c) => (c.linux.resources = { memory: { limit: 'lots' } }));
add('cpu shares negative', '/linux/resources/cpu/shares', (c) => (c.linux.resources = { cpu: { shares: -1 } }));
add('pids limit a string', '/linux/resources/pids/limit', (c) => (c.linux.resources = { pids: { limit: 'x' } }));
add('time offset not a number', '/linux/timeOffsets/monotonic/secs', (c) => {
  c.linux.namespaces.push({ type: 'time' });
  c.linux.timeOffsets = { monotonic: { secs: 'soon' } };
});

// 3. Unknown enum values.
for (const [name, ptr, edit] of [
  ['namespace type', '/linux/namespaces/0/type', (c) => (c.linux.namespaces[0].type = 'sideways')],
  ['rootfsPropagation', '/linux/rootfsPropagation', (c) => (c.linux.rootfsPropagation = 'sideways')],
  ['seccomp defaultAction', '/linux/seccomp/defaultAction', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_NOPE' })],
  ['seccomp architecture', '/linux/seccomp/architectures/0', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PDP11'] })],
  ['seccomp rule action', '/linux/seccomp/syscalls/0/action', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_MAYBE' }] })],
  ['seccomp operator', '/linux/seccomp/syscalls/0/args/0/op', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ALMOST' }] }] })],
  ['seccomp flag', '/linux/seccomp/flags/0', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] })],
  ['ioPriority class', '/process/ioPriority/class', (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_SOON', priority: 1 })],
  ['scheduler policy', '/process/scheduler/policy', (c) => (c.process.scheduler = { policy: 'SCHED_LATER' })],
  ['personality domain', '/linux/personality/domain', (c) => (c.linux.personality = { domain: 'LINUX64' })],
  ['device type', '/linux/devices/0/type', (c) => (c.linux.devices = [{ path: '/dev/x', type: 'z', major: 1, minor: 1 }])],
  ['memory policy mode', '/linux/memoryPolicy/mode', (c) => (c.linux.memoryPolicy = { mode: 'MPOL_SOMEWHERE' })],
  ['rlimit type', '/process/rlimits/0/type', (c) => (c.process.rlimits = [{ type: 'RLIMIT_FUN', soft: 1, hard: 1 }])],
  ['device cgroup access', '/linux/resources/devices/0/access', (c) => (c.linux.resources = { devices: [{ allow: true, access: 'rwz' }] })],
  // An option ocirun does not know goes to the filesystem as data, as with runc; the kernel's refusal names the
  // mount (its pointer), since which word the filesystem refused is not known.
  ['mount option the filesystem refuses', '/mounts/0', (c) => (c.mounts[0].options = ['rshared', 'bogus-but-data'])],
])
  add(`enum ${name}`, ptr, edit);

// 4. Missing required fields.
for (const ptr of ['/ociVersion', '/root', '/root/path', '/process', '/process/cwd', '/mounts/0/destination'])
  add(`missing ${ptr}`, ptr, (c) => {
    const keys = ptr.split('/').slice(1);
    const last = keys.pop();
    delete (keys.length ? at(c, `/${keys.join('/')}`) : c)[last];
  });
for (const [name, ptr, edit] of [
  ['hook path', '/hooks/prestart/0/path', (c) => (c.hooks = { prestart: [{ args: ['x'] }] })],
  ['namespace type', '/linux/namespaces/0/type', (c) => (c.linux.namespaces[0] = { path: '/proc/1/ns/net' })],
  ['device path', '/linux/devices/0/path', (c) => (c.linux.devices = [{ type: 'c', major: 1, minor: 1 }])],
  ['device type', '/linux/devices/0/type', (c) => (c.linux.devices = [{ path: '/dev/x', major: 1, minor: 1 }])],
  ['seccomp defaultAction', '/linux/seccomp/defaultAction', (c) => (c.linux.seccomp = { syscalls: [] })],
  ['seccomp names', '/linux/seccomp/syscalls/0/names', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ERRNO' }] })],
  ['rlimit hard', '/process/rlimits/0/hard', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1 }])],
  ['id mapping hostID', '/linux/uidMappings/0/hostID', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, size: 1 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 1, size: 1 }];
  }],
  ['mount type', '/mounts/0/type', (c) => delete c.mounts[0].type],
  ['memory policy mode', '/linux/memoryPolicy/mode', (c) => (c.linux.memoryPolicy = { nodes: '0' })],
  ['process args', '/process/args', (c) => delete c.process.args],
  ['empty process args', '/process/args', (c) => (c.process.args = [])],
])
  add(`missing ${name}`, ptr, edit);

// 5. NUL bytes.
for (const [ptr, edit] of [
  ['/process/args/0', (c) => (c.process.args = ['tr\0ue'])],
  ['/process/env/0', (c) => (c.process.env[0] = 'PATH=/bin\0/sbin')],
  ['/process/cwd', (c) => (c.process.cwd = '/tm\0p')],
  ['/hostname', (c) => (c.hostname = 'a\0b')],
  ['/mounts/0/destination', (c) => (c.mounts[0].destination = '/pr\0oc')],
  ['/hooks/prestart/0/path', (c) => (c.hooks = { prestart: [{ path: '/bin/tr\0ue' }] })],
  ['/linux/maskedPaths/0', (c) => (c.linux.maskedPaths = ['/proc/kc\0ore'])],
  ['/process/apparmorProfile', (c) => (c.process.apparmorProfile = 'a\0b')],
  ['/linux/sysctl/net.ipv4.ip_forward', (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1\0' })],
  ['/annotations/org.example~1a~0b', (c) => (c.annotations = { 'org.example/a~b': 'x\0' })], // a key escaped in the pointer
])
  add(`NUL in ${ptr}`, ptr, edit);

// 6. Relative paths and ".." where absolute ones are required.
for (const [ptr, edit] of [
  ['/process/cwd', (c) => (c.process.cwd = 'tmp')],
  ['/linux/devices/0/path', (c) => (c.linux.devices = [{ path: 'dev/x', type: 'c', major: 1, minor: 1 }])],
  ['/hooks/prestart/0/path', (c) => (c.hooks = { prestart: [{ path: 'bin/true' }] })],
  ['/linux/maskedPaths/0', (c) => (c.linux.maskedPaths = ['proc/kcore'])],
  ['/linux/readonlyPaths/0', (c) => (c.linux.readonlyPaths = ['proc/sys'])],
  ['/linux/devices/0/path', (c) => (c.linux.devices = [{ path: '/dev/../etc/x', type: 'c', major: 1, minor: 1 }])],
  ['/linux/namespaces/0/path', (c) => (c.linux.namespaces[0].path = 'proc/1/ns/pid')],
  ['/linux/sysctl/net..ipv4', (c) => (c.linux.sysctl = { 'net..ipv4': '1' })],
  ['/linux/sysctl/net~1..~1..~1kernel~1core_pattern', (c) => (c.linux.sysctl = { 'net/../../kernel/core_pattern': '|/x' })],
])
  add(`path ${ptr}`, ptr, edit);

// 7. Sizes: a 10 MB string, a 100 000-element array, deep nesting (made when asked for, not stored).
const sizeCases = () => {
add('10 MB hostname', '/hostname', (c) => (c.hostname = 'h'.repeat(10 * 1024 * 1024)));
add('100 000 args', '/process/args', (c) => (c.process.args = ['true', ...Array.from({ length: 99_999 }, () => 'x'.repeat(40))]));
add('one 200 KB argument', '/process/args/1', (c) => (c.process.args = ['true', 'a'.repeat(200 * 1024)]));
add('100 000 env entries', '/process/env', (c) => (c.process.env = Array.from({ length: 100_000 }, (_, i) => `V${i}=${'x'.repeat(40)}`)));
add('deep nesting in an annotation', '/annotations/deep', (c) => {
  let v = {};
  for (let i = 0; i < 3_000; i++) v = { v };
  c.annotations = { deep: v };
});
};
add('hostname longer than the kernel takes', '/hostname', (c) => (c.hostname = 'h'.repeat(65)));

// 8. Contradictions.
for (const [name, ptr, edit] of [
  ['namespace listed twice', (c) => `/linux/namespaces/${c.linux.namespaces.length - 1}/type`, (c) => c.linux.namespaces.push({ type: c.linux.namespaces[0].type })],
  ['user namespace without mappings', '/linux/uidMappings', (c) => c.linux.namespaces.push({ type: 'user' })],
  ['mappings without a user namespace', '/linux/uidMappings', (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])],
  ['hostname without a uts namespace', '/hostname', (c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'uts'))],
  ['time offsets without a time namespace', '/linux/timeOffsets', (c) => (c.linux.timeOffsets = { monotonic: { secs: 1 } })],
  ['sysctl of a namespace not owned', '/linux/sysctl/net.ipv4.ip_forward', (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network');
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  }],
  ['host-wide sysctl', '/linux/sysctl/kernel.core_pattern', (c) => (c.linux.sysctl = { 'kernel.core_pattern': '|/x' })],
  ['swap below memory', '/linux/resources/memory/swap', (c) => (c.linux.resources = { memory: { limit: 1 << 26, swap: 1 << 20 } })],
  ['SCMP_ACT_NOTIFY without listenerPath', '/linux/seccomp/listenerPath', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] })],
  ['a bind mount without a source', lastMount('source'), (c) => c.mounts.push({ destination: '/x', type: 'bind', options: ['bind'] })],
  ['a bind source that does not exist', lastMount('source'), (c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/no/such/place', options: ['bind'] })],
  ['tmpcopyup on a bind mount', lastMount('options'), (c) => c.mounts.push({ destination: '/x', type: 'bind', source: '/tmp', options: ['bind', 'tmpcopyup'] })],
  ['rlimit given twice', '/process/rlimits/1/type', (c) => c.process.rlimits.push({ ...c.process.rlimits[0] })],
  ['DEADLINE scheduler without its times', '/process/scheduler', (c) => (c.process.scheduler = { policy: 'SCHED_DEADLINE' })],
  ['personality flags', '/linux/personality/flags', (c) => (c.linux.personality = { domain: 'LINUX', flags: ['ADDR_NO_RANDOMIZE'] })],
  ['unified resources on cgroup v1', '/linux/resources/unified', (c) => (c.linux.resources = { unified: { 'memory.high': '1' } })],
  // (A rule naming a syscall this architecture lacks but another has is skipped, as runc and libseccomp do:
  // Docker's default profile lists such names for every architecture. So it is no case here.)
  ['a syscall argument index past the sixth', '/linux/seccomp/syscalls/0/args/0/index', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] })],
  ['an annotation key with a NUL', '/annotations/a\u0000b', (c) => (c.annotations = { 'a\0b': 'x' })],
  ['a gid mapping of size 0', '/linux/gidMappings/0/size', (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 0 }];
  }],
  ['a device number past 20 bits', '/linux/devices/0/minor', (c) => (c.linux.devices = [{ path: '/dev/x', type: 'c', major: 1, minor: 1 << 21 }])],
  ['memory policy node the host lacks', '/linux/memoryPolicy/nodes', (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1023' })],
  // Found by the fuzzer (scripts/fuzz.sh): the range was expanded node by node before any check.
  ['memory policy node range past any kernel', '/linux/memoryPolicy/nodes', (c) => (c.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-4000000000' })],
  ['Intel RDT', '/linux/intelRdt', (c) => (c.linux.intelRdt = { closID: 'a' })],
  ['network devices', '/linux/netDevices', (c) => (c.linux.netDevices = { eth9: {} })],
  ['a terminal without a console socket', '/process/terminal', (c) => (c.process.terminal = true)],
  ['ociVersion 2', '/ociVersion', (c) => (c.ociVersion = '2.0.0')],
])
  add(`contradiction: ${name}`, ptr, edit);

/** Every case; with `withSizes`, the big ones too. */
function malformedCases(withSizes) {
  const small = cases.slice();
  if (!withSizes) return small;
  const before = cases.length;
  sizeCases();
  const big = cases.splice(before);
  return [...small, ...big];
}
module.exports = { malformedCases };

if (require.main === module) {
  const out = path.join(__dirname, '..', 'test', 'fixtures', 'malformed', 'cases.json');
  const small = malformedCases(false);
  fs.writeFileSync(out, JSON.stringify(small, null, 1) + '\n');
  console.log(`${small.length} cases (and ${malformedCases(true).length - small.length} size cases made at test time) -> ${path.relative(process.cwd(), out)}`);
}
