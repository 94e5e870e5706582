// spec -> plan as a pure function of the config and the host: described hosts (a cgroup v2 host, a hybrid
// one, a kernel that lacks a capability, a host with AppArmor, ...) drive lib/config/plan.ts directly. No
// container is made and nothing on this machine is read, so these need no root.
import t from 'tap';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { buildPlan, buildExecPlan } = require(path.join(repo, 'dist/config/plan.js'));
const { defaultSpec } = require(path.join(repo, 'dist/config/default-spec.js'));

const { describedHost: host } = require('./described-host.cjs');

const V2 = { cgroupMounts: [{ mountPoint: '/sys/fs/cgroup', fstype: 'cgroup2', superOpts: 'rw,nsdelegate' }] };

function bundle(edit = () => {}) {
  const spec = defaultSpec();
  spec.process.terminal = false;
  edit(spec);
  return { dir: '/bundles/b', rootfs: '/bundles/b/rootfs', spec };
}

const opts = { id: 'c', stateDir: '/run/ocirun/c' };

/** The stub's control message (native/src/control.h) as [tag, payload] pairs. */
function records(buf) {
  const out = [];
  for (let off = 0; off < buf.length; ) {
    const tag = buf.readUInt32LE(off);
    const len = buf.readUInt32LE(off + 4);
    out.push([tag, buf.subarray(off + 8, off + 8 + len)]);
    off += 8 + len;
  }
  return out;
}
const CAPS = 5;
const APPARMOR = 14;

t.test('a cgroup mount is cgroup2 on a v2 host and one mount per hierarchy on a hybrid one', async (t) => {
  const withCgroupMount = (s) => s.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] });
  const noCgroupNs = (s) => (s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'cgroup'));
  const v2 = buildPlan(bundle(withCgroupMount), opts, host(V2)).mounts.at(-1);
  t.match(v2, { kind: 0, type: 'cgroup2', destination: '/sys/fs/cgroup' });
  const hybrid = buildPlan(bundle(withCgroupMount), opts, host()).mounts.at(-1);
  t.match(hybrid, { kind: 2, type: 'tmpfs', cgroupNames: ['unified', 'memory', 'cpu,cpuacct'], cgroupOptions: ['', 'memory', 'cpu,cpuacct'] });
  // Without a cgroup namespace the container's own cgroup is bound instead (v2).
  const cgroups = { mode: 'unified', unified: '/sys/fs/cgroup/c', v1: {}, created: [] };
  const bound = buildPlan(bundle((s) => (withCgroupMount(s), noCgroupNs(s))), { ...opts, cgroups }, host(V2)).mounts.at(-1);
  t.match(bound, { kind: 1, source: '/sys/fs/cgroup/c' });
});

t.test('the process is placed in its planned cgroups by the plan itself', async (t) => {
  const cgroups = { mode: 'hybrid', unified: '/sys/fs/cgroup/unified/c', v1: { memory: '/sys/fs/cgroup/memory/c', cpu: '/sys/fs/cgroup/cpu,cpuacct/c', cpuacct: '/sys/fs/cgroup/cpu,cpuacct/c' }, created: [] };
  const plan = buildPlan(bundle(), { ...opts, cgroups }, host());
  t.equal(plan.cgroupPath, '/sys/fs/cgroup/unified/c');
  t.same(plan.cgroupTasks, ['/sys/fs/cgroup/memory/c/tasks', '/sys/fs/cgroup/cpu,cpuacct/c/tasks'], 'one tasks file per hierarchy');
  const exec = buildExecPlan(bundle().spec, 42, { cgroups }, host());
  t.equal(exec.cgroupPath, '/sys/fs/cgroup/unified/c', 'exec too');
});

