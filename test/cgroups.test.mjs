// Cgroups in effect, on whatever this machine has: cgroup v1 controllers on the hybrid host, cgroup v2 in the
// project's guest (scripts/vm, run by scripts/test.sh). Every limit is shown working on real processes, and
// every cgroup a test makes is gone when it ends. A check that only one mode can make is defined in that mode
// only; the closing note of issue 4 lists where each runs.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterContainers, bin, fs, os, path, makeBundle, ocirun, ok, repo, spawn, state, testRoot, waitFor } from './helpers.mjs';

const v2 = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l));
let seq = 0;

/** A cgroupsPath of its own (absolute: directly below each hierarchy's root), removed at teardown if left. */
function cgroupsPath(t) {
  const top = `ocirun-test-${process.pid}-${seq++}`;
  afterContainers(t, () => {
    for (const d of cgroupDirsNamed(top)) try { fs.rmdirSync(d); } catch { /* a test's failure shows elsewhere */ }
  });
  return { top, path: `/${top}/c` };
}

function cgroupDirsNamed(top) {
  const roots = v2 ? ['/sys/fs/cgroup'] : fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}`);
  return roots.map((r) => path.join(r, top)).filter((d) => fs.existsSync(d));
}

const record = (root, id) => JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8')).cgroup;
/** A file of the container's cgroup: v2's own directory, or the v1 controller's. */
const cgFile = (root, id, controller, file) => {
  const rec = record(root, id);
  return path.join(v2 ? rec.unified : rec.v1[controller], file);
};
const read = (f) => fs.readFileSync(f, 'utf8').trim();

function start(t, args, resources = {}, edit = () => {}) {
  const root = testRoot(t);
  const cg = cgroupsPath(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = args;
    c.linux.cgroupsPath = cg.path;
    c.linux.resources = { ...c.linux.resources, ...resources };
    edit(c);
  });
  return { root, bundle, cg };
}

function running(t, args, resources, edit) {
  const s = start(t, args, resources, edit);
  ok(s.root, ['run', '-d', '--bundle', s.bundle, 'x']);
  return { ...s, pid: state(s.root, 'x').pid };
}

t.test('the process is born in its cgroups; the cgroup namespace roots them; delete removes them', async (t) => {
  const { root, cg, pid } = running(t, ['sleep', '100']);
  const rec = record(root, 'x');
  t.equal(rec.mode, v2 ? 'unified' : 'hybrid');
  const host = read(`/proc/${pid}/cgroup`);
  if (v2) t.equal(host, `0::${cg.path}`, 'in the v2 cgroup');
  else for (const c of ['memory', 'pids', 'freezer', 'devices']) t.match(host, new RegExp(`:${c}:${cg.path}$`, 'm'), `in the ${c} cgroup`);
  const inside = ok(root, ['exec', 'x', 'cat', '/proc/self/cgroup']).stdout.trim().split('\n');
  t.ok(inside.every((l) => l.endsWith(':/')), `inside, every hierarchy is rooted at the container: ${inside.join(' ')}`);
  t.ok(cgroupDirsNamed(cg.top).length > 0, 'the cgroups exist');
  ok(root, ['delete', '--force', 'x']);
  t.same(cgroupDirsNamed(cg.top), [], 'delete removed the cgroups it made, parents included');
});

t.test('the cgroup mount shows the container its own cgroups', async (t) => {
  const { root } = running(t, ['sleep', '100'], { pids: { limit: 42 } });
  const file = v2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
  t.equal(ok(root, ['exec', 'x', 'cat', file]).stdout.trim(), '42', `${file} inside is the container's`);
  const procs = ok(root, ['exec', 'x', 'cat', v2 ? '/sys/fs/cgroup/cgroup.procs' : '/sys/fs/cgroup/pids/cgroup.procs']).stdout;
  t.match(procs, /^1$/m, 'its processes are listed by their pids in the container');
  const w = ocirun(root, ['exec', 'x', 'sh', '-c', `echo 1000 > ${file}`]);
  t.not(w.status, 0, 'read-only, as the default spec mounts it');
});

t.test('a cgroup with processes of something else is refused; the default cgroup is named by the id', async (t) => {
  const { root, bundle, cg } = start(t, ['sleep', '100']);
  ok(root, ['run', '-d', '--bundle', bundle, 'x']);
  const other = testRoot(t);
  const r = ocirun(other, ['run', '-d', '--bundle', bundle, 'x']);
  t.equal(r.status, 1, 'the same cgroupsPath under another root');
  t.match(r.stderr, /\/linux\/cgroupsPath: container's cgroup is not empty: .* has 1 process\(es\)/);
  t.equal(state(root, 'x').status, 'running', 'the first container is untouched');
  t.ok(cgroupDirsNamed(cg.top).length > 0, 'and keeps its cgroup');
  const plain = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    delete c.linux.cgroupsPath;
  });
  const id = `ocirun-default-${process.pid}`;
  ok(root, ['run', '-d', '--bundle', plain, id]);
  const lines = read(`/proc/${state(root, id).pid}/cgroup`).split('\n');
  t.ok(lines.filter((l) => !l.includes('name=')).every((l) => l.endsWith(`/${id}`)), `below our own cgroup, named by the id: ${lines.join(' ')}`);
  const dirs = [...new Set([record(root, id).unified, ...Object.values(record(root, id).v1)])];
  ok(root, ['delete', '--force', id]);
  t.ok(dirs.every((d) => !fs.existsSync(d)), 'removed by delete');
});

