// Rootless: ocirun run by an unprivileged user the test makes (with subordinate ids and a runtime dir of its
// own), on a config from `ocirun spec --rootless`. On this host (cgroup v1 controllers, none delegated) a
// rootless container has no cgroups of its own.
import t from 'tap';
import { bin, fs, hostMountsUnder, path, waitFor } from './helpers.mjs';
import { makeUser, podmanScenario, rootlessHome, runAs, SUB } from './helpers/rootless.mjs';
import { inTerminal } from './helpers/terminal.mjs';

const user = makeUser(t, 'ocirun-rootless');
const { uid, gid } = user;
const home = (t, edit) => rootlessHome(t, user, { edit });
const ok = (h, args) => h.ok(args);
const as = (xdg, args, cwd) => runAs(user, { XDG_RUNTIME_DIR: xdg }, bin, args, cwd);

t.test('spec --rootless, then run: root inside is the user outside; state under XDG_RUNTIME_DIR, private', async (t) => {
  const h = home(t, (c) => (c.process.args = ['sh', '-c', 'id -u; cat /proc/self/uid_map /proc/self/gid_map']));
  const config = JSON.parse(fs.readFileSync(path.join(h.bundle, 'config.json'), 'utf8'));
  t.same(config.linux.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }], 'the user\'s own uid, as root');
  t.notOk(config.linux.namespaces.some((n) => n.type === 'network'), 'no network namespace');
  t.same(config.mounts.find((m) => m.destination === '/sys').options, ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'], '/sys bound from the host');
  const r = ok(h, ['run', 'c']);
  const [inside, uidMap, gidMap] = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(inside, '0');
  t.equal(uidMap, `0 ${uid} 1`);
  t.equal(gidMap, `0 ${gid} 1`);
  t.equal(fs.statSync(h.root).mode & 0o777, 0o700, 'the default root $XDG_RUNTIME_DIR/ocirun is private');
  t.same(fs.readdirSync(h.root), [], 'nothing left');
});

t.test('the lifecycle as the user: create, start, state, exec, kill, delete; pause and ps say there is no cgroup', async (t) => {
  const h = home(t, (c) => (c.process.args = ['sleep', '100']));
  ok(h, ['create', 'l']);
  t.equal(JSON.parse(ok(h, ['state', 'l']).stdout).status, 'created');
  ok(h, ['start', 'l']);
  const state = JSON.parse(ok(h, ['state', 'l']).stdout);
  t.equal(state.status, 'running');
  t.equal(fs.statSync(`/proc/${state.pid}`).uid, uid, 'the init is the user\'s process on the host');
  t.match(ok(h, ['exec', 'l', 'sh', '-c', 'id -u; echo $HOME']).stdout, /^0\n\/root\n$/, 'exec joins as root of the namespace');
  t.match(ok(h, ['list']).stdout, /\bl\s+\d+\s+running\b/);
  for (const verb of ['pause', 'ps']) {
    const r = as(h.xdg, [verb, 'l'], h.bundle);
    t.equal(r.status, 1);
    t.match(r.stderr, /container l has no cgroups/, `${verb}: a clear error`);
  }
  ok(h, ['kill', 'l', 'KILL']);
  await waitFor(() => JSON.parse(ok(h, ['state', 'l']).stdout).status === 'stopped');
  ok(h, ['delete', 'l']);
  t.same(fs.readdirSync(h.root), []);
  t.same(hostMountsUnder(h.bundle), [], 'no mount left');
});

t.test('subordinate ids through newuidmap: files the container makes land on the host with the mapped ids', async (t) => {
  const maps = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: SUB, size: 65536 }];
  const h = home(t, (c) => {
    c.root.readonly = false;
    c.process.args = ['sh', '-c', 'cat /proc/self/uid_map; touch /tmp/by-root; touch /tmp/by-1000; chown 1000:1000 /tmp/by-1000'];
    c.process.capabilities = Object.fromEntries(Object.entries(c.process.capabilities).map(([k, v]) => [k, [...v, 'CAP_CHOWN']]));
    c.linux.uidMappings = maps;
    c.linux.gidMappings = maps.map((m) => (m.containerID === 0 ? { ...m, hostID: gid } : m));
  });
  const r = ok(h, ['run', 'm']);
  t.match(r.stdout, new RegExp(`^\\s*0\\s+${uid}\\s+1\\n\\s*1\\s+${SUB}\\s+65536\\n$`), 'both ranges mapped');
  const tmp = path.join(h.bundle, 'rootfs', 'tmp');
  t.equal(fs.statSync(path.join(tmp, 'by-root')).uid, uid, 'root inside made a file of the user\'s');
  t.same([fs.statSync(path.join(tmp, 'by-1000')).uid, fs.statSync(path.join(tmp, 'by-1000')).gid], [SUB + 999, SUB + 999], 'uid 1000 inside is SUB+999 outside');
});

t.test('what the user cannot reach, the container cannot either; refusals leave nothing', async (t) => {
  const h = home(t, (c) => {
    c.process.args = ['sh', '-c', 'cat /hostetc/shadow 2>&1; true'];
    c.mounts.push({ destination: '/hostetc', type: 'bind', source: '/etc', options: ['rbind', 'ro'] });
  });
  t.match(ok(h, ['run', 'r']).stdout, /Permission denied/, '/etc/shadow stays unreadable');
  for (const [edit, message] of [
    [(c) => (c.linux.resources = { pids: { limit: 10 } }), /\/linux\/resources\/pids: cannot be applied rootless: \S+ is not delegated to uid \d+/],
    [(c) => (c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: SUB + 100000, size: 10 }]), /newuidmap: .*not allowed \(the ranges this user may map are in \/etc\/subuid\)/],
  ]) {
    const b = home(t, (c) => ((c.process.args = ['true']), edit(c)));
    const r = as(b.xdg, ['run', 'bad'], b.bundle);
    t.equal(r.status, 1, r.stderr);
    t.match(r.stderr, message);
    t.same(fs.existsSync(b.root) ? fs.readdirSync(b.root) : [], [], 'no state left');
  }
});

t.test('a terminal, rootless: run in the foreground through a real terminal as the user', async (t) => {
  const h = home(t, (c) => {
    c.process.terminal = true;
    c.process.args = ['sh', '-c', 'tty; stat -c %u /proc/self/fd/0; echo done'];
  });
  const { status, out } = inTerminal(`${bin} run tty`, {
    cwd: h.bundle, uid, gid, env: { PATH: process.env.PATH, HOME: '/nonexistent', XDG_RUNTIME_DIR: h.xdg },
  });
  t.equal(status, 0, out);
  t.match(out, /^\/dev\/pts\/0\n0\ndone\n/, 'a pty of the container\'s own, owned by its root');
  t.same(fs.readdirSync(h.root), []);
});

t.test('rootless podman on ocirun, as the user: run, --userns=keep-id, exec, logs, stop, rm; nothing left', async (t) => {
  // cgroupfs: no systemd on this host.
  await podmanScenario(t, user, home(t), 'cgroup_manager = "cgroupfs"');
});
