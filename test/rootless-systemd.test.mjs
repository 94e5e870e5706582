// Rootless where cgroups are delegated to the user (the cgroup v2 guest, systemd as PID 1): the user's own
// systemd (user@UID.service, which systemd gives the cpu, memory and pids controllers) holds its containers'
// cgroups. With --systemd-cgroup the scope is made by that manager, on the user's bus; with cgroupfs the
// container's cgroup is made in the subtree the user owns. Either way a memory limit is applied, and pause
// and ps work; rootless podman (whose default cgroup manager is systemd) runs with --memory.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fs, makeBundle, ocirun, path, testRoot, waitFor } from './helpers.mjs';
import { makeUser, podmanScenario, rootlessHome } from './helpers/rootless.mjs';

const systemdRuns = fs.existsSync('/run/systemd/system');
const MiB64 = 64 * 1024 * 1024;

const limited = (args) => (c) => {
  c.process.args = args;
  c.linux.resources = { memory: { limit: MiB64 }, pids: { limit: 50 } };
};
const cgroupOf = (pid) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().replace(/^0::/, '');
const read = (dir, file) => fs.readFileSync(path.join('/sys/fs/cgroup', dir, file), 'utf8').trim();

// On a host without systemd (this development machine) there is no user's systemd to delegate: what there is
// to test is the clear refusal.
if (!systemdRuns)
  t.test('rootless --systemd-cgroup without systemd: a clear error, nothing made', async (t) => {
    const root = testRoot(t);
    const bundle = makeBundle(t, limited(['true']));
    const r = ocirun(root, ['--rootless', 'true', '--systemd-cgroup', 'run', '--bundle', bundle, 's']);
    t.equal(r.status, 1);
    t.match(r.stderr, /--systemd-cgroup: systemd is not running on this host/);
    t.same(fs.readdirSync(root), []);
  });
else {
  const user = makeUser(t, 'ocirun-rootless');
  const unit = `user@${user.uid}.service`;
  execFileSync('systemctl', ['start', unit]);
  t.teardown(() => execFileSync('systemctl', ['stop', unit]));
  const xdg = `/run/user/${user.uid}`;
  const manager = `/user.slice/user-${user.uid}.slice/${unit}`;

  t.test('--systemd-cgroup, rootless: a scope of the user\'s systemd in its user.slice, with the limits; pause, ps, delete', async (t) => {
    const h = rootlessHome(t, user, { xdg, edit: limited(['sleep', '100']) });
    const sd = { global: ['--systemd-cgroup'] };
    h.ok(['run', '-d', 's'], sd);
    const { pid, status } = JSON.parse(h.ok(['state', 's'], sd).stdout);
    t.equal(status, 'running');
    const cg = cgroupOf(pid);
    t.equal(cg, `${manager}/user.slice/runc-s.scope`, 'the default slice of a user\'s manager is its user.slice');
    t.equal(Number(read(cg, 'memory.max')), MiB64);
    t.equal(read(cg, 'pids.max'), '50');
    h.ok(['pause', 's'], sd);
    t.equal(JSON.parse(h.ok(['state', 's'], sd).stdout).status, 'paused');
    t.equal(read(cg, 'cgroup.freeze'), '1');
    h.ok(['resume', 's'], sd);
    t.match(h.ok(['ps', 's'], sd).stdout, new RegExp(`\\b${pid}\\b`));
    h.ok(['kill', 's', 'KILL'], sd);
    await waitFor(() => JSON.parse(h.ok(['state', 's'], sd).stdout).status === 'stopped');
    h.ok(['delete', 's'], sd);
    t.notOk(fs.existsSync(path.join('/sys/fs/cgroup', cg)), 'the scope is gone with its cgroup');
    t.same(h.left(), []);
  });

  t.test('cgroupfs, rootless, in the subtree delegated to the user: its own cgroup with the limits', async (t) => {
    const cg = `${manager}/ocirun-rootless-c`;
    const h = rootlessHome(t, user, {
      xdg,
      edit: (c) => {
        limited(['sleep', '100'])(c);
        c.linux.cgroupsPath = cg;
      },
    });
    // The kernel lets a process move another only within a subtree whose cgroup.procs it may write: the
    // runtime runs where a user's programs do, in a scope of its systemd (from a login it would be the same).
    h.ok(['run', '-d', 'c'], { via: ['systemd-run', '--user', '--scope', '--quiet'] });
    const { pid } = JSON.parse(h.ok(['state', 'c']).stdout);
    t.equal(cgroupOf(pid), cg);
    t.equal(Number(read(cg, 'memory.max')), MiB64);
    h.ok(['pause', 'c']);
    t.equal(read(cg, 'cgroup.freeze'), '1');
    h.ok(['resume', 'c']);
    h.ok(['delete', '--force', 'c']);
    t.notOk(fs.existsSync(path.join('/sys/fs/cgroup', cg)), 'removed at delete');
    t.same(h.left(), []);
  });

  t.test('rootless podman, systemd cgroup manager on the user\'s bus: the usual scenario, then --memory', async (t) => {
    const h = rootlessHome(t, user, { xdg, env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${xdg}/bus` } });
    await podmanScenario(t, user, h, 'cgroup_manager = "systemd"', async (t, podman) => {
      const out = podman('run', '--rm', '--memory', '64m', 'localhost/rootless-test:1', 'sh', '-c', 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup');
      const [max, cgroup] = out.trim().split('\n');
      t.equal(Number(max), MiB64, '--memory applied, rootless');
      t.equal(cgroup, '0::/', 'in a cgroup namespace of its own');
    });
  });
}
