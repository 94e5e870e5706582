// Seccomp in real containers: a realistic allow-list profile, errno actions, argument conditions, the flags,
// the notify listener, and the `ocirun seccomp` view of a profile.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as net from 'node:net';
import { fs, os, path, makeBundle, ocirun, ok, repo, runContainer, testRoot } from './helpers.mjs';

const { SYSCALLS } = await import(path.join(repo, 'dist', 'seccomp', 'syscalls.generated.js'));


// Like the well-known container default profiles: several hundred syscalls allowed, everything else EPERM.
const DENIED = new Set(['acct', 'add_key', 'bpf', 'clock_adjtime', 'clock_settime', 'create_module', 'delete_module',
  'finit_module', 'get_kernel_syms', 'get_mempolicy', 'init_module', 'ioperm', 'iopl', 'kcmp', 'kexec_file_load',
  'kexec_load', 'keyctl', 'lookup_dcookie', 'mbind', 'mount', 'move_pages', 'name_to_handle_at', 'nfsservctl',
  'open_by_handle_at', 'perf_event_open', 'pivot_root', 'process_vm_readv', 'process_vm_writev', 'ptrace',
  'query_module', 'quotactl', 'reboot', 'request_key', 'set_mempolicy', 'setns', 'settimeofday', 'stime',
  'swapoff', 'swapon', 'sysfs', '_sysctl', 'umount', 'umount2', 'unshare', 'uselib', 'userfaultfd', 'ustat',
  'vm86', 'vm86old', 'mkdir', 'mkdirat', 'personality']);

function defaultProfile(extra = []) {
  const allowed = Object.keys(SYSCALLS.x86_64).filter((n) => !DENIED.has(n));
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: allowed, action: 'SCMP_ACT_ALLOW' },
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      // personality: only the query and PER_LINUX, as the default profiles allow it.
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
      { names: ['not_a_real_syscall'], action: 'SCMP_ACT_ALLOW' },
      ...extra,
    ],
  };
}

t.test('a realistic profile: ordinary programs work, denied syscalls fail with the configured errno', async (t) => {
  t.ok(Object.keys(SYSCALLS.x86_64).length - DENIED.size > 300, 'several hundred syscalls allowed');
  for (const nnp of [true, false]) {
    const r = runContainer(t, ['sh', '-c', [
      'echo hello | tr a-z A-Z', 'ls / | wc -l', 'cat /etc/passwd | head -1', 'uname -m',
      'mkdir /tmp/x 2>&1', 'unshare -n true 2>&1', 'linux32 uname -m 2>&1', 'mount -t tmpfs none /mnt 2>&1', 'true',
    ].join('; ')], (c) => {
      c.linux.seccomp = defaultProfile();
      c.process.noNewPrivileges = nnp;
      c.process.capabilities = { bounding: ['CAP_SYS_ADMIN'], effective: ['CAP_SYS_ADMIN'], permitted: ['CAP_SYS_ADMIN'] };
    });
    t.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.equal(lines[0], 'HELLO', `noNewPrivileges=${nnp}: pipes, fork and exec work`);
    t.ok(Number(lines[1]) > 5);
    t.equal(lines[2], 'root:x:0:0:root:/root:/bin/sh');
    t.equal(lines[3], 'x86_64', 'personality(0xffffffff) allowed by its argument');
    t.match(lines[4], /Permission denied/, 'mkdir: EACCES from errnoRet');
    t.match(lines[5], /Operation not permitted/, 'unshare: the default EPERM');
    t.match(lines[6], /Operation not permitted/, 'personality(PER_LINUX32) refused by its argument');
    t.match(lines[7], /permission denied|not permitted/i, 'mount refused even with CAP_SYS_ADMIN');
  }
});

t.test('actions: KILL_PROCESS, TRAP, LOG and ERRNO on one syscall each', async (t) => {
  const run = (args, action, extra = {}) =>
    runContainer(t, args, (c) => {
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sync'], action, ...extra }] };
    });
  t.equal(run(['sync'], 'SCMP_ACT_KILL_PROCESS').status, 128 + 31, 'KILL_PROCESS: the process dies of SIGSYS');
  t.equal(run(['sync'], 'SCMP_ACT_TRAP').status, 128 + 31, 'TRAP: SIGSYS, unhandled');
  t.equal(run(['sync'], 'SCMP_ACT_LOG').status, 0, 'LOG lets it through');
  t.equal(run(['sync'], 'SCMP_ACT_ALLOW').status, 0);
  const errno = run(['sh', '-c', 'mkdir /tmp/d 2>&1; true'], 'SCMP_ACT_ALLOW');
  t.equal(errno.stdout, '', 'control: mkdir works without a rule');
  const denied = runContainer(t, ['sh', '-c', 'mkdir /tmp/d 2>&1; true'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 95 }] };
  });
  t.match(denied.stdout, /Operation not supported/, 'ERRNO with errnoRet 95');
  const traced = runContainer(t, ['sh', '-c', 'mkdir /tmp/d 2>&1; true'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRACE' }] };
  });
  t.match(traced.stdout, /Function not implemented/, 'TRACE with no tracer attached: ENOSYS');
});