t.test('a cgroup that existed before is joined and left in place', async (t) => {
  const cg = cgroupsPath(t);
  const dirs = v2 ? ['/sys/fs/cgroup'] : ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory'];
  for (const d of dirs) fs.mkdirSync(path.join(d, cg.top));
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.cgroupsPath = `/${cg.top}`;
  });
  const r = ocirun(root, ['run', '--bundle', bundle, 'x']);
  t.equal(r.status, 0, r.stderr);
  for (const d of dirs) t.ok(fs.existsSync(path.join(d, cg.top)), `${d}/${cg.top} is still there`);
});

t.test('the cgroups a create is to make are found by looking at each once, never at the ones they go under', async (t) => {
  // What the record names before anything is made (lib/cgroups/manager.ts dirsToMake): the bases the planner
  // knows exist (a hierarchy's root, our own cgroup) are not looked at; on a hybrid host that is ten access(2)
  // calls a create.
  const require = createRequire(import.meta.url);
  const nodeFs = require('node:fs');
  const { planCgroups, dirsToMake } = require(path.join(repo, 'dist/cgroups/manager.js'));
  const absent = `ocirun-absent-${process.pid}`;
  for (const cgroupsPath of [undefined, `/${absent}/c`, `${absent}/c`]) {
    const { record, existing } = planCgroups(undefined, cgroupsPath, absent, {});
    const dirs = [...new Set([record.unified, ...Object.values(record.v1)].filter(Boolean))];
    const looked = [];
    const real = nodeFs.existsSync;
    nodeFs.existsSync = (p) => (looked.push(p), real(p));
    let toMake;
    try {
      toMake = dirsToMake(record, existing);
    } finally {
      nodeFs.existsSync = real;
    }
    const bases = existing.map((d) => path.resolve(d));
    t.same(looked.filter((d) => bases.includes(path.resolve(d))), [], `${cgroupsPath ?? 'the id'}: no base looked at`);
    t.ok(dirs.every((d) => toMake.includes(d)), 'each container directory is to be made');
    t.equal(looked.length, toMake.length, 'one look at each directory to make, no more');
  }
});

t.test('memory: a hog is OOM-killed at the limit', async (t) => {
  // dd's 64 MiB buffer, filled from /dev/zero, is twice the limit.
  const hog = 'dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived';
  const { root, bundle } = start(t, ['sh', '-c', hog], { memory: { limit: 33554432, swap: 33554432 } });
  ok(root, ['create', '--bundle', bundle, 'x']);
  const limitFile = cgFile(root, 'x', 'memory', v2 ? 'memory.max' : 'memory.limit_in_bytes');
  t.equal(read(limitFile), '33554432', 'the limit is written');
  if (v2) t.equal(read(cgFile(root, 'x', 'memory', 'memory.swap.max')), '0', 'memory+swap = memory: no swap');
  const events = cgFile(root, 'x', 'memory', v2 ? 'memory.events' : 'memory.oom_control');
  ok(root, ['start', 'x']);
  await waitFor(() => state(root, 'x').status === 'stopped', 20_000);
  t.match(read(events), /oom_kill [1-9]/, 'the kernel OOM killer acted in the container');
});

t.test('pids: a limit of 0 is a limit of zero, as runc >= 1.4 takes it', async (t) => {
  const { root, bundle } = start(t, ['sh', '-c', 'echo started; true & echo forked'], { pids: { limit: 0 } });
  const r = ocirun(root, ['run', '--bundle', bundle, 'x']);
  t.equal(r.stdout, 'started\n', 'the init runs, and cannot fork');
  t.match(r.stderr, /can't fork/);
});

t.test('pids: a fork bomb stops at the limit', async (t) => {
  // The bomb runs in a shell of its own (ash exits when fork fails); counted with builtins only, since once
  // the limit is reached nothing else can fork.
  const bomb = 'sh -c "for i in \\$(seq 60); do sleep 30 & done" 2>/dev/null; set -- /proc/[0-9]*; echo $#';
  const { root, bundle } = start(t, ['sh', '-c', bomb], { pids: { limit: 16 } });
  const r = ocirun(root, ['run', '--bundle', bundle, 'x']);
  t.equal(r.status, 0, r.stderr);
  const count = Number(r.stdout.trim());
  t.ok(count > 5 && count <= 16, `processes in the container: ${count}, limit 16`);
});

t.test('cpu and cpuset: weight or shares, quota and period, the cpus the process may use', async (t) => {
  const { root, pid } = running(t, ['sleep', '100'], { cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, cpus: '0', mems: '0' } });
  if (v2) {
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.weight')), '59', 'shares 512 -> weight 59, as runc >= 1.3.2 converts');
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.max')), '50000 100000');
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.max.burst')), '1000');
  } else {
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.shares')), '512');
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.cfs_quota_us')), '50000');
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.cfs_period_us')), '100000');
    t.equal(read(cgFile(root, 'x', 'cpu', 'cpu.cfs_burst_us')), '1000');
  }
  t.match(read(`/proc/${pid}/status`), /^Cpus_allowed_list:\s+0$/m, 'the kernel confines the process to cpu 0');
  t.match(ok(root, ['exec', 'x', 'grep', 'Cpus_allowed_list', '/proc/self/status']).stdout, /:\s+0\n/, 'an exec too');
});

