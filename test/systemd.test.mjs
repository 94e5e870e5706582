// The systemd cgroup driver (--systemd-cgroup) against a real systemd: PID 1 of the project's cgroup v2 guest
// (scripts/vm), reached over the real system bus. On this host, where systemd does not run, the driver's
// clear refusal is what there is to test, and that is what runs here.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterContainers, fs, makeBundle, ocirun, ok, path, state, testRoot, waitFor } from './helpers.mjs';

const systemdRuns = fs.existsSync('/run/systemd/system');

if (!systemdRuns) {
  t.test('--systemd-cgroup without systemd: a clear error, nothing made', async (t) => {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => (c.process.args = ['true']));
    const r = ocirun(root, ['--systemd-cgroup', 'create', '--bundle', bundle, 'x']);
    t.equal(r.status, 1);
    t.match(r.stderr, /--systemd-cgroup: systemd is not running on this host/);
    t.same(fs.readdirSync(root), []);
    const colon = makeBundle(t, (c) => (c.linux.cgroupsPath = 'system.slice:ocirun:x'));
    const r2 = ocirun(root, ['create', '--bundle', colon, 'x']);
    t.equal(r2.status, 1);
    t.match(r2.stderr, /\/linux\/cgroupsPath: "system.slice:ocirun:x" is a systemd slice:prefix:name path/);
    t.same(fs.readdirSync(root), []);
  });
} else {
  const tag = `t${process.pid}`;
  const systemctl = (...args) => spawnSync('systemctl', ['--no-pager', ...args], { encoding: 'utf8' });
  /** systemctl show's properties of a unit, as a map. */
  const show = (unit, ...props) =>
    Object.fromEntries(systemctl('show', unit, ...props.flatMap((p) => ['-p', p])).stdout.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  /** Every unit systemd still knows by that name, failed ones included. */
  const known = (unit) => systemctl('list-units', '--all', '--plain', '--no-legend', unit).stdout.trim();
  const read = (f) => fs.readFileSync(f, 'utf8').trim();
  // cgroup v2, or (the guest's other boots) systemd's hybrid or legacy cgroup v1 layout.
  const v2 = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l));
  /** Every hierarchy: '' for cgroup2, else a v1 controller (its mount's first name). */
  const hierarchies = v2 ? [''] : fs.readdirSync('/sys/fs/cgroup').filter((d) => !d.includes(',') && fs.existsSync(`/sys/fs/cgroup/${d}/tasks`));
  /** A file of a cgroup in one hierarchy ('' = cgroup2; on v1, "name=systemd" is the systemd directory). */
  const file = (cgroup, h, f) => path.join('/sys/fs/cgroup', v2 ? '' : h === 'name=systemd' ? 'systemd' : h, cgroup, f);
  /** A process's cgroup in one hierarchy. */
  const cgroupOf = (pid, h) => read(`/proc/${pid}/cgroup`).split('\n').map((l) => l.split(':')).find(([, c]) => (h === '' ? c === '' : c.split(',').includes(h)))[2];
  /** Whatever a test leaves in systemd is stopped and forgotten at its end, even when it fails. */
  const units = (t, ...names) => afterContainers(t, () => {
    for (const u of names) {
      systemctl('stop', u);
      systemctl('reset-failed', u);
    }
  });

  t.test('features says the systemd driver is usable', async (t) => {
    const doc = JSON.parse(ok(testRoot(t), ['features']).stdout);
    t.equal(doc.linux.cgroup.systemd, true);
  });

  t.test('a scope in a new nested slice: properties, files, annotations; update, pause, exec, kill --all, delete', async (t) => {
    const slice = `ocirun-${tag}-a.slice`;
    const unit = `ocitest-c1.scope`;
    units(t, unit, slice, `ocirun-${tag}.slice`, 'ocirun.slice');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '300'];
      c.linux.cgroupsPath = `${slice}:ocitest:c1`;
      c.linux.resources = {
        ...c.linux.resources,
        memory: { limit: 64 << 20 },
        pids: { limit: 50 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      };
      c.annotations = { 'org.systemd.property.TimeoutStopUSec': 'uint64 123456789', 'org.systemd.property.CollectMode': "'inactive-or-failed'" };
    });
    ok(root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle, 'c1']);
    const pid = state(root, 'c1').pid;
    const cgroup = `/ocirun.slice/ocirun-${tag}.slice/${slice}/${unit}`;
    t.equal(cgroupOf(pid, v2 ? '' : 'name=systemd'), cgroup, 'the init is in the scope, in the expanded slice');
    if (!v2) {
      t.equal(cgroupOf(pid, 'memory'), cgroup, 'in the v1 hierarchies systemd manages');
      t.equal(cgroupOf(pid, 'freezer'), cgroup, 'and in those the runtime joins itself');
    }
    const p = show(unit, 'Description', 'Slice', 'Delegate', 'ActiveState', v2 ? 'MemoryMax' : 'MemoryLimit', 'TasksMax', v2 ? 'CPUWeight' : 'CPUShares',
      'CPUQuotaPerSecUSec', 'CPUQuotaPeriodUSec', 'AllowedCPUs', 'AllowedMemoryNodes', 'TimeoutStopUSec', 'CollectMode', 'ControlGroup', 'DevicePolicy');
    t.same(p, {
      Description: 'ocirun container c1', Slice: slice, Delegate: 'yes', ActiveState: 'active', ...(v2 ? { MemoryMax: String(64 << 20), CPUWeight: '59' } : { MemoryLimit: String(64 << 20), CPUShares: '512' }),
      TasksMax: '50', CPUQuotaPerSecUSec: '500ms', CPUQuotaPeriodUSec: '100ms', AllowedCPUs: '0', AllowedMemoryNodes: '0',
      TimeoutStopUSec: '2min 3.456789s', CollectMode: 'inactive-or-failed', ControlGroup: cgroup, DevicePolicy: 'strict',
    }, 'systemctl show reports the translated properties and the annotations');
    if (v2) {
      t.equal(read(file(cgroup, '', 'memory.max')), String(64 << 20));
      t.equal(read(file(cgroup, '', 'cpu.weight')), '59');
      t.equal(read(file(cgroup, '', 'cpu.max')), '50000 100000');
    } else {
      t.equal(read(file(cgroup, 'memory', 'memory.limit_in_bytes')), String(64 << 20));
      t.equal(read(file(cgroup, 'cpu', 'cpu.shares')), '512');
      t.equal(read(file(cgroup, 'cpu', 'cpu.cfs_quota_us')), '50000');
    }
    t.equal(read(file(cgroup, 'pids', 'pids.max')), '50');
    t.equal(read(file(cgroup, 'cpuset', 'cpuset.cpus')), '0');
    // systemd's device rules and ours both let the standard nodes through.
    t.equal(ocirun(root, ['exec', 'c1', 'sh', '-c', 'echo hi > /dev/null && head -c1 /dev/zero | wc -c']).stdout.trim(), '1');

    ok(root, ['update', '--memory', String(128 << 20), '--pids-limit', '60', 'c1']);
    t.same(show(unit, v2 ? 'MemoryMax' : 'MemoryLimit', 'TasksMax'), { [v2 ? 'MemoryMax' : 'MemoryLimit']: String(128 << 20), TasksMax: '60' }, 'update changes the unit');
    t.equal(read(file(cgroup, 'memory', v2 ? 'memory.max' : 'memory.limit_in_bytes')), String(128 << 20), 'and the files');
    t.equal(read(file(cgroup, 'pids', 'pids.max')), '60');

    ok(root, ['pause', 'c1']);
    t.equal(state(root, 'c1').status, 'paused');
    t.equal(read(v2 ? file(cgroup, '', 'cgroup.freeze') : file(cgroup, 'freezer', 'freezer.state')), v2 ? '1' : 'FROZEN');
    ok(root, ['resume', 'c1']);
    t.equal(state(root, 'c1').status, 'running');

    const pidFile = path.join(root, 'exec.pid');
    ok(root, ['exec', '-d', '--pid-file', pidFile, 'c1', 'sleep', '300']);
    const execPid = Number(read(pidFile));
    t.equal(read(`/proc/${execPid}/cgroup`), read(`/proc/${pid}/cgroup`), 'exec joins the scope, in every hierarchy');
    const ps = JSON.parse(ok(root, ['ps', '--format', 'json', 'c1']).stdout);
    t.same(ps.sort(), [pid, execPid].sort(), 'ps lists both');
    const stats = JSON.parse(ok(root, ['events', '--stats', 'c1']).stdout);
    t.equal(stats.data.pids.current, 2, 'events --stats reads the scope\'s cgroup');

    ok(root, ['kill', '--all', 'c1', 'KILL']);
    await waitFor(() => state(root, 'c1').status === 'stopped');
    ok(root, ['delete', 'c1']);
    t.equal(known(unit), '', 'delete leaves no unit');
    t.same(hierarchies.map((h) => file(cgroup, h, '')).filter((d) => fs.existsSync(d)), [], 'nor its cgroup, in any hierarchy');
    t.equal(show(slice, 'ActiveState').ActiveState, 'active', 'the slice is systemd\'s and stays');
    t.ok(fs.existsSync(file(path.dirname(cgroup), v2 ? '' : 'name=systemd', '')), 'and so does its cgroup: ocirun removed none of systemd\'s');
  });

  t.test('no cgroupsPath: runc-<id>.scope in system.slice', async (t) => {
    units(t, 'runc-d1.scope');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '300'];
      delete c.linux.cgroupsPath;
    });
    ok(root, ['--systemd-cgroup', 'create', '--bundle', bundle, 'd1']);
    const pid = state(root, 'd1').pid;
    t.equal(cgroupOf(pid, v2 ? '' : 'name=systemd'), '/system.slice/runc-d1.scope');
    t.equal(show('runc-d1.scope', 'ActiveState').ActiveState, 'active');
    ok(root, ['delete', '--force', 'd1']);
    t.equal(known('runc-d1.scope'), '', 'delete --force of a created container stops its unit');
  });

  t.test('a create that fails leaves no unit, not even a failed one', async (t) => {
    units(t, 'ocitest-f1.scope');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['/nosuchprogram'];
      c.linux.cgroupsPath = 'system.slice:ocitest:f1';
    });
    const r = ocirun(root, ['--systemd-cgroup', 'create', '--bundle', bundle, 'f1']);
    t.equal(r.status, 1);
    t.match(r.stderr, /nosuchprogram/);
    t.equal(known('ocitest-f1.scope'), '', 'no unit');
    t.same(fs.readdirSync(root), [], 'no state');
    t.same(hierarchies.map((h) => file('/system.slice/ocitest-f1.scope', h, '')).filter((d) => fs.existsSync(d)), [], 'no cgroup, in any hierarchy');
  });

  t.test('a unit name in use is refused, and the unit that has it is left alone', async (t) => {
    units(t, 'ocitest-u1.scope');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '300'];
      c.linux.cgroupsPath = 'system.slice:ocitest:u1';
    });
    ok(root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle, 'first']);
    const r = ocirun(root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle, 'second']);
    t.equal(r.status, 1);
    t.match(r.stderr, /\/linux\/cgroupsPath: systemd unit ocitest-u1.scope already exists/);
    t.equal(state(root, 'first').status, 'running', 'the first container still runs');
    t.equal(show('ocitest-u1.scope', 'ActiveState').ActiveState, 'active');
    t.same(fs.readdirSync(root), ['first']);
  });

  t.test('bad input: the field is named, exit 1, nothing left', async (t) => {
    const cases = [
      [{ cgroupsPath: 'nocolons' }, /\/linux\/cgroupsPath: expected "slice:prefix:name"/],
      [{ cgroupsPath: 'a:b' }, /\/linux\/cgroupsPath: expected "slice:prefix:name"/],
      [{ cgroupsPath: 'system:ocitest:b1' }, /\/linux\/cgroupsPath: "system" is not a slice name/],
      [{ cgroupsPath: 'a--b.slice:ocitest:b1' }, /\/linux\/cgroupsPath: slice "a--b.slice" has an empty component/],
      [{ cgroupsPath: 'system.slice:ocitest:has space' }, /\/linux\/cgroupsPath: unit name "ocitest-has space.scope" has characters systemd refuses/],
      [{ annotations: { 'org.systemd.property.TimeoutStopUSec': '123' } }, /\/annotations\/org.systemd.property.TimeoutStopUSec: "123" is int32; TimeoutStopUSec takes uint64/],
      [{ annotations: { 'org.systemd.property.CollectMode': "'unterminated" } }, /\/annotations\/org.systemd.property.CollectMode: "'unterminated" is not a GVariant value/],
      [{ annotations: { 'org.systemd.property.lower': 'true' } }, /\/annotations\/org.systemd.property.lower: "lower" is not a systemd property name/],
    ];
    for (const [edit, message] of cases) {
      const root = testRoot(t);
      const bundle = makeBundle(t, (c) => {
        c.process.args = ['true'];
        c.linux.cgroupsPath = edit.cgroupsPath ?? 'system.slice:ocitest:b1';
        if (edit.annotations) c.annotations = edit.annotations;
      });
      const r = ocirun(root, ['--systemd-cgroup', 'create', '--bundle', bundle, 'b1']);
      t.equal(r.status, 1, JSON.stringify(edit));
      t.match(r.stderr, message);
      t.same(fs.readdirSync(root), [], 'no state');
    }
    t.equal(known('ocitest-*'), '', 'no unit');
  });

  t.test('systemd refuses a property: its D-Bus error, with the unit, reaches the user; nothing left', async (t) => {
    units(t, 'ocitest-p1.scope');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '300'];
      c.linux.cgroupsPath = 'system.slice:ocitest:p1';
      c.annotations = { 'org.systemd.property.NoSuchProperty': 'true' };
    });
    const r = ocirun(root, ['--systemd-cgroup', 'create', '--bundle', bundle, 'p1']);
    t.equal(r.status, 1);
    t.match(r.stderr, /systemd: StartTransientUnit ocitest-p1\.scope: org\.freedesktop\.DBus\.Error\.\w+: .*NoSuchProperty/);
    t.equal(known('ocitest-p1.scope'), '', 'no unit');
    t.same(fs.readdirSync(root), [], 'no state');
  });

  t.test('a scope whose processes all exited: delete succeeds, whether systemd took it down already or not', async (t) => {
    units(t, 'ocitest-e1.scope');
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['true'];
      c.linux.cgroupsPath = 'system.slice:ocitest:e1';
    });
    ok(root, ['--systemd-cgroup', 'run', '--keep', '--bundle', bundle, 'e1']);
    // systemd sees a scope empty through cgroup2 (v2, hybrid); on legacy v1 in a container it cannot, and the
    // scope stays until delete stops it.
    if (v2 || fs.existsSync('/sys/fs/cgroup/unified')) await waitFor(() => known('ocitest-e1.scope') === '');
    ok(root, ['delete', 'e1']);
    t.equal(known('ocitest-e1.scope'), '', 'no unit');
    t.same(fs.readdirSync(root), []);
  });

  t.teardown(() => {
    // The leak check of the file: no unit of its tag or its names, no cgroup of theirs in any hierarchy.
    const left = execFileSync('systemctl', ['list-units', '--all', '--plain', '--no-legend', 'ocitest-*', `ocirun-${tag}*`, 'runc-d1.scope'], { encoding: 'utf8' }).trim();
    if (left) throw new Error(`units left behind: ${left}`);
    const dirs = hierarchies.flatMap((h) => ['/system.slice', '/ocirun.slice'].map((d) => file(d, h, '')))
      .filter((d) => fs.existsSync(d))
      .flatMap((d) => fs.readdirSync(d).filter((n) => /^(ocitest-|runc-d1\.scope|ocirun-t)/.test(n)).map((n) => path.join(d, n)));
    if (dirs.length) throw new Error(`cgroups left behind: ${dirs.join(' ')}`);
  });
}
