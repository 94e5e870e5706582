// Hooks that run in the runtime's namespaces, and the features document.
import t from 'tap';
import Ajv from 'ajv';
import { fs, os, path, makeBundle, ocirun, ok, repo, state, testRoot, waitFor } from './helpers.mjs';

function hookDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-hooks-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log');
  // Records its own argv[0], one env var, its mount namespace and the state it was given, one JSON per line.
  const script = path.join(dir, 'hook.sh');
  fs.writeFileSync(script, `#!/bin/sh\nstate=$(cat)\nprintf '{"kind":"%s","name":"%s","ns":"%s","state":%s}\\n' "$1" "$HOOK_NAME" "$(readlink /proc/self/ns/mnt)" "$state" >> ${log}\nexit \${2:-0}\n`);
  fs.chmodSync(script, 0o755);
  const hook = (kind, extra = {}) => ({ path: script, args: ['hook.sh', kind], env: [`HOOK_NAME=${kind}-hook`], ...extra });
  const entries = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  return { hook, entries, script };
}

t.test('prestart, createRuntime, poststart, poststop: order, stdin, env, namespace', async (t) => {
  const root = testRoot(t);
  const { hook, entries } = hookDir(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.hooks = {
      prestart: [hook('prestart')],
      createRuntime: [hook('createRuntime'), hook('createRuntime2')],
      poststart: [hook('poststart')],
      poststop: [hook('poststop')],
    };
  });
  ok(root, ['create', '--bundle', bundle, 'h']);
  t.same(entries().map((e) => e.kind), ['prestart', 'createRuntime', 'createRuntime2'], 'create runs prestart, then createRuntime in order');
  const pid = state(root, 'h').pid;
  const first = entries()[0];
  t.equal(first.name, 'prestart-hook', 'the hook env is the configured one');
  t.equal(first.ns, fs.readlinkSync('/proc/self/ns/mnt'), 'in the runtime mount namespace');
  t.same([first.state.id, first.state.pid, first.state.status, first.state.bundle], ['h', pid, 'creating', bundle]);
  ok(root, ['start', 'h']);
  t.same(entries().slice(3).map((e) => [e.kind, e.state.status]), [['poststart', 'running']]);
  ok(root, ['delete', '--force', 'h']);
  t.same(entries().slice(4).map((e) => [e.kind, e.state.status, e.state.pid]), [['poststop', 'stopped', 0]]);
});

