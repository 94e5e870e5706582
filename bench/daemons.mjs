#!/usr/bin/env node
// Benchmark through the real callers: `podman run --rm`, `ctr run --rm` and `docker run --rm` of one busybox
// image, with ocirun and with Debian's runc as the runtime, alternating so that noise hits both alike. Medians
// and ratios.
// Each daemon gets private state in a temporary directory, removed at the end.
//
//   sudo node bench/daemons.mjs [--runs N]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOciArchive } from '../test/oci-image.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ocirun = path.join(repo, 'bin', 'ocirun');
const runc = '/usr/sbin/runc';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-bench-daemons-'));
const image = 'localhost/ocirun-bench:1';
const ns = `ocirun-bench-${process.pid}`;
// Made outside the private paths by podman (the runtimes' state roots, the blob cache) and the shim: removed at
// the end if this run made them.
const hostPaths = ['/run/ocirun', '/run/runc', '/var/lib/containers', '/run/containerd/s', '/run/containerd/runc', '/run/containerd/ocirun', '/run/containerd']
  .filter((d) => !fs.existsSync(d));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function time(argv, env) {
  const t0 = process.hrtime.bigint();
  // In the private directory: conmon writes a file `oom` into its working directory after an OOM kill.
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: dir });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
function compare(title, cases, env) {
  const samples = cases.map(() => []);
  for (let i = 0; i < runs; i++) cases.forEach(([, argv], k) => samples[k].push(time(argv(i), env)));
  const base = median(samples[0]);
  console.log(`\n${title} (${runs} runs each, alternating; median ms, ratio to ${cases[0][0]})`);
  cases.forEach(([name], k) => console.log(`  ${name.padEnd(10)} ${median(samples[k]).toFixed(1).padStart(8)} ms   x${(median(samples[k]) / base).toFixed(2)}`));
}

