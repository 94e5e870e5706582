// Docker (Debian's docker.io) running its containers on ocirun: a private dockerd (its own data root, exec
// root, socket, pid file and containerd) given the daemon.json of docs/docker.md, ocirun as its default
// runtime, and an image imported from the busybox rootfs the tests build. Where this machine lets dockerd
// manage a bridge and iptables, it does, and the networking tests and docker-compose run; the bridge, chains,
// rules and ip_forward it leaves behind are removed and restored at the end. Elsewhere it gets a bridge of the
// test's own, or (the guest, whose kernel has no bridge or netfilter modules here) none. Everything it
// started is stopped by pid.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { bin, fs, hostMountsUnder, hostOnlyTests, os, path, repo, waitFor } from './helpers.mjs';
import { holdContainerdHostDirs } from './helpers/containerd.mjs';
import { inTerminal as onPty } from './helpers/terminal.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-docker-'));
const sock = path.join(dir, 'docker.sock');
const image = 'ocirun-test:1';
// Where systemd runs (the guest), dockerd's cgroup driver is systemd's, and ocirun gets --systemd-cgroup:
// the parent is then a slice.
const systemdRuns = fs.existsSync('/run/systemd/system');
const cgroupParent = systemdRuns ? `ocirun-docker${process.pid}.slice` : `/ocirun-docker-${process.pid}`;
const env = { ...process.env, DOCKER_HOST: `unix://${sock}` };
let daemon;
// In the guest: run, the -d lifecycle with stats and update, and resources, what depends on its cgroup v2 and
// systemd; the rest on this host only.
const onHost = hostOnlyTests(t);
let hostDirs = [];
let releaseHostDirs;

/**
 * How this test's dockerd gets its network. It may manage docker0 and iptables when both work here and no
 * other Docker has made them. Where another Docker has, the test's dockerd gets a bridge of the test's own and
 * no iptables (dockerd deletes a docker0 it finds when started with --bridge none: never do that to another
 * Docker's). Where no bridge can be made (the guest), --bridge none.
 */
function networkMode() {
  const own = `ocidk${process.pid % 100000}`;
  if (spawnSync('ip', ['link', 'add', own, 'type', 'bridge']).status !== 0) {
    if (spawnSync('ip', ['link', 'show', 'docker0']).status === 0) throw new Error('docker0 exists but no bridge can be made here');
    return { args: ['--bridge', 'none', '--iptables=false', '--ip6tables=false'], why: 'no bridge can be made here' };
  }
  const rules = spawnSync('iptables-save', { encoding: 'utf8' });
  if (rules.status === 0 && !/DOCKER/.test(rules.stdout) && spawnSync('ip', ['link', 'show', 'docker0']).status !== 0) {
    spawnSync('ip', ['link', 'del', own]);
    return { args: [], why: '' };
  }
  return {
    args: ['--bridge', own, '--iptables=false', '--ip6tables=false'],
    why: rules.status !== 0 ? 'iptables does not work here' : 'another Docker has its bridge and chains here',
    ownBridge: own,
  };
}
const mode = networkMode();
const networking = !mode.why;
const ipForward = '/proc/sys/net/ipv4/ip_forward';
const ipForwardBefore = fs.readFileSync(ipForward, 'utf8');
/** The filter table's FORWARD policy: dockerd sets DROP when it turns forwarding on, and it is put back. */
const forwardPolicy = (save) => /^:FORWARD (\w+)/m.exec(spawnSync(save, ['-t', 'filter'], { encoding: 'utf8' }).stdout ?? '')?.[1];
const forwardBefore = networking ? [['iptables', forwardPolicy('iptables-save')], ['ip6tables', forwardPolicy('ip6tables-save')]] : [];