t.test('a capability the kernel does not know is dropped with a warning', async (t) => {
  const warnings = [];
  const edit = (s) => (s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_BPF'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] });
  const old = buildPlan(bundle(edit), { ...opts, warn: (w) => warnings.push(w) }, host({ lastCap: 37 }));
  const bounding = records(old.initControl).find(([tag]) => tag === CAPS)[1].readBigUInt64LE(0);
  t.equal(bounding, 1n << 5n, 'only CAP_KILL in the bounding set');
  t.match(warnings.join('\n'), /CAP_BPF is not known to the running kernel/);
  const recent = buildPlan(bundle(edit), opts, host());
  t.equal(records(recent.initControl).find(([tag]) => tag === CAPS)[1].readBigUInt64LE(0), (1n << 5n) | (1n << 39n), 'a newer kernel keeps it');
});

t.test('/dev/core only where the kernel has /proc/kcore', async (t) => {
  const links = (h) => buildPlan(bundle(), opts, host(h)).symlinks.map((l) => l.linkpath);
  t.ok(links({ hasKcore: true }).includes('/dev/core'));
  t.notOk(links({ hasKcore: false }).includes('/dev/core'));
});

t.test('an AppArmor profile is given where the host has AppArmor, refused (naming the field) where not', async (t) => {
  const edit = (s) => (s.process.apparmorProfile = 'ocirun-test');
  const plan = buildPlan(bundle(edit), opts, host({ apparmor: true }));
  const rec = records(plan.initControl).find(([tag]) => tag === APPARMOR);
  t.equal(rec?.[1].toString(), 'ocirun-test\0');
  t.throws(() => buildPlan(bundle(edit), opts, host()), /\/process\/apparmorProfile: AppArmor is not enabled/);
});

t.test('a bind source is a file or a directory as the host has it; a missing one names the mount', async (t) => {
  const edit = (s) => s.mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind'] });
  const file = buildPlan(bundle(edit), opts, host({ pathKind: () => 'file' })).mounts.at(-1);
  t.equal(file.sourceIsFile, true);
  const n = bundle().spec.mounts.length;
  t.throws(() => buildPlan(bundle(edit), opts, host({ pathKind: () => undefined })), new RegExp(`/mounts/${n}/source: bind source /etc/resolv.conf does not exist`));
});

t.test('a sysctl needs a namespace the container owns: a joined one that is the host\'s does not count', async (t) => {
  const edit = (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'network');
    s.linux.namespaces.push({ type: 'network', path: '/var/run/netns/x' });
    s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  };
  t.equal(buildPlan(bundle(edit), opts, host()).sysctls.length, 1, 'a namespace of its own');
  const hostNet = host({ namespaceOf: () => 'ns:/proc/self/ns/network' });
  t.throws(() => buildPlan(bundle(edit), opts, hostNet), /\/linux\/sysctl\/net.ipv4.ip_forward: sysctl net.ipv4.ip_forward needs a new network namespace/);
});

t.test('exec joins only the namespaces of the init that differ from the runtime\'s', async (t) => {
  const own = new Set(['network', 'user', 'time']);
  const h = host({ namespaceOf: (p) => (/\/ns\/(net|user|time)$/.test(p) ? `ns:${p.replace(/.*\/ns\//, '').replace('net', 'network')}` : `init:${p}`), ownNamespace: (t) => `ns:${t}` });
  const joins = buildExecPlan(bundle().spec, 7, {}, h).joins.map((j) => j.path);
  t.same(joins, ['/proc/7/ns/ipc', '/proc/7/ns/uts', '/proc/7/ns/pid', '/proc/7/ns/cgroup', '/proc/7/ns/mnt'], `not ${[...own].join(', ')}`);
});

t.test('the native boundary refuses a plan that is not NativePlan\'s shape, naming the field', async (t) => {
  const { spawn } = require(path.join(repo, 'dist/native.js'));
  const valid = buildPlan(bundle(), opts, host());
  const { cwd, ...noCwd } = valid;
  t.throws(() => spawn(noCwd), /spawn: plan\.cwd: missing/);
  t.throws(() => spawn({ ...valid, cwdd: '/' }), /spawn: plan\.cwdd: unknown field/);
  t.throws(() => spawn({ ...valid, cloneFlags: '0' }), /spawn: plan\.cloneFlags: must be a number/);
  const mounts = valid.mounts.map((m, i) => (i === 1 ? { ...m, flags: true } : m));
  t.throws(() => spawn({ ...valid, mounts }), /spawn: plan\.mounts\[1\]\.flags: must be a number/);
  const devices = [{ ...valid.devices[0], majr: 1 }];
  t.throws(() => spawn({ ...valid, devices }), /spawn: plan\.devices\[0\]\.majr: unknown field/);
  t.equal(cwd, '/');
  t.throws(() => spawn({ ...valid, initControl: 'x' }), /spawn: plan\.initControl: must be a Buffer/);
  // The text itself (native/src/json.cc), as only a caller of the addon other than lib/native.ts could send it.
  const addon = require(path.join(repo, 'build/Release/ocirun.node'));
  const { initControl, ...rest } = valid;
  const text = JSON.stringify(rest);
  for (const [bad, message] of [
    [text.slice(0, -1), /spawn: plan: not JSON: at byte \d+: expected ',' or '\}'/],
    [`${text} x`, /not JSON: at byte \d+: unexpected text after the value/],
    [text.replace('"cwd":"/"', '"cwd":"/\\x"'), /not JSON: at byte \d+: bad escape/],
    [text.replace('"cwd":"/"', '"cwd":"/\n"'), /not JSON: at byte \d+: control character in a string/],
    [text.replace('"preserveFds":0', '"preserveFds":01'), /not JSON: at byte \d+: leading zero/],
    [text.replace('"cwd":"/"', '"cwd":"/","cwd":"/"'), /spawn: plan\.cwd: given twice/],
    [`${'['.repeat(70)}${']'.repeat(70)}`, /not JSON: at byte 64: nested too deeply/],
    ['[]', /spawn: plan: must be an object/],
    // Escapes decode as JS strings do (an unknown key's name is echoed back): a pair is one character, a lone
    // surrogate U+FFFD, \u00e9 é, \/ a slash.
    [text.replace('{', '{"\\ud83d\\ude00 \\u00e9\\/\\udc00":1,'), /spawn: plan\.😀 é\/\ufffd: unknown field/u],
  ])
    t.throws(() => addon.spawn(bad, initControl), message, message.source);
});
