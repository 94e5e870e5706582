// podman (with conmon), from Debian's packages, running its containers on ocirun: a private storage and
// state under this test's own directory, ocirun named in a test containers.conf (with runtime_supports_json,
// so podman asks for JSON error logs), an image imported from the busybox rootfs the tests build.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { bin, fs, os, path, repo } from './helpers.mjs';
import { inTerminal as onPty } from './helpers/terminal.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-podman-'));
const image = 'localhost/ocirun-test:1';
fs.writeFileSync(path.join(dir, 'containers.conf'), `
[containers]
# The host's NOFILE hard limit is 20000 and CAP_SYS_RESOURCE is not in its bounding set: podman's default
# nofile of 1048576 cannot be granted by any runtime here.
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"
[engine]
runtime = "ocirun"
runtime_supports_json = ["ocirun"]
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
ocirun = ["${bin}"]
[network]
# podman's network lock and configs: private too (the host's /etc/containers is read-only in the v2 guest).
network_config_dir = "${path.join(dir, 'networks')}"
`);
// podman puts conmon in the cgroup /libpod_parent/conmon and the containers below /libpod_parent: removed at
// the end when this test made them, left alone when they were there before.
const podmanCgroups = () =>
  fs.readdirSync('/sys/fs/cgroup').flatMap((c) => [`/sys/fs/cgroup/${c}/libpod_parent/conmon`, `/sys/fs/cgroup/${c}/libpod_parent`]);
const cgroupsBefore = new Set(podmanCgroups().filter((d) => fs.existsSync(d)));
// Outside the private paths: podman's runtime state root for ocirun, and containers/image's blob cache.
const hostPaths = ['/run/ocirun', '/var/lib/containers'].filter((d) => !fs.existsSync(d));
const env = { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf') };
const base = ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), '--storage-driver', 'vfs'];

/**
 * podman with the private state; { status, stdout, stderr }. It runs in the test's directory: conmon writes a
 * file `oom` into its working directory when its container is OOM-killed (left in the checkout before).
 */
function podman(args, opts = {}) {
  const r = spawnSync('podman', [...base, ...args], { env, cwd: dir, encoding: 'utf8', timeout: 60_000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(args, opts) {
  const r = podman(args, opts);
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
/** A command under a real terminal; its exit status is the command's. */
function inTerminal(command) {
  const r = onPty(['podman', ...base, ...command].map((a) => `'${a}'`).join(' '), { env, cwd: dir });
  return { status: r.status, stdout: r.out };
}

t.teardown(() => {
  const rm = podman(['rm', '--all', '--force', '--time', '0']);
  const left = podman(['ps', '--all', '--quiet']).stdout.trim();
  if (left) {
    // Say so loudly, then take down what this test started: ocirun's containers whose bundle is in our
    // directory, and the conmon processes watching them (found by that directory in their command line).
    console.error(`podman test: containers left after "podman rm --all --force": ${left}\n${rm.stderr}`);
    for (const id of fs.existsSync('/run/ocirun') ? fs.readdirSync('/run/ocirun') : []) {
      const st = spawnSync(bin, ['--root', '/run/ocirun', 'state', id], { encoding: 'utf8' });
      if (st.status === 0 && JSON.parse(st.stdout).bundle.startsWith(dir)) spawnSync(bin, ['--root', '/run/ocirun', 'delete', '--force', id]);
    }
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)))
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.startsWith('/usr/bin/conmon') && cmd.includes(dir)) process.kill(Number(pid), 'SIGKILL');
      } catch { /* gone */ }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  // The runtime's state root only if empty: a container left there must stay visible (and deletable).
  for (const d of hostPaths) try { d === '/var/lib/containers' ? fs.rmSync(d, { recursive: true, force: true }) : fs.rmdirSync(d); } catch { /* not empty */ }
  for (const d of podmanCgroups()) if (!cgroupsBefore.has(d) && fs.existsSync(d)) try { fs.rmdirSync(d); } catch { /* in use */ }
});