t.test('a failing prestart hook aborts create', async (t) => {
  const root = testRoot(t);
  const { hook } = hookDir(t);
  const bundle = makeBundle(t, (c) => (c.hooks = { prestart: [hook('prestart', { args: ['hook.sh', 'p', '9'] })] }));
  const r = ocirun(root, ['create', '--bundle', bundle, 'p']);
  t.equal(r.status, 1);
  t.match(r.stderr, /error running prestart hook #0: exit status 9/);
  t.same(fs.readdirSync(root), []);
});

t.test('a failing or hanging createRuntime hook aborts create and leaves nothing', async (t) => {
  for (const [extra, message] of [
    [{ args: ['hook.sh', 'failing', '3'] }, /error running createRuntime hook #0: exit status 3, stdout: .*, stderr: /],
    [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }, /error running createRuntime hook #0: hook ran past specified timeout of 1\.0s/],
    [{ path: '/no/such/hook' }, /error running createRuntime hook #0: fork\/exec \/no\/such\/hook: no such file or directory/],
  ]) {
    const root = testRoot(t);
    const { hook } = hookDir(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['sleep', '100'];
      c.hooks = { createRuntime: [hook('createRuntime', extra)] };
    });
    const t0 = Date.now();
    const r = ocirun(root, ['create', '--bundle', bundle, 'f']);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
    t.ok(Date.now() - t0 < 10_000, 'the timeout is honoured');
    t.same(fs.readdirSync(root), [], 'no state left');
  }
});

t.test('a failing poststart hook fails start and stops the container (runtime-spec 1.3); poststop failures are warnings', async (t) => {
  const root = testRoot(t);
  const { hook, entries } = hookDir(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.hooks = {
      poststart: [hook('poststart', { args: ['hook.sh', 'bad-poststart', '1'] }), hook('poststart')],
      poststop: [hook('poststop', { args: ['hook.sh', 'bad-poststop', '1'] }), hook('poststop')],
    };
  });
  ok(root, ['create', '--bundle', bundle, 'w']);
  const pid = state(root, 'w').pid;
  const s = ocirun(root, ['start', 'w']);
  t.equal(s.status, 1, 'start fails');
  t.match(s.stderr, /error running poststart hook #0: exit status 1/);
  t.equal(state(root, 'w').status, 'stopped', 'the container is stopped when start returns');
  t.notOk(fs.existsSync(`/proc/${pid}/stat`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 'its init is dead');
  const d = ocirun(root, ['delete', 'w']);
  t.equal(d.status, 0, 'a plain delete destroys it');
  t.match(d.stderr, /level=warning msg="error running poststop hook #0: exit status 1/);
  t.same(entries().map((e) => e.kind), ['bad-poststart', 'bad-poststop', 'poststop'], 'no poststart hook after the failing one; every poststop hook');
});

t.test('run with a failing poststart hook: error, container gone, poststop run', async (t) => {
  const root = testRoot(t);
  const { hook, entries } = hookDir(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.hooks = { poststart: [hook('poststart', { args: ['hook.sh', 'bad-poststart', '4'] })], poststop: [hook('poststop')] };
  });
  const r = ocirun(root, ['run', '--bundle', bundle, 'rw']);
  t.equal(r.status, 1);
  t.match(r.stderr, /error running poststart hook #0: exit status 4/);
  t.same(fs.readdirSync(root), [], 'no state left');
  t.same(entries().map((e) => e.kind), ['bad-poststart', 'poststop']);
});

t.test('startContainer hooks run inside the container, after start, before the process', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'cat /tmp/hook.log > /tmp/seen-by-process'];
    c.hooks = { startContainer: [{ path: '/hook.sh', args: ['hook.sh', 'first'], env: ['IN=container'] }, { path: '/hook.sh', args: ['hook.sh', 'second'] }] };
  });
  const rootfs = path.join(bundle, 'rootfs');
  // Resolved and run in the container: this script exists only in its rootfs.
  fs.writeFileSync(path.join(rootfs, 'hook.sh'), '#!/bin/sh\nstate=$(cat)\necho "$1 $IN $(hostname) $state" >> /tmp/hook.log\n');
  fs.chmodSync(path.join(rootfs, 'hook.sh'), 0o755);
  ok(root, ['create', '--bundle', bundle, 'sc']);
  t.notOk(fs.existsSync(path.join(rootfs, 'tmp', 'hook.log')), 'not at create');
  ok(root, ['start', 'sc']);
  await waitFor(() => state(root, 'sc').status === 'stopped');
  const lines = fs.readFileSync(path.join(rootfs, 'tmp', 'hook.log'), 'utf8').trim().split('\n');
  t.equal(lines.length, 2, 'both hooks, in order');
  const [kind, env, host, json] = lines[0].split(' ');
  t.same([kind, env, host], ['first', 'container', 'ocirun'], 'its args and env, in the container\'s UTS namespace');
  const st = JSON.parse(json);
  t.same([st.id, st.status, st.pid], ['sc', 'created', 1], 'the state, with the pid as the container sees it');
  t.match(lines[1], /^second  ocirun /);
  t.equal(fs.readFileSync(path.join(rootfs, 'tmp', 'seen-by-process'), 'utf8'), lines.join('\n') + '\n', 'the hooks ran before the process');
});