/** What dockerd made in the network stack: its chains and rules (iptables-restore of the rest), the FORWARD policy, docker0. */
function removeDockerNetworking() {
  for (const [save, restore] of [['iptables-save', 'iptables-restore'], ['ip6tables-save', 'ip6tables-restore']]) {
    const rules = spawnSync(save, { encoding: 'utf8' });
    if (rules.status !== 0 || !/DOCKER|docker0/.test(rules.stdout)) continue;
    const kept = rules.stdout.split('\n').filter((l) => !/DOCKER|docker0/.test(l)).join('\n');
    const r = spawnSync(restore, { input: kept, encoding: 'utf8' });
    if (r.status !== 0) console.error(`docker test: ${restore} failed: ${r.stderr}`);
  }
  for (const [cmd, policy] of forwardBefore) if (policy) spawnSync(cmd, ['-P', 'FORWARD', policy]);
  if (spawnSync('ip', ['link', 'show', 'docker0']).status === 0) spawnSync('ip', ['link', 'del', 'docker0']);
  fs.writeFileSync(ipForward, ipForwardBefore);
}

/** The daemon.json block of docs/docker.md, exactly, with the runtime's path pointing at this checkout. */
function documentedConfig() {
  const doc = fs.readFileSync(path.join(repo, 'docs', 'docker.md'), 'utf8');
  const block = /<!-- docker-daemon-config -->\n```json\n([\s\S]*?)```/.exec(doc)[1];
  const config = JSON.parse(block);
  if (config.runtimes?.ocirun?.path !== '/usr/local/bin/ocirun') throw new Error('docs/docker.md: the runtime path changed; update this test');
  config.runtimes.ocirun.path = bin;
  return config;
}

/** Debian's docker client (another one may come first on the PATH), on the private daemon. */
function docker(args, opts = {}) {
  const r = spawnSync('/usr/bin/docker', args, { env, encoding: 'utf8', timeout: 60_000, ...opts });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function ok(args, opts) {
  const r = docker(args, opts);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
/** A command under a real terminal; its exit status is the command's. */
function inTerminal(args) {
  const r = onPty(['/usr/bin/docker', ...args].map((a) => `'${a}'`).join(' '), { env });
  return { status: r.status, stdout: r.out };
}
const inspect = (name, format) => ok(['inspect', '--format', format, name]).trim();
/** Inside a container: a file of its own cgroup, v1 controller or v2. */
const cgroupRead = (v1, v2) => `cat /sys/fs/cgroup/${v1} 2>/dev/null || cat /sys/fs/cgroup/${v2}`;

t.before(async () => {
  // dockerd's containerd puts its shims' sockets in /run/containerd/s, as any containerd does.
  releaseHostDirs = await holdContainerdHostDirs();
  hostDirs = ['/run/containerd/s', '/run/containerd'].filter((d) => !fs.existsSync(d));
  fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify(documentedConfig(), null, 2));
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'w');
  daemon = spawn('dockerd', [
    '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'dockerd.pid'), '--host', `unix://${sock}`, '--storage-driver', 'vfs',
    ...mode.args, '--cgroup-parent', cgroupParent,
  ], { stdio: ['ignore', log, log] });
  // dockerd starts its own containerd first: seconds here, half a minute or more under emulation (the guest).
  await waitFor(() => {
    if (daemon.exitCode !== null) throw new Error(`dockerd exited ${daemon.exitCode}`);
    return fs.existsSync(sock) && docker(['version']).status === 0;
  }, 150_000).catch((err) => {
    throw new Error(`dockerd did not come up: ${err.message}\n${fs.readFileSync(path.join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n')}`);
  });
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), rootfs]);
  execFileSync('tar', ['-C', rootfs, '-cf', path.join(dir, 'rootfs.tar'), '.']);
  ok(['import', '--change', 'CMD ["sh"]', path.join(dir, 'rootfs.tar'), image]);
});