t.before(() => {
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), rootfs]);
  execFileSync('tar', ['-C', rootfs, '-cf', path.join(dir, 'rootfs.tar'), '.']);
  ok(['import', path.join(dir, 'rootfs.tar'), image]);
});

t.test('podman uses ocirun', async (t) => {
  t.equal(ok(['info', '--format', '{{.Host.OCIRuntime.Name}}']).trim(), 'ocirun');
  t.equal(ok(['info', '--format', '{{.Host.OCIRuntime.Path}}']).trim(), bin);
});

t.test('run --rm: output and exit status', async (t) => {
  t.equal(ok(['run', '--rm', image, 'echo', 'hello from ocirun']), 'hello from ocirun\n');
  t.equal(podman(['run', '--rm', image, 'sh', '-c', 'exit 7']).status, 7);
  t.equal(ok(['ps', '--all', '--quiet']), '', 'nothing left');
});

t.test('run -d, exec, exec -t, logs, stop, rm', async (t) => {
  ok(['run', '-d', '--name', 'c1', image, 'sh', '-c', 'echo started; exec sleep 1000']);
  t.teardown(() => podman(['rm', '-f', '-t', '0', 'c1']));
  t.equal(ok(['inspect', '--format', '{{.OCIRuntime}} {{.State.Status}}', 'c1']).trim(), 'ocirun running');
  t.equal(ok(['exec', 'c1', 'sh', '-c', 'echo $((6*7)); cat /proc/1/cmdline | tr "\\0" " "']).trim(), '42\nsleep 1000');
  const tty = inTerminal(['exec', '-it', 'c1', 'sh', '-c', 'tty; exit 5']);
  t.equal(tty.status, 5, 'exec -t: the exit status comes back');
  t.match(tty.stdout, /\/dev\/pts\/\d+\n/, 'a terminal inside');
  t.equal(ok(['logs', 'c1']), 'started\n');
  ok(['stop', '--time', '1', 'c1']);
  t.equal(ok(['inspect', '--format', '{{.State.Status}}', 'c1']).trim(), 'exited');
  ok(['rm', 'c1']);
  // container inspect: a plain inspect also matches an image whose id happens to begin with "c1".
  t.equal(podman(['container', 'inspect', 'c1']).status, 125, 'removed');
});