const rootfs = path.join(dir, 'rootfs');
execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), rootfs]);
buildOciArchive(rootfs, path.join(dir, 'image.tar'), image);
execFileSync('tar', ['-C', rootfs, '-cf', path.join(dir, 'rootfs.tar'), '.']);
let daemon;
let dockerd;
let bridge;
try {
  // podman, with the same private setup as test/podman.test.mjs.
  fs.writeFileSync(path.join(dir, 'containers.conf'), `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\nnetns = "none"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n[network]\nnetwork_config_dir = "${path.join(dir, 'networks')}"\n`);
  const env = { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf') };
  const pm = ['podman', '--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), '--storage-driver', 'vfs'];
  execFileSync(pm[0], [...pm.slice(1), 'load', '-q', '-i', path.join(dir, 'image.tar')], { env });
  compare('podman run --rm IMAGE true', [
    ['runc', () => [...pm, '--runtime', runc, 'run', '--rm', image, 'true']],
    ['ocirun', () => [...pm, '--runtime', ocirun, 'run', '--rm', image, 'true']],
  ], env);

  // containerd on a private socket: its runc shim told which binary to run, and ocirun's own shim on its PATH.
  const sock = path.join(dir, 'containerd.sock');
  fs.writeFileSync(path.join(dir, 'config.toml'), `version = 2\nroot = "${dir}/croot"\nstate = "${dir}/cstate"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n`);
  fs.mkdirSync(path.join(dir, 'bin'));
  // ocirun's shim as installed: an installed package's bin/containerd-shim-ocirun-v2 is the launcher itself (the
  // checkout's script that finds it costs ~4 ms per call, and containerd calls it at every container).
  fs.symlinkSync(path.join(repo, 'build', 'Release', 'ocirun-launch'), path.join(dir, 'bin', 'containerd-shim-ocirun-v2'));
  const startContainerd = async (env = {}) => {
    daemon = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: 'ignore', env: { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, ...env } });
    for (let i = 0; i < 200 && spawnSync('ctr', ['--address', sock, 'version']).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  };
  await startContainerd();
  const ctr = ['ctr', '--address', sock, '--namespace', ns];
  execFileSync(ctr[0], [...ctr.slice(1), 'image', 'import', path.join(dir, 'image.tar')]);
  const fifo = path.join(dir, 'fifo');
  compare('ctr run --rm IMAGE ID true', [
    ['runc', (i) => [...ctr, 'run', '--rm', '--fifo-dir', fifo, '--runc-binary', runc, image, `r${i}`, 'true']],
    ['ocirun', (i) => [...ctr, 'run', '--rm', '--fifo-dir', fifo, '--runc-binary', ocirun, image, `o${i}`, 'true']],
    ['ocirun-shim', (i) => [...ctr, 'run', '--rm', '--fifo-dir', fifo, '--runtime', 'io.containerd.ocirun.v2', image, `s${i}`, 'true']],
  ]);
  // ocirun's shim as a node with many short-lived containers would run it: one shim per containerd namespace
  // that waits for the next container instead of ending with its last (docs/containerd.md). Its last wait
  // ends with it, before the daemon is stopped.
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  await startContainerd({ OCIRUN_SHIM_GROUP: 'namespace', OCIRUN_SHIM_LINGER: '2' });
  compare('ctr run --rm IMAGE ID true, containerd with OCIRUN_SHIM_GROUP=namespace OCIRUN_SHIM_LINGER=2', [
    ['runc', (i) => [...ctr, 'run', '--rm', '--fifo-dir', fifo, '--runc-binary', runc, image, `lr${i}`, 'true']],
    ['ocirun-shim', (i) => [...ctr, 'run', '--rm', '--fifo-dir', fifo, '--runtime', 'io.containerd.ocirun.v2', image, `ls${i}`, 'true']],
  ]);
  await new Promise((r) => setTimeout(r, 3000)); // the idle shim's linger
  spawnSync(ctr[0], [...ctr.slice(1), 'image', 'rm', image]);
  spawnSync(pm[0], [...pm.slice(1), 'rmi', '-a', '-f'], { env });

  // dockerd on a private socket (its own containerd), both runtimes named, on a bridge of its own without
  // iptables (with --bridge none, dockerd would delete another Docker's docker0).
  bridge = `ocibench${process.pid % 10000}`;
  if (spawnSync('dockerd', ['--version']).status === 0 && spawnSync('ip', ['link', 'add', bridge, 'type', 'bridge']).status === 0) {
    const dsock = path.join(dir, 'docker.sock');
    fs.writeFileSync(path.join(dir, 'daemon.json'), JSON.stringify({ runtimes: { ocirun: { path: ocirun }, 'runc-debian': { path: runc } } }));
    dockerd = spawn('dockerd', ['--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'ddata'), '--exec-root', path.join(dir, 'dexec'),
      '--pidfile', path.join(dir, 'dockerd.pid'), '--host', `unix://${dsock}`, '--storage-driver', 'vfs', '--bridge', bridge, '--iptables=false',
      '--ip6tables=false', '--cgroup-parent', `/${ns}-docker`], { stdio: 'ignore' });
    const denv = { ...process.env, DOCKER_HOST: `unix://${dsock}` };
    for (let i = 0; i < 400 && spawnSync('/usr/bin/docker', ['version'], { env: denv }).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    execFileSync('/usr/bin/docker', ['import', path.join(dir, 'rootfs.tar'), image], { env: denv, stdio: 'ignore' });
    compare('docker run --rm IMAGE true', [
      ['runc', () => ['/usr/bin/docker', 'run', '--rm', '--runtime', 'runc-debian', image, 'true']],
      ['ocirun', () => ['/usr/bin/docker', 'run', '--rm', '--runtime', 'ocirun', image, 'true']],
    ], denv);
  }
} finally {
  for (const d of [daemon, dockerd].filter(Boolean)) {
    d.kill('SIGTERM');
    await new Promise((r) => d.once('exit', r));
  }
  if (bridge) spawnSync('ip', ['link', 'del', bridge]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(`/run/containerd/runc/${ns}`, { recursive: true, force: true });
  fs.rmSync(`/run/containerd/ocirun/${ns}`, { recursive: true, force: true });
  // State roots only when empty: a runtime state dir in use by someone else must never be wiped.
  for (const d of hostPaths) try { d === '/var/lib/containers' ? fs.rmSync(d, { recursive: true, force: true }) : fs.rmdirSync(d); } catch { /* in use */ }
  for (const c of fs.readdirSync('/sys/fs/cgroup')) for (const d of [`${c}/${ns}`, `${c}/${ns}-docker`, `${c}/libpod_parent/conmon`, `${c}/libpod_parent`]) try { fs.rmdirSync(`/sys/fs/cgroup/${d}`); } catch { /* absent or in use */ }
}
