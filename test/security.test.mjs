// Hardening fields of the runtime-spec, and attacks that must fail.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { bin, fs, os, path, hostMountsUnder, makeBundle, ocirun, ok, repo, runContainer, state, testRoot, waitFor } from './helpers.mjs';

/** Compiles a static probe from test/fixtures into a rootfs. */
function probe(t, name, rootfs, dest) {
  const out = path.join(rootfs, dest);
  execFileSync('gcc', ['-static', '-O2', '-o', out, path.join(repo, 'test', 'fixtures', `${name}.c`)]);
  return out;
}

t.test('masked and read-only paths, missing ones skipped, symlinks resolved inside', async (t) => {
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-mask-target-'));
  t.teardown(() => fs.rmSync(hostDir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(hostDir, 'secret'), 'host secret\n');
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'cat /proc/keys | wc -c; ls /sys/firmware | wc -l; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; cat /data/file; (echo x > /data/file) 2>&1; cat /lnk/secret'];
    c.linux.maskedPaths = ['/proc/keys', '/sys/firmware', '/does/not/exist', '/lnk/secret'];
    c.linux.readonlyPaths = ['/proc/sys', '/data', '/also/missing'];
  });
  const rootfs = path.join(bundle, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'data'));
  fs.writeFileSync(path.join(rootfs, 'data', 'file'), 'data\n');
  fs.symlinkSync(hostDir, path.join(rootfs, 'lnk')); // a link to a host path: resolved inside the rootfs
  fs.mkdirSync(path.join(rootfs, hostDir), { recursive: true });
  fs.writeFileSync(path.join(rootfs, hostDir, 'secret'), 'image secret\n');
  const r = ocirun(root, ['run', '--bundle', bundle, 'm']);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.equal(lines[0].trim(), '0', '/proc/keys masked by /dev/null');
  t.equal(lines[1].trim(), '0', '/sys/firmware masked by an empty tmpfs');
  t.match(lines[2], /Read-only file system/, '/proc/sys read-only');
  t.equal(lines[3], 'data');
  t.match(lines[4], /Read-only file system/, 'a read-only path of the image');
  t.equal(lines[5], '', 'the masked path was the image file, now empty');
  t.equal(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), 'host secret\n', 'host file untouched');
  t.same(hostMountsUnder(hostDir), []);
});

t.test('sysctl: namespaced keys are written, others refused', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'], (c) => {
    c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel/shmmni': '1234' };
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, '1\n1234\n');
  const cases = [
    [{ 'kernel.pid_max': '100' }, (c) => c, /sysctl kernel\.pid_max is not in a separate kernel namespace/],
    [{ 'vm.swappiness': '1' }, (c) => c, /not in a separate kernel namespace/],
    [{ 'net.ipv4.ip_forward': '1' }, (c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'network')), /needs a new network namespace/],
    [{ 'kernel.msgmax': '1' }, (c) => (c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'ipc')), /needs a new ipc namespace/],
    [{ 'net/../../x': '1' }, (c) => c, /invalid sysctl key/],
  ];
  for (const [sysctl, edit, message] of cases) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.linux.sysctl = sysctl;
      edit(c);
    });
    const bad = ocirun(root, ['create', '--bundle', bundle, 's']);
    t.equal(bad.status, 1);
    t.match(bad.stderr, message);
    t.same(fs.readdirSync(root), []);
  }
});

t.test('rlimits, oomScoreAdj, ioPriority, scheduler, CPU affinity, personality', async (t) => {
  const cpus = os.cpus().length;
  const r = runContainer(t, ['sh', '-c', 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; grep Cpus_allowed_list /proc/self/status; uname -m; grep -E "^policy" /proc/self/sched; ionice -p $$ 2>/dev/null || true'], (c) => {
    c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 123, hard: 456 }];
    c.process.oomScoreAdj = 500;
    c.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    c.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
    c.process.execCPUAffinity = { initial: '0', final: cpus > 1 ? '1' : '0' };
    c.linux.personality = { domain: 'LINUX32' };
  });
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  t.same(lines.slice(0, 3), ['123', '456', '500']);
  t.match(lines[3], new RegExp(`Cpus_allowed_list:\\s+${cpus > 1 ? 1 : 0}$`), 'the final affinity');
  t.equal(lines[4], 'i686', 'LINUX32 personality');
  t.match(lines[5], /policy\s+:\s+3$/, 'SCHED_BATCH');
  t.equal(lines[6], 'idle', 'IOPRIO_CLASS_IDLE');
  const be = runContainer(t, ['sh', '-c', 'ionice -p $$'], (c) => (c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }));
  t.equal(be.stdout, 'best-effort: prio 6\n', 'IOPRIO_CLASS_BE with its priority');
});

t.test('LSM labels are refused on a host without the LSM', async (t) => {
  for (const [edit, message] of [
    [(c) => (c.process.apparmorProfile = 'docker-default'), /\/process\/apparmorProfile: AppArmor is not enabled on this host/],
    [(c) => (c.process.selinuxLabel = 'system_u:system_r:container_t:s0'), /\/process\/selinuxLabel: SELinux is not enabled/],
    [(c) => (c.linux.mountLabel = 'system_u:object_r:container_file_t:s0'), /\/linux\/mountLabel: SELinux is not enabled/],
  ]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, edit);
    const r = ocirun(root, ['create', '--bundle', bundle, 'l']);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
  }
});

