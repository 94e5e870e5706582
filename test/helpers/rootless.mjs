// An unprivileged user for the rootless tests (test/rootless*.test.mjs): made for one test file with its own
// subordinate id range, removed at the file's end; the CLI and podman run as that user.
import { execFileSync, spawnSync } from 'node:child_process';
import { bin, fs, hostMountsUnder, os, path, repo, waitFor } from '../helpers.mjs';

export const SUB = 300000; // its subordinate ids: SUB .. SUB+65535

/** Makes `name` (no home, its subordinate ids SUB..SUB+65535) and removes it at the end of the file `t`. */
export function makeUser(t, name) {
  try {
    execFileSync('userdel', [name], { stdio: 'ignore' });
  } catch {
    /* none left from an earlier run */
  }
  execFileSync('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/sh', name]);
  t.teardown(() => execFileSync('userdel', [name]));
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    // useradd may have granted a range already: this file's is the one it uses.
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith(`${name}:`));
    fs.writeFileSync(file, [...lines, `${name}:${SUB}:65536`, ''].join('\n'));
  }
  return { name, uid, gid };
}

/**
 * Runs `cmd` as the user with the environment a login of it has: PATH, a home, its runtime dir (and, when
 * given, its session bus).
 */
export function runAs(user, env, cmd, args, cwd, timeout = 30_000) {
  const r = spawnSync(cmd, args, { cwd, uid: user.uid, gid: user.gid, env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env }, encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/**
 * A home for one test: a directory of the user's with a bundle from `ocirun spec --rootless` (edited by
 * `edit`), and the runtime dir `xdg` (a fresh one unless given). `as(args)` runs the CLI as the user in the
 * bundle; at the end whatever container a failed test left is deleted, as the user.
 */
export function rootlessHome(t, user, { edit = () => {}, xdg, env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-rootless-'));
  fs.chmodSync(dir, 0o755);
  const bundle = path.join(dir, 'bundle');
  if (!xdg) {
    xdg = path.join(dir, 'xdg');
    fs.mkdirSync(xdg, { mode: 0o700 });
  }
  fs.mkdirSync(bundle);
  execFileSync('bash', [path.join(repo, 'scripts', 'mkrootfs.sh'), path.join(bundle, 'rootfs')]);
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  const root = path.join(xdg, 'ocirun');
  const h = {
    dir,
    xdg,
    bundle,
    root,
    env: { XDG_RUNTIME_DIR: xdg, ...env },
    // opts.global: ocirun's global flags; opts.via: a command that runs it (systemd-run ...).
    as: (args, opts = {}) => {
      const argv = [bin, ...(opts.global ?? []), ...args];
      const [cmd, ...rest] = [...(opts.via ?? []), ...argv];
      return runAs(user, { ...h.env, ...opts.env }, cmd, rest, bundle);
    },
    ok: (args, opts) => {
      const r = h.as(args, opts);
      if (r.status !== 0) throw new Error(`ocirun ${args.join(' ')} (as ${user.name}) exited ${r.status}: ${r.stderr}`);
      return r;
    },
    /** The containers under the user's root (none once every test cleaned up). */
    left: () => (fs.existsSync(root) ? fs.readdirSync(root) : []),
  };
  t.teardown(() => {
    for (const id of h.left()) h.as(['delete', '--force', id]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const spec = h.as(['spec', '--rootless']);
  if (spec.status !== 0) throw new Error(spec.stderr);
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.process.terminal = false;
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config));
  return h;
}

/**
 * Rootless podman on ocirun, as the user, in the home `h`: an image imported from the bundle's rootfs; run,
 * --userns=keep-id, a detached container with exec and logs, stop, rm. `conf` is containers.conf's cgroup
 * and environment part; `extra` (t, podman) runs more while the image exists. Nothing of ours may be left.
 */
export async function podmanScenario(t, user, h, conf, extra = async () => {}) {
  const { dir } = h;
  const file = path.join(dir, 'containers.conf');
  // No network (an unprivileged user has none to give without slirp4netns or pasta), vfs storage in the
  // test's directory.
  fs.writeFileSync(file, `[containers]\ndefault_ulimits = ["nofile=1024:1024"]\nnetns = "none"\n[engine]\nruntime = "ocirun"\n` +
    `runtime_supports_json = ["ocirun"]\nevents_logger = "file"\n${conf}\n[engine.runtimes]\nocirun = ["${bin}"]\n`);
  const env = { ...h.env, HOME: dir, CONTAINERS_CONF: file };
  // podman refuses a runroot longer than 50 characters: a short one of its own, in /tmp.
  const runroot = fs.mkdtempSync('/tmp/ocirun-pr-');
  fs.chownSync(runroot, user.uid, user.gid);
  t.teardown(() => fs.rmSync(runroot, { recursive: true, force: true }));
  const base = ['--root', path.join(dir, 'storage'), '--runroot', runroot, '--storage-driver', 'vfs'];
  const podman = (...args) => {
    const r = runAs(user, env, 'podman', [...base, ...args], dir, 60_000);
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  t.teardown(() => {
    // The pause process rootless podman leaves to hold its user namespace: its pid is in its file.
    const pause = path.join(h.xdg, 'libpod', 'tmp', 'pause.pid');
    if (fs.existsSync(pause)) try { process.kill(Number(fs.readFileSync(pause, 'utf8'))); } catch { /* gone */ }
  });
  execFileSync('tar', ['-C', path.join(h.bundle, 'rootfs'), '-cf', path.join(dir, 'rootfs.tar'), '.']);
  execFileSync('chown', [`${user.uid}:${user.gid}`, path.join(dir, 'rootfs.tar')]);
  podman('import', path.join(dir, 'rootfs.tar'), 'localhost/rootless-test:1');
  const plain = podman('run', '--rm', 'localhost/rootless-test:1', 'sh', '-c', 'id -u; cat /proc/self/uid_map').trim().split('\n');
  t.equal(plain[0], '0', 'root inside');
  t.match(plain[1], new RegExp(`^\\s*0\\s+${user.uid}\\s+1$`), 'which is the user outside');
  t.match(plain[2], new RegExp(`^\\s*1\\s+${SUB}\\s+65536$`), 'with its subordinate ids (podman asks newuidmap)');
  const keep = podman('run', '--rm', '--userns=keep-id', 'localhost/rootless-test:1', 'id', '-u').trim();
  t.equal(keep, String(user.uid), '--userns=keep-id: the user\'s own uid inside');
  podman('run', '-d', '--name', 'svc', 'localhost/rootless-test:1', 'sh', '-c', 'echo hello-from-svc; exec sleep 100');
  t.equal(podman('exec', 'svc', 'sh', '-c', 'echo in-exec').trim(), 'in-exec');
  await waitFor(() => podman('logs', 'svc').includes('hello-from-svc'));
  podman('stop', '-t', '0', 'svc');
  podman('rm', 'svc');
  await extra(t, podman);
  t.same(h.left(), [], 'no container state left');
  t.same(hostMountsUnder(dir).filter((l) => !l.includes('/storage')), [], 'no mount of ours left');
}