t.teardown(async () => {
  if (daemon) {
    const left = docker(['ps', '--all', '--quiet']).stdout.trim().split('\n').filter(Boolean);
    if (left.length) docker(['rm', '--force', ...left]);
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    if (daemon.exitCode === null) daemon.kill('SIGTERM'); // dockerd stops the containerd it started
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (daemon.exitCode === null && daemon.signalCode === null) {
      console.error('docker test: dockerd did not stop after SIGTERM; killing it');
      daemon.kill('SIGKILL');
    }
  }
  if (networking) removeDockerNetworking();
  if (mode.ownBridge) spawnSync('ip', ['link', 'del', mode.ownBridge]);
  // dockerd makes its data root a mount of its own; one stopped while it starts may leave it behind.
  const mounts = hostMountsUnder(dir).map((l) => l.split(' ')[4]).reverse();
  if (mounts.length) console.error(`docker test: mounts left under ${dir}, unmounted: ${mounts.join(' ')}`);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  fs.rmSync(dir, { recursive: true, force: true });
  if (systemdRuns) spawnSync('systemctl', ['stop', cgroupParent]);
  else
    for (const c of fs.readdirSync('/sys/fs/cgroup')) {
      const d = path.join('/sys/fs/cgroup', c, cgroupParent);
      if (fs.existsSync(d)) try { fs.rmdirSync(d); } catch { /* still in use: the failing test shows why */ }
    }
  for (const d of hostDirs) try { fs.rmdirSync(d); } catch { /* not empty: not only ours */ }
  releaseHostDirs?.();
});

t.test('docker info and version: ocirun is the default runtime, with its version and commit', async (t) => {
  const info = JSON.parse(ok(['info', '--format', '{{json .}}']));
  t.equal(info.DefaultRuntime, 'ocirun');
  t.equal(info.CgroupDriver, systemdRuns ? 'systemd' : 'cgroupfs', "dockerd's cgroup driver, which ocirun follows");
  t.equal(info.Runtimes.ocirun.path, bin);
  const components = JSON.parse(ok(['version', '--format', '{{json .Server.Components}}']));
  const ours = components.find((c) => c.Name === 'ocirun');
  t.equal(ours?.Version, JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version, 'dockerd read ocirun --version');
  t.match(ours?.Details?.GitCommit, /^[0-9a-f]{40}/, 'and its commit');
});

t.test('run --rm: output, exit status, a real terminal', async (t) => {
  t.equal(ok(['run', '--rm', image, 'echo', 'hello from ocirun']), 'hello from ocirun\n');
  t.equal(docker(['run', '--rm', image, 'sh', '-c', 'exit 7']).status, 7);
  const tty = inTerminal(['run', '--rm', '-it', image, 'sh', '-c', 'tty; exit 3']);
  t.equal(tty.status, 3, '-it: the exit status');
  t.match(tty.stdout, /^\/dev\/pts\/\d+\n/, 'a terminal inside');
  t.equal(ok(['ps', '--all', '--quiet']), '', 'nothing left');
});