t.test('run: the init goes on at its commit, with no exec.fifo; every hook in its place', async (t) => {
  const root = testRoot(t);
  const { hook, entries } = hookDir(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sh', '-c', 'cat /tmp/hook.log > /tmp/seen-by-process; exec sleep 100'];
    c.hooks = {
      prestart: [hook('prestart')],
      createRuntime: [hook('createRuntime')],
      startContainer: [{ path: '/hook.sh', args: ['hook.sh', 'startContainer'] }],
      poststart: [hook('poststart')],
      poststop: [hook('poststop')],
    };
  });
  const rootfs = path.join(bundle, 'rootfs');
  fs.writeFileSync(path.join(rootfs, 'hook.sh'), '#!/bin/sh\necho "$1" >> /tmp/hook.log\n');
  fs.chmodSync(path.join(rootfs, 'hook.sh'), 0o755);
  ok(root, ['run', '-d', '--bundle', bundle, 'r']);
  t.same(entries().map((e) => [e.kind, e.state.status]), [['prestart', 'creating'], ['createRuntime', 'creating'], ['poststart', 'running']],
    'the runtime\'s hooks in order, poststart once the container runs');
  t.equal(state(root, 'r').status, 'running');
  t.same(fs.readdirSync(path.join(root, 'r')), ['state.json'], 'the record alone in its directory: no exec.fifo made, none left');
  await waitFor(() => fs.existsSync(path.join(rootfs, 'tmp', 'seen-by-process')));
  t.equal(fs.readFileSync(path.join(rootfs, 'tmp', 'seen-by-process'), 'utf8'), 'startContainer\n', 'the startContainer hook ran in the container, before the process');
  ok(root, ['delete', '--force', 'r']);
  t.same(entries().slice(3).map((e) => e.kind), ['poststop']);
});

t.test('a failing or hanging startContainer hook stops the container before its process', async (t) => {
  for (const [hook, message, big] of [
    [{ path: '/bin/false' }, /error running startContainer hook #0: exit status 1/],
    [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }, /error running startContainer hook #0: hook ran past specified timeout of 1\.0s/],
    // A state larger than a pipe holds, and a hook that neither reads it nor exits: the timeout still fires.
    [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }, /error running startContainer hook #0: hook ran past specified timeout of 1\.0s/, 'x'.repeat(100_000)],
  ]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => {
      c.process.args = ['touch', '/tmp/ran'];
      c.hooks = { startContainer: [hook] };
      if (big) c.annotations = { big };
    });
    const errFile = path.join(bundle, 'stderr');
    const err = fs.openSync(errFile, 'w');
    const { spawnSync } = await import('node:child_process');
    spawnSync(path.join(repo, 'bin', 'ocirun'), ['--root', root, 'create', '--bundle', bundle, 'sf'], { stdio: ['ignore', 'ignore', err] });
    fs.closeSync(err);
    const t0 = Date.now();
    ok(root, ['start', 'sf']);
    await waitFor(() => state(root, 'sf').status === 'stopped', 10_000);
    t.ok(Date.now() - t0 < 8000, 'the timeout is honoured');
    t.notOk(fs.existsSync(path.join(bundle, 'rootfs', 'tmp', 'ran')), 'the process never ran');
    t.match(fs.readFileSync(errFile, 'utf8'), message, 'the reason on the container\'s stderr, as with runc');
  }
});

t.test('a 200 KB state reaches startContainer hooks; nothing of theirs shows in the waiting init\'s argv', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['touch', '/tmp/ran'];
    c.annotations = { big: 'y'.repeat(200_000) };
    c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'wc -c > /tmp/state-size'], env: ['SECRET=hook-only'] }] };
  });
  ok(root, ['create', '--bundle', bundle, 'big']);
  const cmdline = fs.readFileSync(`/proc/${state(root, 'big').pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  t.equal(cmdline.length, 2, `the stub's argv is its sync fd only: ${cmdline.join(' ').slice(0, 80)}`);
  t.match(cmdline[1], /^\d+$/);
  ok(root, ['start', 'big']);
  const rootfs = path.join(bundle, 'rootfs');
  await waitFor(() => fs.existsSync(path.join(rootfs, 'tmp', 'ran')));
  t.ok(Number(fs.readFileSync(path.join(rootfs, 'tmp', 'state-size'), 'utf8')) > 200_000, 'the hook read the whole state');
});

t.test('the stub takes no control words from its argv', async (t) => {
  const { spawnSync } = await import('node:child_process');
  for (const argv of [['uid=0', '--', 'sh'], ['3x'], []]) {
    const r = spawnSync(path.join(repo, 'build', 'Release', 'ocirun-init'), argv);
    t.equal(r.status, 127, `refused: ${argv.join(' ')}`);
    t.match(r.stderr.toString(), /usage: ocirun-init SYNC-FD/);
  }
});