t.test('blockIO: weight where the kernel has a weight file, throttling on a real block device', async (t) => {
  const dev = fs.readdirSync('/sys/block').map((b) => `/sys/block/${b}/dev`).filter((f) => fs.existsSync(f)).map(read)[0];
  const weighted = start(t, ['sleep', '100'], { blockIO: { weight: 500 } });
  const r = ocirun(weighted.root, ['run', '-d', '--bundle', weighted.bundle, 'x']);
  const files = v2 ? [['io.bfq.weight', 'default 500'], ['io.weight', 'default 4950']] : [['blkio.bfq.weight', '500'], ['blkio.weight', '500']];
  if (r.status === 0) {
    const [file, value] = files.find(([f]) => fs.existsSync(cgFile(weighted.root, 'x', 'blkio', f)));
    t.match(read(cgFile(weighted.root, 'x', 'blkio', file)), value, `${file}: blkio weight 500, converted as runc does`);
  } else {
    t.match(r.stderr, /\/linux\/resources\/blockIO\/weight: .* does not exist: the kernel does not offer it/, 'no weight file here: a clear error');
  }
  if (dev) {
    const { root } = running(t, ['sleep', '100'], { blockIO: { throttleReadBpsDevice: [{ major: +dev.split(':')[0], minor: +dev.split(':')[1], rate: 1048576 }] } });
    const f = cgFile(root, 'x', 'blkio', v2 ? 'io.max' : 'blkio.throttle.read_bps_device');
    t.match(read(f), v2 ? new RegExp(`^${dev} rbps=1048576 `) : `${dev} 1048576`, `read throttling on ${dev}`);
  } else {
    const { root, bundle } = start(t, ['true'], { blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 254, rate: 1048576 }] } });
    const e = ocirun(root, ['create', '--bundle', bundle, 'x']);
    t.match(e.stderr, /\/linux\/resources\/blockIO\/throttleReadBpsDevice\/0: write .*(io\.max|read_bps_device): .*\(E[A-Z]+\)/, 'no block device here: the kernel refuses 254:254, and the error says where');
  }
});

t.test('devices: a denied device cannot be opened, an allowed one can, for the access allowed', async (t) => {
  // /dev/kmsg opened write-only needs no privilege of its own: only the device rules decide.
  const kmsg = { path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o666 };
  const probe = ['sh', '-c', 'echo ocirun-device-test > /dev/kmsg && echo write-ok; head -c1 /dev/null; echo done'];
  const attempt = (rules) => {
    const s = start(t, probe, { devices: [{ allow: false, access: 'rwm' }, ...rules] }, (c) => (c.linux.devices = [kmsg]));
    const r = ocirun(s.root, ['run', '--bundle', s.bundle, 'x']);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /done/, '/dev/null, always allowed, works');
    return r;
  };
  const denied = attempt([]);
  t.notMatch(denied.stdout, /write-ok/, 'a device not allowed cannot be opened');
  t.match(denied.stderr, /kmsg: Operation not permitted/, 'EPERM from the device controller');
  const readOnly = attempt([{ allow: true, type: 'c', major: 1, minor: 11, access: 'r' }]);
  t.notMatch(readOnly.stdout, /write-ok/, 'allowed for reading only: still not for writing');
  const writable = attempt([{ allow: true, type: 'c', major: 1, minor: 11, access: 'w' }]);
  t.match(writable.stdout, /write-ok/, 'allowed for writing: opened and written');
  const wildcard = attempt([{ allow: true, type: 'c', major: 1, access: 'rw' }]);
  t.match(wildcard.stdout, /write-ok/, 'a rule with any minor covers it');
});