t.test('-d, logs, exec, exec -it, top, stats, pause, update, kill -s, restart, rm -f', async (t) => {
  ok(['run', '-d', '--name', 'd1', image, 'sh', '-c', 'echo started; trap "echo got USR1" USR1; while true; do sleep 0.2; done']);
  t.teardown(() => docker(['rm', '-f', 'd1']));
  t.equal(inspect('d1', '{{.State.Status}}'), 'running');
  await waitFor(() => ok(['logs', 'd1']) === 'started\n');
  t.equal(ok(['exec', 'd1', 'sh', '-c', 'echo $((6*7))']), '42\n');
  const tty = inTerminal(['exec', '-it', 'd1', 'sh', '-c', 'tty; exit 5']);
  t.equal(tty.status, 5, 'exec -it: the exit status');
  t.match(tty.stdout, /\/dev\/pts\/\d+/);
  t.match(ok(['top', 'd1']), /sh -c echo started/, 'top lists the processes');
  t.match(ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'd1']), /^d1 [1-9]/, 'stats reads the cgroup');
  ok(['pause', 'd1']);
  t.equal(inspect('d1', '{{.State.Status}}'), 'paused');
  ok(['unpause', 'd1']);
  t.equal(inspect('d1', '{{.State.Status}}'), 'running');
  ok(['update', '--memory', '96m', '--memory-swap', '96m', 'd1']);
  t.equal(ok(['exec', 'd1', 'sh', '-c', cgroupRead('memory/memory.limit_in_bytes', 'memory.max')]).trim(), String(96 << 20), 'update reaches the cgroup');
  ok(['kill', '-s', 'USR1', 'd1']);
  await waitFor(() => ok(['logs', 'd1']).includes('got USR1'));
  t.pass('kill -s: the signal reached the process');
  const before = inspect('d1', '{{.State.Pid}}');
  ok(['restart', '--time', '1', 'd1']);
  t.equal(inspect('d1', '{{.State.Status}}'), 'running');
  t.not(inspect('d1', '{{.State.Pid}}'), before, 'restart: a new process');
  ok(['rm', '-f', 'd1']);
  t.equal(docker(['container', 'inspect', 'd1']).status, 1, 'removed');
});

onHost('stop: TERM, then KILL once the timeout passes', async (t) => {
  ok(['run', '-d', '--name', 's1', image, 'sh', '-c', 'trap "" TERM; while true; do sleep 0.2; done']);
  t.teardown(() => docker(['rm', '-f', 's1']));
  const started = Date.now();
  ok(['stop', '--time', '1', 's1']);
  t.ok(Date.now() - started >= 1000, 'it waited for the timeout');
  t.equal(inspect('s1', '{{.State.ExitCode}}'), '137', 'then SIGKILL');
});

onHost('--restart on-failure:2 restarts twice; a health check reaches healthy', async (t) => {
  ok(['run', '-d', '--name', 'r1', '--restart', 'on-failure:2', image, 'sh', '-c', 'exit 3']);
  t.teardown(() => docker(['rm', '-f', 'r1']));
  await waitFor(() => inspect('r1', '{{.RestartCount}} {{.State.Status}}') === '2 exited', 30_000);
  t.equal(inspect('r1', '{{.State.ExitCode}}'), '3');
  ok(['run', '-d', '--name', 'h1', '--health-cmd', 'test -e /tmp/ready', '--health-interval', '1s', image, 'sh', '-c', 'touch /tmp/ready; exec sleep 1000']);
  t.teardown(() => docker(['rm', '-f', 'h1']));
  await waitFor(() => inspect('h1', '{{.State.Health.Status}}') === 'healthy', 30_000);
  t.pass('healthy: the check ran through ocirun exec');
});

onHost('security through ocirun: the default seccomp profile, capabilities, read-only root, volumes, user', async (t) => {
  const blocked = docker(['run', '--rm', image, 'unshare', '-U', 'true']);
  t.not(blocked.status, 0, "Docker's default profile blocks unshare");
  t.match(blocked.stderr + blocked.stdout, /Operation not permitted/);
  t.equal(ok(['run', '--rm', '--security-opt', 'seccomp=unconfined', image, 'sh', '-c', 'grep Seccomp: /proc/self/status']), 'Seccomp:\t0\n', 'unconfined lifts it');
  t.equal(ok(['run', '--rm', image, 'sh', '-c', 'grep Seccomp: /proc/self/status']), 'Seccomp:\t2\n', 'filtered by default');
  t.equal(ok(['run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE', image, 'sh', '-c', 'grep CapEff /proc/self/status']),
    'CapEff:\t0000000000000400\n', '--cap-drop ALL --cap-add NET_BIND_SERVICE');
  const ro = docker(['run', '--rm', '--read-only', '--tmpfs', '/run', image, 'sh', '-c', 'touch /run/ok && echo tmpfs ok; touch /x']);
  t.equal(ro.stdout, 'tmpfs ok\n');
  t.match(ro.stderr, /Read-only file system/, '--read-only: the root refuses writes');
  const vol = path.join(dir, 'vol');
  fs.mkdirSync(vol, { recursive: true });
  fs.writeFileSync(path.join(vol, 'f'), 'from the host\n');
  t.equal(ok(['run', '--rm', '-v', `${vol}:/data`, image, 'sh', '-c', 'cat /data/f; echo back > /data/g']), 'from the host\n', '-v: the host directory');
  t.equal(fs.readFileSync(path.join(vol, 'g'), 'utf8'), 'back\n', 'and writes reach the host');
  t.equal(ok(['run', '--rm', '--user', '1234:5678', image, 'sh', '-c', 'echo $(id -u):$(id -g)']), '1234:5678\n', '--user');
});