t.test('createContainer hooks run in the container\'s namespaces before pivot_root', async (t) => {
  const root = testRoot(t);
  const { hook, entries } = hookDir(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.hooks = { createRuntime: [hook('createRuntime')], createContainer: [hook('createContainer')] };
  });
  ok(root, ['create', '--bundle', bundle, 'cc']);
  const pid = state(root, 'cc').pid;
  const [cc, cr] = entries();
  t.same(entries().map((e) => e.kind), ['createContainer', 'createRuntime'], 'the host path resolved: before pivot_root');
  t.equal(cc.ns, fs.readlinkSync(`/proc/${pid}/ns/mnt`), 'in the container mount namespace');
  t.equal(cr.ns, fs.readlinkSync('/proc/self/ns/mnt'), 'createRuntime in the runtime\'s');
  t.same([cc.state.id, cc.state.pid, cc.state.status, cc.name], ['cc', pid, 'creating', 'createContainer-hook'], 'its state (host pid) and env');

  for (const [extra, message] of [
    [{ args: ['hook.sh', 'bad', '2'] }, /createContainer-hooks: \/\S*\/ocirun-hooks-\w+\/hook\.sh: error running createContainer hook #0: exit status 2/],
    [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }, /error running createContainer hook #0: hook ran past specified timeout of 1\.0s/],
  ]) {
    const r2 = testRoot(t);
    const b2 = makeBundle(t, (c) => {
      c.process.args = ['sleep', '100'];
      c.hooks = { createContainer: [hook('createContainer', extra)] };
    });
    const r = ocirun(r2, ['create', '--bundle', b2, 'bad']);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
    t.same(fs.readdirSync(r2), [], 'nothing left');
  }
});

t.test('a createContainer hook gets its strings byte for byte: escapes, control characters, non-ASCII', async (t) => {
  // The plan crosses to the addon as JSON (lib/native.ts): every escape JSON.stringify writes must come back
  // as the same bytes. A lone surrogate has no UTF-8 form: it arrives as U+FFFD, as N-API converts it.
  const root = testRoot(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-hook-strings-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  const arg = 'é😀 "q" back\\slash\nnew line\ttab \u0001\u001f end';
  const env = 'Ünïcödé \u2028 \ud800 /';
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `printf '%s|%s' "$1" "$X" > ${out}`, 'sh', arg], env: [`X=${env}`] }] };
  });
  ok(root, ['create', '--bundle', bundle, 'str']);
  t.equal(fs.readFileSync(out, 'utf8'), `${arg}|${env.replace('\ud800', '\ufffd')}`);
  ok(root, ['delete', '--force', 'str']);
});

t.test('features: valid against spec/features.schema.json, and true to this build', async (t) => {
  const r = ocirun('/x', ['features']);
  t.equal(r.status, 0);
  const doc = JSON.parse(r.stdout);
  const validate = new Ajv({ strict: true }).compile(JSON.parse(fs.readFileSync(path.join(repo, 'spec', 'features.schema.json'), 'utf8')));
  t.ok(validate(doc), JSON.stringify(validate.errors));
  t.same(doc.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  t.ok(doc.mountOptions.includes('rro'), 'rro is supported (and tested in mounts.test.mjs)');
  t.equal(doc.linux.mountExtensions.idmap.enabled, true, 'idmapped mounts are (mounts.test.mjs)');
  t.equal(doc.linux.seccomp.enabled, true);
  t.ok(doc.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
  t.equal(doc.linux.seccomp.archs.length, 23, 'every architecture libseccomp names');
  t.ok(['SCMP_ARCH_ARM', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390X', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64'].every((a) => doc.linux.seccomp.archs.includes(a)));
  t.equal(doc.linux.capabilities.length, 41);
  t.same(doc.linux.cgroup, { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true });
  t.same(doc.linux.netDevices, { enabled: true }, 'netDevices (net-devices.test.mjs)');
  t.same(doc.linux.intelRdt, { enabled: false }, 'no resctrl here');
  t.same(doc.potentiallyUnsafeConfigAnnotations, ['org.systemd.property.'], 'the annotations that change a systemd unit');
});
