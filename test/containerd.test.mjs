// containerd, from Debian's packages, started by this test on a private socket, root and state, with its runc
// v2 shim told to use ocirun as the runtime binary (`ctr run --runc-binary`, which sets the shim's
// BinaryName). The image is an OCI archive the test builds from the busybox rootfs.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { bin, fs, os, path, repo, waitFor } from './helpers.mjs';
import { buildOciArchive } from './oci-image.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-containerd-'));
const sock = path.join(dir, 'containerd.sock');
const ns = `ocirun-test-${process.pid}`; // the shim keeps runtime state in /run/containerd/runc/<namespace>
const image = 'localhost/ocirun-test:1';
const runtimeRoot = `/run/containerd/runc/${ns}`;
let daemon;

fs.writeFileSync(path.join(dir, 'config.toml'), `
version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
`);

function ctr(args, opts = {}) {
  const r = spawnSync('ctr', ['--address', sock, '--namespace', ns, ...args], { encoding: 'utf8', timeout: 60_000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(args, opts) {
  const r = ctr(args, opts);
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const run = (args) => ['run', '--runc-binary', bin, ...args];
const taskStatus = (id) => ok(['task', 'ls']).split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[2];

t.before(async () => {
  const log = fs.openSync(path.join(dir, 'containerd.log'), 'w');
  daemon = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
  await waitFor(() => fs.existsSync(sock) && spawnSync('ctr', ['--address', sock, 'version']).status === 0, 20_000);
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), rootfs]);
  buildOciArchive(rootfs, path.join(dir, 'image.tar'), image);
  ok(['image', 'import', path.join(dir, 'image.tar')]);
});

t.teardown(async () => {
  // Tasks first (their shims exit with them), then the containers, then the daemon this test started.
  for (const id of ctr(['task', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    ctr(['task', 'rm', '-f', id]);
  }
  for (const id of ctr(['container', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ctr(['container', 'rm', id]);
  for (const img of ctr(['image', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ctr(['image', 'rm', img]);
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(dir));
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(runtimeRoot, { recursive: true, force: true });
});

t.test('ctr run --rm: output and exit status', async (t) => {
  t.equal(ok(run(['--rm', image, 'c1', 'echo', 'hello from ocirun'])), 'hello from ocirun\n');
  const r = ctr(run(['--rm', image, 'c2', 'sh', '-c', 'exit 4']));
  t.equal(r.status, 4);
  t.equal(ok(['container', 'ls', '-q']), '', 'nothing left');
});

t.test('a running task: ocirun keeps its state; task exec, ps, pause, resume, kill', async (t) => {
  ok(run(['-d', image, 'c3', 'sleep', '1000']));
  const st = JSON.parse(execFileSync(bin, ['--root', runtimeRoot, 'state', 'c3'], { encoding: 'utf8' }));
  t.equal(st.status, 'running', 'the shim created it with ocirun (ocirun reads its own state)');
  t.equal(ok(['task', 'exec', '--exec-id', 'e1', 'c3', 'sh', '-c', 'echo $((6*7))']), '42\n');
  ok(['task', 'exec', '-d', '--exec-id', 'e2', 'c3', 'sleep', '999']);
  const ps = ok(['task', 'ps', 'c3']).trim().split('\n').slice(1).map((l) => Number(l.split(/\s+/)[0]));
  t.equal(ps.length, 2, 'task ps: the init and the exec\'d process');
  t.ok(ps.includes(st.pid));
  ok(['task', 'pause', 'c3']);
  t.equal(taskStatus('c3'), 'PAUSED');
  t.equal(JSON.parse(execFileSync(bin, ['--root', runtimeRoot, 'state', 'c3'], { encoding: 'utf8' })).status, 'paused');
  ok(['task', 'resume', 'c3']);
  t.equal(taskStatus('c3'), 'RUNNING');
  ok(['task', 'kill', '-s', 'SIGKILL', 'c3']);
  await waitFor(() => taskStatus('c3') === 'STOPPED', 10_000);
  ok(['task', 'rm', 'c3']);
  ok(['container', 'rm', 'c3']);
  t.notOk(fs.existsSync(path.join(runtimeRoot, 'c3')), 'the shim deleted it through ocirun');
});

t.test('an error path: containerd shows ocirun\'s message', async (t) => {
  const r = ctr(run(['--rm', image, 'c4', 'nosuchcommand']));
  t.not(r.status, 0);
  t.match(r.stderr, /OCI runtime create failed: .*exec: "nosuchcommand": executable file not found in \$PATH/);
  ctr(['container', 'rm', 'c4']);
});
