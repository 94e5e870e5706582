// A containerd of a test's (or a benchmark's) own, on private paths in `dir`: its config (the CRI plugin with
// a local sandbox image and no CNI, the stock runc runtime, and the runtimes a caller adds), the daemon
// started and stopped, ctr bound to its socket, the test images imported, and at the end what it and its
// shims left removed. containerd's shims share host directories whatever the daemon's paths (their sockets
// in /run/containerd/s), which each test removes when it made them: two such tests at once would remove
// them under each other's shims, so a daemon of this helper is one at a time (a flock in the run's TMPDIR,
// held from start to destroy, and let go by the kernel if its process dies).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOciArchive } from '../oci-image.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const PAUSE_IMAGE = 'localhost/ocirun-pause:1';

/** The lock file of holdContainerdHostDirs (in the suite's TMPDIR, which test.sh sweeps). */
export const HOST_DIRS_LOCK = path.join(os.tmpdir(), 'ocirun-test-containerd.lock');

/**
 * The host directories of containerd's shims (/run/containerd and its s, runc, ocirun), for one test file at a
 * time: resolves once this process holds them (a flock in the run's TMPDIR), with the function that lets go.
 * Any test whose daemon starts containerd shims (dockerd's own containerd too) takes it.
 */
export async function holdContainerdHostDirs() {
  const { lock } = await import(path.join(repo, 'dist', 'native.js'));
  const fd = fs.openSync(HOST_DIRS_LOCK, 'w');
  await lock(fd);
  return () => fs.closeSync(fd);
}

/** config.toml for `dir`; `runtimes`: TOML of more CRI runtimes, beside the stock runc one, as on a node. */
export function containerdConfig(dir, runtimes = '') {
  const sock = path.join(dir, 'containerd.sock');
  fs.mkdirSync(path.join(dir, 'cni'), { recursive: true });
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This host's bounding set lacks CAP_SYS_RESOURCE: the sandbox's oom_score_adj of -998 cannot be granted (runc
  # fails the same way). containerd's option for such hosts keeps it at containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${dir}/cni"
    conf_dir = "${dir}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
${runtimes}`;
}

/** The daemon of `dir` (its config.toml written first): started, and stopped by stop(). */
export class Containerd {
  constructor(dir, { binDir } = {}) {
    this.dir = dir;
    this.sock = path.join(dir, 'containerd.sock');
    this.binDir = binDir;
    this.daemon = undefined;
  }

  /** Waits for this helper's other daemons to be gone (see the head): before looking at the host's directories. */
  async acquire() {
    this.release_ ??= await holdContainerdHostDirs();
  }

  /** Starts it (its log appended to containerd.log), with `env` added to its environment (its shims'). */
  async start(extraEnv = {}) {
    await this.acquire();
    const log = fs.openSync(path.join(this.dir, 'containerd.log'), 'a');
    const env = { ...process.env, ...(this.binDir ? { PATH: `${this.binDir}:${process.env.PATH}` } : {}), ...extraEnv };
    this.daemon = spawn('containerd', ['--config', path.join(this.dir, 'config.toml')], { stdio: ['ignore', log, log], env });
    fs.closeSync(log);
    const exited = new Promise((r) => this.daemon.once('exit', r));
    for (;;) {
      if (fs.existsSync(this.sock) && spawnSync('ctr', ['--address', this.sock, 'version']).status === 0) return;
      if (await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]))
        throw new Error(`containerd exited: ${fs.readFileSync(path.join(this.dir, 'containerd.log'), 'utf8').slice(-2000)}`);
    }
  }

  /** Stops it (SIGTERM), or kills it (`signal` SIGKILL: no chance to tidy up), and waits for its end. */
  async stop(signal = 'SIGTERM') {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill(signal);
    await exited;
  }

  /** ctr on this daemon, in `ns` unless the arguments name a namespace. */
  ctr(ns, args, opts = {}) {
    const namespace = args[0] === '--namespace' ? [] : ['--namespace', ns];
    const r = spawnSync('ctr', ['--address', this.sock, ...namespace, ...args], { encoding: 'utf8', timeout: 60_000, ...opts });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  ok(ns, args, opts) {
    const r = this.ctr(ns, args, opts);
    if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * The busybox rootfs as `image` in `ns`, and in k8s.io (Kubernetes' namespace) with the sandbox image
   * beside it.
   */
  importImages(ns, image, repo) {
    const rootfs = path.join(this.dir, 'rootfs');
    execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), rootfs]);
    buildOciArchive(rootfs, path.join(this.dir, 'image.tar'), image);
    buildOciArchive(rootfs, path.join(this.dir, 'pause.tar'), PAUSE_IMAGE, ['sleep', '2147483647']);
    this.ok(ns, ['image', 'import', path.join(this.dir, 'image.tar')]);
    for (const tar of ['image.tar', 'pause.tar']) this.ok(ns, ['--namespace', 'k8s.io', 'image', 'import', path.join(this.dir, tar)]);
  }

  /** Tasks (killed), containers and images of `namespaces`, then the daemon, its mounts and its directory. */
  async destroy(namespaces) {
    for (const n of namespaces) {
      for (const id of this.ctr(n, ['task', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
        this.ctr(n, ['task', 'kill', '-s', 'SIGKILL', id]);
        this.ctr(n, ['task', 'rm', '-f', id]);
      }
      for (const id of this.ctr(n, ['container', 'ls', '-q']).stdout.split('\n').filter(Boolean)) this.ctr(n, ['container', 'rm', id]);
      for (const img of this.ctr(n, ['image', 'ls', '-q']).stdout.split('\n').filter(Boolean)) this.ctr(n, ['image', 'rm', img]);
    }
    await this.stop();
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Lets the next daemon of this helper start: after the caller removed the host directories it made. */
  release() {
    this.release_?.();
    this.release_ = undefined;
  }
}
