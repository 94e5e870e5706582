// containerd, from Debian's packages, started by this test on a private socket, root and state, with its runc
// v2 shim told to use ocirun as the runtime binary (`ctr run --runc-binary`, which sets the shim's
// BinaryName). The image is an OCI archive the test builds from the busybox rootfs.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { bin, fs, os, path, repo, waitFor } from './helpers.mjs';
import { Containerd, containerdConfig } from './helpers/containerd.mjs';
import { CriClient, decode, str } from './cri-client.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-containerd-'));
const ns = `ocirun-test-${process.pid}`; // the shim keeps runtime state in /run/containerd/runc/<namespace>
const image = 'localhost/ocirun-test:1';
const runtimeRoot = `/run/containerd/runc/${ns}`;
// The host directories containerd and its shims make outside the private paths: removed at the end if this
// file made them (and they are empty). Found once this file's daemon may run (t.before).
let hostDirs = [];
const cgroupDirs = () => fs.readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/${ns}`).filter((d) => fs.existsSync(d));

const systemdRuns = fs.existsSync('/run/systemd/system');

/** A RuntimeClass block of docs/containerd.md, exactly, with BinaryName pointing at this checkout. */
function documentedRuntimeConfig(marker = 'containerd-runtime-config') {
  const doc = fs.readFileSync(path.join(repo, 'docs', 'containerd.md'), 'utf8');
  const block = new RegExp(`<!-- ${marker} -->\\n\`\`\`toml\\n([\\s\\S]*?)\`\`\``).exec(doc)[1];
  const withBin = block.replace('BinaryName = "/usr/local/bin/ocirun"', `BinaryName = "${bin}"`);
  if (withBin === block) throw new Error('docs/containerd.md: the BinaryName line changed; update this test');
  return withBin;
}

// Private paths, a local sandbox image (no registry here) and no CNI (the pod uses the host's network); the
// documented blocks beside the stock runc runtime, as on a real node.
fs.writeFileSync(path.join(dir, 'config.toml'), containerdConfig(dir, `${documentedRuntimeConfig()}
${systemdRuns ? documentedRuntimeConfig('containerd-runtime-config-systemd') : ''}`));
const containerd = new Containerd(dir);
const sock = containerd.sock;
const ctr = (args, opts) => containerd.ctr(ns, args, opts);
const ok = (args, opts) => containerd.ok(ns, args, opts);
const run = (args) => ['run', '--fifo-dir', path.join(dir, 'fifo'), '--runc-binary', bin, ...args];
const taskStatus = (id) => ok(['task', 'ls']).split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[2];

t.before(async () => {
  await containerd.acquire();
  hostDirs = ['/run/containerd/s', `/run/containerd/runc/${ns}`, '/run/containerd/runc/k8s.io', '/run/containerd/runc', '/run/containerd']
    .filter((d) => !fs.existsSync(d));
  await containerd.start();
  containerd.importImages(ns, image, repo);
});