t.test('noNewPrivileges stops a setuid binary from raising privileges', async (t) => {
  for (const nnp of [false, true]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['/bin/euid'];
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.noNewPrivileges = nnp;
      c.process.capabilities = { bounding: ['CAP_SETUID', 'CAP_SETGID'] };
    });
    const exe = probe(t, 'euid', path.join(bundle, 'rootfs'), 'bin/euid');
    fs.chmodSync(exe, 0o4755);
    const r = ocirun(root, ['run', '--bundle', bundle, 'n']);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), nnp ? '1000' : '0', `noNewPrivileges=${nnp}: effective uid ${r.stdout.trim()}`);
  }
});

t.test('with the default capabilities: no mount, no module, no host hostname, no device node', async (t) => {
  const hostname = os.hostname();
  const r = runContainer(t, ['sh', '-c', [
    'mkdir -p /mnt; mount -t tmpfs none /mnt 2>&1',
    'hostname evil 2>&1',
    'head -c 4096 /dev/zero > /x.ko; insmod /x.ko 2>&1',
    'mknod /tmp/sda b 8 0 2>&1',
    'echo devices: $(ls /dev)',
    'grep CapBnd /proc/self/status',
  ].join('; ')]);
  t.equal(r.status, 0, r.stderr);
  const [mount, host, insmod, mknod, devices, bounding] = r.stdout.trim().split('\n');
  t.match(mount, /Operation not permitted|permission denied/i, 'mount refused');
  t.match(host, /Operation not permitted/, 'sethostname refused');
  // Kernels without module support answer ENOSYS before the capability check: the bounding set is the guarantee.
  t.match(insmod, /Operation not permitted|does not support/, 'module loading refused');
  t.equal(BigInt(`0x${bounding.split(/\s+/)[1]}`) & (1n << 16n), 0n, 'CAP_SYS_MODULE is not in the bounding set');
  t.match(mknod, /Operation not permitted/, 'mknod refused');
  t.notMatch(devices, /\b(vda|sda|nvme\w*|mem|kmem|kmsg|port)\b/, 'no host block or memory device in /dev');
  t.equal(os.hostname(), hostname, 'the host hostname is unchanged');
  const admin = runContainer(t, ['sh', '-c', 'hostname changed && hostname'], (c) => {
    c.process.capabilities = { bounding: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] };
  });
  t.equal(admin.stdout, 'changed\n', 'with CAP_SYS_ADMIN it changes its own UTS namespace');
  t.equal(os.hostname(), hostname, 'and still not the host\'s');
});

t.test('a container cannot write through /proc/PID/exe of a process ocirun creates in its pid namespace', async (t) => {
  const nodeHash = createHash('sha256').update(fs.readFileSync(process.execPath)).digest('hex');
  const initHash = createHash('sha256').update(fs.readFileSync(path.join(repo, 'build', 'Release', 'ocirun-init'))).digest('hex');
  const root = testRoot(t);
  const all = ['CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE', 'CAP_SYS_ADMIN', 'CAP_KILL'];
  const attacker = makeBundle(t, (c) => {
    c.process.args = ['/bin/exe-attack', '60'];
    c.process.capabilities = { bounding: all, effective: all, permitted: all };
    c.process.noNewPrivileges = false;
  });
  probe(t, 'exe-attack', path.join(attacker, 'rootfs'), 'bin/exe-attack');
  const out = path.join(attacker, 'attack.log');
  const outFd = fs.openSync(out, 'w');
  const child = spawn(bin, ['--root', root, 'run', '--bundle', attacker, 'attacker'], { stdio: ['ignore', outFd, outFd] });
  fs.closeSync(outFd);
  await waitFor(() => fs.readFileSync(out, 'utf8').includes('ready'));
  const pid = state(root, 'attacker').pid;
  const victim = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.namespaces = c.linux.namespaces.map((n) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n));
  });
  for (let i = 0; i < 10; i++) {
    ok(root, ['create', '--bundle', victim, `v${i}`]);
    if (i % 2) ok(root, ['delete', '--force', `v${i}`]);
    ok(root, ['exec', 'attacker', 'true']); // exec joins the attacker's own pid namespace
  }
  fs.writeFileSync(path.join(attacker, 'rootfs', 'stop'), '');
  await new Promise((resolve) => child.on('exit', resolve));
  const log = fs.readFileSync(out, 'utf8');
  t.match(log, /done \d+/, 'the attacker ran to the end');
  t.notMatch(log, /wrote through/, 'no exe was writable');
  t.equal(createHash('sha256').update(fs.readFileSync(process.execPath)).digest('hex'), nodeHash, 'node unchanged');
  t.equal(createHash('sha256').update(fs.readFileSync(path.join(repo, 'build', 'Release', 'ocirun-init'))).digest('hex'), initHash, 'ocirun-init unchanged');
});