t.test('delete --force of a paused container, with a sub-cgroup it froze itself, thaws and removes everything', async (t) => {
  const { root, pid } = running(t, ['sh', '-c', 'sleep 100 & sleep 100']);
  // A child of the init moved into a sub-cgroup of the container's, frozen on its own.
  const freezerDir = path.dirname(cgFile(root, 'x', 'freezer', 'cgroup.procs'));
  const sub = path.join(freezerDir, 'inner');
  fs.mkdirSync(sub);
  const child = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
  fs.writeFileSync(path.join(sub, 'cgroup.procs'), child);
  fs.writeFileSync(path.join(sub, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '1' : 'FROZEN');
  ok(root, ['pause', 'x']);
  t.equal(state(root, 'x').status, 'paused');
  const started = Date.now();
  const r = ocirun(root, ['delete', '--force', 'x']);
  t.equal(r.status, 0, r.stderr);
  t.ok(Date.now() - started < 5000, 'at once, not after a timeout');
  t.notOk(fs.existsSync(path.join(root, 'x')), 'no state left');
  t.notOk(fs.existsSync(freezerDir), 'no cgroup left');
  const alive = (p) => {
    try {
      return !/^\d+ \(.*\) [ZX] /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  t.notOk(alive(pid) || alive(child), 'no process left (at most a zombie waiting for its reaper)');
});

t.test('exec --cgroup runs the process in an existing sub-cgroup of the container', async (t) => {
  const { root } = running(t, ['sleep', '100']);
  const rec = record(root, 'x');
  const dirs = [...new Set([rec.unified, ...Object.values(rec.v1)].filter(Boolean))];
  for (const d of dirs) {
    fs.mkdirSync(path.join(d, 'sub'));
    for (const f of ['cpuset.cpus', 'cpuset.mems']) // a v1 cpuset takes tasks only once it has cpus and mems
      if (!v2 && fs.existsSync(path.join(d, f))) fs.writeFileSync(path.join(d, 'sub', f), fs.readFileSync(path.join(d, f)));
  }
  // Empty again once the exec'd process has exited; the container's delete removes the rest.
  afterContainers(t, () => dirs.forEach((d) => fs.existsSync(path.join(d, 'sub')) && fs.rmdirSync(path.join(d, 'sub'))));
  const r = ocirun(root, ['exec', '--cgroup', 'sub', 'x', 'cat', '/proc/self/cgroup']);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.ok(lines.length > 0 && lines.every((l) => l.endsWith('/sub')), `every hierarchy says /sub: ${lines.join(' | ')}`);
  const missing = ocirun(root, ['exec', '--cgroup', 'nosuch', 'x', 'true']);
  t.equal(missing.status, 255);
  t.match(missing.stderr, /--cgroup nosuch: .*nosuch does not exist/);
  const outside = ocirun(root, ['exec', '--cgroup', '../escape', 'x', 'true']);
  t.equal(outside.status, 255);
  t.match(outside.stderr, /invalid --cgroup \.\.\/escape/);
});

t.test('pause and resume: frozen processes make no progress, state says paused, exec waits for --ignore-paused', async (t) => {
  const { root, pid } = running(t, ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done']);
  const file = `/proc/${pid}/root/tmp/count`;
  await waitFor(() => fs.existsSync(file) && Number(fs.readFileSync(file, 'utf8')) > 2);
  ok(root, ['pause', 'x']);
  t.equal(state(root, 'x').status, 'paused');
  // What the kernel says, not the absence of output after a while: every task of the cgroup is frozen.
  const frozen = () => (v2 ? /^frozen 1$/m.test(read(cgFile(root, 'x', 'freezer', 'cgroup.events'))) : read(cgFile(root, 'x', 'freezer', 'freezer.state')) === 'FROZEN');
  t.ok(frozen(), 'the kernel reports the cgroup frozen once pause returns');
  const frozenAt = fs.readFileSync(file, 'utf8');
  const procs = () => read(cgFile(root, 'x', 'freezer', 'cgroup.procs')).split('\n').filter(Boolean);
  const e = ocirun(root, ['exec', 'x', 'true']);
  t.equal(e.status, 255, "exec's errors exit 255, as runc's");
  t.match(e.stderr, /cannot exec in a paused container/);
  t.match(ocirun(root, ['pause', 'x']).stderr, /container not running/, 'pausing twice is refused');
  // With --ignore-paused the process joins the frozen cgroup: it runs once the container is resumed.
  const before = procs().length;
  const late = spawn(bin, ['--root', root, 'exec', '--ignore-paused', 'x', 'echo', 'joined'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  late.stdout.on('data', (d) => (out += d));
  const done = new Promise((r) => late.on('exit', r));
  await waitFor(() => procs().length > before, 10_000);
  t.ok(frozen(), 'the exec\'d process is in the cgroup, and the cgroup is still frozen');
  t.equal(fs.readFileSync(file, 'utf8'), frozenAt, 'no progress while paused');
  t.equal(out, '', 'nothing ran');
  ok(root, ['resume', 'x']);
  t.equal(state(root, 'x').status, 'running');
  t.equal(await done, 0);
  t.equal(out, 'joined\n', 'and ran after resume');
  await waitFor(() => fs.readFileSync(file, 'utf8') !== frozenAt);
  t.pass('progress again after resume');
  t.match(ocirun(root, ['resume', 'x']).stderr, /container not paused/);
});

if (!v2)
  t.test('v1: a cpu period under a pod cgroup with its own limit: update writes the quota first when the period alone would exceed it', async (t) => {
    const root = testRoot(t);
    const cg = cgroupsPath(t);
    // The pod: half a CPU.
    const pod = path.join('/sys/fs/cgroup/cpu', cg.top);
    fs.mkdirSync(pod);
    fs.writeFileSync(path.join(pod, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(pod, 'cpu.cfs_quota_us'), '50000');
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '100'];
      c.linux.cgroupsPath = cg.path;
      c.linux.resources = { ...c.linux.resources, cpu: { quota: 50000, period: 100000 } };
    });
    ok(root, ['run', '-d', '--bundle', bundle, 'x']);
    // Period 10000 first would make 50000/10000 = five CPUs under a pod of half of one: the kernel refuses it.
    const r = ocirun(root, ['update', '--cpu-period', '10000', '--cpu-quota', '5000', 'x']);
    t.equal(r.status, 0, r.stderr);
    t.same([read(cgFile(root, 'x', 'cpu', 'cpu.cfs_period_us')), read(cgFile(root, 'x', 'cpu', 'cpu.cfs_quota_us'))], ['10000', '5000']);
    ok(root, ['update', '--cpu-period', '100000', '--cpu-quota', '50000', 'x']);
    t.same([read(cgFile(root, 'x', 'cpu', 'cpu.cfs_period_us')), read(cgFile(root, 'x', 'cpu', 'cpu.cfs_quota_us'))], ['100000', '50000'], 'and back');
  });

t.test('update: flags and --resources change the limits of a live container', async (t) => {
  const { root } = running(t, ['sleep', '100'], { memory: { limit: 67108864 }, pids: { limit: 100 } });
  ok(root, ['update', '--memory', '48m', '--pids-limit=30', '--cpu-share', '1024', 'x']);
  t.equal(read(cgFile(root, 'x', 'memory', v2 ? 'memory.max' : 'memory.limit_in_bytes')), String(48 * 1024 * 1024));
  t.equal(read(cgFile(root, 'x', 'pids', 'pids.max')), '30');
  t.equal(read(cgFile(root, 'x', 'cpu', v2 ? 'cpu.weight' : 'cpu.shares')), v2 ? '100' : '1024', 'shares 1024: weight 100 on v2 (runc >= 1.3.2)');
  ok(root, ['update', '--resources', '-', 'x'], { input: JSON.stringify({ pids: { limit: 12 } }) });
  t.equal(read(cgFile(root, 'x', 'pids', 'pids.max')), '12', 'from stdin');
  const stats = JSON.parse(ok(root, ['events', '--stats', 'x']).stdout);
  t.equal(stats.data.pids.limit, 12, 'events sees the new limit');
  t.equal(ocirun(root, ['update', '--resources', '/nonexistent/r.json', 'x']).stderr, 'ocirun: --resources /nonexistent/r.json: open: no such file or directory\n');
  t.match(ocirun(root, ['update', '--resources', '-', 'x'], { input: '{"pids":' }).stderr, /^ocirun: --resources -: not a JSON object of linux.resources: /);
  t.match(ocirun(root, ['update', '-r', '-', 'x'], { input: '[1]' }).stderr, /^ocirun: --resources -: not a JSON object/);
  t.equal(read(cgFile(root, 'x', 'pids', 'pids.max')), '12', 'none of them changed anything');
  const bad = ocirun(root, ['update', '--memory', 'lots', 'x']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /invalid value for --memory: lots/);
});

t.test('kill KILL of a paused container thaws it, so that it stops and delete needs no --force (runc)', async (t) => {
  const { root } = running(t, ['sh', '-c', 'sleep 100 & sleep 100'], {});
  ok(root, ['pause', 'x']);
  t.equal(state(root, 'x').status, 'paused');
  ok(root, ['kill', 'x', 'KILL']);
  await waitFor(() => state(root, 'x').status === 'stopped');
  ok(root, ['delete', 'x']);
  t.same(fs.readdirSync(root), []);
});

t.test('update --memory -1 without --memory-swap: memory+swap unlimited too, as runc', async (t) => {
  const { root } = running(t, ['sleep', '100'], { memory: { limit: 67108864, swap: 67108864 } });
  const limits = () => (v2
    ? [read(cgFile(root, 'x', 'memory', 'memory.max')), read(cgFile(root, 'x', 'memory', 'memory.swap.max'))]
    : [read(cgFile(root, 'x', 'memory', 'memory.limit_in_bytes')), read(cgFile(root, 'x', 'memory', 'memory.memsw.limit_in_bytes'))]);
  // v1 reads an unlimited value back as the page counter's maximum in bytes.
  const unlimited = (v) => (v2 ? v === 'max' : BigInt(v) >= 2n ** 62n);
  t.same(limits(), v2 ? ['67108864', '0'] : ['67108864', '67108864']);
  ok(root, ['update', '--memory', '-1', 'x']); // v1 refused it before: memory above the old memory+swap
  t.ok(limits().every(unlimited), `both unlimited: ${limits()}`);
  ok(root, ['update', '--memory', '32m', 'x']);
  t.equal(limits()[0], String(32 << 20), 'a limit again');
  t.ok(unlimited(limits()[1]), 'memory+swap stays unlimited');
});

t.test('events: --stats is one stats object; the stream reports stats and an oom', async (t) => {
  const hog = 'while true; do sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; done'; // an OOM kill every second
  const { root } = running(t, ['sh', '-c', hog], { memory: { limit: 33554432, swap: 33554432 }, pids: { limit: 50 } });
  const one = JSON.parse(ok(root, ['events', '--stats', 'x']).stdout);
  t.equal(one.type, 'stats');
  t.equal(one.id, 'x');
  t.equal(one.data.memory.usage.limit, 33554432, 'memory limit');
  t.ok(one.data.memory.usage.usage > 0, 'memory usage');
  t.ok(one.data.pids.current >= 1 && one.data.pids.limit === 50, 'pids');
  t.ok(one.data.cpu.usage.total > 0, 'cpu time');
  // runc's stats object: its sections in its order, those this host has no data for present and empty.
  t.same(Object.keys(one.data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  t.same(Object.keys(one.data.memory).filter((k) => k !== 'psi'), ['cache', 'usage', 'swap', 'kernel', 'kernelTCP', 'raw'].filter((k) => k in one.data.memory));
  t.ok('kernel' in one.data.memory && 'kernelTCP' in one.data.memory && one.data.network_interfaces === null);
  if (v2) t.same(one.data.cpuset.cpus, undefined, 'v2: no cpuset stats (runc reads none)');
  else {
    t.ok(one.data.cpuset.cpus.length > 0 && one.data.cpuset.mems.length > 0, 'v1: the cpuset');
    t.equal(one.data.cpu.usage.percpu_kernel.length, one.data.cpu.usage.percpu.length, 'v1: time per CPU and mode');
  }
  const stream = spawn(bin, ['--root', root, 'events', '--interval', '200ms', 'x'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => stream.kill('SIGKILL'));
  let out = '';
  stream.stdout.on('data', (d) => (out += d));
  // The first oom can come before the first tick (the hog's sleep began before the stream): wait for both.
  await waitFor(() => /"type":"oom"/.test(out) && /"type":"stats"/.test(out), 20_000);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  t.ok(lines.some((e) => e.type === 'stats'), 'stats events');
  t.ok(lines.some((e) => e.type === 'oom' && e.id === 'x'), 'an oom event');
  t.ok(state(root, 'x').status === 'running', 'the init survived; only the hog was killed');
  // An hour between stats: an oom is told when the kernel tells it, not at a tick; the init's end ends the stream.
  const slow = spawn(bin, ['--root', root, 'events', '--interval', '1h', 'x'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => slow.kill('SIGKILL'));
  let slowOut = '';
  slow.stdout.on('data', (d) => (slowOut += d));
  const ended = new Promise((resolve) => slow.on('exit', (code) => resolve(code)));
  await waitFor(() => /"type":"oom"/.test(slowOut), 20_000);
  t.notOk(slowOut.includes('"type":"stats"'), 'no stats event before the first interval (as runc)');
  ok(root, ['kill', 'x', 'KILL']);
  t.equal(await ended, 0, 'the stream ends with the container');
});

t.test('ps and kill --all: every process of the container, with a shared pid namespace too', async (t) => {
  const { root, pid } = running(t, ['sh', '-c', 'sleep 100 & sleep 100 & sleep 100'], {}, (c) => {
    c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'pid');
  });
  await waitFor(() => JSON.parse(ok(root, ['ps', '--format', 'json', 'x']).stdout).length === 3);
  const pids = JSON.parse(ok(root, ['ps', '--format=json', 'x']).stdout);
  t.ok(pids.includes(pid), 'the init is listed by its host pid');
  const table = ok(root, ['ps', 'x']).stdout.trim().split('\n');
  t.match(table[0], /PID/, 'the table has ps -ef\'s header');
  t.equal(table.length, 4, 'and one row per process');
  t.match(ok(root, ['ps', 'x', '-o', 'pid,comm']).stdout, /sleep/, 'ps options are passed on');
  ok(root, ['kill', '--all', 'x', 'KILL']);
  await waitFor(() => pids.every((p) => !fs.existsSync(`/proc/${p}`) || /^State:\s+Z/m.test(read(`/proc/${p}/status`))));
  t.pass('every process is gone, not just the init');
});

t.test('exec joins the container\'s cgroups', async (t) => {
  const { root } = running(t, ['sleep', '100']);
  ok(root, ['exec', '-d', 'x', 'sleep', '99']);
  const pids = JSON.parse(ok(root, ['ps', '--format', 'json', 'x']).stdout);
  t.equal(pids.length, 2, 'the exec\'d process is in the container\'s cgroup');
});

t.test('bad resources: a clear error naming the field, exit 1, no cgroup and no state left', async (t) => {
  const cases = [
    [{ memory: { limit: 67108864, swap: 1048576 } }, /\/linux\/resources\/memory\/swap: memory\+swap limit should be >= memory limit/],
    [{ cpu: { cpus: '999' } }, /\/linux\/resources\/cpu\/cpus: write \/sys\/fs\/cgroup\/.*cpuset\.cpus: .* \(E[A-Z]+\)/],
    // runc's rule and words: a device rule names its access.
    [{ devices: [{ allow: false }] }, /\/linux\/resources\/devices\/0\/access: device access at 0 field cannot be empty/],
    [{ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: '' }] }, /\/linux\/resources\/devices\/1\/access: device access at 1 field cannot be empty/],
  ];
  if (v2) cases.push([{ unified: { 'memory.nosuchfile': '1' } }, /\/linux\/resources\/unified\/memory\.nosuchfile: .* does not exist/]);
  else cases.push(
    [{ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /\/linux\/resources\/hugepageLimits\/0: the hugetlb cgroup controller is not mounted on this host/],
    [{ unified: { 'memory.high': '1' } }, /\/linux\/resources\/unified: invalid configuration: cannot use unified on cgroup v1/],
  );
  for (const [resources, message] of cases) {
    const { root, bundle, cg } = start(t, ['true'], resources);
    const r = ocirun(root, ['create', '--bundle', bundle, 'x']);
    t.equal(r.status, 1, JSON.stringify(resources));
    t.match(r.stderr, message);
    t.same(fs.readdirSync(root), [], 'no state');
    t.same(cgroupDirsNamed(cg.top), [], 'no cgroup');
  }
  const { root, bundle, cg } = start(t, ['nosuchprogram']);
  t.equal(ocirun(root, ['create', '--bundle', bundle, 'x']).status, 1, 'a create that fails in the init');
  t.same(cgroupDirsNamed(cg.top), [], 'leaves no cgroup either');
});

t.test('pause, update and events refuse a stopped container; ps of one is empty', async (t) => {
  const { root, bundle } = start(t, ['true']);
  ok(root, ['run', '--keep', '--bundle', bundle, 'x']);
  t.match(ocirun(root, ['pause', 'x']).stderr, /container not running/);
  // runc's words, byte for byte.
  t.equal(ocirun(root, ['update', '--pids-limit', '5', 'x']).stderr, 'ocirun: container not running\n');
  t.equal(ocirun(root, ['events', '--stats', 'x']).stderr, 'ocirun: container with id x is not running\n');
  t.equal(ocirun(root, ['events', 'x']).stderr, 'ocirun: container with id x is not running\n');
  // Go durations, as runc parses --interval: a valid one gets as far as the container's status.
  for (const d of ['.5s', '1m30s', '1.5h', '250ms', '10\u00b5s']) t.equal(ocirun(root, ['events', '--interval', d, 'x']).stderr, 'ocirun: container with id x is not running\n', d);
  for (const d of ['0', '0s', '-5s']) t.equal(ocirun(root, ['events', '--interval', d, 'x']).stderr, 'ocirun: duration interval must be greater than 0\n', d);
  for (const d of ['5', '1x', 's', '.s', '5s5']) t.match(ocirun(root, ['events', '--interval', d, 'x']).stderr, /invalid value for --interval/, d);
  t.equal(ok(root, ['ps', '--format', 'json', 'x']).stdout.trim(), '[]');
});

if (v2)
  t.test('cgroup v2 only: a per-device weight on a disk scheduled by BFQ goes to io.bfq.weight', async (t) => {
    // The guest has no disk of its own: a loop device over a file of the test's.
    const image = path.join(os.tmpdir(), `ocirun-bfq-${process.pid}.img`);
    fs.writeFileSync(image, Buffer.alloc(1 << 20));
    const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    t.teardown(() => {
      execFileSync('losetup', ['--detach', loop]);
      fs.rmSync(image, { force: true });
    });
    const disk = path.basename(loop);
    const sched = `/sys/block/${disk}/queue/scheduler`;
    const before = /\[(\S+)\]/.exec(read(sched))[1];
    fs.writeFileSync(sched, 'bfq'); // loads the module when it has to
    t.teardown(() => fs.writeFileSync(sched, before));
    t.match(read(sched), /\[bfq\]/);
    const dev = read(`/sys/block/${disk}/dev`);
    const [major, minor] = dev.split(':').map(Number);
    const { root } = running(t, ['sleep', '100'], { blockIO: { weight: 300, weightDevice: [{ major, minor, weight: 500 }] } });
    const bfq = read(cgFile(root, 'x', '', 'io.bfq.weight'));
    t.match(bfq, /^default 300$/m, 'the default weight, on blkio\'s own scale');
    t.match(bfq, new RegExp(`^${dev} 500$`, 'm'), `${dev}: its own weight`);
  });

if (v2)
  t.test('cgroup v2 only: exec into a container whose init moved into a sub-cgroup and enabled controllers joins the init\'s', async (t) => {
    const { root, bundle } = running(t, ['sh', '-c',
      'mkdir /sys/fs/cgroup/init && echo $$ > /sys/fs/cgroup/init/cgroup.procs && echo +pids > /sys/fs/cgroup/cgroup.subtree_control && touch /tmp/ready; exec sleep 100'],
    {}, (c) => (c.mounts.find((m) => m.destination === '/sys/fs/cgroup').options = ['nosuid', 'noexec', 'nodev', 'rw']));
    await waitFor(() => fs.existsSync(path.join(bundle, 'rootfs', 'tmp', 'ready')));
    t.equal(read(cgFile(root, 'x', '', 'cgroup.subtree_control')), 'pids', 'the container\'s top cgroup has a controller on: it takes no process');
    const r = ocirun(root, ['exec', 'x', 'cat', '/proc/self/cgroup']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), '0::/init', 'born in the init\'s cgroup');
    const rec = record(root, 'x');
    ok(root, ['delete', '--force', 'x']);
    t.notOk(fs.existsSync(rec.unified), 'delete removed both');
  });

if (v2)
  t.test('cgroup v2 only: unified keys, hugetlb, memory reservation, a nested cgroup is removed too', async (t) => {
    const { root } = running(t, ['sleep', '100'], {
      memory: { limit: 67108864, reservation: 16777216 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
      unified: { 'memory.high': '50331648', 'pids.max': '77' },
    }, (c) => (c.mounts.find((m) => m.destination === '/sys/fs/cgroup').options = ['nosuid', 'noexec', 'nodev', 'rw']));
    t.equal(read(cgFile(root, 'x', '', 'memory.high')), '50331648');
    t.equal(read(cgFile(root, 'x', '', 'pids.max')), '77');
    t.equal(read(cgFile(root, 'x', '', 'memory.low')), '16777216');
    t.equal(read(cgFile(root, 'x', '', 'hugetlb.2MB.max')), '4194304');
    ok(root, ['exec', 'x', 'mkdir', '/sys/fs/cgroup/inner']);
    t.ok(fs.existsSync(cgFile(root, 'x', '', 'inner')), 'the container made a cgroup below its own');
    const rec = record(root, 'x');
    ok(root, ['delete', '--force', 'x']);
    t.notOk(fs.existsSync(rec.unified), 'delete removed it with the container\'s');
  });

if (v2)
  t.test('cgroup v2 only: signals reaching a library process while it loads the device filter do not fail its creates', async (t) => {
    // The verifier gives up with EAGAIN when a signal is pending: here a profiler's SIGPROF every 50 us of CPU
    // time (a daemon's SIGCHLD does the same, less often). Every create failed so before the fix.
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
    const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-prof-'));
    t.teardown(() => fs.rmSync(prof, { recursive: true, force: true }));
    const script = `const lib = require(${JSON.stringify(path.join(repo, 'dist', 'index.js'))});
      (async () => {
        for (let i = 0; i < 5; i++) {
          const code = await lib.run('p' + i, { root: ${JSON.stringify(root)}, bundle: ${JSON.stringify(bundle)} });
          if (code !== 0) throw new Error('exit status ' + code);
        }
      })().catch((e) => { console.error(e.message); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-interval', '50', '-e', script], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    // One profile per thread: tap's module hooks (NODE_OPTIONS) may add a loader thread's, named with its id.
    const profiles = fs.readdirSync(prof);
    t.equal(profiles.filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)).length, 1, `the profiler ran: ${profiles.join(' ')}`);
    t.same(fs.readdirSync(root), [], 'nothing left');
  });

if (v2)
  t.test('cgroup v2 only: a library process loads a device filter once per rule set; a cgroup that outlives its containers keeps only the last one\'s', async (t) => {
    const lib = await import(path.join(repo, 'dist', 'index.js'));
    const progs = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-prog';
      } catch {
        return false; // the directory's own fd, gone once listed
      }
    }).length;
    const before = progs();
    const root = testRoot(t);
    // /dev/kmsg opened write-only needs no privilege of its own: only the device rules decide.
    const kmsg = { path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o666 };
    const bundle = (rules, cgroupsPath) => makeBundle(t, (c) => {
      c.process.args = ['sleep', '100'];
      c.linux.devices = [kmsg];
      c.linux.resources.devices.push(...rules);
      if (cgroupsPath) c.linux.cgroupsPath = cgroupsPath;
    });
    const allowKmsg = [{ allow: true, type: 'c', major: 1, minor: 11, access: 'w' }];
    const denying = bundle([]);
    const allowing = bundle(allowKmsg);
    const probe = (id) => ocirun(root, ['exec', id, 'sh', '-c', 'echo ocirun-device-test > /dev/kmsg && echo write-ok']);
    // Denied by the device controller, and for nothing else: the exec ran, and the open failed with EPERM.
    const denied = (t, r, what) => {
      t.notMatch(r.stdout, /write-ok/, what);
      t.match(r.stderr, /kmsg: Operation not permitted/, `${what}: EPERM from the device controller`);
    };
    // A cgroup of the test's own (removed at its end), outliving the containers made in it.
    const cg = cgroupsPath(t);
    const keptDir = `/sys/fs/cgroup/${cg.top}`;
    fs.mkdirSync(keptDir);
    const kept = bundle([], `/${cg.top}`);
    const keptAllowing = bundle(allowKmsg, `/${cg.top}`);
    try {
      for (const id of ['a', 'b', 'c']) await lib.create(id, { root, bundle: denying });
      t.equal(progs() - before, 1, 'one program for three containers with the same rules');
      await lib.create('d', { root, bundle: allowing });
      t.equal(progs() - before, 2, 'another for other rules');
      denied(t, probe('c'), 'the shared program denies in the third container');
      t.match(probe('d').stdout, /write-ok/, 'the other allows');
      await lib.create('k1', { root, bundle: kept });
      await lib.delete('k1', { root, force: true });
      t.ok(fs.existsSync(keptDir), 'the cgroup that was there is left');
      await lib.create('k2', { root, bundle: kept });
      t.equal((await lib.state('k2', { root })).status, 'created', 'a second container in it, with the program already attached there');
      denied(t, probe('k2'), 'its rules in effect');
      await lib.delete('k2', { root, force: true });
      // Other rules in the same cgroup: the earlier containers' program goes (a device is allowed only if every
      // program attached allows it; it was left there, and denied this, before).
      await lib.create('k3', { root, bundle: keptAllowing });
      t.match(probe('k3').stdout, /write-ok/, 'a third with other rules: only its own program decides');
    } finally {
      for (const c of await lib.list({ root })) await lib.delete(c.id, { root, force: true });
    }
  });