t.test('run --memory and --pids-limit: in effect in the container', async (t) => {
  const out = ok(['run', '--rm', '--memory', '64m', '--pids-limit', '50', image, 'sh', '-c',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max']);
  t.equal(out, '67108864\n50\n', 'the limits, seen in the container\'s own cgroups');
  const strayBefore = fs.existsSync('oom');
  const hog = podman(['run', '--rm', '--memory', '32m', '--memory-swap', '32m', image, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
  t.equal(hog.status, 137, 'a memory hog is OOM-killed');
  t.ok(strayBefore || !fs.existsSync('oom'), "conmon's oom file is left in the test's directory, not in the caller's");
});

t.test('pause and unpause', async (t) => {
  ok(['run', '-d', '--name', 'c2', image, 'sleep', '1000']);
  t.teardown(() => podman(['rm', '-f', '-t', '0', 'c2']));
  ok(['pause', 'c2']);
  t.equal(ok(['inspect', '--format', '{{.State.Status}}', 'c2']).trim(), 'paused');
  ok(['unpause', 'c2']);
  t.equal(ok(['inspect', '--format', '{{.State.Status}}', 'c2']).trim(), 'running');
  t.equal(ok(['exec', 'c2', 'echo', 'alive']), 'alive\n');
});

t.test('a failing command: the runtime\'s error reaches the user intact', async (t) => {
  const r = podman(['run', '--rm', image, 'nosuchcommand']);
  t.equal(r.status, 127, 'podman\'s status for a command not found');
  t.match(r.stderr, /exec: "nosuchcommand": executable file not found in \$PATH/);
  // A nofile limit above the kernel's fs.nr_open: no privilege grants it, and only the runtime finds out.
  const over = Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8')) + 1;
  const bad = podman(['run', '--rm', '--ulimit', `nofile=${over}:${over}`, image, 'true']);
  t.equal(bad.status, 126);
  t.match(bad.stderr, /ocirun: rlimits: setrlimit RLIMIT_NOFILE: Operation not permitted/, 'the step, the syscall, the limit and errno, through podman');
  t.equal(ok(['ps', '--all', '--quiet']), '', 'nothing left');
});

t.test('run -it through a real terminal', async (t) => {
  const r = inTerminal(['run', '-it', '--rm', image, 'sh', '-c', 'tty; exit 3']);
  t.equal(r.status, 3, 'the exit status');
  t.match(r.stdout, /^\/dev\/pts\/0\n/);
});

t.test('podman build --runtime ocirun: the RUN steps run on ocirun (its own log says so), and the image runs', async (t) => {
  const ctx = path.join(dir, 'build');
  fs.mkdirSync(ctx);
  fs.writeFileSync(path.join(ctx, 'Containerfile'), `FROM ${image}\nRUN echo built-on-ocirun > /built && echo step two >> /built\n`);
  const log = path.join(dir, 'build-ocirun.log');
  ok(['build', '--runtime', bin, '--runtime-flag', 'debug', '--runtime-flag', `log=${log}`, '--network', 'none', '-t', 'localhost/ocirun-built:1', ctx]);
  t.teardown(() => podman(['rmi', '-f', 'localhost/ocirun-built:1']));
  const lines = fs.readFileSync(log, 'utf8');
  t.match(lines, /msg="ocirun --debug --log=\S+ create --bundle \S*buildah\S* /, "buildah's RUN step: ocirun create, in ocirun's log");
  t.match(lines, /msg="ocirun --debug --log=\S+ start buildah-/, 'and start');
  t.equal(ok(['run', '--rm', 'localhost/ocirun-built:1', 'cat', '/built']), 'built-on-ocirun\nstep two\n', 'the built image runs on ocirun');
});

// podman's default cgroup manager on systemd hosts: it passes --systemd-cgroup and "machine.slice:libpod:<id>",
// and puts conmon in a scope of its own. Only where systemd runs (the cgroup v2 guest).
if (fs.existsSync('/run/systemd/system'))
  t.test('cgroup_manager = "systemd": run, exec, limits, stop, rm; the scope is the container\'s cgroup and goes with it', async (t) => {
    const sd = ['--cgroup-manager', 'systemd'];
    const id = ok([...sd, 'run', '-d', '--name', 'sd1', '--memory', '64m', '--pids-limit', '40', image, 'sleep', '1000']).trim();
    t.teardown(() => podman([...sd, 'rm', '-f', '-t', '0', 'sd1']));
    const unit = `libpod-${id}.scope`;
    const pid = Number(ok([...sd, 'inspect', '--format', '{{.State.Pid}}', 'sd1']).trim());
    t.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim(), `0::/machine.slice/${unit}`, 'the container runs in its scope');
    const show = spawnSync('systemctl', ['show', unit, '-p', 'ActiveState', '-p', 'Delegate', '-p', 'MemoryMax', '-p', 'TasksMax'], { encoding: 'utf8' }).stdout;
    t.equal(show.trim().split('\n').sort().join(' '), 'ActiveState=active Delegate=yes MemoryMax=67108864 TasksMax=40');
    t.equal(ok([...sd, 'exec', 'sd1', 'cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max']), '67108864\n40\n');
    ok([...sd, 'stop', '--time', '1', 'sd1']);
    ok([...sd, 'rm', 'sd1']);
    const left = spawnSync('systemctl', ['list-units', '--all', '--plain', '--no-legend', unit], { encoding: 'utf8' }).stdout.trim();
    t.equal(left, '', 'no unit left');
    t.notOk(fs.existsSync(`/sys/fs/cgroup/machine.slice/${unit}`), 'no cgroup left');
  });