t.test('a profile for every architecture libseccomp names loads unchanged; the host\'s part decides', async (t) => {
  const architectures = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS',
    'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390X', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64'];
  const r = runContainer(t, ['sh', '-c', 'echo ok; mkdir /tmp/x 2>&1; true'], (c) => (c.linux.seccomp = { ...defaultProfile(), architectures }));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^ok\n.*Permission denied/s, 'allowed syscalls run, mkdir gets its errno');
  const shown = ok(r.root, ['seccomp', '--bundle', r.bundle, '--arch', 'mipsel64', 'mkdir']).stdout;
  t.match(shown, /^mkdir \(mips64 5081\): SCMP_ACT_ERRNO\(13\)/, 'and the MIPS part decides as the profile says');
});

t.test('bad profiles are refused before any work', async (t) => {
  for (const [seccomp, message] of [
    [{ defaultAction: 'SCMP_ACT_BOGUS' }, /\/linux\/seccomp\/defaultAction: must be one of/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /\/linux\/seccomp\/architectures\/0: unsupported architecture SCMP_ARCH_VAX/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /SCMP_ACT_NOTIFY cannot be the default action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY needs a listenerPath/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /args\/0\/index: must be 0 to 5/],
  ]) {
    const root = testRoot(t);
    const bundle = makeBundle(t, (c) => (c.linux.seccomp = seccomp));
    const r = ocirun(root, ['create', '--bundle', bundle, 's']);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
    t.same(fs.readdirSync(root), []);
  }
});

t.test('flags reach the kernel: SECCOMP_FILTER_FLAG_LOG and TSYNC are accepted', async (t) => {
  const r = runContainer(t, ['sh', '-c', 'grep Seccomp: /proc/self/status'], (c) => {
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'], syscalls: [{ names: ['sync'], action: 'SCMP_ACT_ERRNO' }] };
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /Seccomp:\s+2/, 'filter mode');
});

t.test('the notify listener receives the fd, the state and the metadata', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirun-listener-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'listener.sock');
  // A listener in Python (Node cannot receive SCM_RIGHTS): it prints the payload and what the fd is.
  const listener = spawn('python3', ['-c', `
import socket, os, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 1)
print(json.dumps({"payload": json.loads(msg), "fd": os.readlink(f"/proc/self/fd/{fds[0]}")}), flush=True)
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => listener.kill());
  let out = '';
  listener.stdout.on('data', (d) => (out += d));
  while (!out.includes('listening')) await new Promise((r) => setTimeout(r, 10));
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['sleep', '100'];
    c.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: sock,
      listenerMetadata: 'meta-data',
      flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], // only valid with a listener; the kernel checks it
      syscalls: [{ names: ['mknodat', 'mknod'], action: 'SCMP_ACT_NOTIFY' }],
    };
  });
  ok(root, ['create', '--bundle', bundle, 'nt']);
  await new Promise((r) => listener.on('exit', r));
  const got = JSON.parse(out.split('\n')[1]);
  t.equal(got.fd, 'anon_inode:seccomp notify');
  t.same(got.payload.fds, ['seccompFd']);
  t.equal(got.payload.metadata, 'meta-data');
  t.equal(got.payload.state.id, 'nt');
  t.equal(got.payload.state.status, 'creating');
  t.equal(got.payload.pid, JSON.parse(ok(root, ['state', 'nt']).stdout).pid);
});

t.test('ocirun seccomp shows the program and the decision for a syscall', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => (c.linux.seccomp = defaultProfile()));
  const mk = ok(root, ['seccomp', '--bundle', bundle, 'mkdir']);
  t.match(mk.stdout, /^mkdir \(x86_64 83\): SCMP_ACT_ERRNO\(13\)$/m);
  t.match(ok(root, ['seccomp', '--bundle', bundle, 'read']).stdout, /read \(x86_64 0\): SCMP_ACT_ALLOW/);
  t.match(ok(root, ['seccomp', '--bundle', bundle, '--arch', 'x86', 'personality', '8']).stdout, /personality \(x86 136\): SCMP_ACT_ERRNO\(1\)/);
  t.match(ok(root, ['seccomp', '--bundle', bundle, 'personality', '0xffffffff']).stdout, /SCMP_ACT_ALLOW/);
  const prog = ok(root, ['seccomp', '--bundle', bundle]).stdout;
  t.match(prog, /^ {3}0: ld \[4\]$/m);
  t.match(prog, /ret 0x50001/);
});

t.test('a listenerPath nobody listens on: runc\'s "failed to connect with seccomp agent", and nothing left', async (t) => {
  const root = testRoot(t);
  const bundle = makeBundle(t, (c) => {
    c.process.args = ['true'];
    c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent-ocirun-agent/no-agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  const r = ocirun(root, ['create', '--bundle', bundle, 'na']);
  t.equal(r.status, 1);
  t.match(r.stderr, /failed to connect with seccomp agent specified in the seccomp profile: .*no-agent\.sock/);
  t.same(fs.readdirSync(root), [], 'no state left');
});