t.test('resources through ocirun: memory, pids, cpus, ulimit, device, init', async (t) => {
  const out = ok(['run', '--rm', '--memory', '64m', '--pids-limit', '50', '--cpus', '0.5', image, 'sh', '-c',
    `${cgroupRead('memory/memory.limit_in_bytes', 'memory.max')}; ${cgroupRead('pids/pids.max', 'pids.max')}; ` +
    `${cgroupRead('cpu/cpu.cfs_quota_us', 'cpu.max')}`]);
  t.match(out, /^67108864\n50\n50000( 100000)?\n$/, 'memory, pids and cpu quota, seen in the container');
  t.equal(ok(['run', '--rm', '--ulimit', 'nofile=512:1024', image, 'sh', '-c', 'ulimit -n; ulimit -Hn']), '512\n1024\n', '--ulimit');
  t.equal(ok(['run', '--rm', '--device', '/dev/null:/dev/xnull', image, 'sh', '-c', 'echo x > /dev/xnull && ls -l /dev/xnull | cut -c1']), 'c\n', '--device');
  t.match(ok(['run', '--rm', '--init', image, 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline']), /docker-init -- sh/, "--init: Docker's tini is pid 1");
});

onHost("docker build (20.10's own builder): each RUN step is a container on ocirun; the image runs", async (t) => {
  const ctx = path.join(dir, 'build');
  fs.mkdirSync(ctx);
  // The step lasts long enough for the test to see it in ocirun's state root, where the shim keeps it.
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${image}\nRUN echo built-on-ocirun > /built && sleep 3\n`);
  const stateRoot = path.join(dir, 'exec', 'runtime-runc', 'moby');
  const build = spawn('/usr/bin/docker', ['build', '--network', 'none', '-t', 'ocirun-built:1', ctx], { env: { ...env, DOCKER_BUILDKIT: '0' } });
  let out = '';
  build.stdout.on('data', (d) => (out += d));
  build.stderr.on('data', (d) => (out += d));
  const done = new Promise((resolve) => build.on('close', resolve));
  t.teardown(() => docker(['rmi', '-f', 'ocirun-built:1']));
  const seen = new Set();
  await waitFor(() => {
    const r = spawnSync(bin, ['--root', stateRoot, 'list', '--quiet'], { encoding: 'utf8' });
    for (const id of r.stdout.split('\n').filter(Boolean)) seen.add(id);
    const step = /Running in ([0-9a-f]{12})/.exec(out)?.[1];
    return step && [...seen].some((id) => id.startsWith(step));
  }, 60_000);
  t.pass('the RUN step\'s container is in ocirun\'s state, listed by ocirun');
  const code = await done;
  t.equal(code, 0, code === 0 ? 'the build succeeded' : out);
  t.equal(ok(['run', '--rm', 'ocirun-built:1', 'cat', '/built']), 'built-on-ocirun\n', 'the built image runs');
});

onHost("bad input: docker shows ocirun's error", async (t) => {
  const missing = docker(['run', '--rm', image, 'nosuchcommand']);
  t.equal(missing.status, 127, 'a command that does not exist: 127');
  t.match(missing.stderr, /exec: "nosuchcommand": executable file not found in \$PATH/);
  const over = Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8')) + 1;
  const bad = docker(['run', '--rm', '--ulimit', `nofile=${over}:${over}`, image, 'true']);
  t.not(bad.status, 0);
  t.match(bad.stderr, /rlimits: setrlimit RLIMIT_NOFILE: Operation not permitted/, 'the step, the syscall and the limit, through dockerd');
  t.equal(ok(['ps', '--all', '--quiet']), '', 'nothing left');
});

onHost.comment();
if (!networking) t.comment(`dockerd runs with ${mode.args.slice(0, 2).join(' ')} and no iptables: ${mode.why}; the networking tests and docker-compose are not defined`);
else {
  t.test('networking: a published port reached from the host; a user-defined network resolves names', async (t) => {
    const serve = (text) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`;
    const port = 18000 + (process.pid % 1000);
    ok(['run', '-d', '--name', 'pub', '-p', `127.0.0.1:${port}:80`, image, 'sh', '-c', serve('published')]);
    t.teardown(() => docker(['rm', '-f', 'pub']));
    const get = () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text()).catch(() => '');
    await waitFor(async () => (await get()) === 'published\n', 15_000);
    t.pass('the host fetched the container\'s page through -p 127.0.0.1:PORT:80');
    ok(['network', 'create', 'ocinet']);
    t.teardown(() => docker(['network', 'rm', 'ocinet']));
    ok(['run', '-d', '--name', 'web', '--network', 'ocinet', image, 'sh', '-c', serve('by-name')]);
    t.teardown(() => docker(['rm', '-f', 'web']));
    // Bounded (~20 s): a name that never resolves fails here, with the test's own teardown, rather than at the
    // file's timeout, which leaves dockerd and its network behind.
    const fetched = docker(['run', '--rm', '--network', 'ocinet', image, 'sh', '-c',
      'i=0; until wget -qO- http://web/; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.2; done']);
    t.equal(fetched.stdout, 'by-name\n', `a second container reached the first by its name ${fetched.stderr}`);
  });

  t.test('docker-compose: two services, one fetching from the other by service name; ps, logs, down', async (t) => {
    const project = path.join(dir, 'compose');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'docker-compose.yml'), [
      'version: "3"',
      'services:',
      '  web:',
      `    image: ${image}`,
      "    command: sh -c 'mkdir -p /www && echo hello-compose > /www/index.html && exec httpd -f -p 80 -h /www'",
      '  client:',
      `    image: ${image}`,
      "    command: sh -c 'until wget -qO- http://web/; do sleep 0.2; done; exec sleep 1000'",
      '    depends_on: [web]',
      '',
    ].join('\n'));
    const compose = (...args) => spawnSync('docker-compose', ['-p', 'ocitest', ...args], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
    t.teardown(() => compose('down', '--timeout', '1'));
    const up = compose('up', '-d');
    t.equal(up.status, 0, up.stderr);
    const ps = compose('ps');
    t.match(ps.stdout, /ocitest_web_1 .* Up/, 'web is up');
    t.match(ps.stdout, /ocitest_client_1 .* Up/, 'client is up');
    t.equal(inspect('ocitest_web_1', '{{.HostConfig.Runtime}}'), 'ocirun', 'on ocirun');
    await waitFor(() => compose('logs', 'client').stdout.includes('hello-compose'), 20_000);
    t.pass('the client fetched from web by service name');
    const down = compose('down', '--timeout', '1');
    t.equal(down.status, 0, down.stderr);
    t.equal(ok(['ps', '--all', '--quiet']), '', 'down removed the containers');
    t.notMatch(ok(['network', 'ls', '--format', '{{.Name}}']), /ocitest_default/, 'and the network');
  });
}