t.teardown(async () => {
  // Tasks first (their shims exit with them), then the containers, the images and the daemon this test started.
  await containerd.destroy([ns, 'k8s.io']);
  fs.rmSync(runtimeRoot, { recursive: true, force: true });
  // ctr puts a namespace's containers below the cgroup /<namespace>: ocirun made it, each container's own
  // delete left it (another container was still in it then).
  for (const d of cgroupDirs()) fs.rmdirSync(d);
  for (const d of hostDirs) try { fs.rmdirSync(d); } catch { /* not empty: not only ours */ }
  containerd.release();
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
  t.equal(ok(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '--exec-id', 'e1', 'c3', 'sh', '-c', 'echo $((6*7))']), '42\n');
  ok(['task', 'exec', '--fifo-dir', path.join(dir, 'fifo'), '-d', '--exec-id', 'e2', 'c3', 'sleep', '999']);
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

/**
 * A pod and its container through the CRI API, on a handler of the documented config: output, ExecSync, the
 * pod log, stop and removal. `cgroupParent`: the pod's slice, as kubelet's systemd cgroup driver names it.
 */
async function runPod(t, handler, cgroupParent) {
  const cri = new CriClient(sock);
  t.teardown(() => cri.close());
  const version = await cri.runtime('Version', { 1: 'v1' });
  t.equal(str(version, 2), 'containerd', 'the CRI plugin answers');
  const logs = fs.mkdtempSync(path.join(dir, 'pod-logs-'));
  const NODE = 2; // NamespaceMode: the host's network, so that no CNI plugin is needed
  const podConfig = {
    1: { 1: `hello-${handler}`, 2: `uid-${handler}`, 3: 'default', 4: 0 }, // metadata: name, uid, namespace, attempt
    3: logs, // log_directory
    8: { ...(cgroupParent ? { 1: cgroupParent } : {}), 2: { 1: { 1: NODE } } }, // linux: cgroup_parent, namespace_options.network
  };
  const pod = str(await cri.runtime('RunPodSandbox', { 1: podConfig, 2: handler }), 1);
  t.teardown(async () => {
    await cri.runtime('StopPodSandbox', { 1: pod }).catch(() => {});
    await cri.runtime('RemovePodSandbox', { 1: pod }).catch(() => {});
  });
  t.equal(JSON.parse(execFileSync(bin, ['--root', '/run/containerd/runc/k8s.io', 'state', pod], { encoding: 'utf8' })).status,
    'running', 'the sandbox container runs on ocirun');
  const created = await cri.runtime('CreateContainer', {
    1: pod,
    2: { 1: { 1: 'hello', 2: 0 }, 2: { 1: 'localhost/ocirun-test:1' }, 3: ['sh', '-c', 'echo hello from a pod; exec sleep 1000'], 11: 'hello.log' },
    3: podConfig,
  });
  const id = str(created, 1);
  await cri.runtime('StartContainer', { 1: id });
  const status = decodeStatus(await cri.runtime('ContainerStatus', { 1: id }));
  t.equal(status.state, 1, 'CONTAINER_RUNNING');
  const st = JSON.parse(execFileSync(bin, ['--root', '/run/containerd/runc/k8s.io', 'state', id], { encoding: 'utf8' }));
  t.equal(st.status, 'running', 'the container runs on ocirun');
  const exec = await cri.runtime('ExecSync', { 1: id, 2: ['sh', '-c', 'echo $((6*7)); exit 3'], 3: 10 });
  t.equal(str(exec, 1), '42\n', 'ExecSync (an ocirun exec): its output');
  t.equal(exec[3]?.[0], 3, 'and its exit code');
  await waitFor(() => fs.existsSync(path.join(logs, 'hello.log')) && /stdout F hello from a pod/.test(fs.readFileSync(path.join(logs, 'hello.log'), 'utf8')));
  t.pass('the container\'s output is in the pod log');
  const inCgroup = fs.readFileSync(`/proc/${st.pid}/cgroup`, 'utf8').trim();
  await cri.runtime('StopContainer', { 1: id, 2: 1 });
  t.equal(decodeStatus(await cri.runtime('ContainerStatus', { 1: id })).state, 2, 'CONTAINER_EXITED');
  await cri.runtime('RemoveContainer', { 1: id });
  await cri.runtime('StopPodSandbox', { 1: pod });
  await cri.runtime('RemovePodSandbox', { 1: pod });
  t.notOk(fs.existsSync(`/run/containerd/runc/k8s.io/${id}`), 'ocirun\'s state is gone with the container');
  return { id, pod, inCgroup };
}

t.test('Kubernetes: a pod with runtime_handler "ocirun", through the CRI API and the documented config', async (t) => {
  await runPod(t, 'ocirun');
});

// Kubernetes' default on systemd hosts: the handler with SystemdCgroup = true, a pod slice as cgroup parent.
if (systemdRuns)
  t.test('Kubernetes with SystemdCgroup = true: the container\'s scope in its pod\'s slice, gone with it', async (t) => {
    const slice = 'kubepods-besteffort-poduidocirun.slice';
    t.teardown(() => spawnSync('systemctl', ['stop', slice, 'kubepods-besteffort.slice', 'kubepods.slice']));
    const { id, inCgroup } = await runPod(t, 'ocirun-systemd', slice);
    const unit = `cri-containerd-${id}.scope`;
    t.equal(inCgroup, `0::/kubepods.slice/kubepods-besteffort.slice/${slice}/${unit}`, 'the container ran in its scope');
    t.equal(spawnSync('systemctl', ['list-units', '--all', '--plain', '--no-legend', unit], { encoding: 'utf8' }).stdout.trim(), '', 'no unit left');
  });

/** ContainerStatusResponse.status: the state (0 CREATED, 1 RUNNING, 2 EXITED; a proto3 zero is absent). */
function decodeStatus(resp) {
  const s = decode(resp[1][0]);
  return { state: s[3]?.[0] ?? 0, exitCode: s[7]?.[0] ?? 0 };
}
